// Package client attaches to the inspect agent of a live process: it finds
// agent sockets (Scan, Ps), connects to one (Dial, DialPath) and reads what
// the agent serves (Client: tasks, stacks, the await tree, blocking events,
// history, snapshots, profiles) or cancels tasks. The taskdump command is
// built on it; other Go programs can be too.
//
//	c, err := client.Dial(4242)
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer c.Close()
//	tasks, err := c.Tasks(ctx, client.TaskFilter{States: []string{"pending"}})
//
// It depends on the wire types (package inspect/wire) only, never on the
// runtime or on the agent: a program that attaches does not link the task
// runtime, the agent or pprof. The agent is package inspect
// (inspect.Listen); the two share the socket directory's rules
// (DefaultDir, SocketPath, $TASKDUMP_DIR) and agree on the wire.
//
// # Security
//
// The client trusts a socket only in a directory that belongs to the
// caller, to root or to the target process's user, and that neither group
// nor others may write: where others may write, another user could have
// planted it (as in <TMPDIR>/taskdump-<uid> when XDG_RUNTIME_DIR is
// unset). After connecting, and before sending anything, it reads the
// server's credentials (SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS;
// elsewhere it trusts no server): the server must run as the target
// process's user (read from /proc/<pid>/status on Linux, sysctl on macOS),
// and on Linux must be that very process. DialPath takes the pid from a
// socket named <pid>.sock; for another name the server must run as the
// caller (as the directory's owner when the caller is root). A refused
// socket is an error wrapping ErrUntrusted, in one line, and nothing has
// been sent to it; Scan and Ps never list one as an agent. The client
// bounds what it reads (MaxListBytes for task lists, sized for 1,000,000
// tasks; MaxSmallBytes for other answers; MaxCopyBytes for copies), past
// which it stops with ErrTooLarge.
package client
