package wire

import (
	"encoding/json"
	"reflect"
	"testing"
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
	for _, in := range tests {
		got, gotErr := DecodeTasks([]byte(in))
		var want []Task
		wantErr := json.Unmarshal([]byte(in), &want)
		if (gotErr != nil) != (wantErr != nil) {
			t.Errorf("DecodeTasks(%.60q) error = %v, encoding/json says %v", in, gotErr, wantErr)
			continue
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeTasks(%.60q) =\n%+v\nwant\n%+v", in, got, want)
		}
	}
}

func FuzzDecodeTasks(f *testing.F) {
	f.Add(string(appendAll(sampleTasks())))
	f.Add(`[{"id":1,"awaits":[1,2],"stack":[{"function":"f","file":"g","line":3}]}]`)
	f.Add("[]")
	f.Fuzz(func(t *testing.T, in string) {
		got, gotErr := DecodeTasks([]byte(in))
		var want []Task
		wantErr := json.Unmarshal([]byte(in), &want)
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("DecodeTasks(%q) error = %v, encoding/json says %v", in, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeTasks(%q) = %+v, want %+v", in, got, want)
		}
	})
}

func BenchmarkDecodeTasks(b *testing.B) {
	base := sampleTasks()[1]
	base.Awaiting = "sleep(1h0m0s)"
	base.SuspendedAt = Frame{"main.sleepHour", "/home/you/src/app/main.go", 60}
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
