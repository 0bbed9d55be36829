// Package fix has time.Sleep calls in task code, with and without a fix.
package fix

import (
	"context"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

type point struct{ x, y int }

func results(ctx context.Context, l *runtime.Loop) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return 1, nil
	})
	l.Run(ctx, func(ctx context.Context) error {
		time.Sleep(2 * time.Second) // want `time\.Sleep blocks`
		return nil
	})
	runtime.Spawn(ctx, func(c context.Context) (string, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return "", nil
	})
	runtime.Spawn(ctx, func(ctx context.Context) (*point, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return nil, nil
	})
	runtime.Spawn(ctx, func(ctx context.Context) (point, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return point{}, nil
	})
	runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return struct{}{}, nil
	})
	runtime.Spawn(ctx, func(ctx context.Context) ([]int, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return nil, nil
	})
	runtime.Spawn(ctx, func(ctx context.Context) (time.Time, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return time.Now(), nil
	})
	runtime.Spawn(ctx, func(ctx context.Context) (bool, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return true, nil
	})
	runtime.Spawn(ctx, func(ctx context.Context) (any, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return nil, nil
	})
}

func generic[T any](ctx context.Context) {
	runtime.Spawn(ctx, func(ctx context.Context) (T, error) {
		d := time.Second
		time.Sleep(d) // want `time\.Sleep blocks`
		var zero T
		return zero, nil
	})
}

// noFix: no context in scope, or not a statement, or not directly in the
// task function: reported without a fix.
func noFix(ctx context.Context) {
	runtime.CallSoon(ctx, func() {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
	})
	runtime.Spawn(ctx, func(_ context.Context) (int, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return 0, nil
	})
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		{
			ctx := 1
			time.Sleep(time.Duration(ctx)) // want `time\.Sleep blocks`
		}
		defer time.Sleep(time.Second) // want `time\.Sleep blocks`
		func() {
			time.Sleep(time.Second) // want `time\.Sleep blocks`
		}()
		return 0, nil
	})
}
