//go:build !linux

package runtime

// tscTrusted reports false: only Linux says whether its clock source is the
// time-stamp counter (tsc_linux.go).
func tscTrusted() bool { return false }

// tscUsable is tscTrusted as the process first found it.
func tscUsable() bool { return false }
