package suites

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// goPackages are the standard library packages whose tests exercise
// processes and signals: fork/exec, pipes, wait, process groups, sessions,
// terminals, credentials, signal delivery and masks.
var goPackages = []struct {
	name string // subtest name
	pkg  string // import path
	bin  string // name of the test binary `go test -c -o DIR/` writes
}{
	{"os_exec", "os/exec", "exec.test"},
	{"os_signal", "os/signal", "signal.test"},
	{"syscall", "syscall", "syscall.test"},
}

// goTestTimeout is the -test.timeout of one package's run: natively each
// package takes a few seconds. A hung test then panics with the names of
// the running tests, which the report shows.
const goTestTimeout = 60 * time.Second

var (
	goBuildOnce sync.Once
	goBuildDir  string
	goRoot      string
	goBuildErr  error
)

// buildGoTests compiles the packages' tests with the machine's Go
// toolchain into one directory, once per test binary.
func buildGoTests(t *testing.T) (dir, goroot string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the Go toolchain is not in PATH: %v", err)
	}
	goBuildOnce.Do(func() {
		out, err := exec.Command(goTool, "env", "GOROOT").Output()
		if err != nil {
			goBuildErr = fmt.Errorf("go env GOROOT: %v", err)
			return
		}
		goRoot = strings.TrimSpace(string(out))
		goBuildDir = filepath.Join(workDir, "gotests")
		args := []string{"test", "-c", "-o", goBuildDir + "/"}
		for _, p := range goPackages {
			args = append(args, p.pkg)
		}
		cmd := exec.Command(goTool, args...)
		cmd.Dir = workDir // outside the herd module
		if b, err := cmd.CombinedOutput(); err != nil {
			goBuildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	})
	if goBuildErr != nil {
		t.Fatal(goBuildErr)
	}
	return goBuildDir, goRoot
}

// TestGoStdlib runs the tests of os/exec, os/signal and syscall
// (-test.short) natively and under herd, from the package's source
// directory (for its testdata), and requires the same outcome: the same
// exit status, every test that passes natively passes under herd, and the
// same set of skipped tests, except for the skips accepted in
// testdata/gostdlib-accepted-skips.
func TestGoStdlib(t *testing.T) {
	requireRoot(t)
	dir, goroot := buildGoTests(t)
	accepted, err := loadAcceptedSkips(filepath.Join("testdata", "gostdlib-accepted-skips"))
	if err != nil {
		t.Fatal(err)
	}
	spreadSkips, err := loadSpreadSkips(filepath.Join("testdata", "gostdlib-spread-skips"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range goPackages {
		t.Run(p.name, func(t *testing.T) {
			s := spec{
				argv: []string{filepath.Join(dir, p.bin),
					"-test.v", "-test.short", "-test.count=1",
					"-test.timeout=" + goTestTimeout.String()},
				dir: filepath.Join(goroot, "src", filepath.FromSlash(p.pkg)),
				env: append(baseEnv(),
					"GOROOT="+goroot,
					"PATH="+filepath.Join(goroot, "bin")+":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
				timeout: goTestTimeout + 30*time.Second,
			}
			nat := run(t, native, s)
			forModes(t, allModes, func(t *testing.T, m mode) {
				ms, skip := s, spreadSkips[p.pkg]
				if m.name != spread.name {
					skip = nil
				}
				if len(skip) > 0 {
					// -test.run=. too: with -test.run empty, os/exec's
					// TestMain fails when a helper command (one only a
					// skipped test uses) went unused.
					ms.argv = append(slices.Clone(s.argv), "-test.run=.",
						"-test.skip=^("+strings.Join(slices.Sorted(maps.Keys(skip)), "|")+")$")
					for name, why := range skip {
						t.Logf("accepted: %s not run in spread mode (testdata/gostdlib-spread-skips): %s", name, why)
					}
				}
				hrd := run(t, m, ms)
				compareGoTests(t, p.pkg, nat, hrd, accepted[p.pkg], skip)
			})
		})
	}
}

// goTestRun is the parsed -test.v output of one run.
type goTestRun struct {
	outcome map[string]string   // test -> PASS, FAIL, SKIP, or HUNG (running at a -test.timeout panic) or NO RESULT
	output  map[string][]string // test -> the lines printed under its name
	order   []string            // tests in order of first appearance
}

var (
	goHeader  = regexp.MustCompile(`^=== (RUN|CONT|NAME|PAUSE)\s+(\S+)`)
	goResult  = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+)`)
	goRunning = regexp.MustCompile(`^\s+(Test\S*|Example\S*|Fuzz\S*) \(`)
)

// parseGoTest reads a test binary's -test.v output.
func parseGoTest(out string) *goTestRun {
	r := &goTestRun{outcome: map[string]string{}, output: map[string][]string{}}
	see := func(name string) {
		if _, ok := r.output[name]; !ok {
			r.output[name] = nil
			r.order = append(r.order, name)
		}
	}
	cur := ""
	inRunning := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := goHeader.FindStringSubmatch(line); m != nil {
			cur = m[2]
			see(cur)
			continue
		}
		if m := goResult.FindStringSubmatch(line); m != nil {
			cur = m[2]
			see(cur)
			r.outcome[cur] = m[1]
			continue
		}
		if strings.HasPrefix(line, "panic: test timed out") {
			inRunning = true
			cur = ""
		}
		if inRunning {
			if m := goRunning.FindStringSubmatch(line); m != nil {
				see(m[1])
				r.outcome[m[1]] = "HUNG"
			}
		}
		if cur != "" {
			r.output[cur] = append(r.output[cur], line)
		}
	}
	for _, name := range r.order {
		if _, ok := r.outcome[name]; !ok {
			r.outcome[name] = "NO RESULT"
		}
	}
	return r
}

// drop forgets the tests named in names and their subtests.
func (r *goTestRun) drop(names map[string]string) {
	r.order = slices.DeleteFunc(r.order, func(name string) bool {
		top, _, _ := strings.Cut(name, "/")
		if _, ok := names[top]; !ok {
			return false
		}
		delete(r.outcome, name)
		delete(r.output, name)
		return true
	})
}

// loadSpreadSkips reads the tests spread mode does not run: lines of
// "PACKAGE TEST -- REASON". It returns package -> test -> reason.
func loadSpreadSkips(path string) (map[string]map[string]string, error) {
	return loadTestTable(path, `^(\S+)\s+(\S+)\s+--\s+(\S.*)$`, "PACKAGE TEST -- REASON")
}

// skipped returns the sorted names of the skipped tests.
func (r *goTestRun) skipped() []string {
	var out []string
	for name, o := range r.outcome {
		if o == "SKIP" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// compareGoTests fails t unless herd's run of a package's tests has the
// native outcome.
func compareGoTests(t *testing.T, pkg string, nat, hrd *result, accepted, notRun map[string]string) {
	t.Helper()
	if nat.failure != "" {
		t.Fatalf("native run of %s's tests failed, so there is no oracle: %s\noutput tail:\n%s", pkg, nat.failure, indent(tail(nat.stdout+nat.stderr, 40)))
	}
	// -test.v goes to stdout; a -test.timeout panic, naming the tests
	// still running, to stderr.
	n := parseGoTest(nat.stdout + "\n" + nat.stderr)
	h := parseGoTest(hrd.stdout + "\n" + hrd.stderr)
	n.drop(notRun)
	if len(n.order) == 0 {
		t.Fatalf("native run of %s's tests printed no test results (%s):\n%s", pkg, nat.summary(), indent(tail(nat.stdout+nat.stderr, 40)))
	}
	for _, name := range n.order {
		if o := n.outcome[name]; o != "PASS" && o != "SKIP" {
			t.Logf("note: %s fails natively (%s); herd must fail it too", name, o)
		}
	}

	var problems []string
	// Tests whose outcome differs: the ones herd breaks come with their
	// output.
	for _, name := range n.order {
		no, ho := n.outcome[name], h.outcome[name]
		if ho == "" {
			ho = "NOT RUN"
		}
		if no == ho || no == "SKIP" || ho == "SKIP" {
			continue // equal, or a skip difference, reported below
		}
		msg := fmt.Sprintf("%s: native %s, herd %s", name, no, ho)
		if lines := h.output[name]; len(lines) > 0 {
			msg += "\n" + indent(excerpt(lines, 20, 5))
		}
		problems = append(problems, msg)
	}
	for _, name := range h.order {
		if _, ok := n.outcome[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s: not run natively, herd %s", name, h.outcome[name]))
		}
	}

	// Skips: the same set, but for the accepted ones (with their reason).
	natSkips := map[string]bool{}
	for _, name := range n.skipped() {
		natSkips[name] = true
	}
	for _, name := range h.skipped() {
		if natSkips[name] {
			continue
		}
		why := strings.Join(h.output[name], "\n")
		if want, ok := accepted[name]; ok && strings.Contains(why, want) {
			t.Logf("accepted: %s skips under herd only (skip message contains %q, see testdata/gostdlib-accepted-skips)", name, want)
			continue
		}
		problems = append(problems, fmt.Sprintf("%s: skipped under herd only (native %s)\n%s", name, n.outcome[name], indent(tail(why, 10))))
	}
	for _, name := range n.skipped() {
		if h.outcome[name] != "SKIP" {
			problems = append(problems, fmt.Sprintf("%s: skipped natively only (herd %s)", name, h.outcome[name]))
		}
	}

	natOK, herdOK := nat.status == 0, hrd.failure == "" && hrd.status == 0
	if natOK != herdOK || len(problems) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%s's tests: native %s, herd %s\n", pkg, nat.summary(), hrd.summary())
		const maxProblems = 40
		for i, p := range problems {
			if i == maxProblems {
				fmt.Fprintf(&b, "... and %d more\n", len(problems)-maxProblems)
				break
			}
			b.WriteString(p + "\n")
		}
		if len(problems) == 0 || hrd.failure != "" {
			fmt.Fprintf(&b, "herd output tail:\n%s\n", indent(tail(hrd.stdout+hrd.stderr, 40)))
		}
		t.Error(b.String())
	}
}

// loadAcceptedSkips reads the accepted herd-only skips: lines of
// "PACKAGE TEST MESSAGE-SUBSTRING -- REASON" (fields split on whitespace;
// the substring, which must be in the herd skip message, may be quoted).
// It returns package -> test -> substring.
func loadAcceptedSkips(path string) (map[string]map[string]string, error) {
	return loadTestTable(path, `^(\S+)\s+(\S+)\s+"([^"]+)"\s+--\s+(\S.*)$`, `PACKAGE TEST "SUBSTRING" -- REASON`)
}

// loadTestTable reads the lines of a table of tests, but for blank ones
// and comments (#): each must match pattern, whose first three groups
// are the package, the test and the value. A missing file is an empty
// table. It returns package -> test -> value.
func loadTestTable(path, pattern, want string) (map[string]map[string]string, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	line := regexp.MustCompile(pattern)
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: want %s, got %q", path, i+1, want, l)
		}
		if out[m[1]] == nil {
			out[m[1]] = map[string]string{}
		}
		out[m[1]][m[2]] = m[3]
	}
	return out, nil
}

// excerpt returns the first head and the last tail lines, marking what it
// leaves out: a hung test's output starts with what it was doing and ends
// with goroutine dumps.
func excerpt(lines []string, head, tail int) string {
	if len(lines) <= head+tail {
		return strings.Join(lines, "\n")
	}
	out := append([]string{}, lines[:head]...)
	out = append(out, fmt.Sprintf("[... %d lines ...]", len(lines)-head-tail))
	out = append(out, lines[len(lines)-tail:]...)
	return strings.Join(out, "\n")
}
