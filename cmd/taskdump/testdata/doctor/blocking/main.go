// Command blocking is a doctor scenario: a cache refresher calls time.Sleep
// inside a task, blocking the loop every 200 ms.
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
		runtime.Spawn(ctx, refreshCache, runtime.Named("cache-refresh"))
		for len(runtime.LoopOf(ctx).Blocking()) == 0 {
			if err := runtime.Sleep(ctx, 20*time.Millisecond); err != nil {
				return struct{}{}, err
			}
		}
		fmt.Println("ready")
		return struct{}{}, runtime.Sleep(ctx, time.Hour)
	})
}

// refreshCache blocks the loop: time.Sleep instead of runtime.Sleep.
func refreshCache(ctx context.Context) (struct{}, error) {
	for {
		if err := runtime.Sleep(ctx, 200*time.Millisecond); err != nil { // doctor:waits
			return struct{}{}, err
		}
		time.Sleep(300 * time.Millisecond) // doctor:blocking
	}
}
