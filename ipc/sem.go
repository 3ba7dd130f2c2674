package ipc

import (
	"context"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

type semaphore struct {
	val, pid   int
	ncnt, zcnt int
}

// semSet is one semaphore set at its owner, with its processes' SEM_UNDO
// adjustments (by PID) and the node each of those processes runs on.
type semSet struct {
	stat     SemStat
	sems     []semaphore
	undo     map[int][]int
	undoNode map[int]string
	changed  chan struct{}
	removed  bool
}

func (s *semSet) wake() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// createSem makes set id of nsems semaphores with perm.
func (o *Objects) createSem(id, nsems int, perm Perm) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sems[id] = &semSet{
		stat: SemStat{Perm: perm, CTime: o.now(), NSems: nsems},
		sems: make([]semaphore, nsems), undo: map[int][]int{}, undoNode: map[int]string{},
		changed: make(chan struct{}),
	}
}

func (o *Objects) semOpen(r *Request) *Reply {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.sems[r.ID]
	switch {
	case s == nil:
		return fail(unix.EIDRM)
	case !s.stat.Perm.allows(r.Caller, r.Flags):
		return fail(unix.EACCES)
	case r.Num > s.stat.NSems:
		return fail(unix.EINVAL)
	}
	st := s.stat
	return &Reply{Value: int64(r.ID), Sem: &st}
}

// semop carries out r.Sops at once, all or none, waiting until it can,
// the set is removed (EIDRM), ctx ends (EINTR) or its timeout passes
// (EAGAIN).
func (o *Objects) semop(ctx context.Context, r *Request) *Reply {
	var timeout <-chan time.Time
	if r.Timeout != nil && !r.Try {
		t := time.NewTimer(time.Duration(*r.Timeout))
		defer t.Stop()
		timeout = t.C
	}
	o.mu.Lock()
	s := o.sems[r.ID]
	if s == nil {
		o.mu.Unlock()
		return fail(unix.EINVAL)
	}
	if rep := s.check(r); rep != nil {
		o.mu.Unlock()
		return rep
	}
	for {
		if s.removed {
			o.mu.Unlock()
			return fail(unix.EIDRM)
		}
		rep, blocked := s.try(r, o.now())
		if rep != nil || r.Try {
			o.mu.Unlock()
			if rep == nil {
				rep = &Reply{WouldBlock: true}
			}
			return rep
		}
		if r.Timeout != nil && *r.Timeout == 0 {
			o.mu.Unlock()
			return fail(unix.EAGAIN)
		}
		ch := s.changed
		s.count(blocked, +1)
		o.mu.Unlock()
		var out *Reply
		select {
		case <-ch:
		case <-ctx.Done():
			out = fail(unix.EINTR)
		case <-timeout:
			out = fail(unix.EAGAIN)
		}
		o.mu.Lock()
		s.count(blocked, -1)
		if out != nil {
			o.mu.Unlock()
			return out
		}
	}
}

// count adds d to the waiters of op's semaphore (semncnt or semzcnt).
func (s *semSet) count(op SemOp, d int) {
	if op.Op == 0 {
		s.sems[op.Num].zcnt += d
	} else {
		s.sems[op.Num].ncnt += d
	}
}

// check makes the checks of semop before any operation: a semaphore
// number out of the set (EFBIG), then access (EACCES).
func (s *semSet) check(r *Request) *Reply {
	alter := false
	for _, op := range r.Sops {
		if op.Num >= s.stat.NSems {
			return fail(unix.EFBIG)
		}
		alter = alter || op.Op != 0
	}
	access := readAccess
	if alter {
		access = writeAccess
	}
	if !s.stat.Perm.allows(r.Caller, access) {
		return fail(unix.EACCES)
	}
	return nil
}

// try performs r.Sops if all can go now: a Reply, or nil and the
// operation that must wait (EAGAIN if that one has IPC_NOWAIT).
func (s *semSet) try(r *Request, now int64) (*Reply, SemOp) {
	vals := make([]int, len(s.sems))
	for i := range s.sems {
		vals[i] = s.sems[i].val
	}
	adj := append([]int(nil), s.undo[r.Caller.PID]...)
	if adj == nil {
		adj = make([]int, len(s.sems))
	}
	for _, op := range r.Sops {
		v := vals[op.Num] + op.Op
		switch {
		case op.Op == 0 && vals[op.Num] != 0, v < 0:
			if op.Flg&linux.IPC_NOWAIT != 0 {
				return fail(unix.EAGAIN), op
			}
			return nil, op
		case v > linux.SEMVMX:
			return fail(unix.ERANGE), op
		}
		if op.Flg&linux.SEM_UNDO != 0 {
			if a := adj[op.Num] - op.Op; a < -linux.SEMAEM-1 || a > linux.SEMAEM {
				return fail(unix.ERANGE), op
			}
			adj[op.Num] -= op.Op
		}
		vals[op.Num] = v
	}
	for i := range s.sems {
		s.sems[i].val = vals[i]
	}
	undo := false
	for _, op := range r.Sops {
		s.sems[op.Num].pid = r.Caller.PID
		undo = undo || op.Flg&linux.SEM_UNDO != 0
	}
	if undo {
		s.undo[r.Caller.PID] = adj
		s.undoNode[r.Caller.PID] = r.Caller.Node
	}
	s.stat.OTime = now
	s.wake()
	return &Reply{Value: boolValue(undo)}, SemOp{}
}

func boolValue(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// semExit applies the adjustments of r.Caller, who exited, to every set
// owned here, as Linux's exit_sem: each value kept within 0..SEMVMX.
func (o *Objects) semExit(r *Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.sems {
		s.applyUndo(r.Caller.PID)
	}
}

func (s *semSet) applyUndo(pid int) {
	adj, ok := s.undo[pid]
	if !ok {
		return
	}
	for i, a := range adj {
		if a != 0 {
			s.sems[i].val = min(max(s.sems[i].val+a, 0), linux.SEMVMX)
			s.sems[i].pid = pid
		}
	}
	delete(s.undo, pid)
	delete(s.undoNode, pid)
	s.wake()
}

// NodeLost applies the SEM_UNDO adjustments of every process of node,
// which is down: its processes died with it.
func (o *Objects) NodeLost(node string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.sems {
		for pid, n := range s.undoNode {
			if n == node {
				s.applyUndo(pid)
			}
		}
	}
}
