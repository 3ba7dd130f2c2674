package suites

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMake builds testdata/cproj with `make -j4` natively in one temp copy
// and under herd in another: a generated header (a program built and run
// first), six compilations in parallel, a static library, a final link and
// a run of the program, which forks workers, spawns and waits. make must
// exit 0 both ways with the same output (-s: no command echo, whose order
// -j4 makes vary), the programs' results must be identical, and a second
// make must find nothing to do.
func TestMake(t *testing.T) {
	requireRoot(t)
	mk := requireProgram(t, "make", "make")
	requireProgram(t, "gcc", "gcc")
	requireProgram(t, "ar", "binutils")

	build := func(t *testing.T, m mode) (first, second *result, out []byte) {
		dir := t.TempDir()
		if err := copyTree(filepath.Join("testdata", "cproj"), dir); err != nil {
			t.Fatal(err)
		}
		s := spec{argv: []string{mk, "-j4", "-s"}, dir: dir, timeout: 120 * time.Second}
		first = run(t, m, s)
		second = run(t, m, spec{argv: []string{mk, "-j4"}, dir: dir, timeout: 60 * time.Second})
		out, _ = os.ReadFile(filepath.Join(dir, "result.txt"))
		return first, second, out
	}
	nat1, nat2, natOut := build(t, native)
	if nat1.failure != "" || nat1.status != 0 || len(natOut) == 0 {
		t.Fatalf("native make -j4 fails (%s), so there is no oracle:\n%s", nat1.summary(), indent(tail(nat1.stdout+nat1.stderr, 40)))
	}
	forModes(t, allModes, func(t *testing.T, m mode) {
		hrd1, hrd2, hrdOut := build(t, m)
		if hrd1.failure != "" || hrd1.status != 0 {
			t.Fatalf("make -j4 succeeds natively but fails under herd %s (%s):\n%s", m, hrd1.summary(), indent(tail(hrd1.stdout+hrd1.stderr, 40)))
		}
		compareOutputs(t, nat1, hrd1, nil)
		if !bytes.Equal(natOut, hrdOut) {
			t.Errorf("the built program's output (result.txt) differs:\n%s", lineDiff(string(natOut), string(hrdOut)))
		}
		t.Run("rebuild", func(t *testing.T) {
			compareOutputs(t, nat2, hrd2, nil)
		})
	})
}
