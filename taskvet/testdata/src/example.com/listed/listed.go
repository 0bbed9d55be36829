// Package listed is analyzed with -blocking=os.Stat,(*example.com/listed.Pool).Get,example.com/listed.Slow // want package:"user package"
// and -mutex.
package listed

import (
	"context"
	"os"
	"sync"

	"github.com/taskdump/taskdump/runtime"
)

type Pool struct{}

func (p *Pool) Get() int { return 0 }

func Slow() {}

func helper(p *Pool) int { // want helper:"blocking: helper \\(listed.go:20\\) calls \\(\\*listed.Pool\\).Get \\(listed in -blocking\\)"
	return p.Get()
}

func tasks(ctx context.Context, p *Pool, mu *sync.Mutex, rw *sync.RWMutex) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		os.Stat("x") // want `^os\.Stat \(listed in -blocking\) blocks the event loop; move it into runtime\.ToThread$`
		p.Get()      // want `\(\*listed\.Pool\)\.Get \(listed in -blocking\) blocks`
		Slow()       // want `listed\.Slow \(listed in -blocking\) blocks`
		helper(p)    // want `calls helper \(listed\.go:20\), which calls \(\*listed\.Pool\)\.Get \(listed in -blocking\)`
		mu.Lock()    // want `^\(\*sync\.Mutex\)\.Lock blocks the event loop; use runtime\.Lock, or move it into runtime\.ToThread$`
		mu.Unlock()
		rw.RLock() // want `\(\*sync\.RWMutex\)\.RLock blocks`
		rw.RUnlock()
		return 0, nil
	})
}
