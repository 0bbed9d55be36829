// Command stuck is a doctor scenario: three jobs wait forever on a reply
// future nobody resolves, while a reporter keeps the loop alive.
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
		for i := range 3 {
			runtime.Spawn(ctx, awaitReply, runtime.Named(fmt.Sprintf("stuck-job-%d", i+1)))
		}
		runtime.Spawn(ctx, report, runtime.Named("reporter"))
		if err := runtime.Sleep(ctx, 50*time.Millisecond); err != nil {
			return struct{}{}, err
		}
		fmt.Println("ready")
		return struct{}{}, runtime.Sleep(ctx, time.Hour)
	})
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
