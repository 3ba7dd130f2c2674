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
// signal handling.
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
			forModes(t, allModes, func(t *testing.T, m mode) {
				hrd := run(t, m, spec{argv: argv, dir: t.TempDir(), timeout: 60 * time.Second})
				compareOutputs(t, nat, hrd, nil)
			})
		})
	}
}
