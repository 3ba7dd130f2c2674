package node

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"herd/raftstate"
	"herd/remote"
	"herd/remote/nodemsg"
	"herd/syscalls"
)

// Placement policies: where the execs of a launched program and its
// descendants go. "" is the cluster's default (raftstate.ClusterConfig).
const (
	PlaceLocal       = "local"        // never moves
	PlaceSpread      = "spread"       // every exec to the next node, round-robin
	PlaceLeastLoaded = "least-loaded" // to the node with the most idle CPU
	placeNodePrefix  = "node:"        // node:ID, to that node
)

// CheckPolicy says whether policy names a placement policy; "" is the
// cluster's default.
func CheckPolicy(policy string) error {
	switch {
	case policy == "", policy == PlaceLocal, policy == PlaceSpread, policy == PlaceLeastLoaded:
		return nil
	case strings.HasPrefix(policy, placeNodePrefix) && len(policy) > len(placeNodePrefix):
		return nil
	}
	return fmt.Errorf("placement %q: want local, spread, least-loaded or node:ID", policy)
}

// prepareTimeout bounds preparing an exec on another node: past it, the
// exec runs here.
const prepareTimeout = 10 * time.Second

// placer is a cluster node's syscalls.ExecPlacer: it chooses a node by
// policy and hands execs to it over RPC.
type placer struct {
	cn   *Cluster
	next atomic.Uint64 // round-robin cursor of spread

	loadsMu sync.Mutex
	loads   map[string]float64 // idle CPUs by node, from the last poll
	polled  time.Time
}

func newPlacer(cn *Cluster) *placer { return &placer{cn: cn, loads: make(map[string]float64)} }

// Place implements syscalls.ExecPlacer. Tracer thread: it answers from
// the replica's membership and cached loads, never waiting.
func (p *placer) Place(pid int, policy string) string {
	if policy == "" {
		policy = p.cn.store.FSM().ClusterConfig().Placement
	}
	up := p.upMembers()
	switch {
	case policy == PlaceSpread && len(up) > 0:
		return up[p.next.Add(1)%uint64(len(up))].ID
	case policy == PlaceLeastLoaded && len(up) > 0:
		return p.leastLoaded(up)
	case strings.HasPrefix(policy, placeNodePrefix):
		id := policy[len(placeNodePrefix):]
		if slices.ContainsFunc(up, func(m raftstate.Member) bool { return m.ID == id }) {
			return id
		}
	}
	return ""
}

// upMembers are the members that are up, in ID order.
func (p *placer) upMembers() []raftstate.Member {
	ms := slices.DeleteFunc(p.cn.store.Members(), func(m raftstate.Member) bool { return m.State != raftstate.StateUp })
	slices.SortFunc(ms, func(a, b raftstate.Member) int { return strings.Compare(a.ID, b.ID) })
	return ms
}

// loadsMaxAge is how old the loads least-loaded decides on may be.
const loadsMaxAge = time.Second

// leastLoaded is the up member with the most idle CPUs (CPUs less the
// one-minute load), from the last poll of every node's status; a poll is
// started when that is older than loadsMaxAge. Ties go to this node,
// then in ID order.
func (p *placer) leastLoaded(up []raftstate.Member) string {
	p.loadsMu.Lock()
	defer p.loadsMu.Unlock()
	if time.Since(p.polled) > loadsMaxAge {
		p.polled = time.Now()
		go p.pollLoads(up)
	}
	best, bestIdle := "", 0.0
	for _, m := range up {
		idle, ok := p.loads[m.ID]
		if !ok {
			idle = float64(m.CPUs)
		}
		if best == "" || idle > bestIdle || idle == bestIdle && m.ID == p.cn.ID {
			best, bestIdle = m.ID, idle
		}
	}
	return best
}

// pollLoads asks every member for its load.
func (p *placer) pollLoads(up []raftstate.Member) {
	fanOut(context.Background(), up, "", queryTimeout, func(ctx context.Context, m raftstate.Member) error {
		st, err := p.cn.statusOf(ctx, m)
		if err != nil {
			return err
		}
		p.loadsMu.Lock()
		p.loads[m.ID] = float64(m.CPUs) - st.Load[0]
		p.loadsMu.Unlock()
		return nil
	})
}

// Prepare implements syscalls.ExecPlacer.
func (p *placer) Prepare(ctx context.Context, node string, x *syscalls.ExecPlan) error {
	m, ok := p.cn.store.FSM().Member(node)
	if !ok {
		return fmt.Errorf("prepare exec on %s: no such node", node)
	}
	fds, err := describeFds(x.Spec.PID)
	if err != nil {
		return fmt.Errorf("prepare exec on %s: %w", node, err)
	}
	ctx, cancel := context.WithTimeout(ctx, prepareTimeout)
	defer cancel()
	_, err = remote.Call(ctx, p.cn.pool.Client(m.Address), nodemsg.PlacePrepare, &nodemsg.PrepareRequest{Plan: *x, Fds: fds})
	return err
}

// Abort implements syscalls.ExecPlacer: it tells node, without waiting.
func (p *placer) Abort(node string, pid int) {
	m, ok := p.cn.store.FSM().Member(node)
	if !ok {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), prepareTimeout)
		defer cancel()
		if _, err := remote.Call(ctx, p.cn.pool.Client(m.Address), nodemsg.PlaceAbort, &nodemsg.AbortRequest{PID: pid}); err != nil {
			p.cn.log.Warn("abort prepared exec", "node", node, "pid", pid, "err", err)
		}
	}()
}

// handlePrepare serves nodemsg.PlacePrepare: the exec is made ready here,
// its program held at its exec until the record follows.
func (cn *Cluster) handlePrepare(ctx context.Context, peer string, req *nodemsg.PrepareRequest) (*remote.Empty, error) {
	files, err := openFds(req.Fds)
	if err != nil {
		return nil, err
	}
	defer closeFiles(files)
	done := make(chan error, 1)
	cn.local.sentry.Post(func() {
		cn.local.kernel.PrepareExec(&req.Plan, files, func(err error) { done <- err })
	})
	select {
	case err := <-done:
		return &remote.Empty{}, err
	case <-ctx.Done():
		// The caller gave up; a program made ready later waits for a
		// commit that does not come, and is dropped.
		return nil, ctx.Err()
	}
}

// handleAbort serves nodemsg.PlaceAbort.
func (cn *Cluster) handleAbort(ctx context.Context, peer string, req *nodemsg.AbortRequest) (*remote.Empty, error) {
	cn.local.sentry.Post(func() { cn.local.kernel.AbortExec(req.PID) })
	return &remote.Empty{}, nil
}

// describeFds describes the descriptors process pid keeps across its
// exec (those without FD_CLOEXEC), or says why one cannot be carried.
// Carried today: what reopens by path. Pipes, sockets and terminals need
// stream proxies (node/fdproxy).
func describeFds(pid int) ([]nodemsg.FdDesc, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []nodemsg.FdDesc
	for _, e := range ents {
		d, keep, err := describeFd(pid, e.Name())
		if err != nil {
			return nil, err
		}
		if keep {
			out = append(out, d)
		}
	}
	return out, nil
}

// reopenable are the devices a process gets anew on another node.
var reopenable = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}

func describeFd(pid int, name string) (nodemsg.FdDesc, bool, error) {
	var d nodemsg.FdDesc
	if _, err := fmt.Sscan(name, &d.Num); err != nil {
		return d, false, err
	}
	info, err := readFdInfo(pid, d.Num)
	if err != nil {
		return d, false, err
	}
	if info.flags&unix.O_CLOEXEC != 0 {
		return d, false, nil
	}
	d.Flags, d.Offset = info.flags, info.pos
	target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, d.Num))
	if err != nil {
		return d, false, err
	}
	d.Path = target
	if slices.Contains(reopenable, target) {
		return d, true, nil
	}
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/fd/%d", pid, d.Num), &st); err != nil {
		return d, false, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return d, true, nil
	case unix.S_IFREG:
		if d.Flags&unix.O_ACCMODE == unix.O_RDONLY || d.Flags&unix.O_APPEND != 0 {
			return d, true, nil
		}
	}
	return d, false, fmt.Errorf("fd %d (%s) cannot be carried to another node yet", d.Num, target)
}

type fdInfo struct {
	pos   int64
	flags int
}

// readFdInfo reads pos and flags of /proc/<pid>/fdinfo/<fd>.
func readFdInfo(pid, fd int) (fdInfo, error) {
	var fi fdInfo
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return fi, err
	}
	for line := range strings.Lines(string(b)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		v = strings.TrimSpace(v)
		switch k {
		case "pos":
			fmt.Sscan(v, &fi.pos)
		case "flags":
			fmt.Sscanf(v, "%o", &fi.flags)
		}
	}
	return fi, nil
}

// openFds opens, here, the descriptors fds describe.
func openFds(fds []nodemsg.FdDesc) (map[int]*os.File, error) {
	files := make(map[int]*os.File)
	for _, d := range fds {
		flags := d.Flags &^ (unix.O_CREAT | unix.O_TRUNC | unix.O_EXCL | unix.O_CLOEXEC)
		fd, err := unix.Open(d.Path, flags|unix.O_CLOEXEC, 0)
		if err != nil {
			closeFiles(files)
			return nil, fmt.Errorf("reopen fd %d (%s): %w", d.Num, d.Path, err)
		}
		if d.Offset > 0 && d.Flags&unix.O_APPEND == 0 {
			unix.Seek(fd, d.Offset, 0)
		}
		files[d.Num] = os.NewFile(uintptr(fd), d.Path)
	}
	return files, nil
}

func closeFiles(files map[int]*os.File) {
	for _, f := range files {
		f.Close()
	}
}
