package fix

import (
	"context"
	"time"
)

// fromOtherFile is spawned in alias.go; this file does not import the
// taskdump runtime, so the fix adds it.
func fromOtherFile(ctx context.Context) (int, error) { // want fromOtherFile:"blocking"
	time.Sleep(time.Second) // want `time\.Sleep blocks`
	time.Sleep(time.Second) // want `time\.Sleep blocks`
	return 0, nil
}
