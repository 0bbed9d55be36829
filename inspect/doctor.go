package inspect

import (
	"net/http"
	"time"

	"github.com/taskdump/taskdump/inspect/internal/doctor"
	"github.com/taskdump/taskdump/inspect/wire"
)

// serveDoctor answers GET /v1/doctor with the diagnosis of every loop
// (wire.Diagnosis). Query: stuck_after, a positive duration (default 10s).
// Like a snapshot, it never waits for a loop: each pauses only while the
// runtime copies its task records.
func (h *handler) serveDoctor(q *exchange) *apiError {
	d := doctor.DefaultStuckAfter
	if s := q.r.URL.Query().Get("stuck_after"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil || v <= 0 {
			return errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad stuck_after %q: want a positive duration such as 10s", clip(s))
		}
		d = v
	}
	return writeJSON(q.w, doctor.Process(doctor.Options{StuckAfter: d}), q.release)
}
