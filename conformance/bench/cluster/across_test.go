package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestAcrossProgramsRun keeps the across-node programs building: each
// compiles and, run natively with a small count, reports a time. Nothing
// here depends on how fast the machine is.
func TestAcrossProgramsRun(t *testing.T) {
	_, noGcc := exec.LookPath("gcc")
	switch {
	case os.Geteuid() != 0:
		t.Skip("the benchmarks run as root (herd run needs it)")
	case noGcc != nil:
		t.Skip("gcc not installed")
	}
	env := &acrossEnv{}
	var err error
	if env.bins, err = buildAcross(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	for _, b := range acrossBenches(0.001) {
		t.Run(b.key, func(t *testing.T) {
			if v, err := env.run("native", b); err != nil || v <= 0 {
				t.Errorf("%v: %v, %v", b.argv, v, err)
			}
		})
	}
}

// The table reads each row against its reference: round trips beyond one
// node, or a share of TCP's throughput, and marks the target met or not.
func TestAcrossRenders(t *testing.T) {
	res := map[string][]float64{"tcp/rtt": {100}, "tcp/tput": {1000}}
	set := func(key string, native, local, across float64) {
		res[key+"/native"], res[key+"/local"], res[key+"/across"] = []float64{native}, []float64{local}, []float64{across}
	}
	set("spawn", 1000, 2000, 2250) // + 2.5 RTT: met
	set("signal", 10, 20, 520)     // + 5 RTT: missed
	set("wait", 10, 20, 120)       // + 1 RTT: met
	set("pong", 10, 20, 300)       // 3 RTT
	set("out", 2000, 2000, 600)    // 60% of TCP: met
	set("in", 2000, 2000, 400)     // 40%: missed
	table := renderAcross(res, 1, 1, "1.0 at start, 2.0 at the end")
	for _, want := range []string{
		"round trip (RTT) 100 ns, throughput 1000 MB/s. Load average 1.0 at start, 2.0 at the end.",
		"| 2.2 µs | 1.12× | one node + 2.5 RTT | ≤ one node + 3 RTT | ✓ |",
		"| one node + 5.0 RTT | ≤ one node + 2 RTT | ✗ |",
		"| one node + 1.0 RTT | ≤ one node + 1 RTT | ✓ |",
		"| 3.0 RTT | reported against the RTT |  |",
		"| 600 MB/s | 0.30× | 60% of TCP | ≥ 50% of TCP | ✓ |",
		"| 400 MB/s | 0.20× | 40% of TCP | ≥ 50% of TCP | ✗ |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}
