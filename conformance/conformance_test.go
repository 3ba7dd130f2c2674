package conformance

import (
	"os"
	"slices"
	"strings"
	"testing"
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
	return slices.Concat(prefix[:run+1], []string{"--placement", "spread"}, prefix[run+1:])
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
