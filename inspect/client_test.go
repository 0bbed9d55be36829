package inspect

import (
	"bytes"
	"context"
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
