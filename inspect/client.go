package inspect

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
	"strconv"
	"strings"
	"syscall"
	"time"

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

// Error returns the agent's message ("inspect: no such task 7").
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
// connection is kept alive between calls).
type Client struct {
	path string
	hc   *http.Client
	tr   *http.Transport
}

func dialUnix(path string) (net.Conn, error) {
	return net.DialTimeout("unix", path, 5*time.Second)
}

// Dial connects to the agent of process pid. It looks for the socket in
// DefaultDir and, if $TASKDUMP_DIR is not set, in the default directory of
// the user the process runs as (so root can attach to other users'
// processes). Errors wrap ErrNoProcess, ErrNoAgent or ErrPermission. A
// socket left by a dead incarnation of pid is removed.
func Dial(pid int) (*Client, error) {
	if !processAlive(pid) {
		return nil, fmt.Errorf("inspect: %w %d", ErrNoProcess, pid)
	}
	cands := []string{SocketPath("", pid)}
	if os.Getenv(EnvDir) == "" {
		if fi, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
				uid := int(st.Uid)
				cands = append(cands,
					SocketPath(userDir(uid, "/run/user/"+strconv.Itoa(uid)), pid),
					SocketPath(userDir(uid, ""), pid))
			}
		}
	}
	var firstErr error
	for _, p := range cands {
		if _, err := os.Lstat(p); err != nil {
			if errors.Is(err, fs.ErrPermission) && firstErr == nil {
				firstErr = fmt.Errorf("inspect: %w: %s", ErrPermission, p)
			}
			continue
		}
		c, err := DialPath(p)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, ErrNoAgent) {
			removeStale(p)
		}
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, fmt.Errorf("inspect: %w %d (no socket at %s; the program must call inspect.Listen)", ErrNoAgent, pid, cands[0])
}

// DialPath connects to the agent listening on the socket at path. Errors
// wrap ErrNoAgent or ErrPermission.
func DialPath(path string) (*Client, error) {
	c, err := dialUnix(path)
	if err != nil {
		switch {
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
			return nil, fmt.Errorf("inspect: %w: %s", ErrPermission, path)
		case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
			return nil, fmt.Errorf("inspect: %w (nothing listens on %s)", ErrNoAgent, path)
		}
		return nil, fmt.Errorf("inspect: dial %s: %w", path, err)
	}
	c.Close()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConns:           2,
		IdleConnTimeout:        5 * time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &Client{path: path, tr: tr, hc: &http.Client{Transport: tr}}, nil
}

// Path returns the socket path of the agent.
func (c *Client) Path() string { return c.path }

// Close releases the client's idle connections.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// do sends a request and returns the response body of a 2xx answer; the
// caller closes it.
func (c *Client) do(ctx context.Context, method, p string, q url.Values, body any) (io.ReadCloser, error) {
	u := "http://taskdump" + p
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("inspect: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return nil, fmt.Errorf("inspect: %w (nothing listens on %s)", ErrNoAgent, c.path)
		}
		return nil, fmt.Errorf("inspect: %s %s: %w", method, p, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp.Body, nil
	}
	defer resp.Body.Close()
	var we wire.Error
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &we) != nil || we.Message == "" {
		we.Message = fmt.Sprintf("inspect: %s %s: %s", method, p, resp.Status)
	}
	return nil, &APIError{Status: resp.StatusCode, Code: we.Code, Message: we.Message}
}

// get decodes the JSON answer to a GET of p.
func get[T any](ctx context.Context, c *Client, p string, q url.Values) (T, error) {
	return call[T](ctx, c, http.MethodGet, p, q, nil)
}

// read returns the whole body of a GET of p.
func (c *Client) read(ctx context.Context, p string, q url.Values) ([]byte, error) {
	rc, err := c.do(ctx, http.MethodGet, p, q, nil)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("inspect: reading %s: %w", p, err)
	}
	return data, nil
}

// copyTo copies the body of a GET of p to w as it comes; what names it in
// errors.
func (c *Client) copyTo(ctx context.Context, p string, q url.Values, w io.Writer, what string) error {
	rc, err := c.do(ctx, http.MethodGet, p, q, nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("inspect: reading %s: %w", what, err)
	}
	return nil
}

// call sends a request with body as JSON (none if nil) and decodes the
// JSON answer.
func call[T any](ctx context.Context, c *Client, method, p string, q url.Values, body any) (T, error) {
	var v T
	rc, err := c.do(ctx, method, p, q, body)
	if err != nil {
		return v, err
	}
	defer rc.Close()
	if err := json.NewDecoder(bufio.NewReaderSize(rc, 64<<10)).Decode(&v); err != nil {
		return v, fmt.Errorf("inspect: decoding %s: %w", p, err)
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
	Loop      string        // a loop's name or id
	Stacks    bool          // include each task's full stack
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
	return get[wire.Process](ctx, c, wire.PathProcess, nil)
}

// Loops returns the running loops.
func (c *Client) Loops(ctx context.Context) ([]wire.Loop, error) {
	return get[[]wire.Loop](ctx, c, wire.PathLoops, nil)
}

// Tasks returns the live tasks f selects, in loop order and creation order.
func (c *Client) Tasks(ctx context.Context, f TaskFilter) ([]wire.Task, error) {
	return c.taskList(ctx, wire.PathTasks, f.query())
}

// taskList reads a JSON array of tasks with wire.DecodeTasks.
func (c *Client) taskList(ctx context.Context, p string, q url.Values) ([]wire.Task, error) {
	data, err := c.read(ctx, p, q)
	if err != nil {
		return nil, err
	}
	ts, err := wire.DecodeTasks(data)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
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
	return get[wire.Task](ctx, c, taskPath(id, ""), nil)
}

// Stack returns the stack of live task id: its suspension stack, or the
// live stack of its goroutine if it is running.
func (c *Client) Stack(ctx context.Context, id uint64) (wire.StackResult, error) {
	return get[wire.StackResult](ctx, c, taskPath(id, "/stack"), nil)
}

// Cancel requests cancellation of task id with a message. It returns as
// soon as the request is handed to the loop; the task ends later (see
// wire.CancelResult.LoopBlocked). Errors wrap ErrNoTask, ErrFinished or
// ErrReadOnly.
func (c *Client) Cancel(ctx context.Context, id uint64, msg string) (wire.CancelResult, error) {
	return call[wire.CancelResult](ctx, c, http.MethodPost, taskPath(id, "/cancel"), nil, wire.CancelRequest{Msg: msg})
}

// Tree returns the await tree of the live tasks.
func (c *Client) Tree(ctx context.Context) (wire.Tree, error) {
	return get[wire.Tree](ctx, c, wire.PathTree, nil)
}

// Blocking returns the recent blocking events of every loop, oldest first,
// ongoing ones included.
func (c *Client) Blocking(ctx context.Context) ([]wire.BlockEvent, error) {
	return get[[]wire.BlockEvent](ctx, c, wire.PathBlocking, nil)
}

// History returns the recently finished tasks of every loop, oldest first.
func (c *Client) History(ctx context.Context) ([]wire.Task, error) {
	return c.taskList(ctx, wire.PathHistory, nil)
}

// Snapshot returns everything the agent knows; stacks adds every task's
// full stack.
func (c *Client) Snapshot(ctx context.Context, stacks bool) (wire.Snapshot, error) {
	return get[wire.Snapshot](ctx, c, wire.PathSnapshot, snapshotQuery(stacks))
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

// Profile returns the gzipped pprof profile of the given kind,
// wire.ProfileTasks or wire.ProfileBlocking, ready for `go tool pprof` or
// profile.Parse. It costs the agent a snapshot of every loop with stacks
// (a few µs per task) and holds the whole profile in memory (about 100
// bytes per distinct stack and label set). An unknown kind is an
// *APIError with status 404.
func (c *Client) Profile(ctx context.Context, kind string) ([]byte, error) {
	return c.read(ctx, wire.PathProfile+url.PathEscape(kind), nil)
}
