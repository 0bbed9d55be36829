// Package paramlib reads and writes what its callers give it. // want package:"user package"
package paramlib

import (
	"bufio"
	"io"
)

// ReadLine reads a line from what it is given.
func ReadLine(r io.Reader) string { // want ReadLine:"stream parameter 0: ReadLine \\(paramlib.go:11\\) calls \\(\\*bufio.Reader\\).ReadString on its parameter"
	s, _ := bufio.NewReader(r).ReadString('\n')
	return s
}

// Relay reads from src through ReadLine and writes to dst.
func Relay(dst io.Writer, src io.Reader) { // want Relay:"stream parameter 0: Relay \\(paramlib.go:18\\) calls io.WriteString on its parameter; stream parameter 1: Relay \\(paramlib.go:17\\) calls ReadLine \\(paramlib.go:11\\), which calls \\(\\*bufio.Reader\\).ReadString on its parameter"
	line := ReadLine(src)
	io.WriteString(dst, line)
}
