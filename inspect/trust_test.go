package inspect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
)

// nobody is the other user of the attack tests.
var nobody = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}

// attackBase returns a directory every user may write, like /tmp, with a
// copy of the test binary that another user may run.
func attackBase(t *testing.T) (base, bin string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a hostile agent as another uid (65534)")
	}
	base = t.TempDir()
	for d := base; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(base, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	bindir := filepath.Join(base, "bin")
	if err := os.Mkdir(bindir, 0o755); err != nil {
		t.Fatal(err)
	}
	return base, sharedBinary(t, bindir)
}

// TestPlantedSocketDir: with XDG_RUNTIME_DIR unset, another user creates
// <TMPDIR>/taskdump-<our uid>/ first and plants <pid>.sock for our
// process. The client refuses it, having sent nothing.
func TestPlantedSocketDir(t *testing.T) {
	base, bin := attackBase(t)
	t.Setenv("TMPDIR", base)
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv(EnvDir, "")
	planted := SocketPath("", os.Getpid())
	if want := filepath.Join(base, "taskdump-0"); filepath.Dir(planted) != want {
		t.Fatalf("default dir = %s, want %s", filepath.Dir(planted), want)
	}
	fake := startChild(t, bin, "fake", planted, nobody)

	tests := []struct {
		name string
		try  func() error
	}{
		{"Dial", func() error { c, err := client.Dial(os.Getpid()); return use(c, err) }},
		{"DialPath", func() error { c, err := client.DialPath(planted); return use(c, err) }},
		{"Scan", func() error { _, _, err := client.Scan(""); return err }},
		{"Ps", func() error { _, _, err := client.Ps(context.Background(), "", 0); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.try()
			if !errors.Is(err, client.ErrUntrusted) {
				t.Fatalf("err = %v, want client.ErrUntrusted", err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "uid 65534") {
				t.Errorf("err = %q, want one line naming uid 65534", msg)
			}
			if fake.received() {
				t.Error("the planted agent received a request")
			}
		})
	}
}

// use runs one request on a client that should not exist, and reports what
// it got as an error.
func use(c *client.Client, err error) error {
	if err != nil {
		return err
	}
	defer c.Close()
	ts, err := c.Tasks(context.Background(), client.TaskFilter{})
	if err != nil {
		return err
	}
	return errors.New("connected, and got tasks " + ts[0].Name)
}

// TestPlantedServer: the directory is ours, but the socket in it is served
// by another user (as when a socket, or a symlink to one, is put there): the
// peer credentials give it away, before anything is sent.
func TestPlantedServer(t *testing.T) {
	base, bin := attackBase(t)
	dir := filepath.Join(base, "ours")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvDir, dir)
	// The other user listens in its own directory; we move the socket into
	// ours (the socket stays the other user's).
	evil := filepath.Join(base, "evil", "x.sock")
	fake := startChild(t, bin, "fake", evil, nobody)
	planted := SocketPath(dir, os.Getpid())
	if err := os.Rename(evil, planted); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		try  func() error
	}{
		{"Dial", func() error { c, err := client.Dial(os.Getpid()); return use(c, err) }},
		{"DialPath", func() error { c, err := client.DialPath(planted); return use(c, err) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.try()
			if !errors.Is(err, client.ErrUntrusted) || !strings.Contains(err.Error(), "runs as uid 65534") {
				t.Fatalf("err = %v, want client.ErrUntrusted saying the server runs as uid 65534", err)
			}
			if fake.received() {
				t.Error("the planted agent received a request")
			}
		})
	}
	t.Run("Scan", func(t *testing.T) {
		live, _, err := client.Scan("")
		if err != nil || len(live) != 0 {
			t.Errorf("Scan = %v, %v; want no live agent", live, err)
		}
		sts, _, err := client.Ps(context.Background(), "", time.Second)
		if err != nil || len(sts) != 1 || !errors.Is(sts[0].Err, client.ErrUntrusted) {
			t.Errorf("Ps = %+v, %v; want the planted socket refused", sts, err)
		}
		if fake.received() {
			t.Error("the planted agent received a request")
		}
	})
}

// TestTrustedSockets: the checks let through what they should.
func TestTrustedSockets(t *testing.T) {
	dir := privateDir(t)
	t.Setenv(EnvDir, dir)
	a, err := Listen(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// A directory that others may read but not write is fine for the
	// client.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		dial func() (*client.Client, error)
	}{
		{"Dial", func() (*client.Client, error) { return client.Dial(os.Getpid()) }},
		{"DialPath", func() (*client.Client, error) { return client.DialPath(a.Path()) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.dial()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Process(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	// One that others may write is refused, before connecting.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Dial(os.Getpid()); !errors.Is(err, client.ErrUntrusted) || !strings.Contains(err.Error(), "mode 0777") {
		t.Errorf("Dial in a 0777 directory: err = %v, want client.ErrUntrusted naming the mode", err)
	}
	if _, _, err := client.Scan(""); !errors.Is(err, client.ErrUntrusted) {
		t.Errorf("Scan of a 0777 directory: err = %v, want client.ErrUntrusted", err)
	}
	os.Chmod(dir, 0o700)
}
