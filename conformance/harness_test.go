package conformance

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runTimeout bounds one run of one program. Programs arm a 20 s alarm()
// watchdog of their own; this is the backstop.
const runTimeout = 60 * time.Second

var keepBuild = flag.Bool("conformance.keep", false, "keep the directory of built C programs and print its path")

// A variant is one way of linking a program.
type variant struct {
	name  string
	flags []string
}

var variants = []variant{
	{"static", []string{"-static"}},
	{"dynamic", nil},
}

// program is one conformance/c/NAME.c. Its variants are compiled when a
// test first needs them (a single subtest builds only its own program),
// and the next program's are compiled meanwhile in the background, so a
// full run keeps two compilers busy while the tests run.
type program struct {
	name      string
	src       string
	ignoreErr bool // "conformance: ignore-stderr" in the source
	next      *program
	builds    map[string]*build // variant name -> its build
	// prefetched: next's compilation has been started
	prefetched sync.Once
}

// build is one variant of one program, compiled at most once.
type build struct {
	once sync.Once
	path string
	err  error
}

var (
	workDir   string // temp dir of this test binary: built programs, herd
	programs  []*program
	staticErr error // why static linking is unavailable, if it is

	herdOnce sync.Once
	herdBin  string
	herdErr  error

	nativeMu    sync.Mutex
	nativeCache = map[string]*runResult{}
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		// Every test skips; do not spend time compiling.
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "herd-conformance-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "conformance: make work dir: %v\n", err)
		return 1
	}
	workDir = dir
	if *keepBuild {
		fmt.Fprintf(os.Stderr, "conformance: build dir %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if err := listPrograms(dir); err != nil {
		fmt.Fprintf(os.Stderr, "conformance: %v\n", err)
		return 1
	}
	defer prefetch.Wait()
	defer stopCluster()
	return m.Run()
}

// requireRoot skips: namespaces, ptrace and the setuid checks need root.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("conformance tests need root (namespaces, ptrace)")
	}
}

// listPrograms reads c/*.c; nothing is compiled yet.
func listPrograms(dir string) error {
	srcs, err := filepath.Glob(filepath.Join("c", "*.c"))
	if err != nil {
		return fmt.Errorf("list C programs: %w", err)
	}
	if len(srcs) == 0 {
		return errors.New("no C programs in conformance/c")
	}
	sort.Strings(srcs)
	if _, err := exec.LookPath("gcc"); err != nil {
		return fmt.Errorf("gcc is needed to build the conformance programs: %w", err)
	}
	staticErr = probeStatic(dir)
	for _, src := range srcs {
		text, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("read %s: %w", src, err)
		}
		p := &program{
			name:      strings.TrimSuffix(filepath.Base(src), ".c"),
			src:       src,
			ignoreErr: bytes.Contains(text, []byte("conformance: ignore-stderr")),
			builds:    map[string]*build{},
		}
		for _, v := range variants {
			p.builds[v.name] = &build{}
		}
		if n := len(programs); n > 0 {
			programs[n-1].next = p
		}
		programs = append(programs, p)
	}
	return nil
}

// prefetch compiles in the background while tests run; TestMain waits for
// it before removing the build directory.
var prefetch sync.WaitGroup

// binary compiles variant v of p once and returns its path, and the
// first time starts compiling the next program's variants in the
// background.
func (p *program) binary(v variant) (string, error) {
	b := p.compileOnce(v)
	if n := p.next; n != nil {
		p.prefetched.Do(func() {
			prefetch.Add(1)
			go func() {
				defer prefetch.Done()
				for _, v := range variants {
					if v.name != "static" || staticErr == nil {
						n.compileOnce(v)
					}
				}
			}()
		})
	}
	return b.path, b.err
}

func (p *program) compileOnce(v variant) *build {
	b := p.builds[v.name]
	b.once.Do(func() {
		b.path = filepath.Join(workDir, "bin", v.name, p.name)
		b.err = compile(p.src, b.path, v.flags)
	})
	return b
}

func compile(src, out string, extra []string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	args := []string{"-O2", "-Wall", "-Werror", "-pthread", "-o", out}
	args = append(args, extra...)
	args = append(args, src)
	cmd := exec.Command("gcc", args...)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gcc %s: %v\n%s", strings.Join(args, " "), err, buf.String())
	}
	return nil
}

// probeStatic reports whether a static glibc is installed.
func probeStatic(dir string) error {
	src := filepath.Join(dir, "probe.c")
	if err := os.WriteFile(src, []byte("int main(void){return 0;}\n"), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("gcc", "-static", "-o", filepath.Join(dir, "probe"), src)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("static linking unavailable (install libc6-dev's libc.a): %v: %s", err, out)
	}
	return nil
}

// herdBinary returns the herd executable under test: $HERD_BIN, else one
// built from ../cmd/herd once per test binary.
func herdBinary() (string, error) {
	herdOnce.Do(func() { herdBin, herdErr = HerdBinary(workDir) })
	return herdBin, herdErr
}

// runResult is what one run of a program produced.
type runResult struct {
	stdout, stderr string // normalised
	status         int    // exit code, or 128+N if killed by signal N
	failure        string // the run itself failed (timeout, could not start)
}

// run executes argv in its own process group with a fresh working
// directory and a fixed environment, kills the group on timeout and after
// exit (nothing is left behind), and normalises the output.
func run(t *testing.T, argv []string) *runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LC_ALL=C",
		"HOME=/root",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second

	res := &runResult{}
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // leftovers of the group
	}
	switch {
	case ctx.Err() != nil:
		res.failure = fmt.Sprintf("timed out after %v", runTimeout)
	case cmd.ProcessState == nil:
		res.failure = fmt.Sprintf("could not start: %v", err)
	default:
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			res.status = 128 + int(ws.Signal())
		} else {
			res.status = ws.ExitStatus()
		}
	}
	n := newPIDNormaliser()
	res.stdout = n.normalise(stdout.String())
	res.stderr = n.normalise(stderr.String())
	return res
}

var pidToken = regexp.MustCompile(`pid=(\d+)`)

// pidNormaliser renames each distinct number after "pid=" to P1, P2, ...
// in order of first appearance.
type pidNormaliser map[string]string

func newPIDNormaliser() pidNormaliser { return pidNormaliser{} }

func (n pidNormaliser) normalise(s string) string {
	return pidToken.ReplaceAllStringFunc(s, func(m string) string {
		num := m[len("pid="):]
		name, ok := n[num]
		if !ok {
			name = fmt.Sprintf("P%d", len(n)+1)
			n[num] = name
		}
		return "pid=" + name
	})
}

// native runs a program natively once per test binary; the result is the
// oracle for every mode.
func native(t *testing.T, bin string) *runResult {
	t.Helper()
	nativeMu.Lock()
	defer nativeMu.Unlock()
	if r, ok := nativeCache[bin]; ok {
		return r
	}
	r := run(t, []string{bin})
	nativeCache[bin] = r
	return r
}

// checkNative fails when the native run itself is broken: such a program
// cannot serve as an oracle.
func checkNative(t *testing.T, r *runResult) {
	t.Helper()
	if r.failure != "" {
		t.Fatalf("native run failed: %s\nstdout:\n%s", r.failure, r.stdout)
	}
	if r.status == 128+int(syscall.SIGALRM) {
		t.Fatalf("native run hit its own watchdog (SIGALRM): the program hangs natively\nstdout:\n%s", r.stdout)
	}
}

// expectation is an accepted difference from c/NAME.expect-diff.
type expectation struct {
	reason string
	hunks  []hunk
	status *int
}

type hunk struct{ from, to []string }

// loadExpectation parses c/NAME.MODE.expect-diff (a difference of one
// mode only), else c/NAME.expect-diff, if present:
//
//	reason: why herd differs here (required)
//	status: 1               (optional: an accepted herd exit status)
//	- native stdout line    (a run of "-" lines followed by a run of "+"
//	+ herd stdout line       lines is one hunk, applied in order)
//
// Blank lines and lines starting with '#' are ignored.
func loadExpectation(name, mode string) (*expectation, error) {
	path := filepath.Join("c", name+"."+mode+".expect-diff")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		path = filepath.Join("c", name+".expect-diff")
		data, err = os.ReadFile(path)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e := &expectation{}
	var cur *hunk
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "reason:"):
			e.reason = strings.TrimSpace(strings.TrimPrefix(line, "reason:"))
		case strings.HasPrefix(line, "status:"):
			var s int
			if _, err := fmt.Sscanf(strings.TrimPrefix(line, "status:"), "%d", &s); err != nil {
				return nil, fmt.Errorf("%s:%d: bad status: %v", path, i+1, err)
			}
			e.status = &s
		case strings.HasPrefix(line, "- "), line == "-":
			if cur == nil || len(cur.to) > 0 {
				e.hunks = append(e.hunks, hunk{})
				cur = &e.hunks[len(e.hunks)-1]
			}
			cur.from = append(cur.from, strings.TrimPrefix(strings.TrimPrefix(line, "-"), " "))
		case strings.HasPrefix(line, "+ "), line == "+":
			if cur == nil {
				return nil, fmt.Errorf("%s:%d: '+' line before any '-' line", path, i+1)
			}
			cur.to = append(cur.to, strings.TrimPrefix(strings.TrimPrefix(line, "+"), " "))
		default:
			return nil, fmt.Errorf("%s:%d: unknown line %q", path, i+1, line)
		}
	}
	if e.reason == "" {
		return nil, fmt.Errorf("%s: a reason: line is required", path)
	}
	return e, nil
}

// apply rewrites the native stdout with the accepted hunks.
func (e *expectation) apply(native string) (string, error) {
	lines := strings.Split(native, "\n")
	pos := 0
	for _, h := range e.hunks {
		at := -1
		for i := pos; i+len(h.from) <= len(lines); i++ {
			if equalLines(lines[i:i+len(h.from)], h.from) {
				at = i
				break
			}
		}
		if at < 0 {
			return "", fmt.Errorf("expect-diff is stale: native output no longer contains %q", h.from)
		}
		out := append([]string{}, lines[:at]...)
		out = append(out, h.to...)
		pos = len(out)
		lines = append(out, lines[at+len(h.from):]...)
	}
	return strings.Join(lines, "\n"), nil
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// compare reports how got differs from the native oracle want, "" if not.
func compare(name string, want, got *runResult, ignoreStderr bool, exp *expectation) (string, error) {
	if got.failure != "" {
		return fmt.Sprintf("herd run failed: %s\nstdout so far:\n%s\nstderr:\n%s", got.failure, got.stdout, got.stderr), nil
	}
	var b strings.Builder
	wantOut := []string{want.stdout}
	wantStatus := []int{want.status}
	if exp != nil {
		alt, err := exp.apply(want.stdout)
		if err != nil {
			return "", fmt.Errorf("%s.expect-diff: %w", name, err)
		}
		wantOut = append(wantOut, alt)
		if exp.status != nil {
			wantStatus = append(wantStatus, *exp.status)
		}
	}
	if !containsInt(wantStatus, got.status) {
		fmt.Fprintf(&b, "exit status: native %d, herd %d\n", want.status, got.status)
	}
	if !containsString(wantOut, got.stdout) {
		fmt.Fprintf(&b, "stdout differs (--- native, +++ herd):\n%s", lineDiff(wantOut[len(wantOut)-1], got.stdout))
	}
	if !ignoreStderr && want.stderr != got.stderr {
		fmt.Fprintf(&b, "stderr differs (--- native, +++ herd):\n%s", lineDiff(want.stderr, got.stderr))
	}
	return b.String(), nil
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// lineDiff is LineDiff for this package's messages.
func lineDiff(a, b string) string { return LineDiff(a, b, "") }
