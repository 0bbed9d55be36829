//go:build unix

package main

import "syscall"

// oNoFollow makes open fail on a symbolic link at the path's last element.
const oNoFollow = syscall.O_NOFOLLOW

// oNonBlock makes open of a FIFO without a reader fail instead of wait.
const oNonBlock = syscall.O_NONBLOCK
