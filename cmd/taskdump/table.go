package main

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// tablePadding is the space between a table's columns.
const tablePadding = 2

// table lays out tab-separated cells in aligned columns as
// text/tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) does (same blocks, same
// padding, the last cell of a line left as it is), but measures a cell by
// the columns a terminal gives it, not by its runes: a CJK character or an
// emoji takes two, so a table of names in Chinese or with emoji stays
// aligned. Its cells are escaped text (printer), so no control sequence
// is measured.
//
// Write buffers lines until one without a tab (which ends every column) or
// Flush; Flush writes what is left and returns the first write error. Cost:
// a cell's width is its length when it is ASCII, else a grapheme walk.
type table struct {
	w       io.Writer
	partial []byte      // the line being written, up to its newline
	lines   []tableLine // lines not written yet
	err     error
}

// tableLine is one line's cells (every cell but the last ended with a tab)
// and their widths on a terminal.
type tableLine struct {
	cells  []string
	widths []int
	last   bool // written without a newline: the text after the last one, at Flush
}

func newTable(w io.Writer) *table { return &table{w: w} }

// Write adds p to the table. It never fails: write errors come from Flush.
func (t *table) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.partial = append(t.partial, p...)
			break
		}
		t.partial = append(t.partial, p[:i]...)
		t.addLine(string(t.partial), false)
		t.partial = t.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

func (t *table) addLine(s string, last bool) {
	cells := strings.Split(s, "\t")
	if last && len(cells) > 1 && cells[len(cells)-1] == "" {
		// Text after the last newline that ends with a tab: tabwriter
		// keeps its last cell only if it is not empty.
		cells = cells[:len(cells)-1]
	}
	ln := tableLine{cells: cells, widths: make([]int, len(cells)), last: last}
	for i, c := range cells {
		ln.widths[i] = textWidth(c)
	}
	t.lines = append(t.lines, ln)
	if len(cells) == 1 {
		// A line without a tab ends every column block: lay out what came
		// before (it cannot change) and let it go.
		t.writeOut()
	}
}

// Flush lays out and writes every line given so far, the text after the
// last newline included (without a newline), and returns the first error
// writing met.
func (t *table) Flush() error {
	if len(t.partial) > 0 {
		t.addLine(string(t.partial), true)
		t.partial = t.partial[:0]
	}
	t.writeOut()
	return t.err
}

func (t *table) writeOut() {
	if len(t.lines) == 0 {
		return
	}
	b := bufio.NewWriter(t.w)
	t.format(b, nil, 0, len(t.lines))
	if err := b.Flush(); err != nil && t.err == nil {
		t.err = err
	}
	clear(t.lines)
	t.lines = t.lines[:0]
}

// format writes lines [line0, line1) given the widths of the columns left
// of column len(widths): text/tabwriter's algorithm. A column block is a
// run of consecutive lines that have a cell in the column (a cell ended by
// a tab); its width is its widest cell's plus tablePadding.
func (t *table) format(b *bufio.Writer, widths []int, line0, line1 int) {
	col := len(widths)
	for this := line0; this < line1; this++ {
		if col >= len(t.lines[this].cells)-1 {
			continue
		}
		t.writeLines(b, widths, line0, this)
		line0 = this
		width := 0
		for ; this < line1; this++ {
			ln := &t.lines[this]
			if col >= len(ln.cells)-1 {
				break
			}
			width = max(width, ln.widths[col]+tablePadding)
		}
		t.format(b, append(widths, width), line0, this)
		line0 = this
	}
	t.writeLines(b, widths, line0, line1)
}

// writeLines writes lines [line0, line1), each cell padded to its
// column's width. A write error stays in b (bufio keeps the first) and
// comes out of writeOut's b.Flush.
func (t *table) writeLines(b *bufio.Writer, widths []int, line0, line1 int) {
	for i := line0; i < line1; i++ {
		ln := &t.lines[i]
		for j, c := range ln.cells {
			_, _ = b.WriteString(c)
			if j < len(widths) {
				for range widths[j] - ln.widths[j] {
					_ = b.WriteByte(' ')
				}
			}
		}
		if !ln.last {
			_ = b.WriteByte('\n')
		}
	}
}

// textWidth is how many columns s may take on a terminal, styles aside:
// its length if it is plain ASCII, else the larger of what its grapheme
// clusters take (a terminal that draws them whole: tmux, or one that
// says so, mode 2027) and what its characters take (wcwidth: xterm, and
// Bubble Tea's renderer unless the terminal says otherwise). A ZWJ emoji
// is 2 columns one way, 4 the other; a line laid out by textWidth fits
// both.
func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == 0x1b { // not ASCII, or styled
			return max(ansi.StringWidth(s), ansi.StringWidthWc(s))
		}
	}
	return len(s)
}

// fitWidth cuts s to at most w columns by textWidth, ending it with tail
// if it was cut. Where the two measures differ it cuts more, a column at
// a time: at most w tries.
func fitWidth(s string, w int, tail string) string {
	if textWidth(s) <= w {
		return s
	}
	for n := w; n > 0; n-- {
		if t := ansi.Truncate(s, n, tail); textWidth(t) <= w {
			return t
		}
	}
	return ""
}
