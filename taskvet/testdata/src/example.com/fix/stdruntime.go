package fix

import (
	"context"
	"runtime"
	"time"
)

// withStdRuntime's file imports the standard runtime: the fix imports the
// taskdump runtime under another name.
func withStdRuntime(ctx context.Context) (int, error) { // want withStdRuntime:"blocking"
	time.Sleep(time.Second) // want `time\.Sleep blocks`
	return runtime.NumGoroutine(), nil
}
