package taskvet

import (
	"bytes"
	"go/ast"
	"go/format"
	"go/token"
	"go/types"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// fixMessage is the title of the time.Sleep fix.
const fixMessage = "Replace time.Sleep with runtime.Sleep"

// sleepFix returns the fix of a time.Sleep(d) statement made directly in a
// task function of signature sig and syntax ftype: runtime.Sleep(ctx, d),
// with ctx the function's context.Context parameter, returning the error
// (after zero values of the other results) when the function's last result
// is an error. It returns nil when the call is not a statement, no context
// parameter is in scope, the function does not return an error, or a
// result's zero value cannot be written in the file.
func (c *checker) sleepFix(sig *types.Signature, ftype *ast.FuncType, call *ast.CallExpr) []analysis.SuggestedFix {
	stmt := c.stmtOf[call]
	if stmt == nil || len(call.Args) != 1 {
		return nil
	}
	file := c.fileOf(call.Pos())
	if file == nil {
		return nil
	}
	info := c.pass.TypesInfo
	scope := innermostScope(info, file, call.Pos())
	if scope == nil {
		return nil
	}
	ctx := contextParam(info, ftype)
	if ctx == nil {
		return nil
	}
	if _, obj := scope.LookupParent(ctx.Name(), call.Pos()); obj != ctx {
		return nil // shadowed
	}
	res := sig.Results()
	if res.Len() == 0 || !types.Identical(res.At(res.Len()-1).Type(), types.Universe.Lookup("error").Type()) {
		return nil
	}
	qual := fileQualifier(info, file, c.pass.Pkg)
	var zeros []string
	for i := 0; i < res.Len()-1; i++ {
		z, ok := zeroValue(res.At(i).Type(), qual)
		if !ok {
			return nil
		}
		zeros = append(zeros, z)
	}
	rt, importEdits, ok := c.runtimeName(file, scope, call.Pos())
	if !ok {
		return nil
	}
	var arg bytes.Buffer
	if err := format.Node(&arg, c.pass.Fset, call.Args[0]); err != nil {
		return nil
	}
	indent := c.indentOf(stmt.Pos())
	sleep := rt + "Sleep(" + ctx.Name() + ", " + arg.String() + ")"
	// A comment ending the statement's line stays on the line: after the
	// if's brace.
	end, comment := stmt.End(), ""
	if cm := c.trailingComment(file, stmt); cm != nil {
		end, comment = cm.End(), " "+cm.Text
	}
	text := "if err := " + sleep + "; err != nil {" + comment + "\n" +
		indent + "\treturn " + strings.Join(append(zeros, "err"), ", ") + "\n" +
		indent + "}"
	edits := append([]analysis.TextEdit{{Pos: stmt.Pos(), End: end, NewText: []byte(text)}}, importEdits...)
	return []analysis.SuggestedFix{{Message: fixMessage, TextEdits: edits}}
}

// trailingComment returns the // comment that ends stmt's line, if any.
func (c *checker) trailingComment(file *ast.File, stmt ast.Stmt) *ast.Comment {
	tf := c.pass.Fset.File(stmt.End())
	line := tf.Line(stmt.End())
	for _, cg := range file.Comments {
		if cg.Pos() < stmt.End() || tf.Line(cg.Pos()) != line {
			continue
		}
		if len(cg.List) == 1 && strings.HasPrefix(cg.List[0].Text, "//") {
			return cg.List[0]
		}
		return nil
	}
	return nil
}

// contextParam returns the first named context.Context parameter of ftype.
func contextParam(info *types.Info, ftype *ast.FuncType) *types.Var {
	if ftype.Params == nil {
		return nil
	}
	for _, field := range ftype.Params.List {
		for _, name := range field.Names {
			v, ok := info.Defs[name].(*types.Var)
			if !ok || name.Name == "_" {
				continue
			}
			if isContext(v.Type()) {
				return v
			}
		}
	}
	return nil
}

func isContext(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" && n.Obj().Name() == "Context"
}

// innermostScope returns the innermost scope of file containing pos.
func innermostScope(info *types.Info, file *ast.File, pos token.Pos) *types.Scope {
	fs := info.Scopes[file]
	if fs == nil {
		return nil
	}
	return fs.Innermost(pos)
}

// fileQualifier returns a types.Qualifier writing packages by the names
// file imports them under, and a NUL for a package the file does not
// import (zeroValue then fails).
func fileQualifier(info *types.Info, file *ast.File, self *types.Package) types.Qualifier {
	names := make(map[*types.Package]string)
	for _, spec := range file.Imports {
		if pn := info.PkgNameOf(spec); pn != nil && pn.Name() != "_" && pn.Name() != "." {
			names[pn.Imported()] = pn.Name()
		}
	}
	return func(p *types.Package) string {
		if p == self {
			return ""
		}
		if n, ok := names[p]; ok {
			return n
		}
		return "\x00"
	}
}

// zeroValue returns an expression of t's zero value, written with qual.
func zeroValue(t types.Type, qual types.Qualifier) (string, bool) {
	var s string
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsBoolean != 0:
			s = "false"
		case u.Info()&types.IsNumeric != 0:
			s = "0"
		case u.Info()&types.IsString != 0:
			s = `""`
		default:
			s = "nil" // unsafe.Pointer
		}
	case *types.Pointer, *types.Slice, *types.Map, *types.Chan, *types.Signature:
		s = "nil"
	case *types.Interface:
		if _, ok := types.Unalias(t).(*types.TypeParam); ok {
			s = "*new(" + types.TypeString(t, qual) + ")"
		} else {
			s = "nil"
		}
	case *types.Struct, *types.Array:
		s = types.TypeString(t, qual) + "{}"
	default:
		s = "*new(" + types.TypeString(t, qual) + ")"
	}
	if strings.Contains(s, "\x00") {
		return "", false
	}
	return s, true
}

// runtimeName returns the prefix ("runtime.", "rt.") the file at pos uses
// for the taskdump runtime package, with the edits that import it when the
// file does not, under "runtime" or, if that name is taken (typically by
// the standard runtime), "tdruntime".
func (c *checker) runtimeName(file *ast.File, scope *types.Scope, pos token.Pos) (string, []analysis.TextEdit, bool) {
	info := c.pass.TypesInfo
	for _, spec := range file.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil || path != runtimePath {
			continue
		}
		pn := info.PkgNameOf(spec)
		if pn == nil || pn.Name() == "_" {
			continue
		}
		if pn.Name() == "." {
			return "", nil, true
		}
		if _, obj := scope.LookupParent(pn.Name(), pos); obj != pn {
			return "", nil, false // shadowed
		}
		return pn.Name() + ".", nil, true
	}
	name := ""
	for _, cand := range []string{"runtime", "tdruntime", "tdruntime2", "tdruntime3"} {
		if _, obj := scope.LookupParent(cand, pos); obj == nil {
			name = cand
			break
		}
	}
	if name == "" {
		return "", nil, false
	}
	spec := strconv.Quote(runtimePath)
	if name != "runtime" {
		spec = name + " " + spec
	}
	var edit analysis.TextEdit
	var last *ast.GenDecl
	for _, d := range file.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			last = g
		}
	}
	switch {
	case last == nil:
		edit = analysis.TextEdit{Pos: file.Name.End(), End: file.Name.End(), NewText: []byte("\n\nimport " + spec)}
	case last.Lparen.IsValid():
		// A group of its own after standard imports, as goimports does.
		text := "\t" + spec + "\n"
		if n := len(last.Specs); n > 0 {
			if is, ok := last.Specs[n-1].(*ast.ImportSpec); ok && isStdPath(is.Path.Value) {
				text = "\n" + text
			}
		}
		edit = analysis.TextEdit{Pos: last.Rparen, End: last.Rparen, NewText: []byte(text)}
	default:
		edit = analysis.TextEdit{Pos: last.End(), End: last.End(), NewText: []byte("\nimport " + spec)}
	}
	return name + ".", []analysis.TextEdit{edit}, true
}

// indentOf returns the blanks that start pos's line.
func (c *checker) indentOf(pos token.Pos) string {
	tf := c.pass.Fset.File(pos)
	if tf == nil {
		return "\t"
	}
	content, err := c.pass.ReadFile(tf.Name())
	if err != nil {
		return "\t"
	}
	off := tf.Offset(pos)
	start := tf.Offset(tf.LineStart(tf.Line(pos)))
	if start > off || off > len(content) {
		return "\t"
	}
	line := content[start:off]
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return string(line[:i])
}

// isStdPath reports whether a quoted import path looks like the standard
// library's (no dot in its first element).
func isStdPath(quoted string) bool {
	path, err := strconv.Unquote(quoted)
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
