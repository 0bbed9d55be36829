//go:build linux || darwin

package peercred

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestRead: both ends of a connection within this process see this
// process's credentials.
func TestRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: p, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, uc := range map[string]*net.UnixConn{"client end": c, "server end": s} {
		got, err := Read(uc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.UID != os.Geteuid() || (got.PID != -1 && got.PID != os.Getpid()) {
			t.Errorf("%s: Read = %+v, want uid %d and pid %d (or -1)", name, got, os.Geteuid(), os.Getpid())
		}
	}
}

func TestProcess(t *testing.T) {
	if uid, err := ProcessUID(os.Getpid()); err != nil || uid != os.Geteuid() {
		t.Errorf("ProcessUID(self) = %d, %v; want %d", uid, err, os.Geteuid())
	}
	for _, tt := range []struct {
		pid  int
		want bool
	}{
		{os.Getpid(), true},
		{0, false},
		{-1, false},
		{1 << 30, false},
	} {
		if got := ProcessAlive(tt.pid); got != tt.want {
			t.Errorf("ProcessAlive(%d) = %v, want %v", tt.pid, got, tt.want)
		}
	}
	if _, err := ProcessUID(1 << 30); err == nil {
		t.Error("ProcessUID(no such pid) succeeded")
	}
}

// TestProcessStart: a live process's start time is read, the same each
// time; a process that does not exist has none. (Linux: /proc.)
func TestProcessStart(t *testing.T) {
	a, err := ProcessStart(os.Getpid())
	if err != nil {
		if _, serr := os.Stat("/proc/self/stat"); serr != nil {
			t.Skip("no /proc here")
		}
		t.Fatal(err)
	}
	if b, err := ProcessStart(os.Getpid()); err != nil || b != a || a == 0 {
		t.Errorf("ProcessStart(self) = %d, then %d, %v; want the same, not 0", a, b, err)
	}
	if s, err := ProcessStart(1 << 30); err == nil {
		t.Errorf("ProcessStart(no such process) = %d, want an error", s)
	}
}
