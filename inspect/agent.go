package inspect

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

// Options configures an Agent. The zero Options listens in DefaultDir and
// allows cancels.
type Options struct {
	// Dir is the directory of the socket, <Dir>/<pid>.sock. Empty means
	// DefaultDir(): $TASKDUMP_DIR, else $XDG_RUNTIME_DIR/taskdump, else
	// <temp dir>/taskdump-<uid>.
	Dir string
	// ReadOnly refuses what would change the process (403, code
	// "read_only"): cancel requests, and CPU profiles (while one runs, the
	// program's own pprof.StartCPUProfile fails).
	ReadOnly bool
	// FlightRecorder is how much of the recent past the Agent's flight
	// recorder keeps: the watch stream (wire.PathWatch) at one message a
	// second, served at wire.PathFlight (taskdump record --flight). Zero
	// means 30s; negative turns the recorder off. It keeps at most 32 MiB
	// of messages, plus the state before the oldest (a copy of each live
	// task's record), and costs one goroutine and one walk of what changed
	// per second, less often on a loop so busy that a walk costs over 10ms
	// (it spends at most about 1% of a core). A Handler has none.
	FlightRecorder time.Duration
	// FlightOnBlock, if not empty, is a directory (it must exist) where
	// the flight recorder writes what it holds when it sees a step block
	// a loop: a recording, as taskdump record --flight writes it, named
	// taskdump-flight-<pid>-<UTC time>.jsonl.gz (mode 0600), at most one a
	// minute. Errors writing it are dropped.
	FlightOnBlock string
}

// Limits of the agent. Requests beyond them get a JSON error; nothing the
// peer sends can make the agent hold more than these, and no client can
// keep the others waiting for long.
const (
	maxConns       = 64               // open connections; at the limit, the longest idle one is closed for a newcomer
	maxInFlight    = 4                // requests being answered at once
	maxQueueWait   = 10 * time.Second // how long a request waits for a slot before 503
	maxBodyBytes   = 64 << 10         // request body
	maxHeaderBytes = 16 << 10         // request line and headers
	maxSocketPath  = 107              // sun_path holds 108 bytes with the NUL
	maxWriteStall  = 2 * time.Second  // a write to a peer that reads nothing for this long drops it
	closeGrace     = time.Second      // how long Close waits for the streams' last messages
	idleTimeout    = 5 * time.Second  // a kept-alive connection with no request for this long is closed
	newConnGrace   = time.Second      // a new connection that has sent nothing is not closed for a newcomer before this
)

// Agent serves the inspect protocol on a Unix socket. Create one with
// Listen; the zero Agent is not usable. Its methods are safe from any
// goroutine.
type Agent struct {
	path  string
	ln    *limitListener
	srv   *http.Server
	h     *handler
	done  chan struct{}
	close sync.Once
	err   error
}

// Listen starts an agent for every loop of this process on
// <Dir>/<pid>.sock and returns at once; requests are served on goroutines
// of their own and never wait for a loop. A stale socket left at that path
// by a dead process with the same pid is replaced. A missing directory is
// created with mode 0700; an existing one is never changed, and is refused
// unless it is this user's and closed to group and others. The socket gets
// mode 0600. An idle agent costs one goroutine blocked in accept, and its
// flight recorder (Options.FlightRecorder) one more, awake once a second.
func Listen(opts Options) (*Agent, error) {
	dir := opts.Dir
	if dir == "" {
		dir = DefaultDir()
	}
	path := SocketPath(dir, os.Getpid())
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("inspect: socket path %s is %d bytes, over the %d a Unix socket allows; set %s to a shorter directory",
			path, len(path), maxSocketPath, EnvDir)
	}
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	if _, err := removeStale(path); err != nil {
		return nil, err
	}
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("inspect: an agent of this process already listens on %s: %w", path, err)
		}
		return nil, fmt.Errorf("inspect: listen: %w", err)
	}
	ul.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		ul.Close()
		os.Remove(path)
		return nil, fmt.Errorf("inspect: socket permissions: %w", err)
	}
	a := &Agent{path: path, done: make(chan struct{})}
	a.ln = newLimitListener(ul, maxConns)
	a.h = newHandler(opts, true)
	a.srv = &http.Server{
		Handler:           a.h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// A backstop: every write of the handler sets its own deadline
		// of maxWriteStall (stallWriter).
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    idleTimeout,
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       log.New(io.Discard, "", 0),
		ConnContext:    connContext,
		ConnState:      a.ln.connState,
	}
	if opts.FlightRecorder >= 0 {
		a.h.watch.startFlight(cmp.Or(opts.FlightRecorder, flightDefault), opts.FlightOnBlock)
	}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.err = fmt.Errorf("inspect: serve: %w", err)
		}
	}()
	return a, nil
}

// Path returns the socket's path.
func (a *Agent) Path() string { return a.path }

// Close stops the agent. Each open stream (taskdump top, record) first gets
// a last message, so that it sees how the program's last tasks and loops
// ended; Close waits for those, and for other requests in progress, about
// a second at most. It then closes the socket and every open connection,
// waits for the requests still in progress to end (closing their
// connections makes them end quickly) and for the serving goroutine to
// exit, and removes the socket file. Calling it again does
// nothing and returns the same error.
func (a *Agent) Close() error {
	a.close.Do(func() {
		start := time.Now()
		a.h.watch.closeStreams(closeGrace)
		// Shutdown lets each stream's last message end as a whole
		// response (net/http writes its end after the handler returns)
		// and closes the idle connections; Close then cuts what is still
		// busy past the grace.
		ctx, cancel := context.WithTimeout(context.Background(), max(closeGrace-time.Since(start), 100*time.Millisecond))
		err := a.srv.Shutdown(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			err = nil
		}
		if cerr := a.srv.Close(); err == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
		<-a.done
		a.h.shut()
		a.h.watch.stopFlight()
		if rerr := os.Remove(a.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = rerr
		}
		if err == nil {
			err = a.err
		}
		if err != nil {
			a.err = fmt.Errorf("inspect: close: %w", err)
		}
	})
	return a.err
}

// peerKey is the context key of the peer's credentials.
type peerKey struct{}

// Peer is the process at the other end of a Unix socket connection, as
// SO_PEERCRED reports it.
type Peer struct {
	PID int
	UID int
	GID int
}

// connContext records the peer's credentials for the handler.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitConn); ok {
		c = lc.Conn
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	p, err := peerCred(uc)
	if err != nil {
		// Unknown peer: record an impossible uid so that it is refused.
		return context.WithValue(ctx, peerKey{}, Peer{PID: -1, UID: -1, GID: -1})
	}
	return context.WithValue(ctx, peerKey{}, p)
}

// PeerFromContext returns the credentials of the peer of a request served
// by an Agent (false when the handler is mounted on another server).
func PeerFromContext(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}

// allowedUID reports whether a peer with uid may talk to an agent running
// as self: the same user, or root.
func allowedUID(uid, self int) bool {
	return uid >= 0 && (uid == self || uid == 0)
}

// limitListener bounds the number of open connections. At the limit it
// makes room for a newcomer by closing the connection idle the longest (a
// kept-alive one between requests, or a new one that has sent nothing for
// newConnGrace), so that idle connections cannot lock others out; only
// when every connection is busy does Accept wait for one to end.
type limitListener struct {
	net.Listener
	sem  chan struct{}
	done chan struct{}
	once sync.Once
	// idle is signalled when a connection becomes idle or new.
	idle  chan struct{}
	mu    sync.Mutex
	conns map[*limitConn]struct{}
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{}),
		idle: make(chan struct{}, 1), conns: make(map[*limitConn]struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	var tick *time.Ticker
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	for {
		select {
		case l.sem <- struct{}{}:
			return l.accept()
		case <-l.done:
			return nil, net.ErrClosed
		default:
		}
		if l.evict() {
			continue
		}
		if tick == nil {
			tick = time.NewTicker(newConnGrace / 2)
		}
		select {
		case l.sem <- struct{}{}:
			return l.accept()
		case <-l.idle:
		case <-tick.C:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
}

// accept accepts one connection; the caller holds a slot.
func (l *limitListener) accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	lc := &limitConn{Conn: c, l: l, state: http.StateNew, since: time.Now()}
	l.mu.Lock()
	l.conns[lc] = struct{}{}
	l.mu.Unlock()
	return lc, nil
}

// evict closes the connection idle the longest, if one may be closed.
func (l *limitListener) evict() bool {
	now := time.Now()
	var victim *limitConn
	l.mu.Lock()
	for c := range l.conns {
		ok := c.state == http.StateIdle || (c.state == http.StateNew && now.Sub(c.since) >= newConnGrace)
		if ok && (victim == nil || c.since.Before(victim.since)) {
			victim = c
		}
	}
	l.mu.Unlock()
	if victim == nil {
		return false
	}
	victim.Close()
	return true
}

// connState is the server's ConnState hook: it records when each
// connection became idle.
func (l *limitListener) connState(c net.Conn, s http.ConnState) {
	lc, ok := c.(*limitConn)
	if !ok {
		return
	}
	l.mu.Lock()
	lc.state, lc.since = s, time.Now()
	l.mu.Unlock()
	if s == http.StateIdle || s == http.StateNew {
		select {
		case l.idle <- struct{}{}:
		default:
		}
	}
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn is a connection of a limitListener. It also turns the plain
// text answers that net/http writes itself, before any handler runs (400
// for a malformed request, 431 for headers over the limit, 505 for an
// unknown HTTP version, 501 for an unknown transfer encoding), into JSON
// errors like the handler's.
type limitConn struct {
	net.Conn
	l     *limitListener
	once  sync.Once
	state http.ConnState // guarded by l.mu
	since time.Time      // guarded by l.mu
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
		<-c.l.sem
	})
	return err
}

// Write passes p on, unless p is one of net/http's own plain text error
// answers: those it writes as JSON.
func (c *limitConn) Write(p []byte) (int, error) {
	if msg, ok := jsonServerError(p); ok {
		if _, err := c.Conn.Write(msg); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// serverErrorHeaders are the headers of the answers net/http writes itself
// (net/http/server.go, conn.serve), in one Write each.
const serverErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// jsonServerError returns the JSON version of one of net/http's own error
// answers, or false if p is not one. The handler never answers text/plain,
// so the headers tell them apart.
func jsonServerError(p []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !ok || len(rest) < 3 {
		return nil, false
	}
	_, text, ok := bytes.Cut(rest, []byte(serverErrorHeaders))
	if !ok {
		return nil, false
	}
	status, err := strconv.Atoi(string(rest[:3]))
	if err != nil || status < 400 {
		return nil, false
	}
	e := wire.Error{Code: wire.CodeBadRequest}
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		e.Code = wire.CodeTooLarge
		e.Message = fmt.Sprintf("inspect: request line and headers over %d KiB", maxHeaderBytes>>10)
	case http.StatusNotImplemented:
		e.Message = "inspect: bad request: unsupported transfer encoding"
	default:
		// "400 Bad Request: malformed Host header", or "400 Bad Request".
		detail := string(text)
		if _, d, ok := strings.Cut(detail, ": "); ok {
			detail = d
		} else {
			detail = "malformed HTTP request"
		}
		e.Message = "inspect: bad request: " + detail
	}
	body, _ := json.Marshal(e)
	body = append(body, '\n')
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: %d\r\n\r\n",
		status, http.StatusText(status), len(body))
	return append([]byte(head), body...), true
}
