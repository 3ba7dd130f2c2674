package ipc

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Limits are the message queue limits (/proc/sys/kernel/msgmax, msgmnb,
// msgmni), Linux's defaults unless a node is told otherwise.
type Limits struct {
	MsgMax int `json:"msgmax"`
	MsgMnb int `json:"msgmnb"`
	MsgMni int `json:"msgmni"`
}

// DefaultLimits are Linux's defaults.
var DefaultLimits = Limits{MsgMax: linux.MSGMAX, MsgMnb: linux.MSGMNB, MsgMni: linux.MSGMNI}

type message struct {
	typ  int64
	text []byte
}

// queue is one message queue at its owner. changed is closed (and
// replaced) at every change a waiter may be waiting for.
type queue struct {
	stat    MsgStat
	msgs    []message
	changed chan struct{}
	removed bool
}

func (q *queue) wake() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// fits is whether a message of n bytes can be queued now.
func (q *queue) fits(n int) bool {
	return q.stat.CBytes+n <= q.stat.QBytes && q.stat.QNum+1 <= q.stat.QBytes
}

// Objects are the queues a node owns.
type Objects struct {
	mu     sync.Mutex
	msgs   map[int]*queue
	sems   map[int]*semSet
	limits Limits
	now    func() int64
}

// NewObjects is an empty set of objects under limits.
func NewObjects(limits Limits) *Objects {
	return &Objects{msgs: map[int]*queue{}, sems: map[int]*semSet{}, limits: limits, now: func() int64 { return time.Now().Unix() }}
}

// createMsg makes queue id with perm.
func (o *Objects) createMsg(id int, perm Perm) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs[id] = &queue{
		stat:    MsgStat{Perm: perm, CTime: o.now(), QBytes: o.limits.MsgMnb},
		changed: make(chan struct{}),
	}
}

// has is whether object id is owned here.
func (o *Objects) has(id int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.msgs[id] != nil || o.sems[id] != nil
}

// count is the number of queues, messages and bytes owned here.
func (o *Objects) count() (queues, msgs, bytes int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, q := range o.msgs {
		queues++
		msgs += q.stat.QNum
		bytes += q.stat.CBytes
	}
	return queues, msgs, bytes
}

// Do carries out r on an object owned here. A send or receive that must
// wait does, until it can go on, the queue is removed (EIDRM) or ctx ends
// (EINTR).
func (o *Objects) Do(ctx context.Context, r *Request) *Reply {
	switch r.Op {
	case OpMsgOpen:
		return o.open(r)
	case OpMsgSend:
		return o.wait(ctx, r, o.trySend)
	case OpMsgRecv:
		return o.wait(ctx, r, o.tryRecv)
	case OpMsgUnrecv:
		o.unrecv(r)
		return &Reply{}
	case OpMsgCtl:
		return o.ctl(r)
	case OpSemOpen:
		return o.semOpen(r)
	case OpSemOp:
		return o.semop(ctx, r)
	case OpSemCtl:
		return o.semctl(r)
	case OpSemExit:
		o.semExit(r)
		return &Reply{}
	}
	return fail(unix.EINVAL)
}

func (o *Objects) open(r *Request) *Reply {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.msgs[r.ID]
	if q == nil {
		return fail(unix.EIDRM)
	}
	if !q.stat.Perm.allows(r.Caller, r.Flags) {
		return fail(unix.EACCES)
	}
	return &Reply{Value: int64(r.ID)}
}

// attempt tries an operation on q with o.mu held: a Reply, or nil if it
// must wait.
type attempt func(q *queue, r *Request) *Reply

// wait runs try until it answers, waiting for q's changes between tries.
func (o *Objects) wait(ctx context.Context, r *Request, try attempt) *Reply {
	o.mu.Lock()
	q := o.msgs[r.ID]
	if q == nil {
		o.mu.Unlock()
		return fail(unix.EINVAL)
	}
	for {
		if q.removed {
			o.mu.Unlock()
			return fail(unix.EIDRM)
		}
		if rep := try(q, r); rep != nil {
			o.mu.Unlock()
			return rep
		}
		if r.Try {
			o.mu.Unlock()
			return &Reply{WouldBlock: true}
		}
		if r.Flags&linux.IPC_NOWAIT != 0 {
			o.mu.Unlock()
			if r.Op == OpMsgSend {
				return fail(unix.EAGAIN)
			}
			return fail(unix.ENOMSG)
		}
		ch := q.changed
		o.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fail(unix.EINTR)
		}
		o.mu.Lock()
	}
}

func (o *Objects) trySend(q *queue, r *Request) *Reply {
	if !q.stat.Perm.allows(r.Caller, writeAccess) {
		return fail(unix.EACCES)
	}
	if !q.fits(len(r.Text)) {
		return nil
	}
	q.msgs = append(q.msgs, message{typ: r.Type, text: r.Text})
	q.stat.CBytes += len(r.Text)
	q.stat.QNum++
	q.stat.STime, q.stat.LSPID = o.now(), r.Caller.PID
	q.wake()
	return &Reply{}
}

func (o *Objects) tryRecv(q *queue, r *Request) *Reply {
	if !q.stat.Perm.allows(r.Caller, readAccess) {
		return fail(unix.EACCES)
	}
	i := pick(q.msgs, r.Type, r.Flags)
	if i < 0 {
		if r.Flags&linux.MSG_COPY != 0 {
			return fail(unix.ENOMSG)
		}
		return nil
	}
	m := q.msgs[i]
	if len(m.text) > r.Size && r.Flags&linux.MSG_NOERROR == 0 {
		return fail(unix.E2BIG)
	}
	text := m.text[:min(len(m.text), r.Size)]
	if r.Flags&linux.MSG_COPY != 0 {
		return &Reply{Value: int64(len(text)), Type: m.typ, Text: text}
	}
	q.msgs = append(q.msgs[:i:i], q.msgs[i+1:]...)
	q.stat.CBytes -= len(m.text)
	q.stat.QNum--
	q.stat.RTime, q.stat.LRPID = o.now(), r.Caller.PID
	q.wake()
	return &Reply{Value: int64(len(text)), Type: m.typ, Text: text}
}

// pick is the index of the message msgrcv takes for type typ, -1 if
// none: the first (typ 0), the first of type typ (or, with MSG_EXCEPT,
// of another), the first of the lowest type at most -typ (typ < 0); with
// MSG_COPY, the typ-th.
func pick(msgs []message, typ int64, flags int) int {
	switch {
	case flags&linux.MSG_COPY != 0:
		if typ >= 0 && typ < int64(len(msgs)) {
			return int(typ)
		}
		return -1
	case typ == 0:
		if len(msgs) > 0 {
			return 0
		}
	case typ > 0:
		except := flags&linux.MSG_EXCEPT != 0
		for i, m := range msgs {
			if (m.typ == typ) != except {
				return i
			}
		}
	default:
		best := -1
		for i, m := range msgs {
			if m.typ <= -typ && (best < 0 || m.typ < msgs[best].typ) {
				best = i
			}
		}
		return best
	}
	return -1
}

// unrecv puts a received message back at the head of its queue.
func (o *Objects) unrecv(r *Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.msgs[r.ID]
	if q == nil {
		return
	}
	q.msgs = append([]message{{typ: r.Type, text: r.Text}}, q.msgs...)
	q.stat.CBytes += len(r.Text)
	q.stat.QNum++
	q.wake()
}

func (o *Objects) ctl(r *Request) *Reply {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.msgs[r.ID]
	if q == nil {
		return fail(unix.EINVAL)
	}
	rep := common(r, q.stat.Perm, func() *Reply {
		st := q.stat
		return &Reply{Stat: &st}
	}, func() *Reply { return o.set(q, r) }, func() {
		delete(o.msgs, r.ID)
		q.removed = true
		q.wake()
	})
	if rep == nil {
		return fail(unix.EINVAL)
	}
	return rep
}

// common answers the control commands every kind of object has, with o.mu
// held: IPC_STAT (stat, if perm lets r read), IPC_SET (set) and IPC_RMID
// (remove, if r's caller owns the object); nil for any other command.
func common(r *Request, perm Perm, stat, set func() *Reply, remove func()) *Reply {
	switch r.Cmd {
	case linux.IPC_STAT:
		if !perm.allows(r.Caller, readAccess) {
			return fail(unix.EACCES)
		}
		return stat()
	case linux.IPC_SET:
		return set()
	case linux.IPC_RMID:
		if !perm.owns(r.Caller) {
			return fail(unix.EPERM)
		}
		remove()
		return &Reply{}
	}
	return nil
}

func (o *Objects) set(q *queue, r *Request) *Reply {
	if r.Set == nil {
		return fail(unix.EFAULT)
	}
	if !q.stat.Perm.owns(r.Caller) {
		return fail(unix.EPERM)
	}
	if r.Set.QBytes > o.limits.MsgMnb && !r.Caller.privileged() {
		return fail(unix.EPERM)
	}
	p := &q.stat.Perm
	p.UID, p.GID = r.Set.Perm.UID, r.Set.Perm.GID
	p.Mode = p.Mode&^0o777 | r.Set.Perm.Mode&0o777
	q.stat.QBytes = r.Set.QBytes
	q.stat.CTime = o.now()
	q.wake()
	return &Reply{}
}
