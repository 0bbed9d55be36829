package taskvet

import (
	"go/types"
	"slices"
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
	adviceServe  = "serve on a goroutine of its own (go srv.Serve(ln)) and hand each request to the loop with Loop.Submit or Loop.CallSoonThreadsafe"
	adviceTimer  = "use runtime.Sleep(ctx, d), or runtime.WaitFor for a timeout"
	// adviceCallback replaces those two in a callback, which cannot await.
	adviceCallback = "a callback cannot await: schedule what follows with runtime.CallLater, or run the wait in a task"
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
	// A receive from time.After, time.Tick or a Timer's or Ticker's C: a
	// sleep, with the sleep's advice.
	opTimer = op{noun: "receive from a timer's channel", verb: "receives from a timer's channel", advice: adviceTimer}
)

// A rule names blocking functions of one standard package: those whose
// receiver type is one of recvs ("" for a plain function) and whose name is
// one of names or starts with one of prefixes.
type rule struct {
	pkg      string
	recvs    []string
	names    []string
	prefixes []string
	advice   string
	sleep    bool // time.Sleep, which has a suggested fix
	mutex    bool // reported only with -mutex
}

// rules is the catalog of the standard library's blocking calls, the one
// place they are listed.
var rules = []rule{
	{pkg: "time", recvs: []string{""}, names: []string{"Sleep"}, advice: adviceSleep, sleep: true},
	{pkg: "sync", recvs: []string{"WaitGroup"}, names: []string{"Wait"}, advice: adviceWait},
	{pkg: "sync", recvs: []string{"Cond"}, names: []string{"Wait"}, advice: adviceCond},
	{pkg: "sync", recvs: []string{"Mutex"}, names: []string{"Lock"}, advice: adviceMutex, mutex: true},
	{pkg: "sync", recvs: []string{"RWMutex"}, names: []string{"Lock", "RLock"}, advice: adviceMutex, mutex: true},
	{pkg: "net/http", recvs: []string{"", "Client"}, names: []string{"Get", "Head", "Post", "PostForm"}, advice: adviceThread},
	{pkg: "net/http", recvs: []string{"Client"}, names: []string{"Do"}, advice: adviceThread},
	{pkg: "net/http", recvs: []string{"Transport"}, names: []string{"RoundTrip"}, advice: adviceThread},
	// A server serves until it is shut down: on the loop, forever.
	{pkg: "net/http", recvs: []string{"", "Server"}, names: []string{"ListenAndServe", "ListenAndServeTLS", "Serve", "ServeTLS"}, advice: adviceServe},
	{pkg: "net/http", recvs: []string{"Server"}, names: []string{"Shutdown"}, advice: adviceThread},
	{pkg: "net", recvs: []string{"", "Dialer", "Resolver"}, prefixes: []string{"Dial", "Lookup"}, advice: adviceThread},
	{pkg: "net", recvs: []string{""}, prefixes: []string{"Resolve"}, advice: adviceThread},
	// Conn, PacketConn, Listener and their concrete types (any receiver).
	{pkg: "net", recvs: nil, prefixes: []string{"Read", "Write", "Accept"}, advice: adviceThread},
	{pkg: "crypto/tls", recvs: []string{"", "Dialer"}, prefixes: []string{"Dial"}, advice: adviceThread},
	{pkg: "crypto/tls", recvs: []string{"Conn"}, names: []string{"Read", "Write"}, prefixes: []string{"Handshake"}, advice: adviceThread},
	{pkg: "os/exec", recvs: []string{"Cmd"}, names: []string{"Run", "Output", "CombinedOutput", "Wait"}, advice: adviceThread},
	{pkg: "os", recvs: []string{""}, names: []string{"ReadFile", "WriteFile", "Open", "OpenFile", "Create", "ReadDir"}, advice: adviceThread},
	{pkg: "os", recvs: []string{"File"}, names: []string{"Sync"}, prefixes: []string{"Read", "Write"}, advice: adviceThread},
	{pkg: "database/sql", recvs: []string{"DB", "Tx", "Stmt", "Conn"}, prefixes: []string{"Query", "Exec", "Prepare", "Ping", "Begin", "Commit", "Rollback", "Raw"}, advice: adviceThread},
	{pkg: "database/sql", recvs: []string{"DB"}, names: []string{"Conn"}, advice: adviceThread},
	{pkg: "database/sql", recvs: []string{"Rows"}, names: []string{"Next", "NextResultSet"}, advice: adviceThread},
	{pkg: "database/sql", recvs: []string{"Row"}, names: []string{"Scan"}, advice: adviceThread},
}

// matches reports whether the rule names a function recv.name of its
// package. A nil recvs matches any method (not plain functions).
func (r *rule) matches(recv, name string) bool {
	if r.recvs == nil {
		if recv == "" {
			return false
		}
	} else if !slices.Contains(r.recvs, recv) {
		return false
	}
	if slices.Contains(r.names, name) {
		return true
	}
	for _, p := range r.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// callOp returns the op for a call of fn, a function of the standard
// library known to block (one of rules), and whether it is one. mutex says
// whether sync.Mutex and sync.RWMutex locks count.
func callOp(fn *types.Func, mutex bool) (op, bool) {
	pkg := fn.Pkg()
	if pkg == nil {
		return op{}, false
	}
	path, name, recv := pkg.Path(), fn.Name(), recvName(fn)
	for i := range rules {
		r := &rules[i]
		if r.pkg != path || r.mutex && !mutex || !r.matches(recv, name) {
			continue
		}
		n := displayName(fn)
		return op{noun: n, verb: "calls " + n, advice: r.advice, sleep: r.sleep}, true
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
