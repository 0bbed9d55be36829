// Package peercred owns what the agent (package inspect) and its client
// (package inspect/client) ask the system about the process at the other
// end of a Unix socket, and about a process by pid: its credentials, its
// user, whether it exists.
//
// Its errors carry no package prefix: the public package that returns one
// adds its own.
package peercred

import (
	"errors"
	"net"
	"syscall"
)

// Cred is the process at the other end of a Unix socket connection. PID is
// -1 where the system does not report it (macOS), GID -1 if unknown.
type Cred struct {
	PID int
	UID int
	GID int
}

// Read returns the credentials of the process at the other end of uc:
// SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS; elsewhere it fails, so
// that every peer is refused rather than trusted.
func Read(uc *net.UnixConn) (Cred, error) { return read(uc) }

// ProcessUID returns the effective uid of process pid: the uid Read
// reports for its sockets. Elsewhere than Linux and macOS it fails.
func ProcessUID(pid int) (int, error) { return processUID(pid) }

// ProcessAlive reports whether a process with this pid exists (EPERM
// counts: it exists, owned by someone else).
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// withFD runs get on the connection's file descriptor.
func withFD(uc *net.UnixConn, get func(fd int) error) error {
	rc, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var gerr error
	if err := rc.Control(func(fd uintptr) { gerr = get(int(fd)) }); err != nil {
		return err
	}
	return gerr
}
