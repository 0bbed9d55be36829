package runtime

import (
	"context"
	"slices"
	"weak"
)

// Event is a flag that tasks can wait for (asyncio.Event). The zero Event is
// usable and unset; it binds to the loop of its first waiter. Call its
// methods on the loop goroutine.
type Event struct {
	res         resource
	ps          pubState
	loop        *Loop
	home        *Loop // the loop of the task that made it, until it binds
	set         bool
	waiters     grantq
	lastSet     int64 // loop clock
	lastCleared int64
}

// NewEvent returns an unset Event. It records where it was called and by
// which task, if a task of a loop calls it (Loop.Resources lists it while
// that task lives); that costs a few nanoseconds.
//
//go:noinline
func NewEvent() *Event {
	pc := callerpc() // needs the noinline above: the caller's return address
	e := &Event{}
	e.home = e.res.initHere(resEvent, pc, e, true)
	return e
}

// at returns the loop e reports to and its clock at the current step.
func (e *Event) at() (*Loop, int64) {
	l := e.loop
	if l == nil {
		l = e.home
	}
	if l == nil {
		return nil, 0
	}
	return l, l.now
}

// Set sets the flag and wakes every waiter. Call it on the loop of the
// task that made e or waits on it: from any other goroutine it panics at
// once, with a message naming Loop.CallSoonThreadsafe (Clear too).
func (e *Event) Set() {
	e.res.loopOf(e.loop).mustOnLoop("Event.Set")
	if e.set {
		return
	}
	e.set = true
	l, now := e.at()
	e.lastSet = now
	if e.loop != nil {
		e.waiters.grantAll(e.loop)
	}
	l.touch(&e.res, e)
}

// Clear unsets the flag.
func (e *Event) Clear() {
	e.res.loopOf(e.loop).mustOnLoop("Event.Clear")
	if !e.set {
		return
	}
	e.set = false
	l, now := e.at()
	e.lastCleared = now
	l.touch(&e.res, e)
}

// publish copies the flag and its times: O(1) per change. The waiters are
// not copied (100,000 tasks that begin to wait one step after another cost
// O(n²): 13 s): Loop.Resources reads them from the waiting tasks' records.
func (e *Event) publish(p *resPub) {
	p.set, p.lastSet, p.lastCleared = e.set, e.lastSet, e.lastCleared
}

func (e *Event) state() *pubState { return &e.ps }

func (e *Event) resource() *resource { return &e.res }

func (e *Event) weakRef() weakOwner { return weakOf[Event, *Event]{weak.Make(e)} }

func (e *Event) resKind() resKind { return resEvent }

func (e *Event) busy() bool { return e.waiters.len() > 0 }

// IsSet reports whether the flag is set.
func (e *Event) IsSet() bool { return e.set }

// Wait suspends the calling task until the flag is set. It returns nil at
// once if it is set. A waiter whose cancellation is pending when it resumes
// returns the cancellation, even if the flag was set meanwhile (asyncio does
// the same). A pending waiter costs one pointer in the Event's list.
//
//go:noinline
func (e *Event) Wait(ctx context.Context) error {
	cur, err := current(ctx, "Event.Wait")
	if err != nil {
		return err
	}
	if e.set {
		return nil
	}
	if err := bind(&e.loop, cur, "Event.Wait"); err != nil {
		return err
	}
	return cur.waitGrant(&e.waiters, awaitEvent, nil, &e.res, e)
}

// Lock is a mutual exclusion lock for tasks (asyncio.Lock): a task that
// finds it held suspends, and waiters acquire it in FIFO order. Unlock hands
// the lock to the first waiter at once, so it stays locked until that
// waiter resumes with it; a newcomer queues behind. A waiter cancelled
// before it resumes never keeps the lock: it passes to the next waiter.
// The zero Lock is usable and unlocked. Call its methods on the loop
// goroutine.
type Lock struct {
	res     resource
	ps      pubState
	loop    *Loop
	locked  bool
	holder  *task // the task that acquired it, nil while free or handed to a waiter
	waiters grantq
	// lastTaken is when it was last acquired (loop clock of that step; 0:
	// never): a lock that changes hands is contended, not stuck.
	lastTaken int64
}

// NewLock returns an unlocked Lock. It records where it was called and by
// which task, if a task of a loop calls it; that costs a few nanoseconds.
//
//go:noinline
func NewLock() *Lock {
	pc := callerpc() // needs the noinline above: the caller's return address
	m := &Lock{}
	m.res.initHere(resLock, pc, m, false)
	return m
}

// Lock acquires the lock, suspending the calling task while another task
// holds it or earlier waiters queue for it. It returns at once, without
// suspending, if the lock is free. If the task is cancelled while it waits
// — even after Unlock handed it the lock, before it resumed — Lock returns
// an error wrapping ErrCancelled, and the lock passes to the next waiter.
//
//go:noinline
func (m *Lock) Lock(ctx context.Context) error {
	cur, err := current(ctx, "Lock.Lock")
	if err != nil {
		return err
	}
	if err := bind(&m.loop, cur, "Lock.Lock"); err != nil {
		return err
	}
	if !m.locked && !m.waiters.busy() {
		m.locked = true
		m.holder, m.lastTaken = cur, max(m.loop.now, 1)
		m.loop.touch(&m.res, m)
		return nil
	}
	if err := cur.waitGrant(&m.waiters, awaitLock, m, &m.res, m); err != nil {
		return err
	}
	m.holder, m.lastTaken = cur, max(m.loop.now, 1)
	m.loop.touch(&m.res, m)
	return nil
}

// Unlock releases the lock, handing it to the first waiter whose
// cancellation is not pending, if there is one. Unlocking an unlocked Lock
// panics, and so does Unlock called from a goroutine that is neither m's
// loop nor one of its tasks (use Loop.CallSoonThreadsafe from there).
func (m *Lock) Unlock() {
	m.res.loopOf(m.loop).mustOnLoop("Lock.Unlock")
	if !m.locked {
		panic("runtime: Unlock of unlocked Lock")
	}
	m.locked = false
	m.holder = nil
	m.pass()
	m.loop.touch(&m.res, m)
}

// giveBack releases the lock a cancelled waiter was handed.
func (m *Lock) giveBack() { m.locked = false }

// pass hands a free lock to the first waiter.
func (m *Lock) pass() {
	if !m.locked && m.waiters.len() > 0 && m.waiters.grantFirst(m.loop) {
		m.locked = true
	}
}

func (m *Lock) resource() *resource { return &m.res }

func (m *Lock) holders() []*task {
	if m.holder == nil {
		return nil
	}
	return []*task{m.holder}
}

func (m *Lock) free() bool { return !m.locked }

func (m *Lock) handedOut() bool { return m.waiters.handed > 0 }

// publish copies the holder and the flag: O(1) per change. The waiters are
// not copied (n tasks that queue for it one step after another cost
// O(n²)): Loop.Resources reads them from the waiting tasks' records.
func (m *Lock) publish(p *resPub) {
	p.holders = p.holders[:0]
	if m.holder != nil {
		p.holders = append(p.holders, m.holder.id)
	}
	p.set = m.locked
	p.lastTaken = m.lastTaken
}

func (m *Lock) state() *pubState { return &m.ps }

func (m *Lock) resKind() resKind { return resLock }

func (m *Lock) busy() bool {
	return m.holder != nil && !m.holder.done() || m.waiters.len() > 0
}

// Locked reports whether the lock is held, or handed to a waiter that has
// not resumed yet.
func (m *Lock) Locked() bool { return m.locked }

// Semaphore bounds how many tasks hold it at once (asyncio.Semaphore).
// It is strictly FIFO, as asyncio 3.12's is: Release hands the permit to the
// first waiter at once, and an Acquire that finds a permit free still
// queues behind waiters that were handed one and have not resumed yet, so
// a task that releases and re-acquires cannot overtake them. A waiter
// cancelled before it resumes never keeps its permit: it passes to the
// next waiter. The zero Semaphore has no permits. Call its methods on the
// loop goroutine.
type Semaphore struct {
	res     resource
	ps      pubState
	loop    *Loop
	value   int
	initial int
	// held are the tasks that acquired a permit and have not released it
	// (Release drops the releasing task's, else the oldest).
	held    []*task
	waiters grantq
	// lastTaken is when a permit was last acquired (loop clock of that
	// step; 0: never): permits that change hands are contended, not stuck.
	lastTaken int64
}

// NewSemaphore returns a semaphore with n permits. n < 0 panics. It
// records where it was called and by which task, if a task of a loop calls
// it (Loop.Resources lists it while that task lives); that costs a few
// nanoseconds.
//
//go:noinline
func NewSemaphore(n int) *Semaphore {
	pc := callerpc() // needs the noinline above: the caller's return address
	if n < 0 {
		panic("runtime: NewSemaphore with a negative count")
	}
	s := &Semaphore{value: n, initial: n}
	s.res.initHere(resSemaphore, pc, s, true)
	return s
}

// Acquire takes a permit, suspending the calling task until one is free
// and every earlier waiter has been served. If the task is cancelled while
// it waits — even after Release handed it a permit, before it resumed —
// Acquire returns an error wrapping ErrCancelled and the permit passes to
// the next waiter.
//
//go:noinline
func (s *Semaphore) Acquire(ctx context.Context) error {
	cur, err := current(ctx, "Semaphore.Acquire")
	if err != nil {
		return err
	}
	if err := bind(&s.loop, cur, "Semaphore.Acquire"); err != nil {
		return err
	}
	if s.value > 0 && !s.waiters.busy() {
		s.value--
		s.held, s.lastTaken = append(s.held, cur), max(s.loop.now, 1)
		s.loop.touch(&s.res, s)
		return nil
	}
	if err := cur.waitGrant(&s.waiters, awaitSemaphore, s, &s.res, s); err != nil {
		return err
	}
	s.held, s.lastTaken = append(s.held, cur), max(s.loop.now, 1)
	s.loop.touch(&s.res, s)
	return nil
}

// Release returns a permit, handing it to the first waiter whose
// cancellation is not pending, if there is one. Called from a goroutine
// that is neither s's loop nor one of its tasks, it panics at once (use
// Loop.CallSoonThreadsafe from there).
func (s *Semaphore) Release() {
	s.res.loopOf(s.loop).mustOnLoop("Semaphore.Release")
	s.value++
	if len(s.held) > 0 {
		i := 0
		if s.loop != nil && s.loop.stepping != nil {
			if j := slices.Index(s.held, s.loop.stepping); j >= 0 {
				i = j
			}
		}
		if i == 0 && len(s.held) > maxPublishedHolders {
			// The oldest of many, as when holders release in the order
			// they acquired: O(1), where deleting would move every other
			// holder (a semaphore of 20,000 holders moved 1.6 GB).
			// Append copies the live part when it next grows; a few
			// holders are moved instead, so that a small semaphore that
			// cycles does not reallocate.
			s.held[0] = nil
			s.held = s.held[1:]
		} else {
			s.held = slices.Delete(s.held, i, i+1)
		}
	}
	s.pass()
	s.loop.touch(&s.res, s)
}

func (s *Semaphore) resource() *resource { return &s.res }

func (s *Semaphore) weakRef() weakOwner { return weakOf[Semaphore, *Semaphore]{weak.Make(s)} }

func (s *Semaphore) holders() []*task { return s.held }

func (s *Semaphore) free() bool { return s.value > 0 }

func (s *Semaphore) handedOut() bool { return s.waiters.handed > 0 }

// publish copies the counts and the first maxPublishedHolders holders
// (n tasks that each take a permit, one step after another, would
// otherwise cost O(n²): 20,000 holders took 18 µs per step). The waiters
// are not copied either: Loop.Resources reads them from the waiting
// tasks' records.
func (s *Semaphore) publish(p *resPub) {
	p.holders = taskIDsOf(p.holders, s.held[:min(len(s.held), maxPublishedHolders)])
	p.len, p.cap = s.value, s.initial
	p.lastTaken = s.lastTaken
}

// maxPublishedHolders bounds the holders of a Semaphore that
// Loop.Resources lists (ResourceInfo.Holders).
const maxPublishedHolders = 64

func (s *Semaphore) state() *pubState { return &s.ps }

func (s *Semaphore) resKind() resKind { return resSemaphore }

func (s *Semaphore) busy() bool {
	for _, t := range s.held {
		if !t.done() {
			return true
		}
	}
	return s.waiters.len() > 0
}

// giveBack returns the permit a cancelled waiter was handed.
func (s *Semaphore) giveBack() { s.value++ }

// pass hands free permits to the first waiters.
func (s *Semaphore) pass() {
	for s.value > 0 && s.waiters.len() > 0 && s.waiters.grantFirst(s.loop) {
		s.value--
	}
}

// Available returns the number of free permits.
func (s *Semaphore) Available() int { return s.value }
