package pidspace

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"syscall"
)

// The PID range, written once for the tree: the allocators here, Raft's
// cluster configuration (raftstate) and the node's kernel.pid_max use these.
const (
	// FirstPID is the lowest PID ever handed out to a sandboxed process.
	// PIDs below it belong to herd-init's own threads in each node's PID
	// namespace, so block sources never lease them.
	FirstPID = 4096
	// PIDMax is one past the highest PID herd hands out: the kernel's
	// PID_MAX_LIMIT on 64-bit, the value each node writes to
	// kernel.pid_max and the default (and largest) cluster pid max.
	PIDMax = 1 << 22
	// BlockLen is the size of the PID blocks LocalBlocks hands out, and the
	// default block size of a cluster.
	BlockLen = 1024
)

// DefaultLowWater is the number of free PIDs below which a BlockAllocator
// leases another block when the caller does not choose a value.
const DefaultLowWater = 256

var (
	// ErrPIDInUse is returned by Reserve when the PID is already in use.
	ErrPIDInUse = errors.New("pidspace: pid already in use")
	// ErrPIDNotOwned is returned by Reserve for a PID at or above FirstPID
	// that lies in no block this allocator holds: another node may own it.
	ErrPIDNotOwned = errors.New("pidspace: pid is outside this node's leased blocks")
)

// Allocator hands out cluster PIDs.
//
// Implementations must be safe for concurrent use. Free must never block:
// the Space calls it from the sentry's event-driven tracer path.
type Allocator interface {
	// Alloc returns a PID that is not in use and marks it used. It returns
	// at once in steady state; it may block only when it holds no free PID
	// and must wait for more, and then fails with an error wrapping
	// syscall.EAGAIN (fork's errno) if none can be had.
	Alloc() (int, error)

	// Reserve marks pid used although Alloc did not hand it out: the kernel
	// gave a clone a different PID than the one asked for and the sentry
	// adopts it, or herd-init started a thread. It fails with ErrPIDInUse
	// if pid is already used and ErrPIDNotOwned if pid belongs to no block
	// of this allocator (the caller must not use that PID).
	Reserve(pid int) error

	// Free returns pid for reuse. The caller frees a PID exactly once, and
	// only when nothing refers to it any more (see Space). Freeing a PID
	// that is not in use is ignored.
	Free(pid int)
}

// Block is a contiguous range of PIDs [Start, Start+Len) leased to one
// node. It is Raft's lease type too (raftstate): the JSON names are part of
// the replicated log and snapshots and must not change.
type Block struct {
	Start int `json:"start"`
	Len   int `json:"len"`
}

// End returns the first PID after the block.
func (b Block) End() int { return b.Start + b.Len }

// Contains reports whether pid lies in the block.
func (b Block) Contains(pid int) bool { return pid >= b.Start && pid < b.End() }

func (b Block) String() string { return fmt.Sprintf("[%d,%d)", b.Start, b.End()) }

// BlockSource leases PID blocks to a node. A node may use every PID of a
// block it holds and none outside; blocks of different holders never
// overlap. Raft is the cluster's source; LocalBlocks serves one process.
type BlockSource interface {
	// LeaseBlock grants a block to the caller. It fails with an error
	// wrapping syscall.EAGAIN when the PID space is exhausted.
	LeaseBlock(ctx context.Context) (Block, error)
	// ReleaseBlock returns a block leased by LeaseBlock. The caller
	// promises that no PID of it is in use.
	ReleaseBlock(ctx context.Context, b Block) error
}

// LocalBlocks is an in-process BlockSource: blocks of BlockLen PIDs from
// FirstPID up to pid_max (exclusive, as kernel.pid_max is). Released blocks
// are leased again lowest first.
type LocalBlocks struct {
	mu       sync.Mutex
	pidMax   int
	next     int
	released []Block // sorted by Start
	leased   map[int]bool
}

// NewLocalBlocks returns a source of the blocks below pidMax.
func NewLocalBlocks(pidMax int) *LocalBlocks {
	return &LocalBlocks{pidMax: pidMax, next: FirstPID, leased: make(map[int]bool)}
}

// LeaseBlock implements BlockSource.
func (l *LocalBlocks) LeaseBlock(ctx context.Context) (Block, error) {
	if err := ctx.Err(); err != nil {
		return Block{}, fmt.Errorf("lease pid block: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var b Block
	switch {
	case len(l.released) > 0:
		b = l.released[0]
		l.released = l.released[1:]
	case l.next+BlockLen <= l.pidMax:
		b = Block{Start: l.next, Len: BlockLen}
		l.next += BlockLen
	default:
		return Block{}, fmt.Errorf("lease pid block below pid_max %d: %w", l.pidMax, syscall.EAGAIN)
	}
	l.leased[b.Start] = true
	return b, nil
}

// ReleaseBlock implements BlockSource. Releasing a block that is not
// leased fails with EINVAL.
func (l *LocalBlocks) ReleaseBlock(ctx context.Context, b Block) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.leased[b.Start] || b.Len != BlockLen {
		return fmt.Errorf("release pid block %v: %w", b, syscall.EINVAL)
	}
	delete(l.leased, b.Start)
	i, _ := slices.BinarySearchFunc(l.released, b, func(x, y Block) int { return x.Start - y.Start })
	l.released = slices.Insert(l.released, i, b)
	return nil
}

// BlockAllocator is an Allocator over blocks leased from a BlockSource.
//
// It keeps at least lowWater free PIDs in reserve, leasing more in a
// background goroutine when it drops below, so Alloc does not wait for a
// lease in steady state. PIDs are handed out cyclically (like the kernel's
// ns_last_pid) so a freed PID is not reused at once. A block is released
// only when none of its PIDs is in use and at least 2*lowWater free PIDs
// remain without it, so a fork/exit loop at a block edge does not thrash.
// A failed release drops the block from this node anyway: leaking a block
// is better than two nodes handing out the same PID.
type BlockAllocator struct {
	ctx      context.Context
	src      BlockSource
	lowWater int

	mu      sync.Mutex
	cond    *sync.Cond
	blocks  []*heldBlock // sorted by Start
	free    int          // free PIDs across blocks
	last    int          // last PID handed out; the search resumes after it
	low     map[int]bool // reserved PIDs below FirstPID (herd-init's threads)
	leasing bool
	err     error     // outcome of the last failed lease, for blocked Allocs
	foreign func(int) // gets freed PIDs outside every block (SetForeign)
}

type heldBlock struct {
	Block
	used  []uint64 // bit i set: Start+i in use
	nused int
}

// NewBlockAllocator returns an allocator leasing from src under ctx (which
// bounds every lease and release). lowWater <= 0 selects DefaultLowWater.
// It starts leasing the first block at once.
func NewBlockAllocator(ctx context.Context, src BlockSource, lowWater int) *BlockAllocator {
	if lowWater <= 0 {
		lowWater = DefaultLowWater
	}
	a := &BlockAllocator{ctx: ctx, src: src, lowWater: lowWater, low: make(map[int]bool)}
	a.cond = sync.NewCond(&a.mu)
	a.mu.Lock()
	a.startLeaseLocked()
	a.mu.Unlock()
	return a
}

// Alloc implements Allocator.
func (a *BlockAllocator) Alloc() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.free == 0 {
		if !a.leasing {
			a.err = nil
			a.startLeaseLocked()
		}
		a.cond.Wait()
		if a.free == 0 && !a.leasing && a.err != nil {
			return 0, fmt.Errorf("allocate pid: %w", a.err)
		}
	}
	pid := a.takeLocked()
	if a.free < a.lowWater {
		a.startLeaseLocked()
	}
	return pid, nil
}

// Ready waits until the allocator holds a free PID. It returns the lease
// error if the source refused the block it waited for, or ctx's error.
// A node waits for it once at start, so that its first fork never waits
// for a lease on the tracer thread.
func (a *BlockAllocator) Ready(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		a.mu.Lock()
		a.cond.Broadcast()
		a.mu.Unlock()
	})
	defer stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.free == 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("first pid block: %w", err)
		}
		if !a.leasing {
			if a.err != nil {
				return fmt.Errorf("first pid block: %w", a.err)
			}
			a.startLeaseLocked()
		}
		a.cond.Wait()
	}
	return nil
}

// Reserve implements Allocator.
func (a *BlockAllocator) Reserve(pid int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, i := a.findLocked(pid)
	if b == nil {
		if pid <= 0 || pid >= FirstPID {
			return fmt.Errorf("reserve pid %d: %w", pid, ErrPIDNotOwned)
		}
		if a.low[pid] {
			return fmt.Errorf("reserve pid %d: %w", pid, ErrPIDInUse)
		}
		a.low[pid] = true
		return nil
	}
	if b.isUsed(i) {
		return fmt.Errorf("reserve pid %d: %w", pid, ErrPIDInUse)
	}
	b.set(i)
	a.free--
	if a.free < a.lowWater {
		a.startLeaseLocked()
	}
	return nil
}

// Free implements Allocator. A PID at or above FirstPID outside every
// held block is another node's, lent to a process that moved here (see
// Space.Import): it goes to the hook set with SetForeign, called with no
// lock held, and is ignored without one.
func (a *BlockAllocator) Free(pid int) {
	a.mu.Lock()
	b, i := a.findLocked(pid)
	if b == nil {
		delete(a.low, pid)
		hook := a.foreign
		a.mu.Unlock()
		if hook != nil && pid >= FirstPID {
			hook(pid)
		}
		return
	}
	defer a.mu.Unlock()
	if !b.isUsed(i) {
		return
	}
	b.clear(i)
	a.free++
	if b.nused == 0 && a.free-b.Len >= 2*a.lowWater {
		a.releaseLocked(b)
	}
}

// SetForeign sets the hook that receives every freed PID this allocator
// does not own (Owns is false, and pid >= FirstPID): the PID of a process
// whose record moved here from its lease holder and was removed here. The
// node turns it into a message to the lease holder, which frees it there.
// The hook runs outside the allocator's lock, on the caller of Free (the
// sentry's tracer path): it must not block. nil removes the hook.
func (a *BlockAllocator) SetForeign(hook func(pid int)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.foreign = hook
}

// Owns reports whether pid lies in a block this allocator holds, so that
// freeing it here is right; a PID of another node's block is only lent.
func (a *BlockAllocator) Owns(pid int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, _ := a.findLocked(pid)
	return b != nil
}

// InUse reports whether pid is currently allocated or reserved.
func (a *BlockAllocator) InUse(pid int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, i := a.findLocked(pid)
	if b == nil {
		return a.low[pid]
	}
	return b.isUsed(i)
}

// Blocks returns the blocks currently held, in PID order.
func (a *BlockAllocator) Blocks() []Block {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Block, len(a.blocks))
	for i, b := range a.blocks {
		out[i] = b.Block
	}
	return out
}

// FreePIDs counts the PIDs that Alloc can hand out without leasing.
func (a *BlockAllocator) FreePIDs() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.free
}

func (a *BlockAllocator) startLeaseLocked() {
	if a.leasing {
		return
	}
	a.leasing = true
	go a.lease()
}

// lease runs in its own goroutine until the reserve is back above the low
// water mark or the source fails.
func (a *BlockAllocator) lease() {
	for {
		b, err := a.src.LeaseBlock(a.ctx)
		a.mu.Lock()
		if err == nil {
			err = a.addLocked(b)
		}
		if err != nil {
			a.err = err
			a.leasing = false
			a.cond.Broadcast()
			a.mu.Unlock()
			return
		}
		a.cond.Broadcast()
		if a.free >= a.lowWater {
			a.leasing = false
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
	}
}

func (a *BlockAllocator) addLocked(b Block) error {
	if b.Len <= 0 || b.Start < FirstPID {
		return fmt.Errorf("lease pid block: source returned invalid block %v", b)
	}
	i, _ := slices.BinarySearchFunc(a.blocks, b.Start, func(h *heldBlock, s int) int { return h.Start - s })
	if (i > 0 && a.blocks[i-1].End() > b.Start) || (i < len(a.blocks) && b.End() > a.blocks[i].Start) {
		return fmt.Errorf("lease pid block: source returned %v overlapping a held block", b)
	}
	h := &heldBlock{Block: b, used: make([]uint64, (b.Len+63)/64)}
	a.blocks = slices.Insert(a.blocks, i, h)
	a.free += b.Len
	return nil
}

func (a *BlockAllocator) releaseLocked(b *heldBlock) {
	a.blocks = slices.DeleteFunc(a.blocks, func(h *heldBlock) bool { return h == b })
	a.free -= b.Len
	go func(blk Block) {
		// The error is deliberately dropped: see the type's comment.
		_ = a.src.ReleaseBlock(a.ctx, blk)
	}(b.Block)
}

// findLocked returns the held block containing pid and pid's index in it.
func (a *BlockAllocator) findLocked(pid int) (*heldBlock, int) {
	i, found := slices.BinarySearchFunc(a.blocks, pid, func(h *heldBlock, p int) int { return h.Start - p })
	if !found {
		i--
	}
	if i < 0 || !a.blocks[i].Contains(pid) {
		return nil, 0
	}
	return a.blocks[i], pid - a.blocks[i].Start
}

// takeLocked hands out the first free PID after a.last, wrapping around
// the held blocks. The caller has checked a.free > 0.
func (a *BlockAllocator) takeLocked() int {
	start, _ := slices.BinarySearchFunc(a.blocks, a.last+1, func(h *heldBlock, p int) int { return h.End() - 1 - p })
	n := len(a.blocks)
	for k := 0; k <= n; k++ {
		b := a.blocks[(start+k)%n]
		from := 0
		if k == 0 && b.Contains(a.last+1) {
			from = a.last + 1 - b.Start
		}
		if i, ok := b.firstFree(from); ok {
			b.set(i)
			a.free--
			a.last = b.Start + i
			return a.last
		}
	}
	panic("pidspace: free pid count out of sync with block bitmaps")
}

func (b *heldBlock) isUsed(i int) bool { return b.used[i/64]&(1<<(i%64)) != 0 }
func (b *heldBlock) set(i int)         { b.used[i/64] |= 1 << (i % 64); b.nused++ }
func (b *heldBlock) clear(i int)       { b.used[i/64] &^= 1 << (i % 64); b.nused-- }

// firstFree returns the lowest free index >= from.
func (b *heldBlock) firstFree(from int) (int, bool) {
	for w := from / 64; w < len(b.used); w++ {
		free := ^b.used[w]
		if w == from/64 {
			free &^= (1 << (from % 64)) - 1
		}
		if free == 0 {
			continue
		}
		i := w*64 + bits.TrailingZeros64(free)
		if i >= b.Len {
			return 0, false
		}
		return i, true
	}
	return 0, false
}
