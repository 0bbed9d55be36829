// Package textsafe decides which characters of text from another process
// a terminal would act on rather than show. It is the one place for that
// rule: the CLI escapes them in what it prints, and the client escapes them
// in JSON it passes on as it came.
package textsafe

import "unicode"

// Unsafe reports whether r, above ASCII, is a C1 control, a format
// character (bidirectional controls, zero-width spaces and joiners, the
// byte-order mark: invisible, they make names that look alike or shift a
// table's columns) or a line or paragraph separator. The ASCII controls
// (below 0x20, and 0x7f) are the caller's to check.
func Unsafe(r rune) bool {
	switch {
	case unicode.Is(unicode.Cf, r):
		return true
	case r >= 0x80 && r <= 0x9f: // C1: \u009b is CSI on some terminals
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f: // bidi marks
		return true
	case r >= 0x202a && r <= 0x202e: // bidi embeddings and overrides
		return true
	case r >= 0x2066 && r <= 0x2069: // bidi isolates
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}
