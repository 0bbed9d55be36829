// Command simple ports the first program of the asyncio tasks tutorial
// ("A Simple Example"): a generator task creates five tasks with
// asyncio.ensure_future, each of which sleeps for a second and prints
// "Processing Task"; once they are done the program prints
// "Completed All Tasks".
//
// The tutorial sleeps with time.sleep, which blocks the whole event loop, so
// its five tasks run one after the other and take five seconds. This port
// suspends with runtime.Sleep instead: the five tasks sleep at the same time
// and the program takes one second. (examples/blocking keeps the misuse and
// shows what the loop reports about it.)
//
// The tutorial relies on Python 3.6's run_until_complete letting the spawned
// tasks take their first step after myTaskGenerator returns. runtime.Run, like
// asyncio.run, cancels whatever is still pending when main returns, so the
// generator gathers the tasks it created before returning.
//
// Run it with:
//
//	go run ./examples/tutorial/simple
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// myTask sleeps for a second without blocking the loop, then reports.
func myTask(ctx context.Context) (struct{}, error) {
	if err := runtime.Sleep(ctx, time.Second); err != nil {
		return struct{}{}, err
	}
	fmt.Println("Processing Task")
	return struct{}{}, nil
}

// myTaskGenerator spawns five tasks (asyncio.ensure_future) and waits for
// all of them.
func myTaskGenerator(ctx context.Context) (struct{}, error) {
	tasks := make([]*runtime.Task[struct{}], 5)
	for i := range tasks {
		tasks[i] = runtime.Spawn(ctx, myTask)
	}
	_, err := runtime.Gather(ctx, tasks...)
	return struct{}{}, err
}

func main() {
	if _, err := runtime.Run(context.Background(), myTaskGenerator); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Completed All Tasks")
}
