package runtime_test

import (
	"context"
	"testing"

	"github.com/taskdump/taskdump/runtime"
)

// TestEachTaskMatchesSnapshot: EachTask streams the same records as
// Snapshot, in creation order, and stops when fn returns false.
func TestEachTaskMatchesSnapshot(t *testing.T) {
	l := runtime.NewLoop()
	err := l.Run(context.Background(), func(ctx context.Context) error {
		ev := runtime.NewEvent()
		for range 50 {
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, ev.Wait(ctx) })
		}
		if err := runtime.Yield(ctx); err != nil {
			return err
		}
		want := l.Snapshot(runtime.SnapshotOptions{Stacks: true})
		var got []runtime.TaskInfo
		hdr := l.EachTask(runtime.SnapshotOptions{Stacks: true}, func(ti *runtime.TaskInfo) bool {
			got = append(got, *ti)
			return true
		})
		if hdr.Name != want.Name || len(hdr.Tasks) != 0 {
			t.Errorf("header = %q with %d tasks, want %q with none", hdr.Name, len(hdr.Tasks), want.Name)
		}
		if len(got) != len(want.Tasks) {
			t.Fatalf("EachTask gave %d tasks, Snapshot %d", len(got), len(want.Tasks))
		}
		for i := range got {
			g, w := got[i], want.Tasks[i]
			if g.ID != w.ID || g.State != w.State || g.SuspendedAt != w.SuspendedAt || g.Awaiting != w.Awaiting || len(g.Stack) != len(w.Stack) {
				t.Errorf("task %d: got {%d %v %v %q %d frames}, want {%d %v %v %q %d frames}", i,
					g.ID, g.State, g.SuspendedAt, g.Awaiting, len(g.Stack), w.ID, w.State, w.SuspendedAt, w.Awaiting, len(w.Stack))
			}
		}
		n := 0
		l.EachTask(runtime.SnapshotOptions{}, func(*runtime.TaskInfo) bool { n++; return n < 3 })
		if n != 3 {
			t.Errorf("EachTask called fn %d times after it returned false at 3", n)
		}
		ev.Set()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
