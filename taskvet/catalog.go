package taskvet

import (
	"go/types"
	"strings"
)

// What to use instead, by kind of blocking operation.
const (
	adviceSleep  = "use runtime.Sleep(ctx, d)"
	adviceChan   = "use a runtime.Queue, runtime.Event or runtime.Future to wait on the loop, or move it into runtime.ToThread"
	adviceWait   = "use runtime.TaskGroup, runtime.Gather or runtime.Event, or move it into runtime.ToThread"
	adviceCond   = "use runtime.Event or runtime.Queue, or move it into runtime.ToThread"
	adviceMutex  = "use runtime.Lock, or move it into runtime.ToThread"
	adviceThread = "move it into runtime.ToThread"
)

// An op is one kind of blocking operation.
type op struct {
	noun   string // as the subject of a report: "time.Sleep", "channel receive"
	verb   string // at the end of a chain: "calls time.Sleep", "receives from a channel"
	advice string
	sleep  bool // time.Sleep, which has a suggested fix
}

var (
	opSend   = op{noun: "channel send", verb: "sends on a channel", advice: adviceChan}
	opRecv   = op{noun: "channel receive", verb: "receives from a channel", advice: adviceChan}
	opRange  = op{noun: "range over a channel", verb: "ranges over a channel", advice: adviceChan}
	opSelect = op{noun: "select without default", verb: "waits in a select without default", advice: adviceChan}
)

// callOp returns the op for a call of fn, a function of the standard
// library known to block, and whether it is one. mutex says whether
// sync.Mutex and sync.RWMutex locks count.
func callOp(fn *types.Func, mutex bool) (op, bool) {
	pkg := fn.Pkg()
	if pkg == nil {
		return op{}, false
	}
	name := fn.Name()
	recv := recvName(fn)
	mk := func(advice string) (op, bool) {
		n := displayName(fn)
		return op{noun: n, verb: "calls " + n, advice: advice}, true
	}
	switch pkg.Path() {
	case "time":
		if recv == "" && name == "Sleep" {
			o, _ := mk(adviceSleep)
			o.sleep = true
			return o, true
		}
	case "sync":
		switch {
		case recv == "WaitGroup" && name == "Wait":
			return mk(adviceWait)
		case recv == "Cond" && name == "Wait":
			return mk(adviceCond)
		case mutex && recv == "Mutex" && name == "Lock",
			mutex && recv == "RWMutex" && (name == "Lock" || name == "RLock"):
			return mk(adviceMutex)
		}
	case "net/http":
		switch {
		case recv == "" && (name == "Get" || name == "Head" || name == "Post" || name == "PostForm"),
			recv == "Client" && (name == "Do" || name == "Get" || name == "Head" || name == "Post" || name == "PostForm"),
			recv == "Transport" && name == "RoundTrip":
			return mk(adviceThread)
		}
	case "net":
		switch {
		case (recv == "" || recv == "Dialer" || recv == "Resolver") &&
			(strings.HasPrefix(name, "Dial") || strings.HasPrefix(name, "Lookup")),
			recv == "" && strings.HasPrefix(name, "Resolve"):
			return mk(adviceThread)
		case recv != "" && (strings.HasPrefix(name, "Read") || strings.HasPrefix(name, "Write") || strings.HasPrefix(name, "Accept")):
			// Conn, PacketConn, Listener and their concrete types.
			return mk(adviceThread)
		}
	case "crypto/tls":
		switch {
		case recv == "" && strings.HasPrefix(name, "Dial"),
			recv == "Dialer" && strings.HasPrefix(name, "Dial"),
			recv == "Conn" && (name == "Read" || name == "Write" || strings.HasPrefix(name, "Handshake")):
			return mk(adviceThread)
		}
	case "os/exec":
		if recv == "Cmd" && (name == "Run" || name == "Output" || name == "CombinedOutput" || name == "Wait") {
			return mk(adviceThread)
		}
	case "os":
		switch {
		case recv == "" && (name == "ReadFile" || name == "WriteFile" || name == "Open" || name == "OpenFile" || name == "Create" || name == "ReadDir"):
			return mk(adviceThread)
		case recv == "File" && (strings.HasPrefix(name, "Read") || strings.HasPrefix(name, "Write") || name == "Sync"):
			return mk(adviceThread)
		}
	case "database/sql":
		switch recv {
		case "DB", "Tx", "Stmt", "Conn":
			for _, p := range []string{"Query", "Exec", "Prepare", "Ping", "Begin", "Commit", "Rollback", "Raw"} {
				if strings.HasPrefix(name, p) {
					return mk(adviceThread)
				}
			}
			if recv == "DB" && name == "Conn" {
				return mk(adviceThread)
			}
		case "Rows":
			if name == "Next" || name == "NextResultSet" {
				return mk(adviceThread)
			}
		case "Row":
			if name == "Scan" {
				return mk(adviceThread)
			}
		}
	}
	return op{}, false
}

// recvName returns the name of fn's receiver's type, without pointer or
// type arguments, or "" for a function.
func recvName(fn *types.Func) string {
	sig, ok := fn.Type().(*types.Signature)
	if !ok || sig.Recv() == nil {
		return ""
	}
	t := sig.Recv().Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	switch t := types.Unalias(t).(type) {
	case *types.Named:
		return t.Obj().Name()
	case *types.Interface:
		return "interface"
	}
	return ""
}

// displayName is fn as reports name it: "time.Sleep",
// "(*sync.WaitGroup).Wait", "(net.Conn).Read".
func displayName(fn *types.Func) string {
	return newLink(fn, "").name("")
}
