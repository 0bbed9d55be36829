package inspect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/taskdump/taskdump/inspect/internal/sockdir"
)

// EnvDir is the environment variable that overrides the socket directory.
const EnvDir = sockdir.EnvDir

// ErrBadDir is wrapped by the error about a socket directory that is missing
// where it was named ($TASKDUMP_DIR, --dir) or is not a directory, for the
// client and the agent alike (it is client.ErrBadDir).
var ErrBadDir = sockdir.ErrBadDir

// DefaultDir returns the directory where agents of this user put their
// sockets: $TASKDUMP_DIR if set, else $XDG_RUNTIME_DIR/taskdump, else
// <temp dir>/taskdump-<uid>. It only computes the name.
func DefaultDir() string { return sockdir.Default() }

// SocketPath returns the socket path of process pid in dir (DefaultDir if
// dir is empty).
func SocketPath(dir string, pid int) string { return sockdir.SocketPath(dir, pid) }

// prepareDir makes dir ready for the agent's socket. A missing directory is
// created with mode 0700 (and its missing parents too). An existing one is
// never changed: it must be a real directory owned by this user with no
// permission for group or others, or Listen refuses it, saying how to fix
// it.
func prepareDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("inspect: socket directory: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err == nil {
		// Ours: the umask may only have removed bits; make it exactly 0700.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("inspect: socket directory: %w", err)
		}
		return nil
	} else if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("inspect: socket directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("inspect: socket directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("inspect: %w: %s is not a directory (set %s to another directory)", ErrBadDir, dir, EnvDir)
	}
	if owner, ok := sockdir.FileUID(fi); ok && owner != os.Geteuid() {
		return fmt.Errorf("inspect: socket directory %s belongs to uid %d, not %d (set %s to a directory of your own)",
			dir, owner, os.Geteuid(), EnvDir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("inspect: socket directory %s has mode %#o: group and others may use it (run chmod 700 %s, or set %s to a directory only you can use)",
			dir, perm, dir, EnvDir)
	}
	return nil
}

// removeStale removes the socket at path if nothing listens on it.
func removeStale(path string) (bool, error) {
	removed, err := sockdir.RemoveStale(path)
	if err != nil {
		return removed, fmt.Errorf("inspect: %w", err)
	}
	return removed, nil
}
