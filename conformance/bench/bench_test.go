package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestProgramsRun keeps the benchmark building: every C program compiles
// and, run natively with a small count, reports a loop time. It times
// nothing that could fail on a slow machine.
func TestProgramsRun(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the benchmarks run as root (herd run needs it)")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	bins, err := buildPrograms(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	native := nativeRunner()
	for _, b := range loopBenches {
		t.Run(b.prog, func(t *testing.T) {
			if _, err := native.loopNanos(bins[b.prog], 3); err != nil {
				t.Error(err)
			}
			for _, r := range b.references(bins) {
				if _, err := r.loopNanos(bins[b.prog], 3); err != nil {
					t.Errorf("under %s: %v", r.name, err)
				}
			}
		})
	}
}

func TestReportRenders(t *testing.T) {
	r := &results{counts: map[string]int{}, perOp: map[string]map[string][]float64{}, startWall: map[string][]float64{
		"native": {1e6}, "herd": {2e7},
	}}
	for _, b := range loopBenches {
		r.add(b.prog, "native", 1000)
		r.add(b.prog, "herd", 1500)
		r.add(b.prog, "tracer", 1200)
		for _, v := range notifVariants {
			r.add(b.prog, v.name(), 1100)
		}
	}
	rep := newReport(machine{cpu: "test", nproc: 2, kernel: "6.0"}, r, 1, 1, 0)
	for _, out := range []string{rep.text(), rep.markdown()} {
		for _, want := range []string{"getpid (untrapped)", "fork+exit+wait", "herd run -- /bin/true", "1.50×", "runsc",
			"minimal C user-notif³: CONTINUE + sync wake-up", "user-notif (C) value: 0.1 µs"} {
			if !strings.Contains(out, want) {
				t.Errorf("report lacks %q:\n%s", want, out)
			}
		}
	}
}

func TestNanos(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{{12.34, "12.3"}, {999.9, "999.9"}, {1000, "1,000"}, {1234567.4, "1,234,567"}} {
		if got := nanos(c.in); got != c.want {
			t.Errorf("nanos(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestNotifSignalProbe runs probe/notifsignal.c, which checks what the
// kernel does to a call parked in a seccomp user notification when a
// signal arrives (EINTR, restart and re-notification, the id's validity),
// the semantics a notification-answered blocking call must build on.
func TestNotifSignalProbe(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the probe ptraces and installs seccomp filters; run as root")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	bin := filepath.Join(t.TempDir(), "notifsignal")
	if out, err := exec.Command("gcc", "-O2", "-Wall", "-Werror", "-o", bin, "probe/notifsignal.c").CombinedOutput(); err != nil {
		t.Fatalf("compile: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	t.Logf("\n%s", out)
	if err != nil {
		t.Fatalf("notifsignal: %v (a line above says UNEXPECTED)", err)
	}
}
