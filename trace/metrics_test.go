package trace_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/taskdump/taskdump/runtime"
	"github.com/taskdump/taskdump/trace"
)

// collect reads every metric of r into name -> state -> value: the sum for
// counters, the count for histograms ("" when there is no task.state).
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	out := map[string]map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			vals := map[string]float64{}
			state := func(s attribute.Set) string {
				v, _ := s.Value("task.state")
				return v.AsString()
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					vals[state(p.Attributes)] += float64(p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					vals[state(p.Attributes)] += float64(p.Count)
				}
			}
			out[m.Name] = vals
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	const threshold = 20 * time.Millisecond
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer mp.Shutdown(context.Background())
	obs := trace.New(trace.WithMeterProvider(mp))
	var during map[string]map[string]float64
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		// Spawned first so that its end (it is cancelled before it runs)
		// does not directly follow the blocking step.
		sleeper := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, runtime.Sleep(ctx, time.Hour) })
		var ts []*runtime.Task[int]
		for range 3 {
			ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				return 0, runtime.Sleep(ctx, time.Millisecond)
			}))
		}
		ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, errExpected }))
		ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			time.Sleep(2 * threshold) // blocks the loop
			return 0, nil
		}))
		during = collect(t, r) // 6 tasks pending, main running
		sleeper.Cancel()
		runtime.GatherAll(ctx, append(ts, sleeper)...)
		return 0, nil
	}, runtime.WithObserver(obs), runtime.WithSlowStepThreshold(threshold), runtime.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	after := collect(t, r)
	tests := []struct {
		name   string
		got    map[string]map[string]float64
		metric string
		state  string
		want   float64
	}{
		{"during", during, trace.MetricTasks, "pending", 6},
		{"during", during, trace.MetricTasks, "running", 1},
		{"during", during, trace.MetricTasks, "cancelling", 0},
		{"after", after, trace.MetricTasksEnded, "finished", 5},
		{"after", after, trace.MetricTasksEnded, "failed", 1},
		{"after", after, trace.MetricTasksEnded, "cancelled", 1},
		{"after", after, trace.MetricTaskDuration, "finished", 5},
		{"after", after, trace.MetricTaskDuration, "failed", 1},
		{"after", after, trace.MetricLoopBlocked, "", 1},
	}
	for _, tt := range tests {
		if got := tt.got[tt.metric][tt.state]; got != tt.want {
			t.Errorf("%s: %s{task.state=%q} = %v, want %v", tt.name, tt.metric, tt.state, got, tt.want)
		}
	}
	// One lag measurement per step: at least one per task.
	if got := after[trace.MetricLoopLag][""]; got < 7 {
		t.Errorf("%s has %v measurements, want at least one per task (7)", trace.MetricLoopLag, got)
	}
}
