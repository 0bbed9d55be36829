//go:build race

package runtime_test

// quietTasks is the size of the quiet loop of TestEachTaskSinceQuiet: under
// the race detector, spawning 100,000 tasks takes minutes.
const quietTasks = 10_000
