package taskvet_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/taskdump/taskdump/taskvet"
)

func TestBasic(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), taskvet.Analyzer, "example.com/basic")
}

func TestChain(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), taskvet.Analyzer, "example.com/chain")
}

func TestCrossPackage(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), taskvet.Analyzer, "example.com/lib", "example.com/crosspkg")
}

func TestIgnore(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), taskvet.Analyzer, "example.com/ignore")
}

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
