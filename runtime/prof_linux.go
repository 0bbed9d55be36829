package runtime

import (
	"syscall"
	"unsafe"
)

// cpuProfiling reports whether a CPU profile is being taken: the Go runtime
// arms the process's ITIMER_PROF while it profiles. One getitimer system
// call (~150 ns); the loop asks at most once per millisecond.
func cpuProfiling() bool {
	var it [4]int64 // struct itimerval: interval and value timevals
	_, _, errno := syscall.RawSyscall(syscall.SYS_GETITIMER, 2 /* ITIMER_PROF */, uintptr(unsafe.Pointer(&it)), 0)
	if errno != 0 {
		return true
	}
	return it != [4]int64{}
}
