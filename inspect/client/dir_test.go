package client

import (
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestWithDir: Dial looks in WithDir's directory only, whatever
// $TASKDUMP_DIR says, and refuses one that is missing or not a directory
// as it refuses such a $TASKDUMP_DIR; the environment is never changed.
func TestWithDir(t *testing.T) {
	dir := privateDir(t)
	l, err := net.Listen("unix", SocketPath(dir, os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler()}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })

	empty := privateDir(t)
	t.Setenv(EnvDir, empty)
	file := filepath.Join(empty, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		opts    []Option
		wantErr error  // nil: Dial succeeds
		wantMsg string // the error's text, if any
	}{
		{"dir with the socket", []Option{WithDir(dir)}, nil, ""},
		{"no option: $TASKDUMP_DIR", nil, ErrNoAgent, ""},
		{"empty dir: $TASKDUMP_DIR", []Option{WithDir("")}, ErrNoAgent, ""},
		{"missing dir", []Option{WithDir(filepath.Join(empty, "missing"))}, ErrBadDir,
			"client: bad socket directory: " + filepath.Join(empty, "missing") + " (from --dir or TASKDUMP_DIR) does not exist"},
		{"a file", []Option{WithDir(file)}, ErrBadDir,
			"client: bad socket directory: " + file + " (from --dir or TASKDUMP_DIR) is not a directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Dial(os.Getpid(), tt.opts...)
			if c != nil {
				c.Close()
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Dial: %v, want a client", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("Dial: err = %v, want %v", err, tt.wantErr)
			case tt.wantMsg != "" && err.Error() != tt.wantMsg:
				t.Fatalf("Dial: err = %q, want %q", err, tt.wantMsg)
			}
			if got := os.Getenv(EnvDir); got != empty {
				t.Errorf("%s = %q after Dial, want %q", EnvDir, got, empty)
			}
		})
	}
}
