package examples

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocListsEveryExample: doc.go names every example directory (every
// directory with a main.go).
func TestDocListsEveryExample(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "main.go" {
			return err
		}
		n++
		dir := filepath.ToSlash(filepath.Dir(p))
		if !strings.Contains(string(doc), dir+" ") && !strings.Contains(string(doc), dir+",") &&
			!strings.Contains(string(doc), dir+"\n") {
			t.Errorf("doc.go does not list examples/%s", dir)
		}
		return nil
	})
	if err != nil || n < 10 {
		t.Errorf("found %d examples (%v), want at least 10", n, err)
	}
}
