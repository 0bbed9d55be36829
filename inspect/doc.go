// Package inspect is the in-process agent that lets taskdump attach to a
// live process. The Go client that talks to it is package inspect/client,
// which links neither the runtime nor this agent (as taskdump does not).
//
// Start the agent in one line, next to the loops it should show:
//
//	agent, err := inspect.Listen(inspect.Options{})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer agent.Close()
//
// The agent serves every running loop of the process (runtime.Loops) over
// HTTP/1.1 + JSON on a Unix socket at <dir>/<pid>.sock, where dir is
// $TASKDUMP_DIR, else $XDG_RUNTIME_DIR/taskdump, else
// <temp dir>/taskdump-<uid>. It answers from the runtime's snapshots, which
// never wait for a loop, so it answers while a task blocks the loop. An idle
// agent costs one goroutine blocked in accept. A request for n tasks costs
// one runtime snapshot of n records (about 2–3 µs and 700 B per task) plus
// their JSON (about 2 µs and 600 B per task, written without reflection);
// `taskdump tasks PID --json` lists 100,000 tasks in 0.3–0.4 s end to end
// (BenchmarkTasksJSON100k in cmd/taskdump).
//
// Nothing starts from init: no agent runs unless Listen is called. Programs
// that already serve HTTP can mount Handler on their own mux instead.
//
// # Using it
//
// The taskdump command is the usual client:
//
//	taskdump ps
//	taskdump tasks 4242
//	taskdump tree 4242
//	taskdump stack 4242 17
//	taskdump blocking 4242
//	taskdump profile 4242 --kind blocking -o blocking.pb.gz
//	taskdump cancel 4242 17 --msg "stuck"
//
// Every path is versioned, so curl works too:
//
//	S=$(taskdump socket 4242)    # the socket path, once the agent answers there
//	curl --unix-socket $S http://x/v1/tasks
//	curl --unix-socket $S 'http://x/v1/tasks?state=pending&name=worker-*&older_than=10s'
//	curl --unix-socket $S 'http://x/v1/tasks?waiting_longer_than=10s'
//	curl --unix-socket $S http://x/v1/tasks/17
//	curl --unix-socket $S http://x/v1/tasks/17/stack
//	curl --unix-socket $S -X POST -d '{"msg":"stuck"}' http://x/v1/tasks/17/cancel
//	curl --unix-socket $S http://x/v1/tree                  # ?fold=3: alike siblings folded
//	curl --unix-socket $S http://x/v1/resources
//	curl --unix-socket $S http://x/v1/blocking
//	curl --unix-socket $S http://x/v1/history
//	curl --unix-socket $S 'http://x/v1/snapshot?stacks=1'
//	curl --unix-socket $S http://x/v1/loops
//	curl --unix-socket $S http://x/v1/process
//	curl --unix-socket $S -o tasks.pb.gz http://x/v1/profile/tasks
//	curl --unix-socket $S -o blocking.pb.gz http://x/v1/profile/blocking
//	curl --unix-socket $S -o cpu.pb.gz 'http://x/v1/profile/cpu?seconds=5'  # CPU, by task
//	curl --unix-socket $S 'http://x/v1/doctor?stuck_after=10s'
//	curl -N --unix-socket $S 'http://x/v1/watch?interval=1s'  # JSON lines, until ^C
//	curl --unix-socket $S http://x/v1/flight                  # the last 30s of them
//
// /v1/watch streams a snapshot, then what changed, one JSON line per
// interval (wire.WatchMessage documents the stream and the recording
// format); a reader slower than the stream gets fewer, fuller messages
// with a dropped count, never a growing backlog (at most 8 streams at
// once, 4 per client process, where its pid is known); Agent.Close sends
// each stream a last message before it ends it. /v1/flight is the Agent's flight recorder (Options.FlightRecorder):
// the same stream's last seconds, from a snapshot.
//
// The profiles are gzipped pprof protocol buffers (application/octet-stream,
// offered as a download): the tasks and blocking ones built by package
// taskprof, the CPU one by runtime/pprof over ?seconds= (1 to 30; one at a
// time in a process, the program's own included; refused by a ReadOnly
// agent, since the program's own CPU profiles fail meanwhile). Open them
// with go tool pprof. The JSON types are in package wire. Errors are JSON too, with a status
// that says what went wrong: {"code":"no_such_task","error":"inspect: no
// such task 99"} with 404; 400 for a malformed id, query or body, 405 for a
// wrong method, 409 for a task that already finished, 403 for a peer that
// may not connect or a cancel or CPU profile on a ReadOnly agent, 413 for a
// body over 64 KiB, 503 when too many requests are in flight or a CPU
// profile runs already, 431 for headers over 16 KiB.
//
// Go programs attach with package inspect/client: client.Dial(pid) and
// client.DialPath(path) return a Client; client.Scan and client.Ps list the
// agents of a directory. (The same names in this package are deprecated
// aliases of those.)
//
// # Security
//
// Who may attach is decided on both sides of the socket.
//
// The agent. Listen creates a missing socket directory with mode 0700 and
// never changes an existing one: it refuses a directory that is not a
// real directory, belongs to another user, or gives group or others any
// permission, and says how to fix it (chmod 700 DIR, or set TASKDUMP_DIR).
// The socket has mode 0600. On top of the file permissions, the agent
// reads the peer's credentials on every connection (SO_PEERCRED on Linux,
// LOCAL_PEERCRED on macOS; elsewhere it answers no one) and answers only
// the same user or root; anyone else gets 403. A ReadOnly agent refuses
// cancels.
//
// The client (package inspect/client, and so the taskdump command)
// trusts a socket only in a directory that belongs to the caller, to root
// or to the target process's user, and that neither group nor others may
// write, and only a server whose credentials show the target process's
// user (on Linux, that very process), read before anything is sent; a
// refused socket is an error wrapping client.ErrUntrusted. Everything it
// reads is bounded. Package inspect/client's documentation has the
// details.
//
// Availability. Requests are bounded: 16 KiB of headers (431), 64 KiB of
// body (413), 5 s to send the headers and 10 s the whole request. At most
// 64 connections are open; at that limit the one idle the longest (kept
// alive between requests, or connected for a second without sending) is
// closed to make room, and a kept-alive connection idle for 5 s is closed
// anyway. At most 4 requests are rendered at once (others wait up to 10
// s, then get 503); an answer is rendered before, or beside, its writing,
// so a peer that does not read holds no slot and never holds up a loop's
// snapshot, and each write that makes no progress for 2 s drops the
// connection. Malformed requests get JSON errors too, including the 400,
// 431, 501 and 505 that net/http writes itself. A panic while answering
// becomes a 500 answer; it never takes the process down.
//
// Not covered: any process of the same user can serve or attach as that
// user (it could ptrace the process anyway), and root can do anything.
// Handler mounted on another server has no peer credentials: protect it
// as you would net/http/pprof.
package inspect
