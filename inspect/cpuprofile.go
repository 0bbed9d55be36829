package inspect

import (
	"bytes"
	"net/http"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

// cpuDefault is the length of a CPU profile whose request names none.
const cpuDefault = 5 * time.Second

// serveCPUProfile takes a CPU profile of the process for ?seconds= (1 to
// wire.MaxCPUSeconds, cpuDefault if absent) and answers it. While it
// runs, each task's goroutine carries the pprof labels task.id, task.name
// and loop (the runtime sets them while a CPU profile is taken), so the
// samples tell the tasks apart: the lines a hog spends its steps on.
//
// It has effects a read-only agent does not allow: the process takes
// one CPU profile at a time (the Go runtime's rule), so while it runs the
// program's own pprof.StartCPUProfile fails, and SIGPROF costs the
// process a little. For the same reason it is refused as busy while
// another CPU profile runs, the program's own included. It gives its
// request slot back at once (it waits, it does not compute), and stops
// early when the client leaves or the Agent closes. A request with a body
// is refused: net/http would not notice its client leave.
func (h *handler) serveCPUProfile(q *exchange) *apiError {
	switch {
	case h.readOnly:
		return errorf(http.StatusForbidden, wire.CodeReadOnly, "read-only agent: a CPU profile has effects on the process (its own CPU profiles fail meanwhile): refused")
	case q.r.Method != http.MethodGet:
		q.w.Header().Set("Allow", http.MethodGet)
		return errorf(http.StatusMethodNotAllowed, wire.CodeBadRequest, "%s of a CPU profile: want GET (it takes the profile)", q.r.Method)
	case q.r.ContentLength != 0:
		return errorf(http.StatusBadRequest, wire.CodeBadRequest, "a CPU profile request takes no body")
	}
	d := cpuDefault
	if s := q.r.URL.Query().Get("seconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > wire.MaxCPUSeconds {
			return errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad seconds %q: want a whole number from 1 to %d", clip(s), wire.MaxCPUSeconds)
		}
		d = time.Duration(n) * time.Second
	}
	q.release()
	// A server of the program's own (Handler) may have a WriteTimeout
	// shorter than the profile: the answer is written after it.
	_ = http.NewResponseController(q.w).SetWriteDeadline(time.Now().Add(d + maxWriteStall))
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return errorf(http.StatusServiceUnavailable, wire.CodeBusy, "busy: a CPU profile is being taken in this process already (%v)", err)
	}
	t := time.NewTimer(d)
	done := false
	select {
	case <-t.C:
		done = true
	case <-q.r.Context().Done(): // the client left
	case <-h.watch.closing: // the Agent closes
	}
	t.Stop()
	pprof.StopCPUProfile()
	if done {
		writeProfileBytes(q.w, wire.ProfileCPU, buf.Bytes())
		return nil
	}
	return errorf(http.StatusServiceUnavailable, wire.CodeBusy, "the agent is closing: the CPU profile stopped")
}
