// Package examples holds taskdump's runnable example programs, one main
// package per directory, and the test that builds and runs each of them
// with the real go command and checks what it prints. Every example:
//
//   - tutorial/simple, tutorial/alltasks, tutorial/cancel,
//     tutorial/ascompleted, tutorial/gather and tutorial/wait port the six
//     programs of the asyncio tasks tutorial to the runtime package:
//     go run ./examples/tutorial/simple, and so on.
//   - blocking keeps the tutorial's misuse, time.Sleep inside a task, to
//     show the loop's blocking watchdog report and the fix, runtime.ToThread:
//     go run ./examples/blocking.
//   - cpuprofile takes a standard CPU profile and splits it per task by the
//     pprof labels the loop sets: go run ./examples/cpuprofile -o cpu.pprof.
//   - jaeger runs a crawler-like workload with tracing on and exports its
//     task tree to Jaeger over OTLP: go run ./examples/jaeger.
//   - service is a long-running demo service to attach taskdump to (a job
//     queue, workers, stuck jobs, a blocking misuse): go run ./examples/service.
//   - service/demo builds taskdump and the service, starts the service and
//     attaches taskdump to it, in one command: go run ./examples/service/demo.
//
// This package itself exports nothing.
package examples
