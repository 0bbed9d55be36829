package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

func cancelCmd() *command {
	return &command{
		name: "cancel", args: "PID [ID...]", short: "cancel tasks by id or name",
		long: "Cancel asks the loop to cancel tasks, by id and/or by --name glob. The request is\n" +
			"accepted even while a step blocks the loop; the loop delivers it when it regains\n" +
			"control. With --wait, waits for each task to end and prints how it ended.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			nameFlag(fs, &o.name, "also cancel every live task whose name matches this glob")
			fs.StringVar(&o.msg, "msg", "", "cancel message, shown in the task's error")
			boolFlag(fs, &o.wait, "wait", false, "wait for the tasks to end and print how they ended")
		},
		run: runCancel,
	}
}

func runCancel(ctx context.Context, e *env, o *opts, args []string) error {
	if len(args) < 1 {
		return usagef("want PID and task IDs or --name")
	}
	ids, err := cancelIDs(args[1:], o.name)
	if err != nil {
		return err
	}
	c, err := dial(o.dir, args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	var listed map[uint64]string // the tasks --name matched, by id: their names
	if o.name != "" {
		ts, err := tasksOf(ctx, c, client.TaskFilter{Name: o.name, Fields: []string{"name"}}) // ids and names: 100,000 matches are cheap
		if err != nil {
			return err
		}
		if len(ts) == 0 && len(ids) == 0 {
			return fmt.Errorf("no live task matches %q", o.name)
		}
		if len(ts) == 0 {
			// The tasks given by id are still cancelled; the glob that
			// added none is worth a word (a typo would go unseen).
			e.errf("taskdump: no live task matches --name %q; cancelling the tasks given by id\n", o.name)
		}
		given := make(map[uint64]bool, len(ids))
		for _, id := range ids {
			given[id] = true
		}
		listed = make(map[uint64]string, len(ts))
		for _, t := range ts {
			if !given[t.ID] {
				listed[t.ID] = t.Name
				ids = append(ids, t.ID)
			}
		}
	}
	requested, failed, err := sendCancels(ctx, e, c, ids, listed, o.msg)
	if err != nil || requested == nil {
		return err
	}
	if o.wait {
		failed += waitCancelled(ctx, e, c, requested)
	}
	if failed > 0 && len(ids) == 1 {
		// The reason is printed already; exit non-zero.
		return errAlreadyReported
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d cancels failed", failed, len(ids))
	}
	return nil
}

// cancelIDs parses the task ids of cancel's arguments, without repeats, and
// checks that there is something to cancel.
func cancelIDs(args []string, glob string) ([]uint64, error) {
	var ids []uint64
	for _, a := range args {
		id, err := parseTaskID(a)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 && glob == "" {
		return nil, usagef("want task IDs or --name GLOB")
	}
	return ids, checkGlob(glob)
}

// sendCancels asks the agent to cancel each task and prints each answer.
// It returns the cancels the agent accepted and how many it refused for
// reasons of their own (no such task, already finished: printed). A task
// of listed (which --name matched a moment ago) that has ended since is
// not a failure: it is what the cancel was for, and many may end at once
// (a process that ends with its first cancelled task). An
// answer that is not about one task (a read-only agent, a refused user, a
// broken connection) is returned as the error, once; if the process exited
// after a cancel was sent, that is printed and the requests are nil.
func sendCancels(ctx context.Context, e *env, c *client.Client, ids []uint64, listed map[uint64]string, msg string) ([]wire.CancelResult, int, error) {
	requested := []wire.CancelResult{}
	failed := 0
	for i, id := range ids {
		r, err := c.Cancel(ctx, id, msg)
		var ae *client.APIError
		switch {
		case err == nil:
		case !errors.As(err, &ae) && ctx.Err() == nil && agentGone(c.Path()):
			// The connection failed and nothing listens any more: the
			// process exited, most likely because this cancel (or an
			// earlier one) ended the task its life hung on. Its tasks are
			// gone with it: those not asked yet are counted, not listed.
			line := fmt.Sprintf("task %d: %s after the cancel was sent", id, goneReason(c.Path()))
			if left := len(ids) - i - 1; left > 0 {
				line += fmt.Sprintf("; %s not asked ended with it", plural(left, "more task"))
			}
			e.outf("%s\n", line)
			return nil, 0, nil
		case ae == nil || errors.Is(err, client.ErrReadOnly) || errors.Is(err, client.ErrPermission):
			// Not about this task: every other cancel would get the same
			// answer. Say it once.
			if left := len(ids) - i; len(ids) > 1 {
				err = fmt.Errorf("%w (%s not cancelled)", err, plural(left, "task"))
			}
			return nil, 0, err
		case errors.Is(err, client.ErrNoTask) || errors.Is(err, client.ErrFinished):
			if name, ok := listed[id]; ok {
				e.outf("task %d %q: ended before the cancel reached it\n", id, name)
				continue
			}
			fallthrough
		default:
			failed++
			e.errf("taskdump: %s\n", reason(err))
			continue
		}
		requested = append(requested, r)
		if r.LoopBlocked {
			e.outf("task %d %q: cancel requested (loop %s is blocked: delivered when it regains control)\n", r.ID, r.Name, r.Loop)
		} else {
			e.outf("task %d %q: cancel requested\n", r.ID, r.Name)
		}
	}
	e.flush()
	return requested, failed, nil
}

// waitCancelled waits for each requested task to end and prints how it
// ended, or that the process exited meanwhile. It returns how many waits
// failed (printed).
func waitCancelled(ctx context.Context, e *env, c *client.Client, requested []wire.CancelResult) int {
	failed := 0
	var loops *[]wire.Loop // the process's loops, asked once, at the first task not ended
	for _, r := range requested {
		t, err := waitEnded(ctx, c, r.ID)
		switch {
		case errors.Is(err, errTaskGone):
			e.outf("task %d %q: ended; its record is gone (its loop closed, or the history dropped it)\n", r.ID, r.Name)
		case errors.Is(err, errWaitEnded):
			failed++
			how := "--timeout ran out"
			why := "a task that catches its cancellations goes on"
			if errors.Is(err, context.Canceled) {
				how, why = "the wait was interrupted", "" // asked to stop: ask the agent nothing more
			} else {
				if loops == nil {
					ls := processLoops(ctx, c)
					loops = &ls
				}
				if b := blockedBy(*loops, r.ID, t.LoopID, r.Loop); b != "" {
					why = b
				}
			}
			last := "its state never read"
			if t.State != "" {
				last = "last seen " + t.State
			}
			if why != "" {
				why = "; " + why
			}
			e.errf("taskdump: task %d %q: not ended when %s (%s)%s\n", r.ID, r.Name, how, last, why)
		case errors.Is(err, errAgentGone):
			// Its end ended the process (or the process closed its
			// agent): the cancel was delivered, and the other tasks are
			// gone with the process.
			e.outf("task %d %q: %s before the task's end could be read\n", r.ID, r.Name, goneReason(c.Path()))
			return failed
		case err != nil:
			failed++
			e.errf("taskdump: task %d: %s\n", r.ID, reason(err))
		case t.Error != "":
			e.outf("task %d %q: %s: %s\n", t.ID, t.Name, t.State, t.Error)
		default:
			e.outf("task %d %q: %s\n", t.ID, t.Name, t.State)
		}
		e.flush()
	}
	return failed
}

// processLoops asks the agent for the process's loops once more, briefly
// (2 s), past ctx's end (--timeout ran out); nil if it does not answer.
func processLoops(ctx context.Context, c *client.Client) []wire.Loop {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	loops, err := c.Loops(ctx)
	if err != nil {
		return nil
	}
	return loops
}

// blockedBy says why the cancelled task id of the loop loopID (0: not
// known, then the loop named loop, if no other has that name) has not
// ended when that loop is blocked: by the task itself, or by another one,
// so the cancellation has not reached it. It returns "" when the loop is
// not blocked (or is not found).
func blockedBy(loops []wire.Loop, id, loopID uint64, loop string) string {
	var l *wire.Loop
	for i := range loops {
		switch {
		case loopID != 0 && loops[i].ID == loopID:
			l = &loops[i]
		case loopID == 0 && loops[i].Name == loop:
			if l != nil {
				return "" // two loops of that name: not known which
			}
			l = &loops[i]
		}
	}
	if l == nil || l.Blocking == nil {
		return ""
	}
	b := l.Blocking
	where := short(b.At)
	if where == "" {
		where = "an unknown place"
	}
	if b.Call != "" {
		where += " (" + clip(b.Call) + ")"
	}
	if b.TaskID == id {
		return fmt.Sprintf("it blocks its loop itself, at %s: a cancellation reaches it at its next await", where)
	}
	return fmt.Sprintf("loop %s is blocked by task %d %q at %s: the cancellation reaches the task when the loop regains control",
		clip(l.Name), b.TaskID, clip(b.TaskName), where)
}

// errTaskGone is returned by waitEnded when the task is neither live nor
// in the history.
var errTaskGone = errors.New("the task's record is gone")

// errWaitEnded is returned by waitEnded, with the context's error, when
// its context ended first (--timeout, an interrupt).
var errWaitEnded = errors.New("the wait ended before the task")

// errAgentGone is returned by waitEnded when the agent stopped answering
// and its socket is gone or refuses connections.
var errAgentGone = errors.New("the agent went away")

// waitEnded polls the task until it has ended, then returns its final
// record from the history. If the task is in neither, it returns
// errTaskGone; if the agent goes away meanwhile — the task's end ended the
// process — errAgentGone.
func waitEnded(ctx context.Context, c *client.Client, id uint64) (wire.Task, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	transportErrs := 0
	for {
		t, err := c.Task(ctx, id)
		var ae *client.APIError
		switch {
		case err == nil:
			transportErrs = 0
			if t.Done() {
				return t, nil
			}
		case errors.Is(err, client.ErrNoTask):
			// Ended, and its loop closed or the history dropped it.
			return t, errTaskGone
		case ctx.Err() != nil:
			return t, fmt.Errorf("%w: %w", errWaitEnded, ctx.Err())
		case errors.As(err, &ae):
			return t, err
		default:
			// The connection failed: the process may have exited.
			if agentGone(c.Path()) {
				return t, errAgentGone
			}
			if transportErrs++; transportErrs > 5 {
				return t, err
			}
		}
		select {
		case <-ctx.Done():
			return t, fmt.Errorf("%w: %w", errWaitEnded, ctx.Err())
		case <-tick.C:
		}
	}
}

// agentGone reports whether nothing listens on the socket at path any
// more, or the process it names has exited (a killed process leaves its
// socket behind).
func agentGone(path string) bool {
	c, err := client.DialPath(path)
	if err != nil {
		return errors.Is(err, client.ErrNoAgent) || errors.Is(err, client.ErrNoProcess)
	}
	c.Close()
	return false
}

// goneReason says why the agent at the socket path went away: "process
// 4242 exited" if the process named by the socket's file name has exited
// (within a second), else "the agent closed its socket".
func goneReason(sock string) string {
	if reason, ok := exitedReason(sock); ok {
		return reason
	}
	return "the agent closed its socket"
}

// exitedReason waits up to a second for the process target names (a PID,
// or a socket's file name: targetPID) to have exited (a zombie counts)
// and then says so: "process 4242 exited". ok is false if it still runs,
// or the target names none.
func exitedReason(sock string) (reason string, ok bool) {
	pid, ok := targetPID(sock)
	if !ok {
		return "", false
	}
	for range 50 {
		if processExited(pid) {
			return fmt.Sprintf("process %d exited", pid), true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", false
}

// targetPID returns the process a command's target names: a PID, or
// the path of an agent's socket, <pid>.sock.
func targetPID(target string) (int, bool) {
	pid, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(target), ".sock"))
	return pid, err == nil && pid > 0
}

// processExited reports whether pid has no process, or only a zombie
// whose parent has not yet waited for it.
func processExited(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	s := processState(pid)
	return s == 'Z' || s == 'X'
}

// processStopped reports whether process pid is stopped (SIGSTOP, or
// under a debugger), where /proc tells.
func processStopped(pid int) bool {
	s := processState(pid)
	return s == 'T' || s == 't'
}

// processState returns the state letter /proc/PID/stat gives process pid
// ('R', 'S', 'T', 'Z'...), 0 where it cannot be read.
func processState(pid int) byte {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// pid (comm) S ...: the state follows the last ')'.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2]
	}
	return 0
}
