package taskvet

import (
	"fmt"
	"testing"
)

// TestChainFromBounds: a chain longer than maxChain keeps its head, its
// first links and its last, and says how many functions it left out,
// also when what it extends was cut already; reports read it.
func TestChainFromBounds(t *testing.T) {
	fn := func(i int) link {
		return link{PkgPath: "p", PkgName: "p", Func: fmt.Sprint("f", i), Pos: fmt.Sprintf("x.go:%d", i)}
	}
	var chain []link
	for i := 100; i > 0; i-- { // f1 calls f2 calls ... f100
		chain = chainFrom(fn(i), chain)
		if len(chain) > maxChain {
			t.Fatalf("chain of %d links; want at most %d", len(chain), maxChain)
		}
	}
	if got, want := chain[0].Func, "f1"; got != want {
		t.Errorf("head %s; want %s", got, want)
	}
	if got, want := chain[len(chain)-1].Func, "f100"; got != want {
		t.Errorf("last %s; want %s", got, want)
	}
	kept, skipped := 0, 0
	for _, l := range chain {
		if l.Skipped > 0 {
			skipped += l.Skipped
		} else {
			kept++
		}
	}
	if kept+skipped != 100 {
		t.Errorf("%d links kept and %d skipped; want 100 functions in all", kept, skipped)
	}
	got := objectChain(chain[len(chain)-3:], "calls time.Sleep", "p")
	if want := fmt.Sprintf("calls f14 (x.go:14), which goes through %d more functions, which calls f100 (x.go:100), which calls time.Sleep", skipped); got != want {
		t.Errorf("objectChain = %q\nwant %q", got, want)
	}
}
