package inspect

import (
	"net"

	"github.com/taskdump/taskdump/inspect/internal/peercred"
)

// peerCred reads the connecting process's credentials (package peercred
// owns how, per system).
func peerCred(uc *net.UnixConn) (Peer, error) {
	c, err := peercred.Read(uc)
	return Peer(c), err
}
