package inspect

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// newcomerWithin checks that a new client lists the tasks within d while
// an attack runs.
func newcomerWithin(t *testing.T, path string, d time.Duration) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c, err := client.DialPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Tasks(ctx, client.TaskFilter{}); err != nil {
		t.Fatalf("a new client's Tasks during the attack: %v (after %v)", err, time.Since(start))
	}
	t.Logf("a new client listed the tasks in %v", time.Since(start).Round(time.Millisecond))
}

// TestKeepAliveFlood: maxConns connections that each send a request every
// second and keep the connection alive do not lock a new client out (it
// waited 30 s when idle connections held every slot).
func TestKeepAliveFlood(t *testing.T) {
	startLoop(t, "flooded", nil)
	a, _ := listen(t, Options{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := 0
	for range maxConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for {
				// Reconnect when evicted: the attacker wants its slot back.
				c, err := net.Dial("unix", a.Path())
				if err != nil {
					return
				}
				br := bufio.NewReader(c)
				for {
					if _, err := io.WriteString(c, "GET /v1/process HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
						break
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						break
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if first {
						first = false
						mu.Lock()
						answered++
						mu.Unlock()
					}
					select {
					case <-stop:
						c.Close()
						return
					case <-time.After(time.Second):
					}
				}
				c.Close()
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	waitFor(t, "the flood to connect", func() bool { mu.Lock(); defer mu.Unlock(); return answered == maxConns })
	newcomerWithin(t, a.Path(), 5*time.Second)
}

// TestSlowReaders: clients that ask for big answers and never read them
// hold no slot for long: a new client is answered at once (it got 503
// after 10 s while four of them held every slot).
func TestSlowReaders(t *testing.T) {
	startLoop(t, "read-slowly", func(ctx context.Context) {
		for i := range 3000 {
			runtime.Spawn(ctx, sleeper(time.Hour), runtime.Named(fmt.Sprintf("sleeper-%d-%s", i, strings.Repeat("n", 100))))
		}
	})
	a, _ := listen(t, Options{})
	for _, path := range []string{"/v1/snapshot?stacks=1", "/v1/tasks?stacks=1"} {
		t.Run(path, func(t *testing.T) {
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for range maxInFlight {
				c, err := net.Dial("unix", a.Path())
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
			}
			// Let them fill their sockets and stall.
			time.Sleep(500 * time.Millisecond)
			newcomerWithin(t, a.Path(), 5*time.Second)
		})
	}
}

// TestServerErrorsAreJSON: the answers net/http writes itself, before the
// handler runs, are JSON errors like the handler's.
func TestServerErrorsAreJSON(t *testing.T) {
	a, _ := listen(t, Options{})
	tests := []struct {
		name   string
		req    string
		status int
		code   string
		msg    string
	}{
		{"malformed header", "GET /v1/loops HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400, wire.CodeBadRequest, "inspect: bad request: malformed HTTP request"},
		{"no host", "GET /v1/loops HTTP/1.1\r\n\r\n", 400, wire.CodeBadRequest, "inspect: bad request: missing required Host header"},
		{"garbage", "HELLO\r\n\r\n", 400, wire.CodeBadRequest, "inspect: bad request: malformed HTTP request"},
		{"headers too large", "GET /v1/loops HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("y", 64<<10) + "\r\n\r\n", 431, wire.CodeTooLarge, "inspect: request line and headers over 16 KiB"},
		{"http version", "GET /v1/loops HTTP/2.0\r\nHost: x\r\n\r\n", 505, wire.CodeBadRequest, "inspect: bad request: unsupported protocol version"},
		{"transfer encoding", "POST /v1/tasks/1/cancel HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, wire.CodeBadRequest, "inspect: bad request: unsupported transfer encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("unix", a.Path())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go io.WriteString(c, tt.req) // a 431 may come before the request is all sent
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var we wire.Error
			body, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(body, &we); err != nil {
				t.Fatalf("body %q is not JSON: %v", body, err)
			}
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" || we.Code != tt.code || we.Message != tt.msg {
				t.Errorf("got %d %s %+v, want %d application/json {%s %s}", resp.StatusCode, resp.Header.Get("Content-Type"), we, tt.status, tt.code, tt.msg)
			}
		})
	}
}
