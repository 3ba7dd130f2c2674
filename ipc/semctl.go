package ipc

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

func (o *Objects) semctl(r *Request) *Reply {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.sems[r.ID]
	if s == nil {
		return fail(unix.EINVAL)
	}
	rep := common(r, s.stat.Perm, func() *Reply {
		st := s.stat
		return &Reply{Sem: &st}
	}, func() *Reply { return o.semSet(s, r) }, func() {
		delete(o.sems, r.ID)
		s.removed = true
		s.wake()
	})
	if rep != nil {
		return rep
	}
	switch r.Cmd {
	case linux.SETVAL:
		return o.setVal(s, r)
	case linux.SETALL:
		return o.setAll(s, r)
	}
	return s.get(r)
}

// get answers the GET commands.
func (s *semSet) get(r *Request) *Reply {
	switch r.Cmd {
	case linux.GETALL, linux.GETVAL, linux.GETPID, linux.GETNCNT, linux.GETZCNT:
	default:
		return fail(unix.EINVAL)
	}
	if !s.stat.Perm.allows(r.Caller, readAccess) {
		return fail(unix.EACCES)
	}
	if r.Cmd == linux.GETALL {
		vals := make([]int, len(s.sems))
		for i, m := range s.sems {
			vals[i] = m.val
		}
		return &Reply{Vals: vals}
	}
	if r.Num < 0 || r.Num >= len(s.sems) {
		return fail(unix.EINVAL)
	}
	m := s.sems[r.Num]
	v := map[int]int{linux.GETVAL: m.val, linux.GETPID: m.pid, linux.GETNCNT: m.ncnt, linux.GETZCNT: m.zcnt}[r.Cmd]
	return &Reply{Value: int64(v)}
}

func (o *Objects) setVal(s *semSet, r *Request) *Reply {
	if r.Num < 0 || r.Num >= len(s.sems) {
		return fail(unix.EINVAL)
	}
	if !s.stat.Perm.allows(r.Caller, writeAccess) {
		return fail(unix.EACCES)
	}
	for _, adj := range s.undo {
		adj[r.Num] = 0
	}
	s.sems[r.Num].val, s.sems[r.Num].pid = r.Val, r.Caller.PID
	s.stat.CTime = o.now()
	s.wake()
	return &Reply{}
}

func (o *Objects) setAll(s *semSet, r *Request) *Reply {
	if !s.stat.Perm.allows(r.Caller, writeAccess) {
		return fail(unix.EACCES)
	}
	if len(r.Vals) != len(s.sems) {
		return fail(unix.EINVAL)
	}
	for _, v := range r.Vals {
		if v > linux.SEMVMX {
			return fail(unix.ERANGE)
		}
	}
	for i, v := range r.Vals {
		s.sems[i].val, s.sems[i].pid = v, r.Caller.PID
	}
	for pid := range s.undo {
		s.undo[pid] = make([]int, len(s.sems))
	}
	s.stat.CTime = o.now()
	s.wake()
	return &Reply{}
}

func (o *Objects) semSet(s *semSet, r *Request) *Reply {
	if r.SemSet == nil {
		return fail(unix.EFAULT)
	}
	if !s.stat.Perm.owns(r.Caller) {
		return fail(unix.EPERM)
	}
	p := &s.stat.Perm
	p.UID, p.GID = r.SemSet.Perm.UID, r.SemSet.Perm.GID
	p.Mode = p.Mode&^0o777 | r.SemSet.Perm.Mode&0o777
	s.stat.CTime = o.now()
	return &Reply{}
}

// semCount is the number of sets and semaphores owned here.
func (o *Objects) semCount() (sets, sems int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.sems {
		sets++
		sems += len(s.sems)
	}
	return sets, sems
}
