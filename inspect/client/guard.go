package client

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/taskdump/taskdump/internal/textsafe"
)

// ErrNotJSON is wrapped by the error about an answer copied as it came
// (WriteTasks, WriteTree, WriteSnapshot) that holds bytes no JSON document
// has.
var ErrNotJSON = errors.New("answer is not JSON")

// jsonGuard passes an answer through to w as it comes, and stops at the
// first byte that no JSON document holds: a control character other than
// the whitespace between tokens (JSON writes the others escaped inside
// strings) or a byte that is not UTF-8. What comes before that byte is
// written; the byte and what follows are not. The characters above ASCII
// that a terminal acts on (C1 controls such as U+009B, a CSI on some
// terminals; bidirectional overrides; textsafe.Unsafe), which JSON allows
// raw in strings, are written as \uXXXX escapes: the same JSON value. So a
// process that answers with an escape sequence ("\x1b]0;title\x07",
// "\u009b2J") cannot reach the terminal of whoever dumps its tasks, as it
// cannot through the decoded answers. It costs one pass over the bytes and
// holds at most the three bytes of a character split between two writes.
// Its zero value is not usable: it needs w.
type jsonGuard struct {
	w    io.Writer
	off  int64 // bytes of the answer checked so far
	part [utf8.UTFMax]byte
	n    int  // bytes held in part: a character cut by the end of a write
	odd  bool // after an odd run of backslashes: the next byte is escaped
}

// Write writes what of p is safe to g's writer. It reports len(p) when all
// of it was accepted (a character's first bytes may be held until the
// next Write), and an error wrapping ErrNotJSON at the first bad byte.
func (g *jsonGuard) Write(p []byte) (int, error) {
	total := len(p)
	if g.n > 0 {
		for len(p) > 0 && !utf8.FullRune(g.part[:g.n]) {
			g.part[g.n] = p[0]
			g.n++
			p = p[1:]
		}
		if !utf8.FullRune(g.part[:g.n]) {
			return total, nil
		}
		if err := g.pass(g.part[:g.n]); err != nil {
			return 0, err
		}
		g.n = 0
	}
	end := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				end = i
			}
			break
		}
	}
	if err := g.pass(p[:end]); err != nil {
		return 0, err
	}
	g.n = copy(g.part[:], p[end:])
	return total, nil
}

// pass writes q, whole characters, up to its first bad byte (an error)
// and with its unsafe characters escaped.
func (g *jsonGuard) pass(q []byte) error {
	for len(q) > 0 {
		i, size := g.unsafeAt(q)
		if i < 0 {
			i = len(q)
		}
		if _, err := g.w.Write(q[:i]); err != nil {
			return err
		}
		g.off += int64(i)
		if i == len(q) {
			return nil
		}
		r, _ := utf8.DecodeRune(q[i:])
		if size == 0 {
			return g.bad(q[i])
		}
		if _, err := g.w.Write(escapeRune(r)); err != nil {
			return err
		}
		g.off += int64(size)
		q = q[i+size:]
	}
	return nil
}

// WriteJSON writes the JSON document doc to w as WriteTasks copies an
// answer: the characters above ASCII a terminal acts on (C1 controls,
// bidirectional overrides) written as \uXXXX escapes, the same JSON
// value. It is for JSON the caller encoded from decoded answers
// (encoding/json writes those characters raw), on its way to a terminal.
// It fails, wrapping ErrNotJSON, on bytes no JSON document holds.
func WriteJSON(w io.Writer, doc []byte) error {
	g := &jsonGuard{w: w}
	if _, err := g.Write(doc); err != nil {
		return err
	}
	return g.finish()
}

// escapeRune returns r as a JSON string escape: \uXXXX, or a surrogate
// pair of them above U+FFFF.
func escapeRune(r rune) []byte {
	if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
		return fmt.Appendf(nil, `\u%04x\u%04x`, r1, r2)
	}
	return fmt.Appendf(nil, `\u%04x`, r)
}

// finish reports an answer that ended in the middle of a character.
func (g *jsonGuard) finish() error {
	if g.n > 0 {
		return g.bad(g.part[0])
	}
	return nil
}

func (g *jsonGuard) bad(b byte) error {
	what := "not UTF-8"
	switch {
	case b < 0x20:
		what = "a control character"
	case g.odd:
		what = "escaped by a backslash, which JSON allows only before ASCII"
	}
	return fmt.Errorf("%w: byte 0x%02x at offset %d is %s", ErrNotJSON, b, g.off, what)
}

// unsafeAt returns the index of the first character of p that g does not
// pass as it is, and its size: 0 for a byte no JSON document holds (an
// ASCII control other than whitespace, a byte that is not UTF-8, or one
// above ASCII after a backslash, which JSON escapes never are), the
// character's size for one it escapes (textsafe.Unsafe); -1 if none. It
// follows runs of backslashes across calls (g.odd), so that an escaped
// character is not taken for a raw one.
func (g *jsonGuard) unsafeAt(p []byte) (int, int) {
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return i, 0
			}
			g.odd = c == '\\' && !g.odd
			i++
			continue
		}
		if g.odd {
			return i, 0
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			return i, 0
		}
		if textsafe.Unsafe(r) {
			return i, size
		}
		i += size
	}
	return -1, 0
}
