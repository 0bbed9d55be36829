package main

import (
	"context"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestDemo runs the one-command demo end to end: it builds taskdump and the
// service, attaches, cancels a stuck job, has doctor name the faults and
// stops the service.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "run", "./demo").CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./demo: %v\n%s", err, out)
	}
	for _, want := range []string{
		`\$ taskdump tasks \d+\n`, "stuck-job-1", `└── main \(#1\)`, `\$ taskdump blocking `,
		`"cache-refresh" (has )?blocked loop service for`, "calling time.Sleep",
		`task 8 "stuck-job-1": cancelled: .*no reply is coming\n`,
		`\$ taskdump history \d+ -n 5\nID +NAME +STATE`,
		`\$ taskdump socket \d+\n/.*/\d+\.sock\n`,
		`\$ taskdump doctor \d+ --stuck-after 1s\n`,
		`WARNING stuck \(loop service\)\n +Tasks "stuck-job-2" and "stuck-job-3" have waited up to [\d.]+m?s at main\.go:\d+ on a future`,
		`(ERROR|WARNING) blocking \(loop service\)\n +Task "cache-refresh" (blocks|blocked) the loop.*time\.Sleep at main\.go:\d+`,
		"# stopping pid",
	} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("demo output has no match for %s:\n%s", want, out)
		}
	}
}
