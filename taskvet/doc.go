// Package taskvet defines an analyzer that reports blocking calls in task
// code: code that runs on a taskdump event loop, where one blocking call
// stops every other task of the loop until it returns.
//
// # Task code
//
// Task code is the body of every function passed to one of
// github.com/taskdump/taskdump/runtime's functions that run it on the loop:
// Spawn, SpawnIn, Run, CallSoon, CallLater, (*Loop).Run, (*Loop).Submit,
// (*Loop).CallSoonThreadsafe and (*Task).AddDoneCallback. The function may
// be a literal, a named function, a method value, or a local variable
// assigned a literal once. The OnTask and OnBlock methods of a type that
// implements runtime.Observer are task code too: the loop calls them
// synchronously on its goroutine. Everything task code calls is followed through
// static calls, within a package and across packages: the analyzer exports
// a fact for every function that may block, carrying the chain of calls
// that leads to the blocking operation, so a call from task code to a
// helper in another module is reported with the helper's chain.
//
// Not task code: functions passed to runtime.ToThread (its worker pool is
// where blocking work belongs), `go` statements, function literals that
// are not called in the task (in place, deferred, or through a local
// variable assigned only that literal: a literal passed to another
// function runs wherever that function runs it), and functions only
// reached from those. A function that passes one of its function
// parameters on to a runner (runAll(ctx, fn) calling runtime.Spawn(ctx,
// fn)) is a runner too, across packages, and so is one that passes on the
// elements of a list of functions (spawnAll(ctx, fns ...func(...))
// ranging over fns, or fns[i]): each function given in the list is task
// code. A struct field of function type passed as a task function
// (runtime.Spawn(ctx, job.Run), in a loop over jobs say) runs what the
// package gives that field, in composite literals (Job{Run: fetch}) and
// assignments (job.Run = fetch): each of those is task code, and its
// reports say how ("time.Sleep blocks the event loop (as j.Run, started at
// main.go:46); ..."), so that a function the field holds only for
// runtime.ToThread can be told and ignored. The match is per field, over
// every value and instance of the struct type (and every instantiation of
// a generic one): a field started as a task makes all its values task
// code. A function that puts its parameter in such a field
// (newJob(name, run) returning Job{Run: run}; Register(name, fn)
// appending Job{name, fn} to what RunAll starts) is a runner of that
// parameter, across packages, when the field is started in its own
// package; reports in what callers pass it do not say how. Values given
// to the field in another package, calls through interfaces and other
// function values are not followed. The runtime package's own functions
// (runtime.Sleep, (*Queue).Get, (*Lock).Lock, ...) suspend the task instead
// of blocking and are never reported, nor is anything in the standard
// library followed: only the standard library calls listed below block
// (with the readers and writers that wrap connections and files).
//
// # What it reports
//
//   - time.Sleep: use runtime.Sleep(ctx, d) (offered as a suggested fix when
//     the task function has a ctx context.Context parameter in scope; it
//     returns the error when the task function returns one). In a callback
//     (CallSoon, CallLater, AddDoneCallback), which cannot await: schedule
//     what follows with runtime.CallLater, or run the wait in a task.
//   - channel sends and receives, range over a channel, select without a
//     default case: use runtime.Queue, runtime.Event or runtime.Future. A
//     receive from time.After, time.Tick or a Timer's or Ticker's C is a
//     sleep: use runtime.Sleep(ctx, d), or runtime.WaitFor for a timeout.
//   - (*sync.WaitGroup).Wait and (*sync.Cond).Wait: use runtime.TaskGroup,
//     runtime.Gather or runtime.Event.
//   - (*sync.Mutex).Lock, (*sync.RWMutex).Lock and RLock only with -mutex:
//     use runtime.Lock. Off by default: short critical sections shared with
//     other goroutines are common and harmless (see "Why -mutex is off").
//   - network and I/O: net/http client calls, net.Dial* and (*net.Dialer)
//     dials, DNS lookups, reads, writes and accepts on net connections and
//     listeners, crypto/tls dials, handshakes, reads and writes; os/exec
//     Run, Output, CombinedOutput and Wait; file I/O (os.ReadFile,
//     os.WriteFile, os.Open, os.OpenFile, os.Create, os.ReadDir and reads
//     and writes on *os.File); database/sql queries, executions, prepares,
//     pings, transactions and row iteration: move them into
//     runtime.ToThread.
//   - the same connections and files read or written through the standard
//     library: handed to a function or method that reads or writes them
//     (io.ReadAll(conn), io.Copy(w, conn), fmt.Fprintf(conn, ...),
//     (*bytes.Buffer).ReadFrom(f)), or read and written through a wrapper
//     built on them (bufio.NewReader(conn).ReadString,
//     bufio.NewScanner(os.Stdin).Scan, json.NewDecoder(conn).Decode), also
//     through a variable or a struct field the package gives the wrapper
//     (s.r = bufio.NewReader(conn), then s.r.ReadString):
//     "(*bufio.Reader).ReadString on a net.Conn". A struct embedding a
//     connection or a file is one, and so is an http.Response's Body (its
//     reads come from the connection: http.Get moved into ToThread, then
//     io.ReadAll(resp.Body) on the loop, is reported). Building a wrapper does not block, nor
//     does a standard New... function that cannot fail
//     (slog.NewTextHandler(f, nil) keeps f; gzip.NewReader, which returns
//     an error, reads a header and is reported), nor do tls.Client and
//     tls.Server (the handshake comes with
//     the first read or write) or http.NewRequest (the body is read when the
//     request is sent). Writes to os.Stdout and os.Stderr (and their Sync), or to a variable
//     or field that only ever holds them (as far as the package shows: one
//     also assigned a call's results, f, err = os.Create(p), or whose
//     address is taken may hold a file), are not reported, as fmt.Println
//     and log are not. A function of yours that reads or writes a
//     parameter as a stream (r io.Reader read with io.ReadAll, or through a
//     bufio.Reader built on it; w *bufio.Writer written to), or hands it on
//     to one that does, blocks where it is given a connection or a file
//     (readCmd(bufio.NewReader(conn)): "calls readCmd (cmd.go:12), which
//     calls (*bufio.Reader).ReadString on a net.Conn"), across packages;
//     given anything else (a bytes.Buffer, os.Stdout) it does not. A
//     constructor that keeps what it is given in a struct's fields, and the
//     methods that read or write them, count the same way: c :=
//     proto.NewCodec(conn), then c.ReadMsg() reading c.r, a bufio.Reader
//     on conn ("calls (*proto.Codec).ReadMsg (proto.go:20), which calls
//     (*bufio.Reader).ReadString on a net.Conn"), as far as the variable's
//     values in the package show what built it. A function with an *os.File
//     parameter counts the same way (render(f *os.File) writing to
//     f blocks given a file, not given os.Stdout), also kept by a
//     constructor in an unexported field, as it is or in a writer on it
//     (newLog(os.Stdout).flush() does not block; a log whose make the
//     package does not show, a parameter's, or whose field a setter
//     also writes, holds the file its type says, as an exported field
//     does: any package may give it one). Calls
//     through an interface method or a function value are not followed
//     (they have no static callee), nor variadic parameters.
//   - an HTTP server run in a task (http.ListenAndServe, http.Serve and
//     their TLS forms, (*http.Server).ListenAndServe and Serve), which
//     serves on the loop until it is shut down: serve on a goroutine of its
//     own and hand each request to the loop (Loop.Submit); and
//     (*http.Server).Shutdown, which waits for connections to close.
//   - functions marked blocking by a //taskvet:blocking line in their doc
//     comment, and functions named with -blocking (a comma-separated list of
//     full names as go/types prints them: "os.Stat,(*example.com/db.Pool).Get").
//
// A direct call is reported where it is made:
//
//	main.go:43:2: time.Sleep blocks the event loop; use runtime.Sleep(ctx, d)
//
// A call to a function that blocks further down gives the chain, each
// function with the position of the call in it that leads on:
//
//	main.go:20:2: blocks the event loop: calls pause (util.go:12), which calls time.Sleep; use runtime.Sleep(ctx, d)
//
// A chain of more than 16 functions shows its first ones and its last,
// and how many it leaves out between them ("which goes through 485 more
// functions").
//
// A named task function of another package is reported where it is passed.
//
// # Suppressing
//
// A //taskvet:ignore comment with a reason, on the reported line or alone
// on the line above, suppresses the report; an ignored call does not make
// its function blocking for callers either. A //taskvet:ignore without a
// reason is itself reported.
//
//	time.Sleep(time.Millisecond) //taskvet:ignore the loop is not started yet
//
// # Why -mutex is off
//
// Locking a sync.Mutex only blocks the loop while another goroutine holds
// it, which for the usual short critical section is microseconds. With
// -mutex, every call into a thread-safe library becomes blocking. Measured
// with taskvet -debug=f (functions of the package that get a "may block"
// fact, without and with -mutex; non-test code):
//
//   - hashicorp/golang-lru/v2: 1 and 39, including every method of the
//     thread-safe cache (Get, Add, Contains, Peek, Purge).
//   - prometheus/client_golang/prometheus: 27 and 72; exported ones 9 and
//     34, among them CounterVec.With and WithLabelValues, GaugeVec.With and
//     histogram's Observe, the calls a handler makes on every request.
//   - go.opentelemetry.io/otel/sdk/trace v1.47.0: 5 and 43, among them the
//     span's End, SetAttributes, AddEvent and SetStatus.
//   - this repository: 62 and 87; its reports (taskvet ./... with tests)
//     20 and 21, the one more a test task taking a mutex.
//
// So the reports -mutex adds are mostly calls nobody should change; it is
// there for code whose locks are held across slow work.
//
// # Limits
//
// Calls through interfaces and function values are not followed, nor is the
// standard library beyond the calls listed above (fmt.Println writes to a
// file, but is not reported). A literal passed to a function other than a
// runner or ToThread (sort.Slice, sync.Once.Do) is not walked. In GOPATH
// mode, a package whose path has no dot in its first element is taken for
// a standard one and skipped.
//
// # Running it
//
//	go install github.com/taskdump/taskdump/cmd/taskvet@latest
//	taskvet ./...                       # report
//	taskvet -fix ./...                  # and apply the time.Sleep fixes
//	taskvet -mutex ./...                # also report sync.Mutex locks
//	go vet -vettool=$(which taskvet) ./...
//
// taskvet exits with status 3 when it reports anything.
//
// Analyzer is also an ordinary *analysis.Analyzer, so it can be added to any
// driver (a golangci-lint module plugin, a gopls build, a multichecker); New
// builds one with settings instead of flags.
//
// # golangci-lint
//
// golangci-lint takes it as a module plugin
// (https://golangci-lint.run/docs/plugins/module-plugins): a package of
// yours registers it,
//
//	package taskvetplugin
//
//	import (
//		"github.com/golangci/plugin-module-register/register"
//		"github.com/taskdump/taskdump/taskvet"
//		"golang.org/x/tools/go/analysis"
//	)
//
//	func init() { register.Plugin("taskvet", New) }
//
//	type Settings struct {
//		Mutex    bool     `json:"mutex"`
//		Blocking []string `json:"blocking"`
//	}
//
//	type plugin struct{ cfg taskvet.Config }
//
//	func New(settings any) (register.LinterPlugin, error) {
//		s, err := register.DecodeSettings[Settings](settings)
//		if err != nil {
//			return nil, err
//		}
//		return plugin{taskvet.Config{Mutex: s.Mutex, Blocking: s.Blocking}}, nil
//	}
//
//	func (p plugin) BuildAnalyzers() ([]*analysis.Analyzer, error) {
//		return []*analysis.Analyzer{taskvet.New(p.cfg)}, nil
//	}
//
//	func (plugin) GetLoadMode() string { return register.LoadModeTypesInfo }
//
// .custom-gcl.yml names its module, and .golangci.yml enables the linter:
//
//	# .custom-gcl.yml
//	version: v2.4.0
//	plugins:
//	  - module: example.com/you/taskvetplugin
//	    path: ./tools/taskvetplugin
//
//	# .golangci.yml
//	version: "2"
//	linters:
//	  enable: [taskvet]
//	  settings:
//	    custom:
//	      taskvet:
//	        type: module
//	        description: blocking calls in taskdump task code
//	        settings:
//	          mutex: false
//	          blocking: ["(*example.com/you/db.Pool).Get"]
//
// Then golangci-lint custom builds ./custom-gcl, which runs it with the
// other linters: ./custom-gcl run ./...
//
// # gopls
//
// gopls loads no analyzers from outside its source. A gopls built with
// {analyzer: taskvet.Analyzer, enabled: true} added to the list in
// gopls/internal/settings/analysis.go shows the reports as diagnostics and
// the time.Sleep fix as a quick fix; an editor that runs golangci-lint (as
// above) shows the reports without rebuilding gopls.
package taskvet
