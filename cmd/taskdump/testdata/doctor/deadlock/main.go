// Command deadlock is a doctor scenario: transfer takes the accounts lock
// then the audit lock, audit takes them in the other order, and each ends
// up waiting for the lock the other holds.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/taskdump/taskdump/cmd/taskdump/testdata/doctor/scenario"
	"github.com/taskdump/taskdump/runtime"
)

func main() {
	scenario.Run(func(ctx context.Context) (struct{}, error) {
		accounts := runtime.NewLock() // doctor:accounts
		audit := runtime.NewLock()    // doctor:audit
		runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, both(ctx, accounts, audit)
		}, runtime.Named("transfer"))
		runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, both(ctx, audit, accounts)
		}, runtime.Named("audit"))
		if err := runtime.Sleep(ctx, 100*time.Millisecond); err != nil {
			return struct{}{}, err
		}
		fmt.Println("ready")
		return struct{}{}, runtime.Sleep(ctx, time.Hour)
	})
}

// both takes first, then second: called with the locks in both orders,
// it deadlocks.
func both(ctx context.Context, first, second *runtime.Lock) error {
	if err := first.Lock(ctx); err != nil {
		return err
	}
	defer first.Unlock()
	if err := runtime.Sleep(ctx, 10*time.Millisecond); err != nil {
		return err
	}
	if err := second.Lock(ctx); err != nil { // doctor:deadlock
		return err
	}
	second.Unlock()
	return nil
}
