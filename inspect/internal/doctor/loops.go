package doctor

import (
	"slices"
	"strconv"
	"strings"

	"github.com/taskdump/taskdump/inspect/wire"
)

// mergeLoops folds the findings that several loops make alike into one:
// a process that runs the same code on many loops (a loop per core, say)
// has the same bug on each, and doctor should say it once, not once per
// loop. Findings are alike when they have the same kind, severity, fix
// and sites and their tasks are at the same lines (sameKey); the k-th such
// finding of one loop folds with the k-th of each other loop (a kind made
// once per task, as cancel-ignored, folds task by task), so two findings
// of one loop never fold. from[i] identifies out[i]'s loop (loops may
// share a name). The one kept is the first (the loops' order), its Count
// the sum, its Tasks the first maxListed of all, Loops the number of loops,
// and its summary names the others.
//
// Cost: one key per finding and a map lookup, linear in what the findings
// list.
func mergeLoops(out []wire.Finding, from []int) []wire.Finding {
	if len(out) < 2 {
		return out
	}
	type group struct {
		at     int      // index of the kept finding in merged
		others []string // the names of the other loops, in order
	}
	type seen struct {
		key  string
		loop int
	}
	nth := make(map[seen]int, len(out)) // findings of a key in a loop so far
	byKey := make(map[string]*group, len(out))
	merged := out[:0:0]
	for i, f := range out {
		k := sameKey(&f)
		n := nth[seen{k, from[i]}]
		nth[seen{k, from[i]}] = n + 1
		k += "#" + strconv.Itoa(n)
		g := byKey[k]
		if g == nil {
			byKey[k] = &group{at: len(merged)}
			merged = append(merged, f)
			continue
		}
		m := &merged[g.at]
		g.others = append(g.others, f.Loop)
		m.Count += f.Count
		if room := maxListed - len(m.Tasks); room > 0 {
			m.Tasks = append(m.Tasks, f.Tasks[:min(room, len(f.Tasks))]...)
		}
	}
	for _, g := range byKey {
		if len(g.others) == 0 {
			continue
		}
		m := &merged[g.at]
		m.Loops = 1 + len(g.others)
		m.Summary += " " + sameIn(g.others)
	}
	return merged
}

// sameKey is what makes findings of different loops the same finding:
// kind, severity, fix, sites, and the distinct lines their tasks are at.
func sameKey(f *wire.Finding) string {
	var b strings.Builder
	for _, s := range []string{f.Kind, f.Severity, f.Fix} {
		b.WriteString(strconv.Quote(s))
	}
	frame := func(fr wire.Frame) {
		b.WriteString(strconv.Quote(fr.Function))
		b.WriteString(strconv.Quote(fr.File))
		b.WriteString(strconv.Itoa(fr.Line))
	}
	b.WriteString("|sites")
	for _, s := range f.Sites {
		frame(s)
	}
	ats := make([]wire.Frame, 0, len(f.Tasks))
	for _, t := range f.Tasks {
		if !slices.Contains(ats, t.At) {
			ats = append(ats, t.At)
		}
	}
	slices.SortFunc(ats, func(a, b wire.Frame) int {
		return strings.Compare(a.File+"\x00"+a.Function+"\x00"+strconv.Itoa(a.Line), b.File+"\x00"+b.Function+"\x00"+strconv.Itoa(b.Line))
	})
	b.WriteString("|at")
	for _, a := range ats {
		frame(a)
	}
	return b.String()
}

// sameIn is the sentence a folded finding's summary ends with: `The same
// in loops "b", "c", "d" and 7 more.` (loops that share a name are named
// once each time).
func sameIn(loops []string) string {
	var b strings.Builder
	b.WriteString("The same in ")
	if len(loops) == 1 {
		b.WriteString("loop ")
	} else {
		b.WriteString("loops ")
	}
	n := min(len(loops), 3)
	for i, l := range loops[:n] {
		switch {
		case i == 0:
		case i == n-1 && len(loops) == n:
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(l))
	}
	if more := len(loops) - n; more > 0 {
		b.WriteString(" and ")
		b.WriteString(strconv.Itoa(more))
		b.WriteString(" more")
	}
	b.WriteString(".")
	return b.String()
}
