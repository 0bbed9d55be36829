package inspect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// EnvDir is the environment variable that overrides the socket directory.
const EnvDir = "TASKDUMP_DIR"

// ErrBadDir is wrapped by the error about a socket directory that is missing
// where it was named ($TASKDUMP_DIR, --dir) or is not a directory, for the
// client and the agent alike.
var ErrBadDir = errors.New("bad socket directory")

// DefaultDir returns the directory where agents of this user put their
// sockets: $TASKDUMP_DIR if set, else $XDG_RUNTIME_DIR/taskdump, else
// <temp dir>/taskdump-<uid>. It only computes the name.
func DefaultDir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return userDir(os.Getuid(), os.Getenv("XDG_RUNTIME_DIR"))
}

func userDir(uid int, xdg string) string {
	if xdg != "" {
		return filepath.Join(xdg, "taskdump")
	}
	return filepath.Join(os.TempDir(), "taskdump-"+strconv.Itoa(uid))
}

// SocketPath returns the socket path of process pid in dir (DefaultDir if
// dir is empty).
func SocketPath(dir string, pid int) string {
	if dir == "" {
		dir = DefaultDir()
	}
	return filepath.Join(dir, strconv.Itoa(pid)+".sock")
}

// CheckEnvDir returns an error wrapping ErrBadDir when $TASKDUMP_DIR is set
// to a path that does not exist or is not a directory, and nil otherwise.
// Dial and Scan call it first, so every command that looks for an agent
// reports a wrong $TASKDUMP_DIR (or taskdump --dir) the same way.
func CheckEnvDir() error {
	d := os.Getenv(EnvDir)
	if d == "" {
		return nil
	}
	fi, err := os.Stat(d)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("inspect: %w: %s (from --dir or %s) does not exist", ErrBadDir, d, EnvDir)
	case err != nil:
		return fmt.Errorf("inspect: %w: %s (from --dir or %s): %w", ErrBadDir, d, EnvDir, err)
	case !fi.IsDir():
		return fmt.Errorf("inspect: %w: %s (from --dir or %s) is not a directory", ErrBadDir, d, EnvDir)
	}
	return nil
}

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
	if owner, ok := fileUID(fi); ok && owner != os.Geteuid() {
		return fmt.Errorf("inspect: socket directory %s belongs to uid %d, not %d (set %s to a directory of your own)",
			dir, owner, os.Geteuid(), EnvDir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("inspect: socket directory %s has mode %#o: group and others may use it (run chmod 700 %s, or set %s to a directory only you can use)",
			dir, perm, dir, EnvDir)
	}
	return nil
}

// fileUID returns the owner of a file.
func fileUID(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, false
	}
	return int(st.Uid), true
}

// processAlive reports whether a process with this pid exists (EPERM
// counts: it exists, owned by someone else).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// removeStale removes the socket at path if nothing listens on it.
func removeStale(path string) (bool, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return false, fmt.Errorf("inspect: %s exists and is not a socket", path)
	}
	if c, err := dialUnix(path); err == nil {
		c.Close()
		return false, nil
	} else if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ENOENT) {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("inspect: removing stale socket: %w", err)
	}
	return true, nil
}
