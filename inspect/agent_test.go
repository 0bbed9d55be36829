package inspect

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/internal/peercred"
	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

func TestListenPermissionsAndClose(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	a, err := Listen(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.Path(), filepath.Join(dir, strconv.Itoa(os.Getpid())+".sock"); got != want {
		t.Errorf("Path() = %q, want %q", got, want)
	}
	if got := fileMode(t, dir).Perm(); got != 0o700 {
		t.Errorf("dir mode = %o, want 700", got)
	}
	m := fileMode(t, a.Path())
	if m.Type() != os.ModeSocket || m.Perm() != 0o600 {
		t.Errorf("socket mode = %v, want socket with 600", m)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Lstat(a.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestListenRefusesLooseDir: an existing directory open to group or others
// is refused with a way out, and left as it was (a shared 1777 directory
// keeps its sticky bit); a missing one is created 0700.
func TestListenRefusesLooseDir(t *testing.T) {
	tests := []struct {
		name string
		mode os.FileMode // 0: the directory does not exist
		ok   bool
	}{
		{"missing", 0, true},
		{"private", 0o700, true},
		{"readable", 0o755, false},
		{"group", 0o770, false},
		{"shared sticky", 0o777 | os.ModeSticky, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			if tt.mode != 0 {
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			a, err := Listen(Options{Dir: dir})
			if tt.ok {
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				a.Close()
			} else {
				if err == nil {
					a.Close()
					t.Fatal("Listen succeeded, want a refusal")
				}
				if want := "chmod 700 " + dir; !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to say %q", err, want)
				}
			}
			want := tt.mode
			if want == 0 {
				want = 0o700
			}
			if got := fileMode(t, dir) &^ os.ModeDir; got != want {
				t.Errorf("dir mode after Listen = %v, want %v", got, want)
			}
		})
	}
}

func TestListenTwiceRefused(t *testing.T) {
	dir := privateDir(t)
	a, err := Listen(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if b, err := Listen(Options{Dir: dir}); err == nil {
		b.Close()
		t.Fatal("second Listen in the same directory succeeded, want an error")
	}
	// The first agent still answers.
	c, err := client.DialPath(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Process(context.Background()); err != nil {
		t.Errorf("Process after refused Listen: %v", err)
	}
}

// staleSocket leaves a socket file that nothing listens on at p.
func staleSocket(t *testing.T, p string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if m := fileMode(t, p); m.Type() != os.ModeSocket {
		t.Fatalf("%s is not a socket", p)
	}
}

func TestListenReplacesStaleSocket(t *testing.T) {
	dir := privateDir(t)
	staleSocket(t, SocketPath(dir, os.Getpid()))
	a, err := Listen(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer a.Close()
	c, err := client.DialPath(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Process(context.Background()); err != nil {
		t.Errorf("Process: %v", err)
	}
}

// deadPID returns a pid with no process.
func deadPID(t *testing.T) int {
	for pid := 4_000_000; pid > 3_000_000; pid -= 7919 {
		if !peercred.ProcessAlive(pid) {
			return pid
		}
	}
	t.Fatal("no free pid found")
	return 0
}

func TestScanRemovesStale(t *testing.T) {
	dir := privateDir(t)
	a, err := Listen(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dead := SocketPath(dir, deadPID(t))
	staleSocket(t, dead)
	// A live pid (ours is taken: use our parent) with no listener.
	orphan := SocketPath(dir, os.Getppid())
	staleSocket(t, orphan)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600)

	live, removed, err := client.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []client.Found{{PID: os.Getpid(), Path: a.Path()}}; !slices.Equal(live, want) {
		t.Errorf("live = %v, want %v", live, want)
	}
	slices.Sort(removed)
	want := []string{dead, orphan}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed = %v, want %v", removed, want)
	}
	for _, p := range want {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed: %v", p, err)
		}
	}
	if live, removed, err := client.Scan(filepath.Join(dir, "missing")); err != nil || live != nil || removed != nil {
		t.Errorf("client.Scan(missing) = %v, %v, %v; want nothing", live, removed, err)
	}
}

func TestDialErrors(t *testing.T) {
	dir := privateDir(t)
	t.Setenv(EnvDir, dir)
	tests := []struct {
		name string
		dial func() error
		want error
	}{
		{"dead pid", func() error { _, err := client.Dial(deadPID(t)); return err }, client.ErrNoProcess},
		{"no socket", func() error { _, err := client.Dial(os.Getppid()); return err }, client.ErrNoAgent},
		{"missing path", func() error { _, err := client.DialPath(filepath.Join(dir, "x.sock")); return err }, client.ErrNoAgent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.dial()
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// A stale socket for a live pid is no agent, and is removed.
	p := SocketPath(dir, os.Getppid())
	staleSocket(t, p)
	if _, err := client.Dial(os.Getppid()); !errors.Is(err, client.ErrNoAgent) {
		t.Errorf("client.Dial(stale) err = %v, want client.ErrNoAgent", err)
	}
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale socket not removed: %v", err)
	}
}

func TestDialByPID(t *testing.T) {
	dir := privateDir(t)
	t.Setenv(EnvDir, dir)
	a, err := Listen(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got, want := a.Path(), SocketPath(dir, os.Getpid()); got != want {
		t.Errorf("Path() = %q, want %q", got, want)
	}
	c, err := client.Dial(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.Process(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.PID != os.Getpid() || p.UID != os.Geteuid() {
		t.Errorf("Process() = pid %d uid %d, want %d %d", p.PID, p.UID, os.Getpid(), os.Geteuid())
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv(EnvDir, "")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if got, want := DefaultDir(), "/run/user/1000/taskdump"; got != want {
		t.Errorf("DefaultDir() with XDG = %q, want %q", got, want)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if got, want := DefaultDir(), filepath.Join(os.TempDir(), "taskdump-"+strconv.Itoa(os.Getuid())); got != want {
		t.Errorf("DefaultDir() = %q, want %q", got, want)
	}
	t.Setenv(EnvDir, "/x")
	if got, want := DefaultDir(), "/x"; got != want {
		t.Errorf("DefaultDir() with %s = %q, want %q", EnvDir, got, want)
	}
}

func TestAllowedUID(t *testing.T) {
	tests := []struct {
		uid, self int
		want      bool
	}{
		{1000, 1000, true},
		{0, 1000, true},
		{1001, 1000, false},
		{-1, 1000, false},
		{0, 0, true},
		{1000, 0, false},
	}
	for _, tt := range tests {
		if got := allowedUID(tt.uid, tt.self); got != tt.want {
			t.Errorf("allowedUID(%d, %d) = %v, want %v", tt.uid, tt.self, got, tt.want)
		}
	}
}

func TestEndpoints(t *testing.T) {
	var stuck, sleeping uint64
	startLoop(t, "endpoints", func(ctx context.Context) {
		s := runtime.Spawn(ctx, sleeper(time.Hour), runtime.Named("sleeper"))
		sleeping = s.ID()
		f := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return runtime.NewFuture[int](ctx).Await(ctx)
		}, runtime.Named("stuck"))
		stuck = f.ID()
		runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			_, err := s.Await(ctx)
			return struct{}{}, err
		}, runtime.Named("awaiter"))
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, errors.New("boom") }, runtime.Named("fails"))
	})
	_, c := listen(t, Options{})
	ctx := context.Background()

	ts, err := c.Tasks(ctx, client.TaskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]wire.Task{}
	for _, tk := range ts {
		if tk.Loop == "endpoints" {
			byName[tk.Name] = tk
		}
	}
	for _, name := range []string{"main", "sleeper", "stuck", "awaiter"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("Tasks() has no %q: %v", name, ts)
		}
	}
	sl := byName["sleeper"]
	if sl.State != "pending" || sl.Awaiting != "sleep(1h0m0s)" || sl.SuspendedAt.IsZero() ||
		filepath.Base(sl.SuspendedAt.File) != "main_test.go" || !filepath.IsAbs(sl.SuspendedAt.File) {
		t.Errorf("sleeper = %+v, want pending, awaiting sleep(1h0m0s), suspended in main_test.go", sl)
	}
	if aw := byName["awaiter"]; !slices.Equal(aw.Awaits, []uint64{sleeping}) || aw.ParentID != byName["main"].ID {
		t.Errorf("awaiter awaits %v parent %d, want [%d] parent %d", aw.Awaits, aw.ParentID, sleeping, byName["main"].ID)
	}

	filtered, err := c.Tasks(ctx, client.TaskFilter{Name: "s*", States: []string{"pending"}, Loop: "endpoints"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tk := range filtered {
		names = append(names, tk.Name)
	}
	if want := []string{"sleeper", "stuck"}; !slices.Equal(names, want) {
		t.Errorf("filtered names = %v, want %v", names, want)
	}
	if old, err := c.Tasks(ctx, client.TaskFilter{OlderThan: time.Hour}); err != nil || len(old) != 0 {
		t.Errorf("Tasks(older than 1h) = %v, %v; want none", old, err)
	}

	one, err := c.Task(ctx, stuck)
	if err != nil {
		t.Fatal(err)
	}
	if one.Name != "stuck" || len(one.Stack) == 0 {
		t.Errorf("Task(stuck) = %+v, want name stuck with a stack", one)
	}
	st, err := c.Stack(ctx, stuck)
	if err != nil {
		t.Fatal(err)
	}
	if st.Live || len(st.Stack) == 0 || !slices.ContainsFunc(st.Stack, func(f wire.Frame) bool { return filepath.Base(f.File) == "agent_test.go" }) {
		t.Errorf("Stack(stuck) = %+v, want a suspension stack through agent_test.go", st)
	}

	tree, err := c.Tree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Cycles) != 0 || len(tree.Roots) == 0 {
		t.Errorf("Tree() = %d roots, cycles %v", len(tree.Roots), tree.Cycles)
	}

	hist, err := c.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(hist, func(tk wire.Task) bool {
		return tk.Name == "fails" && tk.State == "failed" && tk.Error == "boom" && !tk.Finished.IsZero()
	}) {
		t.Errorf("History() = %+v, want the failed task", hist)
	}
	fin, err := c.Task(ctx, hist[len(hist)-1].ID)
	if err != nil || !fin.Done() {
		t.Errorf("Task(ended) = %+v, %v; want its final record", fin, err)
	}

	loops, err := c.Loops(ctx)
	if err != nil || !slices.ContainsFunc(loops, func(l wire.Loop) bool { return l.Name == "endpoints" && l.Tasks >= 4 }) {
		t.Errorf("Loops() = %+v, %v", loops, err)
	}
	snap, err := c.Snapshot(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Loops) == 0 || snap.Process.PID != os.Getpid() {
		t.Errorf("Snapshot() = %+v", snap)
	}
	evs, err := c.Blocking(ctx)
	if err != nil || evs == nil {
		t.Errorf("Blocking() = %v, %v; want an empty list", evs, err)
	}

	res, err := c.Cancel(ctx, stuck, "from the test")
	if err != nil || !res.Requested || res.Name != "stuck" {
		t.Fatalf("Cancel = %+v, %v", res, err)
	}
	waitFor(t, "stuck cancelled", func() bool {
		tk, err := c.Task(ctx, stuck)
		return err == nil && tk.State == "cancelled"
	})
	tk, _ := c.Task(ctx, stuck)
	if tk.CancelMsg != "from the test" || tk.CancelBy == "" {
		t.Errorf("cancelled task = msg %q by %q, want the message and who asked", tk.CancelMsg, tk.CancelBy)
	}
	if _, err := c.Cancel(ctx, stuck, ""); !errors.Is(err, client.ErrFinished) {
		t.Errorf("second Cancel err = %v, want client.ErrFinished", err)
	}
	if _, err := c.Cancel(ctx, 1<<60, ""); !errors.Is(err, client.ErrNoTask) {
		t.Errorf("Cancel(unknown) err = %v, want client.ErrNoTask", err)
	}
}

func TestReadOnlyRefusesCancel(t *testing.T) {
	var id uint64
	startLoop(t, "readonly", func(ctx context.Context) {
		id = runtime.Spawn(ctx, sleeper(time.Hour)).ID()
	})
	_, c := listen(t, Options{ReadOnly: true})
	if _, err := c.Cancel(context.Background(), id, ""); !errors.Is(err, client.ErrReadOnly) {
		t.Errorf("Cancel on a read-only agent err = %v, want client.ErrReadOnly", err)
	}
	l, _ := runtime.FindTask(id)
	if ti, ok := l.Task(id); !ok || ti.State != runtime.Pending {
		t.Errorf("task after refused cancel = %+v, want pending", ti)
	}
}

// TestAnswersWhileLoopBlocked lists and cancels while a step blocks the
// loop: the agent never waits for the loop.
func TestAnswersWhileLoopBlocked(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	var victim, blocker uint64
	startLoop(t, "blocked", func(ctx context.Context) {
		victim = runtime.Spawn(ctx, sleeper(time.Hour), runtime.Named("victim")).ID()
		blocker = runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			if err := runtime.Sleep(ctx, 20*time.Millisecond); err != nil {
				return struct{}{}, err
			}
			close(entered)
			<-release // blocks the loop
			return struct{}{}, nil
		}, runtime.Named("blocker")).ID()
	})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	_, c := listen(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	<-entered
	waitFor(t, "ongoing blocking event", func() bool {
		evs, err := c.Blocking(ctx)
		return err == nil && len(evs) > 0 && evs[len(evs)-1].Ongoing && evs[len(evs)-1].TaskID == blocker
	})
	ts, err := c.Tasks(ctx, client.TaskFilter{Loop: "blocked", States: []string{"running"}})
	if err != nil || len(ts) != 1 || ts[0].ID != blocker {
		t.Errorf("running tasks while blocked = %+v, %v; want the blocker", ts, err)
	}
	st, err := c.Stack(ctx, blocker)
	if err != nil || !st.Live || !slices.ContainsFunc(st.Stack, func(f wire.Frame) bool { return filepath.Base(f.File) == "agent_test.go" }) {
		t.Errorf("Stack(blocker) = %+v, %v; want the live stack through agent_test.go", st, err)
	}
	res, err := c.Cancel(ctx, victim, "while blocked")
	if err != nil || !res.Requested || !res.LoopBlocked {
		t.Errorf("Cancel while blocked = %+v, %v; want requested with loop_blocked", res, err)
	}
	close(release)
	waitFor(t, "victim cancelled after the loop is released", func() bool {
		tk, err := c.Task(ctx, victim)
		return err == nil && tk.State == "cancelled"
	})
}

// TestCloseWhileRequestsWait closes an agent whose request slots are all
// taken: the waiting request ends with the connection and Close returns
// without leaking goroutines (goleak checks at the end).
func TestCloseWhileRequestsWait(t *testing.T) {
	a, err := Listen(Options{Dir: privateDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	for range cap(a.h.sem) {
		a.h.sem <- struct{}{}
	}
	c, err := client.DialPath(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.Loops(context.Background())
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the request reach the queue
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return while a request waited for a slot")
	}
	if err := <-done; err == nil {
		t.Error("the waiting request succeeded on a closed agent")
	}
}

func TestListenPathTooLong(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 120))
	if a, err := Listen(Options{Dir: dir}); err == nil {
		a.Close()
		t.Fatal("Listen with a 130-byte socket path succeeded")
	} else if !strings.Contains(err.Error(), "set TASKDUMP_DIR to a shorter directory") {
		t.Errorf("err = %v, want advice to shorten the path", err)
	}
}

// TestFoldedTree: /v1/tree?fold=N answers the tree with N or more
// identical siblings folded by the agent (five sleepers spawned by one
// task are one node with four ids); a bad fold is a 400.
func TestFoldedTree(t *testing.T) {
	var parent uint64
	startLoop(t, "folded", func(ctx context.Context) {
		p := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			for range 5 {
				runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, runtime.Sleep(ctx, time.Hour) })
			}
			return 0, runtime.Sleep(ctx, time.Hour)
		}, runtime.Named("folding-parent"))
		parent = p.ID()
	})
	a, c := listen(t, Options{})
	ctx := context.Background()
	waitFor(t, "the five sleepers", func() bool {
		tr, err := c.Tree(ctx)
		n := findNode(tr.Roots, parent)
		return err == nil && n != nil && len(n.Children) == 5
	})
	tr, err := c.FoldedTree(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	n := findNode(tr.Roots, parent)
	if n == nil || len(n.Children) != 1 || len(n.Children[0].Folded) != 4 {
		t.Fatalf("folded tree under the parent: %+v", n)
	}
	dial := func() (net.Conn, error) { return net.Dial("unix", a.Path()) }
	if resp, body := rawRequest(t, dial, "GET", wire.PathTree+"?fold=2000000"); resp.StatusCode != http.StatusOK {
		t.Errorf("fold=2000000 (folds nothing): %d %s; want 200", resp.StatusCode, body)
	}
	for _, bad := range []string{"1", "x", "-3", "99999999999999999999"} {
		resp, body := rawRequest(t, dial, "GET", wire.PathTree+"?fold="+bad)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "bad fold") {
			t.Errorf("fold=%s: %d %s; want 400 and why", bad, resp.StatusCode, body)
		}
	}
}

// findNode returns the node of task id in the tree under nodes, or nil.
func findNode(nodes []*wire.TreeNode, id uint64) *wire.TreeNode {
	for _, n := range nodes {
		if n.Task.ID == id {
			return n
		}
		if f := findNode(n.Children, id); f != nil {
			return f
		}
	}
	return nil
}
