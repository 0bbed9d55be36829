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
	for _, t := range e.waiters.ts {
		t.grant = true
	}
	if e.loop != nil {
		e.waiters.wakeAll(e.loop)
	}
}

// Clear unsets the flag.
func (e *Event) Clear() { e.set = false }

// IsSet reports whether the flag is set.
func (e *Event) IsSet() bool { return e.set }

// Wait suspends the calling task until the flag is set. It returns nil at
// once if it is set, and the cancellation if the task is cancelled first.
// A pending waiter costs one pointer in the Event's list.
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
	return cur.waitGrant(&e.waiters, awaitEvent)
}

// Lock is a mutual exclusion lock for tasks (asyncio.Lock): a task that
// finds it held suspends, and waiters acquire it in FIFO order. The zero
// Lock is usable and unlocked. Call its methods on the loop goroutine.
type Lock struct {
	loop    *Loop
	locked  bool
	waiters waitq
}

// NewLock returns an unlocked Lock.
func NewLock() *Lock { return &Lock{} }

// Lock acquires the lock, suspending the calling task while another task
// holds it. It returns the cancellation, without the lock, if the task is
// cancelled while it waits.
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
	if !m.locked && m.waiters.len() == 0 {
		m.locked = true
		return nil
	}
	return cur.waitGrant(&m.waiters, awaitLock)
}

// Unlock releases the lock, handing it to the first waiter if there is one.
// Unlocking an unlocked Lock panics.
func (m *Lock) Unlock() {
	if !m.locked {
		panic("runtime: Unlock of unlocked Lock")
	}
	if m.waiters.len() > 0 {
		t := m.waiters.popFront()
		t.grant = true
		m.loop.schedule(t)
		return
	}
	m.locked = false
}

// Locked reports whether the lock is held.
func (m *Lock) Locked() bool { return m.locked }

// Semaphore bounds how many tasks hold it at once (asyncio.Semaphore);
// waiters acquire in FIFO order. Call its methods on the loop goroutine.
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

// Acquire takes a permit, suspending the calling task until one is free.
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
	if s.value > 0 && s.waiters.len() == 0 {
		s.value--
		return nil
	}
	return cur.waitGrant(&s.waiters, awaitSemaphore)
}

// Release returns a permit, handing it to the first waiter if there is one.
func (s *Semaphore) Release() {
	if s.waiters.len() > 0 {
		t := s.waiters.popFront()
		t.grant = true
		s.loop.schedule(t)
		return
	}
	s.value++
}

// Available returns the number of free permits.
func (s *Semaphore) Available() int { return s.value }
