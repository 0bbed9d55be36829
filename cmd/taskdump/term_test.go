package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/internal/textsafe"
)

// hostile is a task name that, printed raw, sets the terminal's title,
// turns the text red and forges a row of the tasks table (the same as the
// fixture's -hostile names).
const hostile = "evil\x1b]0;pwned\x07\x1b[31m\r\n99\tforged\tpending\t1s\tmain.go:1\tsleep(1s)\u202e\u009b2J"

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"worker-1", "worker-1"},
		{"fetch /users/42", "fetch /users/42"},
		{"héllo wörld ✓ 日本", "héllo wörld ✓ 日本"},
		{`back\slash`, `back\slash`},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{"\x1b]0;title\x07\x1b[31mred", `\x1b]0;title\x07\x1b[31mred`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"c1 \u009b2J \u0085", `c1 \u009b2J \u0085`},
		{"bidi \u202egnp.exe \u2066x\u2069 \u200f \u061c", `bidi \u202egnp.exe \u2066x\u2069 \u200f \u061c`},
		{"sep\u2028\u2029", `sep\u2028\u2029`},
		{"bad \xff\xfe utf8 \x9b", `bad \xff\xfe utf8 \x9b`},
		{"zwj 👩\u200d💻 kept", "zwj 👩\u200d💻 kept"},
		{"zw-\u200b\u200d\ufeff-x", `zw-\u200b\u200d\ufeff-x`},
		{"joiner a\u200db, at the ends \u200d👩\u200d", `joiner a\u200db, at the ends \u200d👩\u200d`},
		{"soft\u00adhyphen", `soft\u00adhyphen`},
		{"cjk 中\u200d文, dots …\u200d…", `cjk 中\u200d文, dots …\u200d…`},
		{"heart ❤\ufe0f\u200d🔥 kept", "heart ❤\ufe0f\u200d🔥 kept"},
	}
	for _, tt := range tests {
		got := escape(tt.in)
		if got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := escape(got); again != got {
			t.Errorf("escape is not idempotent on %q: %q", got, again)
		}
		if err := terminalSafe(got); err != nil {
			t.Errorf("escape(%q) = %q: %v", tt.in, got, err)
		}
	}
}

// terminalSafe returns an error naming the first character of s that a
// terminal would act on, other than the newlines and tabs of the layout.
func terminalSafe(s string) error {
	for i, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || textsafe.Unsafe(r) && !joinsPictographs(s, i, utf8.RuneLen(r)) {
			return fmt.Errorf("unsafe %U at byte %d in %q", r, i, s)
		}
	}
	return nil
}

type stringer string

func (s stringer) String() string { return string(s) }

func TestPrinter(t *testing.T) {
	tests := []struct {
		format string
		arg    any
		want   string
	}{
		{"%s", "a\x1bb", `a\x1bb`},
		{"%v", "a\x1bb", `a\x1bb`},
		{"%q", "a\x1bb\u202e", `"a\x1bb\u202e"`},
		{"%q", `say "hi"\a`, `"say \"hi\"\a"`},
		{"%-6s|", "a\n", `a\n   |`},
		{"%s", []byte("x\ry"), `x\ry`},
		{"%s", errors.New("boom\r\nforged"), `boom\r\nforged`},
		{"%v", errors.New("boom\x07"), `boom\x07`},
		{"%s", stringer("s\x1b"), `s\x1b`},
		{"%d", 42, "42"},
		{"%s", 250 * time.Millisecond, "250ms"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		printer{&b}.printf(tt.format, tt.arg)
		if b.String() != tt.want {
			t.Errorf("printf(%q, %#v) = %q, want %q", tt.format, tt.arg, b.String(), tt.want)
		}
	}
}

// TestRenderersEscape feeds every renderer records whose texts carry
// escape sequences: the output has no character a terminal acts on, and
// no forged line.
func TestRenderersEscape(t *testing.T) {
	now := time.Now()
	frame := wire.Frame{Function: "main.f\x1b[2J", File: "/src/\x1b]0;x\x07main.go", Line: 3}
	task := wire.Task{ID: 7, Name: hostile, State: "pending", Loop: "lo\x1bop", LoopID: 1, Created: now,
		SuspendedAt: frame, Awaiting: "sleep\r\n(1s)", Error: "bad\x1b[2J\r\nforged", Finished: now, Suspended: now}
	other := task
	other.ID, other.LoopID, other.Loop = 8, 2, "\u202eloop2"
	renders := map[string]struct {
		lines int
		fn    func(b *bytes.Buffer)
	}{
		"tasks": {3, func(b *bytes.Buffer) { renderTasks(b, []wire.Task{task, other}, now) }},
		"tree": {4, func(b *bytes.Buffer) {
			renderTree(b, wire.BuildTree([]wire.Task{task, other}))
		}},
		"stack": {5, func(b *bytes.Buffer) {
			renderStack(b, wire.StackResult{Task: task, Stack: []wire.Frame{frame, frame}}, now, true)
		}},
		"blocking": {4, func(b *bytes.Buffer) {
			renderBlocking(b, []wire.BlockEvent{{TaskID: 7, TaskName: hostile, Loop: "l\x9bp", At: frame,
				Call: "time.Sleep\x1b", Stack: []wire.Frame{frame}, Ongoing: true}}, true)
		}},
		"history": {2, func(b *bytes.Buffer) { renderHistory(b, []wire.Task{task}, now) }},
	}
	for name, r := range renders {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			r.fn(&b)
			out := b.String()
			if err := terminalSafe(out); err != nil {
				t.Errorf("%v\n%s", err, out)
			}
			if n := strings.Count(out, "\n"); n != r.lines {
				t.Errorf("%d lines, want %d (a forged line?):\n%s", n, r.lines, out)
			}
			if !strings.Contains(out, `evil\x1b]0;pwned\x07\x1b[31m\r\n99\tforged`) {
				t.Errorf("the name is not shown escaped:\n%s", out)
			}
		})
	}
}

// forgedRow is the row the hostile name forges when printed raw: a line
// that starts with 99 and a column break.
var forgedRow = regexp.MustCompile(`(?m)^99\s`)

// TestHostileProcess runs every view against a real process whose loop,
// task names, error and cancel message carry terminal escape sequences:
// nothing reaches the terminal raw, no row is forged, and --json keeps the
// exact texts.
func TestHostileProcess(t *testing.T) {
	p := startProc(t, bins.fixture, "-hostile")
	pid := pidArg(p)
	var ts []wire.Task
	if err := json.Unmarshal([]byte(ok(t, p.dir, "tasks", pid, "--json")), &ts); err != nil {
		t.Fatal(err)
	}
	h, found := findTask(ts, hostile)
	if !found || h.Loop != "fix\x1b[2Jture" {
		t.Fatalf("tasks --json lost the exact name or loop: %+v", ts)
	}
	id := fmt.Sprint(h.ID)
	views := [][]string{
		{"tasks", pid},
		{"tree", pid},
		{"stack", pid, id},
		{"history", pid},
		{"ps"},
		// JSON keeps the texts, escaped as JSON: nothing a terminal acts
		// on (C1 controls, bidirectional overrides) is written raw.
		{"tasks", pid, "--json"},
		{"tasks", pid, "--group", "--json"},
		{"tree", pid, "--json"},
		{"stack", pid, id, "--json"},
		{"history", pid, "--json"},
		{"ps", "--json"},
		{"doctor", pid, "--json"},
		{"blocking", pid, "--json"},
		{"resources", pid, "--json"},
		{"cancel", pid, id, "--msg", "bye\x1b[2J\r\nforged", "--wait"},
	}
	for _, args := range views {
		r := td(t, p.dir, args...)
		want := 0
		if args[0] == "doctor" && r.code == 3 {
			want = 3 // a warning
		}
		if r.code != want {
			t.Errorf("taskdump %q: exit %d, stderr %q", args, r.code, r.stderr)
		}
		for _, s := range []string{r.stdout, r.stderr} {
			if err := terminalSafe(s); err != nil {
				t.Errorf("taskdump %q: %v", args, err)
			}
		}
		if forgedRow.MatchString(r.stdout) { // not a PID that starts with 99
			t.Errorf("taskdump %q: a forged row:\n%s", args, r.stdout)
		}
		switch {
		case args[0] == "tasks" && len(args) == 2:
			golden(t, "tasks-hostile.txt", mask(r.stdout))
		case args[0] == "cancel":
			golden(t, "cancel-hostile.txt", r.stdout)
		}
	}
	var hist []wire.Task
	json.Unmarshal([]byte(ok(t, p.dir, "history", pid, "--json")), &hist)
	if c, _ := findTask(hist, hostile); c.CancelMsg != "bye\x1b[2J\r\nforged" {
		t.Errorf("history --json: cancel message %q, want the exact one", c.CancelMsg)
	}
	if f, _ := findTask(hist, hostile+"-failed"); f.Error != "bad\x1b[2J\r\nforged line" {
		t.Errorf("history --json: error %q, want the exact one", f.Error)
	}
	// An error message that carries the name (stderr) is escaped too.
	r := td(t, p.dir, "stack", pid, "999\x1b[2J")
	if r.code != 2 || terminalSafe(r.stderr) != nil {
		t.Errorf("bad task id with escapes: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestOnePrintLayer keeps every renderer on the printer: outside the
// functions below, which write the program's own text (help), into a
// strings.Builder that a printer prints later, or are the printer, no code
// of the command calls fmt.Fprint, Fprintf or Fprintln.
func TestOnePrintLayer(t *testing.T) {
	allowed := map[string]bool{
		"topUsage": true, "run": true, // help and usage: the program's own text
		"nodeLine": true,                                 // builds a line the tree prints through a printer
		"escape":   true, "printf": true, "Format": true, // the printer itself
	}
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || allowed[fd.Name.Name] {
				continue
			}
			ast.Inspect(fd, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "fmt" && strings.HasPrefix(sel.Sel.Name, "Fprint") {
						t.Errorf("%s: %s calls fmt.%s: write through a printer (e.outf, e.errf, printer{w}.printf)",
							fset.Position(call.Pos()), fd.Name.Name, sel.Sel.Name)
					}
				}
				return true
			})
		}
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", maxText) // 2 bytes each
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"worker-1", "worker-1"},
		{strings.Repeat("x", maxText), strings.Repeat("x", maxText)},
		{strings.Repeat("x", maxText+7), strings.Repeat("x", maxText) + "…(7 more bytes)"},
		{long, strings.Repeat("é", maxText/2) + "…(" + strconv.Itoa(maxText) + " more bytes)"},
	} {
		if got := clip(tc.in); got != tc.want {
			t.Errorf("clip(%d bytes) = %d bytes %.40q…, want %d bytes", len(tc.in), len(got), got, len(tc.want))
		}
	}
	var b bytes.Buffer
	renderTasks(&b, []wire.Task{{ID: 1, Name: strings.Repeat("n", 100_000), State: "pending"}}, time.Now())
	if b.Len() > 4*maxText {
		t.Errorf("a task of a 100 KB name makes a %d-byte table", b.Len())
	}
}
