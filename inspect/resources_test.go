package inspect

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// TestResourcesEndpoint checks GET /v1/resources through the client: a
// lock held by one task and awaited by another, and an empty queue with a
// getter, each with its kind, creation site, holder and waiters.
func TestResourcesEndpoint(t *testing.T) {
	var holder, waiter, getter uint64
	startLoop(t, "resourced", func(ctx context.Context) {
		mu := runtime.NewLock()
		q := runtime.NewQueue[int](3)
		holder = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := mu.Lock(ctx); err != nil {
				return 0, err
			}
			return 0, runtime.Sleep(ctx, time.Hour)
		}, runtime.Named("holds")).ID()
		waiter = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, mu.Lock(ctx)
		}, runtime.Named("waits")).ID()
		getter = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return q.Get(ctx)
		}, runtime.Named("gets")).ID()
	})
	_, c := listen(t, Options{ReadOnly: true})
	var lock, queue wire.Resource
	waitFor(t, "a held lock with a waiter and a queue with a getter", func() bool {
		rs, err := c.Resources(context.Background())
		if err != nil {
			t.Fatalf("Resources: %v", err)
		}
		lock, queue = wire.Resource{}, wire.Resource{}
		for _, r := range rs {
			if r.Loop != "resourced" {
				continue
			}
			switch r.Kind {
			case wire.ResourceLock:
				lock = r
			case wire.ResourceQueue:
				queue = r
			}
		}
		return len(lock.Waiters) == 1 && len(queue.Waiters) == 1
	})
	if !slices.Equal(lock.Holders, []uint64{holder}) || !slices.Equal(lock.Waiters, []uint64{waiter}) || !lock.Set {
		t.Errorf("lock = %+v, want held by %d, awaited by %d, set", lock, holder, waiter)
	}
	if !slices.Equal(queue.Waiters, []uint64{getter}) || queue.Len != 0 || queue.Cap != 3 || len(queue.Holders) != 0 {
		t.Errorf("queue = %+v, want empty, maxsize 3, awaited by %d", queue, getter)
	}
	for _, r := range []wire.Resource{lock, queue} {
		if !strings.HasSuffix(r.CreatedAt.File, "resources_test.go") || r.CreatedAt.Line == 0 || r.ID == 0 || r.LoopID == 0 {
			t.Errorf("%s: id %d, loop id %d, created at %+v; want ids and this file's line", r.Kind, r.ID, r.LoopID, r.CreatedAt)
		}
	}
}

// TestWireResourceFillsEveryField checks that wireResource sets every
// field of wire.Resource from a runtime.ResourceInfo.
func TestWireResourceFillsEveryField(t *testing.T) {
	n := 0
	var ri runtime.ResourceInfo
	fillAll(reflect.ValueOf(&ri).Elem(), &n)
	l := runtime.NewLoop(runtime.WithName("filled"))
	if z := emptyWireFields(reflect.ValueOf(wireResource(l, &ri))); len(z) > 0 {
		t.Errorf("wireResource leaves wire.Resource fields %v zero", z)
	}
}
