//go:build amd64

package runtime

// fpwalk fills pcs with return addresses by following frame pointers, starting
// with the return address of its caller's frame, and returns how many it wrote;
// it stops after writing stop (0: at the outermost frame, or when pcs is
// full). Implemented in assembly; about 1 ns per frame against ~100 ns + ~20
// ns per frame for goruntime.Callers.
//
//go:noescape
func fpwalk(pcs []uintptr, stop uintptr) int

// callerpc returns the return address of the function that called it.
func callerpc() uintptr

// getg returns an identity of the calling goroutine (the address of its g,
// never dereferenced), in about a nanosecond.
func getg() uintptr

// prefetch starts loading the 384 bytes at addr into the CPU's caches and
// returns at once (~1 ns); it never faults. The loop calls it for the task
// record it will step two entries ahead and the goroutine of the next (a
// step's first touch of a record created long ago, W1 spawns 200,000, far
// more than the caches hold, otherwise waits on memory); snapshots for the
// records and coroutines they copy (prefetchRecords). 384 bytes is more
// than a Task[int] (288) or a coroutine's suspension and busy window (84)
// but measured better: records made one after another are neighbours, and
// the extra lines are the start of the next one (two lines for the
// suspension made a snapshot's pause 20% longer).
func prefetch(addr uintptr)

// rdtsc returns the CPU's time-stamp counter (tsc.go).
func rdtsc() uint64

// hasTSC reports whether rdtsc reads a time-stamp counter.
const hasTSC = true
