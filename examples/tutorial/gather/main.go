// Command gather ports the tutorial's gather() program: five workers each
// print "Hello World", and the loop runs until runtime.Gather (asyncio.gather)
// has collected all of them.
//
// The tutorial runs the gather itself with run_until_complete; Go has no
// bare coroutines, so the main task spawns the workers and awaits Gather.
// Gather returns the results in argument order, which the tutorial wrongly
// says is lost (asyncio.gather keeps the order too); here each worker returns
// its index, and main prints the list to show it.
//
// Run it with:
//
//	go run ./examples/tutorial/gather
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/taskdump/taskdump/runtime"
)

// myWorker prints "Hello World" and returns i.
func myWorker(i int) func(context.Context) (int, error) {
	return func(context.Context) (int, error) {
		fmt.Println("Hello World")
		return i, nil
	}
}

// mainTask spawns five workers and gathers their results.
func mainTask(ctx context.Context) ([]int, error) {
	tasks := make([]*runtime.Task[int], 5)
	for i := range tasks {
		tasks[i] = runtime.Spawn(ctx, myWorker(i))
	}
	return runtime.Gather(ctx, tasks...)
}

func main() {
	results, err := runtime.Run(context.Background(), mainTask)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("results in argument order:", results)
}
