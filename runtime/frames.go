package runtime

import (
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"strings"
)

// Frame is one resolved stack frame: a function and the file:line of the
// call. File is an absolute path (unless the binary was built with
// -trimpath). The zero Frame means "unknown".
type Frame struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

// IsZero reports whether f is the unknown frame.
func (f Frame) IsZero() bool { return f.Function == "" && f.File == "" && f.Line == 0 }

// Short returns "file.go:42", the form used in reprs and tables.
func (f Frame) Short() string {
	if f.File == "" {
		return "?"
	}
	return filepath.Base(f.File) + ":" + itoa(f.Line)
}

// String returns "function file:line".
func (f Frame) String() string { return f.Function + " " + f.File + ":" + itoa(f.Line) }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// pkgDir is the directory of this package's source files; frames from files
// in it (other than _test.go files) are "inside runtime/" and never reported
// as a suspension point. goroot is the prefix of the standard library's files.
var pkgDir, goroot = func() (string, string) {
	pc := reflect.ValueOf(newConfig).Pointer()
	file, _ := goruntime.FuncForPC(pc).FileLine(pc)
	pc = reflect.ValueOf(strings.Cut).Pointer()
	sfile, _ := goruntime.FuncForPC(pc).FileLine(pc)
	root := ""
	if i := strings.LastIndex(sfile, "/src/strings/"); i >= 0 {
		root = sfile[:i+len("/src/")]
	}
	return filepath.Dir(file) + "/", root
}()

// internalFile reports whether file belongs to this package (not its tests).
func internalFile(file string) bool {
	return strings.HasPrefix(file, pkgDir) && !strings.HasSuffix(file, "_test.go") &&
		!strings.Contains(file[len(pkgDir):], "/")
}

// systemFrame reports whether f is in the Go standard library (time.Sleep,
// runtime.gopark, iter.Pull...).
func systemFrame(f Frame) bool {
	if goroot != "" && strings.HasPrefix(f.File, goroot) {
		return true
	}
	// -trimpath builds: standard library paths have no dot in the first element.
	if !filepath.IsAbs(f.File) {
		first, _, _ := strings.Cut(f.File, "/")
		return !strings.Contains(first, ".") && first != "main" && first != "command-line-arguments"
	}
	return false
}

// frameCache resolves PCs to frames, remembering each. Not safe for
// concurrent use: each resolver owns one. A nil frameCache resolves without
// remembering.
type frameCache map[uintptr][]Frame

// expand resolves one return address (as goruntime.Callers gives) into its
// frames, innermost (inlined callee) first.
func (c frameCache) expand(pc uintptr) []Frame {
	if fs, ok := c[pc]; ok {
		return fs
	}
	var out []Frame
	it := goruntime.CallersFrames([]uintptr{pc})
	for {
		fr, more := it.Next()
		out = append(out, Frame{Function: fr.Function, File: fr.File, Line: fr.Line})
		if !more {
			break
		}
	}
	if c != nil {
		c[pc] = out
	}
	return out
}

// frame resolves a call site's return address to the innermost frame there.
func (c frameCache) frame(pc uintptr) Frame {
	if pc == 0 {
		return Frame{}
	}
	return c.expand(pc)[0]
}

// suspension returns the first frame of pcs outside this package and the
// standard library: the user's own await call.
func (c frameCache) suspension(pcs []uintptr) Frame {
	for _, pc := range pcs {
		for _, f := range c.expand(pc) {
			if !internalFile(f.File) && !systemFrame(f) {
				return f
			}
		}
	}
	return Frame{}
}

// funcFrame resolves a function entry PC to the function's name and the file
// and line where it is defined.
func (c frameCache) funcFrame(pc uintptr) Frame {
	if pc == 0 {
		return Frame{}
	}
	key := pc | 1<<63 // keep entry lookups apart from return-address lookups
	if fs, ok := c[key]; ok {
		return fs[0]
	}
	var f Frame
	if fn := goruntime.FuncForPC(pc); fn != nil {
		f.Function = fn.Name()
		f.File, f.Line = fn.FileLine(fn.Entry())
	}
	if c != nil {
		c[key] = []Frame{f}
	}
	return f
}

// stack resolves return addresses into frames, innermost first, expanding
// inlined calls.
func (c frameCache) stack(pcs []uintptr) []Frame {
	if len(pcs) == 0 {
		return nil
	}
	out := make([]Frame, 0, len(pcs))
	for _, pc := range pcs {
		out = append(out, c.expand(pc)...)
	}
	return out
}

// taskStack trims a raw suspension stack for display: it keeps one frame of
// this package on top (the awaiting function the user called, as Go's
// tracebacks keep time.Sleep), then the user's frames, and drops the
// coroutine plumbing below the task's function.
func taskStack(frames []Frame) []Frame {
	// Top: skip internal frames except the last one before user code.
	top := 0
	for top < len(frames) && internalFile(frames[top].File) {
		top++
	}
	if top > 0 && top < len(frames) {
		top--
	}
	// Bottom: drop this package's runner, iter.Pull and the Go runtime.
	end := len(frames)
	for end > top {
		f := frames[end-1]
		if internalFile(f.File) || systemFrame(f) {
			end--
			continue
		}
		break
	}
	if end <= top { // no user frame at all: keep what there is
		return frames
	}
	return frames[top:end]
}

// suspensionPoint returns the first frame outside this package: the user's
// own await call.
func suspensionPoint(frames []Frame) Frame {
	for _, f := range frames {
		if !internalFile(f.File) && !systemFrame(f) {
			return f
		}
	}
	return Frame{}
}

// shortFunc turns "github.com/x/y/pkg.(*T).Method" into "pkg.(*T).Method".
func shortFunc(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		return name[i+1:]
	}
	return name
}
