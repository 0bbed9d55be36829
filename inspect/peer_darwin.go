package inspect

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerCred reads the connecting process's credentials with LOCAL_PEERCRED
// (macOS has no SO_PEERCRED; the pid is not part of it).
func peerCred(uc *net.UnixConn) (Peer, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var cred *unix.Xucred
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	}); err != nil {
		return Peer{}, err
	}
	if cerr != nil {
		return Peer{}, cerr
	}
	gid := -1
	if cred.Ngroups > 0 {
		gid = int(cred.Groups[0])
	}
	return Peer{PID: -1, UID: int(cred.Uid), GID: gid}, nil
}
