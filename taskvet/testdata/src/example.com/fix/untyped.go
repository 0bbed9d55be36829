package fix

import (
	"context"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// nanos's file uses package time only for the sleep: the fix leaves the
// import unused, and the driver removes it.
func nanos(ctx context.Context) error { // want nanos:"blocking"
	time.Sleep(1e6) // want `time\.Sleep blocks`
	return nil
}

func spawnNanos(ctx context.Context, l *runtime.Loop) {
	l.Submit(nanos)
}
