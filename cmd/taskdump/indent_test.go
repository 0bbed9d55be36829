package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
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
			d := newIndenter(&got)
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
