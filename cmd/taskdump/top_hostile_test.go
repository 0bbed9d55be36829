package main

import (
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/taskdump/taskdump/inspect/wire"
)

// hostileText is what a hostile process or recording puts in every text
// field: a title change, a screen clear, a forged line, a C1 CSI, a bidi
// override, a line separator and a byte that is not UTF-8.
const hostileText = "x\x1b]0;pwned\x07\x1b[2J\r\nforged\t\u009b31m\u202e\u2028\xff\x7f"

// poison sets every string reachable from v (a pointer) to hostileText,
// keeping enum-like fields (state, severity, kind) readable by prefixing
// them instead, so the code that switches on them still sees a value.
func poison(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			poison(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				poison(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			poison(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			poison(e)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(v.String() + hostileText)
		}
	}
}

// TestTopHostileText: whatever text the agent or a recording sends (task,
// loop and resource names, states, errors, frames, findings, the command
// line, the reasons a stream or fetch failed) reaches View() escaped, in
// every view and in a replay: no control character but the newlines
// between lines, whatever the source put in.
func TestTopHostileText(t *testing.T) {
	views := [][]string{
		nil, {"enter"}, {"j", "enter"}, {"j", "j", "enter"}, {"G", "enter"},
		{"r"}, {"b"}, {"w"}, {"j", "c"}, {"j", "c", "y"}, {"/", "x", "enter"},
		{"r", "j", "j", "j", "j"}, {"w", "j", "j", "j", "j"}, {"b", "j", "j", "j"},
	}
	for _, w := range []int{60, 80, 200} {
		for _, keys := range views {
			t.Run(strings.Join(append([]string{"w", string(rune('0' + w/20))}, keys...), "-"), func(t *testing.T) {
				th := newTopHarness(t, w, 40)
				res := topResources()
				poison(reflect.ValueOf(&res))
				th.m.act.resources = func() tea.Msg { return topResourcesMsg{res: res} }
				d := topFixture()
				poison(reflect.ValueOf(&d))
				th.send(topDataMsg{d})
				th.keys(keys...)
				if v := th.m.View().Content; !strings.Contains(v, `\x1b`) {
					t.Errorf("the view shows no escaped hostile text:\n%s", v)
				}
				checkScreen(t, th.m.View().Content, w, 40)
				th.send(topResourcesMsg{err: errors.New(hostileText)})
				checkScreen(t, th.m.View().Content, w, 40)
				th.send(topStackMsg{id: th.m.selID, err: errors.New(hostileText)})
				checkScreen(t, th.m.View().Content, w, 40)
				th.send(topCancelMsg{id: 3, name: hostileText, err: errors.New(hostileText)})
				checkScreen(t, th.m.View().Content, w, 40)
				th.send(topGoneMsg{reason: hostileText})
				checkScreen(t, th.m.View().Content, w, 40)
			})
		}
	}
	t.Run("replay", func(t *testing.T) {
		msgs := topRecording()
		poison(reflect.ValueOf(&msgs))
		for _, keys := range views {
			th := newTopHarness(t, 80, 40)
			th.m.act = topActions{tick: th.m.act.tick}
			th.m.replay = newTopReplay(msgs)
			th.m.seek(0)
			for range 3 {
				checkScreen(t, th.m.View().Content, 80, 40)
				th.keys("right")
			}
			th.keys(keys...)
			checkScreen(t, th.m.View().Content, 80, 40)
		}
	})
	_ = wire.Schema
}

// TestTopReplayBounded: a recording of more messages than a replay holds
// (a small gzip bomb of tiny updates would hold gigabytes) is refused
// with the bound named; one at the bound plays.
func TestTopReplayBounded(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "many.jsonl.gz")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	fmt.Fprintf(zw, `{"format":%q,"version":%d,"schema":%d}`+"\n", wire.RecordingFormat, wire.RecordingVersion, wire.Schema)
	fmt.Fprintf(zw, `{"type":"snapshot","seq":1,"loops":[]}`+"\n")
	for i := range 99 {
		fmt.Fprintf(zw, `{"type":"update","seq":%d,"loops":[]}`+"\n", i+2)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		max  int
		want string
	}{
		{100, ""},
		{99, "holds more than 99 messages"},
	} {
		msgs, _, err := loadReplayMax(name, tt.max, maxReplayBytes)
		switch {
		case tt.want == "" && (err != nil || len(msgs) != 100):
			t.Errorf("max %d: %d messages, %v; want 100", tt.max, len(msgs), err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "top: ")):
			t.Errorf("max %d: %d messages, %v; want an error with %q", tt.max, len(msgs), err, tt.want)
		}
	}
}

// TestTopReplayExpanding: a recording whose lines would decode to far
// more memory than they hold (a few kilobytes of gzip of empty tasks: it
// took gigabytes) is refused with the bound named, per message and over
// the whole replay.
func TestTopReplayExpanding(t *testing.T) {
	write := func(lines ...string) string {
		name := filepath.Join(t.TempDir(), "r.jsonl.gz")
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		zw := gzip.NewWriter(f)
		fmt.Fprintf(zw, `{"format":%q,"version":%d,"schema":%d}`+"\n", wire.RecordingFormat, wire.RecordingVersion, wire.Schema)
		for _, l := range lines {
			fmt.Fprintln(zw, l)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return name
	}
	empty := strings.TrimSuffix(strings.Repeat("{},", 2_000_000), ",")
	bomb := write(`{"type":"snapshot","seq":1,"loops":[{"id":1,"new":[` + empty + `]}]}`)
	if fi, err := os.Stat(bomb); err != nil || fi.Size() > 64<<10 {
		t.Fatalf("the bomb is %v bytes (%v), want a few kilobytes", fi.Size(), err)
	}
	_, _, err := loadReplay(bomb)
	if err == nil || !errors.Is(err, wire.ErrTooLarge) || !strings.HasPrefix(err.Error(), "top: ") {
		t.Errorf("replay of an expanding line: %v, want an error wrapping wire.ErrTooLarge", err)
	}

	// Many small messages, each within its own bound, over the replay's.
	few := `{"type":"update","seq":2,"loops":[{"id":1,"new":[` + strings.TrimSuffix(strings.Repeat("{},", 50), ",") + `]}]}`
	many := write(`{"type":"snapshot","seq":1,"loops":[]}`, few, few, few, few)
	if _, _, err := loadReplayMax(many, maxReplayMessages, 3*50*536); err == nil || !strings.Contains(err.Error(), "once decoded") {
		t.Errorf("replay over its byte bound: %v, want an error saying so", err)
	}
	if msgs, _, err := loadReplayMax(many, maxReplayMessages, maxReplayBytes); err != nil || len(msgs) != 5 {
		t.Errorf("the same under the bound: %d messages, %v; want 5, nil", len(msgs), err)
	}
}
