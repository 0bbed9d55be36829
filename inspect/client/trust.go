package client

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/taskdump/taskdump/inspect/internal/peercred"
	"github.com/taskdump/taskdump/inspect/internal/sockdir"
)

// ErrUntrusted is wrapped by the error about a socket the client refuses to
// talk to: its directory may hold sockets of another user, or its server
// is not the process (or user) the client wants. Nothing has been sent to
// it.
var ErrUntrusted = errors.New("untrusted socket")

// target is the agent a Client expects at a socket path: whom its server
// must run as, and, when known, which process it must be.
type target struct {
	path string
	pid  int // the process whose agent it must be; 0 if unknown
	uid  int // the uid its server must run as
	// start is when process pid started (peercred.ProcessStart), 0 if
	// unknown: a connection made after it exited and its pid went to
	// another process is refused, though the pid matches.
	start uint64
}

// pidOfPath returns the pid a socket path names (<dir>/<pid>.sock) if that
// process exists, else 0.
func pidOfPath(path string) int {
	name, ok := strings.CutSuffix(filepath.Base(path), ".sock")
	if !ok {
		return 0
	}
	pid, err := strconv.Atoi(name)
	if err != nil || !peercred.ProcessAlive(pid) {
		return 0
	}
	return pid
}

// newTarget works out whom the server at path must be and checks the
// socket's directory. With pid > 0 the server must run as process pid's
// user (and, where the system reports the peer's pid, be that process).
// Without a pid it must run as the caller, or, when the caller is root, as
// the directory's owner. The directory must belong to the caller, to root
// or to that user, and must not be writable by group or others: anyone who
// can write there could plant a socket.
func newTarget(path string, pid int) (target, error) {
	dir := filepath.Dir(path)
	fi, err := os.Lstat(dir)
	if err != nil {
		return target{}, fmt.Errorf("client: socket directory: %w", err)
	}
	if !fi.IsDir() {
		return target{}, fmt.Errorf("client: %w %s: %s is not a directory (nothing was sent)", ErrUntrusted, path, dir)
	}
	owner, _ := sockdir.FileUID(fi)
	self := os.Geteuid()
	t := target{path: path, pid: pid}
	switch {
	case pid > 0:
		uid, err := peercred.ProcessUID(pid)
		if err != nil {
			if !peercred.ProcessAlive(pid) {
				return target{}, fmt.Errorf("client: %w %d", ErrNoProcess, pid)
			}
			return target{}, fmt.Errorf("client: the user of process %d: %w", pid, err)
		}
		t.uid = uid
		t.start, _ = peercred.ProcessStart(pid) // 0 where unknown
	case self == 0:
		t.uid = owner
	default:
		t.uid = self
	}
	if owner != self && owner != 0 && owner != t.uid {
		return target{}, fmt.Errorf("client: %w %s: its directory belongs to uid %d, neither you (uid %d) nor %s; another user may have made it (nothing was sent)",
			ErrUntrusted, path, owner, self, t.who())
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return target{}, fmt.Errorf("client: %w %s: its directory %s has mode %#o, so other users could have planted it (nothing was sent; use a directory only you can write, with --dir or %s)",
			ErrUntrusted, path, dir, perm, EnvDir)
	}
	return t, nil
}

// who names the user the server must run as.
func (t target) who() string {
	if t.pid > 0 {
		return fmt.Sprintf("process %d's user (uid %d)", t.pid, t.uid)
	}
	return fmt.Sprintf("uid %d", t.uid)
}

// check reads the credentials of the server at the other end of c, before
// anything is sent, and refuses a server that is not the one t wants.
func (t target) check(c net.Conn) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("client: %w %s: not a Unix socket connection", ErrUntrusted, t.path)
	}
	p, err := peercred.Read(uc)
	if err != nil {
		return fmt.Errorf("client: %w %s: cannot read its server's credentials (nothing was sent): %w", ErrUntrusted, t.path, err)
	}
	if p.UID != t.uid {
		return fmt.Errorf("client: %w %s: its server runs as uid %d, not as %s; another user may have planted it (nothing was sent)",
			ErrUntrusted, t.path, p.UID, t.who())
	}
	if t.pid > 0 && p.PID > 0 && p.PID != t.pid {
		return fmt.Errorf("client: %w %s: its server is process %d, not process %d (nothing was sent)",
			ErrUntrusted, t.path, p.PID, t.pid)
	}
	if t.start != 0 {
		if start, err := peercred.ProcessStart(t.pid); err != nil || start != t.start {
			return fmt.Errorf("client: %w %s: process %d is not the one first reached: it exited, and its pid may be another process's now (nothing was sent)",
				ErrUntrusted, t.path, t.pid)
		}
	}
	return nil
}

// dial connects to the socket and checks its server.
func (t target) dial() (net.Conn, error) {
	c, err := sockdir.DialUnix(t.path)
	if err != nil {
		return nil, err
	}
	if err := t.check(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
