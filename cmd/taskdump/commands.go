package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/taskdump/taskdump/inspect/client"
)

// Each subcommand is in the file of its name (ps.go, tasks.go, tree.go,
// resources.go, stack.go, blocking.go, history.go, snapshot.go, profile.go, cancel.go,
// socket.go), registered in allCommands; what several of them share is
// here: reaching the agent (dial, show), checking arguments, writing JSON
// and files. Rendering is in render.go, escaping in term.go.

// dial connects to the agent named by target: a PID, whose socket is
// looked for in dir (--dir; empty for the default), or a socket path.
func dial(dir, target string) (*client.Client, error) {
	if strings.ContainsRune(target, '/') || strings.HasSuffix(target, ".sock") {
		return client.DialPath(target)
	}
	pid, err := strconv.ParseInt(target, 10, 32) // pids are 32 bits: 4294967297 is not 1
	if err != nil || pid <= 0 {
		return nil, usagef("bad PID %q: want a process id or the path of an agent's socket", target)
	}
	return client.Dial(int(pid), client.WithDir(dir))
}

func parseTaskID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, usagef("bad task id %q: want a positive number", s)
	}
	return id, nil
}

func wantArgs(args []string, n int, what string) error {
	if len(args) != n {
		return usagef("want %s, got %s", what, plural(len(args), "argument"))
	}
	return nil
}

// writeJSONTo writes v to w as indented JSON, with what a terminal would
// act on escaped (client.WriteJSON): v holds the process's texts.
func writeJSONTo(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return client.WriteJSON(w, b.Bytes())
}

// show dials target (in socket directory dir), fetches one value with get
// and prints it to e's standard output: as indented JSON if asJSON, else
// with render.
func show[T any](e *env, dir, target string, asJSON bool, get func(*client.Client) (T, error), render func(io.Writer, T) error) error {
	c, err := dial(dir, target)
	if err != nil {
		return err
	}
	defer c.Close()
	v, err := get(c)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSONTo(e.stdout, v)
	}
	return render(e.stdout, v)
}

// checkGlob checks the syntax of a --name glob.
func checkGlob(glob string) error {
	if glob == "" {
		return nil
	}
	if _, err := path.Match(glob, ""); err != nil {
		return usagef("bad --name pattern %q: %v", glob, err)
	}
	return nil
}

// lastN returns the last n elements of s (all of them if n is 0).
func lastN[T any](s []T, n int) []T {
	if n > 0 && len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// checkOutput refuses an -o path that names a directory, before anything
// is fetched.
func checkOutput(name string) error {
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		return usagef("-o %s is a directory: give the name of a file to write", name)
	}
	return nil
}

// stdoutName reports whether an -o path names standard output: "-", "",
// or /dev/stdout and its other names (symbolic links, which outputs do
// not follow).
func stdoutName(name string) bool {
	switch name {
	case "-", "", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		return true
	}
	return false
}

// writeFileAtomic writes what write produces to a temporary file next to
// name, with mode perm, then renames it over name: name ends up with all
// of it or is left as it was. It returns the number of bytes written.
// Errors name the user's path, never the temporary file: "cannot write
// /x/snap.json: no such file or directory", "/tmp is a directory".
//
// The outputs' rules are record's (createOutput): a symbolic link is
// refused, not replaced nor followed; what is not a regular file (a
// device, a FIFO with a reader) is written in place, since renaming over
// it would replace it.
func writeFileAtomic(name string, perm os.FileMode, write func(io.Writer) error) (int64, error) {
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		return 0, fmt.Errorf("%s is a directory: give the name of a file to write", name)
	}
	if fi, err := os.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		f, err := createOutput(name)
		if err != nil {
			return 0, err
		}
		fw := &fileWriter{f: f, name: name}
		err = write(fw)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("cannot write %s: %w", name, osErr(cerr))
		}
		return fw.n, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".taskdump-"+filepath.Base(name)+"-*")
	if err != nil {
		return 0, fmt.Errorf("cannot write %s: %w", name, osErr(err))
	}
	defer os.Remove(tmp.Name())
	fw := &fileWriter{f: tmp, name: name}
	if err := write(fw); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("cannot write %s: %w", name, osErr(err))
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return 0, fmt.Errorf("cannot write %s: %w", name, osErr(err))
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return 0, fmt.Errorf("cannot write %s: %w", name, osErr(err))
	}
	return fw.n, nil
}

// fileWriter writes to the temporary file of writeFileAtomic; its errors
// name the user's path.
type fileWriter struct {
	f    *os.File
	name string
	n    int64
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.n += int64(n)
	if err != nil {
		err = fmt.Errorf("cannot write %s: %w", w.name, osErr(err))
	}
	return n, err
}

// osErr returns the system error inside a *fs.PathError or *os.LinkError,
// whose message would name the temporary file.
func osErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// errAlreadyReported makes run exit 1 without printing again.
var errAlreadyReported = errors.New("")
