package sentry

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fabricated is a sentry with no tracer thread and no tracees: its task
// table is filled by hand, as the clone path would.
func fabricated(t *testing.T) (*Sentry, *testHooks) {
	h := &testHooks{exited: make(map[int]unix.WaitStatus), done: make(chan int, 16)}
	s := &Sentry{
		cfg:       Config{Hooks: h},
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		tasks:     make(map[int]*Task),
		procs:     make(map[int]*proc),
		newborns:  make(map[int]*Task),
		stillborn: make(stillborn),
	}
	return s, h
}

// deadPID returns the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatalf("run true: %v", err)
	}
	return c.Process.Pid
}

func newbornTask(s *Sentry, tid int, age time.Duration) *Task {
	t := &Task{TID: tid, TGID: tid, s: s, state: stateNewborn, born: time.Now().Add(-age)}
	s.adopt(t)
	return t
}

func TestPhantomGuardDropsOnlyImpossibleTasks(t *testing.T) {
	s, h := fabricated(t)
	dead := deadPID(t)
	zero := newbornTask(s, 0, 0)                       // no real TID: a phantom at once
	gone := newbornTask(s, dead, 2*phantomAge)         // old, and no kernel task
	young := newbornTask(s, deadPID(t), 0)             // its first stop may still come
	alive := newbornTask(s, os.Getpid(), 2*phantomAge) // a kernel task exists
	got := map[*Task]bool{}
	for _, p := range s.phantoms() {
		got[p] = true
	}
	if !got[zero] || !got[gone] || got[young] || got[alive] || len(got) != 2 {
		t.Fatalf("phantoms() = %v; want the TID 0 task and the old dead one", got)
	}
	s.dropPhantoms()
	if s.tasks[0] != nil || s.tasks[dead] != nil {
		t.Fatalf("phantoms still in the task table: %v", s.tasks)
	}
	if s.tasks[young.TID] != young || s.tasks[alive.TID] != alive {
		t.Fatalf("a possible task was dropped: %v", s.tasks)
	}
	if ws, ok := h.exited[dead]; !ok || !ws.Signaled() || ws.Signal() != unix.SIGKILL {
		t.Fatalf("exit reported for %d: %v (reported %v); want killed by SIGKILL", dead, ws, ok)
	}
	if !s.guardArmed {
		t.Fatalf("only newborns remain, but the guard is not watching")
	}
}

func TestBirthOfAChildWhoseDeathCameFirst(t *testing.T) {
	s, h := fabricated(t)
	parent := &Task{TID: os.Getpid(), TGID: os.Getpid(), s: s, state: stateRunning}
	s.adopt(parent)
	child := deadPID(t)
	status := unix.WaitStatus(int(unix.SIGTERM))
	s.event(child, status, &unix.Rusage{})
	if _, ok := s.stillborn[child]; !ok {
		t.Fatalf("the exit of unknown TID %d was not remembered", child)
	}
	got, stopped := s.birth(&CloneOp{parent: parent, ChildPID: child})
	if got != nil || stopped {
		t.Fatalf("birth of a dead child = %v, %v; want nil, false", got, stopped)
	}
	if s.tasks[child] != nil {
		t.Fatalf("dead child %d left in the task table", child)
	}
	if ws, ok := h.exited[child]; !ok || ws != status {
		t.Fatalf("exit reported for %d: %v (reported %v); want %v", child, ws, ok, status)
	}
	if len(s.stillborn) != 0 {
		t.Fatalf("stillborn not consumed: %v", s.stillborn)
	}
}

func TestBirthIgnoresAStaleDeathOfALiveChild(t *testing.T) {
	s, h := fabricated(t)
	parent := &Task{TID: os.Getpid(), TGID: os.Getpid(), s: s, state: stateRunning}
	s.adopt(parent)
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatalf("start sleep: %v", err)
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
	pid := sleeper.Process.Pid
	s.stillborn.add(pid, killed, &unix.Rusage{}) // a former holder of the PID
	got, stopped := s.birth(&CloneOp{parent: parent, ChildPID: pid})
	if got == nil || stopped || s.tasks[pid] != got || got.state != stateNewborn {
		t.Fatalf("birth of a live child = %v, %v; want a newborn in the table", got, stopped)
	}
	if len(h.exited) != 0 || len(s.stillborn) != 0 {
		t.Fatalf("exits %v, stillborn %v; want none", h.exited, s.stillborn)
	}
}

func TestStillbornIsBounded(t *testing.T) {
	m := make(stillborn)
	for tid := 1; tid <= 3*stillbornLimit; tid++ {
		m.add(tid, killed, &unix.Rusage{})
	}
	if len(m) > stillbornLimit {
		t.Fatalf("%d deaths remembered; want at most %d", len(m), stillbornLimit)
	}
}

// A creator held at its clone event for its child's first stop goes on
// when the child dies instead; one no longer held is left alone.
func TestHeldCreatorGoesOnWhenItsChildDies(t *testing.T) {
	s, _ := fabricated(t)
	creator := &Task{TID: deadPID(t), s: s, state: stateAwaitChild}
	creator.TGID = creator.TID
	s.adopt(creator)
	child := newbornTask(s, deadPID(t), 0)
	child.creator = creator
	s.gone(child, killed, &unix.Rusage{})
	if creator.state != stateRunning || child.creator != nil {
		t.Fatalf("creator state %v after its child's death; want running", creator.state)
	}
	other := newbornTask(s, deadPID(t), 0)
	other.creator = creator
	creator.state = stateHeld // held for something else (the fork lock)
	if c := s.heldCreator(other); c != nil {
		t.Fatalf("heldCreator returned %v, which is not held for its child", c)
	}
}
