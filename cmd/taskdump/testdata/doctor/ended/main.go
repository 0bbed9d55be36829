// Command ended is a doctor scenario whose loop has ended: its tasks ran,
// one failed unretrieved, the loop closed, and the process goes on with
// the agent open. There is no running loop to read: the doctor says so
// rather than "no problems found".
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/taskdump/taskdump/cmd/taskdump/testdata/doctor/scenario"
	"github.com/taskdump/taskdump/runtime"
)

func main() {
	agent := scenario.Listen()
	defer agent.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	_, err := runtime.Run(ctx, func(ctx context.Context) (int, error) {
		a := runtime.Spawn(ctx, func(context.Context) (int, error) { return 1, nil }, runtime.Named("short"))
		runtime.Spawn(ctx, func(context.Context) (int, error) { return 0, errors.New("lost") }, runtime.Named("unheard"))
		return a.Await(ctx)
	}, runtime.WithName("batch"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	fmt.Println("ready")
	<-ctx.Done()
}
