package inspect

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// BenchmarkWatchOverhead measures what watching costs a busy loop: 10,000
// tasks that yield in turn (every task changes between two updates, the
// stream's worst case), its throughput in steps per second with no agent
// ("none"), with an agent (its flight recorder on, as by default) streaming
// at 1/s with stacks (what taskdump record asks) to a reader that only
// reads the bytes, as a client in another process on another core would
// ("agent"), and the same with this process decoding every message too, as
// a client on the same core would ("decoded"). Each iteration runs the
// three in turn, windows of 2s, so that the machine's noise hits all alike;
// it reports the medians and the drops (target: at most 5%).
//
//	go test -run '^$' -bench WatchOverhead -benchtime 5x ./inspect
func BenchmarkWatchOverhead(b *testing.B) {
	const tasks = 10_000
	const window = 2 * time.Second
	var steps atomic.Int64
	startLoop(b, "busy", func(ctx context.Context) {
		for range tasks {
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				for {
					if err := runtime.Yield(ctx); err != nil {
						return 0, err
					}
					steps.Add(1)
				}
			})
		}
	})
	rate := func() float64 {
		n0, t0 := steps.Load(), time.Now()
		time.Sleep(window)
		return float64(steps.Load()-n0) / time.Since(t0).Seconds()
	}
	watched := func(decode bool) float64 {
		a, c := listenNoCleanup(b)
		defer a.Close()
		defer c.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			if decode {
				done <- c.Watch(ctx, time.Second, func(m *wire.WatchMessage) error { return nil }, client.WatchStacks())
				return
			}
			conn, err := net.Dial("unix", a.Path())
			if err != nil {
				done <- err
				return
			}
			context.AfterFunc(ctx, func() { conn.Close() })
			fmt.Fprintf(conn, "GET /v1/watch?interval=1s&stacks=1 HTTP/1.1\r\nHost: taskdump\r\n\r\n")
			_, err = io.Copy(io.Discard, conn)
			done <- err
		}()
		time.Sleep(1500 * time.Millisecond) // past the first snapshot
		r := rate()
		cancel()
		<-done
		return r
	}
	var none, agent, decoded []float64
	for b.Loop() {
		none = append(none, rate())
		agent = append(agent, watched(false))
		decoded = append(decoded, watched(true))
	}
	mn, ma, md := median(none), median(agent), median(decoded)
	b.ReportMetric(mn, "steps/s-none")
	b.ReportMetric(100*(mn-ma)/mn, "%drop-agent")
	b.ReportMetric(100*(mn-md)/mn, "%drop-decoded")
	b.Logf("steps/s: none %.0f, agent %.0f, decoded %.0f", none, agent, decoded)
}

// listenNoCleanup starts an agent and a client that the caller closes.
func listenNoCleanup(b *testing.B) (*Agent, *client.Client) {
	a, err := Listen(Options{Dir: b.TempDir() + "/sock"})
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.DialPath(a.Path())
	if err != nil {
		a.Close()
		b.Fatal(err)
	}
	return a, c
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// BenchmarkWatchUpdate10k is the agent's work for one update of a stream
// (with stacks) when all of 10,000 tasks changed since the last: the walk,
// the conversion and the encoding. At one update a second, ns/op over 1e9
// is the share of a core a watcher costs; loop-pause-ns is how long the
// loop waits for the walk's copy (the only time it waits).
func BenchmarkWatchUpdate10k(b *testing.B) {
	const tasks = 10_000
	l := startLoop(b, "busy10k", func(ctx context.Context) {
		for range tasks {
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				for {
					if err := runtime.Yield(ctx); err != nil {
						return 0, err
					}
				}
			})
		}
	})
	h := newHandler(Options{}, false)
	w := newWatcher(h.watch, true)
	w.next(0) // the snapshot
	var buf []byte
	n := 0
	for b.Loop() {
		b.StopTimer()
		time.Sleep(50 * time.Millisecond) // every task steps again
		b.StartTimer()
		m := w.next(0)
		for _, wl := range m.Loops {
			if wl.Name == "busy10k" {
				n += len(wl.Changed)
			}
		}
		var err error
		if buf, err = m.AppendJSON(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "tasks/update")
	b.ReportMetric(float64(len(buf)), "bytes/update")
	// The loop's pause: the walk's copy under its lock, measured as a
	// walk that resolves no record (an upper bound).
	var walk time.Duration
	const k = 20
	for range k {
		time.Sleep(50 * time.Millisecond)
		t0 := time.Now()
		l.EachTaskSince(1, runtime.SnapshotOptions{}, func(*runtime.TaskInfo, bool) bool { return false })
		walk += time.Since(t0)
	}
	b.ReportMetric(float64(walk.Nanoseconds())/k, "loop-pause-ns")
}

// BenchmarkFlightTick10k is one tick of the flight recorder (no stacks)
// when all of 10,000 tasks changed since the last: what an Agent costs
// every second with nobody watching, on a loop that busy.
func BenchmarkFlightTick10k(b *testing.B) {
	const tasks = 10_000
	startLoop(b, "flight10k", func(ctx context.Context) {
		for range tasks {
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				for {
					if err := runtime.Yield(ctx); err != nil {
						return 0, err
					}
				}
			})
		}
	})
	h := newHandler(Options{}, false)
	f := &flight{keep: flightDefault, w: newWatcher(h.watch, false)}
	f.record(f.w.next(0))
	for b.Loop() {
		b.StopTimer()
		time.Sleep(50 * time.Millisecond) // every task steps again
		b.StartTimer()
		f.record(f.w.next(0))
	}
	b.ReportMetric(float64(f.size)/float64(len(f.msgs)), "bytes/tick")
}

// BenchmarkWatchSnapshot100k is the agent's work for a new watcher's first
// message (with stacks) in a process of 100,000 pending tasks: the walk,
// the conversion, and the encoding as it is written out. B/op is what the
// watched process allocates for it (the message is ~110 MB).
func BenchmarkWatchSnapshot100k(b *testing.B) {
	startLoop(b, "big100k", func(ctx context.Context) {
		ev := runtime.NewEvent()
		for range 100_000 {
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, ev.Wait(ctx) })
		}
	})
	h := newHandler(Options{}, false)
	b.ReportAllocs()
	var cw countingDiscard
	for b.Loop() {
		cw = 0
		if _, err := newWatcher(h.watch, true).next(0).WriteJSON(&cw, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cw), "bytes/message")
}

// countingDiscard counts what is written to it and keeps nothing.
type countingDiscard int

func (c *countingDiscard) Write(p []byte) (int, error) {
	*c += countingDiscard(len(p))
	return len(p), nil
}
