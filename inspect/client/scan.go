package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/taskdump/taskdump/inspect/internal/peercred"
	"github.com/taskdump/taskdump/inspect/internal/sockdir"
	"github.com/taskdump/taskdump/inspect/wire"
)

// Found is an agent socket found by Scan.
type Found struct {
	PID  int
	Path string
}

// Scan lists the agent sockets in dir (DefaultDir if empty), by pid, and
// removes stale ones: sockets of processes that no longer exist, or that
// nothing listens on. It returns the live ones and the paths it removed. A
// missing directory means no agents, unless it is $TASKDUMP_DIR (an error
// wrapping ErrBadDir, as for Dial). Each socket costs one connect, and
// sends nothing.
//
// Scan lists only sockets it trusts as Dial does: a directory that group
// or others may write, or that belongs to another user, is an error
// wrapping ErrUntrusted; a socket whose server does not run as its
// process's user (or, on Linux, is not that process) is left out (Ps
// reports it).
func Scan(dir string) (live []Found, removed []string, err error) {
	live, _, removed, err = scan(dir)
	return live, removed, err
}

// scan is Scan, with the sockets it refused.
func scan(dir string) (live []Found, refused []Status, removed []string, err error) {
	if dir == "" {
		if err := CheckEnvDir(); err != nil {
			return nil, nil, nil, err
		}
		dir = DefaultDir()
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil, nil
		}
		return nil, nil, nil, fmt.Errorf("client: scanning %s: %w", dir, err)
	}
	if err := trustScanDir(dir, fi); err != nil {
		return nil, nil, nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("client: scanning %s: %w", dir, err)
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".sock")
		if !ok || e.Type() != fs.ModeSocket {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 0 {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if !peercred.ProcessAlive(pid) {
			if err := os.Remove(p); err == nil {
				removed = append(removed, p)
			}
			continue
		}
		t, err := newTarget(p, pid)
		if err != nil {
			refused = append(refused, Status{PID: pid, Path: p, Err: err})
			continue
		}
		c, err := t.dial()
		switch {
		case err == nil:
			c.Close()
			live = append(live, Found{PID: pid, Path: p})
		case errors.Is(err, ErrUntrusted):
			refused = append(refused, Status{PID: pid, Path: p, Err: err})
		case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
			if err := os.Remove(p); err == nil {
				removed = append(removed, p)
			}
		default:
			// A live process whose agent cannot be reached now (its
			// listen queue full: EAGAIN): Ps says so, not nothing.
			refused = append(refused, Status{PID: pid, Path: p, Err: err})
		}
	}
	slices.SortFunc(live, func(a, b Found) int { return a.PID - b.PID })
	return live, refused, removed, nil
}

// trustScanDir refuses to scan a directory where someone else could have
// planted sockets.
func trustScanDir(dir string, fi fs.FileInfo) error {
	if !fi.IsDir() {
		return fmt.Errorf("client: %w: %s is not a directory", ErrBadDir, dir)
	}
	self := os.Geteuid()
	if owner, ok := sockdir.FileUID(fi); ok && owner != self && owner != 0 {
		return fmt.Errorf("client: %w: socket directory %s belongs to uid %d, not to you (uid %d); another user may have made it",
			ErrUntrusted, dir, owner, self)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("client: %w: socket directory %s has mode %#o, so other users could plant sockets there (use a directory only you can write, with --dir or %s)",
			ErrUntrusted, dir, perm, EnvDir)
	}
	return nil
}

// Status is what Ps learned of one agent socket.
type Status struct {
	PID     int
	Path    string
	Process wire.Process // the agent's answer, when Err is nil
	// Err says why there is no answer: it wraps ErrTimeout for an agent
	// that did not answer in time, ErrUntrusted for a socket the client
	// refuses, or another error.
	Err error
}

// PsTimeout is how long Ps waits for each agent by default.
const PsTimeout = 2 * time.Second

// Ps scans dir (DefaultDir if empty) as Scan does and asks every agent it
// finds for its process description, all at once (up to 16 at a time),
// each within timeout (PsTimeout if timeout <= 0), so that one agent that
// never answers costs the caller at most timeout. It returns one Status per agent socket by
// pid, the refused ones included (their Err wraps ErrUntrusted), and the
// stale sockets it removed.
func Ps(ctx context.Context, dir string, timeout time.Duration) (sts []Status, removed []string, err error) {
	if timeout <= 0 {
		timeout = PsTimeout
	}
	live, refused, removed, err := scan(dir)
	if err != nil {
		return nil, removed, err
	}
	sts = make([]Status, len(live), len(live)+len(refused))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, f := range live {
		sts[i] = Status{PID: f.PID, Path: f.Path}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			sts[i].Process, sts[i].Err = describe(ctx, f, timeout)
		}()
	}
	wg.Wait()
	sts = append(sts, refused...)
	slices.SortFunc(sts, func(a, b Status) int { return a.PID - b.PID })
	return sts, removed, nil
}

// describe asks the agent at f for its process description within timeout.
func describe(ctx context.Context, f Found, timeout time.Duration) (wire.Process, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t, err := newTarget(f.Path, f.PID)
	if err != nil {
		return wire.Process{}, err
	}
	c, err := dialTarget(t)
	if err != nil {
		return wire.Process{}, err
	}
	defer c.Close()
	return c.Process(ctx)
}
