package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unsafe"
)

// ErrTooLarge is wrapped by the error of DecodeTasks and DecodeWatchMessage
// for input that would decode to far more memory than its own size: a
// task is 536 bytes decoded and "{}," is three bytes of JSON, so a
// five-megabyte line of empty objects would otherwise take gigabytes (and
// a few kilobytes of gzip expand to that line). What the agent writes
// decodes to about its own size.
var ErrTooLarge = errors.New("input decodes to more memory than its size allows")

// decodeBudget is how many bytes the values decoded from n bytes of JSON
// may allocate (slices' elements and pointed-to structs; strings are
// copies of the input, at most three times its size): four times the
// input, and 64 KiB for small inputs, such as a test's hand-written
// message of a few bare tasks.
func decodeBudget(n int) int64 { return 4*int64(n) + 64<<10 }

// errBudget is the decoders' own signal that the budget is spent; the
// exported functions wrap ErrTooLarge instead.
var errBudget = errors.New("wire: over budget")

// charge takes n bytes from the decode's budget.
func (d *decoder) charge(n uintptr) error {
	d.budget -= int64(n)
	if d.budget < 0 {
		return errBudget
	}
	return nil
}

// grow returns s with room for one more element: as append grows it, but
// never past what the decode's budget still allows (charged elements are
// at most that many), so that growing a slice does not take several
// times its budget.
func grow[T any](d *decoder, s []T) []T {
	if len(s) < cap(s) {
		return s
	}
	size := int64(unsafe.Sizeof(*new(T)))
	n := 2*int64(cap(s)) + 4
	if room := int64(len(s)) + max(d.budget, 0)/size + 1; n > room {
		n = room
	}
	out := make([]T, len(s), n)
	copy(out, s)
	return out
}

// tooLarge is the error for data over its budget.
func tooLarge(what string, data []byte) error {
	return fmt.Errorf("wire: decoding %s: %d bytes of JSON would decode to more than %d (%w)", what, len(data), decodeBudget(len(data)), ErrTooLarge)
}

// costs is what one element of each slice field (or the value of each
// pointer field) of the decoded types can allocate, by its JSON name in
// lower case, derived from the types themselves so that a field added
// later is covered. A name used by several fields gets the largest cost.
// maxCost is the largest of all, charged where a name is not plain ASCII
// (encoding/json folds some non-ASCII letters into ASCII ones).
var costs, maxCost = fieldCosts(reflect.TypeFor[WatchMessage](), reflect.TypeFor[Task]())

func fieldCosts(roots ...reflect.Type) (map[string]int64, int64) {
	m := map[string]int64{}
	seen := map[reflect.Type]bool{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if f.Anonymous && name == "" {
				visit(f.Type) // embedded: its fields are the outer object's
				continue
			}
			if name == "" {
				name = f.Name
			}
			var cost int64
			switch ft := f.Type; ft.Kind() {
			case reflect.Slice:
				cost = int64(ft.Elem().Size())
				if ft.Elem().Kind() == reflect.Pointer {
					cost += int64(ft.Elem().Elem().Size())
					visit(ft.Elem().Elem())
				}
				visit(ft.Elem())
			case reflect.Pointer:
				cost = int64(ft.Elem().Size())
				visit(ft.Elem())
			case reflect.Map, reflect.Interface, reflect.Array, reflect.Chan, reflect.Func:
				panic("wire: fieldCosts does not know what a " + ft.Kind().String() + " field decodes to: " + t.Name() + "." + f.Name)
			default:
				visit(ft)
			}
			if cost > 0 {
				k := strings.ToLower(name)
				m[k] = max(m[k], cost)
			}
		}
	}
	for _, t := range roots {
		visit(t)
	}
	top := int64(0)
	for _, c := range m {
		top = max(top, c)
	}
	return m, top
}

// weigh reports what encoding/json would allocate, at most, decoding data
// into the wire types: each element of an array is charged the cost of
// the field it is the value of (top, for a top-level array), each object
// the value of a pointer field its cost. A key not among the fields is
// charged nothing (encoding/json skips its value), one that is not plain
// ASCII the most any field costs. It stops once the total passes limit,
// and returns an error for what is not JSON (the caller's json.Unmarshal
// then says what is wrong).
func weigh(data []byte, top, limit int64) (int64, error) {
	w := weigher{d: decoder{data: data}, limit: limit}
	err := w.value(top, 0)
	return w.total, err
}

type weigher struct {
	d     decoder
	total int64
	limit int64
}

// value reads one value, whose cost as an array element or pointer
// target is cost.
func (w *weigher) value(cost int64, depth int) error {
	d := &w.d
	d.ws()
	if d.i >= len(d.data) || depth > maxSkipDepth {
		return errSlow
	}
	switch d.data[d.i] {
	case '[':
		d.i++
		if d.byte(']') {
			return nil
		}
		for {
			w.total += cost
			if w.total > w.limit {
				return errBudget
			}
			if err := w.value(cost, depth+1); err != nil {
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
	case '{':
		d.i++
		if d.byte('}') {
			return nil
		}
		for {
			d.ws()
			start := d.i
			if d.i >= len(d.data) || d.data[d.i] != '"' || d.skipString() != nil || !d.byte(':') {
				return errSlow
			}
			c := w.keyCost(d.data[start:d.i])
			if d.ws(); d.i < len(d.data) && d.data[d.i] == '{' {
				w.total += c // a pointer field's struct
				if w.total > w.limit {
					return errBudget
				}
			}
			if err := w.value(c, depth+1); err != nil {
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
	return d.skip(depth)
}

// keyCost is the cost of the field a key (a JSON string token, with its
// colon) names, as encoding/json matches keys to fields: unescaped, then
// exactly or without regard to case.
func (w *weigher) keyCost(tok []byte) int64 {
	tok = tok[:strings.LastIndexByte(string(tok), '"')+1]
	k := string(tok[1 : len(tok)-1])
	if strings.IndexByte(k, '\\') >= 0 {
		if err := json.Unmarshal(tok, &k); err != nil {
			return maxCost
		}
	}
	for i := range len(k) {
		if k[i] >= 0x80 {
			return maxCost
		}
	}
	return costs[strings.ToLower(k)]
}

// Footprint reports the memory the slices and pointers of a decoded
// message hold (its tasks, their stacks, ended tasks, events, findings;
// strings aside), what a reader that keeps many messages, such as a
// replay, bounds. It costs a walk of every element.
func (m *WatchMessage) Footprint() int64 { return footprint(reflect.ValueOf(m).Elem()) }

func footprint(v reflect.Value) int64 {
	var n int64
	switch v.Kind() {
	case reflect.Slice:
		n += int64(v.Len()) * int64(v.Type().Elem().Size())
		for i := range v.Len() {
			n += footprint(v.Index(i))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			n += int64(v.Type().Elem().Size()) + footprint(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			n += footprint(v.Field(i))
		}
	}
	return n
}
