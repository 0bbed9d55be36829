// Package chain has helper chains within one package. // want package:"user package"
package chain

import (
	"context"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

func pause(d time.Duration) { // want pause:`^blocking: pause \(chain\.go:12\) calls time\.Sleep$`
	time.Sleep(d)
}

func helper() { // want helper:`^blocking: helper \(chain\.go:16\) calls pause \(chain\.go:12\), which calls time\.Sleep$`
	pause(time.Second)
}

// ping and pong recurse; pong blocks, so both do.
func ping(n int) { // want ping:`^blocking: ping \(chain\.go:22\) calls pong \(chain\.go:27\), which receives from a channel$`
	if n > 0 {
		pong(n - 1)
	}
}

func pong(n int) { // want pong:"blocking"
	<-make(chan int)
	ping(n)
}

// even and odd recurse without blocking: no fact, and no endless loop.
func even(n int) bool { return n == 0 || odd(n-1) }
func odd(n int) bool  { return n != 0 && even(n-1) }

func task(ctx context.Context) {
	runtime.Spawn(ctx, func(ctx context.Context) (bool, error) {
		helper() // want `^blocks the event loop: calls helper \(chain\.go:16\), which calls pause \(chain\.go:12\), which calls time\.Sleep; use runtime\.Sleep\(ctx, d\)$`
		pause(1) // want `^blocks the event loop: calls pause \(chain\.go:12\), which calls time\.Sleep;`
		ping(3)  // want `calls ping \(chain\.go:22\), which calls pong \(chain\.go:27\), which receives from a channel; use a runtime\.Queue`
		return even(4), nil
	})
}
