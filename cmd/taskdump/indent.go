package main

import (
	"errors"
	"fmt"
	"io"
)

// Bounds of an indenter: what it is given comes from another process.
const (
	// maxIndentDepth is the deepest nesting it indents: the agent's tree
	// stops 1,000 tasks deep, about 2,100 levels of JSON.
	maxIndentDepth = 4096
	// A document may indent to indentBase bytes plus indentPer times its
	// size: a chain of 1,000 tasks, each awaiting the next, indents to
	// 100-200 times its size.
	indentBase = 64 << 20
	indentPer  = 256
	// indentChunk is how much indented output it holds before writing it.
	indentChunk = 64 << 10
)

// errIndent is wrapped by an indenter's errors about what it was given.
var errIndent = errors.New("not the agent's JSON")

// indenter writes the JSON document written to it indented as writeJSONTo
// indents (json.Indent with two spaces, then a newline), as it comes: a
// document of 100,000 tasks is passed on, never held or decoded. It keeps
// the bytes of tokens as they are, so it must be given JSON (what
// client.WriteTree lets through). It holds at most indentChunk bytes of
// output and a few counters, refuses nesting deeper than maxIndentDepth,
// and stops past indentBase + indentPer times the bytes it was given, or
// past limit (the bound of an answer copied as it came,
// client.MaxCopyBytes): a small hostile answer cannot make it write
// gigabytes. Its zero value is not usable: use newIndenter.
type indenter struct {
	w       io.Writer
	buf     []byte
	depth   int
	str     bool // inside a string
	esc     bool // after a backslash inside a string
	open    bool // after { or [: the line break waits for what follows (none if it closes at once)
	written int64
	read    int64
	limit   int64
}

func newIndenter(w io.Writer, limit int64) *indenter { return &indenter{w: w, limit: limit} }

// Write indents p, which continues the document, and writes it out.
func (d *indenter) Write(p []byte) (int, error) {
	d.read += int64(len(p))
	for _, c := range p {
		if len(d.buf) >= indentChunk {
			if err := d.flush(); err != nil {
				return 0, err
			}
		}
		if d.str {
			d.buf = append(d.buf, c)
			switch {
			case d.esc:
				d.esc = false
			case c == '\\':
				d.esc = true
			case c == '"':
				d.str = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		if d.open {
			d.open = false
			if c == '}' || c == ']' {
				d.buf = append(d.buf, c) // {} and [] stay on one line
				continue
			}
			d.depth++
			if d.depth > maxIndentDepth {
				return 0, fmt.Errorf("%w: nested more than %d deep", errIndent, maxIndentDepth)
			}
			d.newline()
		}
		switch c {
		case '{', '[':
			d.buf = append(d.buf, c)
			d.open = true
		case '}', ']':
			d.depth--
			d.newline()
			d.buf = append(d.buf, c)
		case ',':
			d.buf = append(d.buf, c)
			d.newline()
		case ':':
			d.buf = append(d.buf, ':', ' ')
		case '"':
			d.buf = append(d.buf, c)
			d.str = true
		default:
			d.buf = append(d.buf, c)
		}
	}
	if err := d.flush(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// newline starts a line at the current depth; a line is at most
// 2·maxIndentDepth+1 bytes, so the buffer stays near indentChunk.
func (d *indenter) newline() {
	d.buf = append(d.buf, '\n')
	for range d.depth {
		d.buf = append(d.buf, ' ', ' ')
	}
}

// flush writes out what is buffered, within limit.
func (d *indenter) flush() error {
	limit := min(d.limit, indentBase+indentPer*d.read)
	if d.written+int64(len(d.buf)) > limit {
		return fmt.Errorf("%w: it indents to more than %d bytes", errIndent, limit)
	}
	n, err := d.w.Write(d.buf)
	d.written += int64(n)
	d.buf = d.buf[:0]
	return err
}

// close ends the document with a newline.
func (d *indenter) close() error {
	d.buf = append(d.buf, '\n')
	return d.flush()
}
