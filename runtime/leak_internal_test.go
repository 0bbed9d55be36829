package runtime

import (
	"context"
	"errors"
	"testing"
)

// TestRetrievedFailuresAreForgotten: a long-running loop does not keep every
// failed task for the "never retrieved" report once its error was read.
func TestRetrievedFailuresAreForgotten(t *testing.T) {
	boom := errors.New("boom")
	l := NewLoop(quiet())
	err := l.Run(context.Background(), func(ctx context.Context) error {
		for range 5000 {
			tk := Spawn(ctx, func(ctx context.Context) (int, error) { return 0, boom })
			if _, err := tk.Await(ctx); !errors.Is(err, boom) {
				t.Fatalf("Await = %v, want boom", err)
			}
		}
		if got := len(l.unretr); got > 2048 {
			t.Errorf("loop keeps %d failed tasks whose errors were retrieved, want at most 2048", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
