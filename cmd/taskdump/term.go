package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/taskdump/taskdump/internal/textsafe"
)

// escape returns s with every character a terminal would act on rather
// than show written as a Go escape: the C0 controls (\n, \t, \r, \x1b, ...),
// DEL (\x7f), the C1 controls (\u009b, ...), the bidirectional marks,
// embeddings, overrides and isolates (\u202e, ...), the line and paragraph
// separators, and bytes that are not UTF-8 (\xff). Everything else is kept
// as it is, the backslash included, so escape(escape(s)) == escape(s).
//
// Text that came from the inspected process (task and loop names, errors,
// cancel messages, awaiting texts, frames, the process's command line) may
// have been chosen by whoever controls that process: printed raw, a name
// such as "\x1b]0;title\x07\r\n99\tforged" changes the terminal's title and
// forges a row. escape is the one place that decides what is safe to show;
// the printer type applies it to every argument it prints.
func escape(s string) string {
	i := unsafeAt(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case textsafe.Unsafe(r) && !joinsPictographs(s, i, size):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeAt returns the index of the first byte of s that escape changes,
// or -1.
func unsafeAt(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || textsafe.Unsafe(r) && !joinsPictographs(s, i, size) {
			return i
		}
		i += size
	}
	return -1
}

// joinsPictographs reports whether the rune of s at i (size bytes) is a
// zero-width joiner between two emoji: "👩\u200d💻" is one glyph, kept as
// is. Anywhere else (between letters, CJK included) a joiner is invisible,
// and escaped.
func joinsPictographs(s string, i, size int) bool {
	if s[i:i+size] != "\u200d" || i == 0 || i+size >= len(s) {
		return false
	}
	prev, _ := utf8.DecodeLastRuneInString(s[:i])
	next, _ := utf8.DecodeRuneInString(s[i+size:])
	return emoji(prev) && emoji(next)
}

// emoji reports whether r is an emoji a joiner may follow or precede: the
// pictographs (U+1F000-1FAFF), the dingbats and symbols (U+2600-27BF), or
// the emoji presentation selector that ends many of them.
func emoji(r rune) bool {
	return r >= 0x1f000 && r <= 0x1faff || r >= 0x2600 && r <= 0x27bf || r == 0xfe0f
}

// printer writes human-readable output (tables, trees, stacks, messages)
// that will reach a terminal. Every string, []byte, error and fmt.Stringer
// argument of printf is escaped (see escape), %q included. Only the format
// strings, which are the program's own, are written as they are. Every
// renderer writes through a printer, so none can forget; --json output is
// written without one and stays exact.
type printer struct{ w io.Writer }

// printf formats like fmt.Fprintf with every text argument escaped.
func (p printer) printf(format string, args ...any) {
	safe := make([]any, len(args))
	for i, a := range args {
		safe[i] = safeArg(a)
	}
	fmt.Fprintf(p.w, format, safe...)
}

// safeArg wraps a text argument so that formatting it escapes it.
func safeArg(a any) any {
	switch v := a.(type) {
	case string:
		return safeText(v)
	case []byte:
		return safeText(v)
	case error:
		return safeText(v.Error())
	case fmt.Stringer:
		return safeText(v.String())
	}
	return a
}

// maxText bounds a text of the inspected process that the CLI prints in
// a line of its own making (a task name, an error): a 100 KB name would
// make every row of a table 100 KB wide. --json prints them whole.
const maxText = 512

// clip cuts s to at most maxText bytes, at a character boundary, saying
// how much it left out. Callers clip the process's texts where they enter
// a line, never a line the CLI assembled.
func clip(s string) string { return clipAt(s, maxText) }

// clipAt cuts s to at most n bytes, at a character boundary, saying how
// much it left out.
func clipAt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)-cut) + " more bytes)"
}

// safeText is text that is escaped whenever it is formatted.
type safeText string

// Format writes the escaped text with the verb's flags and width; %q
// puts it in double quotes, with \" for a double quote, so a name reads
// the same in a table and in a quoted message.
func (s safeText) Format(f fmt.State, verb rune) {
	e := escape(string(s))
	if verb == 'q' {
		e = `"` + strings.ReplaceAll(e, `"`, `\"`) + `"`
	}
	fmt.Fprintf(f, fmt.FormatString(f, 's'), e)
}
