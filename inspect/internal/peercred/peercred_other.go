//go:build !linux && !darwin

package peercred

import (
	"errors"
	"net"
)

// read is not implemented here: every peer is refused, so the agent
// answers no one rather than anyone.
func read(uc *net.UnixConn) (Cred, error) {
	return Cred{}, errors.New("peer credentials are not available on this system")
}

// processUID is not implemented here: the client trusts no agent.
func processUID(pid int) (int, error) {
	return -1, errors.New("process credentials are not available on this system")
}
