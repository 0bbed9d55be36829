// Package params hands connections and files to functions that read or // want package:"user package"
// write their parameters, in task code.
package params

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"example.com/paramlib"
	"github.com/taskdump/taskdump/runtime"
)

func readCmd(r *bufio.Reader) (string, error) { // want readCmd:"stream parameter 0: readCmd \\(params.go:\\d+\\) calls \\(\\*bufio.Reader\\).ReadString on its parameter"
	return r.ReadString('\n')
}

func drain(r io.Reader) { // want drain:"stream parameter 0: drain \\(params.go:\\d+\\) calls io.ReadAll on its parameter"
	io.ReadAll(r)
}

// handle hands its parameter on.
func handle(r io.Reader) { // want handle:"stream parameter 0: handle \\(params.go:\\d+\\) calls drain \\(params.go:\\d+\\), which calls io.ReadAll on its parameter"
	drain(r)
}

func send(w io.Writer, msg string) { // want send:"stream parameter 0: send \\(params.go:\\d+\\) calls fmt.Fprint on its parameter"
	fmt.Fprint(w, msg)
}

// wrapped reads its parameter through a wrapper it assigns it.
func wrapped(r io.Reader) { // want wrapped:"stream parameter 0: wrapped \\(params.go:\\d+\\) calls io.ReadAll on its parameter"
	r = bufio.NewReader(r)
	io.ReadAll(r)
}

// replaced may read something else than its parameter, or what it is
// given: as any variable, it is a stream if a value it may hold is.
func replaced(r io.Reader, s string) { // want replaced:"stream parameter 0: replaced \\(params.go:\\d+\\) calls io.ReadAll on its parameter"
	if s != "" {
		r = strings.NewReader(s)
	}
	io.ReadAll(r)
}

// offLoop reads its parameter on another thread or goroutine only.
func offLoop(ctx context.Context, r io.Reader) {
	runtime.ToThread(ctx, func() (int, error) {
		io.ReadAll(r)
		return 0, nil
	})
	go io.ReadAll(r)
}

// serve is given a connection: it blocks whoever calls it.
func serve(c net.Conn) { // want serve:"blocking: serve \\(params.go:\\d+\\) calls drain \\(params.go:\\d+\\), which calls io.ReadAll on a net.Conn"
	drain(c)
}

// render writes to the file it is given: to os.Stdout, as fmt.Println
// does, it does not block.
func render(f *os.File, n int) { // want render:"stream parameter 0: render \\(params.go:\\d+\\) calls fmt.Fprintf on its parameter"
	fmt.Fprintf(f, "n=%d\n", n)
	f.Sync()
}

// flush syncs the file it is given.
func flush(f *os.File) { // want flush:"stream parameter 0: flush \\(params.go:\\d+\\) calls \\(\\*os.File\\).Sync on its parameter"
	f.Sync()
}

// newLogger keeps the file: building a handler writes nothing.
func newLogger(f *os.File) *slog.Logger {
	return slog.New(slog.NewTextHandler(f, nil))
}

// A peer embeds its connection: reading the peer reads it.
type peer struct {
	net.Conn
	id int
}

// consume reads what it is given, not the peer.
func (p peer) consume(r io.Reader) { // want consume:"stream parameter 0: \\(peer\\).consume \\(params.go:\\d+\\) calls io.ReadAll on its parameter"
	io.ReadAll(r)
}

// A node embeds a pointer to its own type: no stream there, and no end
// to follow.
type node struct {
	*node
	val int
}

func sum(n *node) int { return n.val }

var files map[string]*os.File

// logTo writes to a file the package cannot see: the file its type says.
func logTo(name string, f *os.File) { // want logTo:"blocking: logTo \\(params.go:\\d+\\) calls \\(\\*os.File\\).Write"
	var ok bool
	if f, ok = files[name]; !ok {
		return
	}
	f.Write(nil)
}

// startLogger writes a header through a writer on f, then flushes it in
// a task that captures it: the task writes f, whatever startLogger's own
// fact says of its parameter.
func startLogger(ctx context.Context, f *os.File) { // want startLogger:"stream parameter 1: startLogger \\(params.go:\\d+\\) calls \\(\\*bufio.Writer\\).WriteString on its parameter"
	w := bufio.NewWriter(f)
	w.WriteString("start\n")
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		w.Flush() // want `^\(\*bufio\.Writer\)\.Flush on an \*os\.File blocks`
		return 0, nil
	})
}

// A flog writes through a writer on the file it is built on.
type flog struct{ w *bufio.Writer }

func newFlog(f *os.File) *flog { // want newFlog:"stores parameter 0 in flog.w"
	return &flog{w: bufio.NewWriter(f)}
}

// flush writes through the writer: to the file newFlog was given, which
// its callers tell (os.Stdout does not block).
func (l *flog) flush() { l.w.Flush() } // want flush:"stream field flog.w: \\(\\*flog\\).flush \\(params.go:\\d+\\) calls \\(\\*bufio.Writer\\).Flush on the field"

func (l *flog) close() { l.flush() } // want close:"stream field flog.w: \\(\\*flog\\).close \\(params.go:\\d+\\) calls \\(\\*flog\\).flush"

// A setLog's field is written by a setter too, which is not followed:
// it holds the file its type says.
type setLog struct{ w *bufio.Writer }

func newSetLog(f *os.File) *setLog { return &setLog{w: bufio.NewWriter(f)} } // want newSetLog:"stores parameter 0 in setLog.w"

func (l *setLog) set(f *os.File) { l.w = bufio.NewWriter(f) } // want set:"stores parameter 0 in setLog.w"

func (l *setLog) flush() { l.w.Flush() } // want flush:"blocking: .* on an \\*os.File" flush:"stream field setLog.w"

// An asLog's field is assigned in a task.
type asLog struct{ w *bufio.Writer }

func newAsLog(f *os.File) *asLog { return &asLog{w: bufio.NewWriter(f)} } // want newAsLog:"stores parameter 0 in asLog.w"

func (l *asLog) flush() { l.w.Flush() } // want flush:"blocking: .* on an \\*os.File" flush:"stream field asLog.w"

// An orLog uses the package's log file when given none: its field may
// hold a file whatever newOrLog is given.
type orLog struct{ w *bufio.Writer }

func newOrLog(f *os.File) *orLog { // want newOrLog:"stores parameter 0 in orLog.w"
	if f == nil {
		f = logFile
	}
	return &orLog{w: bufio.NewWriter(f)}
}

func (l *orLog) flush() { l.w.Flush() } // want flush:"blocking: .* on an \\*os.File" flush:"stream field orLog.w"

var logFile, _ = os.Create("app.log")

// A flog embedded.
type slog2 struct{ *flog }

var gw *bufio.Writer

// publish hands the field on to a variable, which holds what the field
// holds in the receivers it was called on (the file of setup's).
func (l *flog) publish() { gw = l.w; gw.Flush() } // want publish:"stream field"

func setup(f *os.File) { newFlog(f).publish() } // want setup:"stream parameter 0" setup:"stream field flog.w"

// Two writers, the second on the first of another two.
type two struct{ a, b *bufio.Writer }

func newTwo(f *os.File, x *two) *two { // want newTwo:"stores parameter 0 in two.a, parameter 0 in two.b"
	return &two{a: bufio.NewWriter(f), b: bufio.NewWriter(io.MultiWriter(f, x.a))}
}

func (t *two) flushB() { t.b.Flush() } // want flushB:"blocking: .* on an \\*os.File" flushB:"stream field two.b"

// flushAll is given a flog of unknown make: its field holds the file
// its type says.
func flushAll(l *flog) { l.flush() } // want flushAll:"blocking: flushAll \\(params.go:\\d+\\) calls \\(\\*flog\\).flush \\(params.go:\\d+\\), which calls \\(\\*bufio.Writer\\).Flush on an \\*os.File" flushAll:"stream field"

func tasks(ctx context.Context, conn net.Conn, f *os.File) { // want tasks:"stores parameter 2 in asLog.w"
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		readCmd(bufio.NewReader(conn))     // want `^blocks the event loop: calls readCmd \(params\.go:\d+\), which calls \(\*bufio\.Reader\)\.ReadString on a net\.Conn; move it into runtime\.ToThread$`
		drain(f)                           // want `^blocks the event loop: calls drain \(params\.go:\d+\), which calls io\.ReadAll on an \*os\.File; `
		drain(os.Stdin)                    // want `calls io\.ReadAll on an \*os\.File`
		handle(conn)                       // want `^blocks the event loop: calls handle \(params\.go:\d+\), which calls drain \(params\.go:\d+\), which calls io\.ReadAll on a net\.Conn; `
		send(conn, "x")                    // want `calls fmt\.Fprint on a net\.Conn`
		serve(conn)                        // want `calls serve \(params\.go:\d+\), which calls drain`
		paramlib.ReadLine(conn)            // want `^blocks the event loop: calls paramlib\.ReadLine \(paramlib\.go:11\), which calls \(\*bufio\.Reader\)\.ReadString on a net\.Conn; `
		paramlib.Relay(os.Stdout, conn)    // want `calls paramlib\.Relay \(paramlib\.go:17\), which calls paramlib\.ReadLine \(paramlib\.go:11\), which calls \(\*bufio\.Reader\)\.ReadString on a net\.Conn`
		paramlib.Relay(conn, os.Stdin)     // want `calls paramlib\.Relay \(paramlib\.go:18\), which calls io\.WriteString on a net\.Conn`
		readCmd(bufio.NewReader(os.Stdin)) // want `ReadString on an \*os\.File`
		replaced(conn, "")                 // want `calls replaced \(params\.go:\d+\), which calls io\.ReadAll on a net\.Conn`
		wrapped(conn)                      // want `calls wrapped \(params\.go:\d+\), which calls io\.ReadAll on a net\.Conn`
		render(f, 1)                       // want `calls render \(params\.go:\d+\), which calls fmt\.Fprintf on an \*os\.File`
		flush(f)                           // want `calls flush \(params\.go:\d+\), which calls \(\*os\.File\)\.Sync on an \*os\.File`
		p := &peer{Conn: conn}
		io.ReadAll(p)          // want `^io\.ReadAll on a net\.Conn blocks`
		drain(p)               // want `calls drain \(params\.go:\d+\), which calls io\.ReadAll on a net\.Conn`
		peer.consume(*p, conn) // want `calls \(peer\)\.consume \(params\.go:\d+\), which calls io\.ReadAll on a net\.Conn`
		logTo("a", os.Stdout)  // want `calls logTo \(params\.go:\d+\), which calls \(\*os\.File\)\.Write`
		gzip.NewReader(conn)   // want `^gzip\.NewReader on a net\.Conn blocks`
		// A cycle of assignments: each holds the connection.
		var ra, rb io.Reader
		ra = rb
		ra = conn
		rb = ra
		io.ReadAll(ra) // want `^io\.ReadAll on a net\.Conn`
		io.ReadAll(rb) // want `^io\.ReadAll on a net\.Conn`
		newFlog(f)
		newFlog(f).flush() // want `calls \(\*flog\)\.flush \(params\.go:\d+\), which calls \(\*bufio\.Writer\)\.Flush on an \*os\.File`
		newFlog(f).close() // want `calls \(\*flog\)\.close \(params\.go:\d+\), which calls \(\*flog\)\.flush`
		lf := newFlog(f)
		lf.w.Flush() // want `^\(\*bufio\.Writer\)\.Flush on an \*os\.File blocks`
		flushAll(lf) // want `calls flushAll`
		ln := newSetLog(os.Stdout)
		ln.set(f)
		ln.flush() // want `calls \(\*setLog\)\.flush`
		la := newAsLog(os.Stdout)
		la.w = bufio.NewWriter(f)
		la.flush()                      // want `calls \(\*asLog\)\.flush`
		slog2{newFlog(f)}.flush()       // want `calls \(\*flog\)\.flush`
		(&slog2{newFlog(f)}).w.Flush()  // want `Flush on an \*os\.File`
		newOrLog(nil).flush()           // want `calls \(\*orLog\)\.flush`
		gw.Flush()                      // want `Flush on an \*os\.File`
		newTwo(os.Stdout, nil).flushB() // want `calls \(\*two\)\.flushB`
		// Not streams, or not on the loop, or not known: nothing to report.
		peer.consume(*p, &bytes.Buffer{})
		sum(nil)
		render(os.Stdout, 1)
		flush(os.Stderr)
		newLogger(f)
		slog.NewJSONHandler(f, nil)
		drain(strings.NewReader("x"))
		drain(&bytes.Buffer{})
		send(os.Stdout, "x")
		send(os.Stderr, "x")
		offLoop(ctx, conn)
		paramlib.Relay(os.Stdout, strings.NewReader("x"))
		newFlog(os.Stdout).flush()
		newFlog(os.Stderr).close()
		ls := newFlog(os.Stdout)
		ls.flush()
		ls.w.Flush()
		return 0, nil
	})
}

// A dlog holds the file it is given.
type dlog struct{ out *os.File }

func newDlog(out *os.File) *dlog { return &dlog{out: out} } // want newDlog:"stores parameter 0 in dlog.out"

func (l *dlog) log(s string) { l.out.WriteString(s) } // want log:"stream field dlog.out: \\(\\*dlog\\).log \\(params.go:\\d+\\) calls \\(\\*os.File\\).WriteString on the field"

func (l *dlog) logf(n int) { fmt.Fprintf(l.out, "%d", n) } // want logf:"stream field dlog.out: \\(\\*dlog\\).logf \\(params.go:\\d+\\) calls fmt.Fprintf on the field"

func dlogTasks(ctx context.Context, f *os.File, d *dlog) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		lg := newDlog(os.Stderr)
		lg.log("x")
		lg.logf(1)
		lg.out.WriteString("x")
		lf := newDlog(f)
		lf.log("x")                     // want `calls \(\*dlog\)\.log \(params\.go:\d+\), which calls \(\*os\.File\)\.WriteString on an \*os\.File`
		lf.logf(1)                      // want `calls fmt\.Fprintf on an \*os\.File`
		lf.out.WriteString("x")         // want `^\(\*os\.File\)\.WriteString on an \*os\.File blocks`
		d.log("x")                      // want `calls \(\*dlog\)\.log`
		newDlog(os.Stdin).out.Read(nil) // want `Read on an \*os\.File`
		return 0, nil
	})
}

// An rlog's file may be reopened: the package gives its field a file it
// cannot see, so every rlog may hold one.
type rlog struct{ out *os.File }

func newRlog(out *os.File) *rlog { return &rlog{out: out} } // want newRlog:"stores parameter 0 in rlog.out"

func (l *rlog) reopen(p string) { l.out, _ = os.Create(p) } // want reopen:"blocking: .* calls os.Create"

func (l *rlog) log(s string) { l.out.WriteString(s) } // want log:"blocking: \\(\\*rlog\\).log \\(params.go:\\d+\\) calls \\(\\*os.File\\).WriteString$"

// pipe reads a connection into the file: it blocks whatever the file.
func (l *dlog) pipe(c net.Conn) { l.out.ReadFrom(c) } // want pipe:"blocking: .* on a net.Conn" pipe:"stream field dlog.out"

func rlogTasks(ctx context.Context, conn net.Conn) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		r := newRlog(os.Stderr)
		r.reopen("x") // want `calls \(\*rlog\)\.reopen`
		r.log("y")    // want `calls \(\*rlog\)\.log`
		d := newDlog(os.Stdout)
		d.out.ReadFrom(conn) // want `^\(\*os\.File\)\.ReadFrom on a net\.Conn blocks`
		d.pipe(conn)         // want `calls \(\*dlog\)\.pipe \(params\.go:\d+\), which calls \(\*os\.File\)\.ReadFrom on a net\.Conn`
		return 0, nil
	})
}

// A wlog makes loggers like itself: With copies the file.
type wlog struct {
	out    *os.File
	prefix string
}

func newWlog(out *os.File) *wlog { return &wlog{out: out} } // want newWlog:"stores parameter 0 in wlog.out"

func (l *wlog) With(p string) *wlog { return &wlog{out: l.out, prefix: p} }

func (l *wlog) log(s string) { l.out.WriteString(l.prefix + s) } // want log:"stream field wlog.out"

func wlogTasks(ctx context.Context, f *os.File) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		newWlog(os.Stderr).log("x")
		newWlog(f).log("x")                   // want `calls \(\*wlog\)\.log`
		newWlog(os.Stderr).With("a").log("x") // want `calls \(\*wlog\)\.log`
		return 0, nil
	})
}
