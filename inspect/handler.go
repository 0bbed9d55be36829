package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
	"github.com/taskdump/taskdump/taskprof"
)

// Handler returns the inspect protocol as an http.Handler for any mux, for
// programs that already serve HTTP: mount it at the root of a mux, or under
// a prefix with http.StripPrefix (its paths start with /v1/). It routes
// with its own http.ServeMux, and answers a path it does not serve with a
// JSON 404, or a JSON 405 with Allow. It serves every loop of the process
// and never waits for a loop.
//
// Mounted on a server other than the Agent's, the handler has no peer
// credentials to check: whoever can reach that server can read every task
// and, unless opts.ReadOnly, cancel tasks. Protect it as you would
// net/http/pprof. opts.Dir is ignored. The handler bounds request bodies,
// concurrent requests and waiting time as the Agent does.
func Handler(opts Options) http.Handler { return newHandler(opts, false) }

type handler struct {
	readOnly  bool
	needPeer  bool // refuse requests without peer credentials (the Agent's socket)
	self      int
	sem       chan struct{}
	started   time.Time
	queueWait time.Duration
	mux       *http.ServeMux
	methods   []string // of routes
	// Each request holds a read lock while it is served; Agent.Close takes
	// the write lock to wait for them, then marks the handler closed.
	active sync.RWMutex
	closed bool
	watch  *watchHub // streams and the flight recorder (watch.go)
}

// shut waits for the requests in progress and refuses later ones.
func (h *handler) shut() {
	h.active.Lock()
	h.closed = true
	h.active.Unlock()
}

func newHandler(opts Options, needPeer bool) *handler {
	h := &handler{
		readOnly: opts.ReadOnly, needPeer: needPeer, self: os.Geteuid(),
		sem: make(chan struct{}, maxInFlight), started: time.Now(), queueWait: maxQueueWait,
	}
	h.watch = newWatchHub(h)
	h.mux = h.newMux()
	return h
}

// apiError is an error with its HTTP status and wire code.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: "inspect: " + fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	b, _ := json.Marshal(wire.Error{Code: e.code, Message: e.msg})
	_, _ = w.Write(append(b, '\n')) // a write error means the peer left
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.needPeer {
		w = newStallWriter(w)
	}
	h.active.RLock()
	defer h.active.RUnlock()
	if h.closed {
		writeError(w, errorf(http.StatusServiceUnavailable, wire.CodeBusy, "agent closed"))
		return
	}
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			writeError(w, errorf(http.StatusInternalServerError, wire.CodeInternal, "internal error: %v", v))
		}
	}()
	p, ok := PeerFromContext(r.Context())
	if ok && !allowedUID(p.UID, h.self) {
		writeError(w, errorf(http.StatusForbidden, wire.CodePermission,
			"permission denied: uid %d may not inspect a process of uid %d", p.UID, h.self))
		return
	}
	if !ok && h.needPeer {
		writeError(w, errorf(http.StatusForbidden, wire.CodePermission, "permission denied: unknown peer"))
		return
	}
	if p := r.URL.EscapedPath(); p != cleanPath(p) {
		// ServeMux would redirect to the clean path: none is a route.
		writeError(w, errorf(http.StatusNotFound, wire.CodeNotFound, "no such path %q", clip(r.URL.Path)))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// cleanPath returns p with . and .. elements and repeated slashes removed,
// keeping a final slash, as ServeMux cleans a path.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// exchange is one request being answered, for the endpoints.
type exchange struct {
	w        http.ResponseWriter
	r        *http.Request
	peer     Peer
	havePeer bool
	// release gives the request's slot back; answers rendered in memory
	// call it before writing.
	release func()
}

// endpoint answers one route of the protocol; it returns the error to
// send, if any.
type endpoint func(h *handler, q *exchange) *apiError

// routes are the protocol's endpoints, one line each, as net/http.ServeMux
// patterns ({id} is a task id, {kind} a profile kind). A GET pattern also
// answers HEAD.
var routes = []struct {
	pattern string
	serve   endpoint
}{
	{"GET /v1/process", (*handler).serveProcess},
	{"GET /v1/loops", (*handler).serveLoops},
	{"GET /v1/tasks", (*handler).serveTasks},
	{"GET /v1/tasks/{id}", (*handler).serveTask},
	{"GET /v1/tasks/{id}/stack", (*handler).serveStack},
	{"POST /v1/tasks/{id}/cancel", (*handler).serveCancel},
	{"GET /v1/tree", (*handler).serveTree},
	{"GET /v1/blocking", (*handler).serveBlocking},
	{"GET /v1/history", (*handler).serveHistory},
	{"GET /v1/snapshot", (*handler).serveSnapshot},
	{"GET /v1/profile/{kind}", (*handler).serveProfile},
	{"GET /v1/doctor", (*handler).serveDoctor},
	{"GET /v1/watch", (*handler).serveWatch},
	{"GET /v1/flight", (*handler).serveFlight},
	{"GET /v1/resources", (*handler).serveResources},
}

// newMux registers routes and, for every other path, unmatched, which
// answers the JSON 404 or 405 that ServeMux would write as plain text.
func (h *handler) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, h.serveEndpoint(rt.serve))
		method, _, _ := strings.Cut(rt.pattern, " ")
		if !slices.Contains(h.methods, method) {
			h.methods = append(h.methods, method)
		}
	}
	mux.HandleFunc("/", h.unmatched)
	return mux
}

// serveEndpoint runs serve in one of the handler's request slots, waiting
// at most queueWait for one, with the request body bounded.
func (h *handler) serveEndpoint(serve endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case h.sem <- struct{}{}:
		default:
			t := time.NewTimer(h.queueWait)
			select {
			case h.sem <- struct{}{}:
				t.Stop()
			case <-t.C:
				w.Header().Set("Retry-After", "1")
				writeError(w, errorf(http.StatusServiceUnavailable, wire.CodeBusy, "busy: too many requests at once"))
				return
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		// Answers rendered in memory give their slot back before they are
		// written, so that a peer that does not read holds no slot.
		var once sync.Once
		release := func() { once.Do(func() { <-h.sem }) }
		defer release()
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		p, ok := PeerFromContext(r.Context())
		if err := serve(h, &exchange{w: w, r: r, peer: p, havePeer: ok, release: release}); err != nil {
			writeError(w, err)
		}
	})
}

// unmatched answers a request that no route takes: 405, with Allow, if a
// route takes its path with another method, else 404.
func (h *handler) unmatched(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/"+wire.Version+"/") {
		writeError(w, errorf(http.StatusNotFound, wire.CodeNotFound, "no such path %q (paths start with /%s/)", clip(r.URL.Path), wire.Version))
		return
	}
	var allow []string
	probe := new(http.Request)
	*probe = *r
	for _, m := range h.methods {
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		writeError(w, errorf(http.StatusNotFound, wire.CodeNotFound, "no such path %q", clip(r.URL.Path)))
		return
	}
	use := strings.Join(allow, " or ")
	if slices.Contains(allow, http.MethodGet) {
		allow = append(allow, http.MethodHead)
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, errorf(http.StatusMethodNotAllowed, wire.CodeMethod, "method %s not allowed on %s (use %s)", clip(r.Method), clip(r.URL.Path), use))
}

// taskID returns the request's {id}.
func (q *exchange) taskID() (uint64, *apiError) { return parseID(q.r.PathValue("id")) }

func (h *handler) serveProcess(q *exchange) *apiError {
	return writeJSON(q.w, h.process(runtime.Snapshot()), q.release)
}

func (h *handler) serveLoops(q *exchange) *apiError {
	return writeJSON(q.w, loopsOf(runtime.Snapshot()), q.release)
}

func (h *handler) serveTasks(q *exchange) *apiError {
	f, err := parseFilter(q.r.URL.Query())
	if err != nil {
		return err
	}
	return f.write(q.w, q.release)
}

func (h *handler) serveTask(q *exchange) *apiError {
	id, err := q.taskID()
	if err != nil {
		return err
	}
	t, err := findTask(id)
	if err != nil {
		return err
	}
	return writeJSON(q.w, t, q.release)
}

func (h *handler) serveStack(q *exchange) *apiError {
	id, err := q.taskID()
	if err != nil {
		return err
	}
	res, err := taskStack(id)
	if err != nil {
		return err
	}
	return writeJSON(q.w, res, q.release)
}

func (h *handler) serveCancel(q *exchange) *apiError {
	id, err := q.taskID()
	if err != nil {
		return err
	}
	req, err := decodeCancel(q.r.Body)
	if err != nil {
		return err
	}
	if h.readOnly {
		return errorf(http.StatusForbidden, wire.CodeReadOnly, "read-only agent: cancel refused")
	}
	by := "inspect"
	if q.havePeer {
		by = fmt.Sprintf("taskdump (pid %d, uid %d)", q.peer.PID, q.peer.UID)
	}
	res, err := cancelTask(id, req.Msg, by)
	if err != nil {
		return err
	}
	return writeJSON(q.w, res, q.release)
}

// serveTree answers the await tree of every loop; with fold=N, N or more
// identical siblings come folded into one node (wire.Collapse), so that a
// tree of 100,000 tasks, mostly alike, is a few lines rather than 100,000
// records to send and decode.
func (h *handler) serveTree(q *exchange) *apiError {
	fold := 0
	if s := q.r.URL.Query().Get("fold"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 {
			return errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad fold %q: want a count of identical siblings, 2 or more", clip(s))
		}
		fold = n
	}
	var all []wire.Task
	for _, s := range runtime.Snapshot() {
		all = appendTasks(all, s.Tasks, nil)
	}
	tr := wire.BuildTree(all)
	if fold > 0 {
		tr = wire.Collapse(tr, fold)
	}
	return writeJSON(q.w, tr, q.release)
}

func (h *handler) serveBlocking(q *exchange) *apiError {
	return writeArray(q.w, blockingEvents(runtime.Loops()), q.release)
}

// serveHistory renders the history (it is short), gives the slot back and
// writes it.
func (h *handler) serveHistory(q *exchange) *apiError {
	var buf bytes.Buffer
	aw := newArrayWriter(func(b []byte) error { buf.Write(b); return nil }, nil)
	for _, t := range history(runtime.Loops()) {
		aw.task(&t, 0)
	}
	aw.close()
	q.release()
	q.w.Header().Set("Content-Type", "application/json")
	_, _ = q.w.Write(buf.Bytes()) // a write error means the peer left
	return nil
}

func (h *handler) serveSnapshot(q *exchange) *apiError {
	stacks, err := parseBool(q.r.URL.Query().Get("stacks"))
	if err != nil {
		return err
	}
	return writeJSON(q.w, h.snapshot(stacks), q.release)
}

func (h *handler) serveProfile(q *exchange) *apiError {
	if q.r.PathValue("kind") == wire.ProfileCPU {
		return h.serveCPUProfile(q)
	}
	return writeProfile(q.w, q.r.PathValue("kind"), q.release)
}

// clip bounds user-supplied text echoed in error messages.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

func parseID(s string) (uint64, *apiError) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad task id %q: want a positive decimal number", clip(s))
	}
	return id, nil
}

func parseBool(s string) (bool, *apiError) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad boolean %q", clip(s))
	}
	return b, nil
}

// decodeCancel reads the optional JSON body of a cancel: empty, or one
// wire.CancelRequest object with no unknown fields.
func decodeCancel(body io.Reader) (wire.CancelRequest, *apiError) {
	var req wire.CancelRequest
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return req, errorf(http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "request body over %d bytes", mbe.Limit)
		}
		return req, errorf(http.StatusBadRequest, wire.CodeBadRequest, "reading body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return req, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad JSON body: %v", err)
	}
	if dec.More() {
		return req, errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad JSON body: more than one value")
	}
	if len(req.Msg) > 4096 {
		return req, errorf(http.StatusBadRequest, wire.CodeBadRequest, "cancel message over 4096 bytes")
	}
	return req, nil
}

// filter selects tasks for /v1/tasks.
type filter struct {
	states    []runtime.State
	name      string
	olderThan time.Duration
	// waitingLongerThan selects tasks that have waited at their current
	// await longer than this (runtime.WaitInfo.Since).
	waitingLongerThan time.Duration
	loop              string
	stacks            bool
	fields            wire.FieldSet
	now               time.Time
}

func parseFilter(q map[string][]string) (*filter, *apiError) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	f := &filter{now: time.Now(), name: get("name"), loop: get("loop")}
	for _, v := range q["state"] {
		for s := range strings.SplitSeq(v, ",") {
			st, ok := runtime.ParseState(strings.TrimSpace(s))
			if !ok {
				return nil, errorf(http.StatusBadRequest, wire.CodeBadRequest,
					"bad state %q: want pending, running, cancelling, finished, failed or cancelled", clip(s))
			}
			f.states = append(f.states, st)
		}
	}
	if f.name != "" {
		if _, err := path.Match(f.name, ""); err != nil {
			return nil, errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad name pattern %q: %v", clip(f.name), err)
		}
	}
	if s := get("older_than"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return nil, errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad older_than %q: want a duration such as 10s", clip(s))
		}
		f.olderThan = d
	}
	if s := get("waiting_longer_than"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return nil, errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad waiting_longer_than %q: want a duration such as 10s", clip(s))
		}
		f.waitingLongerThan = d
	}
	if s := get("fields"); s != "" {
		fs, ok := wire.ParseFields(strings.Split(s, ","))
		if !ok {
			return nil, errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad fields %q: want names from %s", clip(s), strings.Join(wire.TaskFields, ","))
		}
		f.fields = fs
	}
	var err *apiError
	if f.stacks, err = parseBool(get("stacks")); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *filter) match(ti *runtime.TaskInfo) bool {
	if len(f.states) > 0 && !slices.Contains(f.states, ti.State) {
		return false
	}
	if f.name != "" && !matchName(f.name, ti.Name) {
		return false
	}
	if f.olderThan > 0 && f.now.Sub(ti.Created) < f.olderThan {
		return false
	}
	if f.waitingLongerThan > 0 && (ti.Wait.Since.IsZero() || f.now.Sub(ti.Wait.Since) < f.waitingLongerThan) {
		return false // a task that is not waiting (running, ready, not started) has not waited
	}
	return true
}

// matchName reports whether name matches the glob pattern, with path.Match's
// syntax except that * and ? match any character, / included: task names
// are not paths ("fetch /users/42" matches "fetch*"). It hands path.Match
// both strings with every / replaced by a rune found in neither.
func matchName(pattern, name string) bool {
	if strings.ContainsRune(pattern, '/') || strings.ContainsRune(name, '/') {
		sub := rune(0xE000) // private use: absent from real names
		for strings.ContainsRune(pattern, sub) || strings.ContainsRune(name, sub) {
			sub++
		}
		pattern = strings.ReplaceAll(pattern, "/", string(sub))
		name = strings.ReplaceAll(name, "/", string(sub))
	}
	ok, _ := path.Match(pattern, name)
	return ok
}

// write streams the selected tasks as a JSON array, one per line, loop by
// loop, and calls release once they are rendered. Rendering and writing
// run side by side through a pipe: a loop's walk (which holds the loop's
// reader lock) never waits for the peer, so a peer that does not read
// delays no one else; memory stays at a few 64 KiB chunks for a peer that
// reads, and at most the whole answer for one that does not, until the
// stalled write drops it.
func (f *filter) write(w http.ResponseWriter, release func()) *apiError {
	w.Header().Set("Content-Type", "application/json")
	p := newPipe()
	written := make(chan struct{})
	go func() {
		defer close(written)
		p.drain(w)
	}()
	defer func() {
		p.close()
		<-written
	}()
	aw := newArrayWriter(p.put, p.spare)
	var wt wire.Task
	for _, l := range runtime.Loops() {
		if f.loop != "" && f.loop != l.Name() && f.loop != strconv.FormatUint(l.ID(), 10) {
			continue
		}
		// Streamed: no slice of every task's record, so a poll of a
		// process with many tasks makes little garbage.
		l.EachTask(runtime.SnapshotOptions{Stacks: f.stacks}, func(ti *runtime.TaskInfo) bool {
			if f.match(ti) {
				wireTask(&wt, ti)
				aw.task(&wt, f.fields)
			}
			return aw.err == nil
		})
		if aw.err != nil {
			break
		}
	}
	aw.close()
	release()
	return nil // a write error means the peer left: nothing to answer
}

// errPeerGone stops a rendering whose peer left.
var errPeerGone = errors.New("inspect: peer gone")

// Flow control of a pipe: the renderer waits while more than
// pipeMaxPending chunks wait to be written, but only as long as the writer
// has written something within the last pipeStall.
const (
	pipeMaxPending = 16 // chunks of 64 KiB
	pipeStall      = 100 * time.Millisecond
)

// pipe carries rendered chunks from a renderer to the writer goroutine. For
// a peer that reads, the renderer keeps at most pipeMaxPending chunks
// ahead, and written chunks are reused; for a peer that stops reading, the
// renderer stops waiting after pipeStall and renders the rest into memory,
// so that it never holds a loop's reader lock, or a slot, for the peer.
type pipe struct {
	mu       sync.Mutex
	chunks   [][]byte
	free     [][]byte  // written chunks, for spare (up to pipeMaxPending)
	lastDone time.Time // when the writer last finished a chunk (or started)
	closed   bool
	failed   bool
	ready    chan struct{} // 1-buffered: chunks were added, or the pipe closed
	progress chan struct{} // 1-buffered: a chunk was written
}

func newPipe() *pipe {
	return &pipe{lastDone: time.Now(), ready: make(chan struct{}, 1), progress: make(chan struct{}, 1)}
}

// spare returns an empty chunk, a written one if there is one.
func (p *pipe) spare() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, 64<<10)
}

// put hands b (which the pipe keeps) to the writer, then waits while the
// writer is behind but making progress; it fails once the writer has
// failed.
func (p *pipe) put(b []byte) error {
	p.mu.Lock()
	failed := p.failed
	if !failed {
		p.chunks = append(p.chunks, b)
	}
	p.mu.Unlock()
	if failed {
		return errPeerGone
	}
	signal(p.ready)
	for {
		p.mu.Lock()
		pending, failed, idle := len(p.chunks), p.failed, time.Since(p.lastDone)
		p.mu.Unlock()
		if failed {
			return errPeerGone
		}
		if pending <= pipeMaxPending || idle >= pipeStall {
			return nil
		}
		t := time.NewTimer(pipeStall - idle)
		select {
		case <-p.progress:
		case <-t.C:
		}
		t.Stop()
	}
}

// close tells the writer that no more chunks come.
func (p *pipe) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	signal(p.ready)
}

// signal wakes the waiter of a 1-buffered channel, if any.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// drain writes the chunks to w as they come, until the pipe is closed and
// empty, or a write fails.
func (p *pipe) drain(w io.Writer) {
	for {
		p.mu.Lock()
		if len(p.chunks) == 0 {
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return
			}
			<-p.ready
			continue
		}
		// The chunk stays pending while it is written: put's flow
		// control counts it.
		c := p.chunks[0]
		p.mu.Unlock()
		_, err := w.Write(c)
		p.mu.Lock()
		if err != nil {
			p.failed, p.chunks = true, nil
			p.mu.Unlock()
			return
		}
		p.chunks[0] = nil
		p.chunks = p.chunks[1:]
		if len(p.free) < pipeMaxPending {
			p.free = append(p.free, c)
		}
		p.lastDone = time.Now()
		p.mu.Unlock()
		signal(p.progress)
	}
}

// arrayWriter renders a JSON array of tasks, one per line, in chunks of
// about 60 KiB that it hands to out. If next is nil, out is done with a
// chunk when it returns and the buffer is reused; else out keeps it and
// next gives the buffer for the following chunk.
type arrayWriter struct {
	out  func([]byte) error
	next func() []byte
	buf  []byte
	n    int
	err  error
}

func newArrayWriter(out func([]byte) error, next func() []byte) *arrayWriter {
	buf := make([]byte, 0, 64<<10)
	if next != nil {
		buf = next()
	}
	return &arrayWriter{out: out, next: next, buf: append(buf, '[')}
}

func (a *arrayWriter) task(t *wire.Task, fs wire.FieldSet) {
	if a.n > 0 {
		a.buf = append(a.buf, ',')
	}
	a.n++
	a.buf = append(a.buf, '\n')
	a.buf = t.AppendJSON(a.buf, fs)
	if len(a.buf) >= 60<<10 {
		a.flush()
	}
}

func (a *arrayWriter) flush() {
	if a.err == nil {
		a.err = a.out(a.buf)
	}
	if a.next != nil {
		a.buf = a.next()
	} else {
		a.buf = a.buf[:0]
	}
}

// close ends the array.
func (a *arrayWriter) close() {
	if a.n > 0 {
		a.buf = append(a.buf, '\n')
	}
	a.buf = append(a.buf, ']', '\n')
	a.flush()
}

func appendTasks(dst []wire.Task, tis []runtime.TaskInfo, f *filter) []wire.Task {
	dst = slices.Grow(dst, len(tis))
	for i := range tis {
		if f != nil && !f.match(&tis[i]) {
			continue
		}
		dst = dst[:len(dst)+1]
		wireTask(&dst[len(dst)-1], &tis[i])
	}
	return dst
}

// findTask returns a live task with its stack, or an ended one from the
// history.
func findTask(id uint64) (wire.Task, *apiError) {
	var t wire.Task
	if l, ok := runtime.FindTask(id); ok {
		if ti, ok := l.Task(id); ok {
			wireTask(&t, &ti)
			return t, nil
		}
	}
	if ti, ok := findEnded(id); ok {
		wireTask(&t, &ti)
		return t, nil
	}
	return t, errorf(http.StatusNotFound, wire.CodeNoSuchTask, "no such task %d", id)
}

func findEnded(id uint64) (runtime.TaskInfo, bool) {
	for _, l := range runtime.Loops() {
		for _, ti := range l.History() {
			if ti.ID == id {
				return ti, true
			}
		}
	}
	return runtime.TaskInfo{}, false
}

// endedText says that task id has ended, and how: "task 8 already ended
// (cancelled)".
func endedText(id uint64, ti runtime.TaskInfo) string {
	return fmt.Sprintf("task %d already ended (%s)", id, ti.State)
}

// endedErr is the 409 for task id, which ended between two reads: how,
// when its record is still in the history; then more.
func endedErr(id uint64, more string) *apiError {
	if ti, ok := findEnded(id); ok {
		return errorf(http.StatusConflict, wire.CodeFinished, "%s%s", endedText(id, ti), more)
	}
	return errorf(http.StatusConflict, wire.CodeFinished, "task %d already ended%s", id, more)
}

func taskStack(id uint64) (wire.StackResult, *apiError) {
	var res wire.StackResult
	l, ok := runtime.FindTask(id)
	if !ok {
		if ti, ok := findEnded(id); ok {
			return res, errorf(http.StatusConflict, wire.CodeFinished, "%s: it has no stack", endedText(id, ti))
		}
		return res, errorf(http.StatusNotFound, wire.CodeNoSuchTask, "no such task %d", id)
	}
	ti, ok := l.Task(id)
	if !ok {
		return res, endedErr(id, ": it has no stack")
	}
	st, err := l.TaskStack(id)
	if err != nil {
		return res, endedErr(id, ": it has no stack")
	}
	wireTask(&res.Task, &ti)
	res.Task.Stack = nil
	res.Live = ti.Running
	res.Stack = wireFrames(st)
	if res.Stack == nil {
		res.Stack = []wire.Frame{}
	}
	return res, nil
}

func cancelTask(id uint64, msg, by string) (wire.CancelResult, *apiError) {
	res := wire.CancelResult{ID: id}
	l, ok := runtime.FindTask(id)
	if !ok {
		if ti, ok := findEnded(id); ok {
			return res, errorf(http.StatusConflict, wire.CodeFinished, "%s", endedText(id, ti))
		}
		return res, errorf(http.StatusNotFound, wire.CodeNoSuchTask, "no such task %d", id)
	}
	if ti, ok := l.Task(id); ok {
		// Named now: the cancel may end the task, and with it the loop
		// and its history, before the answer is written.
		res.Name, res.State = ti.Name, ti.State.String()
	}
	if err := l.CancelTask(id, msg, by); err != nil {
		if ti, ok := findEnded(id); ok {
			return res, errorf(http.StatusConflict, wire.CodeFinished, "%s", endedText(id, ti))
		}
		return res, errorf(http.StatusConflict, wire.CodeFinished, "task %d: %v", id, err)
	}
	res.Requested = true
	res.Loop = l.Name()
	if evs := l.Blocking(); len(evs) > 0 && evs[len(evs)-1].Ongoing {
		res.LoopBlocked = true
	}
	if ti, ok := l.Task(id); ok {
		res.Name, res.State = ti.Name, ti.State.String()
	} else if ti, ok := findEnded(id); ok {
		res.Name, res.State = ti.Name, ti.State.String()
	}
	return res, nil
}

func loopsOf(snaps []runtime.LoopSnapshot) []wire.Loop {
	out := make([]wire.Loop, len(snaps))
	for i := range snaps {
		out[i] = wireLoop(&snaps[i])
	}
	return out
}

func (h *handler) process(snaps []runtime.LoopSnapshot) wire.Process {
	return wire.Process{
		Schema: wire.Schema, PID: os.Getpid(), UID: h.self, Command: os.Args, GoVersion: goruntime.Version(),
		ReadOnly: h.readOnly, Started: h.started, Loops: loopsOf(snaps),
	}
}

func blockingEvents(loops []*runtime.Loop) []wire.BlockEvent {
	out := []wire.BlockEvent{}
	for _, l := range loops {
		for _, ev := range l.Blocking() {
			out = append(out, wireBlock(&ev))
		}
	}
	slices.SortStableFunc(out, func(a, b wire.BlockEvent) int { return a.Started.Compare(b.Started) })
	return out
}

func history(loops []*runtime.Loop) []wire.Task {
	var out []wire.Task
	for _, l := range loops {
		out = appendTasks(out, l.History(), nil)
	}
	slices.SortStableFunc(out, func(a, b wire.Task) int { return a.Finished.Compare(b.Finished) })
	return out
}

func (h *handler) snapshot(stacks bool) wire.Snapshot {
	loops := runtime.Loops()
	s := wire.Snapshot{Taken: time.Now(), Loops: make([]wire.LoopSnapshot, 0, len(loops))}
	var sums []wire.Loop
	for _, l := range loops {
		ls := l.Snapshot(runtime.SnapshotOptions{Stacks: stacks})
		out := wire.LoopSnapshot{Loop: wireLoop(&ls), Taken: ls.Taken}
		out.TaskList = appendTasks(make([]wire.Task, 0, len(ls.Tasks)), ls.Tasks, nil)
		out.History = appendTasks([]wire.Task{}, l.History(), nil)
		out.BlockList = blockingEvents([]*runtime.Loop{l})
		s.Loops = append(s.Loops, out)
		sums = append(sums, out.Loop)
	}
	s.Process = h.process(nil)
	if sums != nil {
		s.Process.Loops = sums
	}
	return s
}

// writeProfile answers the gzipped pprof profile of the given kind as a
// download. The profile is built in memory first, so that a failure is
// still answered as a JSON error.
func writeProfile(w http.ResponseWriter, kind string, release func()) *apiError {
	if kind != wire.ProfileTasks && kind != wire.ProfileBlocking {
		return errorf(http.StatusNotFound, wire.CodeNotFound, "no such profile %q (want %s, %s or %s)",
			clip(kind), wire.ProfileTasks, wire.ProfileBlocking, wire.ProfileCPU)
	}
	var buf bytes.Buffer
	if err := taskprof.Write(&buf, kind); err != nil {
		return errorf(http.StatusInternalServerError, wire.CodeInternal, "profile %s: %v", kind, err)
	}
	release()
	writeProfileBytes(w, kind, buf.Bytes())
	return nil
}

// writeProfileBytes answers a profile of the kind, data.
func writeProfileBytes(w http.ResponseWriter, kind string, data []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fmt.Sprintf("%s-%d.pb.gz", kind, os.Getpid())))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data) // a write error means the peer left
}

// writeJSON answers v as JSON. It renders v in memory, then calls release
// (so that a slow reader holds no slot of the semaphore) and writes it.
func writeJSON(w http.ResponseWriter, v any, release func()) *apiError {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return errorf(http.StatusInternalServerError, wire.CodeInternal, "encoding: %v", err)
	}
	release()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes()) // a write error means the peer left
	return nil
}

// writeArray writes items as a JSON array with one item per line, so that
// line tools can follow it. An empty list is []. Like writeJSON, it renders
// in memory, calls release, then writes.
func writeArray[T any](w http.ResponseWriter, items []T, release func()) *apiError {
	var out, buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	out.WriteString("[")
	for i := range items {
		buf.Reset()
		if err := enc.Encode(&items[i]); err != nil {
			return errorf(http.StatusInternalServerError, wire.CodeInternal, "encoding: %v", err)
		}
		if i > 0 {
			out.WriteString(",")
		}
		out.WriteString("\n")
		out.Write(buf.Bytes()[:buf.Len()-1])
	}
	if len(items) > 0 {
		out.WriteString("\n")
	}
	out.WriteString("]\n")
	release()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out.Bytes()) // a write error means the peer left
	return nil
}

// stallWriter is the Agent's ResponseWriter: each write of at most 64 KiB
// must go through within maxWriteStall, or the connection is dropped. A
// peer that stops reading thus holds its connection (and, for a streamed
// answer, its slot) for at most maxWriteStall, while a long answer to a
// peer that reads takes as long as it needs.
type stallWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func newStallWriter(w http.ResponseWriter) *stallWriter {
	return &stallWriter{ResponseWriter: w, rc: http.NewResponseController(w)}
}

func (s *stallWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), 64<<10)]
		_ = s.rc.SetWriteDeadline(time.Now().Add(maxWriteStall)) // the Agent's connections support it
		m, err := s.ResponseWriter.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

// Unwrap gives http.ResponseController the underlying ResponseWriter.
func (s *stallWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
