package syscalls

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/procview"
	"herd/sentry"
)

// ExecPlacer moves a process's exec to another node: the node implements
// it over RPC. Place runs on the tracer thread and answers at once; the
// others may block (they run off the tracer thread) and honour ctx.
type ExecPlacer interface {
	// Place is the node the exec of process pid, under placement
	// policy, goes to: "" or this node's name keeps it here.
	Place(pid int, policy string) string
	// Prepare hands the exec to node, which starts the program with
	// the process's state and descriptors and holds it at its exec; an
	// error (an errno when the exec failed there) keeps the exec here.
	Prepare(ctx context.Context, node string, x *ExecPlan) error
	// Abort withdraws an exec Prepare made ready on node.
	Abort(node string, pid int)
	// Drain is told that process pid, placed here, exited: if it has
	// descriptors proxied from another node, Drain returns true and
	// calls done (from any goroutine) once everything it wrote to them
	// is written on that node, or that cannot be (the node is gone).
	// Tracer thread; must not block.
	Drain(pid int, done func()) bool
}

// ExecPlan is what another node needs to run a process's execve: the
// program, the state execve keeps, and the process's placement policy,
// which its children inherit. Descriptors are the node's to carry.
type ExecPlan struct {
	Spec   sentry.PlacedSpec `json:"spec"`
	Policy string            `json:"policy,omitempty"`
}

// SetPlacer makes execve placeable by p (a cluster node's Kernel); with
// none, every exec runs where its process does. Before Table.
func (k *Kernel) SetPlacer(p ExecPlacer) { k.placer = p }

// SetPolicy sets the placement policy of process pid (its launch's), which
// its children inherit at fork.
func (k *Kernel) SetPolicy(pid int, policy string) {
	if policy == "" {
		delete(k.policies, pid)
		return
	}
	k.policies[pid] = policy
}

// execve places the exec on another node when the process's policy says
// so and everything it holds can go there; otherwise, or when the other
// node cannot run it, it runs here, natively (so its errors are the
// kernel's own).
func (k *Kernel) execve(t task) action {
	pid, tid := caller(t), t.TID()
	if k.placer == nil || k.execHere[tid] {
		delete(k.execHere, tid)
		return native()
	}
	if p, ok := k.procs.Lookup(pid); !ok || p.Virtual || p.Stub {
		return native() // a shim of a placement in progress: not ours yet
	}
	node := k.placer.Place(pid, k.policies[pid])
	if node == "" || node == k.node {
		return native()
	}
	x, err := k.execPlan(t, pid)
	if err != nil {
		k.log.Info("exec stays local", "pid", pid, "node", node, "why", err)
		return native()
	}
	x.Policy = k.policies[pid]
	// execve is not interrupted by signals: they wait, blocked, until
	// the exec is done here or there (and go with it, pending).
	restore, err := t.BlockSignals()
	if err != nil {
		k.log.Info("exec stays local", "pid", pid, "node", node, "why", err)
		return native()
	}
	k.placing[pid] = true
	return action{kind: actSentry, raw: sentry.AsyncRestart(func(ctx context.Context) (func(*sentry.Task) int64, error) {
		return k.prepareExec(ctx, node, x, tid, restore)
	})}
}

// prepareExec runs off the tracer thread: it has node make the exec
// ready and returns what finishes the call on the tracer thread, either
// the commit or, if node could not, the same execve again, here.
func (k *Kernel) prepareExec(ctx context.Context, node string, x *ExecPlan, tid int, restore func()) (func(*sentry.Task) int64, error) {
	pid := x.Spec.PID
	sentry.Trace("place: exec to " + node)
	err := k.placer.Prepare(ctx, node, x)
	sentry.Trace("place: prepared")
	if err != nil {
		if ctx.Err() != nil {
			// The call ended while node prepared: node may hold the
			// program ready all the same.
			k.placer.Abort(node, pid)
			return nil, ctx.Err()
		}
		k.log.Info("exec stays local", "pid", pid, "node", node, "why", err)
		return func(*sentry.Task) int64 { return k.execAgainHere(pid, tid, restore) }, nil
	}
	var committed atomic.Bool
	go func() {
		// The call ended without a commit (a signal, the task's
		// death): the other node drops what it holds.
		<-ctx.Done()
		if !committed.Load() {
			k.placer.Abort(node, pid)
		}
	}()
	return func(t *sentry.Task) int64 {
		committed.Store(true)
		sentry.Trace("place: commit")
		if err := k.commitExec(t, node, pid); err != nil {
			k.log.Warn("exec stays local", "pid", pid, "node", node, "why", err)
			k.placer.Abort(node, pid)
			return k.execAgainHere(pid, tid, restore)
		}
		return 0
	}, nil
}

// execAgainHere restarts thread tid's execve (process pid's), to run here
// this time, with its signals as they were.
func (k *Kernel) execAgainHere(pid, tid int, restore func()) int64 {
	delete(k.placing, pid)
	restore()
	k.execHere[tid] = true
	return -int64(sentry.ERESTARTNOINTR)
}

// commitExec hands process pid to node: its record goes there (the
// Moved event, ordered before anything else this node says of it), its
// pending signals follow it, and its image here vanishes. Tracer thread,
// the task stopped.
//
// Signals decided here for pid before the export but delivered after it
// find it gone on (Kernel.signal sends them on, behind the record).
func (k *Kernel) commitExec(t *sentry.Task, node string, pid int) error {
	delete(k.placing, pid)
	if k.lost[node] {
		return fmt.Errorf("node %s is down", node)
	}
	st, err := procview.ReadStatus(t.TID)
	if err != nil {
		return err
	}
	rec, err := k.space.Export(pid, node)
	if err != nil {
		return err
	}
	gone := func() {
		if err := k.procs.KernelGone(pid); err != nil {
			k.log.Debug("departed image gone", "pid", pid, "err", err)
		}
	}
	if err := k.s.Depart(pid, gone); err != nil {
		k.log.Warn("depart after export", "pid", pid, "err", err)
	}
	k.pidfds.forget(pid)
	delete(k.policies, pid)
	k.apply(pidspace.Effects{Remote: []pidspace.PeerEvent{{To: node, Kind: pidspace.Moved, PID: pid, Record: &rec}}})
	// Pending signals survive an exec: they go to the process there.
	// Their siginfo stays here (a standard signal pending here is one,
	// whoever sent it): it arrives as sent by the kernel.
	for _, sig := range procview.Signals(st.SigPnd | st.ShdPnd) {
		k.signalAs(pidspace.Target{PID: pid, Node: node, Home: node}, sig, siKernel, 0, 0)
	}
	return nil
}

// execPlan reads what the exec of task t, process pid, stopped at its
// execve entry, needs elsewhere. An error says why it cannot go.
func (k *Kernel) execPlan(t task, pid int) (*ExecPlan, error) {
	if err := sandboxNamespaces(t.TID()); err != nil {
		return nil, err
	}
	path, err := sentry.ReadString(t, t.Arg(0), unix.PathMax)
	if err != nil {
		return nil, fmt.Errorf("read path: %w", err)
	}
	argv, err := readStrings(t, t.Arg(1))
	if err != nil {
		return nil, fmt.Errorf("read argv: %w", err)
	}
	envp, err := readStrings(t, t.Arg(2))
	if err != nil {
		return nil, fmt.Errorf("read envp: %w", err)
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return nil, fmt.Errorf("read cwd: %w", err)
	}
	if path, err = resolveExecPath(pid, cwd, path); err != nil {
		return nil, err
	}
	st, err := procview.ReadStatus(t.TID())
	if err != nil {
		return nil, err
	}
	spec := sentry.PlacedSpec{
		PID: pid, Path: path, Argv: argv, Env: envp, Dir: cwd,
		UIDs: [3]uint32{st.Uid[0], st.Uid[1], st.Uid[2]}, GIDs: [3]uint32{st.Gid[0], st.Gid[1], st.Gid[2]},
		Groups: st.Groups, Umask: st.Umask, SigMask: st.SigBlk, Ignored: procview.Signals(st.SigIgn),
		Attrs: sentry.AttrsOf(t.TID()),
		Caps:  &sentry.Caps{Inh: st.CapInh, Prm: st.CapPrm, Eff: st.CapEff, Bnd: st.CapBnd, Amb: st.CapAmb},
	}
	// CPU numbers are this node's: the other node keeps its own.
	spec.Attrs.CPUs = nil
	return &ExecPlan{Spec: spec}, nil
}

// resolveExecPath is path as the process at cwd names it, absolute and
// meaning the same on another node; an error if it cannot (a path into
// this node's /proc, such as /proc/self/fd/N of fexecve, or /dev/fd/N).
// A file that does not exist or cannot be executed stays here: the local
// exec then fails with the kernel's own errno.
func resolveExecPath(pid int, cwd, path string) (string, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(cwd, path)
	}
	path = filepath.Clean(path)
	if strings.HasPrefix(path, "/proc/") || strings.HasPrefix(path, "/dev/fd/") {
		for _, self := range []string{"/proc/self/", "/proc/thread-self/"} {
			if rest, ok := strings.CutPrefix(path, self); ok && rest == "exe" {
				exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
				if err != nil {
					return "", err
				}
				return exe, nil
			}
		}
		return "", fmt.Errorf("%s names this node's process state", path)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return "", fmt.Errorf("%s: not an executable file", path)
	}
	return path, nil
}

// argMax bounds what an argv or envp array may hold, as the kernel's
// MAX_ARG_STRINGS does.
const argMax = 0x7fffffff

// readStrings reads a NULL-terminated array of string pointers at addr
// (execve's argv or envp; a NULL array is empty, as Linux takes it).
func readStrings(t task, addr uintptr) ([]string, error) {
	var out []string
	total := 0
	for i := 0; addr != 0 && i < argMax; i++ {
		var p uint64
		if err := readStruct(t, addr+uintptr(8*i), &p); err != nil {
			return nil, err
		}
		if p == 0 {
			return out, nil
		}
		s, err := sentry.ReadString(t, uintptr(p), 32*unix.Getpagesize())
		if err != nil {
			return nil, err
		}
		if total += len(s) + 1; total > 2<<20 {
			return nil, fmt.Errorf("arguments of %s bytes: %w", strconv.Itoa(total), unix.E2BIG)
		}
		out = append(out, s)
	}
	return out, nil
}

// heldExec is an exec another node handed here, its program held at its
// exec until the process's record arrives (Moved) or the other node
// withdraws it.
type heldExec struct {
	t      *sentry.Task
	policy string
	expire *time.Timer
}

// heldExecTimeout bounds how long a prepared exec waits for its commit:
// a node that vanished after Prepare leaves nothing behind.
const heldExecTimeout = 30 * time.Second

// PrepareExec starts x's program, with files as its descriptors, held
// at its exec; ready says when it is (nil) or why it failed (the errno
// of the exec, or of what came before it). Tracer thread.
func (k *Kernel) PrepareExec(x *ExecPlan, files map[int]int, ready func(error)) {
	pid := x.Spec.PID
	if _, ok := k.held[pid]; ok || k.preparing[pid] != nil {
		ready(fmt.Errorf("prepare exec of %d: %w", pid, unix.EEXIST))
		return
	}
	spec := x.Spec
	spec.Files = files
	prep := &preparing{}
	k.preparing[pid] = prep
	k.s.SpawnPlaced(spec, func(t *sentry.Task, err error) {
		delete(k.preparing, pid)
		if err == nil && prep.aborted {
			// Withdrawn while its program started: it goes at once.
			k.s.DropPlaced(t)
			err = fmt.Errorf("prepare exec of %d: withdrawn: %w", pid, unix.ECANCELED)
		}
		if err != nil {
			ready(err)
			return
		}
		h := &heldExec{t: t, policy: x.Policy}
		h.expire = time.AfterFunc(heldExecTimeout, func() {
			k.s.Post(func() {
				if k.held[pid] == h {
					k.log.Warn("prepared exec never committed; dropped", "pid", pid)
					k.AbortExec(pid)
				}
			})
		})
		k.held[pid] = h
		ready(nil)
	})
}

// preparing is an exec another node handed here whose program is
// starting; aborted says that node withdrew it meanwhile.
type preparing struct{ aborted bool }

// AbortExec drops the prepared exec of pid, if any, or the one being
// prepared as soon as its program is ready. Tracer thread.
func (k *Kernel) AbortExec(pid int) {
	if prep := k.preparing[pid]; prep != nil {
		prep.aborted = true
		return
	}
	h := k.held[pid]
	if h == nil {
		return
	}
	delete(k.held, pid)
	h.expire.Stop()
	k.s.DropPlaced(h.t)
}

// movedHere finishes a placement here once the record of pid arrived:
// its program runs, or, if the record could not be taken in (err), is
// dropped, and the process is lost (logged: the node it came from has
// let it go). Tracer thread.
func (k *Kernel) movedHere(pid int, err error) {
	if err != nil {
		k.log.Error("placed process lost: its record was refused", "pid", pid, "err", err)
		k.AbortExec(pid)
		return
	}
	k.arrived(pid)
}

// arrived lets the prepared exec of pid run, its record being here now
// (a Moved event applied). Tracer thread.
func (k *Kernel) arrived(pid int) {
	h := k.held[pid]
	if h == nil {
		k.log.Warn("record arrived without its exec", "pid", pid)
		return
	}
	delete(k.held, pid)
	h.expire.Stop()
	k.SetPolicy(pid, h.policy)
	sentry.Trace("place: record arrived, released")
	k.s.ReleasePlaced(h.t)
}
