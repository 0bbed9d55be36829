package inspect

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

// The test binary also runs as a child process for the tests that need an
// agent in another process, or a hostile one running as another user.
const (
	envChild    = "INSPECT_TEST_CHILD" // "agent", "fake" or "watch"
	envChildArg = "INSPECT_TEST_CHILD_ARG"
)

// childAgent runs a real agent in dir until its standard input closes.
func childAgent(dir string) {
	a, err := Listen(Options{Dir: dir})
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("ready " + a.Path() + "\n")
	io.Copy(io.Discard, os.Stdin)
	a.Close()
	os.Exit(0)
}

// childWatch is another client process: it opens a stream from the agent
// at path, prints "ready" once its first message came (or "error ..."),
// and keeps reading until its standard input closes.
func childWatch(path string) {
	c, err := client.DialPath(path)
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	first := true
	err = c.Watch(ctx, time.Second, func(*wire.WatchMessage) error {
		if first {
			first = false
			os.Stdout.WriteString("ready watching\n")
		}
		return nil
	})
	if first {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

// fakeTasks is what the hostile fake agent answers to any request.
const fakeTasks = `[{"id":1,"name":"fake","state":"pending"}]`

// childFake is a hostile agent: it listens on path (creating its
// directory, mode 0755, if needed; the socket gets mode 0666), prints
// "received" on its standard output whenever a client sends it anything,
// and answers every request with fake tasks, until its standard input
// closes.
func childFake(path string) {
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Chmod(path, 0o666)
	os.Stdout.WriteString("ready " + path + "\n")
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			if _, err := br.Peek(1); err != nil {
				return
			}
			os.Stdout.WriteString("received\n")
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
				strconv.Itoa(len(fakeTasks)) + "\r\n\r\n" + fakeTasks))
		}()
	}
}

// child is a test binary running as a child process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	pid   int
}

// startChild runs the test binary bin in mode ("agent", "fake" or "watch") with arg,
// as attr's user if attr is not nil, and waits until it is ready. It stops
// at the end of the test.
func startChild(t *testing.T, bin, mode, arg string, attr *syscall.SysProcAttr) *child {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envChildArg+"="+arg)
	cmd.SysProcAttr = attr
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 100), pid: cmd.Process.Pid}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			ch.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		cmd.Wait()
	})
	select {
	case l := <-ch.lines:
		if !strings.HasPrefix(l, "ready ") {
			t.Fatalf("child %s: %s", mode, l)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("child %s did not start", mode)
	}
	return ch
}

// received reports whether the fake agent got any byte from a client.
func (c *child) received() bool {
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return false
			}
			if l == "received" {
				return true
			}
		case <-time.After(200 * time.Millisecond):
			return false
		}
	}
}

// sharedBinary copies the test binary where another user may run it.
func sharedBinary(t *testing.T, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "inspect.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}
