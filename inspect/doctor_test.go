package inspect

import (
	"context"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// TestDoctorEndpoint checks GET /v1/doctor through the client: a task
// stuck on a future nobody resolves is a stuck finding naming it, with
// stuck_after passed on.
func TestDoctorEndpoint(t *testing.T) {
	var id uint64
	startLoop(t, "doctored", func(ctx context.Context) {
		id = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return runtime.NewFuture[int](ctx).Await(ctx)
		}, runtime.Named("waits-forever")).ID()
		runtime.Spawn(ctx, sleeper(time.Hour), runtime.Named("sleeps"))
	})
	_, c := listen(t, Options{ReadOnly: true})
	var got wire.Finding
	waitFor(t, "a stuck finding", func() bool {
		d, err := c.Doctor(context.Background(), 50*time.Millisecond)
		if err != nil {
			t.Fatalf("Doctor: %v", err)
		}
		i := slices.IndexFunc(d.Findings, func(f wire.Finding) bool { return f.Kind == wire.KindStuck && f.Loop == "doctored" })
		if i < 0 {
			return false
		}
		got = d.Findings[i]
		return true
	})
	if got.Severity != wire.SeverityWarning || len(got.Tasks) != 1 || got.Tasks[0].ID != id || got.Tasks[0].Name != "waits-forever" {
		t.Errorf("stuck finding = %+v, want a warning naming task %d", got, id)
	}
	if !strings.HasSuffix(got.Tasks[0].At.File, "doctor_test.go") || got.Tasks[0].At.Line == 0 {
		t.Errorf("at = %+v, want this file's line", got.Tasks[0].At)
	}
	d, err := c.Doctor(context.Background(), 0) // the default: 10s
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(d.Findings, func(f wire.Finding) bool { return f.Kind == wire.KindStuck && f.Loop == "doctored" }) {
		t.Errorf("with the default stuck_after (10s), a wait of less is a finding: %+v", d.Findings)
	}
}

// TestDoctorBadStuckAfter checks that a bad stuck_after is a JSON 400.
func TestDoctorBadStuckAfter(t *testing.T) {
	a, _ := listen(t, Options{})
	dial := func() (net.Conn, error) { return net.Dial("unix", a.Path()) }
	for _, q := range []string{"abc", "-1s", "0s"} {
		resp, body := rawRequest(t, dial, "GET", "/v1/doctor?stuck_after="+q)
		var e wire.Error
		if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != 400 || e.Code != wire.CodeBadRequest ||
			!strings.Contains(e.Message, "bad stuck_after") {
			t.Errorf("stuck_after=%s: status %d, body %s; want 400 bad_request", q, resp.StatusCode, body)
		}
	}
}
