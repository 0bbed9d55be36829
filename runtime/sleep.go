package runtime

import (
	"context"
	"time"
)

// Sleep suspends the calling task for d (asyncio.sleep). It returns nil
// when d has passed and an error wrapping ErrCancelled if the task is
// cancelled first. d <= 0 yields (Yield). Sleep costs one timer-heap
// insertion; it does not allocate.
//
//go:noinline
func Sleep(ctx context.Context, d time.Duration) error {
	cur, err := current(ctx, "Sleep")
	if err != nil {
		return err
	}
	if d <= 0 {
		return cur.yieldNow()
	}
	if err := cur.takeCancel(); err != nil {
		return err
	}
	l := cur.loop
	tm := cur.timer()
	l.addTimer(tm, l.clock()+int64(d))
	desc := awaitAt{awaitDesc: awaitDesc{kind: awaitSleep, d: int64(d), until: tm.when}}
	for tm.idx >= 0 { // until the timer fires
		cur.parkAt(&desc)
		if cur.cancelPending {
			l.removeTimer(tm)
			return cur.takeCancel()
		}
	}
	return nil
}

// Yield suspends the calling task and lets every other ready task run one
// step first (asyncio.sleep(0)).
//
//go:noinline
func Yield(ctx context.Context) error {
	cur, err := current(ctx, "Yield")
	if err != nil {
		return err
	}
	return cur.yieldNow()
}

func (cur *task) yieldNow() error {
	if err := cur.takeCancel(); err != nil {
		return err
	}
	cur.loop.schedule(cur)
	cur.park(awaitDesc{kind: awaitYield})
	return cur.takeCancel()
}
