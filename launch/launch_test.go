package launch

import (
	"context"
	"errors"
	"herd/procview"
	"herd/sentry"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeRunner starts nothing: it records what it is asked and lets the
// test say when the program exits.
type fakeRunner struct {
	err      error         // the launch fails with it
	launched chan *Request // every request
	exits    chan func(unix.WaitStatus)
	sigs     chan [2]int // launcher, signal
}

func newFakeRunner(err error) *fakeRunner {
	return &fakeRunner{err: err, launched: make(chan *Request, 1),
		exits: make(chan func(unix.WaitStatus), 1), sigs: make(chan [2]int, 8)}
}

func (f *fakeRunner) Launch(req *Request, started func(pid, launcher int, err error), exited func(unix.WaitStatus)) {
	f.launched <- req
	if f.err != nil {
		started(0, 0, f.err)
		return
	}
	started(42, 7, nil)
	f.exits <- exited
}

func (f *fakeRunner) Signal(launcher, sig int) { f.sigs <- [2]int{launcher, sig} }

// pair serves one connection of srv over a socketpair and returns the
// client's end and the server's result.
func pair(t *testing.T, srv *Server) (int, <-chan bool) {
	t.Helper()
	client, server, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(client) })
	done := make(chan bool, 1)
	go func() { done <- srv.ServeConn(server) }()
	return client, done
}

func devNull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func testCmd(t *testing.T, conn int) *Cmd {
	null := devNull(t)
	return &Cmd{Conn: conn, Path: "/bin/prog", Args: []string{"prog", "a b"}, Env: []string{"X=1"}, Dir: "/tmp",
		Stdin: null, Stdout: null, Stderr: null, Foreground: true, Ignored: []int{int(unix.SIGPIPE)}}
}

// A run: the runner gets the request as the socket's peer, signals are
// forwarded (SIGKILL is not), and Wait returns the program's status.
func TestRun(t *testing.T) {
	fr := newFakeRunner(nil)
	conn, done := pair(t, &Server{Runner: fr})
	cmd := testCmd(t, conn)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	req := <-fr.launched
	if req.Path != "/bin/prog" || !slices.Equal(req.Argv, cmd.Args) || !slices.Equal(req.Env, cmd.Env) ||
		req.Dir != "/tmp" || !req.Foreground || req.Session || !slices.Equal(req.Ignored, cmd.Ignored) {
		t.Errorf("request %+v, want the Cmd's fields", req)
	}
	if req.UID != uint32(os.Geteuid()) || req.GID != uint32(os.Getegid()) {
		t.Errorf("request as %d:%d, want the peer %d:%d", req.UID, req.GID, os.Geteuid(), os.Getegid())
	}
	for i, f := range req.Stdio {
		if f == nil {
			t.Errorf("stdio %d not passed", i)
		}
	}
	cmd.Signal(unix.SIGKILL)
	cmd.Signal(unix.SIGINT)
	if got := <-fr.sigs; got != [2]int{7, int(unix.SIGINT)} {
		t.Errorf("signal forwarded as %v, want launcher 7, SIGINT (and no SIGKILL)", got)
	}
	exited := <-fr.exits
	exited(unix.WaitStatus(3 << 8))
	ws, err := cmd.Wait()
	if err != nil || !ws.Exited() || ws.ExitStatus() != 3 || cmd.PID != 42 {
		t.Errorf("Wait: %v %v, PID %d; want exit 3, PID 42", ws, err, cmd.PID)
	}
	unix.Shutdown(conn, unix.SHUT_WR)
	if !<-done {
		t.Error("ServeConn did not report a launch")
	}
}

// A launch that fails reaches Wait as a NodeError.
func TestRunFails(t *testing.T) {
	fr := newFakeRunner(errors.New("no such program"))
	conn, done := pair(t, &Server{Runner: fr})
	cmd := testCmd(t, conn)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_, err := cmd.Wait()
	var ne *NodeError
	if !errors.As(err, &ne) || ne.Msg != "no such program" {
		t.Errorf("Wait: %v, want the runner's error", err)
	}
	if <-done {
		t.Error("ServeConn reports a launch that failed")
	}
}

// Bad requests are answered with an error and never reach the runner.
func TestRunRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Cmd)
		want string
	}{
		{"relative path", func(c *Cmd) { c.Path = "prog" }, "not absolute"},
		{"relative dir", func(c *Cmd) { c.Dir = "tmp" }, "not absolute"},
		{"NUL in argv", func(c *Cmd) { c.Args = []string{"a\x00b"} }, "NUL"},
		{"bad ignored signal", func(c *Cmd) { c.Ignored = []int{65} }, "ignored signal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fr := newFakeRunner(nil)
			conn, done := pair(t, &Server{Runner: fr})
			cmd := testCmd(t, conn)
			tc.edit(cmd)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			_, err := cmd.Wait()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Wait: %v, want an error mentioning %q", err, tc.want)
			}
			<-done
			if len(fr.launched) != 0 {
				t.Error("a bad request reached the runner")
			}
		})
	}
}

// A run request must carry exactly the three stdio descriptors.
func TestRunWithoutStdio(t *testing.T) {
	conn, done := pair(t, &Server{Runner: newFakeRunner(nil)})
	if err := Send(conn, Msg{Op: OpRun, Path: "/bin/true"}); err != nil {
		t.Fatal(err)
	}
	_, err := (&Cmd{Conn: conn}).Wait()
	if err == nil || !strings.Contains(err.Error(), "0 fds, want 3") {
		t.Errorf("run without fds: %v", err)
	}
	<-done
}

func TestValidateRun(t *testing.T) {
	ok := Msg{Op: OpRun, Path: "/bin/sh", Argv: []string{"sh"}, Dir: "/", Ignored: []int{1, 64}}
	if err := validateRun(ok, 3); err != nil {
		t.Errorf("valid request refused: %v", err)
	}
	bad := ok
	bad.Env = []string{"A=\x00"}
	if err := validateRun(bad, 3); err == nil {
		t.Error("NUL in the environment accepted")
	}
	if err := validateRun(ok, 2); err == nil {
		t.Error("two fds accepted")
	}
	for sig, want := range map[int]bool{0: false, 1: true, 9: false, 15: true, 64: true, 65: false} {
		if forwardable(sig) != want {
			t.Errorf("forwardable(%d) = %v, want %v", sig, !want, want)
		}
	}
}

// The credentials of a socketpair's peer are this process's.
func TestPeerCreds(t *testing.T) {
	a, b, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(a)
	defer unix.Close(b)
	c, err := peerCreds(a)
	if err != nil {
		t.Fatal(err)
	}
	groups, _ := os.Getgroups()
	want := make([]uint32, len(groups))
	for i, g := range groups {
		want[i] = uint32(g)
	}
	slices.Sort(want)
	got := slices.Clone(c.Groups)
	slices.Sort(got)
	if c.UID != uint32(os.Geteuid()) || c.GID != uint32(os.Getegid()) || !slices.Equal(got, want) {
		t.Errorf("peerCreds = %+v, want uid %d gid %d groups %v", c, os.Geteuid(), os.Getegid(), want)
	}
}

// fakeQueries answers from fixed tables.
type fakeQueries struct {
	procs     []procview.Row
	removed   chan string
	mu        sync.Mutex // placement: each query is served on a goroutine
	placement string
}

func (f *fakeQueries) Nodes(ctx context.Context) ([]NodeRow, []string) {
	return []NodeRow{{ID: "n1"}, {ID: "n2"}}, []string{"n3: timeout"}
}

func (f *fakeQueries) Procs(ctx context.Context, node string) ([]procview.Row, []string) {
	return f.procs, []string{"n3: timeout"}
}

func (f *fakeQueries) Remove(ctx context.Context, node string) error {
	f.removed <- node
	return nil
}

func (f *fakeQueries) Placement(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.placement, nil
}

func (f *fakeQueries) SetPlacement(ctx context.Context, policy string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.placement = policy
	return nil
}

// A long process table comes in chunks and is joined by Query.
func TestQuery(t *testing.T) {
	fq := &fakeQueries{removed: make(chan string, 1)}
	for pid := 1; pid <= 2*procsChunk+10; pid++ {
		fq.procs = append(fq.procs, procview.Row{PID: pid})
	}
	srv := &Server{Runner: newFakeRunner(nil), Queries: fq}
	conn, _ := pair(t, srv)
	m, err := Query(conn, Msg{Op: OpPs})
	if err != nil || len(m.Procs) != len(fq.procs) || m.Procs[len(m.Procs)-1].PID != len(fq.procs) ||
		!slices.Equal(m.Errors, []string{"n3: timeout"}) {
		t.Errorf("ps: %d procs, errors %v, %v; want %d and n3's error", len(m.Procs), m.Errors, err, len(fq.procs))
	}
	conn, _ = pair(t, srv)
	if m, err := Query(conn, Msg{Op: OpNodes}); err != nil || len(m.Nodes) != 2 || len(m.Errors) != 1 {
		t.Errorf("nodes: %+v %v", m, err)
	}
	conn, _ = pair(t, srv)
	m, err = Query(conn, Msg{Op: OpRemove, Node: "n2"})
	if os.Geteuid() == 0 {
		if err != nil || m.Op != OpOK || <-fq.removed != "n2" {
			t.Errorf("remove as root: %+v %v", m, err)
		}
	} else if err == nil || !strings.Contains(err.Error(), "needs root") {
		t.Errorf("remove as uid %d: %v, want refused", os.Geteuid(), err)
	}
	fq.SetPlacement(context.Background(), "local")
	conn, _ = pair(t, srv)
	if m, err := Query(conn, Msg{Op: OpPlacement}); err != nil || m.Placement != "local" {
		t.Errorf("placement: %+v %v, want local", m, err)
	}
	conn, _ = pair(t, srv)
	m, err = Query(conn, Msg{Op: OpPlacement, Placement: "spread"})
	if os.Geteuid() == 0 {
		if err != nil || m.Placement != "spread" {
			t.Errorf("set placement as root: %+v %v, want spread", m, err)
		}
	} else if err == nil || !strings.Contains(err.Error(), "needs root") {
		t.Errorf("set placement as uid %d: %v, want refused", os.Geteuid(), err)
	}
}

// Queries on a node that is not in a cluster, and unknown requests, are
// answered with an error.
func TestQueryRefused(t *testing.T) {
	for op, want := range map[string]string{OpPs: "not part of a cluster", "frob": "unknown request"} {
		conn, _ := pair(t, &Server{Runner: newFakeRunner(nil)})
		_, err := Query(conn, Msg{Op: op})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", op, err, want)
		}
	}
}

// A node that hangs up before answering is ErrHungUp.
func TestHungUp(t *testing.T) {
	a, b, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(a)
	go func() {
		Recv(b)
		unix.Close(b)
	}()
	if _, err := Query(a, Msg{Op: OpNodes}); !errors.Is(err, ErrHungUp) {
		t.Errorf("Query: %v, want ErrHungUp", err)
	}
}

// What herd run says of itself is valid; what no process can have is
// refused before a stand-in is made.
func TestValidateParent(t *testing.T) {
	ok := Msg{Op: OpRun, Path: "/bin/sh", Parent: SelfParent()}
	if err := validateRun(ok, 3); err != nil {
		t.Fatalf("this process's own description refused: %v", err)
	}
	if ok.Parent.Comm == "" || len(ok.Parent.Args) == 0 || ok.Parent.Attrs == nil || len(ok.Parent.Attrs.CPUs) == 0 {
		t.Fatalf("SelfParent left out what it can read: %+v", ok.Parent)
	}
	bad := []*Parent{
		{Comm: "a name longer than fifteen"},
		{Comm: "a\x00b"},
		{Args: []string{"a\x00"}},
		{Args: []string{strings.Repeat("x", maxParentArgs)}},
		{Attrs: &sentry.ProcAttrs{Policy: unix.SCHED_DEADLINE}},
		{Attrs: &sentry.ProcAttrs{Policy: unix.SCHED_FIFO, Priority: 100}},
		{Attrs: &sentry.ProcAttrs{Policy: 0, Priority: 5}},
		{Attrs: &sentry.ProcAttrs{Nice: -21}},
		{Attrs: &sentry.ProcAttrs{CPUs: []int{-1}}},
		{Attrs: &sentry.ProcAttrs{Rlimits: []sentry.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 2, Max: 1}}}},
		{Attrs: &sentry.ProcAttrs{Rlimits: []sentry.Rlimit{{Resource: 16}}}},
	}
	for _, p := range bad {
		m := ok
		m.Parent = p
		if err := validateRun(m, 3); err == nil {
			t.Errorf("accepted %+v (attrs %+v)", p, p.Attrs)
		}
	}
}

// A launcher with a long command line sends as much of it as the server
// accepts: boundArgs cuts at the limit validateParent enforces.
func TestBoundArgs(t *testing.T) {
	long := make([]string, 40)
	for i := range long {
		long[i] = strings.Repeat("x", 1023) // 1 KiB with its NUL
	}
	if validateParent(&Parent{Args: long}) == nil {
		t.Fatal("40 KiB of launcher arguments accepted")
	}
	cut := boundArgs(long)
	if len(cut) != maxParentArgs/1024 {
		t.Fatalf("boundArgs kept %d arguments of 1 KiB, want %d", len(cut), maxParentArgs/1024)
	}
	if err := validateParent(&Parent{Args: cut}); err != nil {
		t.Fatalf("the cut command line refused: %v", err)
	}
	if short := []string{"herd", "run"}; len(boundArgs(short)) != 2 {
		t.Fatalf("boundArgs cut a short command line: %q", boundArgs(short))
	}
}
