package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/taskdump/taskdump/inspect/client"
)

// TestIndenterAsEncoder checks that the indenter, fed a document in pieces
// of every size, writes what writeJSONTo writes for the same value: the
// document as json.Indent indents it, then a newline.
func TestIndenterAsEncoder(t *testing.T) {
	docs := []string{
		`{}`,
		`[]`,
		` {"roots": [ {"task":{"id":1,"name":"a \"quoted\\\" [b], {c}: d","awaits":[],"x":{}},"children":[{"task":{"id":2}},{"task":{"id":3,"n":-1.5e3,"b":true,"z":null}}]}], "cycles":[[1,2]]}` + "\n",
		`"just a string, with \\ and \u001b"`,
		`[[[],{}],[{"a":[1,2,{"b":[]}]}]]`,
		"{ \"a\" : [ ] , \"b\" : { \r\n} }",
	}
	for _, doc := range docs {
		// writeJSONTo's encoder indents as json.Indent does (after it
		// encodes the value compactly) and ends with a newline.
		var want bytes.Buffer
		if err := json.Indent(&want, []byte(strings.TrimSpace(doc)), "", "  "); err != nil {
			t.Fatalf("bad test document %s: %v", doc, err)
		}
		want.WriteByte('\n')
		in := []byte(doc)
		for size := 1; size <= len(in); size++ {
			var got bytes.Buffer
			d := newIndenter(&got, 1<<30)
			for b := in; len(b) > 0; {
				n := min(size, len(b))
				if _, err := d.Write(b[:n]); err != nil {
					t.Fatal(err)
				}
				b = b[n:]
			}
			if err := d.close(); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("%s in pieces of %d:\ngot  %s\nwant %s", doc, size, got.String(), want.String())
			}
		}
	}
}

// TestIndenterBounded: what another process sends cannot make the
// indenter nest without end, hold much, or write without end.
func TestIndenterBounded(t *testing.T) {
	deep := strings.Repeat("[", maxIndentDepth+2) + strings.Repeat("]", maxIndentDepth+2)
	wide := "[" + strings.Repeat("[", 100) + strings.Repeat("0,", 100_000) + "0" + strings.Repeat("]", 100) + "]"
	tests := []struct {
		name  string
		in    string
		limit int64
		want  string
	}{
		{"nested too deep", deep, client.MaxCopyBytes, "nested more than 4096 deep"},
		{"indents past the limit", wide, 1 << 20, "indents to more than 1048576 bytes"},
		// Deep and wide, within the depth: tree --json's own limit.
		{"indents past its size", strings.Repeat("[", maxIndentDepth) + "0" + strings.Repeat(",0", 100_000) + strings.Repeat("]", maxIndentDepth),
			client.MaxCopyBytes, "indents to more than"},
	}
	for _, tt := range tests {
		var out countingWriter
		d := newIndenter(&out, tt.limit)
		_, err := d.Write([]byte(tt.in))
		if !errors.Is(err, errIndent) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one saying %q", tt.name, err, tt.want)
		}
		if out.n > min(tt.limit, indentBase+indentPer*int64(len(tt.in))) || cap(d.buf) > 2*indentChunk+4*maxIndentDepth {
			t.Errorf("%s: wrote %d bytes (limit %d), holds %d", tt.name, out.n, tt.limit, cap(d.buf))
		}
	}
}

// countingWriter counts what is written to it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
