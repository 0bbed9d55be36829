package main

import (
	"io"
)

// indenter writes the JSON document written to it indented as writeJSONTo
// indents (json.Indent with two spaces, then a newline), as it comes: a
// document of 100,000 tasks is passed on, never held or decoded. It keeps
// the bytes of tokens as they are, so it must be given JSON (what
// client.WriteTree lets through); it holds the indented form of one Write
// (written out before Write returns) and a few flags. Its zero value is
// not usable: use newIndenter.
type indenter struct {
	w     io.Writer
	buf   []byte
	depth int
	str   bool // inside a string
	esc   bool // after a backslash inside a string
	open  bool // after { or [: the line break waits for what follows (none if it closes at once)
}

func newIndenter(w io.Writer) *indenter { return &indenter{w: w} }

// Write indents p, which continues the document, and writes it out.
func (d *indenter) Write(p []byte) (int, error) {
	b := d.buf[:0]
	for _, c := range p {
		if d.str {
			b = append(b, c)
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
				b = append(b, c) // {} and [] stay on one line
				continue
			}
			d.depth++
			b = d.newline(b)
		}
		switch c {
		case '{', '[':
			b = append(b, c)
			d.open = true
		case '}', ']':
			d.depth--
			b = d.newline(b)
			b = append(b, c)
		case ',':
			b = d.newline(append(b, c))
		case ':':
			b = append(b, ':', ' ')
		case '"':
			b = append(b, c)
			d.str = true
		default:
			b = append(b, c)
		}
	}
	d.buf = b
	if _, err := d.w.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (d *indenter) newline(b []byte) []byte {
	b = append(b, '\n')
	for range d.depth {
		b = append(b, ' ', ' ')
	}
	return b
}

// close ends the document with a newline.
func (d *indenter) close() error {
	_, err := d.w.Write([]byte{'\n'})
	return err
}
