// Command leak is a doctor scenario: a server spawns a handler every 50 ms,
// and each handler waits forever for an acknowledgement nobody sends.
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
		for n := 1; ; n++ {
			runtime.Spawn(ctx, handle, runtime.Named(fmt.Sprintf("handler-%d", n))) // doctor:spawn
			if n == 40 {
				fmt.Println("ready")
			}
			if err := runtime.Sleep(ctx, 50*time.Millisecond); err != nil {
				return struct{}{}, err
			}
		}
	})
}

// handle waits for an acknowledgement that never comes.
func handle(ctx context.Context) (struct{}, error) {
	ack := runtime.NewFuture[bool](ctx)
	_, err := ack.Await(ctx) // doctor:leak
	return struct{}{}, err
}
