package inspecttest_test

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/taskdump/taskdump/inspect/inspecttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSilentAgent: a connection is accepted, and a request gets no answer.
func TestSilentAgent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.sock")
	inspecttest.SilentAgent(t, path)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /v1/process HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var b [1]byte
	if n, err := c.Read(b[:]); n != 0 || !isTimeout(err) {
		t.Errorf("Read = %d, %v; want no answer (a timeout)", n, err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
