package runtime

import (
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"strconv"
	"strings"
)

// Frame is one resolved stack frame: a function, the file:line of the call
// and whose code it is. File is an absolute path (unless the binary was
// built with -trimpath). The zero Frame means "unknown".
type Frame struct {
	Function string    `json:"function"`
	File     string    `json:"file"`
	Line     int       `json:"line"`
	Kind     FrameKind `json:"kind,omitempty"`
}

// FrameKind says whose code a frame runs. This package is the one place
// that tells: other packages (renderers, profiles, the inspect agent) read
// the kind and never look at function names or paths.
type FrameKind uint8

// The kinds of frames. The zero FrameKind is that of the unknown frame.
const (
	// FrameUser is the program's own code: any module's package that is
	// not the standard library or this package (this package's _test.go
	// files count as user code).
	FrameUser FrameKind = iota + 1
	// FrameTaskRuntime is this package: the awaiting function a task called
	// (Sleep, (*Task).Await, Gather) and the machinery under it.
	FrameTaskRuntime
	// FrameGoRuntime is the Go runtime and standard library (time.Sleep,
	// sync.(*Mutex).Lock, runtime.gopark).
	FrameGoRuntime
)

var frameKindNames = [...]string{"", "user", "task-runtime", "go-runtime"}

// String returns "user", "task-runtime" or "go-runtime", and "" for the
// zero FrameKind: the names the inspect protocol carries in a frame's
// "kind".
func (k FrameKind) String() string {
	if int(k) < len(frameKindNames) {
		return frameKindNames[k]
	}
	return ""
}

// MarshalText returns k.String(), so a Frame's JSON carries the kind by
// name.
func (k FrameKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText sets k from its name; an unknown name is the zero kind.
func (k *FrameKind) UnmarshalText(b []byte) error {
	*k = 0
	for i, n := range frameKindNames {
		if n == string(b) {
			*k = FrameKind(i)
		}
	}
	return nil
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

// systemFile reports whether file is in the Go standard library
// (time.Sleep, runtime.gopark, iter.Pull...).
func systemFile(file string) bool {
	if goroot != "" && strings.HasPrefix(file, goroot) {
		return true
	}
	// -trimpath builds: standard library paths have no dot in the first element.
	if !filepath.IsAbs(file) {
		first, _, _ := strings.Cut(file, "/")
		return !strings.Contains(first, ".") && first != "main" && first != "command-line-arguments"
	}
	return false
}

// kindOf classifies a resolved frame by its file: the one rule for whose
// code a frame is. A frame with no file (a stripped binary) is user code.
func kindOf(function, file string) FrameKind {
	switch {
	case function == "" && file == "":
		return 0
	case internalFile(file):
		return FrameTaskRuntime
	case systemFile(file):
		return FrameGoRuntime
	}
	return FrameUser
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
	// The 0 after pc: CallersFrames expands the inlined calls of a slice's
	// last PC only up to the innermost (it may be a truncated stack's end),
	// which would lose the awaiting function (Sleep) when its call to
	// (*task).park's caller is inlined into it.
	it := goruntime.CallersFrames([]uintptr{pc, 0})
	for {
		fr, more := it.Next()
		if fr.PC == 0 && fr.Function == "" {
			break
		}
		out = append(out, Frame{Function: fr.Function, File: fr.File, Line: fr.Line, Kind: kindOf(fr.Function, fr.File)})
		if !more {
			break
		}
	}
	if out == nil {
		out = []Frame{{}}
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

// suspension returns the first user frame of pcs: the user's own await
// call.
func (c frameCache) suspension(pcs []uintptr) Frame {
	for _, pc := range pcs {
		for _, f := range c.expand(pc) {
			if f.Kind == FrameUser {
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
	key := pc | ^(^uintptr(0) >> 1) // the top bit: keep entry lookups apart from return-address lookups
	if fs, ok := c[key]; ok {
		return fs[0]
	}
	var f Frame
	if fn := goruntime.FuncForPC(pc); fn != nil {
		f.Function = fn.Name()
		f.File, f.Line = fn.FileLine(fn.Entry())
		f.Kind = kindOf(f.Function, f.File)
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

// logicalStack resolves pcs that name logical frames, one each, as
// runtime.GoroutineProfile records them (an inlined call has a PC of its
// own, its caller's PC is the call site's): each PC's innermost frame.
// stack would expand the inlined calls a second time and show the caller
// of an inlined function twice.
func (c frameCache) logicalStack(pcs []uintptr) []Frame {
	if len(pcs) == 0 {
		return nil
	}
	out := make([]Frame, 0, len(pcs))
	for _, pc := range pcs {
		out = append(out, c.frame(pc))
	}
	return out
}

// taskStack gives a raw stack of a task's goroutine (a suspension stack, or
// the live stack of a running or blocking step), innermost first, the one
// shape every stack this package hands out has:
//
//   - on top, the function the user's code called there, of whatever kind
//     (Sleep or (*Task).Await of this package, time.Sleep, sync.(*Mutex).Lock),
//     as Go's tracebacks keep time.Sleep; the frames above it (how the call
//     parks: runtime.gopark, (*task).park) are dropped;
//   - then every frame down to the outermost user frame (the task's
//     function), frames of other kinds in between kept;
//   - nothing below it: the coroutine plumbing that runs every task
//     ((*Task).runBody, iter.Pull, runtime.goexit) is dropped.
//
// A running step in user code has a user frame on top. A stack with no user
// frame at all is returned whole. It returns a subslice of frames.
func taskStack(frames []Frame) []Frame {
	first, last := -1, -1
	for i, f := range frames {
		if f.Kind == FrameUser {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return frames
	}
	return frames[max(first-1, 0) : last+1]
}

// cutFrame ends a stack whose capture was full: what called the frames
// above it (down to the task's function) was not captured.
func cutFrame(captured int) Frame {
	return Frame{Function: "(… deeper frames not captured: only the innermost " + strconv.Itoa(captured) + " are kept)"}
}

// cutIfFull ends st, the task stack of raw (taskStack), with cutFrame if
// raw's capture filled all max slots and raw ends in user code: a deeper
// stack was cut there. A full capture that reached the coroutine's own
// frames below the task's function is whole. st is not modified.
func cutIfFull(st, raw []Frame, captured, max int) []Frame {
	if captured < max || len(st) == 0 || len(raw) == 0 || raw[len(raw)-1].Kind != FrameUser {
		return st
	}
	return append(st[:len(st):len(st)], cutFrame(max))
}

// suspensionPoint returns the first user frame: the user's own await call,
// or the innermost line of user code running.
func suspensionPoint(frames []Frame) Frame {
	for _, f := range frames {
		if f.Kind == FrameUser {
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
