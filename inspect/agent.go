package inspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
)

// Options configures an Agent. The zero Options listens in DefaultDir and
// allows cancels.
type Options struct {
	// Dir is the directory of the socket, <Dir>/<pid>.sock. Empty means
	// DefaultDir(): $TASKDUMP_DIR, else $XDG_RUNTIME_DIR/taskdump, else
	// <temp dir>/taskdump-<uid>.
	Dir string
	// ReadOnly refuses cancel requests (403, code "read_only").
	ReadOnly bool
}

// Limits of the agent. Requests beyond them get a JSON error; nothing the
// peer sends can make the agent hold more than these.
const (
	maxConns       = 64               // open connections; more wait in the listen backlog
	maxInFlight    = 4                // requests being answered at once
	maxQueueWait   = 10 * time.Second // how long a request waits for a slot before 503
	maxBodyBytes   = 64 << 10         // request body
	maxHeaderBytes = 16 << 10         // request line and headers
	maxSocketPath  = 107              // sun_path holds 108 bytes with the NUL
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
// by a dead process with the same pid is replaced. The directory is created
// with mode 0700 and the socket gets mode 0600. An idle agent costs one
// goroutine blocked in accept.
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
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       10 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnContext:       connContext,
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

// Close stops the agent: it closes the socket and every open connection,
// waits for the requests in progress to end (closing their connections
// makes them end quickly) and for the serving goroutine to exit, and
// removes the socket file. Calling it again does nothing and returns the
// same error.
func (a *Agent) Close() error {
	a.close.Do(func() {
		err := a.srv.Close()
		<-a.done
		a.h.shut()
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

// withFD runs get on the connection's file descriptor; peerCred (one per
// system) reads the peer's credentials through it.
func withFD(uc *net.UnixConn, get func(fd int) error) error {
	rc, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var gerr error
	if err := rc.Control(func(fd uintptr) { gerr = get(int(fd)) }); err != nil {
		return err
	}
	return gerr
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

// limitListener bounds the number of open connections: Accept waits for
// one to close when maxConns are open.
type limitListener struct {
	net.Listener
	sem  chan struct{}
	done chan struct{}
	once sync.Once
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
