package wire

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/taskdump/taskdump/inspect/wire/internal/gen"
)

// TestGeneratedUpToDate fails when task_gen.go is not what the generator
// writes from wire.go: run go generate ./inspect/wire.
func TestGeneratedUpToDate(t *testing.T) {
	src, err := os.ReadFile("wire.go")
	if err != nil {
		t.Fatal(err)
	}
	want, err := gen.Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("task_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("task_gen.go is stale: run go generate ./inspect/wire")
	}
}

// jsonNames returns the JSON names of typ's fields, in order, as
// encoding/json names them.
func jsonNames(typ reflect.Type) []string {
	var out []string
	for _, f := range reflect.VisibleFields(typ) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

func TestFieldListsMatchStructs(t *testing.T) {
	if got, want := TaskFields, jsonNames(reflect.TypeFor[Task]()); !slices.Equal(got, want) {
		t.Errorf("TaskFields = %q\nwant (Task's fields) %q", got, want)
	}
	if got, want := frameFields, jsonNames(reflect.TypeFor[Frame]()); !slices.Equal(got, want) {
		t.Errorf("frameFields = %q\nwant (Frame's fields) %q", got, want)
	}
}

// fullTask returns a Task with every field set.
func fullTask() Task {
	var tk Task
	populate(&tk)
	if z := zeroFields(reflect.ValueOf(tk), ""); len(z) > 0 {
		panic("fullTask leaves fields zero: " + strings.Join(z, ", "))
	}
	return tk
}

// TestAppendJSONEveryField checks AppendJSON against encoding/json on a
// task with every field set, and each field selection on its own.
func TestAppendJSONEveryField(t *testing.T) {
	tk := fullTask()
	want, err := json.Marshal(&tk)
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.AppendJSON(nil, 0); !bytes.Equal(got, want) {
		t.Errorf("AppendJSON =\n%s\nwant (encoding/json)\n%s", got, want)
	}
	for i, name := range TaskFields {
		fs, ok := ParseFields([]string{name})
		if !ok {
			t.Fatalf("ParseFields(%q) refused", name)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(tk.AppendJSON(nil, fs), &got); err != nil {
			t.Fatalf("field %d %q: %v", i, name, err)
		}
		if _, ok := got[name]; !ok || len(got) > 2 || len(got) == 2 && got["id"] == nil {
			t.Errorf("AppendJSON with fields=%s wrote keys %v, want id and %s", name, slices.Sorted(mapKeys(got)), name)
		}
	}
}

func mapKeys(m map[string]json.RawMessage) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// fastDecode decodes data on the fast path only, failing on a fallback.
func fastDecode(t *testing.T, data []byte) []Task {
	t.Helper()
	d := decoder{data: data, budget: decodeBudget(len(data), tasksFactor)}
	ts, err := d.tasks()
	if err != nil {
		t.Fatalf("DecodeTasks takes the slow path on\n%s", data)
	}
	return ts
}

// TestDecodeTasksEveryFieldFast checks that DecodeTasks reads every field
// of the agent's output on its fast path and gets encoding/json's result,
// with and without keys it does not know.
func TestDecodeTasksEveryFieldFast(t *testing.T) {
	tasks := []Task{fullTask(), {}, sampleTasks()[1]}
	data := appendAll(tasks)
	unknown := []string{
		`"new":"text"`, `"new":"esc\"aped\\ \u00e9 \n"`, "\"new\":\"caf\xc3\xa9\"", `"new":-12.5e+3`, `"new":0`,
		`"new":true`, `"new":false`, `"new":null`, `"new":[]`, `"new":{}`,
		`"new":{"a":[1,{"b":null,"c":[true,"x"]}],"d":{}}`, `"new_stack":[{"function":"f","kind":"user"}]`,
	}
	inputs := [][]byte{data}
	for _, u := range unknown {
		// The unknown key first, in the middle and last in every object.
		in := bytes.ReplaceAll(data, []byte(`}`), []byte("\x00"))
		in = bytes.ReplaceAll(in, []byte(`{"id":`), []byte("{"+u+`,"id":`))
		in = bytes.ReplaceAll(in, []byte(`{"function":`), []byte("{"+u+`,"function":`))
		in = bytes.ReplaceAll(in, []byte(`,"line":`), []byte(","+u+`,"line":`))
		in = bytes.ReplaceAll(in, []byte(`,"steps":`), []byte(","+u+`,"steps":`))
		in = bytes.ReplaceAll(in, []byte("\x00"), []byte(","+u+`}`))
		inputs = append(inputs, in)
	}
	for _, in := range inputs {
		got := fastDecode(t, in)
		var want []Task
		if err := json.Unmarshal(in, &want); err != nil {
			t.Fatalf("encoding/json: %v on\n%s", err, in)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeTasks =\n%+v\nwant (encoding/json)\n%+v\non %s", got, want, in)
		}
		if !reflect.DeepEqual(got[0], tasks[0]) {
			t.Errorf("the full task does not round-trip:\n got %+v\nwant %+v", got[0], tasks[0])
		}
	}
}
