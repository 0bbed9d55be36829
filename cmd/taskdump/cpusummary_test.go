package main

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// cpuProfileOf builds a gzipped CPU profile (as runtime/pprof writes one:
// samples/count then cpu/nanoseconds) with one sample per count, labelled
// task.id when the label is not "".
func cpuProfileOf(t *testing.T, samples map[string]int64) []byte {
	t.Helper()
	fn := &profile.Function{ID: 1, Name: "main.crunch", Filename: "main.go"}
	loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: fn, Line: 34}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
		Function:   []*profile.Function{fn},
		Location:   []*profile.Location{loc},
	}
	for id, n := range samples {
		s := &profile.Sample{Location: []*profile.Location{loc}, Value: []int64{n, n * 10_000_000}}
		if id != "" {
			s.Label = map[string][]string{"task.id": {id}, "task.name": {"crunch-" + id}, "loop": {"main"}}
		} else {
			s.Label = map[string][]string{"other": {"x"}}
		}
		p.Sample = append(p.Sample, s)
	}
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipped(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSummarizeCPU(t *testing.T) {
	tests := []struct {
		name    string
		samples map[string]int64
		want    cpuSummary
		line    string
	}{
		{"idle", nil, cpuSummary{}, "no samples: the process used no CPU while it was profiled (was it idle?)"},
		{"outside tasks", map[string]int64{"": 12}, cpuSummary{samples: 12},
			"12 samples, none in a task: the CPU went to other goroutines (ToThread functions, the program's own)"},
		{"one task", map[string]int64{"7": 1}, cpuSummary{samples: 1, inTasks: 1, tasks: 1}, "1 sample, 1 in 1 task"},
		{"two tasks and more", map[string]int64{"7": 480, "9": 20, "": 3}, cpuSummary{samples: 503, inTasks: 500, tasks: 2},
			"503 samples, 500 in 2 tasks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := summarizeCPU(cpuProfileOf(t, tt.samples))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("summarizeCPU = %+v, want %+v", got, tt.want)
			}
			if got.String() != tt.line {
				t.Errorf("String = %q, want %q", got.String(), tt.line)
			}
		})
	}
}

// TestSummarizeCPUHostile: bytes from the process are not trusted: what is
// not a profile is an error, never a panic, and decompression is bounded.
func TestSummarizeCPUHostile(t *testing.T) {
	good := cpuProfileOf(t, map[string]int64{"7": 5})
	var raw bytes.Buffer
	zr, err := gzip.NewReader(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want string // in the error
	}{
		{"not gzip", []byte("this is not a profile at all"), "gzip: invalid header"},
		{"truncated gzip", good[:len(good)/2], "unexpected EOF"},
		{"truncated message", gzipped(t, raw.Bytes()[:raw.Len()-3]), "not a valid protocol buffer"},
		{"bad tag", gzipped(t, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), "not a valid protocol buffer"},
		{"bomb", gzipped(t, make([]byte, maxProfileBytes+1)), "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := summarizeCPU(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("summarizeCPU = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
