package inspect

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// fillAll sets every exported field of the struct v points to, recursively,
// to a non-zero value, so that a field added to a runtime record is filled
// here without this test being edited.
func fillAll(v reflect.Value, n *int) {
	*n++
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Unix(int64(*n), 0)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillAll(v.Index(0), n)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillAll(v.Field(i), n)
			}
		}
	}
}

// emptyWireFields returns the exported fields of the struct v that are
// zero.
func emptyWireFields(v reflect.Value) []string {
	var out []string
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.IsExported() && v.Field(i).IsZero() {
			out = append(out, f.Name)
		}
	}
	return out
}

// TestConvertFillsEveryWireField checks that the conversions from runtime
// records fill every field of the wire types: a wire field that convert.go
// does not set fails here.
func TestConvertFillsEveryWireField(t *testing.T) {
	n := 0
	var ti runtime.TaskInfo
	fillAll(reflect.ValueOf(&ti).Elem(), &n)
	var wt wire.Task
	wireTask(&wt, &ti)
	if z := emptyWireFields(reflect.ValueOf(wt)); len(z) > 0 {
		t.Errorf("wireTask leaves wire.Task fields %v zero", z)
	}
	var ev runtime.BlockEvent
	fillAll(reflect.ValueOf(&ev).Elem(), &n)
	if z := emptyWireFields(reflect.ValueOf(wireBlock(&ev))); len(z) > 0 {
		t.Errorf("wireBlock leaves wire.BlockEvent fields %v zero", z)
	}
	var ls runtime.LoopSnapshot
	fillAll(reflect.ValueOf(&ls).Elem(), &n)
	if z := emptyWireFields(reflect.ValueOf(wireLoop(&ls))); len(z) > 0 {
		t.Errorf("wireLoop leaves wire.Loop fields %v zero", z)
	}
	h := newHandler(Options{ReadOnly: true}, false)
	h.self = 4242 // the test may run as root, uid 0
	if z := emptyWireFields(reflect.ValueOf(h.process([]runtime.LoopSnapshot{ls}))); len(z) > 0 {
		t.Errorf("process leaves wire.Process fields %v zero", z)
	}
}
