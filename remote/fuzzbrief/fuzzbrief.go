// Package fuzzbrief runs a package's fuzz targets briefly inside plain
// `go test`: each target over its seeds and a bounded number of random
// mutations of them (bit flips, byte changes, insertions, deletions,
// truncations, splices). It is a test helper, as net/http/httptest is,
// shared by the packages that decode bytes from the network (remote,
// raftstate).
//
// Why not `go test -fuzz` from a test: that builds an instrumented test
// binary per target and runs one target at a time, a minute of two shared
// cores for a few seconds of fuzzing each; this loop costs about a second,
// runs under -race, and a failure prints the input to add as a seed. For a
// longer, coverage-guided run use `go test -run='^$' -fuzz=^FuzzX$`.
//
// HERD_FUZZ_SEED replays a run; HERD_FUZZ_N changes its length.
package fuzzbrief

import (
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A Target gives a fuzz target's seed corpus and its body, the function
// the Fuzz function passes to f.Fuzz.
type Target func(tb testing.TB) (seeds [][]byte, body func(t *testing.T, data []byte))

// Run runs every target over its seeds and random mutations of them, each
// as a subtest named after the target.
func Run(t *testing.T, targets map[string]Target) {
	names := make([]string, 0, len(targets))
	for name := range targets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			seeds, body := targets[name](t)
			for _, in := range briefInputs(t, seeds) {
				t.Run("", func(t *testing.T) {
					defer func() {
						if t.Failed() {
							t.Logf("input: %q", in)
						}
					}()
					body(t, in)
				})
				if t.Failed() {
					return
				}
			}
		})
	}
}

// briefInputs is the seeds and random mutations of them: bit flips, byte
// changes, insertions, deletions, truncations and splices.
func briefInputs(t *testing.T, seeds [][]byte) [][]byte {
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("HERD_FUZZ_SEED"), 10, 64); err == nil {
		seed = s
	}
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("HERD_FUZZ_N")); err == nil && v >= 0 {
		n = v
	}
	t.Logf("HERD_FUZZ_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x6865726421))
	out := append([][]byte(nil), seeds...)
	interesting := []byte{0, 1, 0x7f, 0x80, 0xff, '"', '{', '}', '[', ']', ',', ':', '.', '-', '9'}
	for range n {
		b := append([]byte(nil), seeds[rng.IntN(len(seeds))]...)
		for range 1 + rng.IntN(4) {
			switch op := rng.IntN(6); {
			case op == 0 && len(b) > 0:
				b[rng.IntN(len(b))] ^= 1 << rng.IntN(8)
			case op == 1 && len(b) > 0:
				b[rng.IntN(len(b))] = interesting[rng.IntN(len(interesting))]
			case op == 2:
				i := rng.IntN(len(b) + 1)
				b = append(b[:i], append([]byte{byte(rng.IntN(256))}, b[i:]...)...)
			case op == 3 && len(b) > 0:
				i := rng.IntN(len(b))
				b = append(b[:i], b[i+1:]...)
			case op == 4:
				b = b[:rng.IntN(len(b)+1)]
			default:
				o := seeds[rng.IntN(len(seeds))]
				b = append(b[:rng.IntN(len(b)+1)], o[rng.IntN(len(o)+1):]...)
			}
		}
		out = append(out, b)
	}
	return out
}

// CheckListed fails t for every Fuzz function in the *_test.go files of
// the current directory (the package under test) that targets does not
// list by its name without "Fuzz": plain go test would not run it.
func CheckListed(t *testing.T, targets map[string]Target) {
	files, _ := filepath.Glob("*_test.go")
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Fuzz") {
				continue
			}
			if _, ok := targets[strings.TrimPrefix(fn.Name.Name, "Fuzz")]; !ok {
				t.Errorf("%s: %s is missing from the brief fuzz targets, so plain go test does not run it", name, fn.Name.Name)
			}
		}
	}
}
