package sentry

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"herd/sentry/shim"
)

// The small herd-shim serves only beside the herd binary and when built
// no earlier than it: a herd rebuilt alone may need other helpers.
func TestChooseHelper(t *testing.T) {
	dir := t.TempDir()
	herd, fast := filepath.Join(dir, "herd"), filepath.Join(dir, shim.Binary)
	write := func(p string, mode os.FileMode, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(p, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	write(herd, 0o755, now)
	if got := chooseHelper(herd); got != herd {
		t.Errorf("no herd-shim: got %s, want the herd binary", got)
	}
	write(fast, 0o755, now.Add(-time.Minute))
	if got := chooseHelper(herd); got != herd {
		t.Errorf("herd-shim older than herd: got %s, want the herd binary", got)
	}
	write(fast, 0o644, now)
	if got := chooseHelper(herd); got != herd {
		t.Errorf("herd-shim not executable: got %s, want the herd binary", got)
	}
	write(fast, 0o755, now)
	if got := chooseHelper(herd); got != fast {
		t.Errorf("herd-shim as new as herd: got %s, want it", got)
	}
}
