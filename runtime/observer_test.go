package runtime_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// panicky is an Observer that panics on the first event of one kind (or on
// the first OnBlock) and counts the calls it gets afterwards.
type panicky struct {
	on       runtime.EventKind // 0: panic in OnBlock
	mu       sync.Mutex
	panicked bool
	after    int // calls after the panic
}

var _ runtime.Observer = (*panicky)(nil)

func (p *panicky) call(hit bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.panicked {
		p.after++
		return
	}
	if hit {
		p.panicked = true
		panic(fmt.Sprintf("observer bug on %v", p.on))
	}
}

func (p *panicky) OnTask(ev runtime.TaskEvent) { p.call(p.on != 0 && ev.Kind == p.on) }
func (p *panicky) OnBlock(runtime.BlockEvent)  { p.call(p.on == 0) }

// TestObserverPanicIsContained: whatever event an Observer panics on, Run
// returns what main returned, the loop is unregistered, one error is
// logged, the observer is not called again, and no goroutine is left
// (goleak in TestMain). Before, the panic escaped Run and left the loop
// registered.
func TestObserverPanicIsContained(t *testing.T) {
	for _, on := range []runtime.EventKind{runtime.TaskCreated, runtime.TaskScheduled, runtime.TaskStarted,
		runtime.TaskResumed, runtime.TaskSuspended, runtime.TaskCancelRequested, runtime.TaskFinished,
		runtime.TaskCancelled, 0} {
		name := on.String()
		if on == 0 {
			name = "OnBlock"
		}
		t.Run(name, func(t *testing.T) {
			obs := &panicky{on: on}
			logger, logs := newLogger()
			l := runtime.NewLoop(runtime.WithObserver(obs), runtime.WithLogger(logger),
				runtime.WithSlowStepThreshold(5*time.Millisecond))
			var got error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Run panicked: %v", r)
					}
				}()
				got = l.Run(context.Background(), func(ctx context.Context) error {
					c := runtime.Spawn(ctx, yields(2, 1), runtime.Named("child"))
					victim := runtime.Spawn(ctx, sleepHour, runtime.Named("victim"))
					if _, err := c.Await(ctx); err != nil {
						return err
					}
					victim.Cancel("stop")
					time.Sleep(20 * time.Millisecond) // a blocking step: OnBlock
					if err := runtime.Yield(ctx); err != nil {
						return err
					}
					if v, err := runtime.Spawn(ctx, yields(1, 7)).Await(ctx); v != 7 || err != nil {
						return fmt.Errorf("after the panic: Await = %v, %v; want 7, nil", v, err)
					}
					return fmt.Errorf("main's own error")
				})
			}()
			if got == nil || got.Error() != "main's own error" {
				t.Errorf("Run = %v; want main's own error", got)
			}
			if slices.Contains(runtime.Loops(), l) {
				t.Error("the loop is still registered after Run returned")
			}
			if !obs.panicked {
				t.Fatalf("the observer never saw %s", name)
			}
			if obs.after != 0 {
				t.Errorf("the observer was called %d times after it panicked; want 0", obs.after)
			}
			var errs []map[string]any
			for _, r := range logs.records(t) {
				if r["level"] == "ERROR" {
					errs = append(errs, r)
				}
			}
			if len(errs) != 1 {
				t.Fatalf("logged %d errors; want 1: %v", len(errs), errs)
			}
			msg, _ := errs[0]["msg"].(string)
			p, _ := errs[0]["panic"].(string)
			if !strings.HasPrefix(msg, "runtime: ") || !strings.Contains(msg, "Observer panicked") ||
				p != fmt.Sprintf("observer bug on %v", on) {
				t.Errorf("logged %v; want the Observer's panic", errs[0])
			}
		})
	}
}
