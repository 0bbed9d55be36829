// Command demo is the one-command tour of taskdump: it builds taskdump and
// the example service, starts the service, attaches taskdump to it (ps,
// tasks, tree, stack, blocking, cancel, history, socket), ends with taskdump
// doctor naming the service's deliberate faults (the jobs stuck on a future
// nobody resolves, the cache refresh that blocks the loop) and stops it. It
// needs nothing but Go:
//
//	go run ./examples/service/demo
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "taskdump-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	taskdump := filepath.Join(tmp, "taskdump")
	service := filepath.Join(tmp, "service")
	fmt.Println("# building taskdump and examples/service ...")
	for _, b := range [][2]string{{taskdump, "./cmd/taskdump"}, {service, "./examples/service"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", b[1], err, out)
		}
	}
	sockDir := filepath.Join(tmp, "sock")
	env := append(os.Environ(), "TASKDUMP_DIR="+sockDir)

	svc := exec.Command(service, "-quiet", "-block-every", "1s", "-block-for", "300ms")
	svc.Env = env
	var svcLog bytes.Buffer
	svc.Stderr = &svcLog
	out, err := svc.StdoutPipe()
	if err != nil {
		return err
	}
	if err := svc.Start(); err != nil {
		return err
	}
	stopped := false
	stopService := func() error {
		if stopped {
			return nil
		}
		stopped = true
		if err := svc.Process.Signal(os.Interrupt); err != nil {
			return fmt.Errorf("stopping the service: %w", err)
		}
		if err := svc.Wait(); err != nil {
			return fmt.Errorf("the service: %w", err)
		}
		return nil
	}
	defer func() { _ = stopService() }() // on an early return; its error is not the one to report
	// Stop the service too if the demo is interrupted.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("service did not start: %w", err)
	}
	pid := strconv.Itoa(svc.Process.Pid)
	fmt.Printf("# started examples/service as pid %s (%s)\n", pid, strings.TrimSpace(line))

	td := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, taskdump, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if args[0] == "doctor" && errors.As(err, &ee) && ee.ExitCode() == 3 {
			err = nil // doctor found problems: the service has them on purpose
		}
		if err != nil {
			return stdout.String(), fmt.Errorf("taskdump %s: %w: %s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String(), nil
	}
	show := func(args ...string) error {
		fmt.Printf("\n$ taskdump %s\n", strings.Join(quote(args), " "))
		s, err := td(args...)
		fmt.Print(s)
		return err
	}

	// Let jobs flow and the cache refresher block the loop once.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := td("blocking", pid, "--json")
		if err != nil {
			return err
		}
		var evs []json.RawMessage
		if err := json.Unmarshal([]byte(s), &evs); err != nil {
			return fmt.Errorf("taskdump blocking --json: %w", err)
		}
		if len(evs) > 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	steps := [][]string{
		{"ps"},
		{"tasks", pid},
		{"tree", pid},
		{"stack", pid, "3"},
		{"blocking", pid},
		{"tasks", pid, "--name", "stuck-*"},
		{"cancel", pid, "--name", "stuck-job-1", "--msg", "no reply is coming", "--wait"},
		{"history", pid, "-n", "5"}, // the last 5 of up to 1000, header kept
		{"socket", pid},
		// What is wrong, in one command: the other stuck jobs and the
		// blocking cache refresh (exit status 3: problems found).
		{"doctor", pid, "--stuck-after", "1s"},
	}
	for _, s := range steps {
		if err := show(s...); err != nil {
			return err
		}
	}
	fmt.Printf("\n# stopping pid %s; its log (warnings only):\n", pid)
	err = stopService()
	fmt.Print(svcLog.String())
	return err
}

func quote(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " *?[") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}

// moduleRoot finds the directory of go.mod, from the working directory up.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run the demo from inside the taskdump module")
	}
	return filepath.Dir(mod), nil
}
