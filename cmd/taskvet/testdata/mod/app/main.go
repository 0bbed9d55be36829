// Command app runs tasks on the real taskdump runtime: two call blocking
// helpers of package lib; everything else awaits the runtime's way.
package main

import (
	"context"
	"fmt"
	"time"

	"example.com/tasks/lib"
	"github.com/taskdump/taskdump/runtime"
)

func main() {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		q := runtime.NewQueue[int](1)
		lk := runtime.NewLock()
		ev := runtime.NewEvent()
		t := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			lib.Pause(time.Millisecond) // BLOCKS: lib.Pause
			if err := lk.Lock(ctx); err != nil {
				return 0, err
			}
			lk.Unlock()
			ev.Set()
			return lib.Sum(1, 2), q.Put(ctx, 1)
		})
		if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
			return 0, err
		}
		if err := ev.Wait(ctx); err != nil {
			return 0, err
		}
		if _, err := q.Get(ctx); err != nil {
			return 0, err
		}
		n, err := runtime.ToThread(ctx, func() (int, error) {
			lib.Pause(time.Millisecond)
			return 0, lib.Fetch("http://127.0.0.1:1")
		})
		_ = n
		if err := lib.Fetch("http://127.0.0.1:1"); err == nil { // BLOCKS: lib.Fetch
			return 0, nil
		}
		vs, err := runtime.Gather(ctx, t)
		if err != nil {
			return 0, err
		}
		return vs[0], nil
	})
	fmt.Println(err)
}
