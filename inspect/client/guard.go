package client

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// ErrNotJSON is wrapped by the error about an answer copied as it came
// (WriteTasks, WriteTree, WriteSnapshot) that holds bytes no JSON document
// has.
var ErrNotJSON = errors.New("answer is not JSON")

// jsonGuard passes an answer through to w as it comes, and stops at the
// first byte that no JSON document holds: a control character other than
// the whitespace between tokens (JSON writes the others escaped inside
// strings) or a byte that is not UTF-8. What comes before that byte is
// written; the byte and what follows are not. So a process that answers
// with a raw escape sequence ("\x1b]0;title\x07") cannot reach the
// terminal of whoever dumps its tasks, as it cannot through the decoded
// answers. It costs one pass over the bytes and holds at most the three
// bytes of a character split between two writes. Its zero value is not
// usable: it needs w.
type jsonGuard struct {
	w    io.Writer
	off  int64 // bytes of the answer checked so far
	part [utf8.UTFMax]byte
	n    int // bytes held in part: a character cut by the end of a write
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
		if r, size := utf8.DecodeRune(g.part[:g.n]); r == utf8.RuneError && size == 1 {
			return 0, g.bad(g.part[0])
		}
		if _, err := g.w.Write(g.part[:g.n]); err != nil {
			return 0, err
		}
		g.off += int64(g.n)
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
	if i := badByte(p[:end]); i >= 0 {
		if _, err := g.w.Write(p[:i]); err != nil {
			return 0, err
		}
		g.off += int64(i)
		return 0, g.bad(p[i])
	}
	if _, err := g.w.Write(p[:end]); err != nil {
		return 0, err
	}
	g.off += int64(end)
	g.n = copy(g.part[:], p[end:])
	return total, nil
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
	if b < 0x20 {
		what = "a control character"
	}
	return fmt.Errorf("%w: byte 0x%02x at offset %d is %s", ErrNotJSON, b, g.off, what)
}

// badByte returns the index of the first byte of p that no JSON document
// holds, or -1.
func badByte(p []byte) int {
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
