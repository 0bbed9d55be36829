//go:build !linux

package main

import (
	"os"
	"testing"
)

// openPTY skips the test: the pseudo-terminal helper is written for Linux.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	t.Skip("opening a pseudo-terminal is implemented for Linux only")
	return nil, nil
}
