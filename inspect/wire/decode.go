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
// expect (escaped strings, unusual spacing), so it accepts exactly what
// json.Unmarshal accepts and returns the same result.
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

func (d *decoder) tasks() ([]Task, error) {
	if !d.byte('[') {
		return nil, errSlow
	}
	ts := make([]Task, 0, len(d.data)/300+1)
	if d.byte(']') {
		return d.end(ts)
	}
	for {
		ts = append(ts, Task{})
		if err := d.task(&ts[len(ts)-1]); err != nil {
			return nil, err
		}
		if d.byte(',') {
			continue
		}
		if d.byte(']') {
			return d.end(ts)
		}
		return nil, errSlow
	}
}

func (d *decoder) end(ts []Task) ([]Task, error) {
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
// by a fraction or exponent.
func (d *decoder) num() ([]byte, error) {
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
		return nil, errSlow
	case d.i < len(d.data) && (d.data[d.i] == '.' || d.data[d.i] == 'e' || d.data[d.i] == 'E'):
		return nil, errSlow
	}
	return d.data[start:d.i], nil
}

func (d *decoder) uint() (uint64, error) {
	b, err := d.num()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, errSlow
	}
	return v, nil
}

func (d *decoder) int() (int64, error) {
	b, err := d.num()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, errSlow
	}
	return v, nil
}

func (d *decoder) time() (time.Time, error) {
	s, err := d.str()
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errSlow
	}
	return t, nil
}

func (d *decoder) frame(f *Frame) error {
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
			return errSlow
		}
		if err != nil {
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

func (d *decoder) task(t *Task) error {
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
		var v int64
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
			d.ws()
			switch {
			case d.i+4 <= len(d.data) && string(d.data[d.i:d.i+4]) == "true":
				t.Running = true
				d.i += 4
			case d.i+5 <= len(d.data) && string(d.data[d.i:d.i+5]) == "false":
				t.Running = false
				d.i += 5
			default:
				err = errSlow
			}
		case "function":
			t.Function, err = d.str()
		case "spawned_at":
			err = d.frame(&t.SpawnedAt)
		case "suspended_at":
			err = d.frame(&t.SuspendedAt)
		case "awaiting":
			t.Awaiting, err = d.str()
		case "awaits":
			if !d.byte('[') {
				return errSlow
			}
			t.Awaits = []uint64{}
			if !d.byte(']') {
				for {
					var id uint64
					if id, err = d.uint(); err != nil {
						return err
					}
					t.Awaits = append(t.Awaits, id)
					if d.byte(',') {
						continue
					}
					if d.byte(']') {
						break
					}
					return errSlow
				}
			}
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
			v, err = d.int()
			t.BusyNS = v
		case "sched_wait_ns":
			v, err = d.int()
			t.SchedWaitNS = v
		case "idle_ns":
			v, err = d.int()
			t.IdleNS = v
		case "cancel_msg":
			t.CancelMsg, err = d.str()
		case "cancel_by":
			t.CancelBy, err = d.str()
		case "stack":
			if !d.byte('[') {
				return errSlow
			}
			t.Stack = []Frame{}
			if !d.byte(']') {
				for {
					t.Stack = append(t.Stack, Frame{})
					if err = d.frame(&t.Stack[len(t.Stack)-1]); err != nil {
						return err
					}
					if d.byte(',') {
						continue
					}
					if d.byte(']') {
						break
					}
					return errSlow
				}
			}
		case "finished":
			t.Finished, err = d.time()
		case "error":
			t.Error, err = d.str()
		default:
			return errSlow
		}
		if err != nil {
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
