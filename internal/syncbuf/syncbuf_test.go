package syncbuf_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/taskdump/taskdump/internal/syncbuf"
)

func TestConcurrentWritesAndReads(t *testing.T) {
	var b syncbuf.Buffer
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				fmt.Fprintf(&b, "%d", i)
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got, want := len(b.String()), 400; got != want {
		t.Errorf("len = %d, want %d", got, want)
	}
}
