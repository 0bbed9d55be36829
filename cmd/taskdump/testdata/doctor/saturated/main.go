// Command saturated is a doctor scenario: a service whose server goroutine
// hands the loop 100 long-running workers (Loop.Submit, as a server hands
// it requests), each computing for 2 ms at a time and yielding. No one of
// them is a hog, but together they keep the loop busy all the time, and a
// task that becomes ready waits for the other 99 steps, about 200 ms.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/taskdump/taskdump/cmd/taskdump/testdata/doctor/scenario"
	"github.com/taskdump/taskdump/runtime"
)

func main() {
	scenario.Run(func(ctx context.Context) (struct{}, error) {
		serve(runtime.LoopOf(ctx))
		if err := runtime.Sleep(ctx, time.Second); err != nil {
			return struct{}{}, err
		}
		fmt.Println("ready")
		return struct{}{}, runtime.Sleep(ctx, time.Hour)
	}, runtime.WithSlowStepThreshold(2*time.Second)) // a loaded test machine stretches 2 ms steps: keep them short of blocking
}

// serve hands the loop its work from a goroutine of its own, as an HTTP
// server's handlers do.
func serve(l *runtime.Loop) {
	go func() {
		for i := range 100 {
			l.Submit(func(ctx context.Context) error { return work(ctx) }, runtime.Named(fmt.Sprintf("worker-%d", i+1))) // doctor:spawn
		}
	}()
}

var sink uint64

// work computes for 2 ms at a time: each step is short, but there are 100
// of them for every turn of the loop.
func work(ctx context.Context) error {
	for {
		end := time.Now().Add(2 * time.Millisecond)
		for time.Now().Before(end) {
			sink++
		}
		if err := runtime.Yield(ctx); err != nil { // doctor:work
			return err
		}
	}
}
