package inspect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/runtime"
)

// TestTaskRecordSize measures what a realistic task costs on the wire, and
// checks that MaxListBytes holds 1,000,000 of them.
func TestTaskRecordSize(t *testing.T) {
	const n = 2000
	startLoop(t, "service-main", func(ctx context.Context) {
		for i := range n {
			runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
				return handleRequest(ctx, i)
			}, runtime.Named(fmt.Sprintf("handle GET /api/v1/users/%d", 100000+i)))
		}
	})
	_, c := listen(t, Options{})
	var buf bytes.Buffer
	if err := c.WriteTasks(context.Background(), client.TaskFilter{}, &buf); err != nil {
		t.Fatal(err)
	}
	per := buf.Len() / (n + 1)
	t.Logf("%d bytes per task record", per)
	if got := int64(per) * 1_000_000; got > client.MaxListBytes*3/4 {
		t.Errorf("1,000,000 tasks take %d bytes, over 3/4 of client.MaxListBytes (%d)", got, client.MaxListBytes)
	}
}

func handleRequest(ctx context.Context, i int) (struct{}, error) {
	q := runtime.NewQueue[int](1)
	_, err := q.Get(ctx)
	return struct{}{}, err
}

// TestMovedNames: the client names this package keeps for older programs
// are the client package's own, so errors.Is and type assertions hold
// whichever name a program uses.
func TestMovedNames(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, want error
	}{
		{"ErrNoProcess", ErrNoProcess, client.ErrNoProcess},
		{"ErrNoAgent", ErrNoAgent, client.ErrNoAgent},
		{"ErrPermission", ErrPermission, client.ErrPermission},
		{"ErrNoTask", ErrNoTask, client.ErrNoTask},
		{"ErrFinished", ErrFinished, client.ErrFinished},
		{"ErrReadOnly", ErrReadOnly, client.ErrReadOnly},
		{"ErrTooLarge", ErrTooLarge, client.ErrTooLarge},
		{"ErrTimeout", ErrTimeout, client.ErrTimeout},
		{"ErrUntrusted", ErrUntrusted, client.ErrUntrusted},
		{"ErrBadDir", ErrBadDir, client.ErrBadDir},
	} {
		if tt.got != tt.want {
			t.Errorf("inspect.%s is not client.%s", tt.name, tt.name)
		}
	}
	// The types are the client's (this compiles only if they are aliases).
	sameTypes := func(*client.Client, client.TaskFilter, *client.APIError, []client.Status, []client.Found) {}
	sameTypes((*Client)(nil), TaskFilter{}, (*APIError)(nil), []Status(nil), []Found(nil))
	if _, err := Dial(deadPID(t)); !errors.Is(err, client.ErrNoProcess) {
		t.Errorf("Dial(dead pid) = %v, want client.ErrNoProcess", err)
	}
}
