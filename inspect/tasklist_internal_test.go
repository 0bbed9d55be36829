package inspect

import (
	"testing"

	"github.com/taskdump/taskdump/inspect/wire"
)

// TestTaskList: tasks come back in the order added, across chunks; none
// gives nil (the wire's "new" and "changed" are then left out).
func TestTaskList(t *testing.T) {
	for _, n := range []int{0, 1, 16, 17, taskChunk, taskChunk + 1, 3*taskChunk + 5} {
		var l taskList
		for i := range n {
			l.add(&wire.Task{ID: uint64(i)})
		}
		got := l.slice()
		if n == 0 && got != nil {
			t.Errorf("no task: got %v, want nil", got)
		}
		if len(got) != n {
			t.Fatalf("%d tasks: got %d", n, len(got))
		}
		for i := range got {
			if got[i].ID != uint64(i) {
				t.Fatalf("%d tasks: task %d has id %d", n, i, got[i].ID)
			}
		}
	}
}
