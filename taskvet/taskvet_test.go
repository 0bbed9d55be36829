package taskvet_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/taskdump/taskdump/taskvet"
)

func TestBasic(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), taskvet.Analyzer, "example.com/basic")
}
