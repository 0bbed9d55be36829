// Command healthy is a doctor scenario that must draw no warning or error:
// workers await futures a resolver answers promptly, a producer feeds
// consumers through a queue (and some consumers sit idle), a reporter
// sleeps, tasks take and release a lock, parsing runs in ToThread, and a
// failing call is awaited and handled.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/taskdump/taskdump/cmd/taskdump/testdata/doctor/scenario"
	"github.com/taskdump/taskdump/runtime"
)

func main() {
	scenario.Run(serve)
}

func serve(ctx context.Context) (struct{}, error) {
	g, ctx := runtime.NewTaskGroup(ctx)
	requests := runtime.NewQueue[*runtime.Future[int]](16)
	jobs := runtime.NewQueue[int](8)
	idle := runtime.NewQueue[int](0) // nothing is put here yet: its consumers are idle
	var mu runtime.Lock
	counter := 0
	spawn := func(name string, fn func(ctx context.Context) error) {
		runtime.SpawnIn(g, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) }, runtime.Named(name))
	}
	spawn("resolver", func(ctx context.Context) error {
		for {
			f, err := requests.Get(ctx)
			if err != nil {
				return err
			}
			if err := runtime.Sleep(ctx, 5*time.Millisecond); err != nil {
				return err
			}
			f.SetResult(42)
		}
	})
	for i := range 4 {
		spawn(fmt.Sprintf("worker-%d", i+1), func(ctx context.Context) error {
			for {
				f := runtime.NewFuture[int](ctx)
				if err := requests.Put(ctx, f); err != nil {
					return err
				}
				if _, err := f.Await(ctx); err != nil {
					return err
				}
				if err := mu.Lock(ctx); err != nil {
					return err
				}
				counter++
				if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
					mu.Unlock()
					return err
				}
				mu.Unlock()
				if _, err := runtime.ToThread(ctx, func() (int, error) { time.Sleep(3 * time.Millisecond); return 1, nil }); err != nil {
					return err
				}
			}
		})
	}
	spawn("producer", func(ctx context.Context) error {
		for n := 0; ; n++ {
			if err := jobs.Put(ctx, n); err != nil {
				return err
			}
			if err := runtime.Sleep(ctx, 10*time.Millisecond); err != nil {
				return err
			}
		}
	})
	for i := range 2 {
		spawn(fmt.Sprintf("consumer-%d", i+1), func(ctx context.Context) error {
			for {
				n, err := jobs.Get(ctx)
				if err != nil {
					return err
				}
				t := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return check(ctx, n) })
				if _, err := t.Await(ctx); err != nil && !errors.Is(err, errOdd) {
					return err
				}
			}
		})
	}
	for i := range 2 {
		spawn(fmt.Sprintf("idle-consumer-%d", i+1), func(ctx context.Context) error {
			_, err := idle.Get(ctx)
			return err
		})
	}
	spawn("reporter", func(ctx context.Context) error {
		for {
			if err := runtime.Sleep(ctx, 200*time.Millisecond); err != nil {
				return err
			}
		}
	})
	runtime.CallLater(ctx, 2500*time.Millisecond, func() { fmt.Println("ready") })
	return struct{}{}, g.Wait(ctx)
}

var errOdd = errors.New("odd job")

// check fails for odd jobs; its caller handles that.
func check(ctx context.Context, n int) (int, error) {
	if err := runtime.Yield(ctx); err != nil {
		return 0, err
	}
	if n%2 == 1 {
		return 0, errOdd
	}
	return n, nil
}
