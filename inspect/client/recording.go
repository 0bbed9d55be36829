package client

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

// Recorder writes a recording (the format is wire.WatchMessage's
// "Recording" section): a header line, then one message per line. It
// writes to w as it goes, through a buffer that each Write flushes; it
// neither compresses nor closes w (wrap w in a gzip.Writer for a .gz
// file). Not safe for concurrent use.
type Recorder struct {
	// Flight marks the recording as a dump of the agent's flight recorder
	// in its header; set it before the first Write.
	Flight bool

	w       io.Writer
	started time.Time
	header  bool
	buf     []byte
	msgs    int64
	bytes   int64
	tasks   map[uint64]struct{}
	first   time.Time
	last    time.Time
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewRecorder returns a Recorder writing to w.
func NewRecorder(w io.Writer) *Recorder {
	return &Recorder{w: w, started: time.Now(), tasks: make(map[uint64]struct{})}
}

// Write appends m to the recording. The first message must be a snapshot
// (it carries the process the header describes): the header is written
// with it.
func (r *Recorder) Write(m *wire.WatchMessage) error {
	r.buf = r.buf[:0]
	if !r.header {
		if m.Type != wire.WatchSnapshot || m.Process == nil {
			return fmt.Errorf("client: a recording starts with a snapshot, not a message of type %q", m.Type)
		}
		h := wire.RecordingHeader{Format: wire.RecordingFormat, Version: wire.RecordingVersion,
			Schema: m.Process.Schema, Started: r.started, Flight: r.Flight, Process: *m.Process}
		b, err := json.Marshal(&h)
		if err != nil {
			return fmt.Errorf("client: recording header: %w", err)
		}
		r.buf = append(append(r.buf, b...), '\n')
	}
	if len(r.buf) > 0 { // the header
		n, err := r.w.Write(r.buf)
		r.bytes += int64(n)
		if err != nil {
			return fmt.Errorf("client: writing the recording: %w", err)
		}
		r.header = true // written once, even if the message below fails
	}
	// Written as it is encoded, 64 KiB at a time (a snapshot of 100,000
	// tasks with stacks is ~110 MB).
	cw := &countingWriter{w: r.w}
	var err error
	r.buf, err = m.WriteJSON(cw, r.buf)
	r.bytes += cw.n
	if err != nil {
		return fmt.Errorf("client: writing the recording (message %d): %w", m.Seq, err)
	}
	r.header = true
	r.msgs++
	if r.msgs == 1 {
		r.first = m.Time
	}
	r.last = m.Time
	for i := range m.Loops {
		for _, t := range m.Loops[i].New {
			r.tasks[t.ID] = struct{}{}
		}
		for _, e := range m.Loops[i].Ended {
			r.tasks[e.ID] = struct{}{}
		}
	}
	return nil
}

// Messages returns the number of messages written, Bytes the bytes
// (before any compression), Tasks the number of distinct tasks the
// messages listed (new or ended).
func (r *Recorder) Messages() int64 { return r.msgs }

// Bytes returns the bytes written, header included, before compression.
func (r *Recorder) Bytes() int64 { return r.bytes }

// Tasks returns the number of distinct tasks seen.
func (r *Recorder) Tasks() int { return len(r.tasks) }

// Span returns the time between the first message written and the last.
func (r *Recorder) Span() time.Duration { return r.last.Sub(r.first) }

// Recording reads a recording written by a Recorder (or taskdump record):
// ReadRecording checks its header, Next returns its messages in order.
type Recording struct {
	Header wire.RecordingHeader

	br      *bufio.Reader
	zr      *gzip.Reader
	maxLine int
	line    int // lines read
}

// ReadRecording reads the header of the recording in r, gzip-compressed or
// not (told by its first bytes, not by a file name). It refuses anything
// that is not a recording, or one of a later version than this package
// reads, with an error that says so. Each line is bounded
// (wire.MaxRecordingLine), so a hostile file cannot make the reader hold
// more than that at once.
func ReadRecording(r io.Reader) (*Recording, error) {
	return readRecording(r, wire.MaxRecordingLine)
}

func readRecording(r io.Reader, maxLine int) (*Recording, error) {
	rec := &Recording{maxLine: maxLine}
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("client: reading a gzipped recording: %w", err)
		}
		zr.Multistream(false)
		rec.zr = zr
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	rec.br = br
	line, err := rec.readLine()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("client: not a taskdump recording: the file is empty")
		}
		return nil, fmt.Errorf("client: reading the recording's header: %w", err)
	}
	if err := json.Unmarshal(line, &rec.Header); err != nil || rec.Header.Format != wire.RecordingFormat {
		return nil, fmt.Errorf("client: not a taskdump recording: its first line is not a header with format %q", wire.RecordingFormat)
	}
	if v := rec.Header.Version; v < 1 || v > wire.RecordingVersion {
		return nil, fmt.Errorf("client: a recording of version %d; this reader reads version %d: upgrade taskdump", v, wire.RecordingVersion)
	}
	if err := wire.CheckSchema(rec.Header.Schema); err != nil {
		return nil, fmt.Errorf("client: recording: %w", err)
	}
	return rec, nil
}

// ErrUnfinished is wrapped by Next's error about a compressed recording
// that ends, after whole lines, without the end of its compressed stream:
// its writer was killed, and nothing before was lost.
var ErrUnfinished = errors.New("the compressed stream ends without its trailer")

// Next returns the next message, or io.EOF after the last one. A last
// line cut short (a recording whose writer was killed) is an error
// wrapping io.ErrUnexpectedEOF, after the complete messages before it; a
// gzipped one whose lines are whole but whose stream has no end, one
// wrapping ErrUnfinished.
func (rec *Recording) Next() (*wire.WatchMessage, error) {
	for {
		line, err := rec.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("client: recording line %d: %w", rec.line, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, err := wire.DecodeWatchMessage(line)
		if err != nil {
			return nil, fmt.Errorf("client: recording line %d: %w", rec.line, err)
		}
		if m.Type == "" {
			return nil, fmt.Errorf("client: recording line %d: a message without a type", rec.line)
		}
		return m, nil
	}
}

// readLine returns the next line without its '\n', at most maxLine bytes.
func (rec *Recording) readLine() ([]byte, error) {
	rec.line++
	return readLine(rec.br, rec.maxLine)
}

// readLine reads one line of at most max bytes (without the '\n'). At the
// end of the input it returns io.EOF, or io.ErrUnexpectedEOF after a
// partial line.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	// A line longer than br's buffer arrives in fragments, each valid until
	// the next read: they are copied aside and joined once at the end, so
	// reading a line allocates twice its size (a 90 MB snapshot line took
	// 480 MB when one slice grew by append).
	var frags [][]byte
	n := 0
	for {
		frag, err := br.ReadSlice('\n')
		if n+len(frag) > max+1 || n+len(frag) == max+1 && frag[len(frag)-1] != '\n' {
			return nil, fmt.Errorf("a line over %s (%w)", byteSize(int64(max)), ErrTooLarge)
		}
		switch {
		case err == nil:
			if frags == nil {
				return frag[:len(frag)-1], nil
			}
			out := make([]byte, 0, n+len(frag)-1)
			for _, f := range frags {
				out = append(out, f...)
			}
			return append(out, frag[:len(frag)-1]...), nil
		case errors.Is(err, bufio.ErrBufferFull):
			frags = append(frags, bytes.Clone(frag))
			n += len(frag)
		case errors.Is(err, io.EOF):
			if n+len(frag) > 0 {
				return nil, fmt.Errorf("a last line of %d bytes without its end: %w", n+len(frag), io.ErrUnexpectedEOF)
			}
			return nil, io.EOF
		case n+len(frag) == 0 && errors.Is(err, io.ErrUnexpectedEOF):
			// Every line before is whole: only the compressed stream's
			// end is missing (its writer was killed).
			return nil, fmt.Errorf("%w: %w", ErrUnfinished, err)
		default:
			return nil, err
		}
	}
}
