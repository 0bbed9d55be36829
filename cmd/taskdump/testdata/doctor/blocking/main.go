// Command blocking is a doctor scenario: a cache refresher calls time.Sleep
// inside a task, blocking the loop every 200 ms.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/taskdump/taskdump/inspect"
	"github.com/taskdump/taskdump/runtime"
)

func main() {
	agent, err := inspect.Listen(inspect.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer agent.Close()
	fmt.Println("agent", agent.Path())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	_, _ = runtime.Run(ctx, func(ctx context.Context) (struct{}, error) {
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
		if err := runtime.Sleep(ctx, 200*time.Millisecond); err != nil {
			return struct{}{}, err
		}
		time.Sleep(300 * time.Millisecond) // doctor:blocking
	}
}
