// Command alltasks ports the tutorial's all_tasks program: main spawns five
// tasks and prints every task of the loop that is not done yet, as
// asyncio.all_tasks() returns them, with each task's state, function and
// file:line.
//
// runtime.AllTasks lists the tasks in creation order, so the output is
// stable: main itself first (running: it is the task that asked), then the
// five workers. Each line is a task's asyncio-like repr (Task.String). The
// program prints the list twice: first as the tutorial does, before the
// workers have run (pending, "created at" the Spawn call in main), then once
// every worker has taken its first step and suspended in runtime.Sleep
// (pending, "suspended at" that call, "awaiting sleep(1s)"), which is what
// asyncio's "running at test.py:4" points to.
//
// The workers sleep with runtime.Sleep, not the tutorial's time.Sleep (which
// would block the loop), and main waits for them with runtime.Gather, because
// runtime.Run, like asyncio.run, cancels tasks still pending when main
// returns.
//
// Run it with:
//
//	go run ./examples/tutorial/alltasks
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

// printPending prints the repr of every task of the loop not done yet.
func printPending(ctx context.Context) {
	for _, t := range runtime.AllTasks(ctx) {
		fmt.Println(t)
	}
}

// mainTask spawns five workers, shows them as AllTasks sees them, then waits
// for them.
func mainTask(ctx context.Context) (struct{}, error) {
	tasks := make([]*runtime.Task[struct{}], 5)
	for i := range tasks {
		tasks[i] = runtime.Spawn(ctx, myTask)
	}
	// Before the workers have run: they are pending, created at the Spawn
	// call above.
	fmt.Println("before their first step:")
	printPending(ctx)

	// Yield lets each worker take its first step, up to runtime.Sleep, where
	// it suspends: its repr now shows that await and what it waits for.
	if err := runtime.Yield(ctx); err != nil {
		return struct{}{}, err
	}
	fmt.Println("suspended in their first await:")
	printPending(ctx)

	_, err := runtime.Gather(ctx, tasks...)
	return struct{}{}, err
}

func main() {
	if _, err := runtime.Run(context.Background(), mainTask); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Completed All Tasks")
}
