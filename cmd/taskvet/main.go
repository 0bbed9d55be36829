// Command taskvet reports blocking calls in taskdump task code: time.Sleep,
// channel operations, network, file, os/exec and database/sql calls and
// the like in functions run on an event loop, and in what they call, with
// the chain of calls and what to use instead. See package
// github.com/taskdump/taskdump/taskvet for what counts as task code and
// what is reported.
//
// Usage:
//
//	taskvet [-fix] [-mutex] [-blocking names] packages
//	go vet -vettool=$(which taskvet) [-mutex] packages
//
// It exits with status 3 when it reports anything (1 on errors), prints
// JSON with -json (and then exits 0, as go vet -json does), and applies
// the time.Sleep → runtime.Sleep fixes with -fix (-diff shows them
// instead). With -fix it prints nothing else: run it again without -fix
// to see the reports that have no fix.
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/taskdump/taskdump/taskvet"
)

func main() { singlechecker.Main(taskvet.Analyzer) }
