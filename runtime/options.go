package runtime

import (
	"log/slog"
	"time"
)

// Option configures a Loop (NewLoop, Run).
type Option func(*config)

type config struct {
	name          string
	observer      Observer
	slowStep      time.Duration
	historySize   int
	blockingSize  int
	logger        *slog.Logger
	threadWorkers int
	record        bool
	noDrive       bool // tests: every step is run from the loop goroutine (Loop.drive)
}

func newConfig(opts []Option) config {
	c := config{
		slowStep:     100 * time.Millisecond,
		historySize:  1000,
		blockingSize: 100,
		record:       true,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c
}

// WithName names the loop; taskdump shows the name. The default is
// "loop-<id>".
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithObserver installs o to receive every lifecycle transition and every
// blocking event, synchronously on the loop goroutine. With no observer the
// hooks cost one nil check each.
func WithObserver(o Observer) Option { return func(c *config) { c.observer = o } }

// WithSlowStepThreshold sets how long one step may run before the blocking
// watchdog reports it (default 100ms). Zero or negative turns the watchdog off.
func WithSlowStepThreshold(d time.Duration) Option { return func(c *config) { c.slowStep = d } }

// WithHistorySize sets how many finished tasks the loop remembers (default
// 1000). Zero keeps none.
func WithHistorySize(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.historySize = n
		}
	}
}

// WithBlockingHistorySize sets how many blocking events the loop keeps
// (default 100).
func WithBlockingHistorySize(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.blockingSize = n
		}
	}
}

// WithLogger sets the logger for the watchdog's warnings and the "task error
// was never retrieved" report (default slog.Default()). It is called from
// the loop's goroutine and, for a step still blocking after a second, from
// a goroutine of the watchdog's. A logger that panics is not called again:
// its panic goes to standard error, once, and the loop goes on. One that
// calls runtime.Goexit (t.Fatal in a test's handler) is not called again
// either, and ends the loop: Run returns an error matching ErrGoexit.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithThreadWorkers bounds the goroutines that run ToThread work for this
// loop (default min(32, NumCPU+4), as asyncio's default executor).
func WithThreadWorkers(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.threadWorkers = n
		}
	}
}

// withoutRecording switches the always-on instrumentation off. It exists only
// so the benchmarks can measure what the instrumentation costs.
func withoutRecording() Option { return func(c *config) { c.record = false } }

// withoutDrive makes the loop goroutine run every step itself (no
// coroutine drives: Loop.drive), so tests can compare the two.
func withoutDrive() Option { return func(c *config) { c.noDrive = true } }

// TaskOption configures one task (Spawn, SpawnIn).
type TaskOption func(*taskConfig)

type taskConfig struct {
	name string
}

// Named names a task. The default name is "Task-<id>", as asyncio's.
func Named(name string) TaskOption { return func(c *taskConfig) { c.name = name } }
