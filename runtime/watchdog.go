package runtime

import (
	"log/slog"
	"reflect"
	goruntime "runtime"
	"strings"
	"sync/atomic"
	"time"
)

// BlockEvent is a step that ran longer than the slow-step threshold,
// blocking every other task of its loop.
type BlockEvent struct {
	LoopID   uint64
	Loop     string
	TaskID   uint64
	TaskName string
	Started  time.Time
	Duration time.Duration // so far, while Ongoing
	Ongoing  bool
	// Stack is the stack of the goroutine running the step, innermost first,
	// captured while it was blocked (empty if the step ended before the
	// watchdog looked, or if the watchdog skipped the capture to bound its
	// own cost: see captureBudget). It has the shape of every task stack (see
	// TaskInfo.Stack): the call that blocked on top (time.Sleep), the user's
	// frames down to the task's function, each frame with its Kind.
	Stack []Frame
	// At is the innermost user frame of Stack, and Call the short name of
	// the function it was calling there ("time.Sleep"), computed once here:
	// readers use them as they are.
	At   Frame
	Call string
}

// watchdog is a goroutine per loop that looks at the running step a few
// times per threshold (at least every maxTick), and calibrates the loop's
// clock (tsc.go) at each look. When nothing blocks it costs a ticker and a
// clock reading or two per tick; while its loop idles it sleeps (sleep),
// so that an idle process does not wake for it.
type watchdog struct {
	stopCh chan struct{}
	done   chan struct{}
	// idle is set while the loop goroutine waits in idleWait; asleep while
	// the watchdog sleeps (or is about to), until the loop wakes it
	// through wake. Any goroutine.
	idle, asleep atomic.Bool
	wake         chan struct{}
	budget       captureBudget
	cal          tscCal // the loop clock's calibration (tsc.go)
	// tried is the step (task id, start) whose stack the watchdog last
	// captured, found or not: one capture per blocking step.
	tried struct {
		task  uint64
		start int64
	}
	// logged is the step the watchdog last logged as still blocking.
	logged struct {
		task  uint64
		start int64
	}
}

// maxTick bounds the watchdog's period (a quarter of the threshold): the
// loop's clock is calibrated at its ticks, and its first rate, over 2 ms,
// may be off by 1e-4 (tsc.go), 10 µs over 100 ms.
const maxTick = 100 * time.Millisecond

// stillBlocking is how long a step must block before the watchdog logs it
// while it still runs: a second, or ten slow-step thresholds if that is
// longer. A step that ends sooner is logged once, at its end, with its
// whole duration; one that runs longer (time.Sleep(time.Hour) in a task)
// is logged then too, so that a block that never ends is seen in the log.
func stillBlocking(slowStep time.Duration) int64 {
	return int64(max(time.Second, 10*slowStep))
}

// captureShare bounds the time the watchdog spends capturing stacks to
// 1/captureShare of one core.
const captureShare = 20

// captureBudget rations the watchdog's stack captures. A capture takes a
// goroutine profile of the whole process, about 1 µs and 300 bytes per
// goroutine (100,000 pending tasks: ~95 ms and 33 MB); a process whose steps
// block one after another would otherwise spend a core on capturing them.
// After a capture that took d, none is made for (captureShare-1)·d: the
// blocks in between are reported without a stack. With a few thousand
// goroutines a capture takes a few milliseconds and every block keeps its
// stack. The zero value allows a capture.
type captureBudget struct {
	next int64 // loop clock ns before which no capture is made
}

// allow reports whether a capture may start at now.
func (b *captureBudget) allow(now int64) bool { return now >= b.next }

// spent records a capture that ran from start to end.
func (b *captureBudget) spent(start, end int64) {
	b.next = end + (captureShare-1)*(end-start)
}

func (d *watchdog) start(l *Loop) {
	if l.cfg.slowStep <= 0 || !l.cfg.record {
		return
	}
	d.stopCh = make(chan struct{})
	d.done = make(chan struct{})
	d.wake = make(chan struct{}, 1)
	go d.run(l)
}

// loopWakes is called by the loop goroutine when an idle wait ends: it
// wakes the watchdog if it sleeps. An atomic store and load when it does
// not.
func (d *watchdog) loopWakes() {
	d.idle.Store(false)
	if d.asleep.Load() {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

// sleep parks the watchdog, at a tick, while the loop idles: there is no
// step to watch, and the loop's clock reads the monotonic clock meanwhile
// (rest). It reports whether it slept and was woken, and whether the
// watchdog was stopped meanwhile; neither if the loop was not idle. The
// loop sets idle before it waits and clears it before it looks at asleep;
// the watchdog sets asleep before it looks at idle: one of them sees the
// other's store, so a loop that wakes always wakes a sleeping watchdog.
//
// Woken, it calibrates the clock and restarts the ticker: the clock then
// reads the counter for a whole period before the watchdog may rest it
// again, which works off what the calibration from rest put it ahead
// (update); resting again sooner would let that build up.
func (d *watchdog) sleep(l *Loop, tk *time.Ticker, period time.Duration) (woke, stopped bool) {
	select {
	case <-d.wake: // stale: sent while the watchdog was not asleep
	default:
	}
	d.asleep.Store(true)
	defer d.asleep.Store(false)
	if !d.idle.Load() {
		return false, false
	}
	tk.Stop()
	l.rest()
	select {
	case <-d.stopCh:
		return false, true
	case <-d.wake:
	}
	l.calibrate(&d.cal, period)
	tk.Reset(period)
	return true, false
}

func (d *watchdog) stop() {
	if d.stopCh == nil {
		return
	}
	close(d.stopCh)
	<-d.done
}

func (d *watchdog) run(l *Loop) {
	defer close(d.done)
	period := min(max(l.cfg.slowStep/4, time.Millisecond), maxTick)
	l.calibrate(&d.cal, period)
	if !d.cal.off && period > tscFirst {
		// A first rate soon, over a short baseline: the loop reads the
		// counter from then on, and the ticks make the rate exact.
		first := time.NewTimer(tscFirst)
		select {
		case <-d.stopCh:
			first.Stop()
			return
		case <-first.C:
		}
		l.calibrate(&d.cal, period)
	}
	tk := time.NewTicker(period)
	defer tk.Stop()
	for {
		select {
		case <-d.stopCh:
			return
		case <-tk.C:
		}
		l.calibrate(&d.cal, period)
		if d.look(l) {
			continue
		}
		// No step runs: sleep while the loop idles. Woken, look once at
		// once: on one P, a step that spins from the wake-up on lets this
		// goroutine run only when the scheduler preempts it (10-20 ms),
		// and that look may find it past the threshold already, where
		// waiting for the next tick would take a second preemption. Not
		// sleep again before that tick (see sleep).
		woke, stopped := d.sleep(l, tk, period)
		if stopped {
			return
		}
		if woke {
			d.look(l)
		}
	}
}

// look is the watchdog's look at the running step, at a tick or as it
// wakes: a step past the threshold is reported as ongoing (once), its
// stack captured when the budget allows, and logged once it has blocked
// for stillBlocking. It reports false if no step runs.
func (d *watchdog) look(l *Loop) bool {
	l.mu.Lock()
	cur, start, c, ongoing := l.cur, l.curStart, l.curCoro, l.ongoing
	l.mu.Unlock()
	if cur == nil || c == nil {
		return false
	}
	now := l.clock()
	if now-start < int64(l.cfg.slowStep) {
		return true
	}
	allow := d.budget.allow(now)
	tried := d.tried.task == cur.id && d.tried.start == start
	reported := ongoing != nil && ongoing.TaskID == cur.id && ongoing.Started.Equal(l.wall(start))
	logNow := now-start >= stillBlocking(l.cfg.slowStep) && (d.logged.task != cur.id || d.logged.start != start)
	if reported && (tried || !allow) {
		// Reported; one reported without a capture gets one when the
		// budget allows.
		if logNow {
			ev := *ongoing
			ev.Duration = time.Duration(now - start)
			d.logStill(l, ev, start)
		}
		return true
	}
	var stack []Frame
	if allow {
		stack = liveStack(cur)
		d.budget.spent(now, l.clock())
		d.tried.task, d.tried.start = cur.id, start
	}
	ev := l.blockEvent(cur, start, now, stack)
	ev.Ongoing = true
	l.mu.Lock()
	still := l.cur == cur && l.curStart == start
	if still {
		l.ongoing = &ev
		l.caught.Store(true)
	} else if stack != nil {
		// The step ended while the capture ran (with 100,000 goroutines
		// a capture takes ~0.1-0.2 s, longer than many blocks): the
		// event recorded at its end has no stack; give it this one.
		l.lateStackLocked(ev)
	}
	l.mu.Unlock()
	if still && logNow {
		d.logStill(l, ev, start)
	}
	return true
}

// logStill logs ev, a step that still blocks the loop after stillBlocking,
// once per step (watchdog goroutine: the loop is blocked; the Observer
// hears of the block on the loop goroutine, when the step ends).
func (d *watchdog) logStill(l *Loop, ev BlockEvent, start int64) {
	d.logged.task, d.logged.start = ev.TaskID, start
	where, advice := blockText(ev)
	l.logAside(slog.LevelWarn, "task \""+ev.TaskName+"\" has blocked the loop for "+ev.Duration.Round(time.Millisecond).String()+
		" so far and still blocks it, at "+where+advice,
		"loop", l.name, "task_id", ev.TaskID, "duration", ev.Duration, "ongoing", true, "file", ev.At.File, "line", ev.At.Line)
}

// blockText says where a block happened and what to do about it.
func blockText(ev BlockEvent) (where, advice string) {
	where = "an unknown place (no stack: the step ended before the watchdog looked, or it rationed its captures)"
	advice = "; if the task does blocking work there, move it to runtime.ToThread (a garbage collection of a very large heap can also hold the loop)"
	if !ev.At.IsZero() {
		where = ev.At.Short()
		if ev.Call != "" {
			where += " (" + ev.Call + ")"
		}
		advice = "; move blocking work to runtime.ToThread"
	}
	return where, advice
}

func (l *Loop) blockEvent(t *task, start, now int64, stack []Frame) BlockEvent {
	ev := BlockEvent{LoopID: l.id, Loop: l.name, TaskID: t.id, TaskName: t.displayName(),
		Started: l.wall(start), Duration: time.Duration(now - start), Stack: stack}
	ev.At, ev.Call = blockSite(stack)
	return ev
}

// blockSite finds the innermost user frame and what it called.
func blockSite(stack []Frame) (Frame, string) {
	for i, f := range stack {
		if f.Kind == FrameUser {
			call := ""
			if i > 0 {
				call = shortFunc(stack[i-1].Function)
			}
			return f, call
		}
	}
	return Frame{}, ""
}

// blockedLocked records a step of t that ran from start to end past the
// threshold; the warning and the observer call happen after the lock.
func (l *Loop) blockedLocked(t *task, start, end int64) {
	var ev BlockEvent
	if o := l.ongoing; o != nil && o.TaskID == t.id && o.Started.Equal(l.wall(start)) {
		ev = *o
		ev.Duration = time.Duration(end - start)
	} else {
		ev = l.blockEvent(t, start, end, nil)
	}
	ev.Ongoing = false
	l.ongoing = nil
	if l.cfg.blockingSize > 0 {
		if l.blocking == nil {
			l.blocking = make([]BlockEvent, l.cfg.blockingSize)
		}
		l.blocking[l.blockNext] = ev
		l.blockNext++
		if l.blockNext == len(l.blocking) {
			l.blockNext = 0
			l.blockFull = true
		}
	}
	l.pendingBlocks = append(l.pendingBlocks, ev)
}

// lateStackLocked gives ev's stack (and site) to the recorded event of the
// same step, if it is still in the loop's blocking history without one. The
// warning logged and the Observer's OnBlock at the step's end went without
// it; Blocking (the agent, the doctor, the blocked profile) has it.
func (l *Loop) lateStackLocked(ev BlockEvent) {
	for i := range l.blocking {
		e := &l.blocking[i]
		if e.TaskID == ev.TaskID && e.Started.Equal(ev.Started) && len(e.Stack) == 0 && e.LoopID == ev.LoopID {
			e.Stack, e.At, e.Call = ev.Stack, ev.At, ev.Call
			return
		}
	}
}

// reportBlocks logs and hands to the observer the blocking events recorded
// since the last call. Loop goroutine, outside the lock.
func (l *Loop) reportBlocks() {
	l.endIfLoggerExited()
	for _, ev := range l.pendingBlocks {
		where, advice := blockText(ev)
		l.log(slog.LevelWarn, "task \""+ev.TaskName+"\" blocked the loop for "+ev.Duration.Round(time.Millisecond).String()+
			" at "+where+advice,
			"loop", l.name, "task_id", ev.TaskID, "duration", ev.Duration, "file", ev.At.File, "line", ev.At.Line)
		if l.obs != nil && !l.obsFailed {
			l.onBlock(ev)
		}
	}
	clear(l.pendingBlocks)
	l.pendingBlocks = l.pendingBlocks[:0]
}

// onBlock hands a blocking event to the observer, containing its panic.
func (l *Loop) onBlock(ev BlockEvent) {
	defer l.recoverObserver("OnBlock", "blocked_loop")
	l.obs.OnBlock(ev)
}

// Blocking returns the loop's recent blocking events, oldest first, and the
// ongoing one last if a step is blocking now.
func (l *Loop) Blocking() []BlockEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []BlockEvent
	if l.blockFull {
		out = append(out, l.blocking[l.blockNext:]...)
	}
	out = append(out, l.blocking[:l.blockNext]...)
	if l.ongoing != nil {
		ev := *l.ongoing
		ev.Duration = time.Duration(l.clock() - l.curStart)
		out = append(out, ev)
	}
	return out
}

// liveStack returns the stack, innermost first and trimmed as every task
// stack is (taskStack), of the goroutine running a step of t right now, or
// nil if it cannot be found. It takes a goroutine
// profile (runtime.GoroutineProfile: the world stops only briefly, stacks
// are collected concurrently; about 1 µs per goroutine) and picks the one
// coroutine that runs a task's step (the frame (*task).exec without
// (*task).parkSince or holdGoexit above it) for t's function.
func liveStack(t *task) []Frame {
	recs := make([]goruntime.StackRecord, goruntime.NumGoroutine()+64)
	for {
		n, ok := goruntime.GoroutineProfile(recs)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]goruntime.StackRecord, n+64)
	}
	names := make(map[uintptr]string)
	name := func(pc uintptr) string {
		if s, ok := names[pc]; ok {
			return s
		}
		s := ""
		if fn := goruntime.FuncForPC(pc - 1); fn != nil {
			s = fn.Name()
		}
		names[pc] = s
		return s
	}
	var fallback []uintptr
	fallbacks := 0
	for i := range recs {
		pcs := recs[i].Stack()
		running, mine := false, false
	scan:
		for _, pc := range pcs {
			switch name(pc) {
			case parkName, parkSinceName, holdName: // a suspended task, or one parked for good
				break scan
			case execName: // a task's step, running
				running = true
				break scan
			}
		}
		if !running {
			continue
		}
		// It runs a step; is it t's? Look for t's function.
		for _, pc := range pcs {
			if fn := goruntime.FuncForPC(pc - 1); fn != nil && fn.Entry() == t.fnPC {
				mine = true
				break
			}
		}
		if mine {
			raw := frameCache(nil).logicalStack(pcs)
			return cutIfFull(taskStack(raw), raw, len(pcs), len(recs[i].Stack0))
		}
		fallback = pcs
		fallbacks++
	}
	if fallbacks == 1 {
		raw := frameCache(nil).logicalStack(fallback)
		return cutIfFull(taskStack(raw), raw, len(fallback), len(recs[0].Stack0))
	}
	return nil
}

// The functions liveStack tells running steps from suspended ones by: a
// task parks through parkSince (park, parkAt), and one that called
// runtime.Goexit stays in holdGoexit, under exec.
var parkName, parkSinceName, holdName, execName = func() (string, string, string, string) {
	pkg := strings.TrimSuffix(goruntime.FuncForPC(reflect.ValueOf(newConfig).Pointer()).Name(), ".newConfig")
	return pkg + ".(*task).park", pkg + ".(*task).parkSince", pkg + ".(*coro).holdGoexit", pkg + ".(*task).exec"
}()
