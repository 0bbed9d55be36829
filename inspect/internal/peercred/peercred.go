// Package peercred owns what the agent (package inspect) and its client
// (package inspect/client) ask the system about the process at the other
// end of a Unix socket, and about a process by pid: its credentials, its
// user, whether it exists.
//
// Its errors carry no package prefix: the public package that returns one
// adds its own.
package peercred

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
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

// ProcessStart returns when process pid started, in clock ticks since
// boot (field 22 of /proc/<pid>/stat): with the pid, it names one
// process, where the pid alone may name another once the first exits
// and the system reuses it. It fails where there is no /proc (macOS), or
// when the process is gone.
func ProcessStart(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces and parentheses:
	// the fields that follow start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat has %d fields after the command name, want at least 20", pid, len(f))
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22; f[0] is field 3
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
