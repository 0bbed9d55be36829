package main

import (
	"math/rand/v2"
	"strings"
	"testing"
	"text/tabwriter"
)

// TestTableAsTabwriter: on ASCII text, table writes what
// text/tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) writes, whatever the mix of
// lines, cells, empty cells and lines without tabs, and however the text is
// cut into writes.
func TestTableAsTabwriter(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"", "a", "id", "name", "worker-12", "main.go:42", "sleep(1s)", "a much longer cell"}
	for n := range 2000 {
		var in strings.Builder
		for range r.IntN(12) {
			for c := range r.IntN(6) {
				if c > 0 {
					in.WriteByte('\t')
				}
				in.WriteString(words[r.IntN(len(words))])
			}
			if r.IntN(4) == 0 {
				in.WriteByte('\t')
			}
			in.WriteByte('\n')
		}
		switch r.IntN(4) {
		case 0:
			in.WriteString("tail\twithout newline")
		case 1:
			in.WriteString("tail ending in a tab\t")
		case 2:
			in.WriteString("\t")
		}
		text := in.String()
		var want, got strings.Builder
		tw := tabwriter.NewWriter(&want, 0, 4, 2, ' ', 0)
		tb := newTable(&got)
		for rest := text; rest != ""; {
			k := min(len(rest), 1+r.IntN(20))
			tw.Write([]byte(rest[:k]))
			tb.Write([]byte(rest[:k]))
			rest = rest[k:]
		}
		if err := tw.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := tb.Flush(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("case %d, input %q:\ngot\n%s\nwant\n%s", n, text, got.String(), want.String())
		}
	}
}

// TestTableWide: cells are measured by the columns a terminal gives them,
// so rows with CJK names and emoji line up.
func TestTableWide(t *testing.T) {
	var b strings.Builder
	tb := newTable(&b)
	for _, row := range [][2]string{{"ID", "NAME"}, {"1", "worker"}, {"2", "下载器"}, {"3", "🚀launch"}, {"4", "café"}} {
		tb.Write([]byte(row[0] + "\t" + row[1] + "\tpending\n"))
	}
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	want := "ID  NAME      pending\n" +
		"1   worker    pending\n" +
		"2   下载器    pending\n" +
		"3   🚀launch  pending\n" +
		"4   café      pending\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
