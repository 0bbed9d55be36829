package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// repeat is "[" + n copies of elem joined by commas + "]".
func repeat(elem string, n int) string {
	return "[" + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + "]"
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

// TestDecodeBounded: input that would decode to far more memory than its
// budget (decodeBudget: four times its size for a watch message, 64 for a
// task list, whose records may be cut to one field) is refused on every
// path (the fast decoder, encoding/json behind it, the members of a watch
// message encoding/json decodes), before the memory is taken: what a
// decode allocates stays within a few times its budget (it was a thousand
// times its input: five megabytes of "{}," took five gigabytes).
func TestDecodeBounded(t *testing.T) {
	const n = 200_000
	msg := func(loop string) string {
		return `{"type":"update","seq":2,"loops":[{"id":1,"name":"l"` + loop + `}]}`
	}
	deep := strings.Repeat("[", 150) + strings.Repeat("]", 150)
	for _, tt := range []struct {
		name  string
		tasks bool // DecodeTasks, else DecodeWatchMessage
		in    string
	}{
		{"tasks of empty objects", true, repeat(`{}`, n)},
		{"tasks on the slow path (a key cased otherwise)", true, "[{\"ID\":1}," + repeat(`{}`, n)[1:]},
		{"tasks after a value nested deeper than the fast path reads", true, `[{"x":` + deep + `},` + repeat(`{}`, n)[1:]},
		{"new tasks", false, msg(`,"new":` + repeat(`{}`, n))},
		{"loops", false, `{"type":"update","loops":` + repeat(`{}`, n) + `}`},
		{"changed tasks with stacks", false, msg(`,"changed":[{"id":1,"stack":` + repeat(`{}`, n) + `}]`)},
		{"ended tasks (encoding/json)", false, msg(`,"ended":` + repeat(`{}`, n))},
		{"blocking events (encoding/json)", false, msg(`,"blocking_events":` + repeat(`{}`, n))},
		{"findings' tasks (encoding/json)", false, `{"type":"update","loops":[],"findings":[{"kind":"x","tasks":` + repeat(`{}`, n) + `}]}`},
		{"an escaped key", false, msg(`,"n\u0065w":` + repeat(`{}`, n))},
		{"a key encoding/json folds (ſ for s)", false, msg(`,"changed":[{"ſtack":` + repeat(`{}`, n) + `}]`)},
		{"the whole message on the slow path", false, `{"TYPE":"update","loops":[{"id":1,"new":` + repeat(`{}`, n) + `}]}`},
		{"a value nested deeper than the fast path reads", false, `{"x":` + deep + `,"loops":[{"id":1,"new":` + repeat(`{}`, n) + `}]}`},
		{"names of invalid UTF-8 (three bytes each decoded)", false, msg(`,"new":` + repeat(`{"name":"`+strings.Repeat("\xff", 64)+`"}`, n/64))},
	} {
		factor := int64(watchFactor)
		if tt.tasks {
			factor = tasksFactor
		}
		var err error
		in := []byte(tt.in)
		got := allocated(func() {
			if tt.tasks {
				_, err = DecodeTasks(in)
			} else {
				_, err = DecodeWatchMessage(in)
			}
		})
		if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "wire: ") {
			t.Errorf("%s: error %v, want one wrapping ErrTooLarge", tt.name, err)
		}
		if max := 4 * uint64(decodeBudget(len(in), factor)); got > max {
			t.Errorf("%s: %d bytes of input allocated %d, want at most %d", tt.name, len(in), got, max)
		}
	}
}

// TestDecodeShortRecords: a task list of records cut to a few fields, as
// a client asks for (Fields), is not taken for an attack.
func TestDecodeShortRecords(t *testing.T) {
	for _, rec := range []string{`{"id":7}`, `{"id":100,"name":"worker-0","state":"pending","loop":"main","loop_id":1,"created":"2026-11-27T19:00:00Z"}`} {
		ts, err := DecodeTasks([]byte(repeat(rec, 100_000)))
		if err != nil || len(ts) != 100_000 {
			t.Errorf("100,000 of %s: %d tasks, %v; want them all", rec, len(ts), err)
		}
	}
}

// TestDecodeLargeLegit: what the agent writes for a big process (tasks
// with stacks and names in any script, many short ended tasks, same_stack
// lists) decodes, on the fast path for the tasks, to what encoding/json
// gives.
func TestDecodeLargeLegit(t *testing.T) {
	const n = 20_000
	base := sampleTasks()[1]
	base.Stack = []Frame{{"main.work", "/src/app/main.go", 12, "user"}, {"main.main", "/src/app/main.go", 40, "user"}}
	ts := make([]Task, n)
	m := &WatchMessage{Type: WatchSnapshot, Seq: 1, Time: time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)}
	wl := WatchLoop{Loop: Loop{ID: 1, Name: "main"}}
	for i := range ts {
		ts[i] = base
		ts[i].ID = uint64(i + 1)
		ts[i].Name = fmt.Sprintf("wörker-%d \"q\"\n", i)
		wl.Ended = append(wl.Ended, EndedTask{ID: uint64(n + i), State: "cancelled"})
		wl.SameStack = append(wl.SameStack, uint64(i+1))
	}
	wl.New = ts
	m.Loops = []WatchLoop{wl}
	data, err := m.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeWatchMessage(data)
	if err != nil {
		t.Fatalf("DecodeWatchMessage: %v", err)
	}
	want, err := slowDecode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeWatchMessage differs from encoding/json")
	}
	list := appendAll(ts)
	fast := fastDecode(t, list) // names with escapes and non-ASCII text stay on the fast path
	var slow []Task
	if err := json.Unmarshal(list, &slow); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Errorf("DecodeTasks differs from encoding/json")
	}
}

// TestStrFast: string values with escapes and non-ASCII text, valid or
// not, are read on the fast path as encoding/json reads them.
func TestStrFast(t *testing.T) {
	for _, in := range []string{
		`"plain"`, `"caf\u00e9"`, "\"caf\xc3\xa9\"", `"tab\tquote\"back\\slash\/"`,
		"\"bad \xff utf-8\"", `"lone \ud800 surrogate"`, `"pair \ud83d\ude00"`,
	} {
		d := decoder{data: []byte(in), budget: decodeBudget(len(in), watchFactor)}
		got, err := d.str()
		var want string
		if werr := json.Unmarshal([]byte(in), &want); werr != nil {
			t.Fatal(werr)
		}
		if err != nil || got != want || d.i != len(in) {
			t.Errorf("str(%s) = %q, %v (at %d); want %q", in, got, err, d.i, want)
		}
	}
}

// TestFieldCosts: the costs come from the types, so a field of any of
// them is charged; a name used by several fields costs the most of them.
func TestFieldCosts(t *testing.T) {
	for _, tt := range []struct {
		key  string
		want int64
	}{
		{"new", int64(reflect.TypeFor[Task]().Size())},
		{"stack", int64(reflect.TypeFor[Frame]().Size())},
		{"ended", int64(reflect.TypeFor[EndedTask]().Size())},
		{"loops", int64(reflect.TypeFor[WatchLoop]().Size())},
		{"process", int64(reflect.TypeFor[Process]().Size())},
		{"same_stack", 8},
		{"id", 0},
	} {
		if got := costs[tt.key]; got != tt.want {
			t.Errorf("costs[%q] = %d, want %d", tt.key, got, tt.want)
		}
	}
	for _, tt := range []struct {
		key  string
		want int64
	}{
		{"ſtack", int64(reflect.TypeFor[Frame]().Size())}, // encoding/json folds ſ into s
		{"NEW", int64(reflect.TypeFor[Task]().Size())},
		{"\x82", 0},
		{"née", 0},
	} {
		if got := keyCost(tt.key); got != tt.want {
			t.Errorf("keyCost(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

// TestFootprint: a message's footprint counts its slices' elements and
// pointed-to structs, nested.
func TestFootprint(t *testing.T) {
	size := func(v any) int64 { return int64(reflect.TypeOf(v).Size()) }
	m := &WatchMessage{Process: &Process{}, Loops: []WatchLoop{{
		New:   []Task{{Stack: make([]Frame, 3), Awaits: []uint64{1, 2}}},
		Ended: make([]EndedTask, 2),
	}}}
	want := size(Process{}) + size(WatchLoop{}) + size(Task{}) + 3*size(Frame{}) + 2*8 + 2*size(EndedTask{})
	if got := m.Footprint(); got != want {
		t.Errorf("Footprint = %d, want %d", got, want)
	}
}

// TestWeighChargesEveryString: weighing for encoding/json, which copies
// every string, charges each one, even when the same text repeats (the
// fast decoder shares such texts; encoding/json does not).
func TestWeighChargesEveryString(t *testing.T) {
	name := strings.Repeat("x", maxText) // short enough to be shared
	data := "[" + strings.Repeat(`{"name":"`+name+`"},`, 99) + `{"name":"` + name + `"}]`
	elem := int64(unsafe.Sizeof(Task{}))
	used, err := weigh([]byte(data), elem, 1<<30)
	if want := 100 * (elem + maxText); err != nil || used < want {
		t.Errorf("weigh = %d, %v; want at least %d: 100 records and their strings", used, err, want)
	}
}
