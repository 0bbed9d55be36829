package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func appendAll(ts []Task) []byte {
	b := []byte("[")
	for i := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		b = ts[i].AppendJSON(b, 0)
	}
	return append(b, "\n]\n"...)
}

func TestDecodeTasksMatchesEncodingJSON(t *testing.T) {
	all := appendAll(sampleTasks())
	tests := []string{
		"[]", " [ ] ", "[{}]", string(all),
		`[{"id":1,"name":"a","awaits":[],"stack":[]}]`,
		`[{"id":1,"unknown":2}]`,
		`[{"id":1,"name":"\u00e9"}]`,
		`[{"id":1,"running":false}]`,
		`[{"id":-1}]`,
		`[{"id":1}`,
		`[{"id":1}] x`,
		`{"id":1}`,
		`null`,
		`[{"id":1,"created":"yesterday"}]`,
	}
	tests = append(tests, decodeSeeds...)
	for _, in := range tests {
		if err := sameAsEncodingJSON([]byte(in)); err != nil {
			t.Error(err)
		}
	}
}

// decodeSeeds are inputs where a fast decoder easily parts from
// encoding/json: repeated keys, unknown and differently cased keys, nulls,
// escapes, odd numbers and times. They seed FuzzDecodeTasks too.
var decodeSeeds = []string{
	// A repeated key decodes into the earlier value: frames merge, and a
	// repeated array decodes into the existing elements.
	`[{"stack":[{"function":"f","line":3}],"stack":[{"file":"g"}]}]`,
	`[{"stack":[{"function":"f","line":3},{"file":"x"}],"stack":[{"file":"g"}]}]`,
	`[{"stack":[{"function":"f"},{"file":"x"},{"line":9}],"stack":[{"line":1}],"stack":[{},{},{}]}]`,
	`[{"stack":[{"function":"f"},{"file":"x"}],"stack":[],"stack":[{},{}]}]`,
	`[{"stack":[{"function":"f","line":3}],"stack":null}]`,
	`[{"stack":[{"function":"f","line":3}],"stack":[null]}]`,
	`[{"spawned_at":{"function":"f"},"spawned_at":{"line":2}}]`,
	`[{"spawned_at":{"function":"f","function":"g"}}]`,
	`[{"spawned_at":{"function":"f"},"spawned_at":null}]`,
	`[{"awaits":[1,2],"awaits":[3]}]`,
	`[{"awaits":[1,2],"awaits":[]}]`,
	`[{"id":1,"id":2,"name":"a","name":"b"}]`,
	`[{"created":"2026-01-02T03:04:05Z","created":"2026-01-02T03:04:06.5+01:00"}]`,
	// Unknown and differently cased keys.
	`[{"ID":7,"Name":"x","STACK":[{"Function":"f"}]}]`,
	`[{"id":1,"nosuch":{"a":[1,{"b":null}]},"stack":[{"function":"f","extra":true}]}]`,
	// Unknown keys are skipped on the fast path, which must check their
	// values' syntax as encoding/json does.
	`[{"x":"a\"b\\c\/\b\f\n\r\t\u00e9","x":-0.5e-3,"x":1E+2,"x":[[],{}]}]`,
	`[{"x":"\x"}]`, `[{"x":"\u00g0"}]`, `[{"x":"\u00"}]`, "[{\"x\":\"a\tb\"}]", "[{\"x\":\"\xff\"}]",
	`[{"x":01}]`, `[{"x":1.}]`, `[{"x":.5}]`, `[{"x":1e}]`, `[{"x":-}]`, `[{"x":+1}]`, `[{"x":1.5.5}]`,
	`[{"x":tru}]`, `[{"x":nul}]`, `[{"x":nulll}]`, `[{"x":{"a"}}]`, `[{"x":{"a":1,}}]`, `[{"x":[1 2]}]`,
	`[{"x":{"\u0061":1}}]`, `[{"x":"unterminated}]`, `[{"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}]`,
	`[{"Stack":[{"Line":1}],"idX":2}]`, `[{"stack":[{"LINE":1,"kind":"user"}]}]`,
	// Nulls.
	`[null]`, `[{"id":null,"name":null,"running":null,"created":null,"awaits":null}]`,
	`[{"stack":[{"function":null,"line":null}]}]`,
	// Escapes and non-ASCII.
	`[{"name":"a\"b\\c\n\u0000\ud83d\ude00"}]`, `[{"name":"\ud800"}]`,
	"[{\"name\":\"caf\xc3\xa9\"}]", "[{\"name\":\"\xff\"}]", "[{\"name\":\"a\tb\"}]",
	`[{"na\u006de":"x"}]`,
	// Numbers.
	`[{"id":0,"line":1}]`, `[{"id":1e2}]`, `[{"id":1.0}]`, `[{"busy_ns":-0}]`, `[{"id":-0}]`,
	`[{"id":18446744073709551615}]`, `[{"id":18446744073709551616}]`,
	`[{"busy_ns":-9223372036854775808}]`, `[{"busy_ns":9223372036854775808}]`,
	`[{"stack":[{"line":-1}]}]`, `[{"id":01}]`,
	// Times: encoding/json is stricter than time.Parse.
	`[{"created":"2026-01-02T3:04:05Z"}]`, `[{"created":"2026-01-02T03:04:05,5Z"}]`,
	`[{"created":"2026-01-02T03:04:05+24:00"}]`, `[{"created":"2026-01-02t03:04:05z"}]`,
	`[{"created":"2026-01-02T03:04:05.123456789123Z"}]`,
	// Types and syntax.
	`[{"running":"true"}]`, `[{"id":"1"}]`, `[{"stack":{}}]`, `[{"awaits":[1,]}]`,
	"[\n\t{ \"id\" : 1 , \"awaits\" : [ 1 , 2 ] }\r\n]", `[{"id":1},]`, `[{"id":1}{"id":2}]`,
}

// sameAsEncodingJSON reports how DecodeTasks and json.Unmarshal differ on
// in, if they do.
func sameAsEncodingJSON(in []byte) error {
	got, gotErr := DecodeTasks(in)
	var want []Task
	wantErr := json.Unmarshal(in, &want)
	if errors.Is(gotErr, ErrTooLarge) && wantErr == nil && footprint(reflect.ValueOf(want)) > decodeBudget(len(in), tasksFactor)/2 {
		return nil // refused for what it expands to (TestDecodeBounded)
	}
	if (gotErr != nil) != (wantErr != nil) {
		return fmt.Errorf("DecodeTasks(%q) error = %s, encoding/json says %s", in, fmt.Sprint(gotErr), fmt.Sprint(wantErr))
	}
	if gotErr == nil && !reflect.DeepEqual(got, want) {
		return fmt.Errorf("DecodeTasks(%q) =\n%+v\nwant (encoding/json)\n%+v", in, got, want)
	}
	return nil
}

// FuzzDecodeTasks checks DecodeTasks against encoding/json: the same error
// or not, and the same tasks. Seeds: the agent's own output, decodeSeeds and
// testdata/fuzz/FuzzDecodeTasks.
func FuzzDecodeTasks(f *testing.F) {
	f.Add(string(appendAll(sampleTasks())))
	f.Add(`[{"id":1,"awaits":[1,2],"stack":[{"function":"f","file":"g","line":3}]}]`)
	f.Add("[]")
	for _, s := range decodeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if err := sameAsEncodingJSON([]byte(in)); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkDecodeTasks(b *testing.B) {
	base := sampleTasks()[1]
	base.Awaiting = "sleep(1h0m0s)"
	base.SuspendedAt = Frame{"main.sleepHour", "/home/you/src/app/main.go", 60, "user"}
	ts := make([]Task, 10_000)
	for i := range ts {
		ts[i] = base
		ts[i].ID = uint64(i + 1)
	}
	data := appendAll(ts)
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			DecodeTasks(data)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var out []Task
			json.Unmarshal(data, &out)
		}
	})
}

// BenchmarkDecodeTasks20k decodes 20,000 tasks as the agent writes them
// ("known"), and the same tasks each carrying a key this version does not
// know, as a newer agent might send ("unknown-key"): both take the fast
// path.
func BenchmarkDecodeTasks20k(b *testing.B) {
	base := sampleTasks()[1]
	base.Awaiting = "sleep(1h0m0s)"
	base.SuspendedAt = Frame{"main.sleepHour", "/home/you/src/app/main.go", 60, "user"}
	ts := make([]Task, 20_000)
	for i := range ts {
		ts[i] = base
		ts[i].ID = uint64(i + 1)
		ts[i].Name = "worker-" + strconv.Itoa(i+1) // names differ; the rest repeats, as in a real process
	}
	known := appendAll(ts)
	unknown := bytes.ReplaceAll(known, []byte(`{"id":`), []byte(`{"future_field":{"kind":"x","n":[1,2.5e3,true,null]},"id":`))
	for _, bc := range []struct {
		name string
		data []byte
	}{{"known", known}, {"unknown-key", unknown}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			for b.Loop() {
				if ts, err := DecodeTasks(bc.data); err != nil || len(ts) != 20_000 {
					b.Fatalf("DecodeTasks: %d tasks, %v", len(ts), err)
				}
			}
		})
	}
}

// TestDecodeSharesTexts: tasks decoded together share the text of a field
// they have alike (one string for 100,000 "pending"), except where it is
// long; the decoded values are those of encoding/json either way.
func TestDecodeSharesTexts(t *testing.T) {
	long := strings.Repeat("f", maxText+1)
	ts := []Task{
		{ID: 1, Name: "a", State: "pending", Function: long, SuspendedAt: Frame{Function: "main.f", File: "/src/main.go", Line: 1}},
		{ID: 2, Name: "b", State: "pending", Function: long, SuspendedAt: Frame{Function: "main.f", File: "/src/main.go", Line: 2}},
	}
	got, err := DecodeTasks(appendAll(ts))
	if err != nil || !reflect.DeepEqual(got, ts) {
		t.Fatalf("DecodeTasks = %+v, %v; want %+v", got, err, ts)
	}
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	tests := []struct {
		field      string
		a, b       string
		wantShared bool
	}{
		{"state", got[0].State, got[1].State, true},
		{"frame function", got[0].SuspendedAt.Function, got[1].SuspendedAt.Function, true},
		{"frame file", got[0].SuspendedAt.File, got[1].SuspendedAt.File, true},
		{"a long function", got[0].Function, got[1].Function, false},
	}
	for _, tt := range tests {
		if got := same(tt.a, tt.b); got != tt.wantShared {
			t.Errorf("%s: shared %v, want %v", tt.field, got, tt.wantShared)
		}
	}
}
