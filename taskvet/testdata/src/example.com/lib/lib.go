// Package lib is a library that task code of other packages calls. // want package:"user package"
package lib

import (
	"context"
	"net/http"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// Pause blocks.
func Pause(d time.Duration) { // want Pause:"blocking: Pause \\(lib.go:14\\) calls time.Sleep"
	time.Sleep(d)
}

// Fetch blocks through a helper.
func Fetch(url string) error { // want Fetch:"blocking: Fetch \\(lib.go:19\\) calls get \\(lib.go:23\\), which calls http.Get"
	return get(url)
}

func get(url string) error { // want get:"blocking"
	_, err := http.Get(url)
	return err
}

// Slow is marked blocking: its cost is not visible to the analyzer.
//
//taskvet:blocking
func Slow() int { return 0 } // want Slow:"blocking: marked //taskvet:blocking"

// Work is a task function.
func Work(ctx context.Context) (int, error) { // want Work:"blocking"
	Pause(time.Second)
	return 0, nil
}

// Client has a blocking method.
type Client struct{}

func (c *Client) Call() { // want Call:"blocking"
	Pause(time.Millisecond)
}

// Fast does not block.
func Fast() int { return 1 }

// Go spawns what it is given.
func Go(ctx context.Context, fn func(context.Context) (int, error)) { // want Go:"runs task code: parameter 1"
	runtime.Spawn(ctx, fn)
}

// CallsSlow calls a marked function.
func CallsSlow() int { // want CallsSlow:"blocking: CallsSlow \\(lib.go:55\\) calls lib.Slow \\(marked //taskvet:blocking\\)"
	return Slow()
}

// A Job is registered, then run as a task by RunAll.
type Job struct {
	Name string
	Run  func(context.Context) (int, error)
}

var jobs []Job

// Register keeps fn in a Job that RunAll starts as a task: fn is task code.
func Register(name string, fn func(context.Context) (int, error)) { // want Register:"runs task code: parameter 1"
	jobs = append(jobs, Job{name, fn})
}

// RunAll starts every registered job.
func RunAll(ctx context.Context) {
	for _, j := range jobs {
		runtime.Spawn(ctx, j.Run)
	}
}
