package ipc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Names binds objects' names to cluster-wide ids and says where each
// lives: Raft's IPC name table on a cluster's node (node/ipc.go), a map
// on a node alone (NewMemNames). A name is "msg:<key>" for a keyed queue,
// "msg:private:<node>:<nonce>" for an IPC_PRIVATE one (no key finds it).
type Names interface {
	// Bind binds name to a new id owned by owner. If name is bound
	// already it answers that binding with exists set.
	Bind(ctx context.Context, name, owner string) (id int, boundOwner string, exists bool, err error)
	// Lookup is name's binding. A replica that lacks it may catch up
	// with the cluster first (bindings made elsewhere just before).
	Lookup(ctx context.Context, name string) (id int, owner string, ok bool)
	// ByID is the binding of id, looked up as Lookup does.
	ByID(ctx context.Context, id int) (name, owner string, ok bool)
	// Unbind removes name's binding; owner must own it.
	Unbind(ctx context.Context, name, owner string) error
	// Up is whether node is a member not declared down.
	Up(node string) bool
}

// Peers carries a Request to the node owning its object
// (nodemsg.IPC), which answers with Service.Serve.
type Peers interface {
	Call(ctx context.Context, node string, r *Request) (*Reply, error)
}

// Service is a node's System V IPC: the objects it owns, and the way to
// the others'. Alone, it names objects in memory and owns them all; Join
// puts it in a cluster.
type Service struct {
	node string
	objs *Objects
	// creating is held from a name's binding to its object's creation,
	// so that an open that finds the binding first waits for the object.
	creating sync.Mutex

	mu    sync.RWMutex
	names Names
	peers Peers
	// owners caches the owners of ids.
	owners map[int]string
	// sizes caches the sizes of the semaphore sets this node has seen
	// (fixed for a set's life), for SETALL, whose array is that long.
	sizes map[int]int
	// undoers are the processes of this node with SEM_UNDO adjustments,
	// with the sets (and their owners) that hold them.
	undoers map[int]map[int]string
	// waiting are the calls in flight at other nodes, by owner: the
	// loss of the owner ends them (NodeLost).
	waiting map[string]map[*context.CancelCauseFunc]bool
}

// NewService is the service of a node alone, named node.
func NewService(node string, limits Limits) *Service {
	return &Service{node: node, objs: NewObjects(limits), names: NewMemNames(), owners: map[int]string{}, undoers: map[int]map[int]string{}, sizes: map[int]int{},
		waiting: map[string]map[*context.CancelCauseFunc]bool{}}
}

// Join makes the service a cluster's: names in names, other owners
// reached through peers. Objects made before stay (bound in the old
// Names only), so call it before programs run.
func (s *Service) Join(names Names, peers Peers) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names, s.peers = names, peers
}

func (s *Service) parts() (Names, Peers) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.names, s.peers
}

// Limits are the limits the service enforces.
func (s *Service) Limits() Limits { return s.objs.limits }

func (s *Service) privateName(kind string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return fmt.Sprintf("%s:private:%s:%s", kind, s.node, hex.EncodeToString(b))
}

// MsgGet is msgget(key, flags) by c: the id of the queue named key, made
// here (this node owns it) when IPC_CREAT asks and none is bound.
func (s *Service) MsgGet(ctx context.Context, key int32, flags int, c Caller) (int, error) {
	return s.get(ctx, kindMsg, key, flags, 0, c)
}

// SemGet is semget(key, nsems, flags) by c, as MsgGet.
func (s *Service) SemGet(ctx context.Context, key int32, nsems, flags int, c Caller) (int, error) {
	if nsems < 0 || nsems > linux.SEMMSL {
		return 0, unix.EINVAL
	}
	return s.get(ctx, kindSem, key, flags, nsems, c)
}

// The kinds of objects, as their names begin.
const (
	kindMsg = "msg"
	kindSem = "sem"
)

func (s *Service) get(ctx context.Context, kind string, key int32, flags, nsems int, c Caller) (int, error) {
	names, _ := s.parts()
	if key == linux.IPC_PRIVATE {
		id, _, err := s.create(ctx, names, s.privateName(kind), kind, key, flags, nsems, c)
		return id, err
	}
	name := fmt.Sprintf("%s:%d", kind, key)
	id, owner, ok := names.Lookup(ctx, name)
	if ok && !names.Up(owner) {
		// Its owner is lost, and the object with it: the key names
		// nothing (Bind binds it afresh).
		ok = false
	}
	if !ok {
		if flags&linux.IPC_CREAT == 0 {
			return 0, unix.ENOENT
		}
		var made bool
		var err error
		if id, made, err = s.create(ctx, names, name, kind, key, flags, nsems, c); err != nil || made {
			return id, err
		}
		_, owner, _ = names.ByID(ctx, id)
	}
	if flags&(linux.IPC_CREAT|linux.IPC_EXCL) == linux.IPC_CREAT|linux.IPC_EXCL {
		return 0, unix.EEXIST
	}
	op := OpMsgOpen
	if kind == kindSem {
		op = OpSemOpen
	}
	rep := s.route(ctx, owner, &Request{Op: op, ID: id, Caller: c, Flags: flags, Num: nsems})
	if rep.Sem != nil {
		s.learnSize(id, rep.Sem.NSems)
	}
	if rep.Errno == unix.EIDRM {
		// Removed since we looked, or its owner is lost: as if no
		// object had that key.
		return 0, unix.ENOENT
	}
	return int(rep.Value), rep.Err()
}

// create binds name and makes its object here; made is false (and id the
// existing one's) if name was bound meanwhile.
func (s *Service) create(ctx context.Context, names Names, name, kind string, key int32, flags, nsems int, c Caller) (id int, made bool, err error) {
	q, _, _ := s.objs.count()
	sets, _ := s.objs.semCount()
	switch {
	case kind == kindMsg && q >= s.objs.limits.MsgMni, kind == kindSem && sets >= linux.SEMMNI:
		return 0, false, unix.ENOSPC
	case kind == kindSem && nsems == 0:
		return 0, false, unix.EINVAL
	}
	s.creating.Lock()
	defer s.creating.Unlock()
	id, _, exists, err := names.Bind(ctx, name, s.node)
	switch {
	case err != nil:
		return 0, false, unix.ENOSPC
	case exists:
		return id, false, nil
	}
	if kind == kindSem {
		s.objs.createSem(id, nsems, newPerm(key, c, flags))
		s.learnSize(id, nsems)
	} else {
		s.objs.createMsg(id, newPerm(key, c, flags))
	}
	return id, true, nil
}

// Do carries out r wherever its object lives, waiting as the operation
// says; ctx's end interrupts a wait (EINTR). A received message whose
// caller was interrupted meanwhile is put back.
func (s *Service) Do(ctx context.Context, r *Request) *Reply {
	owner, ok := s.owner(ctx, r.ID)
	if !ok {
		return fail(unix.EINVAL)
	}
	r.Caller.Node = s.node
	rep := s.route(ctx, owner, r)
	s.noteUndo(r, owner, rep)
	if rep.Sem != nil {
		s.learnSize(r.ID, rep.Sem.NSems)
	}
	if r.Op == OpMsgRecv && rep.Errno == 0 && r.Flags&linux.MSG_COPY == 0 && ctx.Err() != nil {
		s.route(context.Background(), owner, &Request{Op: OpMsgUnrecv, ID: r.ID, Type: rep.Type, Text: rep.Text})
		return fail(unix.EINTR)
	}
	return rep
}

// TryLocal carries out r at once if this node owns its object and the
// operation need not wait, nor name anything in Names: ok is false if
// Do must do it (off the tracer thread).
func (s *Service) TryLocal(r *Request) (rep *Reply, ok bool) {
	if !s.objs.has(r.ID) {
		return nil, false
	}
	r.Caller.Node = s.node
	switch {
	case r.Op == OpMsgCtl && r.Cmd == linux.IPC_RMID:
		return nil, false
	case r.Op == OpSemCtl && r.Cmd == linux.IPC_RMID, r.Op == OpSemExit:
		return nil, false
	case r.Op == OpMsgSend || r.Op == OpMsgRecv || r.Op == OpSemOp:
		try := *r
		try.Try = true
		if rep = s.objs.Do(context.Background(), &try); rep.WouldBlock {
			return nil, false
		}
		s.noteUndo(r, s.node, rep)
		return rep, true
	}
	return s.objs.Do(context.Background(), r), true
}

// owner is the node owning id. Ids are never reused, so an owner once
// learnt stays right (whether the object still exists is the owner's to
// say).
func (s *Service) owner(ctx context.Context, id int) (string, bool) {
	if id < 0 {
		return "", false
	}
	s.mu.RLock()
	owner, ok := s.owners[id]
	names := s.names
	s.mu.RUnlock()
	if ok {
		return owner, true
	}
	if _, owner, ok = names.ByID(ctx, id); ok {
		s.mu.Lock()
		s.owners[id] = owner
		s.mu.Unlock()
	}
	return owner, ok
}

// route sends r to owner, or does it here.
func (s *Service) route(ctx context.Context, owner string, r *Request) *Reply {
	if owner == s.node {
		return s.Serve(ctx, r)
	}
	names, peers := s.parts()
	if peers == nil || !names.Up(owner) {
		return fail(unix.EIDRM)
	}
	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer s.await(owner, &cancel)()
	if !names.Up(owner) {
		// Lost between the check above and the registration.
		return fail(unix.EIDRM)
	}
	rep, err := peers.Call(callCtx, owner, r)
	if errors.Is(context.Cause(callCtx), errOwnerLost) {
		return fail(unix.EIDRM)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fail(unix.EINTR)
		}
		return fail(errnoOf(err))
	}
	return rep
}

var errOwnerLost = errors.New("ipc: the object's owner node is down")

// await registers a call in flight at owner, which NodeLost(owner)
// cancels with errOwnerLost; the function it returns unregisters it.
func (s *Service) await(owner string, cancel *context.CancelCauseFunc) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiting[owner] == nil {
		s.waiting[owner] = map[*context.CancelCauseFunc]bool{}
	}
	s.waiting[owner][cancel] = true
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.waiting[owner], cancel)
	}
}

// Serve carries out r on an object this node owns (for a peer, or for
// route): a removed queue's name is unbound.
func (s *Service) Serve(ctx context.Context, r *Request) *Reply {
	if r.Op == OpMsgOpen {
		// An open may find a name bound before its object exists.
		s.creating.Lock()
		s.creating.Unlock()
	}
	rep := s.objs.Do(ctx, r)
	if r.Op == OpMsgRecv && rep.Errno == 0 && r.Flags&linux.MSG_COPY == 0 && ctx.Err() != nil {
		// The caller was interrupted as the message came: it stays.
		s.objs.unrecv(&Request{ID: r.ID, Type: rep.Type, Text: rep.Text})
		return fail(unix.EINTR)
	}
	if (r.Op == OpMsgCtl || r.Op == OpSemCtl) && r.Cmd == linux.IPC_RMID && rep.Errno == 0 {
		names, _ := s.parts()
		if name, _, ok := names.ByID(ctx, r.ID); ok {
			if err := names.Unbind(context.Background(), name, s.node); err != nil {
				return fail(unix.EIDRM)
			}
		}
	}
	return rep
}

// MsgInfo is msgctl's IPC_INFO (limits) or MSG_INFO (use: the queues,
// messages and bytes this node owns, in msgpool, msgmap and msgtql), and
// the call's value: the highest id in use here, 0 if none.
func (s *Service) MsgInfo(cmd int) (linux.MsgInfo, int) {
	l := s.objs.limits
	info := linux.MsgInfo{
		MsgPool: linux.MSGPOOL, MsgMap: linux.MSGMAP, MsgMax: int32(l.MsgMax), MsgMnb: int32(l.MsgMnb),
		MsgMni: int32(l.MsgMni), MsgSsz: linux.MSGSSZ, MsgTql: linux.MSGTQL, MsgSeg: linux.MSGSEG,
	}
	if cmd == linux.MSG_INFO {
		q, m, b := s.objs.count()
		info.MsgPool, info.MsgMap, info.MsgTql = int32(q), int32(m), int32(b)
	}
	return info, s.objs.maxID()
}

func (o *Objects) maxID() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	top := 0
	for id := range o.msgs {
		top = max(top, id)
	}
	for id := range o.sems {
		top = max(top, id)
	}
	return top
}

// noteUndo remembers that r, a semop that succeeded, left its caller
// SEM_UNDO adjustments in set r.ID at owner.
func (s *Service) noteUndo(r *Request, owner string, rep *Reply) {
	if r.Op != OpSemOp || rep.Errno != 0 || rep.Value == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sets := s.undoers[r.Caller.PID]
	if sets == nil {
		sets = map[int]string{}
		s.undoers[r.Caller.PID] = sets
	}
	sets[r.ID] = owner
}

// Exited applies the SEM_UNDO adjustments of process pid of this node,
// which exited, at the owners of its sets. It may wait for them: call it
// off the tracer thread.
func (s *Service) Exited(pid int) {
	s.mu.Lock()
	sets := s.undoers[pid]
	delete(s.undoers, pid)
	s.mu.Unlock()
	for id, owner := range sets {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.route(ctx, owner, &Request{Op: OpSemExit, ID: id, Caller: Caller{PID: pid, Node: s.node}})
		cancel()
	}
}

// HasUndo is whether process pid of this node holds SEM_UNDO
// adjustments (its exit must apply them).
func (s *Service) HasUndo(pid int) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.undoers[pid]) > 0
}

// NodeLost is told that node is down: the calls waiting there end with
// EIDRM (its objects are gone), and the SEM_UNDO adjustments its
// processes hold in the sets this node owns are applied.
func (s *Service) NodeLost(node string) {
	s.mu.Lock()
	for cancel := range s.waiting[node] {
		(*cancel)(errOwnerLost)
	}
	delete(s.waiting, node)
	s.mu.Unlock()
	s.objs.NodeLost(node)
}

// SemInfo is semctl's IPC_INFO (limits) or SEM_INFO (semusz and semaem:
// the sets and semaphores this node owns), and the call's value, the
// highest id in use here.
func (s *Service) SemInfo(cmd int) (linux.SemInfo, int) {
	info := linux.SemInfo{
		SemMap: linux.SEMMAP, SemMni: linux.SEMMNI, SemMns: linux.SEMMNS, SemMnu: linux.SEMMNU,
		SemMsl: linux.SEMMSL, SemOpm: linux.SEMOPM, SemUme: linux.SEMUME, SemUsz: linux.SEMUSZ,
		SemVmx: linux.SEMVMX, SemAem: linux.SEMAEM,
	}
	if cmd == linux.SEM_INFO {
		sets, sems := s.objs.semCount()
		info.SemUsz, info.SemAem = uint32(sets), uint32(sems)
	}
	return info, s.objs.maxID()
}

func (s *Service) learnSize(id, nsems int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sizes[id] = nsems
}

// SemSize is the number of semaphores of set id, if this node has seen
// it (made, opened or IPC_STATed here).
func (s *Service) SemSize(id int) (int, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.sizes[id]
	return n, ok
}
