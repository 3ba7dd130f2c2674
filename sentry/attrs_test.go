package sentry

import (
	"testing"

	"golang.org/x/sys/unix"
)

// Validate accepts what some process may have and rejects what the
// kernel's setters would refuse anyone.
func TestProcAttrsValidate(t *testing.T) {
	for _, c := range []struct {
		a  ProcAttrs
		ok bool
	}{
		{ProcAttrs{}, true},
		{ProcAttrs{Policy: unix.SCHED_FIFO, Priority: 1}, true},
		{ProcAttrs{Policy: unix.SCHED_RR | unix.SCHED_RESET_ON_FORK, Priority: 99}, true},
		{ProcAttrs{Policy: unix.SCHED_IDLE, Nice: 19, CPUs: []int{0, maxCPUs - 1}}, true},
		{ProcAttrs{Rlimits: []Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 1, Max: 2}, {Resource: unix.RLIMIT_RTTIME}}}, true},
		{ProcAttrs{Policy: unix.SCHED_DEADLINE}, false},
		{ProcAttrs{Policy: unix.SCHED_FIFO}, false},
		{ProcAttrs{Policy: unix.SCHED_FIFO, Priority: 100}, false},
		{ProcAttrs{Priority: 5}, false},
		{ProcAttrs{Nice: -21}, false},
		{ProcAttrs{Nice: 20}, false},
		{ProcAttrs{CPUs: []int{-1}}, false},
		{ProcAttrs{CPUs: []int{maxCPUs}}, false},
		{ProcAttrs{Rlimits: []Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 2, Max: 1}}}, false},
		{ProcAttrs{Rlimits: []Rlimit{{Resource: numRlimits}}}, false},
		{ProcAttrs{Rlimits: []Rlimit{{Resource: unix.RLIMIT_CORE}, {Resource: unix.RLIMIT_CORE}}}, false},
	} {
		if err := c.a.Validate(); (err == nil) != c.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", c.a, err, c.ok)
		}
	}
}

// goRaised recognises the RLIMIT_NOFILE the Go runtime raised to Max-1,
// and nothing else.
func TestGoRaised(t *testing.T) {
	for _, c := range []struct {
		res  int
		rl   unix.Rlimit
		want bool
	}{
		{unix.RLIMIT_NOFILE, unix.Rlimit{Cur: 1048575, Max: 1048576}, true},
		{unix.RLIMIT_NOFILE, unix.Rlimit{Cur: 1024, Max: 1048576}, false},
		{unix.RLIMIT_NOFILE, unix.Rlimit{Cur: 1048576, Max: 1048576}, false},
		{unix.RLIMIT_NOFILE, unix.Rlimit{Cur: unix.RLIM_INFINITY - 1, Max: unix.RLIM_INFINITY}, false},
		{unix.RLIMIT_STACK, unix.Rlimit{Cur: 1048575, Max: 1048576}, false},
	} {
		if got := goRaised(c.res, c.rl); got != c.want {
			t.Errorf("goRaised(%d, %+v) = %v, want %v", c.res, c.rl, got, c.want)
		}
	}
}
