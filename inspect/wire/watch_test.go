package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fullMessage is a message with every field set (populate), two loops,
// tasks in New and Changed, and a command line that holds what the
// encoder looks for.
func fullMessage() *WatchMessage {
	var m WatchMessage
	populate(&m)
	m.Process.Command = []string{`"loops":null`, "x"}
	wl := m.Loops[0]
	wl.New = append(wl.New, wl.New[0])
	wl.New[1].ID++
	m.Loops = append(m.Loops, WatchLoop{Loop: Loop{ID: 9, Name: "closed"}, Closed: true})
	m.Loops[0] = wl
	return &m
}

// TestWatchMessageJSON: AppendJSON writes what json.Marshal writes (the
// same keys and values), and both decode, with WatchLoop's fast decoder,
// to the message encoded; the fast decoder agrees with encoding/json.
func TestWatchMessageJSON(t *testing.T) {
	for _, m := range []*WatchMessage{fullMessage(), {Type: WatchUpdate, Seq: 2, Loops: []WatchLoop{}}, {Type: WatchSnapshot, Findings: []Finding{}, Loops: []WatchLoop{{}}},
		// A process with no loop yet: its record's "loops":null comes first.
		{Type: WatchSnapshot, Process: &Process{PID: 7}, Loops: []WatchLoop{{Loop: Loop{ID: 1, Name: "main"}, New: []Task{{ID: 3, Name: "t"}}}}},
	} {
		fast, err := m.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var a, b map[string]any
		if err := json.Unmarshal(fast, &a); err != nil {
			t.Fatalf("AppendJSON wrote bad JSON: %v\n%s", err, fast)
		}
		json.Unmarshal(slow, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("AppendJSON =\n%s\njson.Marshal =\n%s", fast, slow)
		}
		var got WatchMessage
		if err := json.Unmarshal(fast, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&got, m) {
			t.Errorf("decoded\n%+v\nwant\n%+v", got, *m)
		}
		for i := range m.Loops {
			lb, _ := json.Marshal(&m.Loops[i])
			var fastL WatchLoop
			var slowL plainLoop
			if err := json.Unmarshal(lb, &fastL); err != nil {
				t.Fatal(err)
			}
			json.Unmarshal(lb, &slowL)
			if !reflect.DeepEqual(fastL, WatchLoop(slowL)) {
				t.Errorf("loop %d: fast decoder %+v, encoding/json %+v", i, fastL, slowL)
			}
		}
	}
}

// TestWatchLoopDecodeErrors: bad task lists are errors, as with
// encoding/json.
func TestWatchLoopDecodeErrors(t *testing.T) {
	for _, in := range []string{`{"new":[{"id":"x"}]}`, `{"changed":{}}`, `{"new":[1]}`, `{"id":-1}`} {
		var wl WatchLoop
		if err := json.Unmarshal([]byte(in), &wl); err == nil {
			t.Errorf("decoding %s: no error", in)
		}
	}
	var wl WatchLoop
	if err := json.Unmarshal([]byte(`{"new":null,"changed":[],"zzz":[1,{}]}`), &wl); err != nil || wl.New != nil || wl.Changed == nil {
		t.Errorf("null and empty lists, unknown key: %+v, %v", wl, err)
	}
}

// TestWatchStateApply: a snapshot replaces what the state knew; updates
// add, replace and delete tasks, close loops, keep the findings until new
// ones come, and sum the dropped counts.
func TestWatchStateApply(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	task := func(id uint64, state string) Task {
		t := Task{ID: id, State: state}
		if state == "pending" {
			t.Stack = []Frame{{Function: "f", Line: int(id)}}
		}
		return t
	}
	f := []Finding{{Kind: KindStuck}}
	msgs := []*WatchMessage{
		{Type: WatchSnapshot, Seq: 1, Time: t0, Process: &Process{PID: 7}, Findings: f,
			Loops: []WatchLoop{{Loop: Loop{ID: 1}, New: []Task{task(1, "pending"), task(2, "pending")}}, {Loop: Loop{ID: 2}, New: []Task{task(3, "pending")}}}},
		{Type: WatchUpdate, Seq: 2, Dropped: 3, Loops: []WatchLoop{
			{Loop: Loop{ID: 1, Tasks: 2, Stats: LoopStats{Ready: 4}}, New: []Task{task(4, "pending")}, Changed: []Task{task(1, "cancelling")}, SameStack: []uint64{1}, Ended: []EndedTask{{ID: 2, State: "finished"}}},
			{Loop: Loop{ID: 2}, Closed: true}}},
		{Type: WatchUpdate, Seq: 3, Dropped: 1, Findings: []Finding{}, Loops: []WatchLoop{{Loop: Loop{ID: 1}, Ended: []EndedTask{{ID: 99}}}}},
	}
	tests := []struct {
		upto      int
		loops     []uint64
		tasks     []uint64 // of loop 1
		state1    string
		findings  int
		dropped   uint64
		seq       uint64
		processID int
	}{
		{upto: 1, loops: []uint64{1, 2}, tasks: []uint64{1, 2}, state1: "pending", findings: 1, seq: 1, processID: 7},
		{upto: 2, loops: []uint64{1}, tasks: []uint64{1, 4}, state1: "cancelling", findings: 1, dropped: 3, seq: 2, processID: 7},
		{upto: 3, loops: []uint64{1}, tasks: []uint64{1, 4}, state1: "cancelling", findings: 0, dropped: 4, seq: 3, processID: 7},
	}
	for _, tt := range tests {
		var s WatchState
		for _, m := range msgs[:tt.upto] {
			s.Apply(m)
		}
		var loops, tasks []uint64
		for id := range s.Loops {
			loops = append(loops, id)
		}
		for id := range s.Loops[1].Tasks {
			tasks = append(tasks, id)
		}
		slices.Sort(loops)
		slices.Sort(tasks)
		if !slices.Equal(loops, tt.loops) || !slices.Equal(tasks, tt.tasks) || s.Loops[1].Tasks[1].State != tt.state1 ||
			len(s.Findings) != tt.findings || s.Dropped != tt.dropped || s.Seq != tt.seq || s.Process.PID != tt.processID ||
			len(s.Loops[1].Tasks[1].Stack) != 1 {
			t.Errorf("after %d messages: loops %v tasks %v state %q findings %d dropped %d seq %d pid %d; want %+v",
				tt.upto, loops, tasks, s.Loops[1].Tasks[1].State, len(s.Findings), s.Dropped, s.Seq, s.Process.PID, tt)
		}
	}
	// The records are never changed: a snapshot's are the message's own
	// (held once), an update's are copies (one task that changes no more
	// does not keep its whole message), and a record kept from before an
	// update still says what it said.
	var s WatchState
	s.Apply(msgs[0])
	held := s.Loops[1].Tasks[1]
	if held != &msgs[0].Loops[0].New[0] {
		t.Error("a snapshot's task is copied, not held where the message has it")
	}
	s.Apply(msgs[1])
	if held.State != "pending" || s.Loops[1].Tasks[1].State != "cancelling" {
		t.Errorf("a change to task 1: the record held before says %q, the state %q; want pending, cancelling", held.State, s.Loops[1].Tasks[1].State)
	}
	if s.Loops[1].Tasks[4] == &msgs[1].Loops[0].New[0] || s.Loops[1].Tasks[1] == &msgs[1].Loops[0].Changed[0] {
		t.Error("an update's task is held where the message has it, not copied")
	}
	// A second snapshot forgets everything.
	s = WatchState{}
	s.Apply(msgs[0])
	s.Apply(&WatchMessage{Type: WatchSnapshot, Seq: 4, Loops: []WatchLoop{{Loop: Loop{ID: 5}}}})
	if len(s.Loops) != 1 || s.Loops[5] == nil {
		t.Errorf("after a second snapshot: loops %v, want only 5", s.Loops)
	}
	if !strings.Contains(PathWatch, "/v1/") || !strings.Contains(PathFlight, "/v1/") {
		t.Errorf("paths %s %s not versioned", PathWatch, PathFlight)
	}
}

// slowMessage is WatchMessage decoded by encoding/json alone.
type slowMessage struct {
	Type     string      `json:"type"`
	Seq      uint64      `json:"seq"`
	Time     time.Time   `json:"time"`
	Dropped  uint64      `json:"dropped,omitempty"`
	Process  *Process    `json:"process,omitempty"`
	Loops    []plainLoop `json:"loops"`
	Findings []Finding   `json:"findings,omitzero"`
}

func slowDecode(data []byte) (*WatchMessage, error) {
	var s slowMessage
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	m := &WatchMessage{Type: s.Type, Seq: s.Seq, Time: s.Time, Dropped: s.Dropped, Process: s.Process, Findings: s.Findings}
	if s.Loops != nil {
		m.Loops = make([]WatchLoop, len(s.Loops))
		for i := range s.Loops {
			m.Loops[i] = WatchLoop(s.Loops[i])
		}
	}
	return m, nil
}

// TestDecodeWatchMessage: the fast decoder gives what encoding/json gives,
// on the agent's output and on inputs that leave its fast path.
func TestDecodeWatchMessage(t *testing.T) {
	full, _ := fullMessage().AppendJSON(nil)
	inputs := []string{
		string(full),
		`{"type":"update","seq":1,"loops":[]}`,
		`{"type":"update","loops":null}`,
		`{"Loops":[{"id":1}],"type":"x"}`,
		`{"loops":[{"id":1,"New":[{"id":2}]}]}`,
		`{"loops":[{"id":1,"new":[{"id":2}],"new":[{"name":"b"}]}]}`,
		`{"loops":[{"new":null,"changed":[]}],"loops":[{"id":3}]}`,
		`{"type":"caf\u00e9","loops":[{"name":"é","new":[{"name":"é"}]}]}`,
		`{"loops":[{"new":[{"id":1.5}]}]}`,
		`{"loops":[1]}`,
		`{"seq":-1}`,
		`[]`,
		`{"type":"update"} x`,
		``,
	}
	for _, in := range inputs {
		got, err := DecodeWatchMessage([]byte(in))
		want, werr := slowDecode([]byte(in))
		if (err == nil) != (werr == nil) {
			t.Errorf("%.80s: fast error %v, encoding/json error %v", in, err, werr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%.80s:\nfast %+v\nslow %+v", in, got, want)
		}
	}
}

// FuzzDecodeWatchMessage: the fast decoder agrees with encoding/json.
func FuzzDecodeWatchMessage(f *testing.F) {
	full, _ := fullMessage().AppendJSON(nil)
	f.Add(full)
	f.Add([]byte(`{"type":"update","loops":[{"id":1,"new":[{"id":2,"stack":[{"line":3}]}],"ended":[{"id":4}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeWatchMessage(data)
		want, werr := slowDecode(data)
		if errors.Is(err, ErrTooLarge) && werr == nil && footprint(reflect.ValueOf(want)) > decodeBudget(len(data), watchFactor)/2 {
			return // refused for what it expands to (TestDecodeBounded)
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("fast error %v, encoding/json error %v", err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("fast %+v\nslow %+v", got, want)
		}
	})
}

// chunkWriter records the size of every write and fails after failAfter
// writes (never with a negative count).
type chunkWriter struct {
	bytes.Buffer
	writes    []int
	failAfter int
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	if w.failAfter >= 0 && len(w.writes) == w.failAfter {
		return 0, errors.New("the peer left")
	}
	w.writes = append(w.writes, len(p))
	return w.Buffer.Write(p)
}

// TestWatchMessageWriteJSON: WriteJSON writes what AppendJSON encodes,
// newline ended, in pieces of about spillAt bytes; a write error stops it
// and is returned.
func TestWatchMessageWriteJSON(t *testing.T) {
	big := fullMessage()
	for i := range 3000 {
		big.Loops[0].New = append(big.Loops[0].New, Task{ID: uint64(1000 + i), Name: "worker", State: "pending",
			Stack: []Frame{{Function: "main.work", File: "/src/main.go", Line: 42}}})
	}
	for _, tc := range []struct {
		name string
		m    *WatchMessage
	}{{"small", fullMessage()}, {"3,000 tasks", big}} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := tc.m.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, '\n')
			w := &chunkWriter{failAfter: -1}
			buf, err := tc.m.WriteJSON(w, nil)
			if err != nil || !bytes.Equal(w.Bytes(), want) {
				t.Fatalf("WriteJSON wrote %d bytes (%v), want AppendJSON's %d", w.Len(), err, len(want))
			}
			if n := len(want)/spillAt + 1; len(w.writes) < n || len(w.writes) > n+1 {
				t.Errorf("%d bytes in %d writes, want about %d", len(want), len(w.writes), n)
			}
			for i, n := range w.writes {
				if n > 2*spillAt {
					t.Errorf("write %d is %d bytes: more than twice spillAt", i, n)
				}
			}
			if len(buf) != 0 || cap(buf) > 4*spillAt {
				t.Errorf("returned buffer: len %d cap %d, want empty and small", len(buf), cap(buf))
			}
		})
	}
	w := &chunkWriter{failAfter: 1}
	if _, err := big.WriteJSON(w, nil); err == nil || err.Error() != "the peer left" {
		t.Errorf("a failing writer: err %v, want the peer left", err)
	}
}
