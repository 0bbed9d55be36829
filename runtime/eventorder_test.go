package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// orderObserver records, in order, what the observer is told about one
// task: its transitions and its blocking events.
type orderObserver struct {
	mu   sync.Mutex
	name string
	got  []string
}

func (o *orderObserver) OnTask(ev runtime.TaskEvent) {
	if ev.TaskName != o.name {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, ev.Kind.String())
}

func (o *orderObserver) OnBlock(ev runtime.BlockEvent) {
	if ev.TaskName != o.name {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(ev.Stack) > 0 {
		o.got = append(o.got, "block(caught)")
	} else {
		o.got = append(o.got, "block(missed)")
	}
}

// TestBlockBeforeNextTransition: the blocking event of a step reaches the
// Observer before the task's next transition (its end, or its suspension),
// whether the watchdog caught the step while it blocked or the step ended
// just past the threshold before the watchdog looked. In a synctest bubble
// the watchdog's ticks (every threshold/4) and the step's end fall at exact
// virtual times: a step that starts half a tick after a tick and lasts the
// threshold plus 1 ns ends between two ticks, and the last tick it ran
// through saw it below the threshold.
func TestBlockBeforeNextTransition(t *testing.T) {
	const threshold = 40 * time.Millisecond
	const tick = threshold / 4
	errBoom := errors.New("boom")
	tests := []struct {
		name  string
		block time.Duration // how long the slow step blocks the loop
		end   error         // the task's result after the slow step
		after bool          // the slow step suspends the task, which then ends
		want  []string
	}{
		{"missed, then finished", threshold + 1, nil, false,
			[]string{"created", "scheduled", "started", "suspended", "scheduled", "resumed", "block(missed)", "finished"}},
		{"missed, then failed", threshold + 1, errBoom, false,
			[]string{"created", "scheduled", "started", "suspended", "scheduled", "resumed", "block(missed)", "failed"}},
		{"missed, then suspended", threshold + 1, nil, true,
			[]string{"created", "scheduled", "started", "suspended", "scheduled", "resumed", "block(missed)", "suspended", "scheduled", "resumed", "finished"}},
		{"caught, then finished", 3 * threshold, nil, false,
			[]string{"created", "scheduled", "started", "suspended", "scheduled", "resumed", "block(caught)", "finished"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range 3 { // every time, not once
				t.Run(fmt.Sprint("run", i), func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						obs := &orderObserver{name: "slow"}
						_, err := runtime.Run(t.Context(), func(ctx context.Context) (struct{}, error) {
							slow := runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
								// Start the slow step half a tick after a watchdog tick.
								if err := runtime.Sleep(ctx, tick/2); err != nil {
									return struct{}{}, err
								}
								time.Sleep(tt.block) //taskvet:ignore the step must block the loop
								if tt.after {
									if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
										return struct{}{}, err
									}
								}
								return struct{}{}, tt.end
							}, runtime.Named("slow"))
							_, err := slow.Await(ctx)
							if !errors.Is(err, tt.end) {
								return struct{}{}, fmt.Errorf("slow: %w", err)
							}
							return struct{}{}, runtime.Sleep(ctx, time.Second) // the loop goes on after the task
						}, runtime.WithObserver(obs), runtime.WithSlowStepThreshold(threshold), quietLogger())
						if err != nil {
							t.Fatalf("Run: %v", err)
						}
						obs.mu.Lock()
						defer obs.mu.Unlock()
						if !slices.Equal(obs.got, tt.want) {
							t.Errorf("events of the slow task = %v\nwant %v", obs.got, tt.want)
						}
					})
				})
			}
		})
	}
}
