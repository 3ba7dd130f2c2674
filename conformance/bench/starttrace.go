package main

// Where the start of `herd run -- /bin/true` goes (issue 12): herd, its
// herd-init, the sentry and the helpers append the phases they pass to
// the file HERD_TRACE_START names (package herd/sentry/shim); the bench
// adds its own exec of herd run and the moment it sees it exit, and
// prints each phase's median time from that exec over a few runs.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"herd/conformance/bench/tracefile"
)

// A phase is one step of a start and its median time from the exec of
// herd run, in ns.
type phase struct {
	name string
	at   float64
}

// startTrace runs r's `herd run -- /bin/true` runs times with tracing to
// file (for a daemon, the file its nodes were started with) and returns
// the median time of each phase.
func startTrace(r runner, file string, runs int) ([]phase, error) {
	at := map[string][]float64{}
	for range runs {
		if err := os.Truncate(file, 0); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		t0, t1, err := tracedRun(r, file)
		if err != nil {
			return nil, err
		}
		lines, err := tracefile.Read(file)
		if err != nil {
			return nil, err
		}
		lines = append(lines, tracefile.Line{NS: t1, Phase: "bench: herd run exited"})
		for _, l := range lines {
			at[l.Phase] = append(at[l.Phase], float64(l.NS-t0))
		}
	}
	var ps []phase
	for name, xs := range at {
		ps = append(ps, phase{name, median(xs)})
	}
	slices.SortFunc(ps, func(a, b phase) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return strings.Compare(a.name, b.name)
	})
	return ps, nil
}

// tracedRun runs r's /bin/true once and returns CLOCK_MONOTONIC just
// before its exec and just after its exit.
func tracedRun(r runner, file string) (int64, int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := r.command(ctx, "/bin/true")
	cmd.Env = append(os.Environ(), tracefile.Env+"="+file)
	t0 := tracefile.Now()
	err := cmd.Run()
	t1 := tracefile.Now()
	if err != nil {
		return 0, 0, fmt.Errorf("%s /bin/true, traced: %w", r.name, err)
	}
	return t0, t1, nil
}

// renderTrace is the phases of one way of starting as Markdown rows
// (phase, time from exec, time since the phase before).
func renderTrace(title string, ps []phase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n| phase | from exec of herd run | since the phase before |\n| --- | ---: | ---: |\n", title)
	fmt.Fprintf(&b, "| bench: exec herd run | 0.00 ms | |\n")
	prev := 0.0
	for _, p := range ps {
		fmt.Fprintf(&b, "| %s | %.2f ms | %.2f ms |\n", p.name, p.at/1e6, (p.at-prev)/1e6)
		prev = p.at
	}
	return b.String()
}

// daemon is a one-node cluster (herd cluster up) whose node traces its
// starts to file.
type daemon struct {
	herd, dir, file string
}

// startDaemon brings a one-node cluster up in a new directory of work.
func startDaemon(herd, work string) (*daemon, error) {
	d := &daemon{herd: herd, dir: filepath.Join(work, "daemon"), file: filepath.Join(work, "daemon.trace")}
	cmd := exec.Command(herd, "cluster", "up", "--nodes", "1", "--voters", "1", "--dir", d.dir)
	cmd.Env = append(os.Environ(), tracefile.Env+"="+d.file)
	if out, err := cmd.CombinedOutput(); err != nil {
		d.stop()
		return nil, fmt.Errorf("herd cluster up --nodes 1: %v\n%s", err, out)
	}
	return d, nil
}

func (d *daemon) runner() runner {
	return runner{name: "daemon", prefix: []string{d.herd, "run", "--socket", filepath.Join(d.dir, "n1", "herd.sock"), "--"}}
}

func (d *daemon) stop() {
	if out, err := exec.Command(d.herd, "cluster", "down", "--dir", d.dir).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "herd cluster down: %v\n%s", err, out)
	}
}

// measureStart times `herd run -- /bin/true` through a one-node daemon
// (startReps runs) and traces the start embedded and through the daemon
// (traceRuns runs each).
func measureStart(res *results, herd, work string, startReps, traceRuns int) error {
	fmt.Fprintf(os.Stderr, "bench: herd run -- /bin/true through a daemon x%d, traced x%d\n", startReps, traceRuns)
	d, err := startDaemon(herd, work)
	if err != nil {
		return err
	}
	defer d.stop()
	for range startReps {
		ns, err := d.runner().wallNanos("/bin/true")
		if err != nil {
			return err
		}
		res.startWall["daemon"] = append(res.startWall["daemon"], float64(ns))
	}
	if traceRuns < 1 {
		return nil
	}
	res.traces, res.traceRuns = map[string][]phase{}, traceRuns
	for _, r := range []struct {
		run  runner
		file string
	}{{herdRunner(herd), filepath.Join(work, "embedded.trace")}, {d.runner(), d.file}} {
		ps, err := startTrace(r.run, r.file, traceRuns)
		if err != nil {
			return err
		}
		res.traces[r.run.name] = ps
	}
	return nil
}
