package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleTasks() []Task {
	t0 := time.Date(2026, 11, 25, 13, 2, 1, 123456789, time.UTC)
	return []Task{
		{},
		{ID: 1, Name: "main", State: "pending", Loop: "service", LoopID: 1, Function: "main.main",
			SpawnedAt: Frame{"main.main", "/src/main.go", 10, "user"}, Created: t0},
		{ID: 7, ParentID: 1, Name: "w<\"\\>&\n\t\x01\b\f\u2028\u2029é\xff", State: "cancelling", Loop: "l", LoopID: 2,
			Running: true, Function: "main.(*T).run", SpawnedAt: Frame{"f", "/a b/c.go", 3, "user"},
			SuspendedAt: Frame{"g", "/x.go", 4, "user"}, Awaiting: "gather(2 tasks)", Awaits: []uint64{8, 9},
			Until: t0.Add(time.Hour), Created: t0, Started: t0.Add(time.Millisecond), Suspended: t0.Add(time.Second),
			Steps: 12, BusyNS: 1234, SchedWaitNS: 56, IdleNS: 789, CancelMsg: "why", CancelBy: "taskdump (pid 1, uid 0)",
			Stack: []Frame{{"a", "/a.go", 1, "task-runtime"}, {"b", "/b.go", 2, "user"}}, Finished: t0.Add(2 * time.Second), Error: "boom",
		},
		{ID: 3, Created: t0.In(time.FixedZone("X", 3600))},
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for i, tk := range sampleTasks() {
		want, err := json.Marshal(&tk)
		if err != nil {
			t.Fatal(err)
		}
		got := tk.AppendJSON(nil, 0)
		if !bytes.Equal(got, want) {
			t.Errorf("task %d:\n got %s\nwant %s", i, got, want)
		}
		var back, wantBack Task
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		json.Unmarshal(want, &wantBack)
		if !reflect.DeepEqual(back, wantBack) {
			t.Errorf("task %d decodes to %+v, want %+v", i, back, wantBack)
		}
	}
}

func TestAppendJSONFields(t *testing.T) {
	tk := sampleTasks()[2]
	fs, ok := ParseFields([]string{"name", "state", "awaits", "created"})
	if !ok {
		t.Fatal("ParseFields refused known fields")
	}
	var got map[string]any
	if err := json.Unmarshal(tk.AppendJSON(nil, fs), &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	want := map[string]bool{"id": true, "name": true, "state": true, "awaits": true, "created": true}
	if len(got) != len(want) {
		t.Errorf("fields = %v, want %v", keys, want)
	}
	for k := range got {
		if !want[k] {
			t.Errorf("unexpected field %q", k)
		}
	}
	if _, ok := ParseFields([]string{"name", "bogus"}); ok {
		t.Error("ParseFields accepted an unknown field")
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "<&>", "\x00\x1f", "\xff\xfe", "\u2028", "é", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	tk := sampleTasks()[2]
	tk.Stack = nil
	buf := make([]byte, 0, 1024)
	b.Run("append", func(b *testing.B) {
		for b.Loop() {
			buf = tk.AppendJSON(buf[:0], 0)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(&tk)
		}
	})
}

// TestSuspendedAtAlways: a task that is not suspended (not started,
// running, ended) still has suspended_at, as DESIGN lists it for every
// record: the zero frame.
func TestSuspendedAtAlways(t *testing.T) {
	for _, tk := range []Task{{ID: 1, State: "pending"}, {ID: 2, State: "running", Running: true}, {ID: 3, State: "finished"}} {
		got := string(tk.AppendJSON(nil, 0))
		if want := `"suspended_at":{"function":"","file":"","line":0}`; !strings.Contains(got, want) {
			t.Errorf("task %d: %s lacks %s", tk.ID, got, want)
		}
	}
}
