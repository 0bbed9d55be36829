package runtime

import "context"

// Event is a flag that tasks can wait for (asyncio.Event). The zero Event is
// usable and unset; it binds to the loop of its first waiter. Call its
// methods on the loop goroutine.
type Event struct {
	loop    *Loop
	set     bool
	waiters waitq
}

// NewEvent returns an unset Event.
func NewEvent() *Event { return &Event{} }

// Set sets the flag and wakes every waiter.
func (e *Event) Set() {
	if e.set {
		return
	}
	e.set = true
	if e.loop != nil {
		e.waiters.grantAll(e.loop)
	}
}

// Clear unsets the flag.
func (e *Event) Clear() { e.set = false }

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
	return cur.waitGrant(&e.waiters, awaitEvent, nil)
}

// Lock is a mutual exclusion lock for tasks (asyncio.Lock): a task that
// finds it held suspends, and waiters acquire it in FIFO order. Unlock hands
// the lock to the first waiter at once, so it stays locked until that
// waiter resumes with it; a newcomer queues behind. A waiter cancelled
// before it resumes never keeps the lock: it passes to the next waiter.
// The zero Lock is usable and unlocked. Call its methods on the loop
// goroutine.
type Lock struct {
	loop    *Loop
	locked  bool
	waiters waitq
}

// NewLock returns an unlocked Lock.
func NewLock() *Lock { return &Lock{} }

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
		return nil
	}
	return cur.waitGrant(&m.waiters, awaitLock, m)
}

// Unlock releases the lock, handing it to the first waiter whose
// cancellation is not pending, if there is one. Unlocking an unlocked Lock
// panics.
func (m *Lock) Unlock() {
	if !m.locked {
		panic("runtime: Unlock of unlocked Lock")
	}
	m.locked = false
	m.pass()
}

// giveBack releases the lock a cancelled waiter was handed.
func (m *Lock) giveBack() { m.locked = false }

// pass hands a free lock to the first waiter.
func (m *Lock) pass() {
	if !m.locked && m.waiters.len() > 0 && m.waiters.grantFirst(m.loop) {
		m.locked = true
	}
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
	loop    *Loop
	value   int
	waiters waitq
}

// NewSemaphore returns a semaphore with n permits. n < 0 panics.
func NewSemaphore(n int) *Semaphore {
	if n < 0 {
		panic("runtime: NewSemaphore with a negative count")
	}
	return &Semaphore{value: n}
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
		return nil
	}
	return cur.waitGrant(&s.waiters, awaitSemaphore, s)
}

// Release returns a permit, handing it to the first waiter whose
// cancellation is not pending, if there is one.
func (s *Semaphore) Release() {
	s.value++
	s.pass()
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
