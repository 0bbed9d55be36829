package inspect

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// peerCred reads the connecting process's credentials with LOCAL_PEERCRED
// (macOS has no SO_PEERCRED, and the pid is not part of it).
func peerCred(uc *net.UnixConn) (Peer, error) {
	var cred *unix.Xucred
	err := withFD(uc, func(fd int) (err error) {
		cred, err = unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		return err
	})
	if err != nil {
		return Peer{}, err
	}
	gid := -1
	if cred.Ngroups > 0 {
		gid = int(cred.Groups[0])
	}
	return Peer{PID: -1, UID: int(cred.Uid), GID: gid}, nil
}

// processUID returns the effective uid of process pid (the uid
// LOCAL_PEERCRED reports for its sockets).
func processUID(pid int) (int, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return -1, err
	}
	if int(kp.Proc.P_pid) != pid {
		return -1, fmt.Errorf("inspect: no process %d", pid)
	}
	return int(kp.Eproc.Ucred.Uid), nil
}
