package inspect

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// peerCred reads the connecting process's credentials with SO_PEERCRED.
func peerCred(uc *net.UnixConn) (Peer, error) {
	var cred *unix.Ucred
	err := withFD(uc, func(fd int) (err error) {
		cred, err = unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
		return err
	})
	if err != nil {
		return Peer{}, err
	}
	return Peer{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid)}, nil
}

// processUID returns the effective uid of process pid (the uid SO_PEERCRED
// reports for its sockets), from /proc/<pid>/status.
func processUID(pid int) (int, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1, err
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "Uid:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			break
		}
		return strconv.Atoi(f[1])
	}
	return -1, fmt.Errorf("inspect: no Uid line in /proc/%d/status", pid)
}
