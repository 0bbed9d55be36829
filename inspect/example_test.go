package inspect_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/taskdump/taskdump/inspect"
	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/runtime"
)

// The agent in one line, and the Go client listing the tasks of a loop.
func Example() {
	dir, err := os.MkdirTemp("", "taskdump-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	agent, err := inspect.Listen(inspect.Options{Dir: dir}) // usually inspect.Options{}
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close()

	ready := make(chan struct{})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.Run(ctx, func(ctx context.Context) (struct{}, error) {
			runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, runtime.Sleep(ctx, time.Minute)
			}, runtime.Named("fetch"))
			q := runtime.NewQueue[int](1)
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				return q.Get(ctx)
			}, runtime.Named("consumer"))
			// Runs once every task above has suspended.
			runtime.CallSoon(ctx, func() { close(ready) })
			return struct{}{}, runtime.Sleep(ctx, time.Hour)
		}, runtime.WithName("example"))
	}()
	<-ready

	c, err := client.DialPath(agent.Path()) // or client.Dial(pid) from another process
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	tasks, err := c.Tasks(context.Background(), client.TaskFilter{Loop: "example"})
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range tasks {
		fmt.Printf("%-8s %s, awaiting %s\n", t.Name, t.State, t.Awaiting)
	}
	stop()
	<-done
	// Output:
	// main     pending, awaiting sleep(1h0m0s)
	// fetch    pending, awaiting sleep(1m0s)
	// consumer pending, awaiting queue.get
}

// A program that already serves HTTP can mount the protocol on its own mux
// instead of starting an Agent. Protect the route as you would
// net/http/pprof: it has no peer credentials to check.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("/debug/taskdump/", http.StripPrefix("/debug/taskdump", inspect.Handler(inspect.Options{ReadOnly: true})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/debug/taskdump/v1/tasks/999999")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.StatusCode, " ", string(body))
	http.DefaultClient.CloseIdleConnections()
	// Output:
	// 404 {"code":"no_such_task","error":"inspect: no such task 999999"}
}
