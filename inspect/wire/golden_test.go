package wire

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/wire.golden.json")

// golden is the content of testdata/wire.golden.json: one fully populated
// value of each wire type a reader must follow.
type golden struct {
	Task       Task       `json:"task"`
	BlockEvent BlockEvent `json:"block_event"`
	Process    Process    `json:"process"`
	Snapshot   Snapshot   `json:"snapshot"`
	Diagnosis  Diagnosis  `json:"diagnosis"`
	Resource   Resource   `json:"resource"`
}

// TestGolden pins the wire JSON: a change to a name, a type or an omitted
// field shows as a diff of testdata/wire.golden.json (rewrite it with
// -update, and bump Schema if the change is not an addition). The task
// also goes through the fast paths: AppendJSON writes it as the golden
// file has it and DecodeTasks reads it back.
func TestGolden(t *testing.T) {
	var g golden
	populate(&g)
	g.Process.Schema = Schema
	g.Snapshot.Process.Schema = Schema
	got, err := json.MarshalIndent(&g, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "wire.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with go test -run TestGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("wire JSON differs from %s (rerun with -update if the change is meant):\n%s", path, got)
	}

	var file golden
	if err := json.Unmarshal(want, &file); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(file, g) {
		t.Errorf("%s decodes to\n%+v\nwant\n%+v", path, file, g)
	}
	var compact bytes.Buffer
	raw := struct {
		Task json.RawMessage `json:"task"`
	}{}
	if err := json.Unmarshal(want, &raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Compact(&compact, raw.Task); err != nil {
		t.Fatal(err)
	}
	if app := g.Task.AppendJSON(nil, 0); !bytes.Equal(app, compact.Bytes()) {
		t.Errorf("AppendJSON =\n%s\nwant (golden)\n%s", app, compact.Bytes())
	}
	ts := fastDecode(t, append(append([]byte("["), compact.Bytes()...), ']'))
	if !reflect.DeepEqual(ts[0], g.Task) {
		t.Errorf("DecodeTasks(golden task) =\n%+v\nwant\n%+v", ts[0], g.Task)
	}
}

func TestCheckSchema(t *testing.T) {
	for _, tt := range []struct {
		agent int
		ok    bool
	}{{0, true}, {1, true}, {Schema, true}, {Schema + 1, false}} {
		err := CheckSchema(tt.agent)
		if (err == nil) != tt.ok {
			t.Errorf("CheckSchema(%d) = %v, want ok %v", tt.agent, err, tt.ok)
		}
	}
}
