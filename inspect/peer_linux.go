package inspect

import (
	"net"

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
