package taskvet

import (
	"cmp"
	"flag"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
)

// runtimePath is the import path of the package whose functions run task
// code on an event loop.
const runtimePath = "github.com/taskdump/taskdump/runtime"

const doc = `report blocking calls in task code

taskvet reports blocking operations (time.Sleep, channel operations, selects
without default, WaitGroup and Cond waits, network, HTTP, os/exec, file and
database/sql calls, functions marked //taskvet:blocking) in functions run on a
taskdump event loop (passed to runtime.Spawn, SpawnIn, Run, CallSoon,
CallLater, Loop.Run, Loop.Submit, Loop.CallSoonThreadsafe, Task.AddDoneCallback,
and runtime.Observer methods) and in what they call, across packages, with the chain of calls and what to use
instead. It fixes time.Sleep(d) to runtime.Sleep(ctx, d) where the task's
context is in scope. A //taskvet:ignore comment with a reason suppresses a
report.`

// Config is the analyzer's settings, for drivers that configure analyzers
// in code (golangci-lint module plugins) rather than by flags.
type Config struct {
	// Mutex reports (*sync.Mutex).Lock and (*sync.RWMutex).Lock and RLock
	// in task code. Off by default.
	Mutex bool
	// Blocking lists more functions that block, by full name as go/types
	// prints it: "os.Stat", "(*example.com/db.Pool).Get".
	Blocking []string
}

// Analyzer reports blocking calls in task code. Its flags are -mutex and
// -blocking, as Config describes.
var Analyzer = New(Config{})

// New returns an analyzer with the settings of cfg; its flags (-mutex,
// -blocking) start from them and override them when set. Each call returns
// a new analyzer with settings of its own.
func New(cfg Config) *analysis.Analyzer {
	c := &Config{Mutex: cfg.Mutex, Blocking: slices.Clone(cfg.Blocking)}
	a := &analysis.Analyzer{
		Name:      "taskvet",
		Doc:       doc,
		URL:       "https://pkg.go.dev/github.com/taskdump/taskdump/taskvet",
		FactTypes: []analysis.Fact{new(blockingFact), new(runnerFact), new(streamParamFact), new(fieldStoreFact), new(fieldReadFact), new(userPackageFact)},
		Run:       func(pass *analysis.Pass) (any, error) { return run(pass, c) },
	}
	a.Flags.BoolVar(&c.Mutex, "mutex", c.Mutex, "also report sync.Mutex and sync.RWMutex locks in task code")
	a.Flags.Var((*nameList)(&c.Blocking), "blocking", "comma-separated full names of more functions that block, e.g. os.Stat,(*example.com/db.Pool).Get")
	return a
}

// nameList is a flag.Value of comma-separated names.
type nameList []string

var _ flag.Value = (*nameList)(nil)

func (l *nameList) String() string { return strings.Join(*l, ",") }

func (l *nameList) Set(s string) error {
	*l = (*l)[:0]
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			*l = append(*l, n)
		}
	}
	return nil
}

// A checker is one package's analysis.
type checker struct {
	pass    *analysis.Pass
	mutex   bool
	listed  map[string]bool // -blocking
	ignored map[lineKey]bool
	marked  map[*types.Func]bool
	decls   map[*types.Func]*ast.FuncDecl
	facts   map[*types.Func]*blockingFact    // this package's
	params  map[*types.Func]*streamParamFact // this package's functions that read or write parameters as streams
	stores  map[*types.Func]*fieldStoreFact  // this package's functions that store parameters in fields
	reads   map[*types.Func]*fieldReadFact   // this package's functions that read or write fields as streams
	// fieldVar are the package's fields that may hold a stream, by key.
	fieldVar  map[string]*types.Var
	fieldRefs map[*types.Func]*funcRefs // what each function's body selects and calls (fieldCandidates)
	fieldMemo map[fieldMemoKey]string   // fieldStream's answers, per resolution context (withScratch)
	scratch   bool                      // streamVars is a scratch map (withScratch), not the package's
	ioCache   map[types.Type]bool       // hasIOMethod's answers
	// resolving are the variables, and resolvingField the (variable, field)
	// pairs, being resolved now; cycled says a lookup met one of them, and
	// provisional forgets the "" answers found since (resolve).
	resolving      map[*types.Var]bool
	resolvingField map[fieldMemoKey]bool
	cycled         bool
	provisional    []func()
	depth          int // resolutions open (resolve)
	// cond are the *os.File parameters of the function whose facts are
	// being computed (solve, solveParams): in its body they are streams
	// only where a call gives it one (fileParam).
	cond map[*types.Var]bool
	// recv is the receiver of the method whose facts are being computed:
	// what its fields hold is its callers' to say (fieldReadFact).
	recv *types.Var
	// condVals are the values of fields that are streams only through an
	// *os.File parameter of the function that stores them (fieldStoreFact):
	// os.Stdout or a file, as its calls say. condFields are their fields.
	// typed says to take them for the files their type says
	// (typedField).
	condVals   map[ast.Expr]bool
	condFields map[*types.Var]bool
	typed      bool
	ownParams  bool                        // cond holds for the function's own values, not through fields (conditional)
	typedMemo  map[*types.Var]string       // typedField's answers
	knownMemo  map[fieldMemoKey]bool       // recvKnown's answers that hold anywhere
	fieldKeys  map[*types.Var]string       // the package's fields that may hold a stream, to their keys
	runners    map[*types.Func][]int       // this package's task-runner wrappers
	litVars    map[*types.Var]*ast.FuncLit // local variables assigned a literal once
	values     map[*types.Var][]ast.Expr   // what each variable is assigned, one value per assignment
	// fieldVals are the values the package gives each struct field (in
	// composite literals, assignments): for a field of function type, the
	// task functions a task started as x.Field runs; for a reader's, what
	// it reads.
	fieldVals   map[*types.Var][]ast.Expr
	stdioSeen   map[*types.Var]bool    // isStdio's variables being resolved
	stdioCycled bool                   // an answer of stdioOf leaned on one of them
	stdioMemo   map[*types.Var][2]bool // stdioOf's answers that hold anywhere
	// unknown are the variables and fields assigned values values and
	// fieldVals do not hold (f, err = os.Create(p); &f; range): what they
	// hold is not known.
	unknown map[*types.Var]bool
	// streamVars holds what stream each variable resolved so far is ("" for
	// none, or while it is being resolved).
	streamVars map[*types.Var]string
	stmtOf     map[*ast.CallExpr]*ast.ExprStmt
	reported   map[diagKey]bool
}

type lineKey struct {
	file string
	line int
}

type diagKey struct {
	pos token.Pos
	msg string
}

// skipPackage reports whether pass's package is one taskvet neither
// reports in nor follows calls into: the standard library (only the calls
// catalogued in callOp block) and the runtime package, whose awaiting
// functions suspend the task rather than block.
func skipPackage(pass *analysis.Pass) bool {
	path := pass.Pkg.Path()
	if path == runtimePath {
		return true
	}
	// Drivers give standard packages no module, or one without a path;
	// in GOPATH mode (analysistest) every package has no module, and
	// standard ones are told by their dotless first path element.
	first, _, _ := strings.Cut(path, "/")
	return (pass.Module == nil || pass.Module.Path == "") && !strings.Contains(first, ".")
}

func run(pass *analysis.Pass, cfg *Config) (any, error) {
	if skipPackage(pass) {
		return nil, nil
	}
	pass.ExportPackageFact(&userPackageFact{})
	c := &checker{
		pass:           pass,
		mutex:          cfg.Mutex,
		listed:         make(map[string]bool),
		ignored:        make(map[lineKey]bool),
		marked:         make(map[*types.Func]bool),
		decls:          make(map[*types.Func]*ast.FuncDecl),
		facts:          make(map[*types.Func]*blockingFact),
		params:         make(map[*types.Func]*streamParamFact),
		stores:         make(map[*types.Func]*fieldStoreFact),
		reads:          make(map[*types.Func]*fieldReadFact),
		fieldRefs:      make(map[*types.Func]*funcRefs),
		fieldMemo:      make(map[fieldMemoKey]string),
		condVals:       make(map[ast.Expr]bool),
		condFields:     make(map[*types.Var]bool),
		typedMemo:      make(map[*types.Var]string),
		knownMemo:      make(map[fieldMemoKey]bool),
		ioCache:        make(map[types.Type]bool),
		resolving:      make(map[*types.Var]bool),
		resolvingField: make(map[fieldMemoKey]bool),
		runners:        make(map[*types.Func][]int),
		litVars:        make(map[*types.Var]*ast.FuncLit),
		values:         make(map[*types.Var][]ast.Expr),
		fieldVals:      make(map[*types.Var][]ast.Expr),
		stdioSeen:      make(map[*types.Var]bool),
		stdioMemo:      make(map[*types.Var][2]bool),
		unknown:        make(map[*types.Var]bool),
		streamVars:     make(map[*types.Var]string),
		stmtOf:         make(map[*ast.CallExpr]*ast.ExprStmt),
		reported:       make(map[diagKey]bool),
	}
	for _, n := range cfg.Blocking {
		c.listed[n] = true
	}
	c.scanDirectives()
	c.scanDecls()
	keys := c.ownFields()
	c.solveFieldStores(keys)
	c.solveStreams(keys)
	c.solve()
	c.solveRunners()
	c.reportTasks()
	return nil, nil
}

// scanDirectives records //taskvet:ignore lines and //taskvet:blocking
// functions, and reports ignores without a reason.
func (c *checker) scanDirectives() {
	for _, f := range c.pass.Files {
		tf := c.pass.Fset.File(f.Pos())
		if tf == nil {
			continue
		}
		content, _ := c.pass.ReadFile(tf.Name())
		for _, cg := range f.Comments {
			for _, cm := range cg.List {
				rest, ok := strings.CutPrefix(cm.Text, "//taskvet:ignore")
				if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
					continue
				}
				line := tf.Line(cm.Pos())
				c.ignored[lineKey{tf.Name(), line}] = true
				if aloneOnLine(content, tf.Offset(cm.Pos())) {
					c.ignored[lineKey{tf.Name(), line + 1}] = true
				}
				if strings.TrimSpace(rest) == "" {
					c.pass.Report(analysis.Diagnostic{
						Pos: cm.Pos(), End: cm.End(),
						Message: "//taskvet:ignore needs a reason: //taskvet:ignore <why this may block the loop>",
					})
				}
			}
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Doc == nil {
				continue
			}
			for _, cm := range fd.Doc.List {
				if rest, ok := strings.CutPrefix(cm.Text, "//taskvet:blocking"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
					if fn, ok := c.pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
						c.marked[fn] = true
					}
				}
			}
		}
	}
}

// aloneOnLine reports whether only blanks precede offset on its line.
func aloneOnLine(content []byte, offset int) bool {
	if offset > len(content) {
		return false
	}
	for i := offset - 1; i >= 0 && content[i] != '\n'; i-- {
		if content[i] != ' ' && content[i] != '\t' {
			return false
		}
	}
	return true
}

// isIgnored reports whether a //taskvet:ignore covers pos.
func (c *checker) isIgnored(pos token.Pos) bool {
	p := c.pass.Fset.Position(pos)
	return c.ignored[lineKey{p.Filename, p.Line}]
}

// scanDecls records the package's function declarations, the statement of
// each call made as a statement, and local variables assigned a function
// literal exactly once.
func (c *checker) scanDecls() {
	assigned := make(map[*types.Var]int)
	for _, f := range c.pass.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if fn, ok := c.pass.TypesInfo.Defs[n.Name].(*types.Func); ok && n.Body != nil {
					c.decls[fn] = n
				}
			case *ast.ExprStmt:
				if call, ok := ast.Unparen(n.X).(*ast.CallExpr); ok {
					c.stmtOf[call] = n
				}
			case *ast.AssignStmt:
				c.scanAssign(n.Lhs, n.Rhs, assigned)
			case *ast.ValueSpec:
				if len(n.Values) > 0 {
					lhs := make([]ast.Expr, len(n.Names))
					for i, id := range n.Names {
						lhs[i] = id
					}
					c.scanAssign(lhs, n.Values, assigned)
				}
			case *ast.CompositeLit:
				c.scanFields(n)
			case *ast.UnaryExpr:
				// &v lets anything assign v.
				if v, _ := c.assignedVar(n.X); v != nil && n.Op == token.AND {
					assigned[v] += 2
					c.unknown[v] = true
				}
			case *ast.RangeStmt:
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if v, _ := c.assignedVar(e); v != nil {
						c.unknown[v] = true
					}
				}
			}
			return true
		})
	}
	for v := range c.litVars {
		if assigned[v] != 1 || v.Parent() == c.pass.Pkg.Scope() {
			delete(c.litVars, v)
		}
	}
}

// scanAssign records what an assignment (or a var declaration) of rhs to
// lhs gives variables and struct fields: values, fieldVals and litVars, or
// that what they hold is unknown (several results of one call).
func (c *checker) scanAssign(lhs, rhs []ast.Expr, assigned map[*types.Var]int) {
	for i, l := range lhs {
		v, field := c.assignedVar(l)
		if v == nil {
			continue
		}
		if !field {
			assigned[v]++
		}
		switch {
		case len(lhs) != len(rhs):
			c.unknown[v] = true // f, err = os.Create(p)
		case field:
			c.addField(v, rhs[i])
		default:
			c.values[v] = append(c.values[v], rhs[i])
			if lit, ok := ast.Unparen(rhs[i]).(*ast.FuncLit); ok {
				c.litVars[v] = lit
			}
		}
	}
}

// assignedVar returns the variable or struct field (its origin) e names,
// as the target of an assignment, and whether it is a field; nil if e
// names neither.
func (c *checker) assignedVar(e ast.Expr) (*types.Var, bool) {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		v, _ := c.pass.TypesInfo.ObjectOf(e).(*types.Var)
		return v, false
	case *ast.SelectorExpr:
		if s := c.pass.TypesInfo.Selections[e]; s != nil && s.Kind() == types.FieldVal {
			return s.Obj().(*types.Var).Origin(), true
		}
	}
	return nil, false
}

// scanFields records the values a composite literal of a struct type
// gives its fields of function type, keyed or in order.
func (c *checker) scanFields(lit *ast.CompositeLit) {
	t := c.pass.TypesInfo.TypeOf(lit)
	if t == nil {
		return
	}
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem() // an element of []*Job written {Run: f}, its & left out
	}
	st, ok := t.Underlying().(*types.Struct)
	if !ok {
		return
	}
	for i, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok {
				for j := range st.NumFields() {
					if f := st.Field(j); f.Name() == id.Name {
						c.addField(f, kv.Value)
					}
				}
			}
			continue
		}
		if i < st.NumFields() {
			c.addField(st.Field(i), e)
		}
	}
}

// addField records v as a value of field f.
func (c *checker) addField(f *types.Var, v ast.Expr) {
	f = f.Origin()
	c.fieldVals[f] = append(c.fieldVals[f], v)
}

// A site is a blocking operation or a static call found by walk.
type site struct {
	pos    token.Pos
	op     *op           // a blocking operation, or
	callee *types.Func   // a static call of a function that may have a fact
	call   *ast.CallExpr // the call, for both
	nested bool          // inside a function literal called in place
	// pfact is how a call of callee blocks because of what it is given:
	// a stream at a parameter it reads or writes (streamParamFact).
	pfact *blockingFact
}

// walk calls yield for the blocking operations and static calls that
// body runs on its own goroutine, in source order, leaving out what a
// //taskvet:ignore covers. It does not enter `go` statements or function
// literals other than those called in place (including deferred ones) or
// through a local variable assigned only that literal.
func (c *checker) walk(body ast.Node, yield func(site)) {
	info := c.pass.TypesInfo
	emit := func(s site) {
		if !c.isIgnored(s.pos) {
			yield(s)
		}
	}
	inLit := make(map[*ast.FuncLit]bool)
	var visit func(n ast.Node, nested bool)
	visit = func(root ast.Node, nested bool) {
		ast.Inspect(root, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				return false
			case *ast.GoStmt:
				// The arguments are evaluated here, the call elsewhere.
				for _, a := range n.Call.Args {
					visit(a, nested)
				}
				return false
			case *ast.CallExpr:
				if lit := c.calledLit(n); lit != nil {
					if !inLit[lit] { // a literal calling itself through its variable
						inLit[lit] = true
						visit(lit.Body, true)
						delete(inLit, lit)
					}
					for _, a := range n.Args {
						visit(a, nested)
					}
					return false
				}
				if s, ok := c.callSite(n); ok {
					s.nested = nested
					emit(s)
				}
			case *ast.SendStmt:
				emit(site{pos: n.Arrow, op: &opSend, nested: nested})
			case *ast.UnaryExpr:
				if n.Op == token.ARROW {
					o := &opRecv
					if timerChan(info, n.X) {
						o = &opTimer
					}
					emit(site{pos: n.OpPos, op: o, nested: nested})
				}
			case *ast.RangeStmt:
				if t := info.TypeOf(n.X); t != nil {
					if _, ok := t.Underlying().(*types.Chan); ok {
						o := &opRange
						if timerChan(info, n.X) {
							o = &opTimer // for range ticker.C: a periodic sleep
						}
						emit(site{pos: n.For, op: o, nested: nested})
					}
				}
			case *ast.SelectStmt:
				hasDefault := false
				for _, cl := range n.Body.List {
					if cl.(*ast.CommClause).Comm == nil {
						hasDefault = true
					}
				}
				if !hasDefault {
					emit(site{pos: n.Select, op: &opSelect, nested: nested})
				}
				// The cases' channel operations wait only as the select
				// does; what they evaluate and their bodies run here.
				for _, cl := range n.Body.List {
					cl := cl.(*ast.CommClause)
					switch comm := cl.Comm.(type) {
					case *ast.SendStmt:
						visit(comm.Chan, nested)
						visit(comm.Value, nested)
					case *ast.ExprStmt:
						visitRecv(comm.X, nested, visit)
					case *ast.AssignStmt:
						visitRecv(comm.Rhs[0], nested, visit)
					}
					for _, st := range cl.Body {
						visit(st, nested)
					}
				}
				return false
			}
			return true
		})
	}
	visit(body, false)
}

// calledLit returns the function literal call calls: one written in place,
// or a local variable's that is assigned only that literal.
func (c *checker) calledLit(call *ast.CallExpr) *ast.FuncLit {
	switch fun := ast.Unparen(call.Fun).(type) {
	case *ast.FuncLit:
		return fun
	case *ast.Ident:
		if v, ok := c.pass.TypesInfo.Uses[fun].(*types.Var); ok {
			return c.litVars[v]
		}
	}
	return nil
}

// isList reports whether t is a slice, array or map (or a pointer to an
// array): what a range statement takes elements of.
func isList(t types.Type) bool {
	if t == nil {
		return false
	}
	u := t.Underlying()
	if p, ok := u.(*types.Pointer); ok {
		u = p.Elem().Underlying()
	}
	switch u.(type) {
	case *types.Slice, *types.Array, *types.Map:
		return true
	}
	return false
}

// timerChan reports whether e is a timer's channel: a call of time.After
// or time.Tick, or the C field of a time.Timer or time.Ticker.
func timerChan(info *types.Info, e ast.Expr) bool {
	switch e := ast.Unparen(e).(type) {
	case *ast.CallExpr:
		if f, ok := typeutil.Callee(info, e).(*types.Func); ok && f.Pkg() != nil && f.Pkg().Path() == "time" {
			return f.Name() == "After" || f.Name() == "Tick"
		}
	case *ast.SelectorExpr:
		// The field C of package time (Timer's or Ticker's), however
		// reached: through an alias, or a struct embedding one.
		if sel, ok := info.Selections[e]; ok && sel.Kind() == types.FieldVal {
			f := sel.Obj()
			return f.Name() == "C" && f.Pkg() != nil && f.Pkg().Path() == "time"
		}
	}
	return false
}

// visitRecv visits the channel operand of a select case's receive.
func visitRecv(e ast.Expr, nested bool, visit func(ast.Node, bool)) {
	if u, ok := ast.Unparen(e).(*ast.UnaryExpr); ok && u.Op == token.ARROW {
		visit(u.X, nested)
		return
	}
	visit(e, nested)
}

// callSite classifies a call: a blocking operation, a static call of a
// function that may block, or neither.
func (c *checker) callSite(call *ast.CallExpr) (site, bool) {
	fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	if !ok {
		return site{}, false
	}
	fn = fn.Origin()
	s := site{pos: call.Pos(), call: call}
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok && recvName(fn) == "File" && fn.Pkg() != nil && fn.Pkg().Path() == "os" {
		if stdioWrites[fn.Name()] && c.isStdio(sel.X) {
			return site{}, false // writes to standard output and error, as fmt.Println and log do
		}
		if _, blocks := callOp(fn, c.mutex); blocks && (c.fileParam(ast.Unparen(sel.X)) != nil || c.isCondField(sel.X)) {
			// A method of the function's own *os.File parameter, or of
			// a field a constructor filled from its own: it blocks where
			// a call gives it a file (walkOwn, condField).
			what := c.stream(sel.X)
			if what == "" {
				if o, ok := c.streamOp(fn, call); ok {
					s.op = &o
					return s, true
				}
				return site{}, false
			}
			o := streamCallOp(displayName(fn), what)
			s.op = &o
			return s, true
		}
	}
	if o, ok := c.opOf(fn); ok {
		s.op = &o
		return s, true
	}
	if o, ok := c.streamOp(fn, call); ok {
		s.op = &o
		return s, true
	}
	if fn.Pkg() == nil || fn.Pkg().Path() == runtimePath || isInterfaceMethod(fn) {
		return site{}, false
	}
	s.callee = fn
	s.pfact = c.paramStreamAt(fn, call)
	if s.pfact == nil {
		s.pfact = c.fieldStreamAt(fn, call)
	}
	return s, true
}

// opOf returns the blocking operation a call of fn is, if it is one.
func (c *checker) opOf(fn *types.Func) (op, bool) {
	if o, ok := callOp(fn, c.mutex); ok {
		return o, true
	}
	name := displayName(fn)
	if c.listed[fn.FullName()] {
		return op{noun: name + " (listed in -blocking)", verb: "calls " + name + " (listed in -blocking)", advice: adviceThread}, true
	}
	if c.marked[fn] {
		return c.markedOp(fn), true
	}
	if fn.Pkg() != nil && fn.Pkg() != c.pass.Pkg {
		var f blockingFact
		if c.pass.ImportObjectFact(fn, &f) && f.Marked {
			return c.markedOp(fn), true
		}
	}
	return op{}, false
}

func (c *checker) markedOp(fn *types.Func) op {
	name := displayName(fn) // qualified: facts carry it to other packages
	return op{noun: name + " (marked //taskvet:blocking)", verb: "calls " + name + " (marked //taskvet:blocking)", advice: adviceThread}
}

func isInterfaceMethod(fn *types.Func) bool {
	sig := fn.Type().(*types.Signature)
	return sig.Recv() != nil && types.IsInterface(sig.Recv().Type())
}

// factOf returns the blocking fact of fn, of this package or imported.
func (c *checker) factOf(fn *types.Func) *blockingFact {
	return localFact(c, c.facts, fn)
}

// solve computes the blocking facts of the package's functions and
// exports them. A function blocks if it does a blocking operation, or
// calls one that blocks; each round adds the functions one call further
// from an operation, so every chain found is a shortest one.
func (c *checker) solve() {
	fns := c.sortedDecls()
	for fn := range c.marked {
		c.facts[fn] = &blockingFact{Marked: true}
	}
	calls := make(map[*types.Func][]site)
	for _, fn := range fns {
		if c.facts[fn] != nil {
			continue
		}
		c.walkOwn(fn, func(s site) {
			if s.op != nil && c.facts[fn] == nil {
				c.facts[fn] = &blockingFact{
					Chain:  []link{newLink(fn, c.shortPos(s.pos))},
					Verb:   s.op.verb,
					Advice: s.op.advice,
				}
			}
			if s.pfact != nil && c.facts[fn] == nil {
				c.facts[fn] = &blockingFact{
					Chain:  chainFrom(newLink(fn, c.shortPos(s.pos)), s.pfact.Chain),
					Verb:   s.pfact.Verb,
					Advice: s.pfact.Advice,
				}
			}
			if s.callee != nil {
				calls[fn] = append(calls[fn], s)
			}
		})
	}
	for {
		found := make(map[*types.Func]*blockingFact)
		for _, fn := range fns {
			if c.facts[fn] != nil {
				continue
			}
			for _, s := range calls[fn] {
				if f := c.factOf(s.callee); f != nil && !f.Marked {
					found[fn] = &blockingFact{
						Chain:  chainFrom(newLink(fn, c.shortPos(s.pos)), f.Chain),
						Verb:   f.Verb,
						Advice: f.Advice,
					}
					break
				}
			}
		}
		if len(found) == 0 {
			break
		}
		for fn, f := range found {
			c.facts[fn] = f
		}
	}
	for _, fn := range fns {
		if f := c.facts[fn]; f != nil {
			c.pass.ExportObjectFact(fn, f)
		}
	}
	for fn, f := range c.facts {
		if c.decls[fn] == nil { // marked, without a body
			c.pass.ExportObjectFact(fn, f)
		}
	}
}

// shortPos is pos as "file.go:12".
func (c *checker) shortPos(pos token.Pos) string {
	p := c.pass.Fset.Position(pos)
	return filepath.Base(p.Filename) + ":" + strconv.Itoa(p.Line)
}

// isTaskRunner reports whether fn is one of the runtime's functions that
// run the functions passed to them as task code on an event loop.
func isTaskRunner(fn *types.Func) bool {
	if fn.Pkg() == nil || fn.Pkg().Path() != runtimePath {
		return false
	}
	if recvName(fn) == "" {
		switch fn.Name() {
		case "Spawn", "SpawnIn", "Run", "CallSoon", "CallLater":
			return true
		}
		return false
	}
	switch fn.Name() {
	case "Run", "Submit", "CallSoonThreadsafe", "AddDoneCallback":
		return true
	}
	return false
}

// taskArgs returns the indexes of call's arguments that are run as task
// code: the function arguments of a runtime task runner, and those a
// wrapper of one passes on to it (by runnerFact).
func (c *checker) taskArgs(call *ast.CallExpr) []int {
	info := c.pass.TypesInfo
	fn, ok := typeutil.Callee(info, call).(*types.Func)
	if !ok {
		return nil
	}
	fn = fn.Origin()
	if isTaskRunner(fn) {
		var idx []int
		for i, arg := range call.Args {
			if t := info.TypeOf(arg); t != nil {
				if _, ok := t.Underlying().(*types.Signature); ok {
					idx = append(idx, i)
				}
			}
		}
		return idx
	}
	if fn.Pkg() == c.pass.Pkg {
		return c.runners[fn]
	}
	var f runnerFact
	if fn.Pkg() != nil && c.pass.ImportObjectFact(fn, &f) {
		return f.Params
	}
	return nil
}

// solveRunners finds the package's functions that pass a function
// parameter on to a task runner (runAll(ctx, fn) calling
// runtime.Spawn(ctx, fn)) or keep it in a struct field the package starts
// as a task (Register(name, fn) keeping Job{Run: fn}), repeatedly for
// wrappers of wrappers, and exports their runnerFacts.
func (c *checker) solveRunners() {
	fns := c.sortedDecls()
	for {
		changed := false
		spawned := c.spawnedFields()
		for _, fn := range fns {
			if c.findRunner(fn, spawned) {
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	for _, fn := range fns {
		if p := c.runners[fn]; len(p) > 0 {
			c.pass.ExportObjectFact(fn, &runnerFact{Params: p})
		}
	}
}

// findRunner adds to c.runners[fn] the parameters of fn that it runs as
// task code, as far as c.runners and spawned (spawnedFields: variables
// given to fields started as tasks) tell them now, and reports whether it
// added any.
func (c *checker) findRunner(fn *types.Func, spawned map[*types.Var]bool) bool {
	info := c.pass.TypesInfo
	d := c.decls[fn]
	params := make(map[*types.Var]int)
	i := 0
	for _, field := range d.Type.Params.List {
		if len(field.Names) == 0 {
			i++
		}
		for _, name := range field.Names {
			if v, ok := info.Defs[name].(*types.Var); ok {
				params[v] = i
			}
			i++
		}
	}
	if len(params) == 0 {
		return false
	}
	added := false
	add := func(p int) {
		if !slices.Contains(c.runners[fn], p) {
			c.runners[fn] = append(c.runners[fn], p)
			slices.Sort(c.runners[fn])
			added = true
		}
	}
	// The elements of a parameter that is a list of functions
	// (fns ...func(...)): the variable ranging over it.
	elems := make(map[*types.Var]int)
	ast.Inspect(d.Body, func(n ast.Node) bool {
		// Over a list (slice, array, map), not an iterator function,
		// whose body runs in the caller of the range.
		if r, ok := n.(*ast.RangeStmt); ok && r.Value != nil && isList(info.TypeOf(r.X)) {
			if x, ok := ast.Unparen(r.X).(*ast.Ident); ok {
				if pv, ok := info.Uses[x].(*types.Var); ok {
					if p, ok := params[pv]; ok {
						if vid, ok := r.Value.(*ast.Ident); ok {
							if vv, ok := info.Defs[vid].(*types.Var); ok {
								elems[vv] = p
							}
						}
					}
				}
			}
		}
		return true
	})
	// A parameter (or an element of a list parameter) given to a struct
	// field that is started as a task (newJob(name, run) returning
	// Job{Run: run}, with runtime.Spawn(ctx, job.Run) elsewhere in the
	// package).
	for v, p := range params {
		if spawned[v] {
			add(p)
		}
	}
	for v, p := range elems {
		if spawned[v] {
			add(p)
		}
	}
	ast.Inspect(d.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		for _, a := range c.taskArgs(call) {
			if a >= len(call.Args) {
				continue
			}
			arg := ast.Unparen(call.Args[a])
			if ix, ok := arg.(*ast.IndexExpr); ok {
				arg = ast.Unparen(ix.X) // fns[i]
			}
			id, ok := arg.(*ast.Ident)
			if !ok {
				continue
			}
			v, ok := info.Uses[id].(*types.Var)
			if !ok {
				continue
			}
			p, ok := params[v]
			if !ok {
				p, ok = elems[v]
			}
			if ok {
				add(p)
			}
		}
		return true
	})
	return added
}

// eachTaskExpr calls fn with each expression of the package that a call
// passes as task code (taskArgs, taskExprs), in source order.
func (c *checker) eachTaskExpr(fn func(ast.Expr)) {
	for _, f := range c.pass.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				for _, i := range c.taskArgs(call) {
					for _, arg := range c.taskExprs(call, i) {
						fn(arg)
					}
				}
			}
			return true
		})
	}
}

// spawnedFields returns the variables the package gives struct fields
// (of function type) that it passes as task functions
// (runtime.Spawn(ctx, job.Run)): with Job{Run: run}, run. One pass over
// the package; findRunner then looks its parameters up.
func (c *checker) spawnedFields() map[*types.Var]bool {
	fields := make(map[*types.Var]bool)
	c.eachTaskExpr(func(arg ast.Expr) {
		if v, field := c.assignedVar(arg); field {
			fields[v] = true
		}
	})
	out := make(map[*types.Var]bool)
	for f := range fields {
		for _, val := range c.fieldVals[f] {
			if id, ok := ast.Unparen(val).(*ast.Ident); ok {
				if v, ok := c.pass.TypesInfo.Uses[id].(*types.Var); ok {
					out[v] = true
				}
			}
		}
	}
	return out
}

// sortedDecls returns the package's declared functions in source order.
func (c *checker) sortedDecls() []*types.Func {
	fns := make([]*types.Func, 0, len(c.decls))
	for fn := range c.decls {
		fns = append(fns, fn)
	}
	slices.SortFunc(fns, func(a, b *types.Func) int { return cmp.Compare(a.Pos(), b.Pos()) })
	return fns
}

// reportTasks finds the task functions of the package and reports the
// blocking calls in them.
func (c *checker) reportTasks() {
	done := make(map[ast.Node]bool)
	fields := make(map[*types.Var]bool)
	for _, fn := range c.sortedDecls() {
		if d := c.decls[fn]; c.isObserverMethod(fn) && !done[d] {
			done[d] = true
			c.reportBody(fn.Type().(*types.Signature), d.Type, d.Body, "")
		}
	}
	c.eachTaskExpr(func(arg ast.Expr) { c.reportTask(arg, done, fields, "") })
}

// reportTask reports the blocking calls of the task function arg, unless
// done has its body: a literal, a function of this package or another, or
// a struct field of function type, whose task functions are the values the
// package gives it (fieldVals; fields has those done). via says how a
// function reached through a field is task code (" (as j.Run, started at
// main.go:46)"), for its reports: "" otherwise.
func (c *checker) reportTask(arg ast.Expr, done map[ast.Node]bool, fields map[*types.Var]bool, via string) {
	info := c.pass.TypesInfo
	if sel, ok := ast.Unparen(arg).(*ast.SelectorExpr); ok {
		if s := info.Selections[sel]; s != nil && s.Kind() == types.FieldVal {
			f := s.Obj().(*types.Var).Origin()
			if fields[f] {
				return // a field given another field's value, and back
			}
			fields[f] = true
			if via == "" {
				via = fmt.Sprintf(" (as %s, started at %s)", types.ExprString(sel), c.shortPos(sel.Pos()))
			}
			for _, v := range c.fieldVals[f] {
				c.reportTask(v, done, fields, via)
			}
			return
		}
	}
	lit, fn := c.taskFunc(arg)
	switch {
	case lit != nil:
		if !done[lit] {
			done[lit] = true
			c.reportBody(info.TypeOf(lit).(*types.Signature), lit.Type, lit.Body, via)
		}
	case fn != nil && c.decls[fn] != nil:
		if d := c.decls[fn]; !done[d] {
			done[d] = true
			c.reportBody(fn.Type().(*types.Signature), d.Type, d.Body, via)
		}
	case fn != nil:
		c.reportForeignTask(arg, fn)
	}
}

// taskExprs returns the expressions of call that are task code given that
// its argument i is: that argument; every argument from i on when i is
// the variadic parameter (runAll(ctx, f, g)); and the elements of a
// composite literal (runAll(ctx, []func(...){f, g}...)).
func (c *checker) taskExprs(call *ast.CallExpr, i int) []ast.Expr {
	if i >= len(call.Args) {
		return nil
	}
	args := call.Args[i : i+1]
	if sig, ok := c.pass.TypesInfo.TypeOf(call.Fun).Underlying().(*types.Signature); ok &&
		sig.Variadic() && i == sig.Params().Len()-1 && !call.Ellipsis.IsValid() {
		args = call.Args[i:]
	}
	var out []ast.Expr
	for _, a := range args {
		if lit, ok := ast.Unparen(a).(*ast.CompositeLit); ok {
			for _, e := range lit.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					e = kv.Value
				}
				out = append(out, e)
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

// isObserverMethod reports whether fn is the OnTask or OnBlock method of
// a type that implements runtime.Observer, which the loop calls
// synchronously on its goroutine.
func (c *checker) isObserverMethod(fn *types.Func) bool {
	if fn.Name() != "OnTask" && fn.Name() != "OnBlock" {
		return false
	}
	sig := fn.Type().(*types.Signature)
	if sig.Recv() == nil {
		return false
	}
	var rt *types.Package
	for _, p := range c.pass.Pkg.Imports() {
		if p.Path() == runtimePath {
			rt = p
		}
	}
	if rt == nil {
		return false
	}
	obj, ok := rt.Scope().Lookup("Observer").(*types.TypeName)
	if !ok {
		return false
	}
	iface, ok := obj.Type().Underlying().(*types.Interface)
	if !ok {
		return false
	}
	t := sig.Recv().Type()
	if _, ok := t.(*types.Pointer); !ok {
		t = types.NewPointer(t) // a value receiver's method set is in the pointer's
	}
	return types.Implements(t, iface)
}

// taskFunc resolves a task-function argument to a literal or a function.
func (c *checker) taskFunc(e ast.Expr) (*ast.FuncLit, *types.Func) {
	info := c.pass.TypesInfo
	e = ast.Unparen(e)
	switch x := e.(type) {
	case *ast.IndexExpr:
		e = x.X
	case *ast.IndexListExpr:
		e = x.X
	}
	switch x := e.(type) {
	case *ast.FuncLit:
		return x, nil
	case *ast.Ident:
		switch obj := info.Uses[x].(type) {
		case *types.Func:
			return nil, obj.Origin()
		case *types.Var:
			return c.litVars[obj], nil
		}
	case *ast.SelectorExpr:
		if sel := info.Selections[x]; sel != nil {
			if fn, ok := sel.Obj().(*types.Func); ok && sel.Kind() == types.MethodVal && !isInterfaceMethod(fn) {
				return nil, fn.Origin()
			}
			return nil, nil
		}
		if fn, ok := info.Uses[x.Sel].(*types.Func); ok {
			return nil, fn.Origin()
		}
	}
	return nil, nil
}

// reportForeignTask reports a task function declared in another package
// where it is passed, if it may block.
func (c *checker) reportForeignTask(arg ast.Expr, fn *types.Func) {
	if c.isIgnored(arg.Pos()) {
		return
	}
	from := c.pass.Pkg.Path()
	name := newLink(fn, "").name(from)
	var msg string
	if o, ok := c.opOf(fn); ok {
		msg = "task function " + o.noun + " blocks the event loop; " + o.advice
	} else if f := c.factOf(fn); f != nil {
		msg = "task function " + name + " blocks the event loop: " + subjectChain(f.Chain, f.Verb, from) + "; " + f.Advice
	} else if f := c.methodValueStream(fn, arg); f != nil {
		msg = "task function " + name + " blocks the event loop: " + subjectChain(f.Chain, f.Verb, from) + "; " + f.Advice
	} else {
		return
	}
	c.report(arg.Pos(), arg.End(), msg, nil)
}

// reportBody reports the blocking operations and calls in the body of a
// task function of signature sig and syntax ftype; via, if not "", says
// how it is task code (reportTask).
func (c *checker) reportBody(sig *types.Signature, ftype *ast.FuncType, body *ast.BlockStmt, via string) {
	if body == nil {
		return
	}
	from := c.pass.Pkg.Path()
	c.walk(body, func(s site) {
		end := s.pos + 1
		if s.call != nil {
			end = s.call.End()
		}
		if s.op != nil {
			var fixes []analysis.SuggestedFix
			if s.op.sleep && !s.nested {
				fixes = c.sleepFix(sig, ftype, s.call)
			}
			c.report(s.pos, end, s.op.noun+" blocks the event loop"+via+"; "+forBody(sig, s, s.op.advice), fixes)
			return
		}
		f := c.factOf(s.callee)
		if f == nil {
			f = s.pfact
		}
		if f == nil {
			return
		}
		c.report(s.pos, end, "blocks the event loop"+via+": "+objectChain(f.Chain, f.Verb, from)+"; "+forBody(sig, s, f.Advice), nil)
	})
}

// forBody is advice for site s in the body of a function of signature
// sig: a callback (CallSoon, CallLater, AddDoneCallback) has no context to
// await with, so runtime.Sleep is no advice there. A function literal the
// body calls keeps the advice: it may be called from a task too.
func forBody(sig *types.Signature, s site, advice string) string {
	if advice != adviceSleep && advice != adviceTimer || s.nested {
		return advice
	}
	for v := range sig.Params().Variables() {
		if isContext(v.Type()) {
			return advice
		}
	}
	return adviceCallback
}

// report reports once per position and message.
func (c *checker) report(pos, end token.Pos, msg string, fixes []analysis.SuggestedFix) {
	k := diagKey{pos, msg}
	if c.reported[k] {
		return
	}
	c.reported[k] = true
	c.pass.Report(analysis.Diagnostic{Pos: pos, End: end, Message: msg, SuggestedFixes: fixes})
}

// fileOf returns the file containing pos.
func (c *checker) fileOf(pos token.Pos) *ast.File {
	for _, f := range c.pass.Files {
		if f.FileStart <= pos && pos <= f.FileEnd {
			return f
		}
	}
	return nil
}
