// Command blocking shows what the loop reports when a task blocks it, and
// the fix.
//
// The asyncio tutorial's tasks call time.sleep, which blocks the whole event
// loop: no other task runs until it returns. The ports in examples/tutorial
// use runtime.Sleep instead; this program keeps the misuse. Three tasks,
// named sleepy-1 to sleepy-3, each call time.Sleep for 300 ms inside the
// task, so they run one after the other and take 900 ms. Each of their steps
// runs longer than the loop's slow-step threshold (100 ms by default, see
// runtime.WithSlowStepThreshold), so the blocking watchdog captures the
// stack of the goroutine running it and logs one warning through log/slog,
// naming the task, how long it blocked the loop and where, e.g.
//
//	task "sleepy-1" blocked the loop for 301ms at main.go:43 (time.Sleep); move blocking work to runtime.ToThread
//
// Then three tasks named thread-1 to thread-3 do the same work the way the
// warning suggests, through runtime.ToThread: the sleeps run on the loop's
// worker pool, the loop stays free, the three overlap (300 ms in all) and
// nothing is reported. At the end the program prints the loop's record of
// blocking events, (*runtime.Loop).Blocking, which is also what
// `taskdump blocking PID` shows for a live process.
//
// Run it with:
//
//	go run ./examples/blocking
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// work is how long each task's blocking call takes.
const work = 300 * time.Millisecond

// sleepy blocks the loop: time.Sleep inside a task stops every other task of
// the loop until it returns. Do not do this; see threaded.
func sleepy(ctx context.Context) (struct{}, error) {
	time.Sleep(work) // the misuse the watchdog reports
	return struct{}{}, nil
}

// threaded does the same blocking call on the loop's worker pool: the task
// suspends, and the loop runs other tasks meanwhile.
func threaded(ctx context.Context) (struct{}, error) {
	return runtime.ToThread(ctx, func() (struct{}, error) {
		time.Sleep(work)
		return struct{}{}, nil
	})
}

// runAll spawns three tasks of fn named prefix-1 to prefix-3, waits for them
// and prints how long they took, to the nearest 100 ms.
func runAll(ctx context.Context, prefix string, fn func(context.Context) (struct{}, error)) error {
	start := time.Now()
	tasks := make([]*runtime.Task[struct{}], 3)
	for i := range tasks {
		tasks[i] = runtime.Spawn(ctx, fn, runtime.Named(fmt.Sprintf("%s-%d", prefix, i+1)))
	}
	if _, err := runtime.Gather(ctx, tasks...); err != nil {
		return err
	}
	fmt.Printf("%d %s tasks took %v\n", len(tasks), prefix, time.Since(start).Round(100*time.Millisecond))
	return nil
}

func main() {
	l := runtime.NewLoop(runtime.WithName("blocking-example"))
	err := l.Run(context.Background(), func(ctx context.Context) error {
		fmt.Println("time.Sleep inside tasks blocks the loop:")
		if err := runAll(ctx, "sleepy", sleepy); err != nil {
			return err
		}
		fmt.Println("runtime.ToThread keeps it free:")
		return runAll(ctx, "thread", threaded)
	})
	if err != nil {
		log.Fatal(err)
	}
	events := l.Blocking()
	fmt.Printf("%d blocking events on loop %q:\n", len(events), l.Name())
	for _, ev := range events {
		fmt.Printf("  task %q blocked the loop for %v at %s (%s)\n",
			ev.TaskName, ev.Duration.Round(10*time.Millisecond), ev.At.Short(), ev.Call)
	}
}
