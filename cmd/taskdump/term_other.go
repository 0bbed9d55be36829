//go:build !linux

package main

import "os"

// isTerminal reports whether f is a character device: a terminal, or
// something like /dev/null, which errs on the side of refusing.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// termWidth returns 80: the width of a terminal is read on Linux only.
func termWidth(*os.File) int { return 80 }
