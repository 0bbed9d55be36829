// Package scenario is what every doctor scenario program shares: the
// inspect agent, the signals that end the program, and its loop. Each
// scenario is then only its fault.
package scenario

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/taskdump/taskdump/inspect"
	"github.com/taskdump/taskdump/runtime"
)

// Listen starts the inspect agent and prints "agent <socket path>", the
// line the tests wait for first; it exits the program if the agent cannot
// start.
func Listen() *inspect.Agent {
	agent, err := inspect.Listen(inspect.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("agent", agent.Path())
	return agent
}

// Run starts the agent and runs main on a loop (with opts) until main
// returns or SIGTERM or an interrupt cancels it.
func Run(main func(ctx context.Context) (struct{}, error), opts ...runtime.Option) {
	agent := Listen()
	defer agent.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	_, _ = runtime.Run(ctx, main, opts...)
}
