package runtime

import (
	"context"
)

// Result is one task's outcome, as GatherAll returns it.
type Result[T any] struct {
	Value T
	Err   error
}

func baseTasks[T any](tasks []*Task[T]) []*task {
	ts := make([]*task, len(tasks))
	for i, t := range tasks {
		ts[i] = &t.task
	}
	return ts
}

// uniqueTasks drops the repeats of ts in place, keeping first occurrences
// in order.
func uniqueTasks(ts []*task) []*task {
	if len(ts) <= 16 {
		out := ts[:0]
	next:
		for _, t := range ts {
			for _, u := range out {
				if u == t {
					continue next
				}
			}
			out = append(out, t)
		}
		return out
	}
	seen := make(map[*task]struct{}, len(ts))
	out := ts[:0]
	for _, t := range ts {
		if _, ok := seen[t]; !ok {
			seen[t] = struct{}{}
			out = append(out, t)
		}
	}
	clear(ts[len(out):])
	return out
}

// Gather waits for every task and returns their results in argument order
// (asyncio.gather). The first task to fail or be cancelled makes Gather
// return that task's error at once; the other tasks keep running. If the
// calling task is cancelled, every task still running is cancelled and
// Gather returns the cancellation once they have ended.
//
//go:noinline
func Gather[T any](ctx context.Context, tasks ...*Task[T]) ([]T, error) {
	cur, err := current(ctx, "Gather")
	if err != nil {
		return nil, err
	}
	w := &waiter{ts: baseTasks(tasks), cond: gatherCond, kind: awaitGather}
	if err := cur.awaitTasks(w, true); err != nil {
		return nil, err
	}
	if w.failed != nil {
		for _, t := range tasks {
			t.markRetrieved()
		}
		return nil, w.failed.err
	}
	out := make([]T, len(tasks))
	for i, t := range tasks {
		t.markRetrieved()
		out[i] = t.val
	}
	return out, nil
}

// GatherAll waits for every task and returns each one's value and error in
// argument order (asyncio.gather with return_exceptions=True). Its own error
// is non-nil only if the calling task is cancelled (every task still running
// is cancelled too) or the call is misused.
//
//go:noinline
func GatherAll[T any](ctx context.Context, tasks ...*Task[T]) ([]Result[T], error) {
	cur, err := current(ctx, "GatherAll")
	if err != nil {
		return nil, err
	}
	w := &waiter{ts: baseTasks(tasks), cond: AllCompleted, kind: awaitGather}
	if err := cur.awaitTasks(w, true); err != nil {
		return nil, err
	}
	out := make([]Result[T], len(tasks))
	for i, t := range tasks {
		t.markRetrieved()
		out[i] = Result[T]{Value: t.val, Err: t.err}
	}
	return out, nil
}
