//go:build unix

package main

import (
	"os"
	"syscall"
)

// oNoFollow makes open fail on a symbolic link at the path's last element.
const oNoFollow = syscall.O_NOFOLLOW

// oNonBlock makes open of a FIFO without a reader fail instead of wait.
const oNonBlock = syscall.O_NONBLOCK

// fileOwner returns the uid that owns the file fi describes, or -1.
func fileOwner(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
