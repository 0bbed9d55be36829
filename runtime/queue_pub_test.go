package runtime

import (
	"context"
	"slices"
	"testing"
)

// TestQueuePublishIsConstant: a change to a Queue publishes its length and
// capacity only, whatever the number of waiters (it copied every getter's
// id on each change: a fifth of the loop's time with 20,000 idle getters),
// and Resources still lists the getters, in the order the queue serves
// them (the order they began to wait, not creation order), and the
// putters.
func TestQueuePublishIsConstant(t *testing.T) {
	const idle = 20_000
	l := NewLoop(quiet())
	err := l.Run(context.Background(), func(ctx context.Context) error {
		q := NewQueue[int](0)
		full := NewQueue[int](1)
		if err := full.PutNowait(0); err != nil {
			return err
		}
		// Created first, waits last; created last, waits first.
		getAfter := func(yields int) func(ctx context.Context) (int, error) {
			return func(ctx context.Context) (int, error) {
				for range yields {
					if err := Yield(ctx); err != nil {
						return 0, err
					}
				}
				return q.Get(ctx)
			}
		}
		var want []uint64
		late := Spawn(ctx, getAfter(2))
		middle := Spawn(ctx, getAfter(1))
		var rest []*Task[int]
		for range idle {
			rest = append(rest, Spawn(ctx, getAfter(0)))
		}
		for _, g := range rest {
			want = append(want, g.ID())
		}
		want = append(want, middle.ID(), late.ID())
		putter := Spawn(ctx, func(ctx context.Context) (int, error) { return 0, full.Put(ctx, 1) })
		for range 4 {
			if err := Yield(ctx); err != nil {
				return err
			}
		}

		var p resPub
		q.publish(&p)
		if len(p.waiters) != 0 || len(p.putters) != 0 || p.len != 0 {
			t.Errorf("publish copied %d waiters, %d putters, len %d; want 0, 0, 0 (Resources reads them from the task records)", len(p.waiters), len(p.putters), p.len)
		}
		var gotQ, gotFull ResourceInfo
		for _, r := range l.Resources() {
			switch r.ID {
			case q.res.id:
				gotQ = r
			case full.res.id:
				gotFull = r
			}
		}
		if !slices.Equal(gotQ.Waiters, want) {
			n := min(len(gotQ.Waiters), 3)
			t.Errorf("queue waiters: %d, first %v, last %v; want %d, first %v, last %v", len(gotQ.Waiters), gotQ.Waiters[:n], gotQ.Waiters[len(gotQ.Waiters)-n:], len(want), want[:3], want[len(want)-3:])
		}
		if !slices.Equal(gotFull.Putters, []uint64{putter.ID()}) || gotFull.Len != 1 || gotFull.Cap != 1 {
			t.Errorf("full queue: putters %v, len %d, cap %d; want [%d], 1, 1", gotFull.Putters, gotFull.Len, gotFull.Cap, putter.ID())
		}

		// Served in that order: the first getter that waited takes the
		// first item.
		if err := q.Put(ctx, 7); err != nil {
			return err
		}
		if _, err := full.Get(ctx); err != nil {
			return err
		}
		if v, err := rest[0].Await(ctx); v != 7 || err != nil {
			t.Errorf("first waiter got %d, %v; want 7, nil", v, err)
		}
		for range idle + 1 {
			if err := q.Put(ctx, 0); err != nil {
				return err
			}
		}
		_, err := Gather(ctx, append(rest, late, middle, putter)...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkQueueIdleGetters: items pass through a Queue on which 20,000
// other tasks wait idle; ns/item is the cost of one Put and Get.
func BenchmarkQueueIdleGetters(b *testing.B) {
	const idle = 20_000
	l := NewLoop(quiet())
	err := l.Run(context.Background(), func(ctx context.Context) error {
		q := NewQueue[int](0)
		// Each item wakes the first idle getter, which takes it and waits
		// again at the end of the line.
		idlers := make([]*Task[int], idle)
		for i := range idlers {
			idlers[i] = Spawn(ctx, func(ctx context.Context) (int, error) {
				for {
					v, err := q.Get(ctx)
					if err != nil || v < 0 {
						return v, err
					}
				}
			})
		}
		if err := Yield(ctx); err != nil {
			return err
		}
		for b.Loop() {
			if err := q.Put(ctx, 1); err != nil {
				return err
			}
			if err := Yield(ctx); err != nil {
				return err
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/item")
		for range idlers {
			if err := q.Put(ctx, -1); err != nil {
				return err
			}
		}
		_, err := Gather(ctx, idlers...)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

// TestEventPublishIsConstant: a change to an Event publishes its flag and
// times only (copying every waiter's id at each step made 100,000 tasks
// that begin to wait one after another O(n²): 13 s), and Resources still
// lists its waiters in the order they began to wait, none once it is set.
func TestEventPublishIsConstant(t *testing.T) {
	l := NewLoop(quiet())
	err := l.Run(context.Background(), func(ctx context.Context) error {
		ev := NewEvent()
		waitAfter := func(yields int) func(ctx context.Context) (int, error) {
			return func(ctx context.Context) (int, error) {
				for range yields {
					if err := Yield(ctx); err != nil {
						return 0, err
					}
				}
				return 0, ev.Wait(ctx)
			}
		}
		late := Spawn(ctx, waitAfter(2))
		early := Spawn(ctx, waitAfter(0))
		for range 4 {
			if err := Yield(ctx); err != nil {
				return err
			}
		}
		var p resPub
		ev.publish(&p)
		if len(p.waiters) != 0 {
			t.Errorf("publish copied %d waiters; want 0 (Resources reads them from the task records)", len(p.waiters))
		}
		waiters := func() []uint64 {
			for _, r := range l.Resources() {
				if r.ID == ev.res.id {
					return r.Waiters
				}
			}
			t.Fatalf("Resources lists no event %d", ev.res.id)
			return nil
		}
		if got, want := waiters(), []uint64{early.ID(), late.ID()}; !slices.Equal(got, want) {
			t.Errorf("event waiters = %v, want %v", got, want)
		}
		ev.Set()
		if err := Yield(ctx); err != nil { // publishes the step that set it
			return err
		}
		if got := waiters(); len(got) != 0 {
			t.Errorf("set event waiters = %v, want none", got)
		}
		_, err := Gather(ctx, late, early)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
