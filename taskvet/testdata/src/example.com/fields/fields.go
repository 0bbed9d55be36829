// Package fields keeps task functions in struct fields: a task started as // want package:"user package"
// job.Run runs every function the package gives that field.
package fields

import (
	"context"
	"sync"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// A Job is a named task function.
type Job struct {
	Name string
	Run  func(ctx context.Context) (int, error)
}

func jobs(ctx context.Context) {
	js := []Job{
		{Name: "keyed", Run: func(ctx context.Context) (int, error) {
			time.Sleep(time.Second) // want `^time\.Sleep blocks the event loop \(as j\.Run, started at fields\.go:31\); use runtime\.Sleep`
			return 0, nil
		}},
		{"in order", inOrder},
	}
	var j Job
	j.Run = assigned
	js = append(js, j)
	for _, j := range js {
		runtime.Spawn(ctx, j.Run)
	}
	// Pointers to jobs, the & of each element left out.
	for _, p := range []*Job{{Run: viaPointer}} {
		runtime.Spawn(ctx, p.Run)
	}
}

// newJob makes a job of run: it passes run on to a field started as a
// task, so it runs task code (a runner, as runtime.Spawn is).
func newJob(name string, run func(ctx context.Context) (int, error)) Job { // want newJob:"runs task code: parameter 1"
	return Job{Name: name, Run: run}
}

// jobsOf makes a job of each function it is given: each is task code.
func jobsOf(fns ...func(ctx context.Context) (int, error)) []Job { // want jobsOf:"runs task code: parameter 0"
	var js []Job
	for _, f := range fns {
		js = append(js, Job{Run: f})
	}
	return js
}

func listed() []Job {
	return jobsOf(inOrder, func(ctx context.Context) (int, error) {
		time.Sleep(time.Second) // want `^time\.Sleep blocks the event loop`
		return 0, nil
	})
}

func constructed(ctx context.Context) []Job {
	return []Job{newJob("config", func(ctx context.Context) (int, error) {
		time.Sleep(time.Second) // want `^time\.Sleep blocks the event loop`
		return 0, nil
	})}
}

func viaPointer(ctx context.Context) (int, error) { // want viaPointer:"blocking"
	time.Sleep(time.Second) // want `^time\.Sleep blocks the event loop`
	return 0, nil
}

func inOrder(ctx context.Context) (int, error) { // want inOrder:"blocking"
	return <-make(chan int), nil // want `^channel receive blocks the event loop`
}

var wg sync.WaitGroup

func assigned(ctx context.Context) (int, error) { // want assigned:"blocking"
	wg.Wait() // want `^\(\*sync\.WaitGroup\)\.Wait blocks the event loop`
	return 0, nil
}

// A Hook's function is never started as a task: silent.
type Hook struct {
	Do func()
}

func hooks() {
	h := Hook{Do: func() { time.Sleep(time.Second) }}
	h.Do()
}
