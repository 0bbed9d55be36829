//go:build !amd64

package runtime

import goruntime "runtime"

// fpwalk is the portable fallback of the frame-pointer walk: it costs what
// goruntime.Callers costs (~100 ns plus ~20 ns per frame).
//
//go:noinline
func fpwalk(pcs []uintptr, stop uintptr) int {
	// skip: Callers itself, fpwalk, and fpwalk's caller, to match the asm.
	n := goruntime.Callers(3, pcs)
	for i, pc := range pcs[:n] {
		if pc == stop {
			return i + 1
		}
	}
	return n
}

// callerpc returns the return address of the function that called it.
//
//go:noinline
func callerpc() uintptr {
	var pcs [1]uintptr
	goruntime.Callers(3, pcs[:])
	return pcs[0]
}

// getg returns 0 where the goroutine identity is not available: the check
// that an await runs on its task's goroutine is then skipped.
func getg() uintptr { return 0 }

// prefetch does nothing here: there is no portable prefetch.
func prefetch(uintptr) {}

// rdtsc returns 0: there is no time-stamp counter to read here (tsc.go).
func rdtsc() uint64 { return 0 }

// hasTSC reports whether rdtsc reads a time-stamp counter.
const hasTSC = false
