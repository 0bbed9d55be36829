package inspect

import (
	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// serveResources answers GET /v1/resources with the awaitables of every
// loop (wire.Resource), loop by loop. Each loop pauses only while the
// runtime copies its records (runtime.Loop.Resources).
func (h *handler) serveResources(q *exchange) *apiError {
	return writeArray(q.w, resources(runtime.Loops()), q.release)
}

// resources converts the awaitables of loops, loop by loop. Id lists are
// never null: an empty list is [].
func resources(loops []*runtime.Loop) []wire.Resource {
	out := []wire.Resource{}
	for _, l := range loops {
		for _, r := range l.Resources() {
			out = append(out, wireResource(l, &r))
		}
	}
	return out
}

func wireResource(l *runtime.Loop, r *runtime.ResourceInfo) wire.Resource {
	ids := func(s []uint64) []uint64 {
		if s == nil {
			return []uint64{}
		}
		return s
	}
	return wire.Resource{ID: r.ID, Kind: r.Kind, Loop: l.Name(), LoopID: l.ID(),
		CreatedAt: wireFrame(r.CreatedAt), CreatedBy: r.CreatedBy, Created: r.Created,
		Holders: ids(r.Holders), Waiters: ids(r.Waiters), Putters: r.Putters,
		Len: r.Len, Cap: r.Cap, Set: r.Set, LastSet: r.LastSet, LastCleared: r.LastCleared}
}
