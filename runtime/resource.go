package runtime

import (
	"slices"
	"sync/atomic"
	"time"
	"unsafe"
	"weak"
)

// Awaitables have an identity for a diagnosis: every Future, Event, Lock,
// Semaphore, Queue, TaskGroup and ToThread call embeds a resource that says
// what it is, where the user made it, when, and by which task. What a
// primitive holds (its holder, its waiters, a queue's length) lives in the
// primitive, on the loop goroutine; the loop publishes a copy (resPub) when
// it publishes the step that changed it, so readers on other goroutines see
// it under loop.mu as they see task records.
//
// Cost: making a primitive records a return address (callerpc, ~1 ns) and
// looks for the task running on the calling goroutine (stepHere, ~3 ns). An
// id is given only when the loop first needs one (a task waits on it, holds
// it, or a live task made a Queue, Event or Semaphore), from a block of ids
// the loop takes from the process-wide counter 256 at a time. A primitive
// whose state changes is appended once per step to the loop's dirty list
// and copied at the step's end, under the lock the loop takes then anyway.
// A Future is never published: its waiters are read from their records.

// resKind is the kind of an awaitable.
type resKind uint8

const (
	resNone resKind = iota
	resFuture
	resEvent
	resLock
	resSemaphore
	resQueue
	resTaskGroup
	resThread
)

var resKindNames = [...]string{"", "future", "event", "lock", "semaphore", "queue", "taskgroup", "to_thread"}

func (k resKind) String() string { return resKindNames[k] }

// resource is the identity of an awaitable: three words, so that a
// Future[int] stays in the 80-byte size class it had before it had one (a
// handoff through a future allocates one: 16 bytes more cost W2 5%). Its
// kind is known from the await that waits on it (awaitKindInfo.res) or
// from its pubState. Its fields are written before the loop publishes the
// resource and never after (but a sweep clears by, under loop.mu), so
// readers may read them once they found it under loop.mu.
type resource struct {
	id uint64  // 0 until the loop needs one (Loop.resID)
	pc uintptr // return address in the user's NewX or ToThread call
	by *task   // the task that made it, nil outside a task
}

// pubState is how a primitive that publishes its state (Event, Lock,
// Semaphore, Queue) stands with its loop. A Future, a TaskGroup and a
// ToThread call have none: their waiters are read from task records.
type pubState struct {
	kind    resKind
	dirty   bool    // in loop.dirty (loop goroutine)
	listed  bool    // in loop.resReg or loop.resWeak (loop goroutine)
	weakly  bool    // listed in loop.resWeak (loop goroutine)
	created int64   // loop clock of the creating step's start, 0 if unknown
	pub     *resPub // published state, guarded by loop.mu; nil until published
}

// resPub is the published state of a primitive (guarded by loop.mu).
type resPub struct {
	holders, waiters, putters []uint64
	len, cap                  int
	set                       bool
	lastSet, lastCleared      int64
	lastPut                   int64
	lastPutBy                 uint64
	lastTaken                 int64
}

// resOwner is a primitive that publishes its state through the dirty list.
type resOwner interface {
	// publish copies the primitive's state into p: on the loop goroutine,
	// under loop.mu.
	publish(p *resPub)
	// busy reports whether a live task holds it or waits on it (loop
	// goroutine).
	busy() bool
	// state returns how it stands with its loop.
	state() *pubState
	// resKind returns its kind.
	resKind() resKind
}

type dirtyRes struct {
	r *resource
	o resOwner
}

// weakable is a primitive the registry may hold weakly while it is idle
// (a Queue, Event or Semaphore a live task made, that no task holds or
// waits on): once the user dropped it, nothing can make it busy again, so
// the loop need not keep it alive.
type weakable interface {
	resOwner
	weakRef() weakOwner
}

// weakOwner is a weak reference to a primitive; get returns it, or a zero
// dirtyRes once it was collected.
type weakOwner interface {
	get() dirtyRes
}

// weakOf is the weakOwner of a *T.
type weakOf[T any, PT interface {
	*T
	resOwner
	resource() *resource
}] struct {
	p weak.Pointer[T]
}

func (w weakOf[T, PT]) get() dirtyRes {
	p := PT(w.p.Value())
	if p == nil {
		return dirtyRes{}
	}
	return dirtyRes{p.resource(), p}
}

// resIDs is the process-wide counter of awaitable ids; loops take blocks.
var resIDs atomic.Uint64

const resIDBlock = 256

// resID returns r's id, giving it one first if it has none (loop goroutine).
func (l *Loop) resID(r *resource) uint64 {
	if r.id == 0 {
		if l.resNext == l.resEnd {
			end := resIDs.Add(resIDBlock)
			l.resNext, l.resEnd = end-resIDBlock+1, end+1
		}
		r.id = l.resNext
		l.resNext++
	}
	return r.id
}

// runningLoops is the copy-on-write list of running loops, for stepHere.
var runningLoops atomic.Pointer[[]*Loop]

// stepHere returns the loop whose step (or callback) runs on the calling
// goroutine and the task of that step: nil, nil on any other goroutine, or
// where goroutine identity is unavailable (getg returns 0, off amd64). It
// costs an atomic load and a comparison per running loop.
func stepHere() (*Loop, *task) {
	g := getg()
	if g == 0 {
		return nil, nil
	}
	p := runningLoops.Load()
	if p == nil {
		return nil, nil
	}
	for _, l := range *p {
		if l.steppingG.Load() == g {
			if t := l.stepping; t != nil {
				return l, t
			}
		}
		if l.loopG.Load() == g {
			return l, nil
		}
	}
	return nil, nil
}

// initHere records the identity of a primitive made by a call with no
// context (NewLock, NewEvent, NewSemaphore, NewQueue): the task and loop
// are those running on the calling goroutine, if any. A primitive a task
// made is also registered with its loop (o non-nil), so Loop.Resources
// lists it while that task lives. It returns the loop found.
func (r *resource) initHere(kind resKind, pc uintptr, o resOwner, register bool) *Loop {
	ps := o.state()
	r.pc, ps.kind = pc, kind
	l, t := stepHere()
	if l == nil {
		return nil
	}
	r.by = t
	ps.created = l.now
	if register && t != nil {
		l.touch(r, o)
	}
	return l
}

// initIn records the identity of a primitive made in task t.
func (r *resource) initIn(pc uintptr, t *task) {
	r.pc, r.by = pc, t
}

// touch marks r's state as changed: the loop publishes it with the step
// (loop goroutine). l may be nil (a primitive not bound to a loop yet).
func (l *Loop) touch(r *resource, o resOwner) {
	if l == nil {
		return
	}
	ps := o.state()
	if ps.dirty {
		return
	}
	l.resID(r)
	// A zero Lock or Event was made without initHere: its kind is set here
	// once, before the loop lists it (publishResLocked, under loop.mu), so
	// that Resources, which reads it under loop.mu, never races this write.
	if ps.kind == resNone {
		ps.kind = o.resKind()
	}
	ps.dirty = true
	l.dirty = append(l.dirty, dirtyRes{r, o})
}

// madeByLive reports whether r is a Queue, Event or Semaphore a live task
// made: Loop.Resources lists those even when nobody holds or waits on them.
func (r *resource) madeByLive(ps *pubState) bool {
	switch ps.kind {
	case resQueue, resEvent, resSemaphore:
		return r.by != nil && !r.by.done()
	}
	return false
}

// publishResLocked publishes the primitives changed since the last time,
// registers the ones Resources must list, and sweeps the registry when it
// has doubled since the last sweep (loop goroutine, under l.mu).
func (l *Loop) publishResLocked() {
	for i, d := range l.dirty {
		r, ps := d.r, d.o.state()
		ps.dirty = false
		if ps.pub == nil {
			ps.pub = new(resPub)
		}
		d.o.publish(ps.pub)
		switch busy := d.o.busy(); {
		case ps.listed && ps.weakly && busy:
			delete(l.resWeak, r.id)
			l.listStrong(r.id, d)
		case ps.listed:
		case busy:
			l.listStrong(r.id, d)
		case r.madeByLive(ps):
			l.listWeak(r.id, d)
		}
		l.dirty[i] = dirtyRes{}
	}
	l.dirty = l.dirty[:0]
	if len(l.resReg)+len(l.resWeak) >= l.resSweepAt {
		l.sweepResLocked()
	}
}

// listStrong puts d in the registry, holding it (a primitive a task holds or
// waits on: loop goroutine, under l.mu).
func (l *Loop) listStrong(id uint64, d dirtyRes) {
	if l.resReg == nil {
		l.resReg = make(map[uint64]dirtyRes)
	}
	l.resReg[id] = d
	ps := d.o.state()
	ps.listed, ps.weakly = true, false
}

// listWeak puts d in the registry without keeping it alive, if it can be
// held weakly (an idle Queue, Event or Semaphore a live task made), else
// as listStrong does (loop goroutine, under l.mu). It costs the weak
// pointer: one small allocation, once per primitive.
func (l *Loop) listWeak(id uint64, d dirtyRes) {
	w, ok := d.o.(weakable)
	if !ok {
		l.listStrong(id, d)
		return
	}
	if l.resWeak == nil {
		l.resWeak = make(map[uint64]weakOwner)
	}
	l.resWeak[id] = w.weakRef()
	ps := d.o.state()
	ps.listed, ps.weakly = true, true
}

// registered returns the registry entry of id, if it is listed and alive
// (loop goroutine, or under l.mu).
func (l *Loop) registered(id uint64) (dirtyRes, bool) {
	if d, ok := l.resReg[id]; ok {
		return d, true
	}
	if w, ok := l.resWeak[id]; ok {
		if d := w.get(); d.r != nil {
			return d, true
		}
	}
	return dirtyRes{}, false
}

// sweepResLocked drops from the registry what no live task holds, waits on
// or made (a Queue, Event or Semaphore). Amortized O(1) per registration:
// the next sweep happens when the registry has doubled.
func (l *Loop) sweepResLocked() {
	for id, d := range l.resReg {
		if d.o.busy() {
			continue
		}
		delete(l.resReg, id)
		if d.r.madeByLive(d.o.state()) {
			l.listWeak(id, d) // idle: held weakly from now on
			continue
		}
		l.unlist(d)
	}
	for id, w := range l.resWeak {
		d := w.get()
		switch {
		case d.r == nil: // collected
			delete(l.resWeak, id)
		case d.o.busy():
			delete(l.resWeak, id)
			l.listStrong(id, d)
		case !d.r.madeByLive(d.o.state()):
			delete(l.resWeak, id)
			l.unlist(d)
		}
	}
	l.resSweepAt = max(256, 2*(len(l.resReg)+len(l.resWeak)))
}

// unlist marks d, dropped from the registry, as not listed.
func (l *Loop) unlist(d dirtyRes) {
	ps := d.o.state()
	ps.listed, ps.weakly = false, false
	if d.r.by != nil && d.r.by.done() {
		d.r.by = nil // do not keep a dead task's record alive
	}
}

// taskIDsOf appends the ids of ts to dst[:0].
func taskIDsOf(dst []uint64, ts []*task) []uint64 {
	dst = dst[:0]
	for _, t := range ts {
		dst = append(dst, t.id)
	}
	return dst
}

// Resources returns the awaitables of this loop that matter to a
// diagnosis: every one a live task holds or waits on, and every Queue,
// Event and Semaphore a live task made, ordered by id. Safe from any
// goroutine, including while a step blocks the loop: it reads what the
// loop published at the end of its last step. The loop pauses while the
// live tasks' records are walked (about as long as a Snapshot's copy);
// frames are resolved after.
//
// The loop keeps a registry of the primitives a task holds, waits on or
// made (a Queue, Event or Semaphore); it drops them when it sweeps and no
// live task holds, waits on or made them, each time the registry doubles,
// so it holds at most about twice what matters and never keeps a dead
// primitive alive for long (a registry entry costs about 200 bytes: the map
// slot and the published copy of the primitive's state). It keeps alive
// only the ones a task holds or waits on: an idle one a live task made is
// held through a weak pointer (one small allocation per primitive made in
// a task), so one the program dropped is collected and no longer listed,
// and a long-lived task that makes a Queue or an Event per request does
// not grow the registry without bound. A Future or a TaskGroup is listed while a task
// waits on it, a ToThread call while it runs. A primitive made outside any
// task (a package variable, a zero value) has no creation site, CreatedBy 0
// and gets its id when a task first uses it.
func (l *Loop) Resources() []ResourceInfo {
	out, _ := l.resources()
	return out
}

// resources is Resources; it also returns how long it held loop.mu.
func (l *Loop) resources() ([]ResourceInfo, time.Duration) {
	// What is copied under the lock is kept small, so that the loop pauses
	// as little as it can (100,000 waiting tasks: a few ms): a registry
	// entry with its published state (whose slices point into ids), and
	// for each waiting task (awaitable, await kind and task id, since). A
	// wait's creator is read after: the awaitables a task waits on outside
	// the registry (a Future, a TaskGroup, a ToThread call) never change
	// theirs, and the others are in the registry, whose entries carry
	// theirs. A Queue's getters and putters and the waiters of an Event, a
	// Lock or a Semaphore come from the task records too (their publish does
	// not copy them: see there).
	type ref struct {
		r       *resource
		by      uint64
		kind    resKind
		created int64
		pub     resPub
	}
	// Allocate outside the lock, as snapshots do, and touch every page
	// there too: the loop must not wait for the allocator, nor for the
	// kernel to fault in fresh pages (~13 µs a page on a VM).
	l.mu.Lock()
	nreg, nwait, nids := len(l.resReg)+len(l.resWeak), l.nlive, 0
	for _, d := range l.resReg {
		if p := d.o.state().pub; p != nil {
			nids += len(p.holders) + len(p.waiters) + len(p.putters)
		}
	}
	l.mu.Unlock()
	refs := prefault(make([]ref, 0, nreg+nreg/8+16))
	waits := prefault(make([]resWait, 0, nwait+nwait/8+16))
	ids := prefault(make([]uint64, 0, nids+nids/8+16))
	clone := func(src []uint64) []uint64 {
		start := len(ids)
		ids = append(ids, src...)
		return ids[start:len(ids):len(ids)]
	}
	l.mu.Lock()
	t0 := l.clock()
	add := func(d dirtyRes) {
		ps := d.o.state()
		x := ref{r: d.r, kind: ps.kind, created: ps.created}
		if d.r.by != nil {
			x.by = d.r.by.id // r.by is cleared by sweeps: read under l.mu
		}
		if p := ps.pub; p != nil {
			x.pub = *p
			x.pub.holders, x.pub.waiters, x.pub.putters = clone(p.holders), clone(p.waiters), clone(p.putters)
		}
		refs = append(refs, x)
	}
	for _, d := range l.resReg {
		add(d)
	}
	for _, w := range l.resWeak {
		if d := w.get(); d.r != nil { // nil: collected, dropped at the next sweep
			add(d)
		}
	}
	cur := l.cur
	live := l.live
	for i, t := range live {
		prefetchRecords(live, i)
		if t == nil || t == cur || t.pub.started == 0 || t.done() {
			continue
		}
		s := &t.co.susp // started, not retired: t.co is set (under loop.mu)
		if r := s.await.rsc(); r != nil {
			waits = append(waits, resWait{r, uint64(s.await.kind)<<56 | t.id, s.since})
		}
	}
	held := time.Duration(l.clock() - t0)
	l.mu.Unlock()

	byRes := make(map[*resource]*resEntry, len(refs)+len(waits)/4)
	for i := range refs {
		x := &refs[i]
		if byRes[x.r] == nil {
			byRes[x.r] = &resEntry{r: x.r, kind: x.kind, by: x.by, pub: x.pub, created: x.created}
		}
	}
	groupWaits(byRes, waits)

	fc := l.readerFrames()
	defer l.rfcMu.Unlock()
	out := make([]ResourceInfo, 0, len(byRes))
	for _, e := range byRes {
		out = append(out, l.resourceInfo(e, fc))
	}
	slices.SortFunc(out, func(a, b ResourceInfo) int { return cmpInt(a.ID, b.ID) })
	return out, held
}

// resEntry is one awaitable as Resources groups it, after the lock.
type resEntry struct {
	r       *resource
	pub     resPub
	derived []uint64  // waiters (or a ToThread call's holder) from task records
	qget    []resWait // a Queue's getters (an Event's, Lock's or Semaphore's waiters) and putters, from task records
	qput    []resWait
	by      uint64
	kind    resKind
	created int64
}

// groupWaits files each waiting task under the awaitable it waits on,
// adding the awaitables that are not in the registry (a Future, a
// TaskGroup, a ToThread call).
func groupWaits(byRes map[*resource]*resEntry, waits []resWait) {
	for _, w := range waits {
		e := byRes[w.r]
		ak := awaitKind(w.task >> 56)
		kind := awaitKinds[ak].res
		w.task &= 1<<56 - 1
		if e == nil {
			e = &resEntry{r: w.r, kind: kind}
			switch kind {
			case resFuture, resTaskGroup, resThread:
				// Never in the registry, never swept: by stays as made.
				if w.r.by != nil {
					e.by = w.r.by.id
				}
			}
			byRes[w.r] = e
		}
		switch {
		case ak == awaitQueueGet || ak == awaitEvent || ak == awaitLock || ak == awaitSemaphore:
			e.qget = append(e.qget, w)
		case ak == awaitQueuePut:
			e.qput = append(e.qput, w)
		case e.kind == resFuture || e.kind == resTaskGroup || e.kind == resThread:
			e.derived = append(e.derived, w.task)
		}
	}
}

// resourceInfo converts a grouped awaitable; fc resolves its creation site.
func (l *Loop) resourceInfo(e *resEntry, fc frameCache) ResourceInfo {
	r := e.r
	ri := ResourceInfo{
		ID: r.id, Kind: e.kind.String(), CreatedAt: fc.frame(r.pc), Created: l.wall(e.created),
		Holders: e.pub.holders, Waiters: e.pub.waiters, Putters: e.pub.putters,
		Len: e.pub.len, Cap: e.pub.cap, Set: e.pub.set,
		LastSet: l.wall(e.pub.lastSet), LastCleared: l.wall(e.pub.lastCleared),
		LastPut: l.wall(e.pub.lastPut), LastPutBy: e.pub.lastPutBy, LastTaken: l.wall(e.pub.lastTaken),
	}
	ri.CreatedBy = e.by
	switch e.kind {
	case resThread:
		ri.Holders = e.derived
	case resFuture, resTaskGroup:
		ri.Waiters = e.derived
		if e.kind == resTaskGroup && e.by != 0 {
			ri.Holders = []uint64{e.by} // its owner
		}
	case resQueue:
		ri.Waiters, ri.Putters = servedOrder(e.qget), servedOrder(e.qput)
	case resEvent:
		// A set Event has woken every waiter: those whose records still
		// say they wait on it have not resumed yet, and will return.
		if !e.pub.set {
			ri.Waiters = servedOrder(e.qget)
		}
	case resLock, resSemaphore:
		// In the order they are served (FIFO); a waiter handed the lock
		// or a permit is listed until it resumes and holds it.
		ri.Waiters = servedOrder(e.qget)
	}
	return ri
}

// servedOrder returns the task ids of a Queue's getters (or putters, or an
// Event's waiters) in the order they are served, the order in which they
// began to wait: a
// waiter woken for nothing stays in its place (awaitAt.since is kept), and
// no two tasks begin to wait in the same step. Where the clock did not
// advance between those steps (a synctest bubble), ties go by task id.
func servedOrder(ws []resWait) []uint64 {
	if len(ws) == 0 {
		return nil
	}
	slices.SortFunc(ws, func(a, b resWait) int {
		if a.since != b.since {
			return cmpInt(a.since, b.since)
		}
		return cmpInt(a.task, b.task)
	})
	out := make([]uint64, len(ws))
	for i, w := range ws {
		out[i] = w.task
	}
	return out
}

// resWait is a task's wait on an awaitable, as Resources copies it from
// the task's record: the awaitable, the await kind (top byte) and task id,
// and since when it waits (loop clock).
type resWait struct {
	r     *resource
	task  uint64
	since int64
}

func cmpInt[I int64 | uint64](a, b I) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// prefault writes the zero value at every 4 KiB of s's backing array
// (len(s) stays): a fresh allocation's pages are faulted in by the caller,
// outside any lock, not by whoever fills s under one.
func prefault[E any](s []E) []E {
	var zero E
	size := int(unsafe.Sizeof(zero))
	if size == 0 {
		return s
	}
	full := s[:cap(s)]
	for i := len(s); i < len(full); i += max(1, 4096/size) {
		full[i] = zero
	}
	return s
}
