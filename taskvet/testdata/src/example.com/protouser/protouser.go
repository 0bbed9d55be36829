// Package protouser talks over connections through package proto's // want package:"user package"
// clients, in task code.
package protouser

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"strings"

	"example.com/proto"
	"github.com/taskdump/taskdump/runtime"
)

// rw reads a string and writes a buffer.
type rw struct {
	r *strings.Reader
	w *bytes.Buffer
}

func (x rw) Read(p []byte) (int, error) { // want Read:"stream field rw.r"
	return x.r.Read(p)
}

func (x rw) Write(p []byte) (int, error) { // want Write:"stream field rw.w"
	return x.w.Write(p)
}

// A codec of this package, kept in a handler's field.
type codec struct{ r *bufio.Reader }

func newCodec(rw io.Reader) *codec { // want newCodec:"stores parameter 0 in codec.r"
	return &codec{r: bufio.NewReader(rw)}
}

func (c *codec) read() string { // want read:"stream field codec.r"
	s, _ := c.r.ReadString('\n')
	return s
}

type handler struct{ c *codec }

// flushLog is given a log of unknown make: the file its field's type
// says.
func flushLog(l *proto.FileLog) { // want flushLog:"blocking: flushLog \\(protouser.go:\\d+\\) calls \\(\\*proto.FileLog\\).Flush \\(proto.go:\\d+\\), which calls \\(\\*bufio.Writer\\).Flush on an \\*os.File"
	l.Flush()
}

// A mylog embeds the package's log.
type mylog struct{ *proto.FileLog }

func tasks(ctx context.Context, conn net.Conn, f *os.File, l0 *proto.FileLog) {
	runtime.Spawn(ctx, proto.NewFileLog(f).Run) // want `^task function \(\*proto\.FileLog\)\.Run blocks the event loop: .*Flush on an \*os\.File`
	runtime.Spawn(ctx, l0.Run)                  // want `^task function \(\*proto\.FileLog\)\.Run blocks`
	runtime.Spawn(ctx, proto.NewFileLog(os.Stdout).Run)
	proto.DefaultLog = proto.NewFileLog(f)
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		c := proto.NewCodec(conn)
		c.ReadMsg()                    // want `^blocks the event loop: calls \(\*proto\.Codec\)\.ReadMsg \(proto\.go:\d+\), which calls \(\*bufio\.Reader\)\.ReadString on a net\.Conn; move it into runtime\.ToThread$`
		c.Send("x")                    // want `calls \(\*proto\.Codec\)\.Send \(proto\.go:\d+\), which calls \(\*proto\.Codec\)\.flush \(proto\.go:\d+\), which calls \(\*bufio\.Writer\)\.Flush on a net\.Conn`
		proto.NewCodec(conn).ReadMsg() // want `ReadString on a net\.Conn`
		lg := &proto.Logger{Out: conn}
		lg.Log("x")           // want `calls \(\*proto\.Logger\)\.Log \(proto\.go:\d+\), which calls io\.WriteString on a net\.Conn`
		own := newCodec(conn) // building it reads nothing
		own.read()            // want `^blocks the event loop: calls \(\*codec\)\.read \(protouser\.go:\d+\), which calls \(\*bufio\.Reader\)\.ReadString on a net\.Conn; `
		h := handler{c: newCodec(conn)}
		h.c.read() // want `calls \(\*codec\)\.read`
		// A cycle of assignments: each holds the connection.
		var a, b *proto.Codec
		a = b
		a = proto.NewCodec(conn)
		b = a
		a.ReadMsg()                           // want `ReadString on a net\.Conn`
		b.ReadMsg()                           // want `ReadString on a net\.Conn`
		proto.NewFileLog(f).Flush()           // want `calls \(\*proto\.FileLog\)\.Flush \(proto\.go:\d+\), which calls \(\*bufio\.Writer\)\.Flush on an \*os\.File`
		flushLog(proto.NewFileLog(os.Stdout)) // want `calls flushLog`
		mylog{proto.NewFileLog(f)}.Flush()    // want `calls \(\*proto\.FileLog\)\.Flush`
		proto.FlushDefault()                  // want `calls proto\.FlushDefault`
		// Built on something else, or reading nothing: nothing to report.
		c.Buffered()
		var buf bytes.Buffer
		m := proto.NewCodec(&buf)
		m.ReadMsg()
		s := proto.NewCodec(rw{strings.NewReader("x"), &buf})
		s.ReadMsg()
		(&proto.Logger{Out: os.Stdout}).Log("x")
		proto.NewFileLog(os.Stdout).Flush()
		fl := proto.NewFileLog(os.Stderr)
		fl.Flush()
		return 0, nil
	})
}

// outTasks replaces an OutLog's exported file: whatever built it, it may
// hold a file.
func outTasks(ctx context.Context, f *os.File) {
	runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		l := proto.NewOutLog(os.Stderr)
		l.Out = f
		l.Print("x")                          // want `calls \(\*proto\.OutLog\)\.Print \(proto\.go:\d+\), which calls \(\*os\.File\)\.WriteString`
		proto.NewOutLog(os.Stderr).Print("x") // want `calls \(\*proto\.OutLog\)\.Print`
		return 0, nil
	})
}
