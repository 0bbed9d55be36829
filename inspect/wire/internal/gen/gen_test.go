package gen

import (
	"strings"
	"testing"
)

func TestGenerateRefuses(t *testing.T) {
	const frame = "type Frame struct{ Function string `json:\"function\"` }\n"
	tests := []struct {
		name, src, want string
	}{
		{"unknown type", "type Task struct{ ID uint64 `json:\"id\"`; M map[string]int `json:\"m\"` }\n" + frame, "does not handle"},
		{"no tag", "type Task struct{ ID uint64 `json:\"id\"`; Name string }\n" + frame, "has no json tag"},
		{"id not first", "type Task struct{ Name string `json:\"name\"`; ID uint64 `json:\"id\"` }\n" + frame, "first field must be id"},
		{"unknown option", "type Task struct{ ID uint64 `json:\"id\"`; N int64 `json:\"n,string\"` }\n" + frame, `option "string"`},
		{"omitted frame field", "type Task struct{ ID uint64 `json:\"id\"` }\ntype Frame struct{ F string `json:\"f,omitempty\"` }\n", "must be always written"},
		{"no Frame", "type Task struct{ ID uint64 `json:\"id\"` }\n", "no struct type Frame"},
		{"too many fields", "type Task struct{ ID uint64 `json:\"id\"`\n" + manyFields(32) + "}\n" + frame, "widen wire.FieldSet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate([]byte("package wire\n" + tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "gen: ") {
				t.Errorf("Generate error = %v, want one with %q", err, tt.want)
			}
		})
	}
}

func manyFields(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("F" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " string `json:\"f" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "\"`\n")
	}
	return b.String()
}

// TestGenerateOmits checks the omitted fields' conditions, in a Task and in
// a Frame (whose first field is always written).
func TestGenerateOmits(t *testing.T) {
	src := "package wire\n" +
		"type Task struct{ ID uint64 `json:\"id\"`; N int64 `json:\"n,omitempty\"`; S []Frame `json:\"s,omitempty,omitzero\"` }\n" +
		"type Frame struct{ F string `json:\"f\"`; K string `json:\"k,omitempty\"` }\n"
	code, err := Generate([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"if fs.has(1) && t.N != 0 {",
		"if fs.has(2) && !(len(t.S) == 0 || t.S == nil) {",
		"dst = append(dst, `{\"f\":`...)",
		"if f.K != \"\" {",
	} {
		if !strings.Contains(string(code), want) {
			t.Errorf("generated code lacks %q:\n%s", want, code)
		}
	}
}
