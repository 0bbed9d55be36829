package wire

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// FieldSet selects Task fields for AppendJSON, one bit per entry of
// TaskFields. The zero FieldSet selects every field.
type FieldSet uint32

// ParseFields returns the FieldSet of the named fields, and false if a
// name is not in TaskFields.
func ParseFields(names []string) (FieldSet, bool) {
	var fs FieldSet
	for _, n := range names {
		found := false
		for i, f := range TaskFields {
			if f == n {
				fs |= 1 << i
				found = true
				break
			}
		}
		if !found {
			return 0, false
		}
	}
	return fs, true
}

func (fs FieldSet) has(i int) bool { return fs == 0 || fs&(1<<i) != 0 }

// appendTime appends t as encoding/json writes it: RFC 3339 with
// nanoseconds, quoted.
func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// appendUints appends s as a JSON array, null if s is nil.
func appendUints(dst []byte, s []uint64) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, v := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, v, 10)
	}
	return append(dst, ']')
}

// appendFrames appends s as a JSON array of frames, null if s is nil.
func appendFrames(dst []byte, s []Frame) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = s[i].appendJSON(dst)
	}
	return append(dst, ']')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json does
// (HTML-safe, invalid UTF-8 replaced by U+FFFD).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
