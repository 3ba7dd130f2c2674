package pidspace

import (
	"context"
	"errors"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestLocalBlocks(t *testing.T) {
	ctx := context.Background()
	l := NewLocalBlocks(FirstPID + 3*BlockLen + 10) // room for three whole blocks
	var got []Block
	for range 3 {
		b, err := l.LeaseBlock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	for i, b := range got {
		if want := (Block{FirstPID + i*BlockLen, BlockLen}); b != want {
			t.Errorf("block %d = %v, want %v", i, b, want)
		}
	}
	if _, err := l.LeaseBlock(ctx); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("lease past pid_max: %v, want EAGAIN", err)
	}
	if err := l.ReleaseBlock(ctx, got[2]); err != nil {
		t.Fatal(err)
	}
	if err := l.ReleaseBlock(ctx, got[0]); err != nil {
		t.Fatal(err)
	}
	if err := l.ReleaseBlock(ctx, got[0]); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("double release: %v, want EINVAL", err)
	}
	if b, _ := l.LeaseBlock(ctx); b != got[0] {
		t.Errorf("re-lease = %v, want lowest released %v", b, got[0])
	}
	if b, _ := l.LeaseBlock(ctx); b != got[2] {
		t.Errorf("re-lease = %v, want %v", b, got[2])
	}
}

// fakeSource leases the blocks it is given and records releases.
type fakeSource struct {
	mu       sync.Mutex
	blocks   []Block
	leased   []Block
	released chan Block
	gate     chan struct{} // if set, each lease waits for a token
}

func newFakeSource(blocks ...Block) *fakeSource {
	return &fakeSource{blocks: blocks, released: make(chan Block, 16)}
}

func (f *fakeSource) LeaseBlock(ctx context.Context) (Block, error) {
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.blocks) == 0 {
		return Block{}, syscall.EAGAIN
	}
	b := f.blocks[0]
	f.blocks = f.blocks[1:]
	f.leased = append(f.leased, b)
	return b, nil
}

func (f *fakeSource) ReleaseBlock(ctx context.Context, b Block) error {
	f.released <- b
	return nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBlockAllocatorAllocIsCyclicAndUnique(t *testing.T) {
	src := newFakeSource(Block{5000, 8}, Block{6000, 8})
	a := NewBlockAllocator(context.Background(), src, 4)
	seen := map[int]bool{}
	var order []int
	for range 16 {
		pid, err := a.Alloc()
		if err != nil {
			t.Fatal(err)
		}
		if seen[pid] {
			t.Fatalf("pid %d handed out twice", pid)
		}
		seen[pid] = true
		order = append(order, pid)
	}
	want := []int{5000, 5001, 5002, 5003, 5004, 5005, 5006, 5007, 6000, 6001, 6002, 6003, 6004, 6005, 6006, 6007}
	if len(order) != len(want) {
		t.Fatalf("got %v", order)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("alloc order %v, want %v", order, want)
		}
	}
	if _, err := a.Alloc(); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("alloc with the source exhausted: %v, want EAGAIN", err)
	}
	// Freed PIDs come back only after the cursor wraps.
	a.Free(5003)
	a.Free(6001)
	for _, w := range []int{5003, 6001} {
		if pid, err := a.Alloc(); err != nil || pid != w {
			t.Fatalf("alloc = %d, %v; want %d", pid, err, w)
		}
	}
}

func TestBlockAllocatorRefillsBeforeRunningOut(t *testing.T) {
	src := newFakeSource(Block{5000, 8}, Block{6000, 8}, Block{7000, 8})
	a := NewBlockAllocator(context.Background(), src, 4)
	waitFor(t, "first block", func() bool { return len(a.Blocks()) == 1 })
	for range 5 { // 3 free left: below the low water mark of 4
		if _, err := a.Alloc(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "refill", func() bool { return len(a.Blocks()) == 2 })
	if got := a.FreePIDs(); got != 11 {
		t.Errorf("free pids = %d, want 11", got)
	}
}

func TestBlockAllocatorAllocWaitsOnlyWhenEmpty(t *testing.T) {
	src := newFakeSource(Block{5000, 2})
	src.gate = make(chan struct{})
	a := NewBlockAllocator(context.Background(), src, 1)
	done := make(chan int)
	go func() {
		pid, err := a.Alloc()
		if err != nil {
			t.Error(err)
		}
		done <- pid
	}()
	select {
	case pid := <-done:
		t.Fatalf("alloc returned %d before any block was leased", pid)
	case <-time.After(20 * time.Millisecond):
	}
	src.gate <- struct{}{}
	if pid := <-done; pid != 5000 {
		t.Fatalf("alloc = %d, want 5000", pid)
	}
	close(src.gate) // later leases fail at once
}

func TestBlockAllocatorReserve(t *testing.T) {
	src := newFakeSource(Block{5000, 8})
	a := NewBlockAllocator(context.Background(), src, 1)
	waitFor(t, "first block", func() bool { return len(a.Blocks()) == 1 })
	tests := []struct {
		pid  int
		want error
	}{
		{5005, nil},
		{5005, ErrPIDInUse},
		{12, nil}, // herd-init's thread
		{12, ErrPIDInUse},
		{0, ErrPIDNotOwned},
		{9000, ErrPIDNotOwned},
		{FirstPID, ErrPIDNotOwned},
	}
	for _, tt := range tests {
		if err := a.Reserve(tt.pid); !errors.Is(err, tt.want) {
			t.Errorf("Reserve(%d) = %v, want %v", tt.pid, err, tt.want)
		}
	}
	if !a.InUse(5005) || !a.InUse(12) || a.InUse(5004) {
		t.Errorf("InUse wrong after reserve")
	}
	for range 7 {
		pid, err := a.Alloc()
		if err != nil {
			t.Fatal(err)
		}
		if pid == 5005 {
			t.Fatal("reserved pid handed out")
		}
	}
	a.Free(12)
	if a.InUse(12) {
		t.Error("pid 12 still in use after Free")
	}
}

func TestBlockAllocatorReleasesEmptySurplusBlocks(t *testing.T) {
	src := newFakeSource(Block{5000, 4}, Block{6000, 4}, Block{7000, 4})
	a := NewBlockAllocator(context.Background(), src, 2)
	var pids []int
	for range 8 { // fills 5000 and 6000; leases 7000 in reserve
		pid, err := a.Alloc()
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	waitFor(t, "third block", func() bool { return len(a.Blocks()) == 3 })
	// Emptying 5000 leaves 4 free elsewhere: exactly 2*lowWater, so release.
	for _, pid := range pids[:3] {
		a.Free(pid)
	}
	select {
	case b := <-src.released:
		t.Fatalf("released %v while pid %d still used", b, pids[3])
	default:
	}
	a.Free(pids[3])
	select {
	case b := <-src.released:
		if b != (Block{5000, 4}) {
			t.Fatalf("released %v, want [5000,5004)", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("empty surplus block not released")
	}
	// A block with one pid still in use is never released, whatever the
	// surplus.
	for _, pid := range pids[4:7] {
		a.Free(pid)
	}
	select {
	case b := <-src.released:
		t.Fatalf("released %v with pid %d in use", b, pids[7])
	case <-time.After(10 * time.Millisecond):
	}
	if a.InUse(pids[7]) != true {
		t.Fatal("pid lost")
	}
}

func TestBlockAllocatorKeepsReserveBlock(t *testing.T) {
	src := newFakeSource(Block{5000, 4}, Block{6000, 4})
	a := NewBlockAllocator(context.Background(), src, 2)
	pid, err := a.Alloc()
	if err != nil {
		t.Fatal(err)
	}
	a.Free(pid) // the only block: never released, the reserve would go
	select {
	case b := <-src.released:
		t.Fatalf("released the only block %v", b)
	case <-time.After(10 * time.Millisecond):
	}
	a.Free(pid) // double free is ignored
	if got := a.FreePIDs(); got != 4 {
		t.Fatalf("free pids = %d, want 4", got)
	}
}

func TestBlockAllocatorConcurrent(t *testing.T) {
	a := NewBlockAllocator(context.Background(), NewLocalBlocks(FirstPID+8*BlockLen), 64)
	var mu sync.Mutex
	inUse := map[int]bool{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []int
			for i := range 500 {
				pid, err := a.Alloc()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if inUse[pid] {
					t.Errorf("pid %d handed out twice", pid)
				}
				inUse[pid] = true
				mu.Unlock()
				mine = append(mine, pid)
				if (i+g)%3 != 0 {
					pid, mine = mine[0], mine[1:]
					mu.Lock()
					delete(inUse, pid)
					mu.Unlock()
					a.Free(pid)
				}
			}
		}()
	}
	wg.Wait()
}

func TestBlockAllocatorReady(t *testing.T) {
	src := newFakeSource(Block{5000, 2})
	src.gate = make(chan struct{})
	a := NewBlockAllocator(context.Background(), src, 1)
	ready := make(chan error, 1)
	go func() { ready <- a.Ready(context.Background()) }()
	select {
	case err := <-ready:
		t.Fatalf("ready (%v) before any block was leased", err)
	case <-time.After(20 * time.Millisecond):
	}
	src.gate <- struct{}{}
	if err := <-ready; err != nil {
		t.Fatalf("ready: %v", err)
	}
	if a.FreePIDs() == 0 {
		t.Fatal("ready with no free pid")
	}

	// A source that refuses: Ready says why instead of waiting.
	refused := NewBlockAllocator(context.Background(), newFakeSource(), 1)
	if err := refused.Ready(context.Background()); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("ready from an empty source: %v, want EAGAIN", err)
	}

	// A source that never answers: Ready ends with its context.
	stuck := newFakeSource(Block{6000, 2})
	stuck.gate = make(chan struct{})
	defer close(stuck.gate)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := NewBlockAllocator(context.Background(), stuck, 1).Ready(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ready from a stuck source: %v, want the deadline", err)
	}
}

// A PID of another node's block, lent to a process whose record moved
// here, goes to the foreign hook when freed; the allocator's own PIDs and
// herd-init's low PIDs never do.
func TestBlockAllocatorForeignFree(t *testing.T) {
	src := newFakeSource(Block{5000, 8})
	a := NewBlockAllocator(context.Background(), src, 1)
	waitFor(t, "first block", func() bool { return len(a.Blocks()) == 1 })
	a.Free(9000) // no hook: ignored, as before
	var foreign []int
	a.SetForeign(func(pid int) {
		// Called with no lock held: the allocator is usable from the hook.
		if a.Owns(pid) {
			t.Errorf("hook got owned pid %d", pid)
		}
		foreign = append(foreign, pid)
	})
	pid, err := a.Alloc()
	ok(t, err)
	ok(t, a.Reserve(12))
	tests := []struct {
		pid  int
		owns bool
	}{{pid, true}, {5007, true}, {12, false}, {9000, false}, {FirstPID, false}}
	for _, tt := range tests {
		if got := a.Owns(tt.pid); got != tt.owns {
			t.Errorf("Owns(%d) = %v, want %v", tt.pid, got, tt.owns)
		}
		a.Free(tt.pid)
	}
	if !slices.Equal(foreign, []int{9000, FirstPID}) {
		t.Errorf("foreign frees = %v, want [9000 %d]", foreign, FirstPID)
	}
	if a.InUse(pid) || a.InUse(12) {
		t.Errorf("own frees not done")
	}
	a.SetForeign(nil)
	a.Free(9001)
	if len(foreign) != 2 {
		t.Errorf("hook called after removal: %v", foreign)
	}
}
