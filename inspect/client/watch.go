package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"sync"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

// WatchOption changes what Watch asks for.
type WatchOption func(*watchConfig)

type watchConfig struct {
	stacks bool
}

// WatchStacks asks for task records with their full stacks.
func WatchStacks() WatchOption { return func(c *watchConfig) { c.stacks = true } }

// Watch streams the agent's changes (wire.PathWatch): a snapshot, then an
// update every interval (0 means the agent's default, 1s; the agent
// refuses less than 100ms), calling fn with each message as it arrives,
// until ctx is done (Watch then returns ctx's error), fn returns an error
// (Watch returns it), or the stream ends (the agent closed: an error). The
// messages are as wire.WatchMessage documents: fold them with
// wire.WatchState.
//
// Each line is bounded (wire.MaxRecordingLine). An agent that sends
// nothing for three intervals and 10s more is taken as gone: Watch returns
// an error wrapping ErrTimeout. fn runs on the caller's goroutine; while it
// runs, nothing is read, and the agent folds what it could not send into
// its next message (WatchMessage.Dropped).
func (c *Client) Watch(ctx context.Context, interval time.Duration, fn func(*wire.WatchMessage) error, opts ...WatchOption) error {
	return c.watch(ctx, wire.PathWatch, interval, fn, opts)
}

// Flight reads the agent's flight recorder (wire.PathFlight): the last
// seconds of the stream, a snapshot then updates, calling fn with each
// message. An agent without one answers an APIError with code not_found.
func (c *Client) Flight(ctx context.Context, fn func(*wire.WatchMessage) error) error {
	rc, err := c.do(ctx, "GET", wire.PathFlight, nil, nil, math.MaxInt64)
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	for {
		m, err := readMessage(br, c.maxLine())
		if err != nil {
			if errors.Is(err, errEnd) {
				return nil
			}
			return streamErr(wire.PathFlight, err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
}

func (c *Client) maxLine() int {
	if c.maxSmall < MaxSmallBytes {
		return int(c.maxSmall) // lowered by a test
	}
	return wire.MaxRecordingLine
}

var errEnd = errors.New("end of stream")

// streamErr is readErr for a stream of the agent's: whole lines, then a
// connection that closed without the HTTP stream's end, is said so
// (ErrUnfinished's wording is a file's).
func streamErr(p string, err error) error {
	if errors.Is(err, ErrUnfinished) {
		return fmt.Errorf("client: reading %s: the connection closed mid-stream: %w", p, io.ErrUnexpectedEOF)
	}
	return readErr(p, err)
}

// readMessage reads one message line; errEnd at a clean end.
func readMessage(br *bufio.Reader, max int) (*wire.WatchMessage, error) {
	for {
		line, err := readLine(br, max)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errEnd
			}
			return nil, err
		}
		if len(line) == 0 {
			continue
		}
		m, err := wire.DecodeWatchMessage(line)
		if err != nil {
			return nil, fmt.Errorf("decoding a message: %w", err)
		}
		if m.Type == "" {
			return nil, errors.New("a message without a type")
		}
		return m, nil
	}
}

func (c *Client) watch(ctx context.Context, p string, interval time.Duration, fn func(*wire.WatchMessage) error, opts []WatchOption) error {
	var cfg watchConfig
	for _, o := range opts {
		o(&cfg)
	}
	q := url.Values{}
	if interval > 0 {
		q.Set("interval", interval.String())
	}
	if cfg.stacks {
		q.Set("stacks", "1")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rc, err := c.do(ctx, "GET", p, q, nil, math.MaxInt64)
	if err != nil {
		return err
	}
	defer rc.Close()
	// A watchdog: an agent silent for too long is gone (or hostile).
	silence := 3*max(interval, time.Second) + 10*time.Second
	var mu sync.Mutex
	timedOut := false
	dog := time.AfterFunc(silence, func() {
		mu.Lock()
		timedOut = true
		mu.Unlock()
		cancel()
	})
	defer dog.Stop()
	br := bufio.NewReaderSize(rc, 64<<10)
	for {
		m, err := readMessage(br, c.maxLine())
		if err != nil {
			mu.Lock()
			to := timedOut
			mu.Unlock()
			switch {
			case to:
				return fmt.Errorf("client: the agent sent nothing on %s for %s: %w", p, silence, ErrTimeout)
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.Is(err, errEnd):
				return fmt.Errorf("client: the agent ended the stream %s", p)
			}
			return streamErr(p, err)
		}
		dog.Stop() // fn may take its time: the agent is not late meanwhile
		if err := fn(m); err != nil {
			return err
		}
		dog.Reset(silence)
	}
}
