package fdproxy

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"herd/remote"
)

// twoNodes is a pair of cluster ports with TLS in this process: node-a
// (the origin) and node-b (the target). Streams are opened from b to a,
// through a forwarder on a's side, so that a test can break them.
type twoNodes struct {
	a     *remote.Listener
	bCred *remote.Credentials
	fwd   *forwarder
	// direct: streams bypass the forwarder (benchmarks).
	direct bool
}

func newTwoNodes(t testing.TB) *twoNodes {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("fdproxy tests need root (pidfd_getfd of any process)")
	}
	ca, err := remote.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	issue := func(id string) *remote.Credentials {
		c, err := ca.Issue(id, []string{"127.0.0.1", "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	l, err := remote.Listen("127.0.0.1:0", remote.ListenerConfig{
		Credentials: issue("node-a"), Logger: slog.New(slog.DiscardHandler), HandshakeTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &twoNodes{a: l, bCred: issue("node-b"), fwd: newForwarder(t, l.Addr().String())}
	t.Cleanup(func() { l.Close() })
	return n
}

// stream opens stream name: its end on a and its end on b.
func (n *twoNodes) stream(t testing.TB, name string) (onA, onB *remote.Stream) {
	t.Helper()
	accepted := make(chan *remote.Stream, 1)
	go func() {
		s, err := n.a.AcceptStream()
		if err != nil {
			t.Error(err)
		}
		accepted <- s
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := n.fwd.addr
	if n.direct {
		addr = n.a.Addr().String()
	}
	onB, err := remote.OpenStream(ctx, addr, n.bCred, name)
	if err != nil {
		t.Fatal(err)
	}
	onA = <-accepted
	if onA == nil || onA.Name() != name {
		t.Fatalf("accepted %v for %q", onA, name)
	}
	return onA, onB
}

// proxy classifies fds nums of this process, makes an Origin and a Target
// for them and joins each proxied fd by a stream of its own.
func (n *twoNodes) proxy(t testing.TB, nums ...int) (*Origin, *Target) {
	t.Helper()
	o, fds := newOrigin(t, nums...)
	tg, err := NewTarget(fds)
	if err != nil {
		o.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Close(); o.Close() })
	for _, d := range fds {
		if !d.Proxied() {
			continue
		}
		onA, onB := n.stream(t, StreamName("test", d.Num))
		if err := o.Serve(d.Num, onA); err != nil {
			t.Fatal(err)
		}
		if err := tg.Serve(d.Num, onB); err != nil {
			t.Fatal(err)
		}
	}
	return o, tg
}

// newOrigin classifies fds nums of this process and makes an Origin for
// them.
func newOrigin(t testing.TB, nums ...int) (*Origin, []FD) {
	t.Helper()
	var fds []FD
	for _, num := range nums {
		d, err := ClassifyFD(os.Getpid(), num)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, d)
	}
	o, err := NewOrigin(os.Getpid(), fds)
	if err != nil {
		t.Fatal(err)
	}
	return o, fds
}

// end returns a dup of the target's End for fd num, as a file.
func end(t testing.TB, tg *Target, num int) *os.File {
	t.Helper()
	for _, e := range tg.Ends() {
		if e.Num == num {
			fd, err := unix.FcntlInt(uintptr(e.Fd), unix.F_DUPFD_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			return os.NewFile(uintptr(fd), "end")
		}
	}
	t.Fatalf("no end for fd %d", num)
	return nil
}

// pipe makes a pipe in blocking mode, closed at the test's end unless
// closed before. Close-on-exec: the processes tests start "on B" must not
// hold the real pipe's ends (ClassifyFD does not mind the flag).
func pipe(t testing.TB) (r, w *os.File) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w = os.NewFile(uintptr(p[0]), "r"), os.NewFile(uintptr(p[1]), "w")
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func fdOf(f *os.File) int { return int(f.Fd()) }

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// forwarder relays TCP connections to addr; cut closes every relayed
// connection, as a peer node that vanishes.
type forwarder struct {
	addr  string
	mu    sync.Mutex
	conns []net.Conn
}

func newForwarder(t testing.TB, to string) *forwarder {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{addr: l.Addr().String()}
	t.Cleanup(func() { l.Close(); f.cut() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, d)
			f.mu.Unlock()
			go func() { io.Copy(d, c); d.Close(); c.Close() }()
			go func() { io.Copy(c, d); c.Close(); d.Close() }()
		}
	}()
	return f
}

func (f *forwarder) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

// proxiedPipe makes a pipe on A and proxies one end of it to B: the end B
// reads if bReads, else the end B writes. It returns A's other end, the
// proxied end as A still holds it, and B's end.
func proxiedPipe(t testing.TB, bReads bool) (aEnd, proxied, bEnd *os.File) {
	r, w := pipe(t)
	aEnd, proxied = w, r
	if !bReads {
		aEnd, proxied = r, w
	}
	_, tg := newTwoNodes(t).proxy(t, fdOf(proxied))
	bEnd = end(t, tg, fdOf(proxied))
	tg.CloseEnds()
	return aEnd, proxied, bEnd
}
