package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestCrawl runs the example's workload into an in-memory recorder and
// checks what a user will find in Jaeger.
func TestCrawl(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer tp.Shutdown(context.Background())
	id, err := crawl(context.Background(), tp)
	if err == nil {
		t.Errorf("crawl returned no error, want the /missing page's")
	}
	spans := sr.Ended()
	if got, want := len(spans), 18; got != want {
		t.Fatalf("%d spans, want %d (crawl, main, 6 pages, 6 fetches, 4 parses)", got, want)
	}
	var failed, cancelled, blocked int
	for _, s := range spans {
		if s.SpanContext().TraceID() != id {
			t.Errorf("span %s is in trace %v, want %v", s.Name(), s.SpanContext().TraceID(), id)
		}
		names := []string{}
		for _, e := range s.Events() {
			names = append(names, e.Name)
		}
		if s.Status().Code == codes.Error {
			failed++
		}
		if slices.Contains(names, "cancelled") {
			cancelled++
		}
		if slices.Contains(names, "blocked_loop") {
			blocked++
		}
	}
	// The /missing fetch fails, and so do its page task and main, which
	// return its error; the /slow fetch is cancelled by WaitFor and its page
	// fails with ErrTimeout.
	if failed != 4 || cancelled != 1 || blocked != 1 {
		t.Errorf("failed %d, cancelled %d, blocked %d; want 4, 1, 1", failed, cancelled, blocked)
	}
}

// TestExitsAgainstHangingEndpoint builds the example and runs it against an
// OTLP endpoint that accepts connections and never answers: it reports the
// stall, says how many spans were not exported and exits within its 5s
// bound (the test allows more, for a loaded machine).
func TestExitsAgainstHangingEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example")
	}
	bin := filepath.Join(t.TempDir(), "jaeger")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { io.Copy(io.Discard, c) }) // reads, never answers
		}
	})
	defer func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+l.Addr().String(),
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	if err != nil {
		t.Errorf("the example failed: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	if took > 10*time.Second {
		t.Errorf("the example took %v to exit against a hanging endpoint, want at most 5s", took)
	}
	for _, want := range []string{"span export has had no answer", "18 of 18 spans were not exported"} {
		if got := strings.Count(stderr.String(), want); got != 1 {
			t.Errorf("stderr has %q %d times, want once:\n%s", want, got, &stderr)
		}
	}
	if want := "0 spans exported"; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout does not say %q:\n%s", want, &stdout)
	}
	t.Logf("exited after %v\nstdout:\n%sstderr:\n%s", took, &stdout, &stderr)
}
