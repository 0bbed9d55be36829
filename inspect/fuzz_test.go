package inspect

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// FuzzRequest sends arbitrary methods, paths, queries and bodies to the
// handler: it must never panic, must answer with a known status, and every
// error must be a JSON wire.Error.
func FuzzRequest(f *testing.F) {
	var id uint64
	startLoop(f, "fuzz", func(ctx context.Context) {
		id = runtime.Spawn(ctx, sleeper(time.Hour), runtime.Named("fuzzed")).ID()
	})
	_ = id
	seeds := []struct{ method, path, query, body string }{
		{"GET", "/v1/tasks", "state=pending&name=f*", ""},
		{"GET", "/v1/tasks/2", "", ""},
		{"GET", "/v1/tasks/2/stack", "", ""},
		{"POST", "/v1/tasks/999/cancel", "", `{"msg":"x"}`},
		{"POST", "/v1/tasks/abc/cancel", "", `{"msg":`},
		{"GET", "/v1/snapshot", "stacks=1", ""},
		{"GET", "/v1/tree", "", ""},
		{"DELETE", "/v1/loops", "", ""},
		{"GET", "/v1/tasks", "older_than=1x&state=", ""},
		{"GET", "/v1//tasks/../x", "%zz", "\x00"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.body)
	}
	h := newHandler(Options{ReadOnly: true}, false)
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n()<>@,;:\\\"/[]?={}") || len(method) > 16 {
			method = "GET"
		}
		req := httptest.NewRequest("GET", "/", strings.NewReader(body))
		req.Method = method
		req.URL.Path = path
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			if !json.Valid(rec.Body.Bytes()) && method != "HEAD" {
				t.Fatalf("%s %s?%s: 200 with invalid JSON %q", method, path, query, rec.Body.String())
			}
		case 400, 403, 404, 405, 409, 413:
			var e wire.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("%s %s?%s: status %d with body %q, want a JSON error", method, path, query, rec.Code, rec.Body.String())
			}
		default:
			t.Fatalf("%s %s?%s: unexpected status %d: %s", method, path, query, rec.Code, rec.Body.String())
		}
	})
}

// FuzzDecodeCancel checks the cancel body decoder alone: it accepts
// exactly the empty body and one CancelRequest object.
func FuzzDecodeCancel(f *testing.F) {
	for _, s := range []string{"", "{}", `{"msg":"x"}`, `{"msg":1}`, `{"a":1}`, "{} {}", "null", "[", " \n "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeCancel(strings.NewReader(string(body)))
		if err != nil {
			if err.status != 400 || !strings.HasPrefix(err.msg, "inspect: ") {
				t.Fatalf("decodeCancel(%q) error = %+v", body, err)
			}
			return
		}
		if len(req.Msg) > 4096 {
			t.Fatalf("decodeCancel(%q) accepted a message of %d bytes", body, len(req.Msg))
		}
	})
}
