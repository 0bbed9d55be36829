// Package crosspkg runs tasks that call package lib. // want package:"user package"
package crosspkg

import (
	"context"
	"time"

	"example.com/lib"
	"github.com/taskdump/taskdump/runtime"
)

func tasks(ctx context.Context, c *lib.Client) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		lib.Pause(time.Second) // want `^blocks the event loop: calls lib\.Pause \(lib\.go:14\), which calls time\.Sleep; use runtime\.Sleep\(ctx, d\)$`
		lib.Fetch("x")         // want `^blocks the event loop: calls lib\.Fetch \(lib\.go:19\), which calls lib\.get \(lib\.go:23\), which calls http\.Get; move it into runtime\.ToThread$`
		c.Call()               // want `calls \(\*lib\.Client\)\.Call \(lib\.go:\d+\), which calls lib\.Pause`
		lib.Slow()             // want `^lib\.Slow \(marked //taskvet:blocking\) blocks the event loop; move it into runtime\.ToThread$`
		lib.CallsSlow()        // want `calls lib\.CallsSlow \(lib\.go:55\), which calls lib\.Slow \(marked //taskvet:blocking\)`
		return lib.Fast(), nil
	})
	runtime.Spawn(ctx, lib.Work) // want `^task function lib\.Work blocks the event loop: lib\.Work \(lib\.go:\d+\) calls lib\.Pause \(lib\.go:14\), which calls time\.Sleep; use runtime\.Sleep\(ctx, d\)$`
	lib.Go(ctx, func(ctx context.Context) (int, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return 0, nil
	})
	lib.Go(ctx, lib.Work) // want `task function lib\.Work blocks`
	lib.Register("report", func(ctx context.Context) (int, error) {
		time.Sleep(time.Second) // want `^time\.Sleep blocks the event loop`
		return 0, nil
	})
	runtime.ToThread(ctx, func() (int, error) {
		lib.Pause(time.Second) // off the loop: silent
		return lib.Slow(), nil
	})
}
