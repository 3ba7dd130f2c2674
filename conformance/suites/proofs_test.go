package suites

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// psWatch polls `herd ps --json` of the cluster while a workload runs and
// records, for each node, the programs (base names of argv[0]) seen there.
type psWatch struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	seen map[string]map[string]bool // node -> program -> seen
	errs []string
}

func watchPS(t *testing.T) *psWatch {
	w := &psWatch{stop: make(chan struct{}), done: make(chan struct{}), seen: map[string]map[string]bool{}}
	argv := []string{herd(t), "ps", "--json", "--socket", clusterSocket(t)}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			w.poll(argv)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return w
}

// poll records one `herd ps --json`.
func (w *psWatch) poll(argv []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	var procs []struct {
		Node string `json:"node"`
		Cmd  string `json:"cmd"`
	}
	if err == nil {
		err = json.Unmarshal(out, &procs)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.errs = append(w.errs, err.Error())
		return
	}
	for _, p := range procs {
		if w.seen[p.Node] == nil {
			w.seen[p.Node] = map[string]bool{}
		}
		if f := strings.Fields(p.Cmd); len(f) > 0 {
			w.seen[p.Node][filepath.Base(f[0])] = true
		}
	}
}

// end stops the polling and returns, per node, the sorted programs seen.
func (w *psWatch) end() map[string][]string {
	close(w.stop)
	<-w.done
	out := map[string][]string{}
	for node, progs := range w.seen {
		for p := range progs {
			out[node] = append(out[node], p)
		}
		sort.Strings(out[node])
	}
	return out
}

// nodesRunning lists the nodes where any of progs was seen.
func nodesRunning(seen map[string][]string, progs ...string) []string {
	var nodes []string
	for node, ps := range seen {
		if slices.ContainsFunc(ps, func(p string) bool { return slices.Contains(progs, p) }) {
			nodes = append(nodes, node)
		}
	}
	sort.Strings(nodes)
	return nodes
}

// pipelineBytes is what the pipeline proof moves: 1 GiB.
const pipelineBytes = 1 << 30

// pipelineScript is five stages: the input, a byte rotation, a copy, the
// inverse rotation and a digest, so the digest is the input's.
const pipelineScript = `head -c 1073741824 input | tr '\000-\377' '\001-\377\000' | cat | tr '\001-\377\000' '\000-\377' | sha256sum`

// TestSpreadPipeline runs a five-stage shell pipeline moving 1 GiB of a
// deterministic input natively and in spread mode, where its stages run on
// the three nodes (herd ps must show them on all three) with the pipes
// between them crossing nodes: the output must be byte-identical, and
// the digest the input's.
func TestSpreadPipeline(t *testing.T) {
	requireRoot(t)
	sh := requireProgram(t, "sh", "dash")
	for _, p := range []string{"head", "tr", "cat", "sha256sum"} {
		requireProgram(t, p, "coreutils")
	}
	dir, err := os.MkdirTemp(workDir, "pipeline-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sum := writeInput(t, filepath.Join(dir, "input"), pipelineBytes)
	s := spec{argv: []string{sh, "-c", pipelineScript}, dir: dir, timeout: 10 * time.Minute}
	nat := run(t, native, s)
	if want := sum + "  -\n"; nat.failure != "" || nat.stdout != want {
		t.Fatalf("native pipeline (%s) printed %q, want %q: no oracle\n%s", nat.summary(), nat.stdout, want, indent(nat.stderr))
	}
	w := watchPS(t)
	hrd := run(t, spread, s)
	seen := w.end()
	compareOutputs(t, nat, hrd, nil)
	t.Logf("herd ps saw, per node: %v", seen)
	if nodes := nodesRunning(seen, "head", "tr", "cat", "sha256sum"); len(nodes) < 3 {
		t.Errorf("the pipeline's stages were seen on nodes %v, want all three (herd ps saw %v; errors %v)", nodes, seen, w.errs)
	}
}

// writeInput writes n deterministic pseudo-random bytes (ChaCha8, fixed
// seed) to path and returns their SHA-256 in hex.
func writeInput(t *testing.T, path string, n int) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src := rand.NewChaCha8([32]byte{'h', 'e', 'r', 'd'})
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for left := n; left > 0; left -= len(buf) {
		b := buf[:min(len(buf), left)]
		src.Read(b)
		h.Write(b)
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// spreadUnits is the number of generated units of the spread make proof.
const spreadUnits = 18

// TestSpreadMake builds testdata/cproj with `make -j6` and generated units
// natively and in spread mode, in the same directory (paths may end up in
// the objects): the compilers run on the three nodes (herd ps must show
// cc1 on all three during the build), the binary must be bit-identical
// to the native one, and so must its run's output.
func TestSpreadMake(t *testing.T) {
	requireRoot(t)
	mk := requireProgram(t, "make", "make")
	requireProgram(t, "gcc", "gcc")
	requireProgram(t, "ar", "binutils")
	dir := filepath.Join(workDir, "spread-make")
	defer os.RemoveAll(dir)
	build := func(m mode) (res *result, app, out []byte) {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := copyTree(filepath.Join("testdata", "cproj"), dir); err != nil {
			t.Fatal(err)
		}
		argv := []string{mk, "-j6", "-s", fmt.Sprintf("NGEN=%d", spreadUnits)}
		res = run(t, m, spec{argv: argv, dir: dir, timeout: 10 * time.Minute})
		app, _ = os.ReadFile(filepath.Join(dir, "app"))
		out, _ = os.ReadFile(filepath.Join(dir, "result.txt"))
		return res, app, out
	}
	nat, natApp, natOut := build(native)
	if nat.failure != "" || nat.status != 0 || len(natApp) == 0 {
		t.Fatalf("native make -j6 fails (%s): no oracle\n%s", nat.summary(), indent(tail(nat.stdout+nat.stderr, 40)))
	}
	w := watchPS(t)
	hrd, hrdApp, hrdOut := build(spread)
	seen := w.end()
	compareOutputs(t, nat, hrd, nil)
	if !bytes.Equal(natApp, hrdApp) {
		t.Errorf("the binary built in spread mode (%d bytes) differs from the native one (%d bytes)", len(hrdApp), len(natApp))
	}
	if !bytes.Equal(natOut, hrdOut) {
		t.Errorf("the built program's output (result.txt) differs:\n%s", lineDiff(string(natOut), string(hrdOut)))
	}
	t.Logf("herd ps saw, per node: %v", seen)
	if nodes := nodesRunning(seen, "cc1"); len(nodes) < 3 {
		t.Errorf("compilers (cc1) were seen on nodes %v, want all three (herd ps saw %v; errors %v)", nodes, seen, w.errs)
	}
}
