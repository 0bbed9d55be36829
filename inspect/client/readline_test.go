package client

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestReadLine: lines of every length around the reader's buffer and the
// bound come back whole; one past the bound is refused; a last line
// without its newline is an error, a clean end io.EOF.
func TestReadLine(t *testing.T) {
	const buf = 16 // bufio's smallest buffer
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want []string
		err  error
	}{
		{"empty input", "", 100, nil, io.EOF},
		{"short lines", "a\nbb\n\nccc\n", 100, []string{"a", "bb", "", "ccc"}, io.EOF},
		{"a line of the buffer's size", strings.Repeat("x", buf) + "\n", 100, []string{strings.Repeat("x", buf)}, io.EOF},
		{"lines spanning many buffers", strings.Repeat("y", 5*buf+3) + "\n" + strings.Repeat("z", 2*buf) + "\n", 100,
			[]string{strings.Repeat("y", 5*buf+3), strings.Repeat("z", 2*buf)}, io.EOF},
		{"a line of exactly max", strings.Repeat("m", 70) + "\n", 70, []string{strings.Repeat("m", 70)}, io.EOF},
		{"a line one past max", strings.Repeat("m", 71) + "\n", 70, nil, ErrTooLarge},
		{"no newline at the end", "abc\nde", 100, []string{"abc"}, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.in), buf)
			var got []string
			var err error
			for {
				var line []byte
				if line, err = readLine(br, tc.max); err != nil {
					break
				}
				got = append(got, string(line))
			}
			if !errors.Is(err, tc.err) || strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// BenchmarkReadLine90MB reads one 90 MB line (a snapshot of 100,000 tasks
// with their stacks) through a 64 KiB reader, as the watch stream does;
// B/op is what reading it allocates.
func BenchmarkReadLine90MB(b *testing.B) {
	in := append(bytes.Repeat([]byte("x"), 90<<20), '\n')
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		br := bufio.NewReaderSize(bytes.NewReader(in), 64<<10)
		if _, err := readLine(br, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}
