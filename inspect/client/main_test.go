package client

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// privateDir returns a new directory of mode 0700, as the agent wants it
// (t.TempDir's are 0755).
func privateDir(tb testing.TB) string {
	tb.Helper()
	d := tb.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		tb.Fatal(err)
	}
	return d
}
