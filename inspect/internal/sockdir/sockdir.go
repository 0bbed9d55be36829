// Package sockdir owns the rules the agent (package inspect) and its
// client (package inspect/client) share about where agents listen: the
// socket directory's name, a socket's name in it, the check of a directory
// the user named, and the removal of a socket nothing listens on.
//
// Its errors carry no package prefix: the public package that returns one
// adds its own ("inspect: ", "client: ").
package sockdir

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// EnvDir is the environment variable that overrides the socket directory.
const EnvDir = "TASKDUMP_DIR"

// ErrBadDir is wrapped by the error about a socket directory that is
// missing where it was named ($TASKDUMP_DIR, --dir) or is not a directory.
var ErrBadDir = errors.New("bad socket directory")

// Default returns the directory where agents of this user put their
// sockets: $TASKDUMP_DIR if set, else $XDG_RUNTIME_DIR/taskdump, else
// <temp dir>/taskdump-<uid>. It only computes the name.
func Default() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return UserDir(os.Getuid(), os.Getenv("XDG_RUNTIME_DIR"))
}

// UserDir returns the default socket directory of the user uid whose
// $XDG_RUNTIME_DIR is xdg (none if empty).
func UserDir(uid int, xdg string) string {
	if xdg != "" {
		return filepath.Join(xdg, "taskdump")
	}
	return filepath.Join(os.TempDir(), "taskdump-"+strconv.Itoa(uid))
}

// SocketPath returns the socket path of process pid in dir (Default() if
// dir is empty).
func SocketPath(dir string, pid int) string {
	if dir == "" {
		dir = Default()
	}
	return filepath.Join(dir, strconv.Itoa(pid)+".sock")
}

// Check returns an error wrapping ErrBadDir when d, a directory the user
// named (with --dir or $TASKDUMP_DIR), does not exist or is not a
// directory, and nil otherwise.
func Check(d string) error {
	fi, err := os.Stat(d)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s (from --dir or %s) does not exist", ErrBadDir, d, EnvDir)
	case err != nil:
		return fmt.Errorf("%w: %s (from --dir or %s): %w", ErrBadDir, d, EnvDir, err)
	case !fi.IsDir():
		return fmt.Errorf("%w: %s (from --dir or %s) is not a directory", ErrBadDir, d, EnvDir)
	}
	return nil
}

// CheckEnv is Check of $TASKDUMP_DIR; nil when it is not set.
func CheckEnv() error {
	if d := os.Getenv(EnvDir); d != "" {
		return Check(d)
	}
	return nil
}

// FileUID returns the owner of a file, if the system reports it.
func FileUID(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, false
	}
	return int(st.Uid), true
}

// DialUnix connects to the Unix socket at path, giving up after 5 s.
func DialUnix(path string) (net.Conn, error) {
	return net.DialTimeout("unix", path, 5*time.Second)
}

// RemoveStale removes the socket at path if nothing listens on it, and
// reports whether it did. A missing path is not an error; a path that is
// not a socket is.
func RemoveStale(path string) (bool, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return false, fmt.Errorf("%s exists and is not a socket", path)
	}
	if c, err := DialUnix(path); err == nil {
		c.Close()
		return false, nil
	} else if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ENOENT) {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("removing stale socket: %w", err)
	}
	return true, nil
}
