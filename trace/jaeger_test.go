package trace_test

// Integration tests against a real Jaeger (scripts/jaeger.sh start): the
// spans are exported over OTLP/HTTP to 127.0.0.1:4318 and read back through
// Jaeger's query API on 127.0.0.1:16686. Without Jaeger they are skipped.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/taskdump/taskdump/runtime"
	"github.com/taskdump/taskdump/trace"
)

const (
	jaegerQuery    = "http://127.0.0.1:16686"
	jaegerOTLPPort = 4318
)

// needJaeger skips the test unless Jaeger's query API answers.
func needJaeger(tb testing.TB) {
	tb.Helper()
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(jaegerQuery + "/api/services")
	if err != nil {
		tb.Skipf("Jaeger is not reachable at %s (%v); start it with scripts/jaeger.sh start", jaegerQuery, err)
	}
	resp.Body.Close()
	c.CloseIdleConnections()
}

// Jaeger's query API (v1 JSON) as far as the tests read it.
type jTrace struct {
	TraceID string  `json:"traceID"`
	Spans   []jSpan `json:"spans"`
}

type jSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64 `json:"startTime"`
	Duration  int64 `json:"duration"`
	Tags      []jKV `json:"tags"`
	Logs      []struct {
		Timestamp int64 `json:"timestamp"`
		Fields    []jKV `json:"fields"`
	} `json:"logs"`
}

type jKV struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

func jValue(kvs []jKV, key string) (string, bool) {
	for _, kv := range kvs {
		if kv.Key == key {
			return fmt.Sprint(kv.Value), true
		}
	}
	return "", false
}

func (s jSpan) tag(key string) string { v, _ := jValue(s.Tags, key); return v }

func (s jSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// events returns the names of the span's events (Jaeger logs), in time order.
func (s jSpan) events() []string {
	var out []string
	for _, l := range s.Logs {
		v, _ := jValue(l.Fields, "event")
		out = append(out, v)
	}
	return out
}

// event returns the fields of the span's first event called name.
func (s jSpan) event(name string) ([]jKV, bool) {
	for _, l := range s.Logs {
		if v, _ := jValue(l.Fields, "event"); v == name {
			return l.Fields, true
		}
	}
	return nil, false
}

func jaegerGet(tb testing.TB, path string, out any) error {
	tb.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get(jaegerQuery + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return json.Unmarshal(body, out)
}

// jaegerTraces polls Jaeger until the service's traces hold at least
// wantSpans spans in all, and returns them.
func jaegerTraces(tb testing.TB, service string, wantSpans int) []jTrace {
	tb.Helper()
	path := "/api/traces?limit=100&lookback=1h&service=" + url.QueryEscape(service)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var res struct {
			Data []jTrace `json:"data"`
		}
		err := jaegerGet(tb, path, &res)
		n := 0
		for _, tr := range res.Data {
			n += len(tr.Spans)
		}
		if err == nil && n >= wantSpans {
			return res.Data
		}
		if time.Now().After(deadline) {
			tb.Fatalf("Jaeger has %d spans of service %s after 60s, want %d (last error: %v)", n, service, wantSpans, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func TestJaegerTaskTree(t *testing.T) {
	needJaeger(t)
	service := fmt.Sprintf("taskdump-trace-test-%d", time.Now().UnixNano())
	p := newPipeline(t, jaegerOTLPPort, service)
	const threshold = 20 * time.Millisecond
	obs := trace.New(trace.WithTracerProvider(p.tp))
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		parent := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			child := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				return 1, runtime.Sleep(ctx, time.Millisecond)
			}, runtime.Named("child"))
			return child.Await(ctx)
		}, runtime.Named("parent"))
		failer := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, fmt.Errorf("fetch: %w", errExpected)
		}, runtime.Named("failer"))
		victim := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, runtime.Sleep(ctx, time.Hour)
		}, runtime.Named("victim"))
		blocker := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			time.Sleep(3 * threshold) // the misuse the watchdog reports
			return 0, nil
		}, runtime.Named("blocker"))
		if err := runtime.Yield(ctx); err != nil {
			return 0, err
		}
		victim.Cancel("no longer needed")
		runtime.GatherAll(ctx, parent, failer, victim, blocker)
		return 0, nil
	}, runtime.WithObserver(obs), runtime.WithName("jaeger-tree"),
		runtime.WithSlowStepThreshold(threshold), runtime.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	p.close(t)
	if st := p.exp.Stats(); st.Exported != 6 || st.Lost != 0 {
		t.Fatalf("exporter stats %+v, want 6 spans exported, none lost", st)
	}

	traces := jaegerTraces(t, service, 6)
	if len(traces) != 1 {
		t.Fatalf("%d traces, want 1 (the loop's)", len(traces))
	}
	// Read the whole trace by id, as the UI does.
	var res struct {
		Data []jTrace `json:"data"`
	}
	if err := jaegerGet(t, "/api/traces/"+traces[0].TraceID, &res); err != nil || len(res.Data) != 1 {
		t.Fatalf("GET /api/traces/%s: %v (%d traces)", traces[0].TraceID, err, len(res.Data))
	}
	spans := map[string]jSpan{}
	for _, s := range res.Data[0].Spans {
		spans[s.tag("task.name")] = s
	}

	t.Run("tree", func(t *testing.T) {
		tests := []struct{ task, parent string }{
			{"main", ""}, {"parent", "main"}, {"child", "parent"},
			{"failer", "main"}, {"victim", "main"}, {"blocker", "main"},
		}
		for _, tt := range tests {
			s, ok := spans[tt.task]
			if !ok {
				t.Errorf("no span for task %s", tt.task)
				continue
			}
			want := ""
			if tt.parent != "" {
				want = spans[tt.parent].SpanID
			}
			if got := s.parent(); got != want {
				t.Errorf("%s: parent span %q, want %q (%s)", tt.task, got, want, tt.parent)
			}
			if got := s.tag("loop.name"); got != "jaeger-tree" {
				t.Errorf("%s: loop.name = %q, want jaeger-tree", tt.task, got)
			}
			if f := s.tag("code.file.path"); !strings.HasSuffix(f, "jaeger_test.go") || s.tag("code.line.number") == "" || s.tag("code.function.name") == "" {
				t.Errorf("%s: spawn site %s:%s in %s, want this file", tt.task, f, s.tag("code.line.number"), s.tag("code.function.name"))
			}
			if s.tag("task.id") == "" || !strings.Contains(s.OperationName, "TestJaegerTaskTree") {
				t.Errorf("%s: task.id %q, operation %q; want an id and the task function", tt.task, s.tag("task.id"), s.OperationName)
			}
		}
	})
	t.Run("events per transition", func(t *testing.T) {
		tests := []struct {
			task string
			want []string
		}{
			{"child", []string{"scheduled", "started", "suspended", "scheduled", "resumed", "finished"}},
			{"failer", []string{"scheduled", "started", "exception", "failed"}},
			{"victim", []string{"scheduled", "started", "suspended", "cancel_requested", "scheduled", "resumed", "cancelled"}},
		}
		for _, tt := range tests {
			if got := spans[tt.task].events(); !slices.Equal(got, tt.want) {
				t.Errorf("%s: events %q, want %q", tt.task, got, tt.want)
			}
		}
		f, _ := spans["child"].event("suspended")
		if v, _ := jValue(f, "task.awaiting"); v != "sleep(1ms)" {
			t.Errorf("child: suspended event task.awaiting = %q, want sleep(1ms)", v)
		}
		if v, _ := jValue(f, "task.suspended_at"); !strings.Contains(v, "jaeger_test.go:") {
			t.Errorf("child: suspended event task.suspended_at = %q, want this file", v)
		}
	})
	t.Run("error status", func(t *testing.T) {
		s := spans["failer"]
		if got := s.tag("otel.status_code"); got != "ERROR" {
			t.Errorf("otel.status_code = %q, want ERROR", got)
		}
		if got := s.tag("error"); got != "true" {
			t.Errorf("error tag = %q, want true", got)
		}
		f, _ := s.event("exception")
		if v, _ := jValue(f, "exception.message"); !strings.Contains(v, "expected failure") {
			t.Errorf("exception.message = %q, want the task's error", v)
		}
	})
	t.Run("cancellation", func(t *testing.T) {
		s := spans["victim"]
		f, _ := s.event("cancel_requested")
		if v, _ := jValue(f, "task.cancel.message"); v != "no longer needed" {
			t.Errorf("cancel_requested message = %q, want %q", v, "no longer needed")
		}
		if got := s.tag("task.state"); got != "cancelled" {
			t.Errorf("task.state = %q, want cancelled", got)
		}
		if got := s.tag("otel.status_code"); got == "ERROR" {
			t.Errorf("a cancelled task has status ERROR; cancellation is not a failure")
		}
	})
	t.Run("blocked_loop", func(t *testing.T) {
		f, ok := spans["blocker"].event("blocked_loop")
		if !ok {
			t.Fatalf("no blocked_loop event: %q", spans["blocker"].events())
		}
		if v, _ := jValue(f, "blocked.stack"); !strings.Contains(v, "time.Sleep") || !strings.Contains(v, "jaeger_test.go") {
			t.Errorf("blocked.stack does not show time.Sleep under the task:\n%s", v)
		}
		if v, _ := jValue(f, "blocked.duration_ns"); v == "" {
			t.Errorf("blocked_loop without blocked.duration_ns: %v", f)
		}
	})
}

// proxy forwards TCP connections from a loopback port to target while it is
// up: the tests take "Jaeger" down and up again without touching Jaeger.
type proxy struct {
	port   int
	target string
	mu     sync.Mutex
	l      net.Listener
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func (p *proxy) up(t *testing.T) {
	l := listen(t, p.port)
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[u] = true, true
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(u, c); u.Close() }()
			go func() { defer p.wg.Done(); io.Copy(c, u); c.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	p.mu.Unlock()
	p.wg.Wait()
}

// TestJaegerExportResumes exports through a proxy to Jaeger: while the proxy
// is down the workload runs normally and the failure is reported once; once
// it is up, export resumes and Jaeger has the later spans.
func TestJaegerExportResumes(t *testing.T) {
	needJaeger(t)
	service := fmt.Sprintf("taskdump-trace-fault-%d", time.Now().UnixNano())
	px := &proxy{port: freePort(t), target: fmt.Sprintf("127.0.0.1:%d", jaegerOTLPPort), conns: map[net.Conn]bool{}}
	defer px.down()
	p := newPipeline(t, px.port, service)
	defer p.close(t)

	const n = 50
	p.workload(t, "while-down", n)
	if st := p.exp.Stats(); st.Lost != n+1 || st.Outages != 1 {
		t.Errorf("while down: %+v, want %d lost in 1 outage", st, n+1)
	}
	if got := strings.Count(p.log.String(), "exporting spans failed"); got != 1 {
		t.Errorf("failure logged %d times, want once:\n%s", got, p.log)
	}

	px.up(t)
	p.workload(t, "after-recovery", n)
	if st := p.exp.Stats(); st.Exported != n+1 {
		t.Errorf("after recovery: %+v, want %d exported", st, n+1)
	}
	if got := strings.Count(p.log.String(), "span export resumed"); got != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", got, p.log)
	}
	loops := map[string]int{}
	for _, tr := range jaegerTraces(t, service, n+1) {
		for _, s := range tr.Spans {
			loops[s.tag("loop.name")]++
		}
	}
	if want := map[string]int{"after-recovery": n + 1}; fmt.Sprint(loops) != fmt.Sprint(want) {
		t.Errorf("Jaeger has spans by loop %v, want %v", loops, want)
	}
}

// BenchmarkW1Jaeger exports W1 with 100,000 tasks to the real Jaeger over
// OTLP/HTTP, and reports the task spans per second from the first spawn to
// the last span accepted by Jaeger (exported-spans/s), the rate at which the
// loop produced them (loop-spans/s), and the spans dropped by the batch
// processor's queue or lost in failed exports.
//
//	scripts/jaeger.sh start
//	go test -run '^$' -bench W1Jaeger -benchtime 3x ./trace
func BenchmarkW1Jaeger(b *testing.B) {
	needJaeger(b)
	for _, bc := range []struct {
		name string
		opts []sdktrace.BatchSpanProcessorOption
	}{
		{"queue=2048(default)", []sdktrace.BatchSpanProcessorOption{
			sdktrace.WithMaxQueueSize(sdktrace.DefaultMaxQueueSize), sdktrace.WithMaxExportBatchSize(sdktrace.DefaultMaxExportBatchSize)}},
		{"queue=262144", []sdktrace.BatchSpanProcessorOption{sdktrace.WithMaxQueueSize(1 << 18), sdktrace.WithMaxExportBatchSize(4096)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const tasks = 100_000
			p := newPipeline(b, jaegerOTLPPort, fmt.Sprintf("taskdump-trace-bench-%d", time.Now().UnixNano()), bc.opts...)
			obs := trace.New(trace.WithTracerProvider(p.tp))
			var inLoop time.Duration // time in Run, without the final flush
			for b.Loop() {
				t0 := time.Now()
				w1(b, tasks, runtime.WithObserver(obs), runtime.WithLogger(quiet))
				inLoop += time.Since(t0)
				if err := p.tp.ForceFlush(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := b.Elapsed()
			p.close(b)
			st := p.exp.Stats()
			spans := obs.Stats().Spans
			b.ReportMetric(float64(st.Exported)/elapsed.Seconds(), "exported-spans/s")
			b.ReportMetric(float64(spans)/inLoop.Seconds(), "loop-spans/s")
			b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped/op")
			b.ReportMetric(float64(st.Lost)/float64(b.N), "lost/op")
		})
	}
}
