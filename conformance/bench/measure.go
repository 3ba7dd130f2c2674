package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runTimeout bounds one run of one benchmark program.
const runTimeout = 60 * time.Second

// A runner starts a program: natively, under herd, or under the C tracer.
type runner struct {
	name   string
	prefix []string // argv before the program's own
}

func nativeRunner() runner { return runner{name: "native"} }

func herdRunner(herd string) runner {
	return runner{name: "herd", prefix: []string{herd, "run", "--"}}
}

func tracerRunner(tracer string) runner {
	return runner{name: "tracer", prefix: []string{tracer}}
}

// A notifVariant is one way the minimal C user-notification supervisor
// (c/notif.c) answers a notified call: with a value (the call is skipped,
// as an emulated call is answered) or with SECCOMP_USER_NOTIF_FLAG_CONTINUE
// (the kernel runs it), each with or without
// SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP on the listener.
type notifVariant struct {
	answer string // "value" or "continue", notif.c's first argument
	sync   bool   // set the synchronous wake-up flag
}

var notifVariants = []notifVariant{
	{answer: "value"}, {answer: "value", sync: true},
	{answer: "continue"}, {answer: "continue", sync: true},
}

// name is the runner's name, by which results are kept.
func (v notifVariant) name() string {
	if v.sync {
		return "notif-" + v.answer + "-sync"
	}
	return "notif-" + v.answer
}

// label describes the variant in the table.
func (v notifVariant) label() string {
	s := "value"
	if v.answer == "continue" {
		s = "CONTINUE"
	}
	if v.sync {
		s += " + sync wake-up"
	}
	return s
}

func notifRunner(notif string, v notifVariant) runner {
	wake := "nosync"
	if v.sync {
		wake = "sync"
	}
	return runner{name: v.name(), prefix: []string{notif, v.answer, wake}}
}

// command builds the command line for argv under r.
func (r runner) command(ctx context.Context, argv ...string) *exec.Cmd {
	full := append(slices.Clone(r.prefix), argv...)
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	cmd.Stdin = nil // /dev/null
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// loopNanos runs bin with count iterations under r and returns the elapsed
// nanoseconds that the program reports for its timed loop.
func (r runner) loopNanos(bin string, count int) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := r.command(ctx, bin, strconv.Itoa(count))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s %s %d: %w: %s", r.name, bin, count, err, strings.TrimSpace(stderr.String()))
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(stdout.String()), 10, 64)
	if err != nil || ns <= 0 {
		return 0, fmt.Errorf("%s %s %d: want elapsed ns on stdout, got %q", r.name, bin, count, stdout.String())
	}
	return ns, nil
}

// wallNanos runs argv under r to completion and returns its wall time,
// start to exit, as seen by the parent.
func (r runner) wallNanos(argv ...string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := r.command(ctx, argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w: %s", r.name, strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return elapsed.Nanoseconds(), nil
}

// median of xs, which must not be empty.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
