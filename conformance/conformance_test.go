package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// A mode is one way of running herd: how `herd run` is invoked, and what
// must be up first.
type mode struct {
	name string
	// start prepares the mode once and returns the argv prefix that runs
	// a program under herd; it calls t.Skip or t.Fatal when it cannot.
	start func(t *testing.T) []string
}

var modes = []mode{
	{"single", startSingle},
	{"daemon", startDaemon},
	{"spread", startSpread},
}

// runFlags are extra `herd run` flags from $HERD_RUN_FLAGS (e.g. --strace).
func runFlags() []string { return strings.Fields(os.Getenv("HERD_RUN_FLAGS")) }

func startSingle(t *testing.T) []string {
	bin, err := herdBinary()
	if err != nil {
		t.Fatalf("herd binary unavailable: %v", err)
	}
	return append(append([]string{bin, "run"}, runFlags()...), "--")
}

// startSpread runs every program through the daemon mode's three-node
// cluster with the spread placement: every execve of the program and
// its descendants goes to the next node, round-robin, so parents and
// children, signallers and targets, are on different nodes.
func startSpread(t *testing.T) []string {
	prefix := startDaemon(t)
	run := slices.Index(prefix, "run")
	prefix = slices.Concat(prefix[:run+1], []string{"--placement", "spread"}, prefix[run+1:])
	spreadOnce.Do(func() { spreadErr = checkSpreads(prefix) })
	if spreadErr != nil {
		t.Fatal(spreadErr)
	}
	return prefix
}

var (
	spreadOnce sync.Once
	spreadErr  error
)

// checkSpreads makes sure the spread mode really places processes on
// several nodes (an exec that cannot be placed runs where it is, so a
// mode that never spreads would pass every program): three sleeps of
// one shell must show on at least two nodes in herd ps.
func checkSpreads(prefix []string) error {
	probe := exec.Command(prefix[0], append(prefix[1:], "/bin/sh", "-c", "sleep 5 & sleep 5 & sleep 5 & wait")...)
	if err := probe.Start(); err != nil {
		return err
	}
	defer probe.Wait()
	defer probe.Process.Kill()
	ps := []string{"ps", "--json", "--socket", clusterSock}
	var seen map[string]bool
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, err := exec.Command(prefix[0], ps...).Output()
		if err != nil {
			continue
		}
		var rows []struct{ Node, Cmd string }
		if json.Unmarshal(out, &rows) != nil {
			continue
		}
		seen = map[string]bool{}
		for _, r := range rows {
			if strings.HasPrefix(r.Cmd, "sleep") {
				seen[r.Node] = true
			}
		}
		if len(seen) >= 2 {
			return nil
		}
	}
	return fmt.Errorf("spread mode does not spread: the sleeps of one shell ran on %v only (see the nodes' logs: exec stays local)", seen)
}

// TestNative checks that every program builds and terminates natively:
// a program that hangs or crashes natively cannot be an oracle.
func TestNative(t *testing.T) {
	requireRoot(t)
	for _, p := range programs {
		t.Run(p.name, func(t *testing.T) {
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					bin := binaryFor(t, p, v)
					r := native(t, bin)
					checkNative(t, r)
					if r.stdout == "" {
						t.Fatalf("no output natively (status %d)", r.status)
					}
				})
			}
		})
	}
}

// TestConformance runs each program natively and under herd and requires
// the same exit status, stdout and stderr (PIDs normalised), modulo a
// documented c/NAME.expect-diff.
// Names: TestConformance/<mode>/<program>/<variant>.
func TestConformance(t *testing.T) {
	requireRoot(t)
	for _, md := range modes {
		t.Run(md.name, func(t *testing.T) {
			prefix := md.start(t)
			for _, p := range programs {
				t.Run(p.name, func(t *testing.T) {
					exp, err := loadExpectation(p.name, md.name)
					if err != nil {
						t.Fatal(err)
					}
					for _, v := range variants {
						t.Run(v.name, func(t *testing.T) {
							bin := binaryFor(t, p, v)
							want := native(t, bin)
							checkNative(t, want)
							got := run(t, append(append([]string{}, prefix...), bin))
							diff, err := compare(p.name, want, got, p.ignoreErr, exp)
							if err != nil {
								t.Fatal(err)
							}
							if diff != "" {
								t.Errorf("%s (%s) differs under herd %s:\n%s", p.name, v.name, md.name, diff)
							} else if exp != nil && got.stdout != want.stdout {
								t.Logf("accepted difference: %s", exp.reason)
							}
						})
					}
				})
			}
		})
	}
}

// binaryFor returns the built program, skipping or failing the test when
// the variant cannot be built.
func binaryFor(t *testing.T, p *program, v variant) string {
	t.Helper()
	if v.name == "static" && staticErr != nil {
		t.Skipf("static variant skipped: %v", staticErr)
	}
	bin, err := p.binary(v)
	if err != nil {
		t.Fatalf("build failed: %v", err)
	}
	return bin
}
