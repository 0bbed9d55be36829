package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// DecodeTasks decodes a JSON array of tasks, as /v1/tasks and /v1/history
// send them. It parses the agent's own output several times faster than
// encoding/json and falls back to encoding/json for anything it does not
// expect (escapes, non-ASCII text, null, unknown or differently cased keys,
// numbers with a fraction or exponent), so it accepts exactly what
// json.Unmarshal into a []Task accepts and returns the same result;
// FuzzDecodeTasks checks that. That includes a key given twice in one
// object: as encoding/json does, the later value is decoded into the
// earlier one, so a repeated frame object merges field by field and a
// repeated stack array decodes its elements into the existing ones (see
// decodeFrames).
func DecodeTasks(data []byte) ([]Task, error) {
	d := decoder{data: data}
	ts, err := d.tasks()
	if err == nil {
		return ts, nil
	}
	ts = nil
	if err := json.Unmarshal(data, &ts); err != nil {
		return nil, fmt.Errorf("wire: decoding tasks: %w", err)
	}
	return ts, nil
}

// errSlow sends DecodeTasks to encoding/json.
var errSlow = errors.New("wire: not the fast path")

type decoder struct {
	data []byte
	i    int
}

func (d *decoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\n', '\r', '\t':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) byte(c byte) bool {
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

// array reads a JSON array, calling elem to read each element.
func (d *decoder) array(elem func() error) error {
	if !d.byte('[') {
		return errSlow
	}
	if d.byte(']') {
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if d.byte(',') {
			continue
		}
		if d.byte(']') {
			return nil
		}
		return errSlow
	}
}

// object reads a JSON object, calling field to read the value of each key.
func (d *decoder) object(field func(k string) error) error {
	if !d.byte('{') {
		return errSlow
	}
	if d.byte('}') {
		return nil
	}
	for {
		k, err := d.str()
		if err != nil || !d.byte(':') {
			return errSlow
		}
		if err := field(k); err != nil {
			return err
		}
		if d.byte(',') {
			continue
		}
		if d.byte('}') {
			return nil
		}
		return errSlow
	}
}

func (d *decoder) tasks() ([]Task, error) {
	ts := make([]Task, 0, len(d.data)/300+1)
	err := d.array(func() error {
		ts = append(ts, Task{})
		return d.task(&ts[len(ts)-1])
	})
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i != len(d.data) {
		return nil, errSlow
	}
	return ts, nil
}

// str reads a string without escapes.
func (d *decoder) str() (string, error) {
	d.ws()
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return "", errSlow
	}
	start := d.i + 1
	for j := start; j < len(d.data); j++ {
		c := d.data[j]
		if c == '"' {
			d.i = j + 1
			return string(d.data[start:j]), nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			// Escapes and non-ASCII (whose validity encoding/json checks)
			// take the slow path.
			return "", errSlow
		}
	}
	return "", errSlow
}

// num reads an integer in JSON's syntax: -?(0|[1-9][0-9]*), not followed
// by a fraction or exponent. It returns nil if there is none.
func (d *decoder) num() []byte {
	d.ws()
	start := d.i
	if d.i < len(d.data) && d.data[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
		d.i++
	}
	switch {
	case d.i == digits, d.data[digits] == '0' && d.i-digits > 1:
		return nil
	case d.i < len(d.data) && (d.data[d.i] == '.' || d.data[d.i] == 'e' || d.data[d.i] == 'E'):
		return nil
	}
	return d.data[start:d.i]
}

// uint reads an integer that fits a uint64 (int, one that fits an int64);
// strconv refuses a missing number (num's nil) as it refuses an overflow.
func (d *decoder) uint() (uint64, error) {
	v, err := strconv.ParseUint(string(d.num()), 10, 64)
	if err != nil {
		return 0, errSlow
	}
	return v, nil
}

func (d *decoder) int() (int64, error) {
	v, err := strconv.ParseInt(string(d.num()), 10, 64)
	if err != nil {
		return 0, errSlow
	}
	return v, nil
}

// time reads a time as encoding/json does, through time.Time.UnmarshalJSON
// (strict RFC 3339, stricter than time.Parse with time.RFC3339Nano).
func (d *decoder) time() (time.Time, error) {
	d.ws()
	start := d.i
	if _, err := d.str(); err != nil {
		return time.Time{}, err
	}
	var t time.Time
	if err := t.UnmarshalJSON(d.data[start:d.i]); err != nil {
		return time.Time{}, errSlow
	}
	return t, nil
}

func (d *decoder) bool() (bool, error) {
	d.ws()
	switch {
	case d.i+4 <= len(d.data) && string(d.data[d.i:d.i+4]) == "true":
		d.i += 4
		return true, nil
	case d.i+5 <= len(d.data) && string(d.data[d.i:d.i+5]) == "false":
		d.i += 5
		return false, nil
	}
	return false, errSlow
}

func (d *decoder) frame(f *Frame) error {
	return d.object(func(k string) (err error) {
		switch k {
		case "function":
			f.Function, err = d.str()
		case "file":
			f.File, err = d.str()
		case "line":
			var v int64
			v, err = d.int()
			f.Line = int(v)
		default:
			err = errSlow
		}
		return err
	})
}

func (d *decoder) task(t *Task) error {
	return d.object(func(k string) (err error) {
		switch k {
		case "id":
			t.ID, err = d.uint()
		case "name":
			t.Name, err = d.str()
		case "state":
			t.State, err = d.str()
		case "loop":
			t.Loop, err = d.str()
		case "loop_id":
			t.LoopID, err = d.uint()
		case "parent_id":
			t.ParentID, err = d.uint()
		case "running":
			t.Running, err = d.bool()
		case "function":
			t.Function, err = d.str()
		case "spawned_at":
			err = d.frame(&t.SpawnedAt)
		case "suspended_at":
			err = d.frame(&t.SuspendedAt)
		case "awaiting":
			t.Awaiting, err = d.str()
		case "awaits":
			t.Awaits = []uint64{}
			err = d.array(func() error {
				id, err := d.uint()
				if err != nil {
					return err
				}
				t.Awaits = append(t.Awaits, id)
				return nil
			})
		case "until":
			t.Until, err = d.time()
		case "created":
			t.Created, err = d.time()
		case "started":
			t.Started, err = d.time()
		case "suspended":
			t.Suspended, err = d.time()
		case "steps":
			t.Steps, err = d.uint()
		case "busy_ns":
			t.BusyNS, err = d.int()
		case "sched_wait_ns":
			t.SchedWaitNS, err = d.int()
		case "idle_ns":
			t.IdleNS, err = d.int()
		case "cancel_msg":
			t.CancelMsg, err = d.str()
		case "cancel_by":
			t.CancelBy, err = d.str()
		case "stack":
			t.Stack, err = d.frames(t.Stack)
		case "finished":
			t.Finished, err = d.time()
		case "error":
			t.Error, err = d.str()
		default:
			err = errSlow
		}
		return err
	})
}

// frames reads an array of frames into s as encoding/json decodes an array
// into an existing slice: element i is decoded into s's element i (so a
// repeated "stack" key merges frames field by field), reusing s's backing
// array up to its capacity, where an element left from an earlier, longer
// array is decoded into as well; the result is cut to the array's length,
// and an empty array gives a new empty slice.
func (d *decoder) frames(s []Frame) ([]Frame, error) {
	i := 0
	err := d.array(func() error {
		if i < cap(s) {
			s = s[:i+1]
		} else {
			s = append(s[:i], Frame{})
		}
		i++
		return d.frame(&s[i-1])
	})
	if err != nil {
		return nil, err
	}
	if i == 0 {
		return []Frame{}, nil
	}
	return s[:i], nil
}
