package runtime

import (
	"context"
	"errors"
	"fmt"
)

// TaskGroup runs tasks as one unit (asyncio.TaskGroup): Wait returns when
// all of them have ended. When one fails, the others are cancelled, the
// group's context is done, and the task that created the group is
// cancelled too unless it is already in Wait; Wait absorbs that
// cancellation and returns errors.Join of the failures. Create one with
// NewTaskGroup; the zero TaskGroup is not usable.
type TaskGroup struct {
	res      resource
	loop     *Loop
	parent   *task
	ctx      context.Context
	cancel   context.CancelFunc
	children []*task
	errs     []error
	aborting bool
	waiting  bool
	finished bool
	ourReqs  int32 // parent cancel requests the group made
}

// NewTaskGroup returns a group owned by the task ctx belongs to, and a
// context derived from ctx that is done once the group aborts. It panics if
// ctx belongs to no task. It records where it was called (Loop.Resources).
//
//go:noinline
func NewTaskGroup(ctx context.Context) (*TaskGroup, context.Context) {
	pc := callerpc() // needs the noinline above: the caller's return address
	t := taskOf(ctx)
	if t == nil {
		panic("runtime: NewTaskGroup called with a context that belongs to no task")
	}
	gctx, cancel := context.WithCancel(ctx)
	g := &TaskGroup{loop: t.loop, parent: t, ctx: gctx, cancel: cancel}
	g.res.initIn(pc, t)
	return g, gctx
}

// SpawnIn schedules fn as a new task in g. The task's parent is the
// group's owner. A task spawned after g has aborted or finished is
// cancelled before it runs.
//
//go:noinline
func SpawnIn[T any](g *TaskGroup, fn func(context.Context) (T, error), opts ...TaskOption) *Task[T] {
	pc := callerpc()
	t := spawnTask(g.loop, g.parent, g.ctx, fn, pc, opts)
	if g.aborting || g.finished {
		t.task.cancelNow("taskgroup is shutting down", "taskgroup")
		return t
	}
	g.children = append(g.children, &t.task)
	t.task.listen(&waiter{group: g})
	return t
}

// childDone is called on the loop when a child ends.
func (g *TaskGroup) childDone(x *task) {
	if State(x.state.Load()) != Failed {
		return
	}
	x.markRetrieved()
	g.errs = append(g.errs, x.err)
	if g.aborting {
		return
	}
	g.aborting = true
	g.cancel()
	for _, c := range g.children {
		if !c.done() {
			c.cancelNow("taskgroup: task "+itoa(int(x.id))+" failed", "taskgroup")
		}
	}
	if !g.waiting && !g.parent.done() {
		if g.parent.cancelNow("taskgroup: task "+itoa(int(x.id))+" failed", "taskgroup") {
			g.ourReqs++
		}
	}
}

// Wait suspends the calling task until every task of the group has ended
// and returns errors.Join of the failures (nil if none failed; cancelled
// children are not failures). If the calling task is cancelled from
// outside while it waits, the children are cancelled and Wait returns the
// cancellation joined with the failures.
//
//go:noinline
func (g *TaskGroup) Wait(ctx context.Context) error {
	cur, err := current(ctx, "TaskGroup.Wait")
	if err != nil {
		return err
	}
	if cur != g.parent {
		return fmt.Errorf("runtime: TaskGroup.Wait: called from task %s, not the group's owner %s", cur.displayName(), g.parent.displayName())
	}
	if g.finished {
		return errors.Join(g.errs...)
	}
	g.waiting = true
	defer func() { g.waiting = false; g.finished = true; g.cancel() }()
	var cancelled error
	for {
		var live []*task
		for _, c := range g.children {
			if !c.done() {
				live = append(live, c)
			}
		}
		if len(live) == 0 {
			break
		}
		// Our own cancellation of the parent is absorbed here.
		if cur.cancelPending && g.ourReqs > 0 && cur.cancelReqs <= g.ourReqs {
			cur.cancelPending = false
		}
		w := &waiter{ts: live, cond: AllCompleted, kind: awaitTaskGroup, res: &g.res}
		if err := cur.awaitTasks(w, true); err != nil {
			cancelled = err
		}
	}
	if cur.cancelPending && g.ourReqs > 0 && cur.cancelReqs <= g.ourReqs {
		cur.cancelPending = false
	}
	if g.ourReqs > 0 && cur.cancelReqs <= g.ourReqs && State(cur.state.Load()) == Cancelling {
		// Undo the Cancelling state the group caused (asyncio's uncancel).
		cur.state.CompareAndSwap(uint32(Cancelling), uint32(Pending))
		g.ourReqs = 0
	}
	if cancelled != nil {
		return errors.Join(append([]error{cancelled}, g.errs...)...)
	}
	return errors.Join(g.errs...)
}
