// Command bench measures herd against the native kernel in one run and
// prints one table: per-op cost natively and under `herd run`, their ratio,
// and the target from the design's "Performance targets".
//
// Each benchmark is a small C program, compiled here with gcc -O2, that
// takes an iteration count and prints the elapsed nanoseconds of its timed
// loop, so process start is excluded. Every benchmark runs -reps times
// natively and under herd, interleaved, and the table shows medians. The
// trapped-call row is also run under a minimal C tracer (seccomp
// RET_TRACE + PTRACE_CONT), the raw cost of one ptrace stop on this machine,
// which is what herd's overhead per trapped call is measured against, and
// under a minimal C seccomp user-notification supervisor in four variants
// (answered with a value or CONTINUE, with or without the synchronous
// wake-up flag), the cost of the mechanism that could answer it instead.
//
//	HERD_BIN=bin/herd go run ./conformance/bench [-markdown docs/benchmarks.md]
//
// It needs root (herd run does) and gcc. Benchmarks are not tests: nothing
// here fails on a slow result.
package main

import (
	"debug/buildinfo"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// A loopBench is one C program timed natively, under herd and, for the
// trapped call, under the reference supervisors.
type loopBench struct {
	prog     string
	count    int  // iterations per run, chosen for ~0.3-0.7 s under herd
	traced   bool // also run under the minimal C tracer
	notified bool // also run under each variant of the minimal C user-notification supervisor
}

var loopBenches = []loopBench{
	{prog: "getpid", count: 1000000, traced: true},
	{prog: "compute", count: 1000000},
	{prog: "kill", count: 30000, traced: true, notified: true},
	{prog: "getppid", count: 30000},
	{prog: "waitnohang", count: 30000},
	{prog: "fork", count: 500},
	{prog: "spawn", count: 300},
	{prog: "pipe", count: 50000},
}

func main() {
	var (
		reps      = flag.Int("reps", 7, "runs of each benchmark natively and under herd (medians are shown)")
		startReps = flag.Int("start-reps", 15, "runs of `herd run -- /bin/true` (embedded and through a daemon) and of /bin/true natively")
		traceRuns = flag.Int("trace-runs", 5, "traced runs of `herd run -- /bin/true` whose phases are shown (0: none)")
		scale     = flag.Float64("scale", 1, "multiply every iteration count by this")
		markdown  = flag.String("markdown", "", "also write the table as Markdown to `FILE` (- for stdout)")
		herd      = flag.String("herd", os.Getenv("HERD_BIN"), "the herd binary (default $HERD_BIN)")
	)
	flag.Parse()
	if err := run(*herd, *reps, *startReps, *traceRuns, *scale, *markdown); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(herd string, reps, startReps, traceRuns int, scale float64, markdown string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("herd run needs root")
	}
	if herd == "" {
		return fmt.Errorf("no herd binary: set HERD_BIN or pass -herd (make bench builds one)")
	}
	herd, err := filepath.Abs(herd)
	if err != nil {
		return err
	}
	if reps < 1 || startReps < 1 || scale <= 0 {
		return fmt.Errorf("-reps and -start-reps must be at least 1 and -scale positive")
	}
	dir, err := os.MkdirTemp("", "herd-bench-")
	if err != nil {
		return fmt.Errorf("make work dir: %w", err)
	}
	defer os.RemoveAll(dir)
	bins, err := buildPrograms(dir)
	if err != nil {
		return err
	}

	m := machineInfo()
	m.herd = herdRevision(herd)
	started := time.Now()
	res, err := measure(bins, herd, reps, startReps, scale)
	if err != nil {
		return err
	}
	if err := measureStart(res, herd, dir, startReps, traceRuns); err != nil {
		return err
	}
	rep := newReport(m, res, reps, startReps, time.Since(started))
	fmt.Print(rep.text())
	switch markdown {
	case "":
	case "-":
		fmt.Print("\n" + rep.markdown())
	default:
		if err := os.WriteFile(markdown, []byte(rep.markdown()), 0o644); err != nil {
			return fmt.Errorf("write markdown: %w", err)
		}
		fmt.Printf("\nwrote %s\n", markdown)
	}
	return nil
}

// references are the reference supervisors b also runs under.
func (b loopBench) references(bins map[string]string) []runner {
	var rs []runner
	if b.traced {
		rs = append(rs, tracerRunner(bins["tracer"]))
	}
	if b.notified {
		for _, v := range notifVariants {
			rs = append(rs, notifRunner(bins["notif"], v))
		}
	}
	return rs
}

// results holds ns/op samples by program and runner name, and the wall
// times of a whole /bin/true run natively and under herd.
type results struct {
	counts    map[string]int
	perOp     map[string]map[string][]float64
	startWall map[string][]float64
	// traces are the phases of a start by runner (starttrace.go).
	traces    map[string][]phase
	traceRuns int
}

func (r *results) add(prog, runner string, v float64) {
	if r.perOp[prog] == nil {
		r.perOp[prog] = map[string][]float64{}
	}
	r.perOp[prog][runner] = append(r.perOp[prog][runner], v)
}

// median ns/op of prog under runner.
func (r *results) med(prog, runner string) float64 { return median(r.perOp[prog][runner]) }

// measure runs every benchmark reps times in each runner. Runs of one
// benchmark in different runners are adjacent and their order rotates from
// one rep to the next, so drift on a shared machine hits each side alike.
func measure(bins map[string]string, herd string, reps, startReps int, scale float64) (*results, error) {
	res := &results{counts: map[string]int{}, perOp: map[string]map[string][]float64{}, startWall: map[string][]float64{}}
	native, underHerd := nativeRunner(), herdRunner(herd)
	for rep := range reps {
		fmt.Fprintf(os.Stderr, "bench: rep %d/%d:", rep+1, reps)
		for _, b := range loopBenches {
			count := max(1, int(float64(b.count)*scale))
			res.counts[b.prog] = count
			runners := append([]runner{native, underHerd}, b.references(bins)...)
			fmt.Fprintf(os.Stderr, " %s", b.prog)
			for i := range runners {
				r := runners[(i+rep)%len(runners)]
				ns, err := r.loopNanos(bins[b.prog], count)
				if err != nil {
					fmt.Fprintln(os.Stderr)
					return nil, err
				}
				res.add(b.prog, r.name, float64(ns)/float64(count))
			}
		}
		fmt.Fprintln(os.Stderr)
	}
	fmt.Fprintf(os.Stderr, "bench: herd run -- /bin/true x%d\n", startReps)
	for rep := range startReps {
		for i, r := range []runner{native, underHerd} {
			if rep%2 == 1 {
				r = []runner{underHerd, native}[i]
			}
			ns, err := r.wallNanos("/bin/true")
			if err != nil {
				return nil, err
			}
			res.startWall[r.name] = append(res.startWall[r.name], float64(ns))
		}
	}
	return res, nil
}

// machine describes where the numbers were taken.
type machine struct {
	cpu    string
	nproc  int
	kernel string
	load   string // 1-minute load average when the run began
	herd   string // the herd binary's source revision, from its build info
}

// herdRevision names the commit herd was built from, as the Go toolchain
// stamped it, so a table can be traced to the code it measured.
func herdRevision(herd string) string {
	info, err := buildinfo.ReadFile(herd)
	if err != nil {
		return "unknown"
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return treeRevision(herd)
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += " with uncommitted changes"
	}
	return rev
}

// treeRevision describes the git tree this runs in, for a herd built
// without VCS stamping (GOFLAGS=-buildvcs=false) that lies inside that
// tree, as `make bench` builds it just before.
func treeRevision(herd string) string {
	const unknown = "unknown (built without VCS stamping)"
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil || !strings.HasPrefix(herd, strings.TrimSpace(string(top))+"/") {
		return unknown
	}
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return unknown
	}
	rev := "built from the tree at " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		rev += " with uncommitted changes"
	}
	return rev
}

func machineInfo() machine {
	m := machine{cpu: "unknown", nproc: runtime.NumCPU()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) > 0 {
			m.load = f[0]
		}
	}
	return m
}
