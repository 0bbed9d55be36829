package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// DecodeTasks decodes a JSON array of tasks, as /v1/tasks and /v1/history
// send them. It parses the agent's own output several times faster than
// encoding/json, and skips keys it does not know (a newer agent's fields)
// as fast. It falls back to encoding/json for anything else it does not
// expect (escapes or non-ASCII text in known fields, null, differently
// cased keys, numbers with a fraction or exponent in known fields), so it
// accepts exactly what
// json.Unmarshal into a []Task accepts and returns the same result;
// FuzzDecodeTasks checks that. That includes a key given twice in one
// object: as encoding/json does, the later value is decoded into the
// earlier one, so a repeated frame object merges field by field and a
// repeated stack array decodes its elements into the existing ones (see
// decodeFrames).
//
// Input that would decode to far more memory than its size (a long array
// of empty objects) is refused with an error wrapping ErrTooLarge, on
// either path.
func DecodeTasks(data []byte) ([]Task, error) {
	d := decoder{data: data, budget: decodeBudget(len(data), tasksFactor)}
	ts, err := d.tasks()
	switch {
	case err == nil:
		return ts, nil
	case errors.Is(err, errBudget):
		return nil, tooLarge("tasks", data, tasksFactor)
	}
	// What the fast path took is garbage now; the slow path has what is
	// left, so that both together stay within the budget.
	if _, err := weigh(data, int64(unsafe.Sizeof(Task{})), d.budget); errors.Is(err, errBudget) {
		return nil, tooLarge("tasks", data, tasksFactor)
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
	data    []byte
	i       int
	budget  int64 // bytes the decoded values may still allocate (charge)
	anyKeys bool  // object keys may have escapes or non-ASCII text (weigh)
	// texts are the short strings decoded so far (intern): 100,000 tasks
	// of one loop, one state and a few functions, files and awaits share
	// those strings rather than each holding its own.
	texts map[string]string
}

// Bounds of decoder.texts: a string longer than maxText, or met once
// maxTexts are known, is not shared (names, which mostly differ, fill it
// first in vain; the texts that repeat come with the first task).
const (
	maxText  = 128
	maxTexts = 4096
)

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
		k, err := d.key()
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
		if err := d.charge(unsafe.Sizeof(Task{})); err != nil {
			return err
		}
		ts = append(grow(d, ts), Task{})
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

// key reads an object's key: plain text when decoding (other keys go to
// the slow path, which matches them to fields as encoding/json does), any
// string when weighing.
func (d *decoder) key() (string, error) {
	if d.anyKeys {
		budget := d.budget
		k, err := d.str()
		d.budget = budget // encoding/json keeps no key
		return k, err
	}
	b, err := d.plain()
	if err != nil || len(b) == 0 {
		return "", err
	}
	// The key is only compared, never kept (a decoder's field functions
	// switch on it): it can be the input's own bytes, which the decoder
	// does not change, rather than a copy per key of every task.
	return unsafe.String(&b[0], len(b)), nil
}

// str reads a string value. One with escapes or non-ASCII text is
// decoded by encoding/json, whose rules (invalid UTF-8 and lone
// surrogates become U+FFFD) it follows; the others are copied as they are,
// or shared with the same short text decoded before (intern).
func (d *decoder) str() (string, error) {
	d.ws()
	start := d.i
	b, err := d.plain()
	if err == nil {
		return d.intern(b)
	}
	if d.i != start || d.i >= len(d.data) || d.data[d.i] != '"' {
		return "", err
	}
	return d.escaped()
}

// escaped reads the string at d.i through encoding/json (str's rare case:
// apart, so that the string str returns is not moved to the heap for it).
func (d *decoder) escaped() (string, error) {
	start := d.i
	if err := d.skipString(); err != nil {
		return "", err
	}
	// Unquoting takes a buffer, and each byte of invalid UTF-8 becomes
	// three (U+FFFD).
	if err := d.charge(uintptr(6 * (d.i - start))); err != nil {
		return "", err
	}
	var s string
	if err := json.Unmarshal(d.data[start:d.i], &s); err != nil {
		return "", errSlow
	}
	return s, nil
}

// intern returns b as a string: the one decoded before if the same short
// text was, else a new one (charged), kept for the next (texts).
func (d *decoder) intern(b []byte) (string, error) {
	if d.anyKeys {
		// Weighing for encoding/json, which copies every string: charge
		// each one.
		return string(b), d.charge(uintptr(len(b)))
	}
	if s, ok := d.texts[string(b)]; ok {
		return s, nil
	}
	s := string(b)
	if err := d.charge(uintptr(len(s))); err != nil {
		return "", err
	}
	if len(s) <= maxText && len(d.texts) < maxTexts {
		if d.texts == nil {
			d.texts = make(map[string]string)
		}
		d.texts[s] = s
	}
	return s, nil
}

// plain reads a string without escapes or non-ASCII text, as object keys
// (which encoding/json matches to fields by its own folding) and times
// must be on the fast path, and returns its bytes (the input's, not a
// copy); anything else takes the slow path.
func (d *decoder) plain() ([]byte, error) {
	d.ws()
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return nil, errSlow
	}
	start := d.i + 1
	for j := start; j < len(d.data); j++ {
		c := d.data[j]
		if c == '"' {
			d.i = j + 1
			return d.data[start:j], nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			// Escapes and non-ASCII (whose validity encoding/json checks)
			// take the slow path.
			return nil, errSlow
		}
	}
	return nil, errSlow
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

// intN reads an integer that fits an int.
func (d *decoder) intN() (int, error) {
	v, err := strconv.ParseInt(string(d.num()), 10, strconv.IntSize)
	if err != nil {
		return 0, errSlow
	}
	return int(v), nil
}

// uints reads an array of integers into a new slice, as encoding/json
// decodes an array of numbers (a repeated key replaces the earlier array's
// elements; an empty array gives an empty, non-nil slice).
func (d *decoder) uints() ([]uint64, error) {
	d.ws()
	if d.i+4 <= len(d.data) && string(d.data[d.i:d.i+4]) == "null" {
		d.i += 4
		return nil, nil // as encoding/json decodes it
	}
	s := []uint64{}
	err := d.array(func() error {
		if err := d.charge(8); err != nil {
			return err
		}
		v, err := d.uint()
		s = append(grow(d, s), v)
		return err
	})
	return s, err
}

// unknown handles the key k that is not one of fields: encoding/json
// ignores it, unless it matches one of fields but for case, when
// encoding/json decodes it into that field. The first is skipped here, at
// full speed, so that an older client reads a newer agent's records as
// fast as its own; the second goes to the slow path.
func (d *decoder) unknown(k string, fields []string) error {
	for _, f := range fields {
		if strings.EqualFold(k, f) {
			return errSlow
		}
	}
	return d.skip(0)
}

// maxSkipDepth bounds the nesting of a skipped value; deeper values go to
// the slow path, which applies encoding/json's own limit.
const maxSkipDepth = 100

// skip reads past one JSON value of any type, checking its syntax as
// encoding/json does.
func (d *decoder) skip(depth int) error {
	d.ws()
	if d.i >= len(d.data) || depth > maxSkipDepth {
		return errSlow
	}
	switch c := d.data[d.i]; c {
	case '"':
		return d.skipString()
	case '{', '[':
		return d.skipContainer(depth)
	case 't', 'f':
		_, err := d.bool()
		return err
	case 'n':
		if d.i+4 <= len(d.data) && string(d.data[d.i:d.i+4]) == "null" {
			d.i += 4
			return nil
		}
		return errSlow
	}
	return d.skipNumber()
}

// skipContainer reads past an object or an array, without allocating.
func (d *decoder) skipContainer(depth int) error {
	end := byte(']')
	if d.data[d.i] == '{' {
		end = '}'
	}
	d.i++
	if d.byte(end) {
		return nil
	}
	for {
		if end == '}' {
			d.ws()
			if d.i >= len(d.data) || d.data[d.i] != '"' {
				return errSlow
			}
			if err := d.skipString(); err != nil || !d.byte(':') {
				return errSlow
			}
		}
		if err := d.skip(depth + 1); err != nil {
			return err
		}
		if d.byte(',') {
			continue
		}
		if d.byte(end) {
			return nil
		}
		return errSlow
	}
}

// skipString reads past a string, escapes and any text included: as
// encoding/json's scanner, it refuses control characters and bad escapes
// but no other byte (invalid UTF-8 is replaced only when decoded).
func (d *decoder) skipString() error {
	for j := d.i + 1; j < len(d.data); j++ {
		switch c := d.data[j]; {
		case c == '"':
			d.i = j + 1
			return nil
		case c < 0x20:
			return errSlow
		case c == '\\':
			j++
			if j >= len(d.data) {
				return errSlow
			}
			switch d.data[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(d.data) || !isHex(d.data[j+1]) || !isHex(d.data[j+2]) || !isHex(d.data[j+3]) || !isHex(d.data[j+4]) {
					return errSlow
				}
				j += 4
			default:
				return errSlow
			}
		}
	}
	return errSlow
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// skipNumber reads past a number in JSON's syntax:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) skipNumber() error {
	digits := func() int {
		n := 0
		for d.i < len(d.data) && '0' <= d.data[d.i] && d.data[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.i < len(d.data) && d.data[d.i] == '-' {
		d.i++
	}
	start := d.i
	if n := digits(); n == 0 || n > 1 && d.data[start] == '0' {
		return errSlow
	}
	if d.i < len(d.data) && d.data[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return errSlow
		}
	}
	if d.i < len(d.data) && (d.data[d.i] == 'e' || d.data[d.i] == 'E') {
		d.i++
		if d.i < len(d.data) && (d.data[d.i] == '+' || d.data[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return errSlow
		}
	}
	return nil
}

// time reads a time as encoding/json does, through time.Time.UnmarshalJSON
// (strict RFC 3339, stricter than time.Parse with time.RFC3339Nano).
func (d *decoder) time() (time.Time, error) {
	d.ws()
	start := d.i
	if _, err := d.plain(); err != nil {
		return time.Time{}, err
	}
	var t time.Time
	if err := t.UnmarshalJSON(d.data[start:d.i]); err != nil {
		return time.Time{}, errSlow
	}
	if loc := t.Location(); loc != time.UTC && loc != time.Local {
		// An offset other than UTC's or the local one makes a zone.
		if err := d.charge(256); err != nil {
			return time.Time{}, err
		}
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

// frames reads an array of frames into s as encoding/json decodes an array
// into an existing slice: element i is decoded into s's element i (so a
// repeated "stack" key merges frames field by field), reusing s's backing
// array up to its capacity, where an element left from an earlier, longer
// array is decoded into as well; the result is cut to the array's length,
// and an empty array gives a new empty slice.
func (d *decoder) frames(s []Frame) ([]Frame, error) {
	i, had := 0, cap(s) // frames past had are new memory, charged
	err := d.array(func() error {
		if i >= had {
			if err := d.charge(unsafe.Sizeof(Frame{})); err != nil {
				return err
			}
		}
		if i < cap(s) {
			s = s[:i+1]
		} else {
			s = append(grow(d, s[:i]), Frame{})
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
