package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

// TestWatchHostileAgent: whatever a fake agent streams, Watch returns a
// one-line error (bounded lines, bad JSON, an end of stream) after handing
// fn the good messages before it; fn's error stops it.
func TestWatchHostileAgent(t *testing.T) {
	good, _ := json.Marshal(stream()[0])
	goodLine := string(good) + "\n"
	tests := []struct {
		name string
		body func(w http.ResponseWriter, r *http.Request)
		fn   error
		want string
		msgs int
	}{
		{name: "a line without end", body: func(w http.ResponseWriter, r *http.Request) {
			chunk := []byte(strings.Repeat("x", 4096))
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, want: "a line over 64 KiB"},
		{name: "garbage", body: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, goodLine+"{nope\n") },
			want: "decoding a message", msgs: 1},
		{name: "no type", body: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, goodLine+`{"seq":2}`+"\n") },
			want: "without a type", msgs: 1},
		{name: "ends", body: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, goodLine+goodLine) },
			want: "ended the stream", msgs: 2},
		{name: "fn fails", body: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, goodLine)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, fn: errors.New("enough"), want: "enough", msgs: 1},
		{name: "error answer", body: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"code":"busy","error":"inspect: busy"}`)
		}, want: "inspect: busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var query string
			c := fakeAgent(t, func(w http.ResponseWriter, r *http.Request) {
				query = r.URL.RawQuery
				tt.body(w, r)
			})
			c.maxSmall = 64 << 10
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			n := 0
			err := c.Watch(ctx, 250*time.Millisecond, func(m *wire.WatchMessage) error { n++; return tt.fn }, WatchStacks())
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Watch = %v, want a one-line error with %q", err, tt.want)
			}
			if n != tt.msgs {
				t.Errorf("fn called %d times, want %d", n, tt.msgs)
			}
			if query != "interval=250ms&stacks=1" {
				t.Errorf("query = %q", query)
			}
		})
	}
}

// TestWatchCancelled: cancelling the context ends Watch with its error.
func TestWatchCancelled(t *testing.T) {
	c := fakeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		good, _ := json.Marshal(stream()[0])
		w.Write(append(good, '\n'))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	err := c.Watch(ctx, 0, func(*wire.WatchMessage) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Watch = %v, want context.Canceled", err)
	}
}
