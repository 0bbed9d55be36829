package client

import (
	"fmt"

	"github.com/taskdump/taskdump/inspect/internal/sockdir"
)

// EnvDir is the environment variable that overrides the socket directory
// (the same as inspect.EnvDir).
const EnvDir = sockdir.EnvDir

// ErrBadDir is wrapped by the error about a socket directory that is
// missing where it was named ($TASKDUMP_DIR, WithDir, a dir given to
// CheckDir) or is not a directory. It is inspect.ErrBadDir, which the
// agent returns too.
var ErrBadDir = sockdir.ErrBadDir

// DefaultDir returns the directory where agents of this user put their
// sockets: $TASKDUMP_DIR if set, else $XDG_RUNTIME_DIR/taskdump, else
// <temp dir>/taskdump-<uid>. It only computes the name.
func DefaultDir() string { return sockdir.Default() }

// SocketPath returns the socket path of process pid in dir (DefaultDir if
// dir is empty).
func SocketPath(dir string, pid int) string { return sockdir.SocketPath(dir, pid) }

// CheckEnvDir returns an error wrapping ErrBadDir when $TASKDUMP_DIR is set
// to a path that does not exist or is not a directory, and nil otherwise.
// Dial and Scan call it first (unless given a directory), so every command
// that looks for an agent reports a wrong $TASKDUMP_DIR the same way.
func CheckEnvDir() error {
	if err := sockdir.CheckEnv(); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	return nil
}

// CheckDir returns an error wrapping ErrBadDir when dir, a socket
// directory the user named, does not exist or is not a directory, and nil
// otherwise: the check Dial makes of WithDir's directory, worded as
// CheckEnvDir words it.
func CheckDir(dir string) error {
	if err := sockdir.Check(dir); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	return nil
}

// Option configures Dial. The zero set of options looks where DefaultDir
// says, and in the target user's default directories (see Dial).
type Option func(*config)

type config struct {
	dir string
}

// WithDir makes Dial look for the socket in dir only, as if $TASKDUMP_DIR
// were set to it, without touching the environment. Dial refuses a dir
// that does not exist or is not a directory (ErrBadDir). An empty dir
// changes nothing.
func WithDir(dir string) Option {
	return func(c *config) {
		if dir != "" {
			c.dir = dir
		}
	}
}
