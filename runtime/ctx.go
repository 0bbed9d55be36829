package runtime

import (
	"context"
	"time"
)

// taskKey is the context key under which a task's context answers with the
// task itself.
type taskKey struct{}

// taskCtx is the context.Context a task's function receives. It is one
// pointer wide, so passing it as a context.Context does not allocate.
//
// Values come from the context given to Spawn (or Run), as contextvars are
// copied in asyncio; Done is closed when a cancel is delivered to the task;
// there is no deadline.
type taskCtx struct{ t *task }

var _ context.Context = taskCtx{}

// Deadline reports none: a task has no deadline of its own.
func (c taskCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done is closed once a cancel is delivered to the task.
func (c taskCtx) Done() <-chan struct{} { return c.t.doneChan() }

// Err returns context.Canceled once a cancel is delivered to the task.
func (c taskCtx) Err() error {
	if c.t.ctxCancelled.Load() {
		return context.Canceled
	}
	return nil
}

// Value returns the task for the package's own key, else the value of the
// context the task was spawned with.
func (c taskCtx) Value(key any) any {
	if _, ok := key.(taskKey); ok {
		return c.t
	}
	if c.t.values == nil {
		return nil
	}
	return c.t.values.Value(key)
}

// AfterFunc lets context.WithCancel and context.AfterFunc derive from a task
// context without starting a goroutine. f runs in its own goroutine once a
// cancel is delivered to the task.
func (c taskCtx) AfterFunc(f func()) (stop func() bool) { return c.t.afterFunc(f) }

// String names the task.
func (c taskCtx) String() string { return "runtime.taskCtx(" + c.t.displayName() + ")" }

// taskOf returns the task a context belongs to, or nil.
func taskOf(ctx context.Context) *task {
	if c, ok := ctx.(taskCtx); ok {
		return c.t
	}
	if ctx == nil {
		return nil
	}
	t, _ := ctx.Value(taskKey{}).(*task)
	return t
}

// valuesOf strips task contexts so a child task does not keep its parent's
// record alive: the values a task context answers come from its spawn
// context.
func valuesOf(ctx context.Context) context.Context {
	if c, ok := ctx.(taskCtx); ok {
		return c.t.values
	}
	return ctx
}
