// Package ignore has //taskvet:ignore directives. // want package:"user package"
package ignore

import (
	"context"
	"time"

	"example.com/lib"
	"github.com/taskdump/taskdump/runtime"
)

// warmUp's sleep is ignored, so calling it does not block either.
func warmUp() {
	time.Sleep(time.Millisecond) //taskvet:ignore runs once before the loop gets busy
}

func tasks(ctx context.Context, ch chan int) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		time.Sleep(time.Millisecond) //taskvet:ignore measured: 1ms at start-up
		//taskvet:ignore the channel is buffered and never full
		ch <- 1
		warmUp()
		ch <- 2       // want `channel send blocks`
		x := 1        //taskvet:ignore a trailing ignore covers its own line only
		ch <- x       // want `channel send blocks`
		time.Sleep(1) /* want `^//taskvet:ignore needs a reason` */ //taskvet:ignore
		return 0, nil
	})
}

func foreign(ctx context.Context) {
	runtime.Spawn(ctx, lib.Work) //taskvet:ignore lib.Work sleeps a microsecond
	runtime.Spawn(ctx, lib.Work) // want `task function lib\.Work blocks`
}
