package client

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TestPsUnreachableAgent: an agent of a live process that cannot be
// reached now (its listen queue is full: connect fails with EAGAIN) is
// listed with the error, not left out, and its socket is kept.
func TestPsUnreachableAgent(t *testing.T) {
	dir := t.TempDir()
	pid := os.Getpid() // a live process, the server the credentials name
	path := filepath.Join(dir, strconv.Itoa(pid)+".sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	full := false
	for range 64 { // fill the queue: nothing accepts
		c, err := net.Dial("unix", path)
		if err != nil {
			full = errors.Is(err, syscall.EAGAIN)
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	if !full {
		t.Skip("this system's listen queue did not fill (no EAGAIN)")
	}
	sts, removed, err := Ps(context.Background(), dir, 0)
	if err != nil || len(removed) != 0 {
		t.Fatalf("Ps = %v, removed %v; want no error, nothing removed", err, removed)
	}
	if len(sts) != 1 || sts[0].PID != pid || !errors.Is(sts[0].Err, syscall.EAGAIN) {
		t.Errorf("Ps = %+v; want pid %d listed with EAGAIN", sts, pid)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("the socket of a live agent was removed: %v", err)
	}
}
