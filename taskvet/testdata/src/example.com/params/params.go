// Package params hands connections and files to functions that read or
// write their parameters, in task code.
package params

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"example.com/paramlib"
	"github.com/taskdump/taskdump/runtime"
)

func readCmd(r *bufio.Reader) (string, error) { // want readCmd:"stream parameter 0: readCmd \\(params.go:20\\) calls \\(\\*bufio.Reader\\).ReadString on its parameter"
	return r.ReadString('\n')
}

func drain(r io.Reader) { // want drain:"stream parameter 0: drain \\(params.go:24\\) calls io.ReadAll on its parameter"
	io.ReadAll(r)
}

// handle hands its parameter on.
func handle(r io.Reader) { // want handle:"stream parameter 0: handle \\(params.go:29\\) calls drain \\(params.go:24\\), which calls io.ReadAll on its parameter"
	drain(r)
}

func send(w io.Writer, msg string) { // want send:"stream parameter 0: send \\(params.go:33\\) calls fmt.Fprint on its parameter"
	fmt.Fprint(w, msg)
}

// wrapped reads its parameter through a wrapper it assigns it.
func wrapped(r io.Reader) { // want wrapped:"stream parameter 0: wrapped \\(params.go:39\\) calls io.ReadAll on its parameter"
	r = bufio.NewReader(r)
	io.ReadAll(r)
}

// replaced may read something else than its parameter.
func replaced(r io.Reader, s string) {
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
func serve(c net.Conn) { // want serve:"blocking: serve \\(params.go:61\\) calls drain \\(params.go:24\\), which calls io.ReadAll on a net.Conn"
	drain(c)
}

func tasks(ctx context.Context, conn net.Conn, f *os.File) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		readCmd(bufio.NewReader(conn))     // want `^blocks the event loop: calls readCmd \(params\.go:20\), which calls \(\*bufio\.Reader\)\.ReadString on a net\.Conn; move it into runtime\.ToThread$`
		drain(f)                           // want `^blocks the event loop: calls drain \(params\.go:24\), which calls io\.ReadAll on an \*os\.File; `
		drain(os.Stdin)                    // want `calls io\.ReadAll on an \*os\.File`
		handle(conn)                       // want `^blocks the event loop: calls handle \(params\.go:29\), which calls drain \(params\.go:24\), which calls io\.ReadAll on a net\.Conn; `
		send(conn, "x")                    // want `calls fmt\.Fprint on a net\.Conn`
		serve(conn)                        // want `calls serve \(params\.go:61\), which calls drain`
		paramlib.ReadLine(conn)            // want `^blocks the event loop: calls paramlib\.ReadLine \(paramlib\.go:11\), which calls \(\*bufio\.Reader\)\.ReadString on a net\.Conn; `
		paramlib.Relay(os.Stdout, conn)    // want `calls paramlib\.Relay \(paramlib\.go:17\), which calls paramlib\.ReadLine \(paramlib\.go:11\), which calls \(\*bufio\.Reader\)\.ReadString on a net\.Conn`
		paramlib.Relay(conn, os.Stdin)     // want `calls paramlib\.Relay \(paramlib\.go:18\), which calls io\.WriteString on a net\.Conn`
		readCmd(bufio.NewReader(os.Stdin)) // want `ReadString on an \*os\.File`
		wrapped(conn)                      // want `calls wrapped \(params\.go:39\), which calls io\.ReadAll on a net\.Conn`
		// Not streams, or not on the loop, or not known: nothing to report.
		replaced(conn, "")
		drain(strings.NewReader("x"))
		drain(&bytes.Buffer{})
		send(os.Stdout, "x")
		send(os.Stderr, "x")
		offLoop(ctx, conn)
		paramlib.Relay(os.Stdout, strings.NewReader("x"))
		return 0, nil
	})
}
