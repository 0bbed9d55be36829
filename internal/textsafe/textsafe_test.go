package textsafe

import (
	"fmt"
	"testing"
)

func TestUnsafe(t *testing.T) {
	tests := []struct {
		r    rune
		want bool
	}{
		{'a', false},
		{'é', false},
		{'世', false},
		{'👩', false},
		{0x9b, true},    // C1 CSI
		{0x85, true},    // C1 NEL
		{0x202e, true},  // right-to-left override
		{0x2067, true},  // right-to-left isolate
		{0x200d, true},  // zero-width joiner (a format character)
		{0xfeff, true},  // byte-order mark
		{0x2028, true},  // line separator
		{0xe0001, true}, // language tag (a format character above U+FFFF)
	}
	for _, tt := range tests {
		if got := Unsafe(tt.r); got != tt.want {
			t.Errorf("Unsafe(%U) = %v, want %v", tt.r, got, tt.want)
		}
	}
}

func ExampleUnsafe() {
	for _, r := range "a\u202eb" {
		if Unsafe(r) {
			fmt.Printf("%U is escaped\n", r)
		}
	}
	// Output: U+202E is escaped
}
