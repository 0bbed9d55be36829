package peercred

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// read reads the peer's credentials with SO_PEERCRED.
func read(uc *net.UnixConn) (Cred, error) {
	var cred *unix.Ucred
	err := withFD(uc, func(fd int) (err error) {
		cred, err = unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
		return err
	})
	if err != nil {
		return Cred{}, err
	}
	return Cred{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid)}, nil
}

// processUID reads the effective uid of process pid from
// /proc/<pid>/status.
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
	return -1, fmt.Errorf("no Uid line in /proc/%d/status", pid)
}
