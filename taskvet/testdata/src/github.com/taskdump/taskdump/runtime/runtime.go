// Package runtime is a stub of github.com/taskdump/taskdump/runtime for
// taskvet's tests: the exported names and signatures taskvet knows, with
// bodies that block the way a real implementation might (channels, sleeps,
// mutexes). taskvet must never report calls to them.
package runtime

import (
	"context"
	"sync"
	"time"
)

type Option func()

type TaskOption func()

func Named(name string) TaskOption { return nil }

type Handle interface {
	ID() uint64
	Done() bool
}

type Task[T any] struct {
	done chan struct{}
	v    T
	err  error
}

func (t *Task[T]) Await(ctx context.Context) (T, error) { <-t.done; return t.v, t.err }
func (t *Task[T]) ID() uint64                           { return 0 }
func (t *Task[T]) Done() bool                           { return false }
func (t *Task[T]) AddDoneCallback(fn func(Handle))      { fn(t) }

type Loop struct{ mu sync.Mutex }

func NewLoop(opts ...Option) *Loop                                              { return &Loop{} }
func (l *Loop) Run(ctx context.Context, main func(context.Context) error) error { return main(ctx) }
func (l *Loop) Submit(fn func(context.Context) error, opts ...TaskOption) *Task[struct{}] {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &Task[struct{}]{}
}
func (l *Loop) CallSoonThreadsafe(fn func()) { fn() }

func Run[T any](ctx context.Context, main func(context.Context) (T, error), opts ...Option) (T, error) {
	return main(ctx)
}

func Spawn[T any](ctx context.Context, fn func(context.Context) (T, error), opts ...TaskOption) *Task[T] {
	return &Task[T]{}
}

type TaskGroup struct{ wg sync.WaitGroup }

func NewTaskGroup(ctx context.Context) (*TaskGroup, context.Context) { return &TaskGroup{}, ctx }

func SpawnIn[T any](g *TaskGroup, fn func(context.Context) (T, error), opts ...TaskOption) *Task[T] {
	return &Task[T]{}
}

func (g *TaskGroup) Wait(ctx context.Context) error { g.wg.Wait(); return nil }

func Gather[T any](ctx context.Context, tasks ...*Task[T]) ([]T, error) {
	var out []T
	for _, t := range tasks {
		<-t.done
		out = append(out, t.v)
	}
	return out, nil
}

func Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func Yield(ctx context.Context) error { time.Sleep(0); return nil }

func ToThread[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	ch := make(chan T)
	go func() { v, _ := fn(); ch <- v }()
	return <-ch, nil
}

func CallSoon(ctx context.Context, fn func()) {}

type TimerHandle struct{}

func CallLater(ctx context.Context, d time.Duration, fn func()) *TimerHandle { return nil }

type Queue[T any] struct{ ch chan T }

func NewQueue[T any](maxsize int) *Queue[T]            { return &Queue[T]{ch: make(chan T, maxsize)} }
func (q *Queue[T]) Put(ctx context.Context, v T) error { q.ch <- v; return nil }
func (q *Queue[T]) Get(ctx context.Context) (T, error) { return <-q.ch, nil }

type Lock struct{ mu sync.Mutex }

func NewLock() *Lock                           { return &Lock{} }
func (l *Lock) Lock(ctx context.Context) error { l.mu.Lock(); return nil }
func (l *Lock) Unlock()                        { l.mu.Unlock() }

type Event struct{ c *sync.Cond }

func NewEvent() *Event                          { return &Event{} }
func (e *Event) Set()                           {}
func (e *Event) Wait(ctx context.Context) error { e.c.Wait(); return nil }

type TaskEvent struct{ ID uint64 }

type BlockEvent struct{ TaskID uint64 }

// Observer's methods are called synchronously on the loop goroutine.
type Observer interface {
	OnTask(ev TaskEvent)
	OnBlock(ev BlockEvent)
}

func WithObserver(o Observer) Option { return nil }
