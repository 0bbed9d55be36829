// Package proto is a protocol client built on what its callers give it. // want package:"user package"
package proto

import (
	"bufio"
	"context"
	"io"
	"os"
)

// A Codec reads and writes lines on what it was built on.
type Codec struct {
	r *bufio.Reader
	w *bufio.Writer
}

// NewCodec builds a Codec on rw.
func NewCodec(rw io.ReadWriter) *Codec { // want NewCodec:"stores parameter 0 in Codec.r, parameter 0 in Codec.w"
	return &Codec{r: bufio.NewReader(rw), w: bufio.NewWriter(rw)}
}

// ReadMsg reads a line.
func (c *Codec) ReadMsg() (string, error) { // want ReadMsg:"stream field Codec.r: \\(\\*Codec\\).ReadMsg \\(proto.go:\\d+\\) calls \\(\\*bufio.Reader\\).ReadString on the field"
	return c.r.ReadString('\n')
}

// Send writes a line, through a helper.
func (c *Codec) Send(s string) error { // want Send:"stream field Codec.w: \\(\\*Codec\\).Send \\(proto.go:\\d+\\) calls \\(\\*Codec\\).flush \\(proto.go:\\d+\\), which calls \\(\\*bufio.Writer\\).Flush on the field"
	c.w.Buffered()
	return c.flush()
}

func (c *Codec) flush() error { // want flush:"stream field Codec.w: \\(\\*Codec\\).flush \\(proto.go:\\d+\\) calls \\(\\*bufio.Writer\\).Flush on the field"
	return c.w.Flush()
}

// Buffered reads nothing.
func (c *Codec) Buffered() int { return c.r.Buffered() }

// A Logger writes to what it was given.
type Logger struct{ Out io.Writer }

// Log writes a line.
func (l *Logger) Log(s string) { // want Log:"stream field Logger.Out: \\(\\*Logger\\).Log \\(proto.go:\\d+\\) calls io.WriteString on the field"
	io.WriteString(l.Out, s+"\n")
}

// A FileLog writes through a writer on the file it is built on.
type FileLog struct{ w *bufio.Writer }

// NewFileLog builds a FileLog on f.
func NewFileLog(f *os.File) *FileLog { // want NewFileLog:"stores parameter 0 in FileLog.w"
	return &FileLog{w: bufio.NewWriter(f)}
}

// Flush writes what is buffered to the file: its callers tell which.
func (l *FileLog) Flush() { // want Flush:"stream field FileLog.w: \\(\\*FileLog\\).Flush \\(proto.go:\\d+\\) calls \\(\\*bufio.Writer\\).Flush on the field"
	l.w.Flush()
}

// Run flushes the log, as a task.
func (l *FileLog) Run(ctx context.Context) (int, error) { // want Run:"stream field FileLog.w"
	l.Flush()
	return 0, nil
}

// DefaultLog is the package's log: other packages may replace it.
var DefaultLog = NewFileLog(os.Stderr)

// FlushDefault flushes DefaultLog, whatever it was made on.
func FlushDefault() { DefaultLog.Flush() } // want FlushDefault:"blocking: .* on an \\*os.File" FlushDefault:"stream field"

// An OutLog writes to its exported file: any package may replace it, so
// it is the file its type says whatever NewOutLog was given.
type OutLog struct{ Out *os.File }

// NewOutLog builds an OutLog on f.
func NewOutLog(f *os.File) *OutLog { return &OutLog{Out: f} } // want NewOutLog:"stores parameter 0 in OutLog.Out"

// Print writes a line to Out.
func (l *OutLog) Print(s string) { l.Out.WriteString(s) } // want Print:"blocking: .* calls \\(\\*os.File\\).WriteString$"
