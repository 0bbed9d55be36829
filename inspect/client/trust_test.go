package client

import (
	"errors"
	"net"
	"os"
	goruntime "runtime"
	"strings"
	"testing"
)

// TestPidReused: a client that reached process pid refuses, before
// sending anything, a later connection whose server has that pid but is
// another process (the first exited and the system gave its pid to a new
// one, whose agent listens at the same <pid>.sock): the process's start
// time, read when the client was made, no longer matches.
func TestPidReused(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skip("process start times are read from /proc")
	}
	p := SocketPath(privateDir(t), os.Getpid())
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	tg, err := newTarget(p, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if tg.start == 0 {
		t.Fatal("newTarget did not read the process's start time")
	}
	for _, tt := range []struct {
		name  string
		start uint64
		want  error
	}{
		{"same process", tg.start, nil},
		{"pid reused", tg.start + 1, ErrUntrusted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tg := tg
			tg.start = tt.start
			c, err := tg.dial()
			if c != nil {
				c.Close()
			}
			if !errors.Is(err, tt.want) || err != nil && !strings.Contains(err.Error(), "not the one first reached") {
				t.Errorf("dial = %v, want %v", err, tt.want)
			}
		})
	}
}
