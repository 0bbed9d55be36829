//go:build !linux

package runtime

// cpuProfiling reports true where the profiler cannot be detected: task
// labels are then set on every task.
func cpuProfiling() bool { return true }
