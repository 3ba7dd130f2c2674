package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// HerdBinary returns the herd executable the test suites run: $HERD_BIN
// (make test sets it to the freshly built binary), else one built from
// herd/cmd/herd into dir. Callers build it once per test binary.
func HerdBinary(dir string) (string, error) {
	if p := os.Getenv("HERD_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("HERD_BIN=%s: %w", p, err)
		}
		return p, nil
	}
	out := filepath.Join(dir, "herd")
	if b, err := exec.Command("go", "build", "-o", out, "herd/cmd/herd").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build herd from cmd/herd: %v\n%s\nset HERD_BIN=/path/to/herd to test a prebuilt binary", err, b)
	}
	return out, nil
}
