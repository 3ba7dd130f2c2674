package fdproxy

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAtomicFullPages: the process on B writes records of exactly
// PIPE_BUF bytes, many in a row (they cross as runs of full packets,
// written on A in one write each), while a writer on A writes records of
// PIPE_BUF bytes too, and the reader on A reads slowly so that the pipe
// is often full and the runs' writes come back partial. Every record
// arrives whole, each writer's in order.
func TestAtomicFullPages(t *testing.T) {
	outR, outW, bOut := proxiedPipe(t, false)
	const records = 2000
	record := func(who byte, i int) []byte {
		r := bytes.Repeat([]byte{who}, pipeBuf)
		copy(r, fmt.Sprintf("%c%07d", who, i))
		return r
	}
	write := func(who byte, w *os.File, perWrite int) {
		defer w.Close()
		for i := 0; i < records; i += perWrite {
			var b []byte
			for j := i; j < min(i+perWrite, records); j++ {
				b = append(b, record(who, j)...)
			}
			if _, err := unix.Write(int(w.Fd()), b); err != nil {
				t.Error(err)
				return
			}
		}
	}
	go write('A', outW, 1)
	// B's process writes 16 records at a time: its pipe cuts them into
	// packets of PIPE_BUF bytes, each one of its records.
	go write('B', bOut, 16)
	next := map[byte]int{}
	buf := make([]byte, pipeBuf)
	for n := 0; ; n++ {
		if n%64 == 0 {
			time.Sleep(time.Millisecond) // a slow reader: the pipe fills
		}
		if _, err := io.ReadFull(outR, buf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("after %v records: %v", next, err)
		}
		who := buf[0]
		if !bytes.Equal(buf, record(who, next[who])) {
			t.Fatalf("record %.8q… after %v: torn or out of order", buf, next)
		}
		next[who]++
	}
	if next['A'] != records || next['B'] != records {
		t.Fatalf("records: %v, want %d each", next, records)
	}
}

// TestReadAhead: a process on B that does not read while A writes a lot:
// the origin takes at most the credit off the real pipe (Window beyond
// what B put into the process's pipe, itself Window large), and the
// bytes all arrive, in order, once the process reads.
func TestReadAhead(t *testing.T) {
	inW, inR, bIn := proxiedPipe(t, true)
	inR.Close()
	const total = 16 << 20
	var written atomic.Int64
	go func() {
		defer inW.Close()
		chunk := make([]byte, 4096)
		for i := 0; i < total/len(chunk); i++ {
			for j := range chunk {
				chunk[j] = byte(i*len(chunk) + j)
			}
			if _, err := inW.Write(chunk); err != nil {
				t.Error(err)
				return
			}
			written.Add(int64(len(chunk)))
		}
	}()
	// Wait until the writer has stopped making progress.
	last := int64(-1)
	for w := written.Load(); w != last; w = written.Load() {
		last = w
		time.Sleep(200 * time.Millisecond)
	}
	// The real pipe's 64 KiB, the credit and B's pipe, and a chunk.
	if bound := int64(64<<10 + 2*Window + 4096); last > bound {
		t.Fatalf("A's writer got %d bytes into the pipe before B read any, want at most %d", last, bound)
	}
	buf := make([]byte, 64<<10)
	var got int64
	for {
		n, err := bIn.Read(buf)
		for j := range buf[:n] {
			if buf[j] != byte(got+int64(j)) {
				t.Fatalf("byte %d is %d, want %d", got+int64(j), buf[j], byte(got+int64(j)))
			}
		}
		got += int64(n)
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if got != total {
		t.Fatalf("read %d bytes, want %d", got, total)
	}
}

// TestOriginReopensPipes: the origin waits for a pipe's ends in the
// runtime's poller, through a non-blocking description of its own, but
// not for a packet-mode end (the description's O_DIRECT would be lost).
func TestOriginReopensPipes(t *testing.T) {
	newTwoNodes(t) // skips unless root
	r, w := pipe(t)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_DIRECT); err != nil {
		t.Fatal(err)
	}
	pr, pw := os.NewFile(uintptr(p[0]), "pr"), os.NewFile(uintptr(p[1]), "pw")
	defer pr.Close()
	defer pw.Close()
	o, _ := newOrigin(t, fdOf(r), fdOf(w), fdOf(pw))
	defer o.Close()
	for f, want := range map[*os.File]bool{r: true, w: true, pw: false} {
		if got := o.fds[fdOf(f)].a.nb != nil; got != want {
			t.Errorf("fd %d (%s): reopened %v, want %v", fdOf(f), o.fds[fdOf(f)].desc.Kind, got, want)
		}
	}
	// The reopened description is non-blocking; the process's is not.
	if fl, _ := unix.FcntlInt(w.Fd(), unix.F_GETFL, 0); fl&unix.O_NONBLOCK != 0 {
		t.Errorf("the process's write end became non-blocking")
	}
}
