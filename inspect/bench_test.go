package inspect

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
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
			if err := c.WriteTasks(context.Background(), client.TaskFilter{}, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client-decoded", func(b *testing.B) {
		for b.Loop() {
			ts, err := c.Tasks(context.Background(), client.TaskFilter{})
			if err != nil || len(ts) < n {
				b.Fatal(len(ts), err)
			}
		}
	})
}

// BenchmarkWorkloadPolled measures a loop's throughput (ns per task step,
// a Yield) with 1,000 or 10,000 idle tasks, alone and while a client lists
// every task over the agent's socket 10 or 100 times a second: the cost of
// attaching taskdump to a busy process.
func BenchmarkWorkloadPolled(b *testing.B) {
	for _, c := range []struct{ tasks, hz int }{{1000, 0}, {1000, 10}, {10_000, 0}, {10_000, 10}, {10_000, 100}} {
		name := fmt.Sprintf("tasks=%d/quiet", c.tasks)
		if c.hz > 0 {
			name = fmt.Sprintf("tasks=%d/polled-%dHz", c.tasks, c.hz)
		}
		hz := c.hz
		b.Run(name, func(b *testing.B) {
			l := bulkLoop(b, c.tasks)
			_, c := listen(b, Options{})
			stop := make(chan struct{})
			polled := make(chan int)
			go func() {
				n := 0
				defer func() { polled <- n }()
				if hz == 0 {
					<-stop
					return
				}
				tk := time.NewTicker(time.Second / time.Duration(hz))
				defer tk.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tk.C:
						if err := c.WriteTasks(context.Background(), client.TaskFilter{}, io.Discard); err == nil {
							n++
						}
					}
				}
			}()
			b.ResetTimer()
			t := l.Submit(func(ctx context.Context) error {
				for range b.N {
					if err := runtime.Yield(ctx); err != nil {
						return err
					}
				}
				return nil
			})
			_, err := t.Await(context.Background())
			b.StopTimer()
			close(stop)
			n := <-polled
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "polls/s")
		})
	}
}
