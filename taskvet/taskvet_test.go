package taskvet_test

import (
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/taskdump/taskdump/taskvet"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Each test runs the analyzer over packages of testdata/src (GOPATH mode),
// which holds a stub of the taskdump runtime whose awaiting functions
// block internally: taskvet must not report calls to them.

// TestPackages runs the analyzer over each group of testdata packages; a
// group's packages are analyzed together (a library, then its users).
func TestPackages(t *testing.T) {
	tests := []struct {
		name string
		pkgs []string
	}{
		{"basic", []string{"example.com/basic"}},
		{"chain", []string{"example.com/chain"}},
		{"cross package", []string{"example.com/lib", "example.com/crosspkg"}},
		{"ignore", []string{"example.com/ignore"}},
		{"streams", []string{"example.com/streams"}},
		{"fields", []string{"example.com/fields"}},
		{"stream params", []string{"example.com/paramlib", "example.com/params"}},
		{"field streams", []string{"example.com/proto", "example.com/protouser"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			analysistest.Run(t, analysistest.TestData(), taskvet.Analyzer, tt.pkgs...)
		})
	}
}

// TestListedAndMutex sets -blocking and -mutex through Config, as a
// golangci-lint plugin does.
func TestListedAndMutex(t *testing.T) {
	a := taskvet.New(taskvet.Config{
		Mutex:    true,
		Blocking: []string{"os.Stat", "(*example.com/listed.Pool).Get", "example.com/listed.Slow"},
	})
	analysistest.Run(t, analysistest.TestData(), a, "example.com/listed")
}

func TestSuggestedFixes(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), taskvet.Analyzer, "example.com/fix")
}

// TestFlags sets -blocking and -mutex as command-line flags, as taskvet and
// go vet -vettool do.
func TestFlags(t *testing.T) {
	a := taskvet.New(taskvet.Config{})
	for name, value := range map[string]string{
		"mutex":    "true",
		"blocking": " os.Stat, (*example.com/listed.Pool).Get,,example.com/listed.Slow ",
	} {
		if err := a.Flags.Set(name, value); err != nil {
			t.Fatalf("set -%s: %v", name, err)
		}
	}
	if got, want := a.Flags.Lookup("blocking").Value.String(), "os.Stat,(*example.com/listed.Pool).Get,example.com/listed.Slow"; got != want {
		t.Errorf("-blocking = %q, want %q", got, want)
	}
	analysistest.Run(t, analysistest.TestData(), a, "example.com/listed")
}

// TestNewIsIndependent checks that analyzers from New do not share
// settings: Analyzer stays without -mutex when another one has it.
func TestNewIsIndependent(t *testing.T) {
	a := taskvet.New(taskvet.Config{Mutex: true})
	if a.Flags.Lookup("mutex").Value.String() != "true" {
		t.Fatal("New(Config{Mutex: true}) has -mutex=false")
	}
	if got := taskvet.Analyzer.Flags.Lookup("mutex").Value.String(); got != "false" {
		t.Errorf("Analyzer's -mutex = %s after New(Config{Mutex: true}), want false", got)
	}
}
