package runtime

import (
	"slices"
	"sync"
)

// The registry of live loops is the package's only mutable global state: the
// inspect agent reads it to serve every loop of the process.
var registry struct {
	mu    sync.Mutex
	loops map[uint64]*Loop
}

func register(l *Loop) {
	registry.mu.Lock()
	if registry.loops == nil {
		registry.loops = make(map[uint64]*Loop)
	}
	registry.loops[l.id] = l
	publishRunning()
	registry.mu.Unlock()
}

func unregister(l *Loop) {
	registry.mu.Lock()
	delete(registry.loops, l.id)
	publishRunning()
	registry.mu.Unlock()
}

// publishRunning copies the registry for stepHere (registry.mu held).
func publishRunning() {
	ls := make([]*Loop, 0, len(registry.loops))
	for _, l := range registry.loops {
		ls = append(ls, l)
	}
	runningLoops.Store(&ls)
}

// Loops returns the loops of this process that are running, ordered by id.
// Safe from any goroutine.
func Loops() []*Loop {
	registry.mu.Lock()
	out := make([]*Loop, 0, len(registry.loops))
	for _, l := range registry.loops {
		out = append(out, l)
	}
	registry.mu.Unlock()
	slices.SortFunc(out, func(a, b *Loop) int { return int(a.id) - int(b.id) })
	return out
}

// FindTask returns the running loop that owns the live task id.
func FindTask(id uint64) (*Loop, bool) {
	for _, l := range Loops() {
		l.mu.Lock()
		found := false
		for _, t := range l.live {
			if t == nil {
				continue
			}
			if t.id == id {
				found = true
				break
			}
		}
		l.mu.Unlock()
		if found {
			return l, true
		}
	}
	return nil, false
}
