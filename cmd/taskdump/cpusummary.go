package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// cpuSummary is what a CPU profile holds, told after it is written: a
// profile of an idle process has no samples, and one whose CPU went
// elsewhere has none in a task; go tool pprof shows either as an empty
// table without saying why.
type cpuSummary struct {
	samples int64 // CPU samples (the "samples" value summed)
	inTasks int64 // of them, labelled task.id (taken while a task ran)
	tasks   int   // distinct task.id labels
}

// maxProfileBytes bounds a profile decompressed for its summary: the
// process it comes from is not trusted.
const maxProfileBytes = 64 << 20

// summarizeCPU reads a gzipped pprof profile (the protobuf wire format,
// field numbers of profile.proto) and counts its samples. It costs one
// pass over the decompressed profile, bounded by maxProfileBytes. Its
// errors say what is wrong with the bytes, for describeCPU.
func summarizeCPU(gz []byte) (cpuSummary, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return cpuSummary{}, err
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxProfileBytes+1))
	if err != nil {
		return cpuSummary{}, err
	}
	if len(raw) > maxProfileBytes {
		return cpuSummary{}, fmt.Errorf("more than %d bytes decompressed", maxProfileBytes)
	}
	// Profile: 1 sample_type (ValueType), 2 sample (Sample), 6 string_table.
	var types, samples [][]byte
	var strs []string
	err = eachField(raw, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case typ != protowire.BytesType:
		case num == 1:
			types = append(types, v)
		case num == 2:
			samples = append(samples, v)
		case num == 6:
			strs = append(strs, string(v))
		}
		return nil
	})
	if err != nil {
		return cpuSummary{}, err
	}
	str := func(i int64) string {
		if i < 0 || i >= int64(len(strs)) {
			return ""
		}
		return strs[i]
	}
	countAt := -1 // the value that counts samples: ValueType 1 type = "samples"
	for i, t := range types {
		var name int64
		if err := eachInt(t, func(num protowire.Number, v uint64) {
			if num == 1 {
				name = int64(v)
			}
		}); err != nil {
			return cpuSummary{}, err
		}
		if str(name) == "samples" {
			countAt = i
		}
	}
	var s cpuSummary
	ids := map[string]bool{}
	for _, smp := range samples {
		n, id, err := sampleCount(smp, countAt, str)
		if err != nil {
			return cpuSummary{}, err
		}
		s.samples += n
		if id != "" {
			s.inTasks += n
			ids[id] = true
		}
	}
	s.tasks = len(ids)
	return s, nil
}

// sampleCount reads one Sample (2 value, packed or not; 3 label) and
// returns its count (its value at countAt, 1 if countAt < 0) and its
// task.id label ("" if none).
func sampleCount(smp []byte, countAt int, str func(int64) string) (n int64, id string, err error) {
	var vals []int64
	err = eachField(smp, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 2 && typ == protowire.VarintType:
			x, _ := protowire.ConsumeVarint(v)
			vals = append(vals, int64(x))
		case num == 2 && typ == protowire.BytesType: // packed
			for len(v) > 0 {
				x, k := protowire.ConsumeVarint(v)
				if k < 0 {
					return errBadProfile
				}
				vals = append(vals, int64(x))
				v = v[k:]
			}
		case num == 3 && typ == protowire.BytesType: // Label: 1 key, 2 str
			var key, val int64
			if err := eachInt(v, func(num protowire.Number, x uint64) {
				switch num {
				case 1:
					key = int64(x)
				case 2:
					val = int64(x)
				}
			}); err != nil {
				return err
			}
			if str(key) == "task.id" {
				id = str(val)
			}
		}
		return nil
	})
	switch {
	case err != nil:
	case countAt < 0:
		n = 1
	case countAt < len(vals):
		n = vals[countAt]
	}
	return n, id, err
}

// errBadProfile is the error of a profile that is not a protocol buffer.
var errBadProfile = errors.New("not a valid protocol buffer")

// eachField calls fn for each field of the message b, with the field's
// bytes (for a varint, its encoding).
func eachField(b []byte, fn func(protowire.Number, protowire.Type, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadProfile
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return errBadProfile
		}
		v := b[:m]
		if typ == protowire.BytesType {
			v, _ = protowire.ConsumeBytes(b)
		}
		if err := fn(num, typ, v); err != nil {
			return err
		}
		b = b[m:]
	}
	return nil
}

// eachInt calls fn for each varint field of the message b.
func eachInt(b []byte, fn func(protowire.Number, uint64)) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if typ == protowire.VarintType {
			x, _ := protowire.ConsumeVarint(v)
			fn(num, x)
		}
		return nil
	})
}

// String says what the profile holds, for a line after "wrote FILE".
func (s cpuSummary) String() string {
	switch {
	case s.samples == 0:
		return "no samples: the process used no CPU while it was profiled (was it idle?)"
	case s.inTasks == 0:
		return plural(int(s.samples), "sample") + ", none in a task: the CPU went to other goroutines (ToThread functions, the program's own)"
	default:
		return fmt.Sprintf("%s, %d in %s", plural(int(s.samples), "sample"), s.inTasks, plural(s.tasks, "task"))
	}
}
