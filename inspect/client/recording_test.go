package client

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// stream is a small stream: a snapshot, an update with a new and a changed
// task, one with an end and a dropped count.
func stream() []*wire.WatchMessage {
	p := &wire.Process{Schema: wire.Schema, PID: 42, Command: []string{"svc"}, Loops: []wire.Loop{{ID: 1, Name: "main", Tasks: 1}}}
	task := func(id uint64, name, state string) wire.Task {
		return wire.Task{ID: id, Name: name, State: state, Loop: "main", LoopID: 1, Created: t0,
			SpawnedAt: wire.Frame{Function: "main.main", File: "/src/main.go", Line: 10}}
	}
	return []*wire.WatchMessage{
		{Type: wire.WatchSnapshot, Seq: 1, Time: t0, Process: p, Findings: []wire.Finding{},
			Loops: []wire.WatchLoop{{Loop: wire.Loop{ID: 1, Name: "main", Tasks: 1}, New: []wire.Task{task(1, "a", "pending")}}}},
		{Type: wire.WatchUpdate, Seq: 2, Time: t0.Add(time.Second),
			Loops: []wire.WatchLoop{{Loop: wire.Loop{ID: 1, Name: "main", Tasks: 2, Stats: wire.LoopStats{Ready: 1, LagNS: 5}},
				New: []wire.Task{task(2, "b", "pending")}, Changed: []wire.Task{task(1, "a", "cancelling")}}}},
		{Type: wire.WatchUpdate, Seq: 3, Time: t0.Add(2 * time.Second), Dropped: 2,
			Loops: []wire.WatchLoop{{Loop: wire.Loop{ID: 1, Name: "main", Tasks: 1},
				Ended: []wire.EndedTask{{ID: 1, Name: "a", State: "cancelled", Finished: t0.Add(2 * time.Second), Error: "cancelled"}}}}},
	}
}

func record(t *testing.T, w io.Writer, msgs []*wire.WatchMessage) *Recorder {
	t.Helper()
	r := NewRecorder(w)
	for _, m := range msgs {
		if err := r.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func readAll(rec *Recording) ([]*wire.WatchMessage, error) {
	var out []*wire.WatchMessage
	for {
		m, err := rec.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}

// TestRecordingRoundTrip: what a Recorder writes, plain or gzipped,
// ReadRecording reads back the same, with the header describing the
// process; the Recorder counts messages, distinct tasks and bytes.
func TestRecordingRoundTrip(t *testing.T) {
	for _, gz := range []bool{false, true} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			var w io.Writer = &buf
			var zw *gzip.Writer
			if gz {
				zw = gzip.NewWriter(&buf)
				w = zw
			}
			want := stream()
			r := record(t, w, want)
			if zw != nil {
				if err := zw.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if r.Messages() != 3 || r.Tasks() != 2 || r.Bytes() == 0 {
				t.Errorf("Recorder counted %d messages, %d tasks, %d bytes; want 3, 2 and some", r.Messages(), r.Tasks(), r.Bytes())
			}
			if gz && (buf.Bytes()[0] != 0x1f || buf.Bytes()[1] != 0x8b) {
				t.Fatalf("gzipped recording does not start with gzip's magic")
			}
			if !gz {
				first, _, _ := strings.Cut(buf.String(), "\n")
				if !strings.HasPrefix(first, `{"format":"taskdump-recording","version":1,`) {
					t.Errorf("header line = %s", first)
				}
			}
			rec, err := ReadRecording(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if h := rec.Header; h.Format != wire.RecordingFormat || h.Version != 1 || h.Process.PID != 42 || h.Schema != wire.Schema {
				t.Errorf("header = %+v", h)
			}
			got, err := readAll(rec)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read back %d messages:\n%+v\nwant\n%+v", len(got), got, want)
			}
			var s wire.WatchState
			for _, m := range got {
				s.Apply(m)
			}
			if ls := s.Loops[1]; ls == nil || len(ls.Tasks) != 1 || ls.Tasks[2] == nil || s.Dropped != 2 {
				t.Errorf("folded state: %+v, want loop 1 with task 2 only and 2 dropped", s)
			}
		})
	}
}

// TestRecorderStartsWithSnapshot: a recording without a snapshot first is
// refused, and nothing is written.
func TestRecorderStartsWithSnapshot(t *testing.T) {
	var buf bytes.Buffer
	err := NewRecorder(&buf).Write(stream()[1])
	if err == nil || buf.Len() != 0 {
		t.Errorf("Write(update first) = %v with %d bytes written, want an error and nothing", err, buf.Len())
	}
}

// TestReadRecordingHostile: what is not a good recording gets a one-line
// error, never a panic or unbounded memory.
func TestReadRecordingHostile(t *testing.T) {
	var good bytes.Buffer
	record(t, &good, stream())
	header, rest, _ := strings.Cut(good.String(), "\n")
	gzipped := func(s string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.String()
	}
	tests := []struct {
		name      string
		in        string
		headerErr string // error of ReadRecording
		nextErr   string // error of a later Next
		msgs      int    // messages read before nextErr
	}{
		{name: "empty", in: "", headerErr: "the file is empty"},
		{name: "not JSON", in: "hello\n", headerErr: "not a taskdump recording"},
		{name: "other format", in: `{"format":"pprof","version":1}` + "\n", headerErr: "not a taskdump recording"},
		{name: "later version", in: `{"format":"taskdump-recording","version":2}` + "\n", headerErr: "version 2"},
		{name: "version zero", in: `{"format":"taskdump-recording","version":0}` + "\n", headerErr: "version 0"},
		{name: "newer schema", in: `{"format":"taskdump-recording","version":1,"schema":99}` + "\n", headerErr: "schema 99"},
		{name: "header line too long", in: `{"format":"taskdump-recording","x":"` + strings.Repeat("x", 2000) + `"}` + "\n", headerErr: "over"},
		{name: "message line too long", in: header + "\n" + `{"type":"update","x":"` + strings.Repeat("x", 2000) + "\"}\n", nextErr: "over", msgs: 0},
		{name: "garbage message", in: header + "\n" + "{{{\n", nextErr: "line 2"},
		{name: "message without type", in: header + "\n" + `{"seq":1}` + "\n", nextErr: "without a type"},
		{name: "cut short", in: good.String()[:good.Len()-10], nextErr: "unexpected EOF", msgs: 2},
		{name: "blank lines skipped", in: header + "\n\n\n" + rest, msgs: 3},
		{name: "gzip", in: gzipped(good.String()), msgs: 3},
		{name: "gzip cut short", in: gzipped(good.String())[:40], headerErr: "unexpected EOF"},
		{name: "gzip magic then garbage", in: "\x1f\x8bnot gzip at all", headerErr: "gzip"},
		{name: "gzip bomb line", in: gzipped(header + "\n" + strings.Repeat("x", 1<<20) + "\n"), nextErr: "over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := readRecording(strings.NewReader(tt.in), 1024)
			if tt.headerErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.headerErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("ReadRecording = %v, want a one-line error with %q", err, tt.headerErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadRecording = %v", err)
			}
			got, err := readAll(rec)
			if len(got) != tt.msgs {
				t.Errorf("read %d messages, want %d", len(got), tt.msgs)
			}
			switch {
			case tt.nextErr == "" && err != nil:
				t.Errorf("Next = %v, want the end", err)
			case tt.nextErr != "" && (err == nil || !strings.Contains(err.Error(), tt.nextErr)):
				t.Errorf("Next = %v, want an error with %q", err, tt.nextErr)
			}
		})
	}
}

// FuzzReadRecording: no input makes the reader panic.
func FuzzReadRecording(f *testing.F) {
	var good bytes.Buffer
	r := NewRecorder(&good)
	for _, m := range stream() {
		r.Write(m)
	}
	f.Add(good.Bytes())
	f.Add([]byte(`{"format":"taskdump-recording","version":1}` + "\n{\"type\":\"update\",\"loops\":[{\"id\":1,\"new\":[{\"id\":\"x\"}]}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := readRecording(bytes.NewReader(data), 4096)
		if err != nil {
			return
		}
		var s wire.WatchState
		for range 1000 {
			m, err := rec.Next()
			if err != nil {
				return
			}
			s.Apply(m)
		}
	})
}
