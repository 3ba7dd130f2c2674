package suites

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPython runs each testdata/python/CASE.py with `python3 -u -c SOURCE`
// natively and under herd and requires identical stdout, stderr and exit
// status: multiprocessing with the fork start method (a Pool, Processes with
// a Queue, a Pipe and an Event), os.fork and os.waitpid, subprocess, and
// signal handling; spread mode skips a CASE.spread-skip excuses, with its
// reason.
func TestPython(t *testing.T) {
	requireRoot(t)
	cases := testdata(t, "python", "*.py")
	for _, c := range cases {
		name := strings.TrimSuffix(filepath.Base(c), ".py")
		t.Run(name, func(t *testing.T) {
			py := requireProgram(t, "python3", "python3")
			src, err := os.ReadFile(c)
			if err != nil {
				t.Fatal(err)
			}
			argv := []string{py, "-u", "-c", string(src)}
			nat := run(t, native, spec{argv: argv, dir: t.TempDir(), timeout: 60 * time.Second})
			spreadSkip, err := loadSpreadSkip(strings.TrimSuffix(c, ".py") + ".spread-skip")
			if err != nil {
				t.Fatal(err)
			}
			forModes(t, allModes, func(t *testing.T, m mode) {
				if m.name == spread.name && spreadSkip != "" {
					t.Skipf("accepted in spread mode (%s.spread-skip): %s", name, spreadSkip)
				}
				hrd := run(t, m, spec{argv: argv, dir: t.TempDir(), timeout: 60 * time.Second})
				compareOutputs(t, nat, hrd, nil)
			})
		})
	}
}
