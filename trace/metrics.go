package trace

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The metric instruments. Every measurement carries loop.name; the task
// counts and durations also carry task.state.
const (
	// MetricTasks is the number of live tasks by state (pending, running,
	// cancelling): an asynchronous up-down counter read at collection time.
	MetricTasks = "taskdump.tasks"
	// MetricTasksEnded counts tasks that ended, by state (finished, failed,
	// cancelled).
	MetricTasksEnded = "taskdump.tasks.ended"
	// MetricTaskDuration is a histogram of task lifetimes, creation to end,
	// in seconds, by end state.
	MetricTaskDuration = "taskdump.task.duration"
	// MetricLoopLag is a histogram of how long tasks waited ready before a
	// step began (the loop's lag), in seconds, one value per step.
	MetricLoopLag = "taskdump.loop.lag"
	// MetricLoopBlocked is a histogram of the steps that blocked the loop
	// past the slow-step threshold, in seconds; its sum is the time the
	// loop was blocked.
	MetricLoopBlocked = "taskdump.loop.blocked"
)

var phaseNames = [nPhases]string{"pending", "running", "cancelling"}

type instruments struct {
	tasks    metric.Int64ObservableUpDownCounter
	ended    metric.Int64Counter
	duration metric.Float64Histogram
	lag      metric.Float64Histogram
	blocked  metric.Float64Histogram
}

// loopAttrs are a loop's precomputed attribute sets, so that a measurement
// costs no attribute hashing.
type loopAttrs struct {
	loop   metric.MeasurementOption
	phases [nPhases]metric.MeasurementOption
	ended  [nEnds]metric.MeasurementOption
}

func newLoopAttrs(name string) loopAttrs {
	var a loopAttrs
	ln := attribute.String("loop.name", name)
	a.loop = metric.WithAttributeSet(attribute.NewSet(ln))
	for i, s := range phaseNames {
		a.phases[i] = metric.WithAttributeSet(attribute.NewSet(ln, attribute.String("task.state", s)))
	}
	for i, s := range endStateNames {
		a.ended[i] = metric.WithAttributeSet(attribute.NewSet(ln, attribute.String("task.state", s)))
	}
	return a
}

func newInstruments(m metric.Meter, o *Observer) *instruments {
	var in instruments
	var err error
	report := func(e error) {
		if e != nil {
			otel.Handle(fmt.Errorf("trace: creating metric instruments: %w", e))
		}
	}
	in.tasks, err = m.Int64ObservableUpDownCounter(MetricTasks,
		metric.WithDescription("Live tasks by state (pending, running, cancelling)."), metric.WithUnit("{task}"))
	report(err)
	in.ended, err = m.Int64Counter(MetricTasksEnded,
		metric.WithDescription("Tasks that ended, by state (finished, failed, cancelled)."), metric.WithUnit("{task}"))
	report(err)
	in.duration, err = m.Float64Histogram(MetricTaskDuration,
		metric.WithDescription("Task lifetime from creation to end."), metric.WithUnit("s"))
	report(err)
	in.lag, err = m.Float64Histogram(MetricLoopLag,
		metric.WithDescription("Time a task waited ready before its step began."), metric.WithUnit("s"))
	report(err)
	in.blocked, err = m.Float64Histogram(MetricLoopBlocked,
		metric.WithDescription("Duration of steps that blocked the loop past the slow-step threshold."), metric.WithUnit("s"))
	report(err)
	if in.tasks != nil {
		_, err = m.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
			o.loops.Range(func(_, v any) bool {
				ls := v.(*loopState)
				for i := range nPhases {
					ob.ObserveInt64(in.tasks, ls.active[i].Load(), ls.attrs.phases[i])
				}
				return true
			})
			return nil
		}, in.tasks)
		report(err)
	}
	return &in
}

// enabled reports whether measurements go anywhere (an atomic load with the
// global provider).
func (in *instruments) enabled() bool {
	return in.ended != nil && in.ended.Enabled(context.Background())
}
