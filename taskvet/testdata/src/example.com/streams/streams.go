// Package streams reads and writes connections and files through the // want package:"user package"
// standard library's readers and writers in task code.
package streams

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

type conf struct{ conn net.Conn }

// A wrapped response embeds the standard one, as API clients' do.
type wrapped struct{ *http.Response }

type respAlias = *http.Response

// A session keeps its reader and writer in fields, as servers do.
type session struct {
	r   *bufio.Reader
	w   *bufio.Writer
	out io.Writer
}

func newSession(c net.Conn) *session {
	return &session{r: bufio.NewReader(c), w: bufio.NewWriter(c), out: os.Stdout}
}

var logOut = os.Stderr

// A logger writes to standard error, or to a child's copy of its parent's
// writer.
type logger struct{ out io.Writer }

func (l *logger) child() *logger { return &logger{out: l.out} }

var root = &logger{out: os.Stderr}

// A dup holds a file the package never names: copies of itself only.
type dup struct{ f *os.File }

func (d *dup) clone() *dup { return &dup{f: d.f} }

// output writes to standard output, or to a file when a path is given.
func output(path string) { // want output:"blocking"
	out := os.Stdout
	var err error
	if path != "" {
		out, err = os.Create(path)
	}
	_ = err
	runtime.Spawn(context.Background(), func(ctx context.Context) (int, error) {
		fmt.Fprintln(out, "x") // want `^fmt\.Fprintln on an \*os\.File blocks`
		out.Write(nil)         // want `^\(\*os\.File\)\.Write blocks`
		return 0, nil
	})
}

func streams(ctx context.Context, conn net.Conn, tc *net.TCPConn, f *os.File, cf conf, r io.Reader) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		io.ReadAll(conn)                 // want `^io\.ReadAll on a net\.Conn blocks the event loop; move it into runtime\.ToThread$`
		io.Copy(os.Stdout, tc)           // want `^io\.Copy on a \*net\.TCPConn blocks`
		io.ReadFull(f, nil)              // want `^io\.ReadFull on an \*os\.File blocks`
		fmt.Fprintf(conn, "x")           // want `^fmt\.Fprintf on a net\.Conn blocks`
		fmt.Fprintln(cf.conn, "x")       // want `^fmt\.Fprintln on a net\.Conn blocks`
		fmt.Fprintln(os.Stderr, "x")     // silent: standard error, as log writes it
		fmt.Sprint(conn)                 // silent: formatting, not writing
		br := bufio.NewReader(conn)      // silent: building a reader
		br.ReadString('\n')              // want `^\(\*bufio\.Reader\)\.ReadString on a net\.Conn blocks`
		br.Buffered()                    // silent
		sc := bufio.NewScanner(os.Stdin) // silent
		for sc.Scan() {                  // want `^\(\*bufio\.Scanner\)\.Scan on an \*os\.File blocks`
			_ = sc.Text() // silent
		}
		var v any
		json.NewDecoder(conn).Decode(&v) // want `^\(\*json\.Decoder\)\.Decode on a net\.Conn blocks`
		json.NewEncoder(f).Encode(v)     // want `^\(\*json\.Encoder\)\.Encode on an \*os\.File blocks`
		w := bufio.NewWriter(io.MultiWriter(conn, os.Stdout))
		w.WriteString("x") // want `^\(\*bufio\.Writer\)\.WriteString on a net\.Conn blocks`
		w.Flush()          // want `^\(\*bufio\.Writer\)\.Flush on a net\.Conn blocks`
		var rd io.Reader = bufio.NewReader(io.LimitReader(conn, 10))
		rd.Read(nil) // want `^\(io\.Reader\)\.Read on a net\.Conn blocks`
		var buf bytes.Buffer
		buf.ReadFrom(conn)                 // want `^\(\*bytes\.Buffer\)\.ReadFrom on a net\.Conn blocks`
		http.ReadRequest(br)               // want `^http\.ReadRequest on a net\.Conn blocks`
		io.ReadAll(r)                      // silent: any reader
		io.ReadAll(strings.NewReader("x")) // silent: in memory
		buf.WriteString("x")               // silent
		conn.SetDeadline(time.Time{})      // silent
		s := newSession(conn)
		s.r.ReadString('\n')     // want `^\(\*bufio\.Reader\)\.ReadString on a net\.Conn blocks`
		s.w.Flush()              // want `^\(\*bufio\.Writer\)\.Flush on a net\.Conn blocks`
		fmt.Fprintln(s.out, "x") // silent: standard output, through a field
		out := os.Stdout
		fmt.Fprintln(out, "x")                           // silent: through a variable
		bufio.NewWriter(logOut).Flush()                  // silent: standard error, through a package variable
		os.Stdout.WriteString("x")                       // silent, as fmt.Println is
		os.Stdout.ReadFrom(conn)                         // want `^\(\*os\.File\)\.ReadFrom blocks`
		fmt.Fprintln(root.child().out, "x")              // silent: standard error, copied from a parent
		os.Stderr.Sync()                                 // silent: a logger's flush
		(&dup{}).clone().f.Write(nil)                    // want `^\(\*os\.File\)\.Write on an \*os\.File blocks`
		tls.Client(conn, nil)                            // silent: the handshake comes with the first read or write
		http.NewRequest("POST", "http://example.com", f) // silent: the body is read when the request is sent
		resp, _ := runtime.ToThread(ctx, func() (*http.Response, error) { return http.Get("http://example.com") })
		io.ReadAll(resp.Body)                  // want `^io\.ReadAll on an HTTP response body blocks`
		resp.Body.Read(nil)                    // want `^\(io\.Reader\)\.Read on an HTTP response body blocks`
		json.NewDecoder(resp.Body).Decode(nil) // want `^\(\*json\.Decoder\)\.Decode on an HTTP response body blocks`
		body := resp.Body
		io.Copy(io.Discard, body) // want `^io\.Copy on an HTTP response body blocks`
		resp.Body.Close()         // silent: closing is not reading
		wr := wrapped{resp}
		io.ReadAll(wr.Body) // want `^io\.ReadAll on an HTTP response body blocks`
		var ra respAlias = resp
		io.ReadAll(ra.Body) // want `^io\.ReadAll on an HTTP response body blocks`
		req, _ := http.NewRequest("GET", "http://example.com", nil)
		io.ReadAll(req.Body) // silent: a client's request body is what it was given
		return 0, nil
	})
}

// readLine blocks through its reader: a task that calls it is reported
// with the chain.
func readLine(c net.Conn) (string, error) { // want readLine:`^blocking: readLine \(streams\.go:\d+\) calls \(\*bufio\.Reader\)\.ReadString on a net\.Conn$`
	return bufio.NewReader(c).ReadString('\n')
}

func chained(ctx context.Context, conn net.Conn) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		_, err := readLine(conn) // want `^blocks the event loop: calls readLine \(streams\.go:\d+\), which calls \(\*bufio\.Reader\)\.ReadString on a net\.Conn; move it into runtime\.ToThread$`
		return 0, err
	})
}
