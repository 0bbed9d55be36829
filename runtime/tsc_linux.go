package runtime

import (
	"bytes"
	"os"
	"sync"
)

// tscTrusted reports whether the kernel keeps time with the CPU's
// time-stamp counter: it checks the counter is invariant and in step
// across CPUs before it chooses it, and gives it up (for another clock
// source) if it finds otherwise later. One read of a sysfs file.
func tscTrusted() bool {
	b, err := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	return err == nil && bytes.Equal(bytes.TrimSpace(b), []byte("tsc"))
}

// tscUsable is tscTrusted as the process first found it: loops that start
// later do not read the file again before their watchdog does.
var tscUsable = sync.OnceValue(tscTrusted)
