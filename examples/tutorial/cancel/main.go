// Command cancel ports the tutorial's cancel() program: five tasks sleep for
// a second; the first to wake prints "Processing Task", then goes through
// every task of the loop (asyncio.all_tasks) and cancels it, printing its
// repr before and after Task.Cancel. The other four move from pending to
// cancelling at once and end cancelled at their next resumption, without
// ever printing "Processing Task".
//
// Two things differ from the tutorial, on purpose:
//
//   - The tasks sleep with runtime.Sleep, not time.Sleep (which would block
//     the loop; see examples/blocking). All five timers expire together, and
//     ready tasks run in FIFO order, so the first task spawned is the one
//     that cancels the others, and the output is the same on every run.
//   - In the tutorial, main had already returned when the tasks ran (Python
//     3.6's run_until_complete) and the first task cancelled itself too.
//     Here main waits for the five tasks with runtime.Wait, which never
//     cancels what it waits on, and then prints how each one ended: the
//     canceller finished, the other four were cancelled. The canceller skips
//     itself and main (the task runtime.Run names "main").
//
// Run it with:
//
//	go run ./examples/tutorial/cancel
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// myTask sleeps for a second, then cancels every other task of the loop
// except main (the task runtime.Run names "main"), printing each one's repr
// before and after the cancel.
func myTask(ctx context.Context) (struct{}, error) {
	if err := runtime.Sleep(ctx, time.Second); err != nil {
		return struct{}{}, err // cancelled while asleep: end Cancelled
	}
	fmt.Println("Processing Task")
	self := runtime.CurrentTask(ctx)
	for _, t := range runtime.AllTasks(ctx) {
		if t == self || t.Name() == "main" {
			continue
		}
		fmt.Println(t)
		t.Cancel()
		fmt.Println(t)
	}
	return struct{}{}, nil
}

// mainTask spawns five tasks, waits until all of them have ended and prints
// their final reprs.
func mainTask(ctx context.Context) (struct{}, error) {
	tasks := make([]runtime.Handle, 5)
	for i := range tasks {
		tasks[i] = runtime.Spawn(ctx, myTask)
	}
	done, _, err := runtime.Wait(ctx, tasks)
	if err != nil {
		return struct{}{}, err
	}
	for _, t := range done {
		fmt.Println(t)
	}
	return struct{}{}, nil
}

func main() {
	if _, err := runtime.Run(context.Background(), mainTask); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Completed All Tasks")
}
