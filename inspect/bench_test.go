package inspect

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// bulkLoop starts a loop with n tasks sleeping for an hour.
func bulkLoop(b *testing.B, n int) *runtime.Loop {
	return startLoop(b, fmt.Sprintf("bulk-%d", n), func(ctx context.Context) {
		for i := range n {
			runtime.Spawn(ctx, sleeper(time.Hour), runtime.Named(fmt.Sprintf("bulk-%d", i)))
		}
	})
}

// BenchmarkTasks100k splits the cost of listing 100,000 pending tasks:
// the runtime's snapshot, the handler (snapshot, conversion and JSON), and
// the client over the socket (all that plus transfer and decoding).
func BenchmarkTasks100k(b *testing.B) {
	const n = 100_000
	l := bulkLoop(b, n)
	b.Run("snapshot", func(b *testing.B) {
		for b.Loop() {
			if s := l.Snapshot(); len(s.Tasks) < n {
				b.Fatalf("%d tasks", len(s.Tasks))
			}
		}
	})
	h := newHandler(Options{}, false)
	b.Run("handler", func(b *testing.B) {
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/tasks", nil))
			b.SetBytes(int64(rec.Body.Len()))
		}
	})
	_, c := listen(b, Options{})
	b.Run("client-raw", func(b *testing.B) {
		for b.Loop() {
			if err := c.WriteTasks(context.Background(), TaskFilter{}, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client-decoded", func(b *testing.B) {
		for b.Loop() {
			ts, err := c.Tasks(context.Background(), TaskFilter{})
			if err != nil || len(ts) < n {
				b.Fatal(len(ts), err)
			}
		}
	})
}
