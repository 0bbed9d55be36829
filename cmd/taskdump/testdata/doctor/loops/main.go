// Command loops is a doctor scenario: the same code runs on three loops (a
// loop per shard), and on each a job waits forever on a reply future
// nobody resolves. Doctor should say so once, for the three loops.
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
		for i := range 2 {
			l := runtime.NewLoop(runtime.WithName(fmt.Sprintf("shard-%d", i+1)))
			go func() { // ends with the process
				_ = l.Run(context.Background(), func(ctx context.Context) error {
					if _, err := shard(ctx); err != nil {
						return err
					}
					return runtime.Sleep(ctx, time.Hour)
				})
			}()
		}
		if _, err := shard(ctx); err != nil {
			return struct{}{}, err
		}
		fmt.Println("ready")
		return struct{}{}, runtime.Sleep(ctx, time.Hour)
	}, runtime.WithName("shard-0"))
}

// shard is what each loop runs: a job that gets stuck and a reporter that
// keeps the loop alive.
func shard(ctx context.Context) (struct{}, error) {
	runtime.Spawn(ctx, awaitReply, runtime.Named("job"))
	runtime.Spawn(ctx, report, runtime.Named("reporter"))
	return struct{}{}, runtime.Sleep(ctx, 50*time.Millisecond)
}

// awaitReply waits for a reply that never comes: the bug.
func awaitReply(ctx context.Context) (struct{}, error) {
	reply := runtime.NewFuture[string](ctx) // doctor:future
	_, err := reply.Await(ctx)              // doctor:stuck
	return struct{}{}, err
}

func report(ctx context.Context) (struct{}, error) {
	for {
		if err := runtime.Sleep(ctx, 100*time.Millisecond); err != nil {
			return struct{}{}, err
		}
	}
}
