// Package inspecttest has test helpers for programs that talk to inspect
// agents: a hostile agent that accepts connections and never answers, to
// test that a client's timeouts hold.
package inspecttest

import (
	"net"
	"sync"
	"testing"
)

// SilentAgent listens on the Unix socket path, accepts every connection
// and never answers, until the end of the test (t.Cleanup closes the
// listener and every connection it accepted). It costs a goroutine and a
// socket per connection.
func SilentAgent(t testing.TB, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("inspecttest: silent agent: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
}
