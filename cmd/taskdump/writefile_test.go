package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWriteFileAtomicKeepsWhatIsThere: -o replaces a regular file whole,
// refuses a symbolic link (neither followed nor replaced, as record's
// output) and writes in place to what is not a regular file (a FIFO with
// a reader here; a device), which renaming over would replace.
func TestWriteFileAtomicKeepsWhatIsThere(t *testing.T) {
	dir := t.TempDir()
	write := func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }
	path := func(name string) string { return filepath.Join(dir, name) }
	for _, name := range []string{"regular", "real"} {
		if err := os.WriteFile(path(name), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, to := range map[string]string{"link": "real", "dangling": "missing"} {
		if err := os.Symlink(to, path(link)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string // what -o names
		wantErr string // "" for a write
		wantNew string // the file that must hold "new" after it ("" for none)
	}{
		{"regular", "", "regular"},
		{"new-file", "", "new-file"},
		{"link", "symbolic link (not followed)", ""},
		{"dangling", "symbolic link (not followed)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := writeFileAtomic(path(tt.name), 0o644, write)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("writeFileAtomic = %d, %v; want an error containing %q", n, err, tt.wantErr)
				}
				if got, _ := os.ReadFile(path("real")); string(got) != "old" {
					t.Errorf("the link's target holds %q; want it untouched", got)
				}
				if fi, err := os.Lstat(path(tt.name)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("%s after the refusal: %v, %v; want the link kept", tt.name, fi, err)
				}
				return
			}
			if err != nil || n != 3 {
				t.Fatalf("writeFileAtomic = %d, %v; want 3, nil", n, err)
			}
			if got, err := os.ReadFile(path(tt.wantNew)); err != nil || string(got) != "new" {
				t.Errorf("%s holds %q, %v; want \"new\"", tt.wantNew, got, err)
			}
		})
	}
	t.Run("fifo", func(t *testing.T) {
		fifo := path("fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		if _, err := writeFileAtomic(fifo, 0o644, write); err == nil || !strings.Contains(err.Error(), "cannot write") {
			t.Errorf("a FIFO without a reader: %v; want an error, not a wait", err)
		}
		r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := writeFileAtomic(fifo, 0o644, write); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		if n, _ := r.Read(buf); string(buf[:n]) != "new" {
			t.Errorf("the FIFO's reader got %q; want \"new\"", buf[:n])
		}
		if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("fifo after the write: %v, %v; want still a FIFO", fi.Mode(), err)
		}
	})
}
