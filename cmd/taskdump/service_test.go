package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

// maxEndedID returns the highest task id in the history: it grows while the
// service's workload runs.
func maxEndedID(t *testing.T, p *proc) uint64 {
	var hist []wire.Task
	if err := json.Unmarshal([]byte(ok(t, p.dir, "history", pidArg(p), "--json")), &hist); err != nil {
		t.Fatal(err)
	}
	var m uint64
	for _, h := range hist {
		m = max(m, h.ID)
	}
	return m
}

// rawRoundTrip sends req on a new connection to sock, writing it from
// another goroutine, and reads the answer even if the server closes before
// it has read the whole request.
func rawRoundTrip(sock string, req *http.Request) (*http.Response, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, err
	}
	go func() { req.Write(c) }() // an error here is the early close under test
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		c.Close()
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	c.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp, err
}

// TestService drives every subcommand against the real example service
// and checks that abuse of its agent does not stop its workload.
func TestService(t *testing.T) {
	p := startProc(t, bins.service, "-quiet", "-rate", "5ms", "-block-every", "300ms", "-block-for", "400ms")
	pid := pidArg(p)

	// The service names its socket before its loop has spawned its tasks.
	pollJSON(t, p.dir, "the service's tasks", func(ts []wire.Task) bool {
		for _, name := range []string{"producer", "worker-1", "worker-4", "reporter", "stuck-job-1", "cache-refresh"} {
			if _, ok := findTask(ts, name); !ok {
				return false
			}
		}
		return true
	}, "tasks", pid, "--json")
	out := ok(t, p.dir, "tasks", pid)
	for _, want := range []string{"ID  NAME", "producer", "worker-1", "worker-4", "reporter", "stuck-job-1", "cache-refresh", "main.go:"} {
		if !strings.Contains(out, want) {
			t.Errorf("tasks: no %q in\n%s", want, out)
		}
	}
	ts := pollJSON(t, p.dir, "a worker awaiting a job task", func(ts []wire.Task) bool {
		w, _ := findTask(ts, "worker-1")
		return len(w.Awaits) == 1
	}, "tasks", pid, "--json")
	w1, _ := findTask(ts, "worker-1")
	if !strings.HasPrefix(w1.Awaiting, "wait_for(task ") || w1.Function != "main.serve.func2" {
		t.Errorf("worker-1 = awaiting %q fn %q", w1.Awaiting, w1.Function)
	}
	if out := ok(t, p.dir, "tasks", pid, "--name", "stuck-*", "--state", "pending"); strings.Count(out, "stuck-job-") != 3 {
		t.Errorf("tasks --name stuck-*:\n%s", out)
	}
	out = ok(t, p.dir, "tree", pid)
	if !strings.HasPrefix(out, "└── main (#1) pending: wait(") || !strings.Contains(out, "(spawned) stuck-job-1") {
		t.Errorf("tree:\n%s", out)
	}
	out = ok(t, p.dir, "stack", pid, fmt.Sprint(w1.ID))
	if !strings.Contains(out, "main.work(...)") || !strings.Contains(out, "runtime.WaitFor[...](...)") {
		t.Errorf("stack of worker-1:\n%s", out)
	}
	evs := pollJSON(t, p.dir, "the cache refresher to block the loop", func(evs []wire.BlockEvent) bool {
		return len(evs) > 0 && evs[0].TaskName == "cache-refresh" && !evs[0].At.IsZero()
	}, "blocking", pid, "--json")
	if ev := evs[0]; ev.At.Function != "main.refreshCache" || ev.Call != "time.Sleep" {
		t.Errorf("blocking event at %+v calling %q, want main.refreshCache calling time.Sleep", ev.At, ev.Call)
	}
	if out := ok(t, p.dir, "blocking", pid); !regexp.MustCompile(`task 11 "cache-refresh" (has )?blocked loop service for`).MatchString(out) ||
		!strings.Contains(out, "at main.refreshCache main.go:") {
		t.Errorf("blocking:\n%s", out)
	}
	pollJSON(t, p.dir, "finished jobs in the history", func(h []wire.Task) bool {
		return len(h) > 0 && strings.HasPrefix(h[0].Name, "job-")
	}, "history", pid, "--json")
	if out := ok(t, p.dir, "history", pid); !strings.Contains(out, "job-") {
		t.Errorf("history:\n%s", out)
	}
	file := filepath.Join(t.TempDir(), "snap.json")
	ok(t, p.dir, "snapshot", pid, "-o", file)
	var snap wire.Snapshot
	data, _ := os.ReadFile(file)
	if err := json.Unmarshal(data, &snap); err != nil || snap.Loops[0].Name != "service" {
		t.Errorf("snapshot: %v", err)
	}
	out = ok(t, p.dir, "cancel", pid, "--name", "stuck-job-*", "--msg", "no reply coming", "--wait")
	if regexp.MustCompile(`(?m)^task \d+ "stuck-job-\d": cancelled: .*no reply coming$`).FindAllString(out, -1) == nil ||
		len(regexp.MustCompile(`(?m)^task \d+ "stuck-job-\d": cancelled: .*no reply coming$`).FindAllString(out, -1)) != 3 {
		t.Errorf("cancel --wait:\n%s", out)
	}
	if ps := ok(t, p.dir, "ps"); !strings.Contains(ps, "service -quiet") {
		t.Errorf("ps:\n%s", ps)
	}

	// Abuse: malformed requests and 500 concurrent clients. The workload
	// keeps going.
	before := maxEndedID(t, p)
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", p.sock)
		},
		DisableKeepAlives: true,
	}, Timeout: 60 * time.Second}
	defer hc.CloseIdleConnections()
	bad := []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/v1/tasks/2/cancel", `{"msg":`, 400},
		{"POST", "/v1/tasks/2/cancel", strings.Repeat("x", 1<<20), 413},
		{"GET", "/v1/tasks/123456789", "", 404},
		{"GET", "/v1/whatever", "", 404},
		{"DELETE", "/v1/tasks", "", 405},
	}
	for _, b := range bad {
		req, _ := http.NewRequest(b.method, "http://x"+b.path, strings.NewReader(b.body))
		var resp *http.Response
		var err error
		if b.want == http.StatusRequestEntityTooLarge {
			// The agent may answer and close before it has read the whole
			// body, as net/http does: write it on the side and read the
			// answer, so a write that fails does not hide it.
			resp, err = rawRoundTrip(p.sock, req)
		} else {
			resp, err = hc.Do(req)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", b.method, b.path, err)
		}
		var e wire.Error
		derr := json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != b.want || derr != nil || e.Message == "" {
			t.Errorf("%s %s: %d %+v %v, want %d with a JSON error", b.method, b.path, resp.StatusCode, e, derr, b.want)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := []string{"/v1/tasks", "/v1/tree", "/v1/blocking", "/v1/loops", "/v1/history"}[i%5]
			resp, err := hc.Get("http://x" + path)
			code := -1
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[200] == 0 || codes[200]+codes[503] != 500 {
		t.Errorf("500 concurrent clients: status counts %v, want only 200 and 503", codes)
	}
	t.Logf("500 concurrent clients: %v", codes)
	deadline := time.Now().Add(20 * time.Second)
	for maxEndedID(t, p) <= before+20 {
		if time.Now().After(deadline) {
			t.Fatalf("the service's workload stalled: last ended task id %d, before the abuse %d", maxEndedID(t, p), before)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if p.cmd.ProcessState != nil {
		t.Fatal("the service exited")
	}
}

// TestServiceWorkerCancelled: cancelling one worker of the example service
// is logged, and the service carries on with the others.
func TestServiceWorkerCancelled(t *testing.T) {
	p := startProc(t, bins.service, "-quiet", "-rate", "5ms", "-block-every", "0")
	pid := pidArg(p)
	out := ok(t, p.dir, "cancel", pid, "--name", "worker-2", "--msg", "scaling down", "--wait")
	if !regexp.MustCompile(`(?m)^task 4 "worker-2": cancelled`).MatchString(out) {
		t.Fatalf("cancel worker-2:\n%s", out)
	}
	before := maxEndedID(t, p)
	deadline := time.Now().Add(20 * time.Second)
	for maxEndedID(t, p) <= before+20 {
		if time.Now().After(deadline) || p.cmd.ProcessState != nil {
			t.Fatalf("the service stopped working after one worker was cancelled; its log:\n%s", p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts := pollJSON(t, p.dir, "the other workers", func([]wire.Task) bool { return true }, "tasks", pid, "--json")
	for _, name := range []string{"producer", "worker-1", "worker-3", "worker-4", "reporter"} {
		if _, found := findTask(ts, name); !found {
			t.Errorf("%s is gone after worker-2 was cancelled", name)
		}
	}
	if _, found := findTask(ts, "worker-2"); found {
		t.Errorf("worker-2 still listed after its cancel")
	}
	logged := p.out.String()
	if !strings.Contains(logged, "part of the service stopped; the rest carries on") || !strings.Contains(logged, "task=worker-2") ||
		!strings.Contains(logged, "scaling down") {
		t.Errorf("the service's log does not say worker-2 stopped:\n%s", logged)
	}
}
