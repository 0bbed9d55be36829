package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/taskdump/taskdump/inspect/internal/peercred"
	"github.com/taskdump/taskdump/inspect/internal/sockdir"
	"github.com/taskdump/taskdump/inspect/wire"
)

// Errors a Client returns, wrapped; test with errors.Is.
var (
	ErrNoProcess  = errors.New("no such process")
	ErrNoAgent    = errors.New("no agent in that process")
	ErrPermission = errors.New("permission denied")
	ErrNoTask     = errors.New("no such task")
	ErrFinished   = errors.New("task already finished")
	ErrReadOnly   = errors.New("agent is read-only")
)

// APIError is an error answer of the agent: its HTTP status, code and
// message. errors.Is maps codes to ErrNoTask, ErrFinished, ErrPermission
// and ErrReadOnly.
type APIError struct {
	Status  int
	Code    string
	Message string
}

// Error returns the agent's message ("client: no such task 7").
func (e *APIError) Error() string { return e.Message }

// Is reports whether the error's code is the one target stands for.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNoTask:
		return e.Code == wire.CodeNoSuchTask
	case ErrFinished:
		return e.Code == wire.CodeFinished
	case ErrPermission:
		return e.Code == wire.CodePermission
	case ErrReadOnly:
		return e.Code == wire.CodeReadOnly
	}
	return false
}

// Client talks to the agent of one process. Create one with Dial or
// DialPath; the zero Client is not usable. Its methods are safe from any
// goroutine and each costs one HTTP request over the Unix socket (the
// connection is kept alive between calls). Every connection it makes is
// checked as Dial describes before anything is sent, and every answer it
// reads is bounded (see MaxListBytes).
type Client struct {
	t  target
	hc *http.Client
	tr *http.Transport
	// Bounds of what one answer may hold; tests lower them.
	maxList, maxSmall, maxCopy int64
}

// Bounds of what a Client reads from one answer; past them it stops
// reading and returns an error wrapping ErrTooLarge. A real agent sends
// about 830 bytes per task without stacks (TestTaskRecordSize measures 830
// for a named task waiting on a queue, frame kinds and the structured wait
// included), so MaxListBytes holds the list of 1,000,000 tasks with a
// third to spare, while a hostile server cannot make the client hold more
// than that (reading it and decoding it costs about twice as much memory).
const (
	// MaxListBytes bounds an answer that is decoded in memory and grows
	// with the number of tasks: Tasks, History, Tree, Snapshot, Profile.
	MaxListBytes = 5 << 28 // 1.25 GiB
	// MaxSmallBytes bounds the other answers (Process, Loops, Task, Stack,
	// Cancel, Blocking) and error answers.
	MaxSmallBytes = 64 << 20
	// MaxCopyBytes bounds WriteTasks, WriteTree and WriteSnapshot, which
	// copy the answer to a writer without holding it: room for 1,000,000
	// tasks with their stacks.
	MaxCopyBytes = 8 << 30
)

// ErrTooLarge is wrapped by the error about an answer larger than the
// client reads.
var ErrTooLarge = errors.New("answer too large")

// ErrTimeout is wrapped by the error about an agent that did not answer
// before the context's deadline; errors.Is(err, context.DeadlineExceeded)
// holds too.
var ErrTimeout = errors.New("timed out")

// Dial connects to the agent of process pid. It looks for the socket in
// the directory WithDir names or, without it, in DefaultDir and, if
// $TASKDUMP_DIR is not set, in the default directories of the user the
// process runs as (so root can attach to other users' processes).
//
// Dial trusts a socket only in a directory that belongs to the caller, to
// root or to the process's user and that neither group nor others may
// write, and only a server that runs as the process's user (on Linux, that
// is process pid itself); before sending anything, it refuses any other
// with an error wrapping ErrUntrusted. Errors wrap ErrNoProcess, ErrNoAgent
// (saying which directories were searched), ErrPermission, ErrUntrusted or
// ErrBadDir. A socket pid left behind (it died, or it lives without an
// agent) is removed when nothing listens on it.
func Dial(pid int, opts ...Option) (*Client, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	check := CheckEnvDir
	if cfg.dir != "" {
		check = func() error { return CheckDir(cfg.dir) }
	}
	if err := check(); err != nil {
		return nil, err
	}
	if !peercred.ProcessAlive(pid) {
		// A socket the dead process left behind goes (if nothing listens
		// on it), as Scan removes the stale sockets it meets.
		_, _ = sockdir.RemoveStale(sockdir.SocketPath(cfg.dir, pid))
		return nil, fmt.Errorf("client: %w %d", ErrNoProcess, pid)
	}
	cands := []string{sockdir.SocketPath(cfg.dir, pid)}
	if cfg.dir == "" && os.Getenv(EnvDir) == "" {
		if uid, err := peercred.ProcessUID(pid); err == nil && uid != os.Geteuid() {
			for _, p := range []string{
				sockdir.SocketPath(sockdir.UserDir(uid, "/run/user/"+strconv.Itoa(uid)), pid),
				sockdir.SocketPath(sockdir.UserDir(uid, ""), pid),
			} {
				if p != cands[0] {
					cands = append(cands, p)
				}
			}
		}
	}
	var firstErr error
	for _, p := range cands {
		if _, err := os.Lstat(p); err != nil {
			if errors.Is(err, fs.ErrPermission) && firstErr == nil {
				firstErr = fmt.Errorf("client: %w: %s", ErrPermission, p)
			}
			continue
		}
		t, err := newTarget(p, pid)
		if err != nil {
			return nil, err
		}
		c, err := dialTarget(t)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, ErrNoAgent) {
			_, _ = sockdir.RemoveStale(p) // best effort: the error says there is no agent
		}
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	dirs := make([]string, len(cands))
	for i, p := range cands {
		dirs[i] = filepath.Dir(p)
	}
	return nil, fmt.Errorf("client: %w %d: no %d.sock in %s; if the program sees another $XDG_RUNTIME_DIR, $TMPDIR or $%s, give its directory with --dir or %s, else it must call inspect.Listen",
		ErrNoAgent, pid, pid, strings.Join(dirs, " or "), EnvDir, EnvDir)
}

// DialPath connects to the agent listening on the socket at path. If the
// socket's name is <pid>.sock and that process exists, the socket and its
// server are checked as Dial checks them for that pid; otherwise the server
// must run as the caller (as the directory's owner when the caller is
// root), in a directory that belongs to the caller, to root or to that
// user and that neither group nor others may write. Errors wrap ErrNoAgent,
// ErrPermission or ErrUntrusted.
func DialPath(path string) (*Client, error) {
	if _, err := os.Lstat(path); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("client: %w: %s", ErrPermission, path)
		}
		return nil, fmt.Errorf("client: %w (nothing listens on %s)", ErrNoAgent, path)
	}
	t, err := newTarget(path, pidOfPath(path))
	if err != nil {
		return nil, err
	}
	return dialTarget(t)
}

// dialTarget makes a client for t after one checked connection.
func dialTarget(t target) (*Client, error) {
	c, err := t.dial()
	if err != nil {
		switch {
		case errors.Is(err, ErrUntrusted):
			return nil, err
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
			return nil, fmt.Errorf("client: %w: %s", ErrPermission, t.path)
		case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
			return nil, fmt.Errorf("client: %w (nothing listens on %s)", ErrNoAgent, t.path)
		}
		return nil, fmt.Errorf("client: dial %s: %w", t.path, err)
	}
	c.Close()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", t.path)
			if err != nil {
				return nil, err
			}
			if err := t.check(c); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		},
		MaxIdleConns:           2,
		IdleConnTimeout:        5 * time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &Client{t: t, tr: tr, hc: &http.Client{Transport: tr},
		maxList: MaxListBytes, maxSmall: MaxSmallBytes, maxCopy: MaxCopyBytes}, nil
}

// Path returns the socket path of the agent.
func (c *Client) Path() string { return c.t.path }

// Close releases the client's idle connections.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// request is one request in progress, for its errors.
type request struct {
	method, path string
	start        time.Time
}

// fail turns an error met while sending r or reading its answer into one
// line: what timed out after how long, or what failed.
func (r request) fail(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, ErrUntrusted), errors.Is(err, ErrTooLarge):
		return err
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return &timeoutError{what: r.method + " " + r.path, after: time.Since(r.start)}
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("client: %s %s: cancelled: %w", r.method, r.path, context.Canceled)
	}
	return fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
}

// timeoutError says which request timed out after how long.
type timeoutError struct {
	what  string
	after time.Duration
}

func (e *timeoutError) Error() string {
	d := e.after
	switch {
	case d >= time.Second:
		d = d.Round(100 * time.Millisecond)
	case d >= 10*time.Millisecond:
		d = d.Round(10 * time.Millisecond)
	case d >= time.Microsecond:
		d = d.Round(time.Microsecond) // a tiny --timeout: not "after 0s"
	}
	return fmt.Sprintf("client: timed out after %s waiting for the agent to answer %s", d, e.what)
}

// Is makes the error match ErrTimeout and context.DeadlineExceeded.
func (e *timeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// body is the answer to a request, bounded to max bytes.
type body struct {
	rc  io.ReadCloser
	r   request
	ctx context.Context
	max int64 // bytes left before the bound
	lim int64
}

func (b *body) Read(p []byte) (int, error) {
	if b.max <= 0 {
		// Tell a body that ends exactly at the bound from one that goes on.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		for n == 0 && err == nil {
			n, err = b.rc.Read(one[:])
		}
		if n == 0 {
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, b.r.fail(b.ctx, err)
		}
		return 0, fmt.Errorf("client: the answer to %s %s is over %s, more than the client reads (%w)",
			b.r.method, b.r.path, byteSize(b.lim), ErrTooLarge)
	}
	if int64(len(p)) > b.max {
		p = p[:b.max]
	}
	n, err := b.rc.Read(p)
	b.max -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		err = b.r.fail(b.ctx, err)
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }

// byteSize renders a bound: "1 GiB", "64 MiB".
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// do sends a request and returns the response body of a 2xx answer,
// bounded to max bytes; the caller closes it.
func (c *Client) do(ctx context.Context, method, p string, q url.Values, reqBody any, max int64) (io.ReadCloser, error) {
	r := request{method: method, path: p, start: time.Now()}
	u := "http://taskdump" + p
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if reqBody != nil {
		b, err := json.Marshal(reqBody)
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return nil, fmt.Errorf("client: %w (nothing listens on %s)", ErrNoAgent, c.t.path)
		}
		return nil, r.fail(ctx, err)
	}
	if resp.StatusCode/100 == 2 {
		return &body{rc: resp.Body, r: r, ctx: ctx, max: max, lim: max}, nil
	}
	defer resp.Body.Close()
	var we wire.Error
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &we) != nil || we.Message == "" {
		we.Message = fmt.Sprintf("client: %s %s: %s", method, p, resp.Status)
	}
	return nil, &APIError{Status: resp.StatusCode, Code: we.Code, Message: we.Message}
}

// get decodes the JSON answer to a GET of p, of at most max bytes.
func get[T any](ctx context.Context, c *Client, p string, q url.Values, max int64) (T, error) {
	return call[T](ctx, c, http.MethodGet, p, q, nil, max)
}

// read returns the whole body of a GET of p, of at most max bytes.
func (c *Client) read(ctx context.Context, p string, q url.Values, max int64) ([]byte, error) {
	rc, err := c.do(ctx, http.MethodGet, p, q, nil, max)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, readErr(p, err)
	}
	return data, nil
}

// readErr wraps an error met reading the answer to p, unless it already
// says everything.
func readErr(what string, err error) error {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrTimeout) || errors.Is(err, ErrUntrusted) {
		return err
	}
	return fmt.Errorf("client: reading %s: %w", what, err)
}

// copyTo copies the body of a GET of p to w as it comes, up to the first
// byte that no JSON document holds (jsonGuard); what names it in errors.
func (c *Client) copyTo(ctx context.Context, p string, q url.Values, w io.Writer, what string) error {
	rc, err := c.do(ctx, http.MethodGet, p, q, nil, c.maxCopy)
	if err != nil {
		return err
	}
	defer rc.Close()
	g := &jsonGuard{w: w}
	_, err = io.Copy(g, rc)
	if err == nil {
		err = g.finish()
	}
	if errors.Is(err, ErrNotJSON) {
		return fmt.Errorf("client: %s: %w", what, err)
	}
	if err != nil {
		return readErr(what, err)
	}
	return nil
}

// call sends a request with body as JSON (none if nil) and decodes the
// JSON answer, of at most max bytes.
func call[T any](ctx context.Context, c *Client, method, p string, q url.Values, body any, max int64) (T, error) {
	var v T
	rc, err := c.do(ctx, method, p, q, body, max)
	if err != nil {
		return v, err
	}
	defer rc.Close()
	if err := json.NewDecoder(bufio.NewReaderSize(rc, 64<<10)).Decode(&v); err != nil {
		if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrTimeout) {
			return v, err
		}
		return v, fmt.Errorf("client: decoding %s: %w", p, err)
	}
	return v, nil
}

// taskPath returns the path of task id's resource, followed by rest.
func taskPath(id uint64, rest string) string {
	return wire.PathTask + strconv.FormatUint(id, 10) + rest
}

// TaskFilter selects tasks. The zero TaskFilter selects every live task.
type TaskFilter struct {
	States    []string      // any of these states
	Name      string        // a path.Match glob on the task name
	OlderThan time.Duration // created longer ago than this
	// WaitingLongerThan selects tasks that have waited at their current
	// await (one suspension point) longer than this; a task that is not
	// waiting is left out.
	WaitingLongerThan time.Duration
	Loop              string // a loop's name or id
	Stacks            bool   // include each task's full stack
	// Fields limits each record to these wire.TaskFields (id is always
	// there); empty means all. Fewer fields make long lists cheaper.
	Fields []string
}

func (f TaskFilter) query() url.Values {
	q := url.Values{}
	if len(f.States) > 0 {
		q.Set("state", strings.Join(f.States, ","))
	}
	if f.Name != "" {
		q.Set("name", f.Name)
	}
	if f.OlderThan > 0 {
		q.Set("older_than", f.OlderThan.String())
	}
	if f.WaitingLongerThan > 0 {
		q.Set("waiting_longer_than", f.WaitingLongerThan.String())
	}
	if f.Loop != "" {
		q.Set("loop", f.Loop)
	}
	if f.Stacks {
		q.Set("stacks", "1")
	}
	if len(f.Fields) > 0 {
		q.Set("fields", strings.Join(f.Fields, ","))
	}
	return q
}

// Process returns the process's description and its loops.
func (c *Client) Process(ctx context.Context) (wire.Process, error) {
	return get[wire.Process](ctx, c, wire.PathProcess, nil, c.maxSmall)
}

// Loops returns the running loops.
func (c *Client) Loops(ctx context.Context) ([]wire.Loop, error) {
	return get[[]wire.Loop](ctx, c, wire.PathLoops, nil, c.maxSmall)
}

// Tasks returns the live tasks f selects, in loop order and creation order.
func (c *Client) Tasks(ctx context.Context, f TaskFilter) ([]wire.Task, error) {
	return c.taskList(ctx, wire.PathTasks, f.query())
}

// taskList reads a JSON array of tasks with wire.DecodeTasks.
func (c *Client) taskList(ctx context.Context, p string, q url.Values) ([]wire.Task, error) {
	data, err := c.read(ctx, p, q, c.maxList)
	if err != nil {
		return nil, err
	}
	ts, err := wire.DecodeTasks(data)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return ts, nil
}

// WriteTasks copies the JSON array of the tasks f selects to w as the agent
// sends it, without decoding it: the cheapest way to dump many tasks.
func (c *Client) WriteTasks(ctx context.Context, f TaskFilter, w io.Writer) error {
	return c.copyTo(ctx, wire.PathTasks, f.query(), w, "tasks")
}

// Task returns the record of task id: live, with its stack, or ended, from
// the history. The error wraps ErrNoTask if the agent knows no such task.
func (c *Client) Task(ctx context.Context, id uint64) (wire.Task, error) {
	return get[wire.Task](ctx, c, taskPath(id, ""), nil, c.maxSmall)
}

// Stack returns the stack of live task id: its suspension stack, or the
// live stack of its goroutine if it is running.
func (c *Client) Stack(ctx context.Context, id uint64) (wire.StackResult, error) {
	return get[wire.StackResult](ctx, c, taskPath(id, "/stack"), nil, c.maxSmall)
}

// Cancel requests cancellation of task id with a message. It returns as
// soon as the request is handed to the loop; the task ends later (see
// wire.CancelResult.LoopBlocked). Errors wrap ErrNoTask, ErrFinished or
// ErrReadOnly.
func (c *Client) Cancel(ctx context.Context, id uint64, msg string) (wire.CancelResult, error) {
	return call[wire.CancelResult](ctx, c, http.MethodPost, taskPath(id, "/cancel"), nil, wire.CancelRequest{Msg: msg}, c.maxSmall)
}

// Tree returns the await tree of the live tasks.
func (c *Client) Tree(ctx context.Context) (wire.Tree, error) {
	return get[wire.Tree](ctx, c, wire.PathTree, nil, c.maxList)
}

// WriteTree copies the JSON of the await tree (Tree's) to w as the agent
// sends it, without decoding it: every task, at the cost of a copy.
func (c *Client) WriteTree(ctx context.Context, w io.Writer) error {
	return c.copyTo(ctx, wire.PathTree, nil, w, "tree")
}

// FoldedTree is Tree with min or more identical siblings folded by the
// agent (wire.Collapse): far less to send and decode when many tasks are
// alike. An agent older than the fold query sends the whole tree: fold it
// again with wire.Collapse, which leaves a folded tree as it is.
func (c *Client) FoldedTree(ctx context.Context, min int) (wire.Tree, error) {
	return get[wire.Tree](ctx, c, wire.PathTree, url.Values{"fold": {strconv.Itoa(min)}}, c.maxList)
}

// Blocking returns the recent blocking events of every loop, oldest first,
// ongoing ones included.
func (c *Client) Blocking(ctx context.Context) ([]wire.BlockEvent, error) {
	return get[[]wire.BlockEvent](ctx, c, wire.PathBlocking, nil, c.maxSmall)
}

// Resources returns the awaitables of every loop (futures, events, locks,
// semaphores, queues, task groups, ToThread calls), loop by loop: who
// made each, who holds it and who waits on it.
func (c *Client) Resources(ctx context.Context) ([]wire.Resource, error) {
	return get[[]wire.Resource](ctx, c, wire.PathResources, nil, c.maxList)
}

// History returns the recently finished tasks of every loop, oldest first.
func (c *Client) History(ctx context.Context) ([]wire.Task, error) {
	return c.taskList(ctx, wire.PathHistory, nil)
}

// Snapshot returns everything the agent knows; stacks adds every task's
// full stack.
func (c *Client) Snapshot(ctx context.Context, stacks bool) (wire.Snapshot, error) {
	return get[wire.Snapshot](ctx, c, wire.PathSnapshot, snapshotQuery(stacks), c.maxList)
}

// WriteSnapshot copies the snapshot's JSON to w without decoding it.
func (c *Client) WriteSnapshot(ctx context.Context, stacks bool, w io.Writer) error {
	return c.copyTo(ctx, wire.PathSnapshot, snapshotQuery(stacks), w, "snapshot")
}

func snapshotQuery(stacks bool) url.Values {
	q := url.Values{}
	if stacks {
		q.Set("stacks", "1")
	}
	return q
}

// Doctor returns the agent's diagnosis of every loop: findings ranked worst
// first (wire.Diagnosis). stuckAfter is how long a wait, an ignored cancel
// or an idle loop lasts before it is a finding; 0 leaves the agent's
// default (10s).
func (c *Client) Doctor(ctx context.Context, stuckAfter time.Duration) (wire.Diagnosis, error) {
	q := url.Values{}
	if stuckAfter > 0 {
		q.Set("stuck_after", stuckAfter.String())
	}
	return get[wire.Diagnosis](ctx, c, wire.PathDoctor, q, c.maxList)
}

// Profile returns the gzipped pprof profile of the given kind,
// wire.ProfileTasks or wire.ProfileBlocking, ready for `go tool pprof` or
// profile.Parse. It costs the agent a snapshot of every loop with stacks
// (a few µs per task) and holds the whole profile in memory (about 100
// bytes per distinct stack and label set). An unknown kind is an
// *APIError with status 404.
func (c *Client) Profile(ctx context.Context, kind string) ([]byte, error) {
	return c.read(ctx, wire.PathProfile+url.PathEscape(kind), nil, c.maxList)
}

// CPUProfile returns the process's gzipped pprof CPU profile over d
// (whole seconds, 1 to wire.MaxCPUSeconds): the answer comes after d, so
// ctx must allow for it. Samples taken in a task carry the labels task.id,
// task.name and loop (go tool pprof -tagfocus task.name=NAME). While
// another CPU profile runs in the process, the agent answers an *APIError
// with code busy.
func (c *Client) CPUProfile(ctx context.Context, d time.Duration) ([]byte, error) {
	q := url.Values{"seconds": {strconv.Itoa(int(d / time.Second))}}
	return c.read(ctx, wire.PathProfile+wire.ProfileCPU, q, c.maxList)
}
