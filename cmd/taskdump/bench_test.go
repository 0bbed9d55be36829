package main

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
)

// BenchmarkTasksJSON100k is the end-to-end cost of `taskdump tasks PID
// --json` against a process with 100,000 pending tasks: starting the
// binary, the snapshot, the JSON and the transfer.
func BenchmarkTasksJSON100k(b *testing.B) {
	benchTasks(b, "--json")
}

// BenchmarkTasksTable100k is the same for the human table.
func BenchmarkTasksTable100k(b *testing.B) {
	benchTasks(b)
}

func benchTasks(b *testing.B, extra ...string) {
	const n = 100_000
	p := startProc(b, bins.fixture, "-tasks", strconv.Itoa(n))
	c, err := client.DialPath(p.sock)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// Wait until every bulk task has taken its first step.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ts, err := c.Tasks(context.Background(), client.TaskFilter{Name: "bulk-*", States: []string{"pending"}})
		if err != nil {
			b.Fatal(err)
		}
		if len(ts) == n && ts[n-1].Awaiting != "" {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d bulk tasks ready", len(ts))
		}
		time.Sleep(100 * time.Millisecond)
	}
	args := append([]string{"tasks", pidArg(p)}, extra...)
	var out bytes.Buffer
	b.ResetTimer()
	for b.Loop() {
		out.Reset()
		cmd := exec.Command(bins.taskdump, args...)
		cmd.Env = append(cmd.Environ(), "TASKDUMP_DIR="+p.dir)
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(out.Len()), "bytes/run")
}
