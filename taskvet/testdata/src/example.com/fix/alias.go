package fix // want package:"user package"

import (
	"context"
	"runtime"
	"time"

	rt "github.com/taskdump/taskdump/runtime"
)

// aliased's file imports the taskdump runtime as rt.
func aliased(ctx context.Context) (int, error) { // want aliased:"blocking"
	time.Sleep(time.Second) // want `time\.Sleep blocks`
	return runtime.NumCPU(), nil
}

func spawnAll(ctx context.Context) {
	rt.Spawn(ctx, fromOtherFile)
	rt.Spawn(ctx, withStdRuntime)
	rt.Spawn(ctx, aliased)
}
