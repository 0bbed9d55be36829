package sockdir

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestNames(t *testing.T) {
	tmp := os.TempDir()
	for _, tt := range []struct {
		name     string
		env, xdg string
		want     string // Default()
	}{
		{"TASKDUMP_DIR wins", "/d", "/run/user/7", "/d"},
		{"XDG_RUNTIME_DIR", "", "/run/user/7", "/run/user/7/taskdump"},
		{"temp dir", "", "", filepath.Join(tmp, "taskdump-"+strconv.Itoa(os.Getuid()))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvDir, tt.env)
			t.Setenv("XDG_RUNTIME_DIR", tt.xdg)
			if got := Default(); got != tt.want {
				t.Errorf("Default() = %q, want %q", got, tt.want)
			}
			if got, want := SocketPath("", 42), filepath.Join(tt.want, "42.sock"); got != want {
				t.Errorf("SocketPath(\"\", 42) = %q, want %q", got, want)
			}
		})
	}
	if got, want := UserDir(1000, ""), filepath.Join(tmp, "taskdump-1000"); got != want {
		t.Errorf("UserDir(1000, \"\") = %q, want %q", got, want)
	}
	if got, want := SocketPath("/x", 7), "/x/7.sock"; got != want {
		t.Errorf("SocketPath(/x, 7) = %q, want %q", got, want)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	for _, tt := range []struct {
		dir  string
		want string // "" for no error
	}{
		{dir, ""},
		{missing, "bad socket directory: " + missing + " (from --dir or TASKDUMP_DIR) does not exist"},
		{file, "bad socket directory: " + file + " (from --dir or TASKDUMP_DIR) is not a directory"},
	} {
		err := Check(tt.dir)
		if tt.want == "" {
			if err != nil {
				t.Errorf("Check(%s) = %v, want nil", tt.dir, err)
			}
			continue
		}
		if !errors.Is(err, ErrBadDir) || err.Error() != tt.want {
			t.Errorf("Check(%s) = %v, want ErrBadDir: %q", tt.dir, err, tt.want)
		}
	}
	t.Setenv(EnvDir, "")
	if err := CheckEnv(); err != nil {
		t.Errorf("CheckEnv() with no %s = %v, want nil", EnvDir, err)
	}
	t.Setenv(EnvDir, missing)
	if err := CheckEnv(); !errors.Is(err, ErrBadDir) {
		t.Errorf("CheckEnv() with %s=%s = %v, want ErrBadDir", EnvDir, missing, err)
	}
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	l, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	stale := filepath.Join(dir, "stale.sock")
	sl, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	sl.(*net.UnixListener).SetUnlinkOnClose(false)
	sl.Close()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path    string
		removed bool // what RemoveStale reports
		err     bool
		exists  bool // whether the path exists afterwards
	}{
		{live, false, false, true},
		{stale, true, false, false},
		{filepath.Join(dir, "missing.sock"), false, false, false},
		{file, false, true, true},
	} {
		removed, err := RemoveStale(tt.path)
		if removed != tt.removed || (err != nil) != tt.err {
			t.Errorf("RemoveStale(%s) = %v, %v; want removed %v, error %v", filepath.Base(tt.path), removed, err, tt.removed, tt.err)
		}
		if _, err := os.Lstat(tt.path); (err == nil) != tt.exists {
			t.Errorf("after RemoveStale(%s): Lstat err = %v, want exists %v", filepath.Base(tt.path), err, tt.exists)
		}
	}
}
