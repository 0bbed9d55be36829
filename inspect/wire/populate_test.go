package wire

import (
	"fmt"
	"hash/fnv"
	"reflect"
	"time"
)

// populate sets every field of the struct v points to, recursively, to a
// non-zero value derived from the field's path (Stack[1].Line), so that a
// field added to a wire type shows in every test that uses it without the
// test being edited, and adds lines to the golden file without changing
// others. Slices of basic values and frames get two elements, others one.
// Strings are plain ASCII: they take DecodeTasks's fast path.
func populate(v any) {
	fill(reflect.ValueOf(v).Elem(), "")
}

var (
	timeType  = reflect.TypeFor[time.Time]()
	frameType = reflect.TypeFor[Frame]()
)

// pathNum is a number from 1 to 1000 derived from path.
func pathNum(path string) int64 {
	h := fnv.New32a()
	h.Write([]byte(path))
	return int64(h.Sum32()%1000) + 1
}

func fill(v reflect.Value, path string) {
	if v.Type() == timeType {
		t := time.Date(2026, 11, 25, 13, 0, 0, 123456789, time.UTC)
		v.Set(reflect.ValueOf(t.Add(time.Duration(pathNum(path)) * time.Second)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(pathNum(path))
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		v.SetUint(uint64(pathNum(path)))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), path)
	case reflect.Slice:
		n := 2
		if et := v.Type().Elem(); et.Kind() == reflect.Struct && et != frameType && et != timeType {
			n = 1
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			fill(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			p := f.Name
			if path != "" && !f.Anonymous {
				p = path + "." + f.Name
			} else if f.Anonymous {
				p = path
			}
			fill(v.Field(i), p)
		}
	default:
		panic(fmt.Sprintf("populate: %s has kind %s: add a case", path, v.Kind()))
	}
}

// zeroFields returns the paths of the exported fields of the struct v
// that are zero, recursively through structs.
func zeroFields(v reflect.Value, path string) []string {
	var out []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		switch {
		case fv.IsZero():
			out = append(out, path+f.Name)
		case fv.Kind() == reflect.Struct && fv.Type() != timeType:
			out = append(out, zeroFields(fv, path+f.Name+".")...)
		}
	}
	return out
}
