//go:build !race

package runtime_test

// quietTasks is the size of the quiet loop of TestEachTaskSinceQuiet.
const quietTasks = 100_000
