// Package examples holds taskdump's runnable example programs, one main
// package per directory, and the test that builds and runs each of them
// with the real go command and checks what it prints.
//
//   - tutorial/simple, alltasks, cancel, ascompleted, gather and wait port
//     the six programs of the asyncio tasks tutorial to the runtime package:
//     go run ./examples/tutorial/simple, and so on.
//   - blocking keeps the tutorial's misuse, time.Sleep inside a task, to
//     show the loop's blocking watchdog report and the fix, runtime.ToThread:
//     go run ./examples/blocking.
//   - service is a long-running demo service to attach taskdump to.
//
// This package itself exports nothing.
package examples
