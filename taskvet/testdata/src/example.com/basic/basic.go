// Package basic has one task per kind of blocking operation, each runner // want package:"user package"
// of task code, and code that is not task code.
package basic

import (
	"context"
	"database/sql"
	"iter"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

func kinds(ctx context.Context, ch chan int, wg *sync.WaitGroup, cond *sync.Cond, mu *sync.Mutex, db *sql.DB, conn net.Conn, f *os.File) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		time.Sleep(time.Second) // want `^time\.Sleep blocks the event loop; use runtime\.Sleep\(ctx, d\)$`
		ch <- 1                 // want `^channel send blocks the event loop; use a runtime\.Queue`
		v := <-ch               // want `^channel receive blocks the event loop`
		for range ch {          // want `^range over a channel blocks the event loop`
		}
		for range []int{1} { // a slice: silent
		}
		select { // want `^select without default blocks the event loop`
		case v = <-ch:
		case ch <- v:
		}
		select { // with default: silent
		case v = <-ch:
		case ch <- v:
		default:
		}
		wg.Wait()   // want `^\(\*sync\.WaitGroup\)\.Wait blocks the event loop; use runtime\.TaskGroup`
		cond.Wait() // want `^\(\*sync\.Cond\)\.Wait blocks the event loop; use runtime\.Event`
		mu.Lock()   // without -mutex: silent
		mu.Unlock()
		http.Get("http://example.com")            // want `^http\.Get blocks the event loop; move it into runtime\.ToThread$`
		http.DefaultClient.Do(nil)                // want `^\(\*http\.Client\)\.Do blocks`
		c, _ := net.Dial("tcp", "example.com:80") // want `^net\.Dial blocks`
		var d net.Dialer
		d.DialContext(ctx, "tcp", "example.com:80") // want `^\(\*net\.Dialer\)\.DialContext blocks`
		net.LookupHost("example.com")               // want `^net\.LookupHost blocks`
		c.Write(nil)                                // want `^\(net\.Conn\)\.Write blocks`
		conn.Read(nil)                              // want `^\(net\.Conn\)\.Read blocks`
		conn.Close()                                // silent
		cmd := exec.Command("true")                 // silent: building a command
		cmd.Run()                                   // want `^\(\*exec\.Cmd\)\.Run blocks`
		cmd.Output()                                // want `^\(\*exec\.Cmd\)\.Output blocks`
		exec.Command("true").CombinedOutput()       // want `^\(\*exec\.Cmd\)\.CombinedOutput blocks`
		cmd.Start()                                 // silent
		cmd.Wait()                                  // want `^\(\*exec\.Cmd\)\.Wait blocks`
		os.ReadFile("x")                            // want `^os\.ReadFile blocks`
		os.WriteFile("x", nil, 0o600)               // want `^os\.WriteFile blocks`
		g, _ := os.Open("x")                        // want `^os\.Open blocks`
		os.Create("x")                              // want `^os\.Create blocks`
		g.Read(nil)                                 // want `^\(\*os\.File\)\.Read blocks`
		f.WriteString("x")                          // want `^\(\*os\.File\)\.WriteString blocks`
		f.Name()                                    // silent
		rows, _ := db.QueryContext(ctx, "select 1") // want `^\(\*sql\.DB\)\.QueryContext blocks`
		for rows.Next() {                           // want `^\(\*sql\.Rows\)\.Next blocks`
		}
		db.ExecContext(ctx, "delete") // want `^\(\*sql\.DB\)\.ExecContext blocks`
		return v, nil
	})
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		<-time.After(time.Second) // want `^receive from a timer's channel blocks the event loop; use runtime\.Sleep\(ctx, d\), or runtime\.WaitFor for a timeout$`
		t := time.NewTimer(time.Second)
		<-t.C // want `^receive from a timer's channel blocks`
		tk := time.NewTicker(time.Second)
		<-tk.C                         // want `^receive from a timer's channel blocks`
		http.ListenAndServe(":0", nil) // want `^http\.ListenAndServe blocks the event loop; serve on a goroutine of its own`
		srv := &http.Server{}
		srv.Serve(nil)                                 // want `^\(\*http\.Server\)\.Serve blocks the event loop; serve on a goroutine`
		srv.Shutdown(ctx)                              // want `^\(\*http\.Server\)\.Shutdown blocks the event loop; move it into runtime\.ToThread$`
		go func() { http.ListenAndServe(":0", nil) }() // silent: its own goroutine
		for range tk.C {                               // want `^receive from a timer's channel blocks`
		}
		for range time.Tick(time.Second) { // want `^receive from a timer's channel blocks`
		}
		w := struct{ *time.Timer }{t}
		<-w.C // want `^receive from a timer's channel blocks`
		return 0, nil
	})
}

// runSeq ranges over an iterator: the iterator's body runs here, in the
// caller, not as a task; only what it yields is spawned.
func runSeq(ctx context.Context, seq iter.Seq2[string, func(context.Context) (int, error)]) {
	for _, fn := range seq {
		runtime.Spawn(ctx, fn)
	}
}

func iterators(ctx context.Context) {
	runSeq(ctx, func(yield func(string, func(context.Context) (int, error)) bool) {
		os.ReadFile("x") // silent: not task code
	})
}

// runners: each function the runtime runs on the loop.
func runners(ctx context.Context, l *runtime.Loop, g *runtime.TaskGroup, t *runtime.Task[int]) {
	runtime.SpawnIn(g, func(ctx context.Context) (int, error) {
		time.Sleep(1) // want `time\.Sleep blocks`
		return 0, nil
	})
	l.Submit(func(ctx context.Context) error {
		time.Sleep(1) // want `time\.Sleep blocks`
		return nil
	})
	runtime.Run(ctx, func(ctx context.Context) (int, error) {
		time.Sleep(1) // want `time\.Sleep blocks`
		return 0, nil
	})
	l.Run(ctx, func(ctx context.Context) error {
		time.Sleep(1) // want `time\.Sleep blocks the event loop; use runtime\.Sleep\(ctx, d\)`
		return nil
	})
	runtime.CallSoon(ctx, func() {
		time.Sleep(1) // want `time\.Sleep blocks`
	})
	runtime.CallLater(ctx, time.Second, func() {
		time.Sleep(1) // want `time\.Sleep blocks the event loop; a callback cannot await: schedule what follows with runtime\.CallLater`
	})
	l.CallSoonThreadsafe(func() {
		time.Sleep(1) // want `time\.Sleep blocks`
	})
	t.AddDoneCallback(func(runtime.Handle) {
		time.Sleep(1) // want `time\.Sleep blocks`
	})
}

// named is a named task function.
func named(ctx context.Context) (int, error) { // want named:`blocking: named \(basic\.go:\d+\) calls time\.Sleep`
	time.Sleep(time.Second) // want `time\.Sleep blocks`
	return 0, nil
}

type server struct{ ch chan int }

// poll is a task through a method value.
func (s *server) poll(ctx context.Context) (int, error) { // want poll:`blocking: \(\*server\)\.poll \(basic\.go:\d+\) receives from a channel`
	return <-s.ch, nil // want `channel receive blocks`
}

// runAll passes its fn on to Spawn: what is passed to it is task code.
func runAll(ctx context.Context, fn func(context.Context) (int, error)) { // want runAll:"runs task code: parameter 1"
	for range 3 {
		runtime.Spawn(ctx, fn)
	}
}

// runAllTwice passes fn on to runAll.
func runAllTwice(ctx context.Context, name string, fn func(context.Context) (int, error)) { // want runAllTwice:"runs task code: parameter 2"
	runAll(ctx, fn)
	runAll(ctx, fn)
}

// spawnAll passes each of its fns on to Spawn.
func spawnAll(ctx context.Context, fns ...func(context.Context) (int, error)) { // want spawnAll:"runs task code: parameter 1"
	for _, fn := range fns {
		runtime.Spawn(ctx, fn)
	}
}

// spawnEach passes its list's elements on to Spawn by index.
func spawnEach(ctx context.Context, fns []func(context.Context) (int, error)) { // want spawnEach:"runs task code: parameter 1"
	for i := range fns {
		runtime.Spawn(ctx, fns[i])
	}
}

func lists(ctx context.Context) {
	spawnAll(ctx, func(ctx context.Context) (int, error) {
		time.Sleep(1) // want `time\.Sleep blocks`
		return 0, nil
	}, func(ctx context.Context) (int, error) {
		os.ReadFile("x") // want `os\.ReadFile blocks`
		return 0, nil
	})
	spawnEach(ctx, []func(context.Context) (int, error){func(ctx context.Context) (int, error) {
		time.Sleep(1) // want `time\.Sleep blocks`
		return 0, nil
	}})
}

func wrapped(ctx context.Context) (int, error) { // want wrapped:"blocking"
	time.Sleep(time.Second) // want `time\.Sleep blocks`
	return 0, nil
}

func forms(ctx context.Context) {
	runtime.Spawn(ctx, named)
	runtime.Spawn(ctx, named) // reported once
	s := &server{}
	runtime.Spawn(ctx, s.poll)
	local := func(ctx context.Context) (int, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return 0, nil
	}
	runtime.Spawn(ctx, local)
	runAllTwice(ctx, "x", wrapped)
	runAll(ctx, func(ctx context.Context) (int, error) {
		time.Sleep(time.Second) // want `time\.Sleep blocks`
		return 0, nil
	})
}

// notTasks is code that runs off the loop: silent.
func notTasks(ctx context.Context, ch chan int) { // want notTasks:"blocking"
	time.Sleep(time.Second) // not task code
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		v, err := runtime.ToThread(ctx, func() (int, error) {
			time.Sleep(time.Second)
			return <-ch, nil
		})
		go func() {
			time.Sleep(time.Second)
			ch <- 1
		}()
		go offLoop(ch)
		done := make(chan struct{})
		later := func() { <-done } // never called here
		_ = later
		return v, err
	})
}

// offLoop runs only on goroutines; it blocks, and that is fine.
func offLoop(ch chan int) { // want offLoop:"blocking"
	ch <- 1
}

// inPlace: literals called in place and deferred run in the task.
func inPlace(ctx context.Context, ch chan int) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		defer func() {
			<-ch // want `channel receive blocks`
		}()
		func() {
			time.Sleep(1) // want `time\.Sleep blocks`
		}()
		go send(ch, <-ch) // want `channel receive blocks`
		return 0, nil
	})
}

func send(ch chan int, v int) { // want send:"blocking"
	ch <- v
}

// awaiting: the runtime's own awaiting functions suspend the task: silent.
func awaiting(ctx context.Context, q *runtime.Queue[int], lk *runtime.Lock, ev *runtime.Event, g *runtime.TaskGroup) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		if err := runtime.Sleep(ctx, time.Second); err != nil {
			return 0, err
		}
		if err := runtime.Yield(ctx); err != nil {
			return 0, err
		}
		if err := q.Put(ctx, 1); err != nil {
			return 0, err
		}
		if _, err := q.Get(ctx); err != nil {
			return 0, err
		}
		if err := lk.Lock(ctx); err != nil {
			return 0, err
		}
		lk.Unlock()
		if err := ev.Wait(ctx); err != nil {
			return 0, err
		}
		if err := g.Wait(ctx); err != nil {
			return 0, err
		}
		t := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 1, nil })
		if _, err := runtime.Gather(ctx, t); err != nil {
			return 0, err
		}
		return t.Await(ctx)
	})
}

// localCall: a literal bound to a local variable runs where it is called.
func localCall(ctx context.Context, ch chan int) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		wait := func() {
			<-ch // want `channel receive blocks`
		}
		wait()
		return 0, nil
	})
}

// recursiveLocal calls itself through its variable: no endless walk.
func recursiveLocal(ctx context.Context) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		var countdown func(n int)
		countdown = func(n int) {
			if n > 0 {
				time.Sleep(1) // want `time\.Sleep blocks`
				countdown(n - 1)
			}
		}
		countdown(3)
		return 0, nil
	})
}

// exporter is a runtime.Observer: the loop calls its methods synchronously.
type exporter struct {
	ch chan runtime.TaskEvent
	mu sync.Mutex
}

func (e *exporter) OnTask(ev runtime.TaskEvent) { // want OnTask:"blocking"
	e.ch <- ev // want `channel send blocks the event loop`
}

func (e *exporter) OnBlock(ev runtime.BlockEvent) {
	select {
	case e.ch <- runtime.TaskEvent{ID: ev.TaskID}:
	default: // dropped
	}
}

// OnTask of a type that is not an Observer is not loop code.
type notObserver struct{ ch chan int }

func (n notObserver) OnTask(ev runtime.TaskEvent) { // want OnTask:"blocking"
	n.ch <- 1
}
