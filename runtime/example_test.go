package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// Spawn schedules tasks; Gather waits for all of them and returns their
// results in argument order, whatever order they finish in.
func ExampleGather() {
	results, err := runtime.Run(context.Background(), func(ctx context.Context) ([]string, error) {
		var tasks []*runtime.Task[string]
		for i, d := range []time.Duration{60 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond} {
			tasks = append(tasks, runtime.Spawn(ctx, func(ctx context.Context) (string, error) {
				if err := runtime.Sleep(ctx, d); err != nil {
					return "", err
				}
				fmt.Println("task", i, "done after", d)
				return fmt.Sprint("result ", i), nil
			}))
		}
		fmt.Println("spawned; nothing has run yet")
		return runtime.Gather(ctx, tasks...)
	})
	fmt.Println(results, err)
	// Output:
	// spawned; nothing has run yet
	// task 1 done after 20ms
	// task 2 done after 40ms
	// task 0 done after 60ms
	// [result 0 result 1 result 2] <nil>
}

// Spawn does not run the task: it runs once the spawning task suspends,
// and ready tasks run in the order they became ready.
func ExampleSpawn() {
	runtime.Run(context.Background(), func(ctx context.Context) (struct{}, error) {
		t := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			fmt.Println("child runs")
			return 42, nil
		}, runtime.Named("child"))
		fmt.Println("spawned", t.Name(), t.State())
		v, err := t.Await(ctx)
		fmt.Println("child returned", v, err, t.State())
		return struct{}{}, nil
	})
	// Output:
	// spawned child pending
	// child runs
	// child returned 42 <nil> finished
}

// Wait with a timeout returns the tasks done and those still pending; it
// does not cancel the pending ones.
func ExampleWait() {
	runtime.Run(context.Background(), func(ctx context.Context) (struct{}, error) {
		var tasks []runtime.Handle
		for _, d := range []time.Duration{10 * time.Millisecond, time.Hour, 20 * time.Millisecond} {
			tasks = append(tasks, runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, runtime.Sleep(ctx, d)
			}, runtime.Named("sleep-"+d.String())))
		}
		done, pending, err := runtime.Wait(ctx, tasks, runtime.WithTimeout(200*time.Millisecond))
		for _, t := range done {
			fmt.Println("done:", t.Name(), t.State())
		}
		for _, t := range pending {
			fmt.Println("pending:", t.Name(), t.State())
		}
		fmt.Println(err)
		return struct{}{}, nil // Run cancels the task still pending
	})
	// Output:
	// done: sleep-10ms finished
	// done: sleep-20ms finished
	// pending: sleep-1h0m0s pending
	// <nil>
}

// AsCompleted yields results in the order the tasks end.
func ExampleAsCompleted() {
	runtime.Run(context.Background(), func(ctx context.Context) (struct{}, error) {
		var tasks []*runtime.Task[string]
		for _, d := range []time.Duration{30 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
			tasks = append(tasks, runtime.Spawn(ctx, func(ctx context.Context) (string, error) {
				err := runtime.Sleep(ctx, d)
				return "slept " + d.String(), err
			}))
		}
		for v, err := range runtime.AsCompleted(ctx, tasks) {
			fmt.Println(v, err)
		}
		return struct{}{}, nil
	})
	// Output:
	// slept 10ms <nil>
	// slept 20ms <nil>
	// slept 30ms <nil>
}

// Cancel moves a task to Cancelling; at its next suspension point the await
// in progress returns the cancellation, and the task ends Cancelled.
func ExampleTask_Cancel() {
	runtime.Run(context.Background(), func(ctx context.Context) (struct{}, error) {
		t := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			err := runtime.Sleep(ctx, time.Hour)
			fmt.Println("sleep returned:", err)
			return 0, err
		}, runtime.Named("sleeper"))
		runtime.Yield(ctx) // let it start sleeping
		fmt.Println(t.State())
		fmt.Println(t.Cancel("shutting down"))
		fmt.Println(t.State())
		_, err := t.Await(ctx)
		fmt.Println(t.State(), errors.Is(err, runtime.ErrCancelled), errors.Is(err, context.Canceled))
		fmt.Println(t.Cancel())
		return struct{}{}, nil
	})
	// Output:
	// pending
	// true
	// cancelling
	// sleep returned: runtime: task cancelled: shutting down
	// cancelled true true
	// false
}

// A TaskGroup waits for all its tasks; when one fails, the others are
// cancelled and Wait returns the failures joined.
func ExampleTaskGroup() {
	runtime.Run(context.Background(), func(ctx context.Context) (struct{}, error) {
		g, _ := runtime.NewTaskGroup(ctx)
		slow := runtime.SpawnIn(g, func(ctx context.Context) (int, error) {
			return 0, runtime.Sleep(ctx, time.Hour)
		}, runtime.Named("slow"))
		runtime.SpawnIn(g, func(ctx context.Context) (int, error) {
			runtime.Sleep(ctx, 10*time.Millisecond)
			return 0, errors.New("disk full")
		}, runtime.Named("writer"))
		err := g.Wait(ctx)
		fmt.Println("group:", err)
		fmt.Println("slow:", slow.State())
		return struct{}{}, nil
	})
	// Output:
	// group: disk full
	// slow: cancelled
}
