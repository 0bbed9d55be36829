package taskvet

import (
	"go/ast"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/types/typeutil"
)

// Blocking through the standard library's readers and writers: a network
// connection or a file handed to io.ReadAll, io.Copy, fmt.Fprintf, or read
// through a bufio.Reader, a bufio.Scanner or a json.Decoder built on it,
// blocks as a Read on it does.
//
// A stream is an expression that reads or writes one of streamTypes: a
// value of one of them, a standard constructor's wrapper of a stream
// (bufio.NewReader(conn), json.NewDecoder(r), io.TeeReader(conn, w)), or a
// variable or struct field the package gives one. A call of the standard
// library blocks when it hands a stream to a parameter that reads or
// writes (one whose type has a method named as ioPrefixes say), or calls
// such a method on a wrapper.

// streamTypes are the types whose reads and writes block, by package and
// name: connections and files.
var streamTypes = map[string][]string{
	"net":        {"Conn", "PacketConn", "TCPConn", "UDPConn", "UnixConn", "IPConn"},
	"crypto/tls": {"Conn"},
	"os":         {"File"},
}

// ioPrefixes are the prefixes of the names of methods that read or write
// what a wrapper wraps.
var ioPrefixes = []string{"Read", "Write", "Scan", "Decode", "Encode", "Flush", "Peek", "Discard", "Token", "More"}

// wrapperFuncs are the standard functions not named New... that return a
// wrapper of their argument rather than read or write it.
var wrapperFuncs = map[string]bool{
	"io.TeeReader": true, "io.LimitReader": true, "io.MultiReader": true,
	"io.MultiWriter": true, "io.NopCloser": true,
}

// keepFuncs are the standard functions that take a stream and keep it, or
// hand it on, without reading or writing it then: TLS's handshake comes
// with the first read or write, a request's body is read when it is sent.
var keepFuncs = map[string]bool{
	"crypto/tls.Client": true, "crypto/tls.Server": true,
	"net/http.NewRequest": true, "net/http.NewRequestWithContext": true,
	"net.FileConn": true, "net.FileListener": true, "net.FilePacketConn": true,
}

// streamOp returns the blocking operation a call of fn is because it reads
// or writes a stream, if it is one: fn is a standard function or method
// given a stream to read or write, or a reading or writing method of a
// wrapper of one. Constructors of wrappers do not block.
func (c *checker) streamOp(fn *types.Func, call *ast.CallExpr) (op, bool) {
	if !c.isStandard(fn.Pkg()) {
		return op{}, false
	}
	name := displayName(fn)
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok && recvName(fn) != "" && hasIOPrefix(fn.Name()) {
		if what := c.stream(sel.X); what != "" {
			return streamCallOp(name, what), true
		}
	}
	if c.isWrapperCall(fn) || keepFuncs[fn.Pkg().Path()+"."+fn.Name()] || isConstructor(fn) {
		return op{}, false
	}
	if what := c.streamArg(fn, call); what != "" {
		return streamCallOp(name, what), true
	}
	return op{}, false
}

func streamCallOp(name, what string) op {
	return op{noun: name + " on " + what, verb: "calls " + name + " on " + what, advice: adviceThread}
}

// streamArg describes the first stream call passes to a parameter of fn
// that reads or writes it, or returns "".
func (c *checker) streamArg(fn *types.Func, call *ast.CallExpr) string {
	sig := fn.Type().(*types.Signature)
	params := sig.Params()
	for i, a := range call.Args {
		var pt types.Type
		switch {
		case i < params.Len()-1 || i < params.Len() && !sig.Variadic():
			pt = params.At(i).Type()
		case sig.Variadic() && params.Len() > 0:
			pt = params.At(params.Len() - 1).Type()
			if s, ok := pt.(*types.Slice); ok && !call.Ellipsis.IsValid() {
				pt = s.Elem()
			}
		default:
			continue
		}
		if !c.hasIOMethod(pt) {
			continue
		}
		if what := c.stream(a); what != "" {
			return what
		}
	}
	return ""
}

// isConstructor reports whether fn is a standard function named New...
// that cannot fail: it keeps what it is given (slog.NewTextHandler(f,
// nil), log.New(f, ...)) rather than read or write it there. One that
// returns an error may read (gzip.NewReader, smtp.NewClient, zip.NewReader).
func isConstructor(fn *types.Func) bool {
	sig := fn.Type().(*types.Signature)
	if sig.Recv() != nil || !strings.HasPrefix(fn.Name(), "New") {
		return false
	}
	for v := range sig.Results().Variables() {
		if types.Identical(v.Type(), errorType) {
			return false // it may read there, and fail (gzip.NewReader reads a header)
		}
	}
	return true
}

var errorType = types.Universe.Lookup("error").Type()

// isWrapperCall reports whether fn is a standard constructor of a wrapper:
// named New... (bufio.NewReader, json.NewDecoder) or one of wrapperFuncs,
// returning one value that reads or writes.
func (c *checker) isWrapperCall(fn *types.Func) bool {
	sig := fn.Type().(*types.Signature)
	if sig.Recv() != nil || sig.Results().Len() != 1 || !c.hasIOMethod(sig.Results().At(0).Type()) {
		return false
	}
	return strings.HasPrefix(fn.Name(), "New") || wrapperFuncs[fn.Pkg().Path()+"."+fn.Name()]
}

// stream describes the connection or file e reads or writes ("a net.Conn",
// "an *os.File"), or returns "" if e is not a stream. A variable or a
// struct field is one if a value the package gives it is (a reader kept
// in a session's field: s.r = bufio.NewReader(conn)).
func (c *checker) stream(e ast.Expr) string {
	e = ast.Unparen(e)
	info := c.pass.TypesInfo
	if c.isStdio(e) {
		return "" // writes to standard output and error, as log and fmt.Println do
	}
	if v := c.fileParam(e); v != nil {
		// An *os.File parameter is a stream where a call gives it one, not
		// os.Stdout (streamParamFact): what the function assigns it, or
		// what paramUse stands in for the call's argument. One given
		// values the package cannot see (f, ok = files[name]) is the file
		// its type says.
		if c.unknown[v] {
			return streamType(v.Type())
		}
		return c.streamOfVar(v, c.values[v])
	}
	if what, ok := c.condField(e); ok {
		return what
	}
	if what := streamType(info.TypeOf(e)); what != "" {
		return what
	}
	if isResponseBody(info, e) {
		return "an HTTP response body"
	}
	if call, ok := e.(*ast.CallExpr); ok {
		fn, ok := typeutil.Callee(info, call).(*types.Func)
		if !ok || !c.isStandard(fn.Pkg()) || !c.isWrapperCall(fn) {
			return ""
		}
		for _, a := range call.Args {
			if what := c.stream(a); what != "" {
				return what
			}
		}
		return ""
	}
	v, vals := c.varOf(e)
	if v == nil {
		return ""
	}
	if c.ownParams && v.IsField() && len(c.cond) > 0 {
		// A field's values hold whatever their function was given
		// (conditional): not the parameters of this call.
		saved := c.cond
		c.cond = nil
		defer func() { c.cond = saved }()
	}
	return c.streamOfVar(v, vals)
}

// isResponseBody reports whether e selects the Body of a net/http
// Response (directly, through a pointer or an alias, or promoted from an
// embedded Response): an io.ReadCloser whose reads come from the
// connection (a task that calls http.Get in runtime.ToThread, as taskvet
// advises, and reads the body on the loop, blocks there). A Request's Body
// is not one: a client's is what it was given. Matched by type, a Response
// built in memory (httptest's recorder) counts as well.
func isResponseBody(info *types.Info, e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Body" {
		return false
	}
	s := info.Selections[sel]
	if s == nil || s.Kind() != types.FieldVal {
		return false
	}
	f := s.Obj().(*types.Var)
	if f.Pkg() == nil || f.Pkg().Path() != "net/http" {
		return false
	}
	resp, ok := f.Pkg().Scope().Lookup("Response").(*types.TypeName)
	if !ok {
		return false
	}
	st, ok := resp.Type().Underlying().(*types.Struct)
	if !ok {
		return false
	}
	for field := range st.Fields() {
		if field == f.Origin() {
			return true
		}
	}
	return false
}

// condField describes the stream e holds if e selects a field a
// constructor fills from its *os.File parameter (condFields): the file
// or os.Stdout the receiver was built on (c := newLog(f); c.w), the
// file its type says where the package does not show the receiver's
// make, and for the method's own receiver what the field's other values
// say (its callers tell the rest: fieldReadFact). ok is false for other
// expressions.
func (c *checker) condField(e ast.Expr) (what string, ok bool) {
	sel, v, vals := c.condFieldOf(e)
	if v == nil || c.typed {
		return "", false
	}
	key := c.fieldKeys[v]
	if what := c.fieldStream(sel.X, key); what != "" {
		return what, true
	}
	if !c.recvKnown(sel.X, key) {
		return c.typedField(v), true
	}
	return c.streamOfVar(v, vals), true
}

// isCondField reports whether e selects a field of condFields.
func (c *checker) isCondField(e ast.Expr) bool {
	_, v, _ := c.condFieldOf(ast.Unparen(e))
	return v != nil
}

// condFieldOf returns the selector e is, the field of condFields it
// selects and the values the package gives that field; a nil field if
// e selects none.
func (c *checker) condFieldOf(e ast.Expr) (*ast.SelectorExpr, *types.Var, []ast.Expr) {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || len(c.condFields) == 0 {
		return nil, nil, nil
	}
	v, vals := c.varOf(sel)
	if v == nil || !c.condFields[v] {
		return nil, nil, nil
	}
	return sel, v, vals
}

// streamOfVar describes the stream variable or field v holds, given the
// values vals the package gives it: the first that is one, or "".
func (c *checker) streamOfVar(v *types.Var, vals []ast.Expr) string {
	m := c.streamVars
	if what, ok := m[v]; ok {
		return c.memoHit(what, c.resolving[v]) // known, or "" while it is being resolved
	}
	m[v] = ""
	c.resolving[v] = true
	done := c.resolve()
	what := ""
	for _, x := range vals {
		if c.condVals[x] && !c.typed {
			continue // a stream where its function is given one (fieldStream)
		}
		if what = c.stream(x); what != "" {
			m[v] = what
			break
		}
	}
	delete(c.resolving, v)
	done(what, func() { delete(m, v) })
	return what
}

// memoHit returns a memoized answer, noting whether it is the "" of a
// variable still being resolved (a cycle): answers found meanwhile are
// provisional (resolve).
func (c *checker) memoHit(what string, inProgress bool) string {
	if inProgress {
		c.cycled = true
	}
	return what
}

// resolve opens the resolution of a variable (its caller marks it in
// progress) and returns what to call with its answer and how to forget
// it. A "" found while a cycle went through a
// variable still being resolved may be wrong once that one is (a = b; a
// = conn; b = a: b's "" came while a was open), so it is forgotten when
// the outermost resolution ends; an answer found, or a "" with no such
// cycle, stays.
func (c *checker) resolve() func(what string, forget func()) {
	c.depth++
	outerCycled := c.cycled
	c.cycled = false
	return func(what string, forget func()) {
		c.depth--
		if what == "" && c.cycled && c.depth > 0 {
			c.provisional = append(c.provisional, forget)
		}
		c.cycled = c.cycled || outerCycled
		if c.depth == 0 {
			for _, f := range c.provisional {
				f()
			}
			c.provisional, c.cycled = nil, false
		}
	}
}

// fileParam returns the *os.File parameter e names if it is one of cond,
// or nil.
func (c *checker) fileParam(e ast.Expr) *types.Var {
	id, ok := e.(*ast.Ident)
	if !ok || len(c.cond) == 0 {
		return nil
	}
	v, ok := c.pass.TypesInfo.Uses[id].(*types.Var)
	if !ok || !c.cond[v] {
		return nil
	}
	return v
}

// walkOwn walks the body of fn to compute its facts: its *os.File
// parameters are streams only where a call gives it one (cond), so that
// a helper writing to one (render(f *os.File)) blocks where it is given
// a file, not os.Stdout. A task function's body, reported as it is,
// takes a captured one as the file it is. A method's receiver's
// conditional fields (condFields) are its callers' to say (recv).
func (c *checker) walkOwn(fn *types.Func, yield func(site)) {
	c.cond, c.recv = fileParams(fn), fn.Type().(*types.Signature).Recv()
	defer func() { c.cond, c.recv = nil, nil }()
	if (len(c.cond) > 0 || c.recv != nil && len(c.condFields) > 0) && !c.scratch {
		// What it resolves under cond or recv holds only here: a
		// variable built on such a parameter is a stream in a task's
		// body that captures the parameter, one given the receiver's
		// field (gw = l.w) is what the field holds there.
		c.withScratch(nil, func() { c.walk(c.decls[fn].Body, yield) })
		return
	}
	c.walk(c.decls[fn].Body, yield)
}

// withScratch runs fn with resolutions of its own (streamVars and
// fieldStream's memo), starting from seed: what fn finds of variables
// holds only while it runs.
func (c *checker) withScratch(seed map[*types.Var]string, fn func()) {
	savedVars, savedMemo, savedScratch := c.streamVars, c.fieldMemo, c.scratch
	c.streamVars = make(map[*types.Var]string, len(seed))
	for v, what := range seed {
		c.streamVars[v] = what
	}
	c.fieldMemo = make(map[fieldMemoKey]string)
	c.scratch = true
	defer func() { c.streamVars, c.fieldMemo, c.scratch = savedVars, savedMemo, savedScratch }()
	fn()
}

// fileParams returns fn's *os.File parameters, as a set.
func fileParams(fn *types.Func) map[*types.Var]bool {
	params := fn.Type().(*types.Signature).Params()
	set := make(map[*types.Var]bool)
	for i := range params.Len() {
		if p := params.At(i); isFileType(p.Type()) {
			set[p] = true
		}
	}
	return set
}

// isFileType reports whether t is os.File or *os.File.
func isFileType(t types.Type) bool {
	what := streamType(t)
	return what == "an *os.File" || what == "an os.File"
}

// varOf returns the variable or struct field e names and the values the
// package gives it, or nil.
func (c *checker) varOf(e ast.Expr) (*types.Var, []ast.Expr) {
	switch e := e.(type) {
	case *ast.Ident:
		if v, ok := c.pass.TypesInfo.Uses[e].(*types.Var); ok {
			return v, c.values[v]
		}
	case *ast.SelectorExpr:
		if s := c.pass.TypesInfo.Selections[e]; s != nil && s.Kind() == types.FieldVal {
			f := s.Obj().(*types.Var).Origin()
			return f, c.fieldVals[f]
		}
	}
	return nil, nil
}

// streamType describes t if it is one of streamTypes (or a pointer to
// one), or returns "".
func streamType(t types.Type) string {
	if t == nil {
		return ""
	}
	star := ""
	if p, ok := t.(*types.Pointer); ok {
		t, star = p.Elem(), "*"
	}
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return ""
	}
	obj := n.Obj()
	for _, name := range streamTypes[obj.Pkg().Path()] {
		if name == obj.Name() {
			s := obj.Pkg().Name() + "." + name
			if strings.ContainsRune("aeiou", rune(s[0])) {
				return "an " + star + s // "an *os.File"
			}
			return "a " + star + s
		}
	}
	return embeddedStream(n)
}

// embeddedStream describes the stream a struct type embeds, whose reads
// and writes it promotes ("a net.Conn" of struct{ net.Conn; id int }),
// or returns "". Only streams embedded directly count: it does not
// follow embedded structs (a type may embed a pointer to itself).
func embeddedStream(n *types.Named) string {
	st, ok := n.Underlying().(*types.Struct)
	if !ok {
		return ""
	}
	for f := range st.Fields() {
		if !f.Embedded() {
			continue
		}
		t := f.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if e, ok := types.Unalias(t).(*types.Named); ok && isStreamName(e) {
			return streamType(f.Type())
		}
	}
	return ""
}

// isStreamName reports whether n is one of streamTypes.
func isStreamName(n *types.Named) bool {
	obj := n.Obj()
	return obj.Pkg() != nil && slices.Contains(streamTypes[obj.Pkg().Path()], obj.Name())
}

// stdioWrites are the methods of *os.File that only write or flush it: on
// standard output and error, they are not reported (a logger that syncs
// stderr after each line is common).
var stdioWrites = map[string]bool{"Write": true, "WriteString": true, "WriteAt": true, "Sync": true}

// isStdio reports whether e is os.Stdout or os.Stderr, or a variable or
// field the package gives only those (and nothing it cannot see: see
// checker.unknown).
func (c *checker) isStdio(e ast.Expr) bool {
	stdio, grounded := c.stdioOf(e)
	return stdio && grounded
}

// stdioOf reports whether every value e may hold is os.Stdout or
// os.Stderr as far as the package shows, and whether one of them is
// (grounded): a variable being resolved, met again through a copy of
// itself (a logger copying its parent's out), holds nothing else, but
// grounds nothing either.
func (c *checker) stdioOf(e ast.Expr) (stdio, grounded bool) {
	e = ast.Unparen(e)
	if sel, ok := e.(*ast.SelectorExpr); ok {
		v, ok := c.pass.TypesInfo.Uses[sel.Sel].(*types.Var)
		if ok && v.Pkg() != nil && v.Pkg().Path() == "os" && (v.Name() == "Stdout" || v.Name() == "Stderr") {
			return true, true
		}
	}
	v, vals := c.varOf(e)
	if v == nil || len(vals) == 0 || c.unknown[v] {
		return false, false
	}
	if c.stdioSeen[v] {
		c.stdioCycled = true
		return true, false
	}
	if a, ok := c.stdioMemo[v]; ok {
		return a[0], a[1]
	}
	outer := c.stdioCycled
	c.stdioCycled = false
	c.stdioSeen[v] = true
	stdio = true
	for _, x := range vals {
		s, g := c.stdioOf(x)
		if !s {
			stdio, grounded = false, false
			break
		}
		grounded = grounded || g
	}
	delete(c.stdioSeen, v)
	if !c.stdioCycled || !stdio {
		// An answer that leaned on no variable being resolved holds
		// anywhere (a "no" always does).
		c.stdioMemo[v] = [2]bool{stdio, grounded}
	}
	c.stdioCycled = c.stdioCycled || outer
	return stdio, grounded
}

// hasIOMethod reports whether a value of type t has a method that reads
// or writes (named with one of ioPrefixes). It is cached per type: the
// fixpoints ask it of every value they resolve.
func (c *checker) hasIOMethod(t types.Type) bool {
	has, ok := c.ioCache[t]
	if !ok {
		has = ioMethods(t)
		c.ioCache[t] = has
	}
	return has
}

// ioMethods is hasIOMethod, uncached: it builds t's method set.
func ioMethods(t types.Type) bool {
	if _, ok := t.Underlying().(*types.Pointer); !ok && !types.IsInterface(t) {
		t = types.NewPointer(t) // the method set of *T holds T's too
	}
	ms := types.NewMethodSet(t)
	for i := range ms.Len() {
		if hasIOPrefix(ms.At(i).Obj().Name()) {
			return true
		}
	}
	return false
}

func hasIOPrefix(name string) bool {
	for _, p := range ioPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// isStandard reports whether pkg is in the standard library: its path's
// first element has no dot (as skipPackage tells them), and it is neither
// of the module being analyzed nor a package taskvet analyzed
// (userPackageFact), whose paths may have none either (module myapp:
// myapp/proto is the user's).
func (c *checker) isStandard(pkg *types.Package) bool {
	if pkg == nil || pkg.Path() == runtimePath || pkg == c.pass.Pkg {
		return false
	}
	if m := c.pass.Module; m != nil && m.Path != "" && (pkg.Path() == m.Path || strings.HasPrefix(pkg.Path(), m.Path+"/")) {
		return false
	}
	var user userPackageFact
	if c.pass.ImportPackageFact(pkg, &user) {
		return false // analyzed: a user's package (module lib, by replace or go.work)
	}
	first, _, _ := strings.Cut(pkg.Path(), "/")
	return !strings.Contains(first, ".")
}

// paramRound adds to the functions fns the parameters they read or write
// as streams (streamParamFact) that the rounds before did not find, and
// marks in changed the functions it added to (solveStreams).
func (c *checker) paramRound(fns []*types.Func, changed map[*types.Func]bool) {
	for _, fn := range fns {
		sig := fn.Type().(*types.Signature)
		for i := range sig.Params().Len() {
			p := sig.Params().At(i)
			if sig.Variadic() && i == sig.Params().Len()-1 || !c.hasIOMethod(p.Type()) ||
				streamType(p.Type()) != "" && !isFileType(p.Type()) {
				continue // a connection parameter blocks by itself
			}
			if f := c.params[fn]; f != nil && f.at(i, "") != nil {
				continue
			}
			if sp, ok := c.paramUse(fn, i, p); ok {
				if c.params[fn] == nil {
					c.params[fn] = new(streamParamFact)
				}
				c.params[fn].Params = append(c.params[fn].Params, sp)
				changed[fn] = true
			}
		}
	}
}

// exportParams exports the streamParamFacts found.
func (c *checker) exportParams() {
	for _, fn := range c.sortedDecls() {
		if f := c.params[fn]; f != nil {
			slices.SortFunc(f.Params, func(a, b streamParam) int { return a.Index - b.Index })
			c.pass.ExportObjectFact(fn, f)
		}
	}
}

// paramUse returns how fn reads or writes its parameter i, p, as a stream:
// the first operation of its body on p, or on a wrapper of it, or a call
// handing it on to a parameter another function reads or writes. As a
// variable is a stream if a value it is given is, the parameter is one
// whatever else the function assigns it (r = strings.NewReader(s) on one
// path): what it is given may be read.
func (c *checker) paramUse(fn *types.Func, i int, p *types.Var) (streamParam, bool) {
	var sp streamParam
	found := false
	c.withScratch(map[*types.Var]string{p: paramStream}, func() {
		c.walkOwn(fn, func(s site) {
			switch {
			case found:
			case s.op != nil && strings.Contains(s.op.verb, paramStream):
				sp = streamParam{Index: i, Chain: []link{newLink(fn, c.shortPos(s.pos))}, Verb: s.op.verb, Advice: s.op.advice}
				found = true
			case s.pfact != nil && strings.Contains(s.pfact.Verb, paramStream):
				sp = streamParam{Index: i, Chain: chainFrom(newLink(fn, c.shortPos(s.pos)), s.pfact.Chain), Verb: s.pfact.Verb, Advice: s.pfact.Advice}
				found = true
			}
		})
	})
	return sp, found
}

// paramStreamAt returns the blocking fact of call, a call of fn, if it
// gives a stream to a parameter fn reads or writes (streamParamFact), or
// nil.
func (c *checker) paramStreamAt(fn *types.Func, call *ast.CallExpr) *blockingFact {
	f := localFact(c, c.params, fn)
	if f == nil {
		return nil
	}
	args := call.Args
	if isMethodExpr(c.pass.TypesInfo, call) {
		args = args[1:] // (T).M(recv, args...)
	}
	for _, p := range f.Params {
		if p.Index >= len(args) {
			continue
		}
		if what := c.stream(args[p.Index]); what != "" {
			return f.at(p.Index, what)
		}
	}
	return nil
}

// isMethodExpr reports whether call calls a method expression, (T).M,
// whose first argument is the receiver.
func isMethodExpr(info *types.Info, call *ast.CallExpr) bool {
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok {
		return false
	}
	s := info.Selections[sel]
	return s != nil && s.Kind() == types.MethodExpr && len(call.Args) > 0
}
