package peercred

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// read reads the peer's credentials with LOCAL_PEERCRED (macOS has no
// SO_PEERCRED, and the pid is not part of it).
func read(uc *net.UnixConn) (Cred, error) {
	var cred *unix.Xucred
	err := withFD(uc, func(fd int) (err error) {
		cred, err = unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		return err
	})
	if err != nil {
		return Cred{}, err
	}
	gid := -1
	if cred.Ngroups > 0 {
		gid = int(cred.Groups[0])
	}
	return Cred{PID: -1, UID: int(cred.Uid), GID: gid}, nil
}

// processUID reads the effective uid of process pid with sysctl.
func processUID(pid int) (int, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return -1, err
	}
	if int(kp.Proc.P_pid) != pid {
		return -1, fmt.Errorf("no process %d", pid)
	}
	return int(kp.Eproc.Ucred.Uid), nil
}
