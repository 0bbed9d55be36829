package inspect

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// TestProfile reads both profiles through the Client and checks the HTTP
// answer (type, download name) and what the profiles hold.
func TestProfile(t *testing.T) {
	startLoop(t, "prof", func(ctx context.Context) {
		runtime.Spawn(ctx, sleeper(time.Hour), runtime.Named("prof-sleeper"))
	})
	a, c := listen(t, Options{})
	ctx := context.Background()

	tests := []struct {
		kind       string
		sampleType string
		wantTask   bool // the loop's sleeper is in the profile
	}{
		{wire.ProfileTasks, "tasks", true},
		{wire.ProfileBlocking, "blocked", false},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			data, err := c.Profile(ctx, tt.kind)
			if err != nil {
				t.Fatalf("Profile(%q): %v", tt.kind, err)
			}
			p, err := profile.Parse(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("profile.Parse: %v", err)
			}
			if got := p.SampleType[0].Type; got != tt.sampleType {
				t.Errorf("sample type = %q, want %q", got, tt.sampleType)
			}
			var found *profile.Sample
			for _, s := range p.Sample {
				if s.HasLabel("task.name", "prof-sleeper") {
					found = s
				}
			}
			if (found != nil) != tt.wantTask {
				t.Fatalf("sample of prof-sleeper found = %v, want %v", found != nil, tt.wantTask)
			}
			if found != nil {
				if found.Value[0] != 1 || found.Value[1] <= 0 || !found.HasLabel("state", "pending") || !found.HasLabel("loop", "prof") {
					t.Errorf("prof-sleeper sample: values %v, labels %v; want 1 task suspended > 0 ns, pending in loop prof", found.Value, found.Label)
				}
				if top := found.Location[0].Line[0]; !strings.HasSuffix(top.Function.Filename, "main_test.go") || !strings.Contains(top.Function.Name, "sleeper") {
					t.Errorf("top frame = %s %s:%d, want the sleeper's runtime.Sleep call in main_test.go", top.Function.Name, top.Function.Filename, top.Line)
				}
			}

			// The raw answer is a download of gzipped protobuf.
			resp, err := rawClient(a.Path()).Get("http://taskdump" + wire.PathProfile + tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantDisp := `attachment; filename="` + tt.kind + "-" + strconv.Itoa(os.Getpid()) + `.pb.gz"`
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/octet-stream" ||
				resp.Header.Get("Content-Disposition") != wantDisp || !bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
				t.Errorf("GET %s: status %d, Content-Type %q, Content-Disposition %q, body starts %x; want 200, application/octet-stream, %q, gzip",
					tt.kind, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), body[:min(len(body), 2)], wantDisp)
			}
		})
	}

	_, err := c.Profile(ctx, "heap")
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != wire.CodeNotFound || ae.Error() != `inspect: no such profile "heap" (want tasks, blocking or cpu)` {
		t.Errorf("Profile(heap) error = %v, want a 404 client.APIError naming the kinds", err)
	}
}

// TestCPUProfile takes the process's CPU profile through the Client while
// a task spins: its samples carry the task's labels (the runtime sets them
// while a CPU profile runs); a second profile at the same time is refused
// as busy, and a bad length as a bad request.
func TestCPUProfile(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	startLoop(t, "cpu", func(ctx context.Context) {
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			for {
				select {
				case <-stop:
					return 0, nil
				default:
				}
				for end := time.Now().Add(2 * time.Millisecond); time.Now().Before(end); {
				}
				if err := runtime.Yield(ctx); err != nil {
					return 0, err
				}
			}
		}, runtime.Named("spinner"))
	})
	_, c := listen(t, Options{})
	ctx := context.Background()
	type answer struct {
		data []byte
		err  error
	}
	first := make(chan answer, 1)
	go func() {
		data, err := c.CPUProfile(ctx, 2*time.Second)
		first <- answer{data, err}
	}()
	// A second one while the first runs is busy (it may come first: then
	// the first is, and the test tries again).
	var ae *client.APIError
	for deadline := time.Now().Add(20 * time.Second); ; {
		time.Sleep(200 * time.Millisecond)
		_, err := c.CPUProfile(ctx, time.Second)
		if errors.As(err, &ae) && ae.Code == wire.CodeBusy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a second CPU profile while one runs: %v, want busy", err)
		}
	}
	got := <-first
	if got.err != nil {
		t.Fatalf("CPUProfile: %v", got.err)
	}
	p, err := profile.Parse(bytes.NewReader(got.data))
	if err != nil {
		t.Fatalf("profile.Parse: %v", err)
	}
	found := false
	for _, s := range p.Sample {
		found = found || s.HasLabel("task.name", "spinner") && s.HasLabel("loop", "cpu")
	}
	if p.SampleType[len(p.SampleType)-1].Type != "cpu" || !found {
		t.Errorf("sample types %v, a sample of task spinner in loop cpu: %v; want cpu samples of spinner", p.SampleType, found)
	}
	// What it refuses: a HEAD (it would take the profile for nothing), a
	// body (the client's leaving would go unseen), a read-only agent.
	rc := rawClient(c.Path())
	defer rc.CloseIdleConnections()
	status := func(resp *http.Response, err error) int {
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(rc.Head("http://taskdump" + wire.PathProfile + wire.ProfileCPU + "?seconds=1")); got != http.StatusMethodNotAllowed {
		t.Errorf("HEAD: status %d, want 405", got)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://taskdump"+wire.PathProfile+wire.ProfileCPU+"?seconds=1", strings.NewReader("abc"))
	if got := status(rc.Do(req)); got != http.StatusBadRequest {
		t.Errorf("GET with a body: status %d, want 400", got)
	}
	_, ro := listen(t, Options{ReadOnly: true})
	if _, err := ro.CPUProfile(ctx, time.Second); !errors.As(err, &ae) || ae.Code != wire.CodeReadOnly {
		t.Errorf("read-only agent: %v, want read_only", err)
	}
	for _, q := range []string{"0", "31", "1.5", "x"} {
		resp, err := rawClient(c.Path()).Get("http://taskdump" + wire.PathProfile + wire.ProfileCPU + "?seconds=" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("seconds=%s: status %d, want 400", q, resp.StatusCode)
		}
	}
}
