// Command wait ports the tutorial's wait() program: five workers each print
// "Hello World", and the loop runs until runtime.Wait (asyncio.wait) returns,
// with a timeout of two seconds.
//
// Wait returns the tasks that are done and those still pending, each in
// argument order, and never cancels the pending ones when the timeout
// passes. The workers finish at once, so all five are done and none is
// pending; main prints the two counts.
//
// Run it with:
//
//	go run ./examples/tutorial/wait
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// myWorker prints "Hello World".
func myWorker(context.Context) (struct{}, error) {
	fmt.Println("Hello World")
	return struct{}{}, nil
}

// mainTask spawns five workers and waits for them for at most two seconds.
func mainTask(ctx context.Context) (struct{}, error) {
	tasks := make([]runtime.Handle, 5)
	for i := range tasks {
		tasks[i] = runtime.Spawn(ctx, myWorker)
	}
	done, pending, err := runtime.Wait(ctx, tasks, runtime.WithTimeout(2*time.Second))
	if err != nil {
		return struct{}{}, err
	}
	fmt.Printf("done: %d, pending: %d\n", len(done), len(pending))
	return struct{}{}, nil
}

func main() {
	if _, err := runtime.Run(context.Background(), mainTask); err != nil {
		log.Fatal(err)
	}
}
