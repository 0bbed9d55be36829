package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

// fakeAgent serves h on a socket named for this process in a private
// directory (so the client trusts it) and returns a client for it; both
// stop at the end of the test.
func fakeAgent(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	p := SocketPath(privateDir(t), os.Getpid())
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	c, err := DialPath(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		srv.Close()
		<-done
	})
	return c
}

// endless streams a JSON array of tasks that never ends, until the client
// goes away.
func endless(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte("["))
	rec := []byte(`{"id":1,"name":"` + strings.Repeat("x", 1000) + `"},` + "\n")
	for r.Context().Err() == nil {
		if _, err := w.Write(rec); err != nil {
			return
		}
	}
}

// TestAnswerBounded: a fake agent that streams without end makes every
// kind of read stop at its bound with a clear error, instead of growing the
// client without limit.
func TestAnswerBounded(t *testing.T) {
	c := fakeAgent(t, endless)
	c.maxList, c.maxSmall, c.maxCopy = 1<<20, 64<<10, 2<<20
	tests := []struct {
		name string
		read func(ctx context.Context) error
		want string
	}{
		{"Tasks", func(ctx context.Context) error { _, err := c.Tasks(ctx, TaskFilter{}); return err }, "GET /v1/tasks is over 1 MiB"},
		{"History", func(ctx context.Context) error { _, err := c.History(ctx); return err }, "GET /v1/history is over 1 MiB"},
		{"Process", func(ctx context.Context) error { _, err := c.Process(ctx); return err }, "GET /v1/process is over 64 KiB"},
		{"Blocking", func(ctx context.Context) error { _, err := c.Blocking(ctx); return err }, "GET /v1/blocking is over 64 KiB"},
		{"WriteTasks", func(ctx context.Context) error { return c.WriteTasks(ctx, TaskFilter{}, io.Discard) }, "GET /v1/tasks is over 2 MiB"},
		{"Profile", func(ctx context.Context) error { _, err := c.Profile(ctx, "tasks"); return err }, "is over 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := tt.read(ctx)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrTooLarge saying %q", err, tt.want)
			}
		})
	}
}

// TestAnswerAtBound: an answer of exactly the bound is read whole.
func TestAnswerAtBound(t *testing.T) {
	body := `[{"id":1,"name":"` + strings.Repeat("x", 1000) + `"}]`
	c := fakeAgent(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
	c.maxList = int64(len(body))
	ts, err := c.Tasks(context.Background(), TaskFilter{})
	if err != nil || len(ts) != 1 {
		t.Fatalf("Tasks = %d tasks, %v; want 1", len(ts), err)
	}
}

var timeoutLine = regexp.MustCompile(`^client: timed out after [0-9.]+m?s waiting for the agent to answer GET /v1/tasks$`)

// TestTimeoutMessage: an agent that accepts and never answers gives one
// line saying what timed out after how long, not net/http's text.
func TestTimeoutMessage(t *testing.T) {
	c := fakeAgent(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.Tasks(ctx, TaskFilter{Fields: []string{"id", "name"}})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout and context.DeadlineExceeded", err)
	}
	msg := err.Error()
	if !timeoutLine.MatchString(msg) {
		t.Errorf("err = %q, want it to match %s", msg, timeoutLine)
	}
	for _, bad := range []string{"http://", "context deadline exceeded", "\n"} {
		if strings.Contains(msg, bad) {
			t.Errorf("err = %q contains %q", msg, bad)
		}
	}
	// A timeout while the answer is being read says the same.
	c = fakeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("["))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Tasks(ctx, TaskFilter{}); !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "timed out after") {
		t.Errorf("timeout while reading: err = %v, want ErrTimeout", err)
	}
}

// TestTimeoutErrorText: how long a request waited is rounded to what the
// wait's size makes readable, never to "0s".
func TestTimeoutErrorText(t *testing.T) {
	tests := []struct {
		after time.Duration
		want  string
	}{
		{1234567890, "1.2s"},
		{123456789, "120ms"},
		{12345678, "10ms"},
		{1234567, "1.235ms"},
		{45678, "46µs"},
		{300, "300ns"},
	}
	for _, tt := range tests {
		e := &timeoutError{what: "GET /v1/tasks", after: tt.after}
		if got, want := e.Error(), "client: timed out after "+tt.want+" waiting for the agent to answer GET /v1/tasks"; got != want {
			t.Errorf("after %d ns: %q, want %q", int64(tt.after), got, want)
		}
	}
}

// TestStreamCutMidWay: a stream that ends after whole lines without the
// HTTP stream's end (the agent's connection closed) says so, not that a
// compressed file lacks its trailer.
func TestStreamCutMidWay(t *testing.T) {
	msg := `{"type":"snapshot","seq":1,"time":"2026-11-28T01:00:00Z","loops":[]}` + "\n"
	c := fakeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.(http.Flusher).Flush() // chunked: its end is a last chunk
		w.Write([]byte(msg))
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // cut without the last chunk
		}
	})
	for name, read := range map[string]func() error{
		"watch": func() error {
			return c.Watch(context.Background(), time.Second, func(*wire.WatchMessage) error { return nil })
		},
		"flight": func() error { return c.Flight(context.Background(), func(*wire.WatchMessage) error { return nil }) },
	} {
		err := read()
		if err == nil || !strings.Contains(err.Error(), "the connection closed mid-stream") || strings.Contains(err.Error(), "compressed") {
			t.Errorf("%s: %v, want the connection closed mid-stream", name, err)
		}
	}
}
