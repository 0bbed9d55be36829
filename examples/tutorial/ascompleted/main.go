// Command ascompleted ports the tutorial's as_completed() program: five
// workers each return their number times two, and main prints each result
// as its task completes, so it prints 2 five times.
//
// runtime.AsCompleted is a range-over-func iterator (iter.Seq2) that yields
// each task's value and error in the order the tasks end, as
// asyncio.as_completed does. The tutorial passes coroutines; in Go the
// workers are spawned as tasks first.
//
// Run it with:
//
//	go run ./examples/tutorial/ascompleted
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/taskdump/taskdump/runtime"
)

// myWorker returns number * 2.
func myWorker(number int) func(context.Context) (int, error) {
	return func(context.Context) (int, error) {
		return number * 2, nil
	}
}

// mainTask spawns five myWorker(1) tasks and prints each result as it
// completes.
func mainTask(ctx context.Context) (struct{}, error) {
	tasks := make([]*runtime.Task[int], 5)
	for i := range tasks {
		tasks[i] = runtime.Spawn(ctx, myWorker(1))
	}
	for v, err := range runtime.AsCompleted(ctx, tasks) {
		if err != nil {
			return struct{}{}, err
		}
		fmt.Println(v)
	}
	return struct{}{}, nil
}

func main() {
	if _, err := runtime.Run(context.Background(), mainTask); err != nil {
		log.Fatal(err)
	}
}
