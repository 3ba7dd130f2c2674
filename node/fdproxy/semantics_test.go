package fdproxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// onB starts a real process "on B" with the given ends as its stdin and
// stdout (nil: /dev/null), in a process group of its own, killed at the
// end of the test if still running.
func onB(t *testing.T, stdin, stdout *os.File, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot run %s: %v", name, err)
	}
	t.Cleanup(func() { unix.Kill(-cmd.Process.Pid, unix.SIGKILL); cmd.Wait() })
	if stdin != nil {
		stdin.Close()
	}
	if stdout != nil {
		stdout.Close()
	}
	return cmd
}

// catPair proxies a pipe into B and one out of it and runs cat on B
// between them: A writes inW, reads outR.
func catPair(t *testing.T, nodes *twoNodes) (inW, outR *os.File, cat *exec.Cmd) {
	inR, inW := pipe(t)
	outR, outW := pipe(t)
	_, tg := nodes.proxy(t, fdOf(inR), fdOf(outW))
	cat = onB(t, end(t, tg, fdOf(inR)), end(t, tg, fdOf(outW)), "cat")
	tg.CloseEnds()
	inR.Close()
	outW.Close()
	return inW, outR, cat
}

func TestEOFThroughCat(t *testing.T) {
	inW, outR, cat := catPair(t, newTwoNodes(t))
	if _, err := inW.WriteString("hello\nworld\n"); err != nil {
		t.Fatal(err)
	}
	inW.Close() // the last writer anywhere: cat on B reads EOF, exits
	got, err := io.ReadAll(outR)
	if err != nil || string(got) != "hello\nworld\n" {
		t.Fatalf("read %q, %v", got, err)
	}
	if err := cat.Wait(); err != nil {
		t.Fatalf("cat: %v", err)
	}
}

// TestEPIPEToB: the last reader on A goes; the writer on B dies of SIGPIPE.
func TestEPIPEToB(t *testing.T) {
	nodes := newTwoNodes(t)
	outR, outW := pipe(t)
	_, tg := nodes.proxy(t, fdOf(outW))
	yes := onB(t, nil, end(t, tg, fdOf(outW)), "yes")
	tg.CloseEnds()
	outW.Close()
	if _, err := io.ReadFull(outR, make([]byte, 100<<10)); err != nil {
		t.Fatal(err)
	}
	outR.Close()
	err := yes.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGPIPE {
		t.Fatalf("yes on B ended with %v; want SIGPIPE", err)
	}
}

// TestEPIPEToA: the reader on B goes; the writer on A gets EPIPE.
func TestEPIPEToA(t *testing.T) {
	nodes := newTwoNodes(t)
	inR, inW := pipe(t)
	_, tg := nodes.proxy(t, fdOf(inR))
	reader := onB(t, end(t, tg, fdOf(inR)), nil, "head", "-c", "10")
	tg.CloseEnds()
	inR.Close()
	buf := bytes.Repeat([]byte("x"), 4096)
	var err error
	for err == nil {
		_, err = inW.Write(buf)
	}
	if !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write on A after the reader on B left: %v", err)
	}
	if err := reader.Wait(); err != nil {
		t.Fatalf("head: %v", err)
	}
}

// TestAtomicWrites: a writer on A and one on B write lines of up to
// PIPE_BUF bytes, each in one write, into one pipe on A: every line
// arrives whole, each writer's in order.
func TestAtomicWrites(t *testing.T) {
	outR, outW, bOut := proxiedPipe(t, false)
	const lines = 3000
	write := func(who string, w *os.File) {
		defer w.Close()
		for i := range lines {
			n := 20 + (i*7919)%(pipeBuf-19) // 20 .. PIPE_BUF bytes
			head := fmt.Sprintf("%s %d %d ", who, i, n)
			line := head + strings.Repeat(who, n-len(head)-1) + "\n"
			if _, err := unix.Write(int(w.Fd()), []byte(line)); err != nil {
				t.Error(err)
				return
			}
		}
	}
	go write("A", outW)
	go write("B", bOut)
	sc := bufio.NewScanner(outR)
	sc.Buffer(make([]byte, 2*pipeBuf), 2*pipeBuf)
	next := map[string]int{}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			t.Fatalf("torn line %.80q…", sc.Text())
		}
		seq, _ := strconv.Atoi(f[1])
		n, _ := strconv.Atoi(f[2])
		if seq != next[f[0]] || len(sc.Text())+1 != n || strings.Trim(f[3], f[0]) != "" {
			t.Fatalf("line %s %d (%d bytes, want %d) after %d: torn or out of order", f[0], seq, len(sc.Text())+1, n, next[f[0]])
		}
		next[f[0]]++
	}
	if next["A"] != lines || next["B"] != lines {
		t.Fatalf("lines: %v, want %d each", next, lines)
	}
}

// TestSharedOffsetFile: { a; b; } > out with a on B and b on A gives the
// file a native run gives.
func TestSharedOffsetFile(t *testing.T) {
	nodes := newTwoNodes(t)
	f, err := os.OpenFile(t.TempDir()+"/out", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unix.Write(int(f.Fd()), []byte("zero\n"))
	o, tg := nodes.proxy(t, int(f.Fd()))
	a := onB(t, nil, end(t, tg, int(f.Fd())), "sh", "-c", "echo one; echo two")
	tg.CloseEnds()
	if err := a.Wait(); err != nil {
		t.Fatal(err)
	}
	counts, err := tg.Drain(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.WaitWritten(ctxT(t), counts); err != nil {
		t.Fatal(err)
	}
	unix.Write(int(f.Fd()), []byte("three\n")) // b, on A
	got, err := os.ReadFile(f.Name())
	if err != nil || string(got) != "zero\none\ntwo\nthree\n" {
		t.Fatalf("file %q, %v", got, err)
	}
}

// TestDrainBarrier: the exit of a process on B is reported after what it
// wrote is in the real pipe on A, however slowly A's reader reads.
func TestDrainBarrier(t *testing.T) {
	nodes := newTwoNodes(t)
	outR, outW := pipe(t)
	num := fdOf(outW)
	o, tg := nodes.proxy(t, num)
	const total = 300000 // more than a pipe holds
	head := onB(t, nil, end(t, tg, num), "head", "-c", strconv.Itoa(total), "/dev/zero")
	tg.CloseEnds()
	outW.Close()
	if err := head.Wait(); err != nil {
		t.Fatal(err)
	}
	// Nobody reads on A: the bytes cannot all be written there.
	ctx, cancel := context.WithTimeout(ctxT(t), 200*time.Millisecond)
	defer cancel()
	if err := o.WaitWritten(ctx, map[int]uint64{num: total}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitWritten with no reader: %v", err)
	}
	// A slow reader.
	var read atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for !stop.Load() {
			n, err := outR.Read(buf)
			read.Add(int64(n))
			if err != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	counts, err := tg.Drain(ctxT(t))
	if err != nil || counts[num] != total {
		t.Fatalf("drain: %v, %v; want %d sent", counts, err, total)
	}
	if err := o.WaitWritten(ctxT(t), counts); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	inPipe, err := unix.IoctlGetInt(fdOf(outR), unix.SIOCINQ)
	if err != nil || read.Load()+int64(inPipe) != total {
		t.Fatalf("after WaitWritten: %d read + %d in the pipe, want %d", read.Load(), inPipe, total)
	}
}

// TestDrainWithLingeringWriter: the process exits while its child still
// holds the pipe: Drain returns once the pipe is empty.
func TestDrainWithLingeringWriter(t *testing.T) {
	nodes := newTwoNodes(t)
	outR, outW := pipe(t)
	num := fdOf(outW)
	o, tg := nodes.proxy(t, num)
	sh := onB(t, nil, end(t, tg, num), "sh", "-c", "sleep 60 & printf hi")
	tg.CloseEnds()
	outW.Close()
	if err := sh.Wait(); err != nil {
		t.Fatal(err)
	}
	counts, err := tg.Drain(ctxT(t))
	if err != nil || counts[num] != 2 {
		t.Fatalf("drain: %v, %v", counts, err)
	}
	if err := o.WaitWritten(ctxT(t), counts); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, err := outR.Read(buf); err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	unix.Kill(-sh.Process.Pid, unix.SIGKILL) // the sleep: now EOF
	if n, err := outR.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after the last writer: %q, %v", buf[:n], err)
	}
}

// TestBrokenStream: the connection between the nodes breaks. B's reader
// reads EOF, B's writer gets EPIPE, and A's dups are closed (A's reader
// reads EOF, A's writer gets EPIPE).
func TestBrokenStream(t *testing.T) {
	nodes := newTwoNodes(t)
	inR, inW := pipe(t)
	outR, outW := pipe(t)
	out2R, out2W := pipe(t)
	_, tg := nodes.proxy(t, fdOf(inR), fdOf(outW), fdOf(out2W))
	cat := onB(t, end(t, tg, fdOf(inR)), end(t, tg, fdOf(outW)), "cat")
	yes := onB(t, nil, end(t, tg, fdOf(out2W)), "yes")
	tg.CloseEnds()
	inR.Close()
	outW.Close()
	out2W.Close()
	inW.WriteString("ping\n")
	buf := make([]byte, 5)
	if _, err := io.ReadFull(outR, buf); err != nil || string(buf) != "ping\n" {
		t.Fatalf("before the break: %q, %v", buf, err)
	}
	io.ReadFull(out2R, make([]byte, 64<<10))
	nodes.fwd.cut()
	if err := cat.Wait(); err != nil {
		t.Fatalf("cat on B after the break: %v; want EOF, exit 0", err)
	}
	go io.Copy(io.Discard, out2R) // let yes write on
	err := yes.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGPIPE {
		t.Fatalf("yes on B after the break: %v; want SIGPIPE", err)
	}
	if got, err := io.ReadAll(outR); err != nil || len(got) != 0 {
		t.Fatalf("A's reader after the break: %q, %v", got, err)
	}
	for err = nil; err == nil; {
		_, err = inW.Write(make([]byte, 4096))
	}
	if !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("A's writer after the break: %v", err)
	}
}
