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

// prepareDir creates dir with mode 0700 if needed and checks that it is a
// real directory owned by this user and closed to others; a directory we
// own with looser permissions is tightened.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("inspect: socket directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("inspect: socket directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("inspect: socket directory %s is not a directory", dir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("inspect: socket directory %s belongs to uid %d, not %d", dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("inspect: socket directory: %w", err)
		}
	}
	return nil
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
