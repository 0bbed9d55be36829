package runtime

// markRetrieved records, on the loop, that t's result was taken (Await,
// Result, Gather, WaitFor, a TaskGroup...). A failed task's retrieval is
// also published atomically, so that History, read from any goroutine, can
// tell an error somebody saw from one nobody will (TaskInfo.Retrieved).
// Tasks that did not fail cost a bool store, as before.
func (t *task) markRetrieved() {
	t.retrieved = true
	if t.err != nil && !t.retrievedOut.Load() {
		t.retrievedOut.Store(true)
	}
}
