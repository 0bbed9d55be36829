// Command taskdump attaches to a live Go process that runs the inspect agent
// (inspect.Listen) and shows its tasks: what is pending, where each task is
// suspended, the await tree, what is blocking the loop, recently finished
// tasks; it can also cancel tasks.
//
// Usage:
//
//	taskdump ps
//	taskdump tasks PID [--state S] [--name GLOB] [--older-than D] [--json]
//	taskdump tree PID [--json]
//	taskdump stack PID ID [--json]
//	taskdump blocking PID [--json]
//	taskdump history PID [--json]
//	taskdump snapshot PID [-o FILE] [--stacks]
//	taskdump profile PID [--kind tasks|blocking] [-o FILE]
//	taskdump cancel PID [ID...] [--name GLOB] [--msg TEXT] [--wait]
//
// PID may also be the path of an agent's socket. The exit status is 0 on
// success, 1 with a one-line reason on stderr when the command failed (no
// such process, no agent in that process, no such task, permission denied,
// task already finished), and 2 for a usage error.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect"
)

// errUsage marks a usage error (exit status 2); its message is printed with
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
}

// allCommands returns the subcommands in the order --help lists them.
func allCommands() []*command {
	return []*command{psCmd(), tasksCmd(), treeCmd(), stackCmd(), blockingCmd(), historyCmd(), snapshotCmd(), profileCmd(), cancelCmd()}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	code := run(ctx, os.Args[1:], &env{stdout: out, stderr: os.Stderr, now: time.Now, flush: func() { out.Flush() },
		stdoutTTY: isTerminal(os.Stdout)})
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
		"Run 'taskdump <command> --help' for a command's flags.\n")
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
	}
	var cmd *command
	for _, c := range allCommands() {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(e.stderr, "taskdump: unknown command %q (run 'taskdump --help')\n", args[0])
		return 2
	}
	fs := pflag.NewFlagSet("taskdump "+cmd.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o opts
	fs.StringVar(&o.dir, "dir", "", "socket directory (default $TASKDUMP_DIR, else $XDG_RUNTIME_DIR/taskdump, else $TMPDIR/taskdump-<uid>)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up after this long")
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
		fmt.Fprintf(e.stderr, "taskdump %s: %v\n", cmd.name, err)
		fmt.Fprintf(e.stderr, "Run 'taskdump %s --help' for usage.\n", cmd.name)
		return 2
	}
	if o.dir != "" {
		os.Setenv(inspect.EnvDir, o.dir)
	}
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
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "taskdump %s: %s\n", cmd.name, ue.msg)
		fmt.Fprintf(e.stderr, "Run 'taskdump %s --help' for usage.\n", cmd.name)
		return 2
	}
	fmt.Fprintf(e.stderr, "taskdump: %s\n", reason(err))
	return 1
}

// reason renders err as one line without the package prefixes.
func reason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out: " + clean(err.Error())
	}
	return clean(err.Error())
}

func clean(s string) string {
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
