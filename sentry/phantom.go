package sentry

// Tasks that cannot exist: a node's idle check counts traced tasks, so a
// Task for which no stop or exit will ever come would keep its node alive
// for ever. The clone path never makes one knowingly (a birth needs a
// real PID, and a child whose death came before its birth dies at its
// birth); the guard here drops any that appear anyway.

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// A death is the exit status and usage of a task collected by the tracer.
type death struct {
	ws unix.WaitStatus
	ru unix.Rusage
}

// stillbornLimit bounds the deaths remembered for births still to come:
// an entry is taken at the child's birth, which follows at once unless
// its creator died too.
const stillbornLimit = 64

// stillborn holds the deaths of children whose exit was collected before
// their creator's clone event (a kill from outside before their first
// instruction), by TID, until their birth.
type stillborn map[int]death

func (m stillborn) add(tid int, ws unix.WaitStatus, ru *unix.Rusage) {
	if len(m) >= stillbornLimit {
		for old := range m {
			delete(m, old)
			break
		}
	}
	m[tid] = death{ws: ws, ru: *ru}
}

// take removes and returns the death remembered for tid, if any.
func (m stillborn) take(tid int) (death, bool) {
	d, ok := m[tid]
	delete(m, tid)
	return d, ok
}

// killed is the status of a task the tracer knows only to be gone.
const killed = unix.WaitStatus(unix.SIGKILL)

// deadBeforeBirth reports whether child, recorded before its first stop,
// is already gone from the kernel, with its death if one was collected
// (else as killed by SIGKILL). A zombie not yet collected is alive here:
// its exit is still to come.
func (s *Sentry) deadBeforeBirth(child *Task) (death, bool) {
	d, had := s.stillborn.take(child.TID)
	if !kernelGone(child) {
		return death{}, false
	}
	if !had {
		d = death{ws: killed}
	}
	return d, true
}

// kernelGone reports whether t's kernel task no longer exists.
func kernelGone(t *Task) bool {
	return errors.Is(unix.Tgkill(t.TGID, t.TID, 0), unix.ESRCH)
}

// phantomAge is how long a newborn may wait for its first stop before the
// guard asks the kernel whether it exists.
const phantomAge = time.Second

// phantoms returns the impossible tasks: those without a real TID, and
// newborns older than phantomAge whose kernel task is gone (no stop or
// exit will ever come for them). Tracer thread only.
func (s *Sentry) phantoms() []*Task {
	var out []*Task
	for _, t := range s.tasks {
		if t.TID <= 0 || t.state == stateNewborn && time.Since(t.born) >= phantomAge && kernelGone(t) {
			out = append(out, t)
		}
	}
	return out
}

// drop removes an impossible task as its exit would, as killed by
// SIGKILL, so the process model sees it exit. Tracer thread only.
func (s *Sentry) drop(t *Task) {
	s.log.Error("dropping a task that cannot exist", "task", t, "state", t.state, "born", t.born)
	s.gone(t, killed, &unix.Rusage{})
}

// onlyNewborns reports whether tasks remain and all are newborns (or
// have no real TID): the only state in which phantoms keep a node alive.
func (s *Sentry) onlyNewborns() bool {
	for _, t := range s.tasks {
		if t.TID > 0 && t.state != stateNewborn {
			return false
		}
	}
	return len(s.tasks) > 0
}

// armPhantomGuard schedules dropPhantoms when the remaining tasks are all
// newborns: a real newborn runs within moments, a phantom never does.
func (s *Sentry) armPhantomGuard() {
	if s.guardArmed || !s.onlyNewborns() {
		return
	}
	s.guardArmed = true
	time.AfterFunc(phantomAge, func() { s.Post(s.dropPhantoms) })
}

// dropPhantoms drops every impossible task (each logged at error level),
// and watches again while only newborns remain.
func (s *Sentry) dropPhantoms() {
	s.guardArmed = false
	for _, t := range s.phantoms() {
		if s.tasks[t.TID] == t {
			s.drop(t)
		}
	}
	s.armPhantomGuard()
}
