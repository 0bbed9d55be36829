package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

// readRecordingFile reads a whole recording with the client's reader.
func readRecordingFile(t *testing.T, name string) (wire.RecordingHeader, []*wire.WatchMessage) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := client.ReadRecording(f)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	var msgs []*wire.WatchMessage
	for {
		m, err := rec.Next()
		if errors.Is(err, io.EOF) {
			return rec.Header, msgs
		}
		if err != nil {
			t.Fatalf("reading %s after %d messages: %v", name, len(msgs), err)
		}
		msgs = append(msgs, m)
	}
}

var recordSummary = regexp.MustCompile(`^recorded (\d+) messages?, (\d+) tasks?, over [0-9.]+m?s: wrote (\S+) \((\d+) bytes\)\n$`)

// TestRecord records a real fixture process with the real binary, plain
// and gzipped, while a task is cancelled: the file has the header naming
// the process, a snapshot with the fixture's tasks, then updates, one of
// which has the cancelled task's end; taskdump says what it wrote.
func TestRecord(t *testing.T) {
	for _, name := range []string{"rec.jsonl", "rec.jsonl.gz"} {
		t.Run(name, func(t *testing.T) {
			p := startProc(t, bins.fixture)
			out := filepath.Join(t.TempDir(), name)
			done := make(chan result, 1)
			go func() {
				done <- td(t, p.dir, "record", pidArg(p), "-o", out, "--duration", "3s", "--interval", "200ms")
			}()
			time.Sleep(time.Second)
			ok(t, p.dir, "cancel", pidArg(p), "--name", "stuck-1")
			r := <-done
			if r.code != 0 {
				t.Fatalf("record: exit %d, stderr %q", r.code, r.stderr)
			}
			sum := recordSummary.FindStringSubmatch(r.stdout)
			fi, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			if sum == nil || sum[3] != out || sum[4] != strconv.FormatInt(fi.Size(), 10) {
				t.Errorf("record said %q, want the summary naming %s and its %d bytes", r.stdout, out, fi.Size())
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", out, fi.Mode().Perm())
			}
			raw, _ := os.ReadFile(out)
			if gz := bytes.HasPrefix(raw, []byte{0x1f, 0x8b}); gz != strings.HasSuffix(name, ".gz") {
				t.Errorf("%s gzip-compressed: %v", name, gz)
			}
			h, msgs := readRecordingFile(t, out)
			if h.Process.PID != p.pid || h.Format != wire.RecordingFormat || h.Flight {
				t.Errorf("header %+v, want pid %d, not flight", h, p.pid)
			}
			if len(msgs) < 5 || sum != nil && sum[1] != strconv.Itoa(len(msgs)) {
				t.Fatalf("%d messages in the file (summary %q), want at least 5 and the summary's count", len(msgs), r.stdout)
			}
			if msgs[0].Type != wire.WatchSnapshot {
				t.Fatalf("first message %q, want a snapshot", msgs[0].Type)
			}
			var stuck uint64
			for _, wl := range msgs[0].Loops {
				for _, tk := range wl.New {
					if tk.Name == "stuck-1" {
						stuck = tk.ID
						if len(tk.Stack) == 0 {
							t.Errorf("stuck-1 recorded without its stack")
						}
					}
				}
			}
			if stuck == 0 {
				t.Fatalf("snapshot without the fixture's task stuck-1")
			}
			ended := false
			for i, m := range msgs {
				if m.Seq != uint64(i+1) || i > 0 && m.Type != wire.WatchUpdate {
					t.Errorf("message %d: seq %d type %q", i, m.Seq, m.Type)
				}
				for _, wl := range m.Loops {
					ended = ended || slices.ContainsFunc(wl.Ended, func(e wire.EndedTask) bool { return e.ID == stuck && e.State == "cancelled" })
				}
			}
			if !ended {
				t.Errorf("no message has stuck-1 (%d) ending cancelled", stuck)
			}
		})
	}
}

// startRecording starts taskdump record of p into out, without
// --duration, and returns once the file has its first message; the
// command is killed at the end of the test if it still runs.
func startRecording(t *testing.T, p *proc, out string, args ...string) (cmd *exec.Cmd, stdout, stderr *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd = exec.CommandContext(ctx, bins.taskdump, append([]string{"record", pidArg(p), "-o", out, "--interval", "100ms"}, args...)...)
	cmd.Env = append(os.Environ(), "TASKDUMP_DIR="+p.dir)
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFile := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(out); err == nil && fi.Size() > 100 {
			return cmd, stdout, stderr
		}
		if time.Now().After(waitFile) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("record wrote nothing in 20s; stderr %q", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRecordInterrupted: without --duration, record runs until SIGINT,
// then closes the file (gzip complete) and says what it wrote, exit 0.
func TestRecordInterrupted(t *testing.T) {
	p := startProc(t, bins.fixture)
	out := filepath.Join(t.TempDir(), "int.jsonl.gz")
	cmd, stdout, stderr := startRecording(t, p, out)
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("record after SIGINT: %v; stderr %q", err, stderr.String())
	}
	if !recordSummary.MatchString(stdout.String()) || stderr.Len() != 0 {
		t.Errorf("record after SIGINT said %q, stderr %q", stdout.String(), stderr.String())
	}
	_, msgs := readRecordingFile(t, out) // a complete gzip stream, read to its end
	if len(msgs) < 2 {
		t.Errorf("%d messages recorded, want at least 2", len(msgs))
	}
}

// TestRecordInterruptedAfterTimeout: --timeout bounds the connection, not
// the recording, and an interrupt after it has passed still ends the
// recording (it was ignored once the deadline had fired).
func TestRecordInterruptedAfterTimeout(t *testing.T) {
	p := startProc(t, bins.fixture)
	out := filepath.Join(t.TempDir(), "late.jsonl")
	cmd, stdout, stderr := startRecording(t, p, out, "--timeout", "1s")
	time.Sleep(1500 * time.Millisecond) // past --timeout
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil || !recordSummary.MatchString(stdout.String()) {
			t.Errorf("record after --timeout and SIGINT: %v; stdout %q, stderr %q", err, stdout.String(), stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("record still running 20s after SIGINT, its --timeout passed")
	}
}

// TestRecordProcessExits: a process that exits while it is recorded ends
// the recording: record says so and exits 0, and the file is whole;
// whether the process ended cleanly (its agent removed the socket) or was
// killed (the socket is left behind), and after --timeout passed (it
// bounds the connection, not the recording).
func TestRecordProcessExits(t *testing.T) {
	for _, tt := range []struct {
		name  string
		sig   syscall.Signal
		args  []string
		after time.Duration
	}{
		{"terminated", syscall.SIGTERM, nil, 0},
		{"killed", syscall.SIGKILL, nil, 0},
		{"after --timeout", syscall.SIGTERM, []string{"--timeout", "1s"}, 1500 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startProc(t, bins.fixture)
			out := filepath.Join(t.TempDir(), "exit.jsonl")
			cmd, stdout, stderr := startRecording(t, p, out, tt.args...)
			time.Sleep(tt.after)
			p.cmd.Process.Signal(tt.sig)
			p.cmd.Wait()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("record after the process exited: %v; stdout %q, stderr %q", err, stdout.String(), stderr.String())
			}
			want := fmt.Sprintf("the recording ends there: process %d exited\n", p.pid)
			first, rest, _ := strings.Cut(stdout.String(), "\n")
			if !recordSummary.MatchString(first+"\n") || rest != want || stderr.Len() != 0 {
				t.Errorf("record said %q, stderr %q; want the summary and %q", stdout.String(), stderr.String(), want)
			}
			_, msgs := readRecordingFile(t, out)
			if len(msgs) < 1 {
				t.Fatalf("%d messages recorded, want at least 1", len(msgs))
			}
			if tt.sig != syscall.SIGTERM {
				return
			}
			// A clean exit closes the agent, which sends a last message:
			// the recording ends with the loop closed and how its tasks
			// ended (cancelled by the loop's end).
			closed := false
			for _, m := range msgs {
				for _, wl := range m.Loops {
					closed = closed || wl.Closed && slices.ContainsFunc(wl.Ended, func(e wire.EndedTask) bool { return e.State == "cancelled" })
				}
			}
			if !closed {
				t.Errorf("no message of the recording closes the loop with its tasks cancelled (last: %+v)", msgs[len(msgs)-1])
			}
		})
	}
}

// TestRecordFlight: --flight writes the agent's flight recorder at once: a
// recording marked flight whose first message is a snapshot of the fixture.
func TestRecordFlight(t *testing.T) {
	p := startProc(t, bins.fixture)
	time.Sleep(1500 * time.Millisecond) // a few of the recorder's ticks
	out := filepath.Join(t.TempDir(), "flight.jsonl")
	r := td(t, p.dir, "record", pidArg(p), "--flight", "-o", out)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "the flight recorder held ") || !strings.Contains(r.stdout, "wrote "+out) {
		t.Fatalf("record --flight: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	h, msgs := readRecordingFile(t, out)
	if !h.Flight || h.Process.PID != p.pid || len(msgs) == 0 || msgs[0].Type != wire.WatchSnapshot {
		t.Fatalf("flight recording: header %+v, %d messages", h, len(msgs))
	}
	// The recorder may have started before the fixture's loop: fold.
	var state wire.WatchState
	for _, m := range msgs {
		state.Apply(m)
	}
	found := false
	for _, ls := range state.Loops {
		for _, tk := range ls.Tasks {
			found = found || tk.Name == "stuck-2"
		}
	}
	if !found {
		t.Errorf("flight recording without the fixture's task stuck-2")
	}
}

// TestRecordErrors: usage errors exit 2; a file that cannot be written
// is named as the user gave it, and is not left behind.
func TestRecordErrors(t *testing.T) {
	p := startProc(t, bins.fixture)
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"record", pidArg(p)}, 2, "want -o FILE"},
		{[]string{"record", pidArg(p), "-o", "-"}, 2, "a recording goes to a file"},
		{[]string{"record", pidArg(p), "-o", "/dev/stdout"}, 2, "a recording goes to a file"},
		{[]string{"record"}, 2, "want PID"},
		{[]string{"record", pidArg(p), "-o", dir}, 2, "-o " + dir + " is a directory"},
		{[]string{"record", pidArg(p), "-o", "x", "--interval", "10ms"}, 2, "bad --interval 10ms"},
		{[]string{"record", pidArg(p), "-o", "x", "--duration", "-1s"}, 2, "bad --duration -1s"},
		{[]string{"record", pidArg(p), "-o", "x", "--flight", "--duration", "1s"}, 2, "--duration does not apply"},
		{[]string{"record", pidArg(p), "-o", "x", "--flight", "--interval", "5s"}, 2, "--interval and --stacks do not apply"},
		{[]string{"record", pidArg(p), "-o", "x", "--flight", "--stacks=false"}, 2, "--interval and --stacks do not apply"},
		{[]string{"record", pidArg(p), "-o", dir + "/no/such/rec.jsonl"}, 1, "cannot write " + dir + "/no/such/rec.jsonl: no such file or directory"},
		{[]string{"record", "999999999", "-o", dir + "/x.jsonl"}, 1, "no such process"},
	} {
		t.Run(strings.Join(tt.args[1:], " "), func(t *testing.T) {
			r := td(t, p.dir, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") > 2 {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tt.code, tt.want)
			}
		})
	}
	if _, err := os.Stat(dir + "/x.jsonl"); err == nil {
		t.Errorf("a failed record left its file")
	}
}

// TestRecordSymlink: a symbolic link planted at the output path (in a
// shared directory such as /tmp, by another user) is not followed: record
// refuses it, and the file it points to is left as it was.
func TestRecordSymlink(t *testing.T) {
	p := startProc(t, bins.fixture)
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rec.jsonl", "rec.jsonl.gz"} {
		link := filepath.Join(dir, name)
		if err := os.Symlink(victim, link); err != nil {
			t.Fatal(err)
		}
		r := td(t, p.dir, "record", pidArg(p), "--flight", "-o", link)
		if r.code != 1 || !strings.Contains(r.stderr, "cannot write "+link+": it is a symbolic link") {
			t.Errorf("record -o %s (a symlink): exit %d, stderr %q; want 1 and a symbolic link refused", name, r.code, r.stderr)
		}
		if b, err := os.ReadFile(victim); err != nil || string(b) != "precious\n" {
			t.Errorf("after record -o %s: the link's target holds %q, %v; want it untouched", name, b, err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("after record -o %s: the link is gone or replaced (%v)", name, err)
		}
	}
}

// TestRecordNothingKeepsFile: a recording that gets no message (the
// process is stopped) leaves a file at its path as it was: the file is
// created, or truncated, with the first message.
func TestRecordNothingKeepsFile(t *testing.T) {
	p := startProc(t, bins.fixture)
	name := filepath.Join(t.TempDir(), "precious.jsonl")
	if err := os.WriteFile(name, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Signal(syscall.SIGCONT) })
	r := td(t, p.dir, "record", pidArg(p), "-o", name, "--duration", "1s")
	if r.code != 1 || !strings.Contains(r.stderr, "the agent sent nothing; "+name+" not written") {
		t.Errorf("record of a stopped process: exit %d, stderr %q; want 1 and nothing written", r.code, r.stderr)
	}
	if b, err := os.ReadFile(name); err != nil || string(b) != "precious\n" {
		t.Errorf("after a recording with no message the file holds %q, %v; want it as it was", b, err)
	}
}

// TestRecordExistingFile: an existing file of the user's is overwritten
// and made mode 0600, as a new one is; one that another user owns (who
// planted it to read the recording) is refused before it is truncated.
func TestRecordExistingFile(t *testing.T) {
	p := startProc(t, bins.fixture)
	dir := t.TempDir()
	own := filepath.Join(dir, "own.jsonl")
	if err := os.WriteFile(own, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := td(t, p.dir, "record", pidArg(p), "--flight", "-o", own); r.code != 0 {
		t.Fatalf("record -o over the user's own file: exit %d, stderr %q", r.code, r.stderr)
	}
	if fi, err := os.Stat(own); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the recording over a 0644 file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	if h, msgs := readRecordingFile(t, own); h.Process.PID != p.pid || len(msgs) == 0 {
		t.Errorf("the recording over an old file: header %+v, %d messages", h, len(msgs))
	}

	if os.Geteuid() != 0 {
		t.Skip("a file of another user needs root to make")
	}
	planted := filepath.Join(dir, "planted.jsonl")
	if err := os.WriteFile(planted, []byte("planted\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(planted, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	r := td(t, p.dir, "record", pidArg(p), "--flight", "-o", planted)
	if r.code != 1 || !strings.Contains(r.stderr, "cannot write "+planted+": it belongs to uid 65534") {
		t.Errorf("record -o a file of uid 65534: exit %d, stderr %q; want 1 and the owner named", r.code, r.stderr)
	}
	if b, err := os.ReadFile(planted); err != nil || string(b) != "planted\n" {
		t.Errorf("the planted file holds %q, %v; want it untouched", b, err)
	}
}

// TestSparseFlight: a flight recording whose messages are seconds apart
// (the recorder slows down on a large process) says so; one a second
// apart does not.
func TestSparseFlight(t *testing.T) {
	for _, tt := range []struct {
		gap  time.Duration
		want string
	}{
		{40 * time.Second, "one message every 40s on average: on a process this large the flight recorder records less often"},
		{time.Second, ""},
	} {
		rec := client.NewRecorder(io.Discard)
		rec.Flight = true
		t0 := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
		loop := wire.Loop{ID: 1, Name: "main"}
		msgs := []*wire.WatchMessage{
			{Type: wire.WatchSnapshot, Seq: 1, Time: t0, Process: &wire.Process{PID: 1, Loops: []wire.Loop{loop}}, Loops: []wire.WatchLoop{{Loop: loop}}},
			{Type: wire.WatchUpdate, Seq: 2, Time: t0.Add(tt.gap), Loops: []wire.WatchLoop{{Loop: loop}}},
			{Type: wire.WatchUpdate, Seq: 3, Time: t0.Add(2 * tt.gap), Loops: []wire.WatchLoop{{Loop: loop}}},
		}
		for _, m := range msgs {
			if err := rec.Write(m); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		sparseFlight(&env{stdout: &out, stderr: io.Discard, now: time.Now, flush: func() {}}, rec)
		if got := out.String(); tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("gap %s: said %q, want %q", tt.gap, got, tt.want)
		}
	}
}
