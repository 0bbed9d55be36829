package runtime

import (
	"context"
	"weak"
)

// Queue is a FIFO queue for tasks (asyncio.Queue). With maxsize > 0, Put
// suspends while the queue is full; Get suspends while it is empty.
// TaskDone and Join track unfinished work. A Put or Get wakes the first
// waiter on the other side; a waiter cancelled before it resumes never
// takes the item or slot it was woken for: it returns ErrCancelled and the
// next waiter is woken instead. Call its methods on the loop goroutine.
// Create one with NewQueue; a zero Queue is an unbounded queue.
type Queue[T any] struct {
	res        resource
	ps         pubState
	loop       *Loop
	maxsize    int
	items      []T
	head       int
	getters    waitq
	putters    waitq
	joiners    waitq
	unfinished int
	lastPut    int64  // loop clock of the step that last put (0: never)
	lastPutBy  uint64 // the task that last put (0: a callback)
	lastTaken  int64  // loop clock of the step that last took an item (0: never)
}

// NewQueue returns a queue holding at most maxsize items (unbounded if
// maxsize <= 0). It records where it was called and by which task, if a
// task of a loop calls it (Loop.Resources lists it while that task lives);
// that costs a few nanoseconds.
//
//go:noinline
func NewQueue[T any](maxsize int) *Queue[T] {
	pc := callerpc() // needs the noinline above: the caller's return address
	q := &Queue[T]{maxsize: maxsize}
	q.res.initHere(resQueue, pc, q, true)
	return q
}

// publish copies the length and capacity: O(1) per change. The getters and
// putters are not copied (with 20,000 idle getters that cost a fifth of the
// loop's time): Loop.Resources reads them from the waiting tasks' records.
func (q *Queue[T]) publish(p *resPub) {
	p.len, p.cap = q.Len(), max(q.maxsize, 0)
	p.lastPut, p.lastPutBy, p.lastTaken = q.lastPut, q.lastPutBy, q.lastTaken
}

func (q *Queue[T]) state() *pubState { return &q.ps }

func (q *Queue[T]) resource() *resource { return &q.res }

func (q *Queue[T]) weakRef() weakOwner { return weakOf[Queue[T], *Queue[T]]{weak.Make(q)} }

func (q *Queue[T]) resKind() resKind { return resQueue }

func (q *Queue[T]) busy() bool {
	return q.getters.len() > 0 || q.putters.len() > 0 || q.joiners.len() > 0
}

// Len returns the number of items in the queue.
func (q *Queue[T]) Len() int { return len(q.items) - q.head }

// Full reports whether a Put would suspend.
func (q *Queue[T]) Full() bool { return q.maxsize > 0 && q.Len() >= q.maxsize }

// Empty reports whether a Get would suspend.
func (q *Queue[T]) Empty() bool { return q.Len() == 0 }

// Put adds v, suspending the calling task while the queue is full. If the
// task is cancelled while it waits, Put returns an error wrapping
// ErrCancelled without adding v, even if a slot was freed for it.
//
//go:noinline
func (q *Queue[T]) Put(ctx context.Context, v T) error {
	cur, err := current(ctx, "Queue.Put")
	if err != nil {
		return err
	}
	if err := bind(&q.loop, cur, "Queue.Put"); err != nil {
		return err
	}
	if err := cur.waitOn(&q.putters, awaitQueuePut, &q.res, q, func() bool { return !q.Full() }); err != nil {
		return err
	}
	q.push(v)
	return nil
}

// PutNowait adds v, or returns ErrQueueFull. Called from a goroutine that
// is neither q's loop nor one of its tasks, it panics at once (use
// Loop.CallSoonThreadsafe from there); GetNowait too.
func (q *Queue[T]) PutNowait(v T) error {
	q.res.loopOf(q.loop).mustOnLoop("Queue.PutNowait")
	if q.Full() {
		return ErrQueueFull
	}
	q.push(v)
	return nil
}

func (q *Queue[T]) push(v T) {
	if q.head > 0 && q.head >= len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items = q.items[:n]
		q.head = 0
	}
	q.items = append(q.items, v)
	q.unfinished++
	if l := q.loop; l != nil { // nil: not bound to a loop yet (used outside one)
		q.lastPut, q.lastPutBy = max(l.now, 1), 0
		if t := l.stepping; t != nil {
			q.lastPutBy = t.id
		}
	}
	q.loop.touch(&q.res, q)
	if q.getters.len() > 0 {
		q.loop.schedule(q.getters.ts[0])
	}
	if q.putters.len() > 0 && !q.Full() {
		// Room is left: the next writer may put too (several Gets may have
		// freed slots while this writer was woken for one).
		q.loop.schedule(q.putters.ts[0])
	}
}

// Get removes and returns the first item, suspending the calling task while
// the queue is empty. If the task is cancelled while it waits, Get returns
// an error wrapping ErrCancelled and takes nothing, even if an item arrived
// for it: the next waiting Get is woken for it.
//
//go:noinline
func (q *Queue[T]) Get(ctx context.Context) (T, error) {
	var zero T
	cur, err := current(ctx, "Queue.Get")
	if err != nil {
		return zero, err
	}
	if err := bind(&q.loop, cur, "Queue.Get"); err != nil {
		return zero, err
	}
	if err := cur.waitOn(&q.getters, awaitQueueGet, &q.res, q, func() bool { return q.Len() > 0 }); err != nil {
		return zero, err
	}
	return q.pop(), nil
}

// GetNowait removes and returns the first item, or returns ErrQueueEmpty.
func (q *Queue[T]) GetNowait() (T, error) {
	q.res.loopOf(q.loop).mustOnLoop("Queue.GetNowait")
	if q.Len() == 0 {
		var zero T
		return zero, ErrQueueEmpty
	}
	return q.pop(), nil
}

func (q *Queue[T]) pop() T {
	var zero T
	v := q.items[q.head]
	q.items[q.head] = zero
	q.head++
	if l := q.loop; l != nil { // nil: not bound to a loop yet (used outside one)
		q.lastTaken = max(l.now, 1)
	}
	q.loop.touch(&q.res, q)
	if q.head == len(q.items) {
		q.items = q.items[:0]
		q.head = 0
	}
	if q.putters.len() > 0 {
		q.loop.schedule(q.putters.ts[0])
	}
	if q.Len() > 0 && q.getters.len() > 0 {
		q.loop.schedule(q.getters.ts[0])
	}
	return v
}

// TaskDone marks one item taken with Get as processed; when every item put
// has been marked, Join returns. Calling it more often than items were put
// panics, and so does calling it from a goroutine that is neither q's loop
// nor one of its tasks (use Loop.CallSoonThreadsafe from there).
func (q *Queue[T]) TaskDone() {
	q.res.loopOf(q.loop).mustOnLoop("Queue.TaskDone")
	if q.unfinished <= 0 {
		panic("runtime: Queue.TaskDone called more times than there were items")
	}
	q.unfinished--
	if q.unfinished == 0 && q.loop != nil {
		q.joiners.wakeAll(q.loop)
	}
}

// Join suspends the calling task until every item put has been marked with
// TaskDone.
//
//go:noinline
func (q *Queue[T]) Join(ctx context.Context) error {
	cur, err := current(ctx, "Queue.Join")
	if err != nil {
		return err
	}
	if err := bind(&q.loop, cur, "Queue.Join"); err != nil {
		return err
	}
	return cur.waitOn(&q.joiners, awaitQueueJoin, &q.res, q, func() bool { return q.unfinished == 0 })
}
