package taskvet

import (
	"cmp"
	"go/ast"
	"go/token"
	"go/types"
	"maps"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/types/typeutil"
)

// Streams kept in struct fields by a constructor and read by methods: a
// protocol client built on a connection (c := proto.NewCodec(conn)) whose
// methods read or write it (c.ReadMsg() reads c.r, a bufio.Reader on
// conn). Two facts carry this across packages: fieldStoreFact on the
// constructor (what its parameter is given ends up in field r) and
// fieldReadFact on the method (it reads field r as a stream). A call of
// the method blocks where its receiver is a value the constructor built
// from a connection or a file: the variable's values tell, as the package
// shows them.

// fieldStoreFact is exported for a function that stores what a parameter
// is given, or a wrapper of it, in fields of a struct type of its package.
type fieldStoreFact struct {
	Stores []fieldStore
}

// A fieldStore is one parameter and a field (fieldKey) it ends up in.
type fieldStore struct {
	Param int
	Field string
}

func (*fieldStoreFact) AFact() {}

func (f *fieldStoreFact) String() string {
	var parts []string
	for _, s := range f.Stores {
		parts = append(parts, "parameter "+strconv.Itoa(s.Param)+" in "+shortField(s.Field))
	}
	return "stores " + strings.Join(parts, ", ")
}

// fieldReadFact is exported for a function or method that reads or writes
// fields as streams, directly or through what it calls.
type fieldReadFact struct {
	Uses []fieldUse
}

// A fieldUse is a field (fieldKey) and the chain from the function to the
// operation on it; Verb has paramStream where the stream goes.
type fieldUse struct {
	Field        string
	Chain        []link
	Verb, Advice string
	// Typed is the stream the field holds where the receiver is not
	// known, for a field its package fills from an *os.File parameter
	// (condVals): the file its type says; "" for others.
	Typed string
}

func (*fieldReadFact) AFact() {}

func (f *fieldReadFact) String() string {
	var parts []string
	for _, u := range f.Uses {
		from := ""
		if len(u.Chain) > 0 {
			from = u.Chain[0].PkgPath
		}
		parts = append(parts, "stream field "+shortField(u.Field)+": "+
			subjectChain(u.Chain, strings.ReplaceAll(u.Verb, paramStream, "the field"), from))
	}
	return strings.Join(parts, "; ")
}

// shortField is a field key without its package path: "Codec.r".
func shortField(key string) string {
	if i := strings.LastIndex(key, "/"); i >= 0 {
		key = key[i+1:]
	}
	_, rest, _ := strings.Cut(key, ".")
	return rest
}

// fieldKey names field f of named struct type t: "path.Type.field".
func fieldKey(t *types.Named, f string) string {
	o := t.Obj()
	if o.Pkg() == nil {
		return ""
	}
	return o.Pkg().Path() + "." + o.Name() + "." + f
}

// namedStruct returns the named type of t (or of what t points to), if
// its underlying type is a struct.
func namedStruct(t types.Type) *types.Named {
	if t == nil {
		return nil
	}
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return nil
	}
	if _, ok := n.Underlying().(*types.Struct); !ok {
		return nil
	}
	return n.Origin()
}

// ownFields maps the fields of the package's named struct types that may
// hold a stream (their type reads or writes) to their keys, and back
// (fieldVar).
func (c *checker) ownFields() map[*types.Var]string {
	keys := make(map[*types.Var]string)
	c.fieldVar = make(map[string]*types.Var)
	c.fieldKeys = keys
	scope := c.pass.Pkg.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok {
			continue
		}
		n := namedStruct(tn.Type())
		if n == nil {
			continue
		}
		st := n.Underlying().(*types.Struct)
		for f := range st.Fields() {
			if c.hasIOMethod(f.Type()) && (streamType(f.Type()) == "" || isFileType(f.Type())) {
				keys[f] = fieldKey(n, f.Name())
				c.fieldVar[keys[f]] = f
			}
		}
	}
	return keys
}

// solveFieldStores finds the package's functions that store a parameter
// in a field (fieldStoreFact): a value the package gives one of keys that,
// within the function, is the parameter or a wrapper of it. Then it marks
// the values a constructor makes from its *os.File parameters that are
// streams only through them (markConditional), all at once: which ones
// are must not depend on the order they are found in.
func (c *checker) solveFieldStores(keys map[*types.Var]string) {
	c.typed = true // no value is conditional yet
	var cond []fieldVal
	valsIn := c.fieldValsIn(keys)
	for _, fn := range c.sortedDecls() {
		sig := fn.Type().(*types.Signature)
		var f fieldStoreFact
		for i := range sig.Params().Len() {
			p := sig.Params().At(i)
			if !c.hasIOMethod(p.Type()) {
				continue
			}
			var stored []fieldVal // the values of fields made from p
			c.withScratch(map[*types.Var]string{p: paramStream}, func() {
				c.cond = fileParams(fn) // an *os.File parameter: what paramStream stands for
				defer func() { c.cond = nil }()
				for _, fv := range valsIn[fn] {
					if strings.Contains(c.stream(fv.v), paramStream) {
						if len(stored) == 0 || stored[len(stored)-1].key != fv.key {
							f.Stores = append(f.Stores, fieldStore{Param: i, Field: fv.key})
						}
						stored = append(stored, fv)
					}
				}
			})
			if isFileType(p.Type()) {
				cond = append(cond, c.conditional(fn, stored)...)
			}
		}
		cond = append(cond, c.copies(fn, valsIn[fn])...)
		if len(f.Stores) > 0 {
			slices.SortFunc(f.Stores, func(a, b fieldStore) int {
				if a.Param != b.Param {
					return a.Param - b.Param
				}
				return strings.Compare(a.Field, b.Field)
			})
			c.stores[fn] = &f
			c.pass.ExportObjectFact(fn, &f)
		}
	}
	c.typed = false
	for _, fv := range cond {
		c.condVals[fv.v], c.condFields[fv.field] = true, true
	}
}

// fieldValsIn groups the values the package gives the fields of keys by
// the function whose body holds them, each function's in key order (a
// function's stores are among its own values; the order makes what a
// cycle of assignments resolves to the same from run to run).
func (c *checker) fieldValsIn(keys map[*types.Var]string) map[*types.Func][]fieldVal {
	type span struct {
		fn   *types.Func
		body *ast.BlockStmt
	}
	var spans []span
	for _, fn := range c.sortedDecls() {
		if b := c.decls[fn].Body; b != nil {
			spans = append(spans, span{fn, b})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.body.Pos(), b.body.Pos()) })
	fields := slices.SortedFunc(maps.Keys(keys), func(a, b *types.Var) int { return strings.Compare(keys[a], keys[b]) })
	out := make(map[*types.Func][]fieldVal)
	for _, field := range fields {
		for _, v := range c.fieldVals[field] {
			// The last body starting at or before v: the one holding it, if any.
			i, found := slices.BinarySearchFunc(spans, v.Pos(), func(s span, p token.Pos) int { return cmp.Compare(s.body.Pos(), p) })
			if !found {
				i--
			}
			if i >= 0 && within(v, spans[i].body) {
				out[spans[i].fn] = append(out[spans[i].fn], fieldVal{field, keys[field], v})
			}
		}
	}
	return out
}

// A fieldVal is a value the package gives a field (key).
type fieldVal struct {
	field *types.Var
	key   string
	v     ast.Expr
}

// conditional returns which of vals, values fn gives fields that are
// streams where one of its *os.File parameters is, are streams only
// then, fn being a constructor of the fields' struct: whether such a
// field holds os.Stdout or a file is for fn's callers to say, as
// fieldStream follows them from the values it returns (condVals). What
// another function stores (a setter, an assignment) is not followed: it
// stays the file its type says. So are exported fields: any package may
// give them a value (l.Out = f) that this one does not see.
func (c *checker) conditional(fn *types.Func, vals []fieldVal) []fieldVal {
	var out []fieldVal
	c.withScratch(nil, func() {
		// Streams as the function's body makes them, not as a call
		// gives them; its parameters only as this call's (ownParams).
		c.cond, c.ownParams = fileParams(fn), true
		defer func() { c.cond, c.ownParams = nil, false }()
		for _, fv := range vals {
			if constructs(fn, fv.key) && !fv.field.Exported() && !c.unknown[fv.field] && c.stream(fv.v) == "" {
				out = append(out, fv)
			}
		}
	})
	return out
}

// copies returns which of vals, the values fn gives fields, copy the
// same field of another value in a constructor of their struct
// (func (l *Logger) With(...) *Logger { return &Logger{out: l.out} }):
// conditional too, as what they copy is (a receiver With built is not
// known: it holds the file the field's type says).
func (c *checker) copies(fn *types.Func, vals []fieldVal) []fieldVal {
	var out []fieldVal
	for _, fv := range vals {
		sel, ok := ast.Unparen(fv.v).(*ast.SelectorExpr)
		if !ok || !constructs(fn, fv.key) || fv.field.Exported() || c.unknown[fv.field] {
			continue
		}
		if v, _ := c.varOf(sel); v == fv.field {
			out = append(out, fv)
		}
	}
	return out
}

// constructs reports whether fn returns the struct type (or a pointer to
// it) whose field key is.
func constructs(fn *types.Func, key string) bool {
	for v := range fn.Type().(*types.Signature).Results().Variables() {
		if ownsField(namedStruct(v.Type()), key) {
			return true
		}
	}
	return false
}

// ownsField reports whether key is a field of the named struct type n.
func ownsField(n *types.Named, key string) bool {
	return n != nil && strings.HasPrefix(key, fieldKey(n, "")) && !strings.Contains(key[len(fieldKey(n, "")):], ".")
}

// typedField describes the stream field f holds taking the files its
// conditional values (condVals) are made from for the files their type
// says: what it holds where its receiver is not known. It is computed
// once per field.
func (c *checker) typedField(f *types.Var) string {
	if what, ok := c.typedMemo[f]; ok {
		return what
	}
	what := ""
	savedCond, savedRecv := c.cond, c.recv
	c.cond, c.recv = nil, nil
	c.withScratch(nil, func() {
		c.typed = true
		defer func() { c.typed = false }()
		what = c.streamOfVar(f, c.fieldVals[f])
	})
	c.cond, c.recv = savedCond, savedRecv
	c.typedMemo[f] = what
	return what
}

// within reports whether n lies in body.
func within(n ast.Node, body *ast.BlockStmt) bool {
	return body != nil && body.Pos() <= n.Pos() && n.End() <= body.End()
}

// fieldReadRound adds to the functions fns the fields (keys) they read or
// write as streams that the rounds before did not find, and marks in
// changed the functions it added to (solveStreams).
func (c *checker) fieldReadRound(fns []*types.Func, keys map[*types.Var]string, changed map[*types.Func]bool) {
	for _, fn := range fns {
		cands := c.fieldCandidates(fn, keys)
		for _, key := range slices.Sorted(maps.Values(cands)) { // in key order: the first use found is the message
			field := c.fieldVar[key]
			if c.reads[fn].has(key) {
				continue
			}
			if u, ok := c.fieldUse(fn, field, key); ok {
				if c.reads[fn] == nil {
					c.reads[fn] = new(fieldReadFact)
				}
				c.reads[fn].Uses = append(c.reads[fn].Uses, u)
				changed[fn] = true
			}
		}
	}
}

// solveStreams finds the package's streamParamFacts and fieldReadFacts
// and exports them. A function's facts depend on its callees' only, so
// after a first round over every function, each round re-examines just
// the callers of the functions the last one added to: a chain of n
// helpers costs n small rounds, not n rounds over the package.
func (c *checker) solveStreams(keys map[*types.Var]string) {
	fns := c.sortedDecls()
	callers := make(map[*types.Func][]*types.Func)
	for _, fn := range fns {
		for g := range c.refsOf(fn, keys).calls {
			callers[g] = append(callers[g], fn)
		}
	}
	for work := fns; len(work) > 0; {
		changed := make(map[*types.Func]bool)
		c.paramRound(work, changed)
		c.fieldReadRound(work, keys, changed)
		next := make(map[*types.Func]bool)
		for fn := range changed {
			for _, caller := range callers[fn] {
				next[caller] = true
			}
		}
		work = slices.SortedFunc(maps.Keys(next), func(a, b *types.Func) int { return cmp.Compare(a.Pos(), b.Pos()) })
	}
	c.exportParams()
	c.exportFieldReads()
}

// fieldCandidates returns the fields of keys fn may read or write: those
// its body selects, and those the package's functions it calls read or
// write (found so far). Only they are worth a walk of its body.
func (c *checker) fieldCandidates(fn *types.Func, keys map[*types.Var]string) map[*types.Var]string {
	refs := c.refsOf(fn, keys)
	out := make(map[*types.Var]string)
	for f := range refs.fields {
		out[f] = keys[f]
	}
	for g := range refs.calls {
		if r := c.reads[g]; r != nil {
			for _, u := range r.Uses {
				if f := c.fieldVar[u.Field]; f != nil {
					out[f] = u.Field
				}
			}
		}
	}
	return out
}

// refsOf returns the fields of keys fn's body selects and the package's
// functions it calls, computed once.
func (c *checker) refsOf(fn *types.Func, keys map[*types.Var]string) *funcRefs {
	refs, ok := c.fieldRefs[fn]
	if !ok {
		refs = &funcRefs{fields: make(map[*types.Var]bool), calls: make(map[*types.Func]bool)}
		info := c.pass.TypesInfo
		ast.Inspect(c.decls[fn].Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if s := info.Selections[n]; s != nil && s.Kind() == types.FieldVal {
					if f := s.Obj().(*types.Var).Origin(); keys[f] != "" {
						refs.fields[f] = true
					}
				}
			case *ast.CallExpr:
				if g, ok := typeutil.Callee(info, n).(*types.Func); ok && c.decls[g.Origin()] != nil {
					refs.calls[g.Origin()] = true
				}
			}
			return true
		})
		c.fieldRefs[fn] = refs
	}
	return refs
}

// funcRefs are the fields a function's body selects and the package's
// functions it calls (fieldCandidates).
type funcRefs struct {
	fields map[*types.Var]bool
	calls  map[*types.Func]bool
}

// has reports whether f has a use of the field key.
func (f *fieldReadFact) has(key string) bool {
	if f == nil {
		return false
	}
	for _, u := range f.Uses {
		if u.Field == key {
			return true
		}
	}
	return false
}

// fieldUse returns how fn reads or writes field (key) as a stream: the
// first operation of its body on it, or a call that does.
func (c *checker) fieldUse(fn *types.Func, field *types.Var, key string) (fieldUse, bool) {
	var u fieldUse
	found := false
	c.withScratch(map[*types.Var]string{field: paramStream}, func() {
		c.walkOwn(fn, func(s site) {
			var f *blockingFact
			switch {
			case found:
				return
			case s.op != nil:
				f = &blockingFact{Verb: s.op.verb, Advice: s.op.advice}
			case s.pfact != nil:
				f = s.pfact
			default:
				return
			}
			if strings.Contains(f.Verb, paramStream) {
				u = fieldUse{Field: key, Chain: chainFrom(newLink(fn, c.shortPos(s.pos)), f.Chain), Verb: f.Verb, Advice: f.Advice}
				found = true
			}
		})
	})
	return u, found
}

// exportFieldReads exports the fieldReadFacts found.
func (c *checker) exportFieldReads() {
	for _, fn := range c.sortedDecls() {
		if f := c.reads[fn]; f != nil {
			slices.SortFunc(f.Uses, func(a, b fieldUse) int { return strings.Compare(a.Field, b.Field) })
			for i, u := range f.Uses {
				if field := c.fieldVar[u.Field]; field != nil && c.condFields[field] {
					f.Uses[i].Typed = c.typedField(field)
				}
			}
			c.pass.ExportObjectFact(fn, f)
		}
	}
}

// fieldStreamAt returns the blocking fact of call, a call of fn, if fn
// reads or writes a field (fieldReadFact) that call's receiver holds a
// stream in, or nil.
func (c *checker) fieldStreamAt(fn *types.Func, call *ast.CallExpr) *blockingFact {
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok || fn.Type().(*types.Signature).Recv() == nil {
		return nil
	}
	f := localFact(c, c.reads, fn)
	if f == nil {
		return nil
	}
	recv := sel.X
	if isMethodExpr(c.pass.TypesInfo, call) {
		recv = call.Args[0] // (T).M(recv, args...)
	}
	return c.recvStream(f, recv)
}

// methodValueStream returns the blocking fact of a task started as the
// method value x (lib.NewLog(f).Run), a method fn that reads or writes
// a field its receiver holds a stream in, or nil.
func (c *checker) methodValueStream(fn *types.Func, x ast.Expr) *blockingFact {
	sel, ok := ast.Unparen(x).(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	if s := c.pass.TypesInfo.Selections[sel]; s == nil || s.Kind() != types.MethodVal {
		return nil
	}
	f := localFact(c, c.reads, fn)
	if f == nil {
		return nil
	}
	return c.recvStream(f, sel.X)
}

// recvStream returns the blocking fact of a method (of fieldReadFact f)
// called on recv, if recv holds a stream in a field it reads or writes:
// as the package shows recv's make, or, where it does not, as the
// field's type says (fieldUse.Typed).
func (c *checker) recvStream(f *fieldReadFact, recv ast.Expr) *blockingFact {
	for _, u := range f.Uses {
		if what := c.fieldStream(recv, u.Field); what != "" {
			return u.fact(what)
		}
	}
	for _, u := range f.Uses {
		if u.Typed != "" && !c.recvKnown(recv, u.Field) {
			return u.fact(u.Typed) // a receiver of unknown make: the file its field's type says
		}
	}
	return nil
}

// fact is the blocking fact of a call whose receiver's field holds the
// stream what.
func (u fieldUse) fact(what string) *blockingFact {
	return &blockingFact{Chain: u.Chain, Verb: strings.ReplaceAll(u.Verb, paramStream, what), Advice: u.Advice}
}

// recvKnown reports whether fieldStream can tell what the field key of x
// holds: x is the receiver of the method being computed (its callers
// tell: fieldReadFact), or each value of x the package shows is a call
// of a function that stores in that field (fieldStoreFact) or a
// composite literal of the field's struct. An exported variable or field
// may be given values other packages show: not known.
func (c *checker) recvKnown(x ast.Expr, key string) bool {
	known, _ := c.recvKnownSeen(x, key, make(map[*types.Var]bool))
	return known
}

// recvKnownSeen is recvKnown through the variables seen so far; open
// says the answer leaned on one being resolved or on the receiver, so it
// holds only here (a false one always holds: it is memoized either way).
func (c *checker) recvKnownSeen(x ast.Expr, key string, seen map[*types.Var]bool) (known, open bool) {
	x = ast.Unparen(x)
	if u, ok := x.(*ast.UnaryExpr); ok && u.Op == token.AND {
		x = ast.Unparen(u.X)
	}
	switch x := x.(type) {
	case *ast.CompositeLit:
		return ownsField(namedStruct(c.pass.TypesInfo.TypeOf(x)), key), false
	case *ast.CallExpr:
		fn, ok := typeutil.Callee(c.pass.TypesInfo, x).(*types.Func)
		if !ok {
			return false, false
		}
		f := localFact(c, c.stores, fn.Origin())
		return f != nil && slices.ContainsFunc(f.Stores, func(s fieldStore) bool { return s.Field == key }), false
	case *ast.Ident, *ast.SelectorExpr:
		v, vals := c.varOf(x)
		switch {
		case v == nil:
			return false, false
		case v == c.recv || seen[v]:
			return true, true
		case len(vals) == 0 || c.unknown[v] || v.Exported() && (v.IsField() || v.Parent() == v.Pkg().Scope()):
			return false, false
		}
		mk := fieldMemoKey{v, key}
		if known, ok := c.knownMemo[mk]; ok {
			return known, false
		}
		seen[v] = true
		defer delete(seen, v)
		known, open = true, false
		for _, val := range vals {
			k, o := c.recvKnownSeen(val, key, seen)
			open = open || o
			if !k {
				known, open = false, false
				break
			}
		}
		if !open {
			c.knownMemo[mk] = known
		}
		return known, open
	}
	return false, false
}

// fieldStream describes the stream the field key of what x evaluates to
// holds, as the package shows it: x, or a value of the variable or field
// x names (h.c), is a call of a function that stores a stream in that
// field (fieldStoreFact), or a composite literal giving it one. Answers
// for variables are memoized per resolution context (fieldMemo), ""
// while one is being resolved: values holding values cost one visit each.
func (c *checker) fieldStream(x ast.Expr, key string) string {
	if f := c.fieldVar[key]; f != nil {
		if what := c.streamVars[f]; strings.Contains(what, paramStream) {
			return what // the field fieldUse stands in for: any receiver's
		}
	}
	x = ast.Unparen(x)
	if u, ok := x.(*ast.UnaryExpr); ok && u.Op == token.AND {
		x = ast.Unparen(u.X)
	}
	switch x := x.(type) {
	case *ast.CallExpr:
		return c.storedStream(x, key)
	case *ast.CompositeLit:
		return c.literalStream(x, key)
	case *ast.Ident, *ast.SelectorExpr:
		v, vals := c.varOf(x)
		if v == nil {
			return ""
		}
		mk, memo := fieldMemoKey{v, key}, c.fieldMemo
		if what, ok := memo[mk]; ok {
			return c.memoHit(what, c.resolvingField[mk])
		}
		memo[mk] = ""
		c.resolvingField[mk] = true
		done := c.resolve()
		what := ""
		for _, val := range vals {
			if what = c.fieldStream(val, key); what != "" {
				memo[mk] = what
				break
			}
		}
		delete(c.resolvingField, mk)
		done(what, func() { delete(memo, mk) })
		return what
	}
	return ""
}

// fieldMemoKey is a variable or field and a field key of what it holds.
type fieldMemoKey struct {
	v   *types.Var
	key string
}

// storedStream describes the stream call stores in the field key: call
// is a function's that stores a parameter there (fieldStoreFact), given
// a stream.
func (c *checker) storedStream(call *ast.CallExpr, key string) string {
	fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	if !ok {
		return ""
	}
	fn = fn.Origin()
	f := localFact(c, c.stores, fn)
	if f == nil {
		return ""
	}
	for _, s := range f.Stores {
		if s.Field == key && s.Param < len(call.Args) {
			if what := c.stream(call.Args[s.Param]); what != "" {
				return what
			}
		}
	}
	return ""
}

// literalStream describes the stream the composite literal lit gives its
// field key, by name or by position.
func (c *checker) literalStream(lit *ast.CompositeLit, key string) string {
	n := namedStruct(c.pass.TypesInfo.TypeOf(lit))
	if n == nil {
		return ""
	}
	st := n.Underlying().(*types.Struct)
	for i, e := range lit.Elts {
		name, val := "", e
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok {
				name, val = id.Name, kv.Value
			}
		} else if i < st.NumFields() {
			name = st.Field(i).Name()
		}
		if name != "" && fieldKey(n, name) == key {
			return c.stream(val)
		}
	}
	return ""
}
