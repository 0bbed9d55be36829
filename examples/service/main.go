// Command service is a realistic long-running program to attach taskdump
// to: a job queue fed by a producer, a pool of workers doing simulated
// remote calls (runtime.Sleep) and parsing off the loop (runtime.ToThread),
// a periodic reporter, a few jobs stuck forever on a future nobody
// resolves, and an occasional blocking misuse (time.Sleep inside a task)
// that the watchdog catches. The inspect agent is on.
//
//	go run ./examples/service &
//	taskdump tasks $!
//	taskdump tree $!
//	taskdump blocking $!
//	taskdump doctor $!
//	taskdump cancel $! --name 'stuck-*' --wait
//
// It runs until interrupted (or for -duration), then cancels its tasks and
// closes the agent. A part of it that ends on its own — a worker cancelled
// with taskdump cancel, say — is logged and the rest carries on, as in a
// real service; only a signal (or -duration) stops it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/taskdump/taskdump/inspect"
	"github.com/taskdump/taskdump/runtime"
)

type config struct {
	workers    int
	stuck      int
	rate       time.Duration
	blockEvery time.Duration
	blockFor   time.Duration
	report     time.Duration
	duration   time.Duration
	quiet      bool
}

func main() {
	var c config
	flag.IntVar(&c.workers, "workers", 4, "worker tasks")
	flag.IntVar(&c.stuck, "stuck", 3, "jobs stuck forever on a future nobody resolves")
	flag.DurationVar(&c.rate, "rate", 50*time.Millisecond, "the producer adds a job this often")
	flag.DurationVar(&c.blockEvery, "block-every", 10*time.Second, "how often the cache refresher blocks the loop (0: never)")
	flag.DurationVar(&c.blockFor, "block-for", 300*time.Millisecond, "how long each blocking misuse lasts")
	flag.DurationVar(&c.report, "report", 5*time.Second, "how often the reporter logs")
	flag.DurationVar(&c.duration, "duration", 0, "stop after this long (0: run until interrupted)")
	flag.BoolVar(&c.quiet, "quiet", false, "log only warnings")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	level := slog.LevelInfo
	if c.quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	agent, err := inspect.Listen(inspect.Options{})
	if err != nil {
		return err
	}
	defer agent.Close()
	log.Info("service started", "pid", os.Getpid(), "agent", agent.Path())
	fmt.Printf("service: pid %d, agent at %s\n", os.Getpid(), agent.Path())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	_, err = runtime.Run(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, serve(ctx, c, log)
	}, runtime.WithName("service"), runtime.WithLogger(log))
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	log.Info("service stopped")
	return err
}

// job is one unit of work from the queue.
type job struct {
	id  int
	key string
}

type stats struct {
	done, failed, timedOut int
}

// serve is the main task: it starts every part of the service and waits
// until the process is told to stop. A part that ends before that
// (cancelled from taskdump, or failed) is logged with how it ended, and the
// other parts go on.
func serve(ctx context.Context, c config, log *slog.Logger) error {
	jobs := runtime.NewQueue[job](32)
	st := &stats{}
	var parts []*runtime.Task[struct{}]
	parts = append(parts, runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, produce(ctx, jobs, c.rate)
	}, runtime.Named("producer")))
	for i := range c.workers {
		parts = append(parts, runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, work(ctx, jobs, st)
		}, runtime.Named(fmt.Sprintf("worker-%d", i+1))))
	}
	parts = append(parts, runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, reporter(ctx, c.report, jobs, st, log)
	}, runtime.Named("reporter")))
	for i := range c.stuck {
		// A bug: the reply future is never resolved, so these wait forever.
		runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, awaitReply(ctx)
		}, runtime.Named(fmt.Sprintf("stuck-job-%d", i+1)))
	}
	if c.blockEvery > 0 {
		parts = append(parts, runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, refreshCache(ctx, c.blockEvery, c.blockFor)
		}, runtime.Named("cache-refresh")))
	}
	return supervise(ctx, parts, log)
}

// supervise waits until ctx's task is cancelled (the service is told to
// stop), logging each part that ends before that; the others go on.
func supervise(ctx context.Context, parts []*runtime.Task[struct{}], log *slog.Logger) error {
	pending := make([]runtime.Handle, len(parts))
	byID := make(map[uint64]*runtime.Task[struct{}], len(parts))
	for i, p := range parts {
		pending[i] = p
		byID[p.ID()] = p
	}
	for len(pending) > 0 {
		done, rest, err := runtime.Wait(ctx, pending, runtime.ReturnWhen(runtime.FirstCompleted))
		if err != nil {
			return err // told to stop: Run cancels the parts
		}
		for _, h := range done {
			_, perr := byID[h.ID()].Result()
			log.Warn("part of the service stopped; the rest carries on",
				"task", h.Name(), "id", h.ID(), "state", h.State().String(), "err", perr, "left", len(rest))
		}
		pending = rest
	}
	// Every part has stopped: wait to be told to stop, as a service does.
	return runtime.NewEvent().Wait(ctx)
}

// produce puts a job on the queue every rate, waiting while it is full.
func produce(ctx context.Context, jobs *runtime.Queue[job], rate time.Duration) error {
	keys := []string{"users", "orders", "invoices", "search", "images"}
	for n := 1; ; n++ {
		if err := jobs.Put(ctx, job{id: n, key: keys[n%len(keys)]}); err != nil {
			return err
		}
		if err := runtime.Sleep(ctx, rate); err != nil {
			return err
		}
	}
}

// work takes jobs off the queue and handles each in a task of its own,
// giving up on it after a second.
func work(ctx context.Context, jobs *runtime.Queue[job], st *stats) error {
	for {
		j, err := jobs.Get(ctx)
		if err != nil {
			return err
		}
		t := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return handle(ctx, j)
		}, runtime.Named(fmt.Sprintf("job-%d-%s", j.id, j.key)))
		_, err = runtime.WaitFor(ctx, time.Second, t)
		jobs.TaskDone()
		switch {
		case errors.Is(err, runtime.ErrTimeout):
			st.timedOut++
		case ctx.Err() != nil:
			if err != nil {
				return err // the cancellation, with its message
			}
			return ctx.Err()
		case err != nil:
			st.failed++
		default:
			st.done++
		}
	}
}

// handle does one job: a simulated remote call, then parsing the reply
// off the loop.
func handle(ctx context.Context, j job) (int, error) {
	body, err := fetch(ctx, j.key)
	if err != nil {
		return 0, err
	}
	return runtime.ToThread(ctx, func() (int, error) {
		time.Sleep(time.Duration(5+rand.IntN(20)) * time.Millisecond) // CPU-heavy parsing, off the loop
		return len(body), nil
	})
}

// fetch simulates a remote call: a latency between 20 ms and 1.2 s, and
// an error now and then.
func fetch(ctx context.Context, key string) (string, error) {
	if err := runtime.Sleep(ctx, time.Duration(20+rand.IntN(1200))*time.Millisecond); err != nil {
		return "", err
	}
	if rand.IntN(20) == 0 {
		return "", fmt.Errorf("fetch %s: 503 service unavailable", key)
	}
	return "payload for " + key, nil
}

// awaitReply waits for a reply that never comes.
func awaitReply(ctx context.Context) error {
	reply := runtime.NewFuture[string](ctx)
	_, err := reply.Await(ctx)
	return err
}

// reporter logs the service's counters every period.
func reporter(ctx context.Context, period time.Duration, jobs *runtime.Queue[job], st *stats, log *slog.Logger) error {
	for {
		if err := runtime.Sleep(ctx, period); err != nil {
			return err
		}
		log.Info("report", "done", st.done, "failed", st.failed, "timed_out", st.timedOut, "queued", jobs.Len())
	}
}

// refreshCache is the misuse: it calls time.Sleep (a blocking call) inside
// a task, so every other task waits. The fix is runtime.ToThread.
func refreshCache(ctx context.Context, every, blockFor time.Duration) error {
	for {
		if err := runtime.Sleep(ctx, every); err != nil {
			return err
		}
		time.Sleep(blockFor) // BUG: blocks the loop; use runtime.ToThread
	}
}
