package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestJSONGuard feeds each answer to a jsonGuard cut at every place (a
// character split between two writes included) and checks what it lets
// through: all of a JSON document, and of anything else what comes before
// the first byte no JSON document holds.
func TestJSONGuard(t *testing.T) {
	tests := []struct {
		name, in, want string
		bad            bool
	}{
		{"json", "[\n{\"id\":1,\"name\":\"w\\u001b\"},\r\n\t{}]\n", "[\n{\"id\":1,\"name\":\"w\\u001b\"},\r\n\t{}]\n", false},
		{"utf-8", `{"name":"héllo 世界 👩💻"}`, `{"name":"héllo 世界 👩💻"}`, false},
		// What a terminal acts on but JSON allows raw is escaped: the same
		// JSON value, nothing for the terminal (C1 CSI, a bidi override,
		// a zero-width joiner, a tag character above U+FFFF).
		{"c1 and format characters", "{\"name\":\"a\u009b2Jb\u202ec👩\u200d💻\U000e0001\"}", `{"name":"a\u009b2Jb\u202ec👩\u200d💻\udb40\udc01"}`, false},
		{"escape sequence", "{\"name\":\"\x1b]0;title\x07\"}", `{"name":"`, true},
		{"nul", "[1,\x00]", "[1,", true},
		{"not utf-8", "{\"name\":\"a\xffb\"}", `{"name":"a`, true},
		{"cut character", "{\"name\":\"\xe4\xb8", `{"name":"`, true},
		{"overlong", "[\"\xc0\xaf\"]", `["`, true},
		// A backslash before a character above ASCII is no JSON escape:
		// not turned into one.
		{"backslash before C1", "[\"a\\\u009b\"]", `["a\`, true},
		{"escaped backslash before C1", "[\"a\\\\\u009b\"]", `["a\\\u009b"]`, false},
	}
	for _, tt := range tests {
		if !tt.bad { // what is escaped is the same JSON value
			var in, out any
			if err := json.Unmarshal([]byte(tt.in), &in); err != nil {
				t.Fatalf("%s: bad test input: %v", tt.name, err)
			}
			if err := json.Unmarshal([]byte(tt.want), &out); err != nil || !reflect.DeepEqual(in, out) {
				t.Errorf("%s: %q decodes to %v (%v), want %v as the input does", tt.name, tt.want, out, err, in)
			}
		}
		for cut := 0; cut <= len(tt.in); cut++ {
			var out bytes.Buffer
			g := &jsonGuard{w: &out}
			_, err := g.Write([]byte(tt.in[:cut]))
			if err == nil {
				_, err = g.Write([]byte(tt.in[cut:]))
			}
			if err == nil {
				err = g.finish()
			}
			if got := out.String(); got != tt.want {
				t.Errorf("%s cut at %d: wrote %q, want %q", tt.name, cut, got, tt.want)
			}
			if got := errors.Is(err, ErrNotJSON); got != tt.bad {
				t.Errorf("%s cut at %d: err = %v, want ErrNotJSON: %v", tt.name, cut, err, tt.bad)
			}
		}
	}
}

// TestCopyRefusesNotJSON: a process whose agent answers with a raw escape
// sequence gets an error, and the sequence does not reach the writer
// (a terminal, for `taskdump tasks --json`).
func TestCopyRefusesNotJSON(t *testing.T) {
	c := fakeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("[\n{\"id\":1,\"name\":\"\x1b]0;pwned\x07\"}\n]\n"))
	})
	tests := []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"WriteTasks", func(b *bytes.Buffer) error { return c.WriteTasks(context.Background(), TaskFilter{}, b) }},
		{"WriteTree", func(b *bytes.Buffer) error { return c.WriteTree(context.Background(), b) }},
		{"WriteSnapshot", func(b *bytes.Buffer) error { return c.WriteSnapshot(context.Background(), false, b) }},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := tt.write(&out)
		if !errors.Is(err, ErrNotJSON) || !strings.Contains(err.Error(), "byte 0x1b at offset 18 is a control character") {
			t.Errorf("%s: err = %v, want ErrNotJSON naming 0x1b at offset 18 as a control character", tt.name, err)
		}
		if got, want := out.String(), "[\n{\"id\":1,\"name\":\""; got != want {
			t.Errorf("%s wrote %q, want %q", tt.name, got, want)
		}
	}
}

// TestWriteJSON: a document the caller encoded reaches w with what a
// terminal acts on escaped, the same JSON value; bytes no JSON holds are
// refused.
func TestWriteJSON(t *testing.T) {
	for _, tt := range []struct {
		doc, want string
		err       bool
	}{
		{`{"name":"plain"}`, `{"name":"plain"}`, false},
		{"{\"name\":\"ev\u202eil\u009b2J\"}", `{"name":"ev\u202eil\u009b2J"}`, false},
		{"{\"name\":\"caf\u00e9 \U0001F600\"}", "{\"name\":\"caf\u00e9 \U0001F600\"}", false},
		{"{\"name\":\"\x1b[2J\"}", "{\"name\":\"", true},
	} {
		var b bytes.Buffer
		err := WriteJSON(&b, []byte(tt.doc))
		if b.String() != tt.want || (err != nil) != tt.err || tt.err && !errors.Is(err, ErrNotJSON) {
			t.Errorf("WriteJSON(%q) wrote %q, %v; want %q, error %v", tt.doc, b.String(), err, tt.want, tt.err)
		}
	}
}
