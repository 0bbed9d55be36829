package inspect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// rawClient is a plain HTTP client on the agent's socket, for requests the
// Client never sends.
func rawClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}, Timeout: 30 * time.Second}
}

func TestBadRequests(t *testing.T) {
	var id uint64
	startLoop(t, "bad", func(ctx context.Context) {
		id = runtime.Spawn(ctx, sleeper(time.Hour), runtime.Named("target")).ID()
	})
	a, _ := listen(t, Options{})
	hc := rawClient(a.Path())
	defer hc.CloseIdleConnections()
	cancelPath := fmt.Sprintf("/v1/tasks/%d/cancel", id)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"unknown path", "GET", "/v1/nope", "", 404, wire.CodeNotFound, `no such path "/v1/nope"`},
		{"unversioned path", "GET", "/tasks", "", 404, wire.CodeNotFound, "paths start with /v1/"},
		{"future version", "GET", "/v2/tasks", "", 404, wire.CodeNotFound, "paths start with /v1/"},
		{"unknown task", "GET", "/v1/tasks/999999999", "", 404, wire.CodeNoSuchTask, "no such task 999999999"},
		{"unknown task stack", "GET", "/v1/tasks/999999999/stack", "", 404, wire.CodeNoSuchTask, "no such task"},
		{"unknown task cancel", "POST", "/v1/tasks/999999999/cancel", "", 404, wire.CodeNoSuchTask, "no such task"},
		{"bad id", "GET", "/v1/tasks/abc", "", 400, wire.CodeBadRequest, `bad task id "abc"`},
		{"zero id", "GET", "/v1/tasks/0", "", 400, wire.CodeBadRequest, `bad task id "0"`},
		{"negative id", "GET", "/v1/tasks/-3/stack", "", 400, wire.CodeBadRequest, `bad task id "-3"`},
		{"huge id", "GET", "/v1/tasks/99999999999999999999999", "", 400, wire.CodeBadRequest, "bad task id"},
		{"cancel with GET", "GET", cancelPath, "", 405, wire.CodeMethod, "use POST"},
		{"list with POST", "POST", "/v1/tasks", "", 405, wire.CodeMethod, "use GET"},
		{"malformed JSON", "POST", cancelPath, `{"msg": `, 400, wire.CodeBadRequest, "bad JSON body"},
		{"wrong JSON type", "POST", cancelPath, `{"msg": 42}`, 400, wire.CodeBadRequest, "bad JSON body"},
		{"unknown field", "POST", cancelPath, `{"message": "x"}`, 400, wire.CodeBadRequest, `unknown field "message"`},
		{"two values", "POST", cancelPath, `{} {}`, 400, wire.CodeBadRequest, "more than one value"},
		{"oversized body", "POST", cancelPath, `{"msg":"` + strings.Repeat("x", 100<<10) + `"}`, 413, wire.CodeTooLarge, "over 65536 bytes"},
		{"long message", "POST", cancelPath, `{"msg":"` + strings.Repeat("x", 5000) + `"}`, 400, wire.CodeBadRequest, "over 4096 bytes"},
		{"bad state", "GET", "/v1/tasks?state=sleeping", "", 400, wire.CodeBadRequest, `bad state "sleeping"`},
		{"bad glob", "GET", "/v1/tasks?name=%5B", "", 400, wire.CodeBadRequest, "bad name pattern"},
		{"bad older_than", "GET", "/v1/tasks?older_than=soon", "", 400, wire.CodeBadRequest, `bad older_than "soon"`},
		{"negative older_than", "GET", "/v1/tasks?older_than=-1s", "", 400, wire.CodeBadRequest, "bad older_than"},
		{"bad waiting_longer_than", "GET", "/v1/tasks?waiting_longer_than=soon", "", 400, wire.CodeBadRequest, `bad waiting_longer_than "soon"`},
		{"negative waiting_longer_than", "GET", "/v1/tasks?waiting_longer_than=-1s", "", 400, wire.CodeBadRequest, "bad waiting_longer_than"},
		{"bad stacks", "GET", "/v1/snapshot?stacks=maybe", "", 400, wire.CodeBadRequest, `bad boolean "maybe"`},
		{"unknown profile", "GET", "/v1/profile/heap", "", 404, wire.CodeNotFound, `no such profile "heap" (want tasks, blocking or cpu)`},
		{"profile without kind", "GET", "/v1/profile", "", 404, wire.CodeNotFound, `no such path "/v1/profile"`},
		{"profile with POST", "POST", "/v1/profile/tasks", "", 405, wire.CodeMethod, "use GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://taskdump"+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var e wire.Error
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("error body is not JSON: %v", err)
			}
			if e.Code != tt.wantCode || !strings.Contains(e.Message, tt.wantMsg) || !strings.HasPrefix(e.Message, "inspect: ") {
				t.Errorf("error = %+v, want code %q and a message with %q", e, tt.wantCode, tt.wantMsg)
			}
		})
	}
	// The target is untouched and the agent still answers.
	l, _ := runtime.FindTask(id)
	if ti, ok := l.Task(id); !ok || ti.State != runtime.Pending {
		t.Errorf("target after bad requests = %+v, want pending", ti)
	}
}

func TestOversizedHeaders(t *testing.T) {
	a, _ := listen(t, Options{})
	hc := rawClient(a.Path())
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "http://taskdump/v1/loops", nil)
	req.Header.Set("X-Big", strings.Repeat("y", 64<<10))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status = %d, want 431", resp.StatusCode)
	}
}

// TestManyClients sends 500 concurrent requests while the loop runs a
// workload: each is answered (200, or 503 when too many are in flight)
// and the workload keeps going.
func TestManyClients(t *testing.T) {
	var mu sync.Mutex
	ticks := 0
	startLoop(t, "busy", func(ctx context.Context) {
		for i := range 50 {
			runtime.Spawn(ctx, sleeper(time.Hour), runtime.Named(fmt.Sprintf("idle-%d", i)))
		}
		runtime.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			for {
				if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
					return struct{}{}, err
				}
				mu.Lock()
				ticks++
				mu.Unlock()
			}
		}, runtime.Named("ticker"))
	})
	a, _ := listen(t, Options{})
	count := func() int { mu.Lock(); defer mu.Unlock(); return ticks }
	before := count()
	const n = 500
	var wg sync.WaitGroup
	statuses := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := rawClient(a.Path())
			defer hc.CloseIdleConnections()
			p := []string{"/v1/tasks", "/v1/tree", "/v1/loops", "/v1/blocking", "/v1/history"}[i%5]
			resp, err := hc.Get("http://taskdump" + p)
			if err != nil {
				errs[i] = err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	ok, busy := 0, 0
	for i := range n {
		switch {
		case errs[i] != nil:
			t.Errorf("client %d: %v", i, errs[i])
		case statuses[i] == 200:
			ok++
		case statuses[i] == 503:
			busy++
		default:
			t.Errorf("client %d: status %d", i, statuses[i])
		}
	}
	if ok == 0 {
		t.Errorf("no request succeeded (%d busy)", busy)
	}
	t.Logf("%d ok, %d busy", ok, busy)
	waitFor(t, "the workload to go on", func() bool { return count() > before+10 })
}

func TestHandlerMounted(t *testing.T) {
	var id uint64
	startLoop(t, "mounted", func(ctx context.Context) {
		id = runtime.Spawn(ctx, sleeper(time.Hour), runtime.Named("m")).ID()
	})
	mux := http.NewServeMux()
	mux.Handle("/debug/taskdump/", http.StripPrefix("/debug/taskdump", Handler(Options{ReadOnly: true})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(fmt.Sprintf("%s/debug/taskdump/v1/tasks/%d", srv.URL, id))
	if err != nil {
		t.Fatal(err)
	}
	var tk wire.Task
	json.NewDecoder(resp.Body).Decode(&tk)
	resp.Body.Close()
	if resp.StatusCode != 200 || tk.Name != "m" {
		t.Errorf("mounted GET = %d %+v, want 200 and task m", resp.StatusCode, tk)
	}
	resp, err = http.Post(fmt.Sprintf("%s/debug/taskdump/v1/tasks/%d/cancel", srv.URL, id), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("cancel on a read-only mounted handler = %d, want 403", resp.StatusCode)
	}
	srv.Client().CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
}

func TestRefusesOtherUIDs(t *testing.T) {
	h := newHandler(Options{}, true)
	tests := []struct {
		name string
		ctx  context.Context
		want int
	}{
		{"same uid", context.WithValue(context.Background(), peerKey{}, Peer{PID: 1, UID: h.self}), 200},
		{"root", context.WithValue(context.Background(), peerKey{}, Peer{PID: 1, UID: 0}), 200},
		{"other uid", context.WithValue(context.Background(), peerKey{}, Peer{PID: 1, UID: 4242}), 403},
		{"unknown peer", context.WithValue(context.Background(), peerKey{}, Peer{PID: -1, UID: -1}), 403},
		{"no credentials", context.Background(), 403},
	}
	if h.self == 4242 {
		t.Skip("runs as uid 4242, the test's other uid")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequestWithContext(tt.ctx, "GET", "/v1/loops", nil)
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d (body %s)", rec.Code, tt.want, rec.Body)
			}
			if tt.want == 403 && !bytes.Contains(rec.Body.Bytes(), []byte(`"permission_denied"`)) {
				t.Errorf("body = %s, want code permission_denied", rec.Body)
			}
		})
	}
}

// TestProcessSchema checks that /v1/process and /v1/snapshot carry the
// wire schema, so that a reader can tell an agent it does not understand.
func TestProcessSchema(t *testing.T) {
	h := Handler(Options{})
	for _, tt := range []struct {
		path string
		get  func(m map[string]json.RawMessage) json.RawMessage
	}{
		{"/v1/process", func(m map[string]json.RawMessage) json.RawMessage { return m["schema"] }},
		{"/v1/snapshot", func(m map[string]json.RawMessage) json.RawMessage {
			var p map[string]json.RawMessage
			json.Unmarshal(m["process"], &p)
			return p["schema"]
		}},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
		var m map[string]json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("GET %s: %d %v", tt.path, rec.Code, err)
		}
		if got, want := string(tt.get(m)), fmt.Sprint(wire.Schema); got != want {
			t.Errorf("GET %s: schema = %s, want %s", tt.path, got, want)
		}
	}
}

// rawRequest sends method and path on a new connection of dial, byte for
// byte (no client cleans the path), and returns the answer.
func rawRequest(t *testing.T, dial func() (net.Conn, error), method, path string) (*http.Response, []byte) {
	t.Helper()
	conn, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: taskdump\r\nConnection: close\r\n\r\n", method, path); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestRoutes sends raw requests to the agent and to the handler mounted on
// a user's mux (under a prefix, and at the root): every route answers, and
// what no route takes gets a JSON 404, or a JSON 405 with Allow when
// another method would be taken, never ServeMux's plain text or redirects.
func TestRoutes(t *testing.T) {
	var id uint64
	startLoop(t, "routes", func(ctx context.Context) {
		id = runtime.Spawn(ctx, sleeper(time.Hour), runtime.Named("routed")).ID()
	})
	task := fmt.Sprintf("/v1/tasks/%d", id)
	tests := []struct {
		method, path string
		status       int
		code, allow  string
		msg          string
	}{
		{"GET", "/v1/process", 200, "", "", ""},
		{"HEAD", "/v1/loops", 200, "", "", ""},
		{"GET", task, 200, "", "", ""},
		{"GET", task + "/stack", 200, "", "", ""},
		{"GET", "/v1/profile/tasks", 200, "", "", ""},
		{"GET", "/v1/nope", 404, wire.CodeNotFound, "", `no such path "/v1/nope"`},
		{"GET", "/nope", 404, wire.CodeNotFound, "", "paths start with /v1/"},
		{"GET", "/", 404, wire.CodeNotFound, "", "paths start with /v1/"},
		{"GET", "/v1/tasks/", 404, wire.CodeNotFound, "", "no such path"},
		{"GET", task + "/stack/", 404, wire.CodeNotFound, "", "no such path"},
		{"GET", task + "/nope", 404, wire.CodeNotFound, "", "no such path"},
		{"GET", "/v1//tasks", 404, wire.CodeNotFound, "", "no such path"},
		{"GET", "/v1/tasks/../process", 404, wire.CodeNotFound, "", "no such path"},
		{"GET", "/v1/./process", 404, wire.CodeNotFound, "", "no such path"},
		{"DELETE", task, 405, wire.CodeMethod, "GET, HEAD", "method DELETE not allowed on " + task + " (use GET)"},
		{"POST", task + "/stack", 405, wire.CodeMethod, "GET, HEAD", "use GET"},
		{"PUT", "/v1/process", 405, wire.CodeMethod, "GET, HEAD", "use GET"},
		{"GET", task + "/cancel", 405, wire.CodeMethod, "POST", "use POST"},
		{"HEAD", task + "/cancel", 405, "", "POST", ""},
		{"POST", "/v1/profile/blocking", 405, wire.CodeMethod, "GET, HEAD", "use GET"},
	}

	a, _ := listen(t, Options{ReadOnly: true})
	agentDial := func() (net.Conn, error) { return net.Dial("unix", a.Path()) }
	mounted := func(mount func(*http.ServeMux)) func() (net.Conn, error) {
		mux := http.NewServeMux()
		mount(mux)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return func() (net.Conn, error) { return net.Dial("tcp", srv.Listener.Addr().String()) }
	}
	servers := []struct {
		name   string
		prefix string
		dial   func() (net.Conn, error)
	}{
		{"agent", "", agentDial},
		{"under a prefix", "/debug/taskdump", mounted(func(mux *http.ServeMux) {
			mux.Handle("/debug/taskdump/", http.StripPrefix("/debug/taskdump", Handler(Options{ReadOnly: true})))
		})},
		{"at the root", "", mounted(func(mux *http.ServeMux) {
			mux.Handle("/", Handler(Options{ReadOnly: true}))
		})},
	}
	for _, srv := range servers {
		for _, tt := range tests {
			unclean := strings.Contains(tt.path, "/.") || strings.Contains(tt.path, "//")
			if srv.prefix != "" && tt.path == "/" || srv.name != "agent" && unclean {
				continue // the user's mux answers those itself (404, or a redirect to the clean path)
			}
			t.Run(srv.name+" "+tt.method+" "+tt.path, func(t *testing.T) {
				resp, body := rawRequest(t, srv.dial, tt.method, srv.prefix+tt.path)
				if resp.StatusCode != tt.status {
					t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tt.status, body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" && tt.path != "/v1/profile/tasks" {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
				if got := resp.Header.Get("Allow"); got != tt.allow {
					t.Errorf("Allow = %q, want %q", got, tt.allow)
				}
				if tt.code == "" {
					return
				}
				var e wire.Error
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatalf("error body %q is not JSON: %v", body, err)
				}
				if e.Code != tt.code || !strings.Contains(e.Message, tt.msg) || !strings.HasPrefix(e.Message, "inspect: ") {
					t.Errorf("error = %+v, want code %q and a message with %q", e, tt.code, tt.msg)
				}
			})
		}
	}
}

// TestRoutesServeWirePaths checks that every path constant of the wire
// package is routed, so that the two cannot drift apart.
func TestRoutesServeWirePaths(t *testing.T) {
	var patterns []string
	for _, rt := range routes {
		_, p, _ := strings.Cut(rt.pattern, " ")
		patterns = append(patterns, p)
		if !strings.HasPrefix(p, "/"+wire.Version+"/") {
			t.Errorf("route %q is not under /%s/", rt.pattern, wire.Version)
		}
	}
	for _, p := range []string{wire.PathProcess, wire.PathLoops, wire.PathTasks, wire.PathTree, wire.PathBlocking,
		wire.PathHistory, wire.PathSnapshot, wire.PathTask + "{id}", wire.PathProfile + "{kind}", wire.PathDoctor, wire.PathResources} {
		if !slices.Contains(patterns, p) {
			t.Errorf("wire path %s has no route", p)
		}
	}
}
