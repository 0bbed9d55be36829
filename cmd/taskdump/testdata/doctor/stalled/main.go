// Command stalled is a doctor scenario: ping waits for pong's event and
// pong for ping's, main waits for both, and nothing else is left to run.
package main

import (
	"context"
	"fmt"

	"github.com/taskdump/taskdump/cmd/taskdump/testdata/doctor/scenario"
	"github.com/taskdump/taskdump/runtime"
)

func main() {
	scenario.Run(func(ctx context.Context) (struct{}, error) {
		pinged, ponged := runtime.NewEvent(), runtime.NewEvent()
		ping := runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			if err := ponged.Wait(ctx); err != nil { // doctor:ping
				return struct{}{}, err
			}
			pinged.Set()
			return struct{}{}, nil
		}, runtime.Named("ping"))
		pong := runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			if err := pinged.Wait(ctx); err != nil { // doctor:pong
				return struct{}{}, err
			}
			ponged.Set()
			return struct{}{}, nil
		}, runtime.Named("pong"))
		runtime.CallSoon(ctx, func() { fmt.Println("ready") })
		_, err := runtime.Gather(ctx, ping, pong)
		return struct{}{}, err
	})
}
