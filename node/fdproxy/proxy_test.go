package fdproxy

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
)

// The "process on A" is this test: it holds the real pipes' other ends.
// The "process on B" is this test writing to or reading from the Ends,
// or a real child process started with them.

// stream of n pseudo-random bytes from seed.
func pseudo(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed)}), n)
}

func sum(t testing.TB, r io.Reader) ([32]byte, int64) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Error(err)
	}
	return [32]byte(h.Sum(nil)), n
}

// transfer sends n bytes each way: into A's real pipe, read by B from its
// PipeRead end; and written by B to its PipeWrite end, read from A's real
// pipe. Both arrive whole, in order, and end with EOF.
func transfer(t *testing.T, n int64) {
	nodes := newTwoNodes(t)
	inR, inW := pipe(t)   // A writes inW; the process reads inR
	outR, outW := pipe(t) // the process writes outW; A reads outR
	_, tg := nodes.proxy(t, fdOf(inR), fdOf(outW))
	bIn, bOut := end(t, tg, fdOf(inR)), end(t, tg, fdOf(outW))
	tg.CloseEnds()
	inR.Close() // the process on A is gone from these ends: B has them
	outW.Close()
	want, _ := sum(t, pseudo(1, n))
	var wg sync.WaitGroup
	var gotIn, gotOut [32]byte
	var nIn, nOut int64
	wg.Add(4)
	go func() { defer wg.Done(); io.Copy(inW, pseudo(1, n)); inW.Close() }()
	go func() { defer wg.Done(); io.Copy(bOut, pseudo(1, n)); bOut.Close() }()
	go func() { defer wg.Done(); gotIn, nIn = sum(t, bIn) }()
	go func() { defer wg.Done(); gotOut, nOut = sum(t, outR) }()
	wg.Wait()
	if gotIn != want || gotOut != want {
		t.Fatalf("in: %d of %d bytes, same: %v; out: %d bytes, same: %v", nIn, n, gotIn == want, nOut, gotOut == want)
	}
}

func TestBothDirections(t *testing.T) { transfer(t, 8<<20+12345) }

func TestTransfer256MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	transfer(t, 256<<20)
}
