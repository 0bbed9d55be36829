// Command cancel-ignored is a doctor scenario: a task asked to cancel
// swallows the cancellation and goes on working.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/taskdump/taskdump/cmd/taskdump/testdata/doctor/scenario"
	"github.com/taskdump/taskdump/runtime"
)

func main() {
	agent := scenario.Listen()
	defer agent.Close()
	// The poller ignores cancellation, so the loop could never wind down:
	// a signal ends the process at once.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		agent.Close()
		os.Exit(0)
	}()
	_, _ = runtime.Run(context.Background(), func(ctx context.Context) (struct{}, error) {
		t := runtime.Spawn(ctx, poll, runtime.Named("poller"))
		if err := runtime.Sleep(ctx, 50*time.Millisecond); err != nil {
			return struct{}{}, err
		}
		t.Cancel("shutting down")
		if err := runtime.Sleep(ctx, 50*time.Millisecond); err != nil {
			return struct{}{}, err
		}
		fmt.Println("ready")
		return struct{}{}, runtime.Sleep(ctx, time.Hour)
	})
}

// poll ignores its cancellation: it logs the error and polls on, with a
// context that is never cancelled.
func poll(ctx context.Context) (struct{}, error) {
	if err := runtime.Sleep(ctx, time.Hour); errors.Is(err, runtime.ErrCancelled) { // doctor:swallowed
		ctx = context.WithoutCancel(ctx) // the bug: carry on
	}
	for {
		if err := runtime.Sleep(ctx, 100*time.Millisecond); err != nil { // doctor:polls
			return struct{}{}, err
		}
	}
}
