// Command taskdump attaches to a live Go process that runs the inspect agent
// (inspect.Listen) and shows its tasks: what is pending, where each task is
// suspended, the await tree, what is blocking the loop, recently finished
// tasks; it can also cancel tasks.
//
// Usage:
//
//	taskdump ps
//	taskdump tasks PID [--state S] [--name GLOB] [--older-than D] [--waiting-longer-than D] [--loop L]
//		[--sort [-]COLUMN] [--reverse] [--group] [--json [--stacks]]
//	taskdump tree PID [--json]
//	taskdump resources PID [--kind K] [--json]
//	taskdump stack PID ID [--all] [--json]
//	taskdump blocking PID [-n N] [--all] [--json]
//	taskdump history PID [-n N] [--json]
//	taskdump snapshot PID [-o FILE] [--stacks]
//	taskdump profile PID [--kind tasks|blocking|cpu] [--duration D] [-o FILE]
//	taskdump cancel PID [ID...] [--name GLOB] [--msg TEXT] [--wait]
//	taskdump socket PID
//	taskdump doctor PID [--stuck-after D] [--json]
//	taskdump top PID | --replay FILE
//	taskdump record PID -o FILE [--duration D] [--interval D] [--flight]
//	taskdump --version
//
// PID may also be the path of an agent's socket. The exit status is 0 on
// success, 1 with a one-line reason on stderr when the command failed (no
// such process, no agent in that process, no such task, permission denied,
// task already finished), 3 when doctor found a warning or an error, and 2
// for a usage error, which is followed by a line naming --help. Text that
// came from the inspected process is escaped before it reaches the terminal
// (see escape); --json output is exact.
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
)

// usageError marks a usage error (exit status 2); its message is printed with
// the subcommand's usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// command is one subcommand.
type command struct {
	name  string
	args  string // synopsis of the positional arguments
	short string
	long  string
	flags func(fs *pflag.FlagSet, o *opts)
	run   func(ctx context.Context, e *env, o *opts, args []string) error
}

// opts holds every flag; each subcommand registers the ones it uses.
type opts struct {
	dir       string
	timeout   time.Duration
	json      bool
	states    []string
	name      string
	olderThan time.Duration
	loop      string
	msg       string
	wait      bool
	out       string
	stacks    bool
	all       bool
	kind      string
	cpuFor    time.Duration // profile --kind cpu --duration
	// interrupt is the command's context before --timeout: it ends only
	// with a signal (session).
	interrupt context.Context
	last      int
	// stuckAfter is doctor's --stuck-after.
	stuckAfter time.Duration
	// waitingLongerThan, sortBy, reverse and group are tasks' flags of
	// those names (sortBy is --sort).
	waitingLongerThan time.Duration
	sortBy            string
	reverse           bool
	group             bool
}

// env is where a command writes. stdout is buffered: flush shows what was
// written so far.
type env struct {
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	flush  func()
	// stdoutTTY says stdout is a terminal: binary output is refused there.
	stdoutTTY bool
	// stderrTTY says stderr is a terminal: record shows its progress there.
	stderrTTY bool
}

// outf writes human-readable output to standard output, escaped (see
// printer).
func (e *env) outf(format string, args ...any) { printer{e.stdout}.printf(format, args...) }

// errf writes a message to standard error, escaped (see printer). It
// flushes standard output first, so the two stay in order.
func (e *env) errf(format string, args ...any) {
	e.flush()
	printer{e.stderr}.printf(format, args...)
}

// session returns a context that ends with an interrupt (Ctrl-C,
// SIGTERM) but not with --timeout, which bounds a connection, not a
// session of top or record or a CPU profile, and its cancel.
func session(o *opts) (context.Context, context.CancelFunc) {
	return context.WithCancel(cmp.Or(o.interrupt, context.Background()))
}

// allCommands returns the subcommands in the order --help lists them.
func allCommands() []*command {
	return []*command{psCmd(), tasksCmd(), treeCmd(), resourcesCmd(), stackCmd(), blockingCmd(), historyCmd(), snapshotCmd(), profileCmd(), cancelCmd(), socketCmd(), doctorCmd(), topCmd(), recordCmd()}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	code := run(ctx, os.Args[1:], &env{stdout: out, stderr: os.Stderr, now: time.Now, flush: func() { out.Flush() },
		stdoutTTY: isTerminal(os.Stdout), stderrTTY: isTerminal(os.Stderr)})
	out.Flush()
	stop()
	os.Exit(code)
}

func topUsage(w io.Writer) {
	fmt.Fprintf(w, "taskdump attaches to a live Go process running the inspect agent and shows its tasks.\n\n")
	fmt.Fprintf(w, "Usage:\n  taskdump <command> [flags] [arguments]\n\nCommands:\n")
	for _, c := range allCommands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.short)
	}
	fmt.Fprintf(w, "\nPID may also be the path of an agent's socket. Agents listen on\n"+
		"$TASKDUMP_DIR/<pid>.sock (default $XDG_RUNTIME_DIR/taskdump, else $TMPDIR/taskdump-<uid>).\n"+
		"Run 'taskdump <command> --help' for a command's flags; 'taskdump --version' prints the version.\n")
}

// version returns the module version and Go version of this binary, from
// its build information: "taskdump v1.2.0 (go1.26.0)" for a binary built
// with go install, "taskdump v0.0.0-20261127165244-e7b4fbda9cb1+dirty
// (go1.26.0)" for one built in a checkout, and "taskdump (devel) (go1.26.0)",
// with the revision if known, for one built without VCS information.
func version() string {
	v := "(devel)"
	var rev, modified string
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
	}
	s := "taskdump " + v
	if rev != "" && v == "(devel)" { // a pseudo-version names the revision already
		s += " rev " + rev[:min(len(rev), 12)]
		if modified == "true" {
			s += ", modified"
		}
	}
	return s + " (" + goruntime.Version() + ")"
}

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		topUsage(e.stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			return run(ctx, []string{args[1], "--help"}, e)
		}
		topUsage(e.stdout)
		return 0
	case "--version", "version":
		e.outf("%s\n", version())
		return 0
	}
	var cmd *command
	for _, c := range allCommands() {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		if strings.HasPrefix(args[0], "-") {
			// A flag before the command: flags are the command's.
			e.errf("taskdump: unknown flag: %s (flags follow the command: taskdump <command> [flags])\nRun 'taskdump --help' for usage.\n", args[0])
			return 2
		}
		e.errf("taskdump: unknown command %q\nRun 'taskdump --help' for usage.\n", args[0])
		return 2
	}
	fs := pflag.NewFlagSet("taskdump "+cmd.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o opts
	fs.StringVar(&o.dir, "dir", "", "socket directory (default $TASKDUMP_DIR, else $XDG_RUNTIME_DIR/taskdump, else $TMPDIR/taskdump-<uid>)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up after this long, 0 for no limit")
	if cmd.flags != nil {
		cmd.flags(fs, &o)
	}
	fs.SortFlags = false
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n%s", strings.TrimSpace("taskdump "+cmd.name+" "+cmd.args), cmd.long, fs.FlagUsages())
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			usage(e.stdout)
			return 0
		}
		e.errf("taskdump %s: %s\nRun 'taskdump %s --help' for usage.\n", cmd.name, err, cmd.name)
		return 2
	}
	if o.timeout < 0 {
		e.errf("taskdump %s: bad --timeout %s: want a positive duration (0: no limit)\nRun 'taskdump %s --help' for usage.\n",
			cmd.name, o.timeout, cmd.name)
		return 2
	}
	o.interrupt = ctx
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	err := cmd.run(ctx, e, &o, fs.Args())
	e.flush()
	if err == nil {
		return 0
	}
	if errors.Is(err, errAlreadyReported) {
		return 1
	}
	if errors.Is(err, errProblems) {
		return exitProblems
	}
	var ue *usageError
	if errors.As(err, &ue) {
		e.errf("taskdump %s: %s\nRun 'taskdump %s --help' for usage.\n", cmd.name, ue.msg, cmd.name)
		return 2
	}
	if r, ok := brokenBy(err, fs.Args()); ok {
		e.errf("taskdump: %s\n", r)
		return 1
	}
	e.errf("taskdump: %s%s\n", reason(err), stoppedNote(err, cmd.name, fs.Args()))
	return 1
}

// stoppedNote explains a request that timed out because its process is
// stopped (SIGSTOP, a debugger): how to resume it, and for cancel that
// the cancel may still be delivered then. "" otherwise.
func stoppedNote(err error, cmd string, args []string) string {
	if len(args) == 0 || !errors.Is(err, context.DeadlineExceeded) {
		return ""
	}
	pid, ok := targetPID(args[0])
	if !ok || !processStopped(pid) {
		return ""
	}
	note := fmt.Sprintf("; process %d is stopped: kill -CONT %d resumes it", pid, pid)
	if cmd == "cancel" {
		note += ", and a cancel sent may be delivered then"
	}
	return note
}

// brokenBy says why a command's connection to its process broke, if the
// process (its first argument, a PID or a socket path) exited meanwhile:
// "process 4242 exited before it answered", rather than the transport's
// error ("unexpected EOF", "connection reset by peer").
func brokenBy(err error, args []string) (string, bool) {
	var oe *net.OpError
	var ae *client.APIError
	if len(args) == 0 || errors.As(err, &ae) || errors.Is(err, context.DeadlineExceeded) ||
		!errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) && !errors.As(err, &oe) {
		return "", false
	}
	if r, ok := exitedReason(args[0]); ok {
		return r + " before it answered", true
	}
	return "", false
}

// reason renders err as one line without the package prefixes. The
// client's own timeout errors already say what timed out after how long.
func reason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, client.ErrTimeout) {
		return "timed out: " + clean(err.Error())
	}
	return clean(err.Error())
}

func clean(s string) string {
	s = strings.ReplaceAll(s, "client: ", "")
	s = strings.ReplaceAll(s, "inspect: ", "")
	s = strings.ReplaceAll(s, "\n", " ")
	return s
}

// boolValue is a boolean flag that --help shows as plain --name (pflag
// v1.1.0 prints "--name[=true|false]" for its own bool flags).
type boolValue struct{ p *bool }

func (b boolValue) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b.p = v
	return nil
}
func (b boolValue) String() string {
	if b.p == nil {
		return "false"
	}
	return strconv.FormatBool(*b.p)
}
func (b boolValue) Type() string { return "bool" }

// boolFlag registers a boolean flag with default def.
func boolFlag(fs *pflag.FlagSet, p *bool, name string, def bool, usage string) {
	*p = def
	fs.VarPF(boolValue{p}, name, "", usage).NoOptDefVal = "true"
}

// globValue is a --name glob that may be given once: pflag keeps the last
// of repeated string flags, and a second --name silently replacing the
// first (cancel --name 'a*' --name 'b*' cancelling only b*) would surprise.
type globValue struct {
	p   *string
	set bool
}

func (g *globValue) Set(s string) error {
	if g.set {
		return fmt.Errorf("given twice (%q, then %q): one glob per command; run it once per pattern, or use a glob that matches both", *g.p, s)
	}
	*g.p, g.set = s, true
	return nil
}
func (g *globValue) String() string {
	if g.p == nil {
		return ""
	}
	return *g.p
}
func (g *globValue) Type() string { return "string" }

// nameFlag registers --name, a glob on task names, given at most once.
func nameFlag(fs *pflag.FlagSet, p *string, usage string) {
	*p = ""
	fs.Var(&globValue{p: p}, "name", usage)
}
