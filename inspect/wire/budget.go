package wire

import (
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

// The budgets of a decode: what the values decoded from n bytes of JSON
// may allocate (slices' elements, pointed-to structs, strings) is
// factor×n and 64 KiB for small inputs (a test's hand-written message of
// a few bare tasks), and never more than maxBudget.
const (
	// watchFactor is a watch message's: its task records are whole (a
	// few hundred bytes for a 536-byte Task), an ended task at least
	// 25 bytes for 80.
	watchFactor = 4
	// tasksFactor is a task list's, whose records may be cut to the
	// fields a client asked for: {"id":7} is nine bytes for 536.
	tasksFactor = 64
	// maxBudget holds 1,000,000 tasks with stacks of twenty frames.
	maxBudget = 4 << 30
)

func decodeBudget(n int, factor int64) int64 { return min(factor*int64(n)+64<<10, maxBudget) }

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
func tooLarge(what string, data []byte, factor int64) error {
	return fmt.Errorf("wire: decoding %s: %d bytes of JSON would decode to more than %d (%w)", what, len(data), decodeBudget(len(data), factor), ErrTooLarge)
}

// costs is what one element of each slice field (or the value of each
// pointer field) of the decoded types can allocate, by its JSON name in
// lower case, derived from the types themselves so that a field added
// later is covered. A name used by several fields gets the largest cost.
var costs = fieldCosts(reflect.TypeFor[WatchMessage](), reflect.TypeFor[Task]())

func fieldCosts(roots ...reflect.Type) map[string]int64 {
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
	return m
}

// weigh reports what encoding/json would allocate, at most, decoding data
// into the wire types: each element of an array is charged the cost of
// the field it is the value of (top, for a top-level array), each object
// the value of a pointer field its cost, each string what str charges for
// it. A key not among the fields is charged nothing (encoding/json
// skips its value). It stops with errBudget once the total
// passes limit, and returns another error for what it does not read as
// JSON (the caller's json.Unmarshal then says what is wrong).
func weigh(data []byte, top, limit int64) (int64, error) {
	d := decoder{data: data, budget: limit, anyKeys: true}
	err := d.weigh(top, 0)
	return limit - d.budget, err
}

// maxWeighDepth is encoding/json's limit of nesting: weigh reads all that
// encoding/json would decode.
const maxWeighDepth = 10000

// weigh reads one value, whose cost as an array element or pointer target
// is cost, charging what it holds.
func (d *decoder) weigh(cost int64, depth int) error {
	d.ws()
	if d.i >= len(d.data) || depth > maxWeighDepth {
		return errSlow
	}
	switch d.data[d.i] {
	case '[':
		return d.array(func() error {
			if err := d.charge(uintptr(cost)); err != nil {
				return err
			}
			return d.weigh(cost, depth+1)
		})
	case '{':
		return d.object(func(k string) error {
			c := keyCost(k)
			if d.ws(); d.i < len(d.data) && d.data[d.i] == '{' {
				if err := d.charge(uintptr(c)); err != nil { // a pointer field's struct
					return err
				}
			}
			return d.weigh(c, depth+1)
		})
	case '"':
		_, err := d.str() // charged
		return err
	}
	return d.skip(0) // a number, true, false or null
}

// keyCost is the cost of the field an (unescaped) key names, as
// encoding/json matches keys to fields: exactly or as strings.EqualFold
// does, which folds some non-ASCII letters into ASCII ones ("ſtack" is
// "stack"). A key no field matches costs nothing: encoding/json skips its
// value.
func keyCost(k string) int64 {
	for i := range len(k) {
		if k[i] >= 0x80 {
			c := int64(0)
			for name, cost := range costs {
				if strings.EqualFold(k, name) {
					c = max(c, cost)
				}
			}
			return c
		}
	}
	return costs[strings.ToLower(k)]
}

// Footprint reports the memory the slices, pointers and strings of a
// decoded message hold (its tasks, their stacks, ended tasks, events,
// findings), what a reader that keeps many messages, such as a replay,
// bounds. It costs a walk of every element.
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
	case reflect.String:
		n += int64(v.Len())
	}
	return n
}
