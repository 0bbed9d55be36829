package taskvet

import (
	"go/types"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// blockingFact is exported for every function that may block when called:
// it does a blocking operation itself, calls a function that does, or is
// marked //taskvet:blocking. Facts are how a chain crosses packages.
type blockingFact struct {
	// Marked is set for a function marked //taskvet:blocking; Chain is
	// then empty.
	Marked bool
	// Chain is the path from the function to the blocking operation: the
	// function itself first, each with the position of the call in it that
	// leads on (the last, of the operation).
	Chain []link
	// Verb and Advice describe the operation at the end of the chain:
	// "calls time.Sleep", "use runtime.Sleep(ctx, d)".
	Verb, Advice string
}

func (*blockingFact) AFact() {}

// String is the fact as analysistest's "want" comments match it.
func (f *blockingFact) String() string {
	if f.Marked {
		return "blocking: marked //taskvet:blocking"
	}
	from := ""
	if len(f.Chain) > 0 {
		from = f.Chain[0].PkgPath
	}
	return "blocking: " + subjectChain(f.Chain, f.Verb, from)
}

// A link is one function of a chain and the position in it of the call
// that leads on.
type link struct {
	PkgPath, PkgName string
	Recv             string // "*Server", "Server", or "" for a function
	Func             string
	Pos              string // "file.go:12"
	// Skipped, if not 0, makes the link stand for that many functions of
	// a long chain left out (chainFrom); it has no function then.
	Skipped int
}

// maxChain bounds the links a chain keeps: every fact carries its whole
// chain, so a chain of n helpers would hold O(n²) links in all (4,000
// helpers: 855 MB). Reports show the first links and the last.
const maxChain = 16

// chainFrom returns the chain of a function whose call at head leads on
// along tail: head, then tail, its middle left out (one Skipped link) if
// the whole would be longer than maxChain.
func chainFrom(head link, tail []link) []link {
	if len(tail) < maxChain {
		return append([]link{head}, tail...)
	}
	keep := maxChain - 3 // head, these, the Skipped link, the last
	skipped := 0
	for _, l := range tail[keep : len(tail)-1] {
		skipped += max(l.Skipped, 1)
	}
	out := make([]link, 0, maxChain)
	out = append(out, head)
	out = append(out, tail[:keep]...)
	out = append(out, link{Skipped: skipped})
	return append(out, tail[len(tail)-1])
}

// newLink returns fn's link, at pos.
func newLink(fn *types.Func, pos string) link {
	l := link{Func: fn.Name(), Pos: pos}
	if p := fn.Pkg(); p != nil {
		l.PkgPath, l.PkgName = p.Path(), p.Name()
	}
	if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil {
		t := sig.Recv().Type()
		star := ""
		if p, ok := t.(*types.Pointer); ok {
			t, star = p.Elem(), "*"
		}
		switch t := types.Unalias(t).(type) {
		case *types.Named:
			l.Recv = star + t.Obj().Name()
		default:
			l.Recv = star + "interface"
		}
	}
	return l
}

// name is the link's function as seen from package from (a path): bare in
// its own package, qualified by package name elsewhere.
func (l link) name(from string) string {
	q := ""
	if l.PkgPath != from && l.PkgName != "" {
		q = l.PkgName + "."
	}
	if l.Recv == "" {
		return q + l.Func
	}
	if r, ok := strings.CutPrefix(l.Recv, "*"); ok {
		return "(*" + q + r + ")." + l.Func
	}
	return "(" + q + l.Recv + ")." + l.Func
}

// objectChain renders chain as the object of a call in package from:
// "calls pause (x.go:12), which calls time.Sleep".
func objectChain(chain []link, verb, from string) string {
	var b strings.Builder
	for i, l := range chain {
		if i > 0 {
			b.WriteString(", which ")
		}
		if l.Skipped > 0 {
			b.WriteString("goes through " + strconv.Itoa(l.Skipped) + " more functions")
			continue
		}
		b.WriteString("calls ")
		b.WriteString(l.name(from))
		b.WriteString(" (")
		b.WriteString(l.Pos)
		b.WriteString(")")
	}
	b.WriteString(", which ")
	b.WriteString(verb)
	return b.String()
}

// subjectChain renders chain with its first function as the subject:
// "pause (x.go:12) calls time.Sleep".
func subjectChain(chain []link, verb, from string) string {
	if len(chain) == 0 {
		return verb
	}
	s := chain[0].name(from) + " (" + chain[0].Pos + ") "
	if len(chain) == 1 {
		return s + verb
	}
	return s + objectChain(chain[1:], verb, from)
}

// runnerFact is exported for a function that passes some of its function
// parameters on to a task runner (runtime.Spawn and the like), directly or
// through other such functions: what is passed there is task code too.
type runnerFact struct {
	// Params are the indexes of those parameters, in increasing order.
	Params []int
}

func (*runnerFact) AFact() {}

func (f *runnerFact) String() string {
	s := "runs task code: parameter"
	for i, p := range f.Params {
		if i > 0 {
			s += ","
		}
		s += " " + strconv.Itoa(p)
	}
	return s
}

// streamParamFact is exported for a function that reads or writes some of
// its parameters as streams (r io.Reader read with io.ReadAll, or through
// a bufio.Reader built on it), directly or through other such functions:
// handed a connection or a file there, a call of it blocks.
type streamParamFact struct {
	Params []streamParam // by increasing Index
}

// A streamParam is one such parameter and the chain from the function to
// the operation on it. Verb has paramStream where the stream's
// description goes ("calls io.ReadAll on " + paramStream).
type streamParam struct {
	Index        int
	Chain        []link
	Verb, Advice string
}

func (*streamParamFact) AFact() {}

func (f *streamParamFact) String() string {
	var b strings.Builder
	for i, p := range f.Params {
		if i > 0 {
			b.WriteString("; ")
		}
		from := ""
		if len(p.Chain) > 0 {
			from = p.Chain[0].PkgPath
		}
		b.WriteString("stream parameter " + strconv.Itoa(p.Index) + ": ")
		b.WriteString(subjectChain(p.Chain, strings.ReplaceAll(p.Verb, paramStream, "its parameter"), from))
	}
	return b.String()
}

// paramStream stands for the stream a parameter is given, in the verbs of
// streamParam: a call site puts the description of its argument there.
const paramStream = "\x00param\x00"

// at returns the blocking fact of a call that gives the function of f a
// stream described by what at parameter i, or nil.
func (f *streamParamFact) at(i int, what string) *blockingFact {
	for _, p := range f.Params {
		if p.Index == i {
			return &blockingFact{Chain: p.Chain, Verb: strings.ReplaceAll(p.Verb, paramStream, what), Advice: p.Advice}
		}
	}
	return nil
}

// userPackageFact is exported for every package taskvet analyzes (not the
// standard library, not the runtime): it tells a user's package whose
// path has no dot (module myapp, or one a replace or go.work brings in)
// from a standard one (isStandard).
type userPackageFact struct{}

func (*userPackageFact) AFact() {}

func (*userPackageFact) String() string { return "user package" }

// localFact returns fn's fact of type *T: the package's own (local), or
// the one fn's package exported.
func localFact[T any, PT interface {
	*T
	analysis.Fact
}](c *checker, local map[*types.Func]PT, fn *types.Func) PT {
	if f := local[fn]; f != nil {
		return f
	}
	if fn.Pkg() == c.pass.Pkg {
		return nil
	}
	f := PT(new(T))
	if c.pass.ImportObjectFact(fn, f) {
		return f
	}
	return nil
}
