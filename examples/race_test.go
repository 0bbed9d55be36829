//go:build race

package examples_test

// raceEnabled is true when the test runs with -race; the examples are then
// built with -race too.
const raceEnabled = true
