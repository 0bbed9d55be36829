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
// samples tell the tasks apart: the lines a hog spends its steps on. It
// gives its request slot back at once (it waits, it does not compute) and
// stops early if the client leaves. A process takes one CPU profile at a
// time (the Go runtime's rule): while another runs, the program's own
// included, the request is refused as busy.
func serveCPUProfile(q *exchange) *apiError {
	d := cpuDefault
	if s := q.r.URL.Query().Get("seconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > wire.MaxCPUSeconds {
			return errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad seconds %q: want a whole number from 1 to %d", clip(s), wire.MaxCPUSeconds)
		}
		d = time.Duration(n) * time.Second
	}
	q.release()
	// The server's ReadTimeout would end the request's context before the
	// profile does: its only reading is watching for the client to leave.
	_ = http.NewResponseController(q.w).SetReadDeadline(time.Time{})
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		q.w.Header().Set("Retry-After", strconv.Itoa(int(d/time.Second)))
		return errorf(http.StatusServiceUnavailable, wire.CodeBusy, "busy: a CPU profile is being taken in this process already (%v)", err)
	}
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-q.r.Context().Done():
	}
	t.Stop()
	pprof.StopCPUProfile()
	if q.r.Context().Err() == nil { // else the client left: nothing to answer
		writeProfileBytes(q.w, wire.ProfileCPU, buf.Bytes())
	}
	return nil
}
