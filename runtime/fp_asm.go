//go:build amd64

package runtime

// fpwalk fills pcs with return addresses by following frame pointers, starting
// with the return address of its caller's frame, and returns how many it wrote.
// Implemented in assembly; about 1 ns per frame against ~100 ns + ~20 ns per
// frame for goruntime.Callers.
//
//go:noescape
func fpwalk(pcs []uintptr) int

// callerpc returns the return address of the function that called it.
func callerpc() uintptr

// getg returns an identity of the calling goroutine (the address of its g,
// never dereferenced), in about a nanosecond.
func getg() uintptr

// prefetchTask starts loading the 384 bytes of t's record into the CPU's
// caches and returns at once (~1 ns): the loop calls it for the task it will
// step next, so that a step's first touch of a record created long ago (W1
// spawns 200,000, far more than the caches hold) does not wait on memory.
//
//go:noescape
func prefetchTask(t *task)

// prefetchG starts loading the goroutine descriptor at gp (getg's identity)
// into the CPU's caches and returns at once.
func prefetchG(gp uintptr)
