// Command hog is a doctor scenario: a task crunches numbers in 20 ms steps,
// yielding between them, and takes most of the loop's time; the other
// tasks wait for it.
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
		runtime.Spawn(ctx, crunch, runtime.Named("crunch")) // doctor:spawn
		runtime.Spawn(ctx, tick, runtime.Named("ticker"))
		if err := runtime.Sleep(ctx, time.Second); err != nil {
			return struct{}{}, err
		}
		fmt.Println("ready")
		return struct{}{}, runtime.Sleep(ctx, time.Hour)
	}, runtime.WithSlowStepThreshold(2*time.Second)) // a loaded test machine stretches 20 ms steps: keep them short of blocking
}

var sink uint64

// crunch computes for 20 ms at a time: far below the slow-step threshold,
// but nearly all the time.
func crunch(ctx context.Context) (struct{}, error) {
	for {
		end := time.Now().Add(20 * time.Millisecond)
		for time.Now().Before(end) {
			sink++
		}
		if err := runtime.Yield(ctx); err != nil { // doctor:hog
			return struct{}{}, err
		}
	}
}

func tick(ctx context.Context) (struct{}, error) {
	for {
		if err := runtime.Sleep(ctx, 10*time.Millisecond); err != nil {
			return struct{}{}, err
		}
	}
}
