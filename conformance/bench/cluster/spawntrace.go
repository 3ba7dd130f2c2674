package main

// Where a spawn on another node goes: the nodes of the across-node
// cluster trace their phases (HERD_TRACE_START, herd/sentry/shim) to one
// file; a few spawns of /bin/true placed on n2 are cut at each exec's
// placement ("place: exec to n2"), and each phase is shown at its median
// time from that start.

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"herd/conformance/bench/tracefile"
)

// spawnTraceRuns is how many placed spawns the trace takes the medians of.
const spawnTraceRuns = 10

// spawnTrace runs spawnTraceRuns placed spawns with the nodes tracing to
// file and renders their phases as a Markdown table.
func (e *acrossEnv) spawnTrace(file string) (string, error) {
	if err := os.Truncate(file, 0); err != nil && !os.IsNotExist(err) {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), acrossTimeout)
	defer cancel()
	cmd := e.command(ctx, "across", e.bins["spawnwait"], "spawn", fmt.Sprint(spawnTraceRuns))
	if _, err := output(cmd); err != nil {
		return "", err
	}
	lines, err := tracefile.Read(file)
	if err != nil {
		return "", err
	}
	at, spawns := map[string][]float64{}, 0
	var start int64
	for _, l := range lines {
		if strings.HasPrefix(l.Phase, "place: exec to ") {
			if spawns > 0 {
				at["next spawn's exec placed"] = append(at["next spawn's exec placed"], float64(l.NS-start))
			}
			start, spawns = l.NS, spawns+1
		}
		if spawns > 0 {
			at[l.Phase] = append(at[l.Phase], float64(l.NS-start))
		}
	}
	if spawns == 0 {
		return "\nNo spawn phases: this herd wrote no trace of its placements.\n", nil
	}
	type phase struct {
		name string
		at   float64
	}
	var ps []phase
	for name, xs := range at {
		ps = append(ps, phase{name, median(xs)})
	}
	slices.SortFunc(ps, func(a, b phase) int { return int(a.at - b.at) })
	var b strings.Builder
	fmt.Fprintf(&b, "\nA spawn on n2 phase by phase: median of %d spawns of /bin/true (fork, exec placed on n2, wait), "+
		"each from its exec's placement on n1 (`place: exec to n2`); n1 and n2 write to one trace.\n\n", spawns)
	b.WriteString("| phase | from placement | since the phase before |\n| --- | ---: | ---: |\n")
	prev := 0.0
	for _, p := range ps {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", p.name, fmtNs(p.at), fmtNs(p.at-prev))
		prev = p.at
	}
	return b.String(), nil
}
