package ipc

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

var (
	root  = Caller{PID: 100, UID: 0, GID: 0}
	alice = Caller{PID: 101, UID: 1000, GID: 1000}
	bob   = Caller{PID: 102, UID: 1001, GID: 1001}
)

// direct is Peers between Services of one process.
type direct map[string]*Service

func (d direct) Call(ctx context.Context, node string, r *Request) (*Reply, error) {
	s, ok := d[node]
	if !ok {
		return nil, errors.New("no such node")
	}
	return s.Serve(ctx, r), nil
}

// cluster is n Services sharing names, reaching each other directly.
func cluster(n int) ([]*Service, *memNames) {
	names := newMemNames()
	peers := direct{}
	var out []*Service
	for i := range n {
		node := string(rune('a' + i))
		s := NewService(node, DefaultLimits)
		s.Join(names, peers)
		peers[node] = s
		out = append(out, s)
	}
	return out, names
}

func mustGet(t *testing.T, s *Service, key int32, flags int, c Caller) int {
	t.Helper()
	id, err := s.MsgGet(context.Background(), key, flags, c)
	if err != nil {
		t.Fatalf("msgget(%d, %#o): %v", key, flags, err)
	}
	return id
}

func send(s *Service, id int, c Caller, typ int64, text string, flags int) *Reply {
	return s.Do(context.Background(), &Request{Op: OpMsgSend, ID: id, Caller: c, Type: typ, Text: []byte(text), Flags: flags})
}

func recv(s *Service, id int, c Caller, typ int64, size, flags int) *Reply {
	return s.Do(context.Background(), &Request{Op: OpMsgRecv, ID: id, Caller: c, Type: typ, Size: size, Flags: flags})
}

func wantErrno(t *testing.T, what string, rep *Reply, e unix.Errno) {
	t.Helper()
	if rep.Errno != e {
		t.Fatalf("%s: errno %v, want %v", what, rep.Errno, e)
	}
}

func TestMsgGetFlags(t *testing.T) {
	s := NewService("a", DefaultLimits)
	ctx := context.Background()
	if _, err := s.MsgGet(ctx, 42, 0o600, alice); err != unix.ENOENT {
		t.Fatalf("msgget of an unbound key without IPC_CREAT: %v, want ENOENT", err)
	}
	id := mustGet(t, s, 42, linux.IPC_CREAT|0o600, alice)
	if again := mustGet(t, s, 42, linux.IPC_CREAT|0o600, alice); again != id {
		t.Fatalf("msgget again: id %d, want %d", again, id)
	}
	if _, err := s.MsgGet(ctx, 42, linux.IPC_CREAT|linux.IPC_EXCL|0o600, alice); err != unix.EEXIST {
		t.Fatalf("IPC_EXCL on a bound key: %v, want EEXIST", err)
	}
	if _, err := s.MsgGet(ctx, 42, 0o400, bob); err != unix.EACCES {
		t.Fatalf("bob opens alice's 0600 queue: %v, want EACCES", err)
	}
	if p1, p2 := mustGet(t, s, linux.IPC_PRIVATE, 0o600, alice), mustGet(t, s, linux.IPC_PRIVATE, 0o600, alice); p1 == p2 || p1 == id {
		t.Fatalf("IPC_PRIVATE ids %d, %d (keyed %d): want fresh ones", p1, p2, id)
	}
}

func TestMsgTypes(t *testing.T) {
	s := NewService("a", DefaultLimits)
	id := mustGet(t, s, linux.IPC_PRIVATE, 0o600, alice)
	for i, typ := range []int64{3, 1, 2, 1} {
		wantErrno(t, "send", send(s, id, alice, typ, string(rune('a'+i)), 0), 0)
	}
	// Queue: 3a 1b 2c 1d.
	steps := []struct {
		typ   int64
		flags int
		want  string
	}{
		{2, 0, "c"}, {1, linux.MSG_EXCEPT, "a"}, {-5, 0, "b"}, {0, 0, "d"},
	}
	for _, st := range steps {
		rep := recv(s, id, alice, st.typ, 10, st.flags|linux.IPC_NOWAIT)
		if rep.Errno != 0 || string(rep.Text) != st.want {
			t.Fatalf("recv type %d flags %#o: %q %v, want %q", st.typ, st.flags, rep.Text, rep.Errno, st.want)
		}
	}
	wantErrno(t, "recv from an empty queue with IPC_NOWAIT", recv(s, id, alice, 0, 10, linux.IPC_NOWAIT), unix.ENOMSG)
	send(s, id, alice, 1, "hello", 0)
	wantErrno(t, "recv of 5 bytes into 3", recv(s, id, alice, 0, 3, linux.IPC_NOWAIT), unix.E2BIG)
	if rep := recv(s, id, alice, 0, 3, linux.MSG_NOERROR); string(rep.Text) != "hel" || rep.Value != 3 {
		t.Fatalf("MSG_NOERROR: %q value %d, want hel 3", rep.Text, rep.Value)
	}
}

func TestMsgBlocking(t *testing.T) {
	svcs, _ := cluster(2)
	a, b := svcs[0], svcs[1]
	id := mustGet(t, a, 7, linux.IPC_CREAT|0o666, alice)
	got := make(chan *Reply)
	go func() { got <- recv(b, id, bob, 0, 100, 0) }()
	time.Sleep(10 * time.Millisecond)
	send(b, id, bob, 5, "across", 0)
	if rep := <-got; string(rep.Text) != "across" || rep.Type != 5 {
		t.Fatalf("blocked receiver on b got %q type %d err %v", rep.Text, rep.Type, rep.Errno)
	}
	// A waiter gets EIDRM when the queue is removed.
	go func() { got <- recv(b, id, bob, 0, 100, 0) }()
	time.Sleep(10 * time.Millisecond)
	if rep := a.Do(context.Background(), &Request{Op: OpMsgCtl, ID: id, Caller: alice, Cmd: linux.IPC_RMID}); rep.Errno != 0 {
		t.Fatalf("IPC_RMID: %v", rep.Errno)
	}
	wantErrno(t, "waiter at removal", <-got, unix.EIDRM)
	wantErrno(t, "send to a removed queue", send(b, id, bob, 1, "x", 0), unix.EINVAL)
	if _, err := b.MsgGet(context.Background(), 7, 0, bob); err != unix.ENOENT {
		t.Fatalf("msgget of a removed queue's key: %v, want ENOENT", err)
	}
}

func TestMsgInterrupted(t *testing.T) {
	svcs, _ := cluster(2)
	a, b := svcs[0], svcs[1]
	id := mustGet(t, a, linux.IPC_PRIVATE, 0o666, alice)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan *Reply)
	go func() { got <- b.Do(ctx, &Request{Op: OpMsgRecv, ID: id, Caller: bob, Size: 10}) }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	wantErrno(t, "interrupted receiver", <-got, unix.EINTR)
	// A sender blocked on a full queue.
	a.Do(context.Background(), &Request{Op: OpMsgCtl, ID: id, Caller: alice, Cmd: linux.IPC_SET,
		Set: &MsgStat{Perm: Perm{UID: alice.UID, GID: alice.GID, Mode: 0o666}, QBytes: 4}})
	wantErrno(t, "send that fits", send(a, id, alice, 1, "abcd", 0), 0)
	wantErrno(t, "send to a full queue with IPC_NOWAIT", send(a, id, alice, 1, "e", linux.IPC_NOWAIT), unix.EAGAIN)
}

func TestMsgCtlPerms(t *testing.T) {
	s := NewService("a", DefaultLimits)
	id := mustGet(t, s, 9, linux.IPC_CREAT|0o640, alice)
	ctl := func(c Caller, cmd int, set *MsgStat) *Reply {
		return s.Do(context.Background(), &Request{Op: OpMsgCtl, ID: id, Caller: c, Cmd: cmd, Set: set})
	}
	wantErrno(t, "IPC_STAT by other", ctl(bob, linux.IPC_STAT, nil), unix.EACCES)
	wantErrno(t, "send by other", send(s, id, bob, 1, "x", linux.IPC_NOWAIT), unix.EACCES)
	wantErrno(t, "IPC_RMID by other", ctl(bob, linux.IPC_RMID, nil), unix.EPERM)
	wantErrno(t, "IPC_SET over msgmnb", ctl(alice, linux.IPC_SET, &MsgStat{Perm: Perm{UID: 1000, GID: 1000, Mode: 0o600}, QBytes: 1 << 20}), unix.EPERM)
	wantErrno(t, "IPC_SET over msgmnb by root", ctl(root, linux.IPC_SET, &MsgStat{Perm: Perm{UID: 1001, GID: 1000, Mode: 0o604}, QBytes: 1 << 20}), 0)
	rep := ctl(bob, linux.IPC_STAT, nil)
	if rep.Errno != 0 || rep.Stat.Perm.UID != 1001 || rep.Stat.Perm.CUID != 1000 || rep.Stat.QBytes != 1<<20 {
		t.Fatalf("IPC_STAT after IPC_SET: %+v %v", rep.Stat, rep.Errno)
	}
	wantErrno(t, "unknown cmd", ctl(alice, 99, nil), unix.EINVAL)
}

// A node that owns a queue is declared down: its callers get EIDRM, also
// one that waits there (ended by NodeLost, not by polling).
func TestMsgOwnerLost(t *testing.T) {
	svcs, names := cluster(2)
	a, b := svcs[0], svcs[1]
	id := mustGet(t, a, 11, linux.IPC_CREAT|0o666, alice)
	got := make(chan *Reply)
	go func() { got <- recv(b, id, bob, 0, 10, 0) }()
	time.Sleep(10 * time.Millisecond)
	names.setDown("a")
	b.NodeLost("a") // as the node's loss watcher tells it
	wantErrno(t, "waiter on a lost owner", <-got, unix.EIDRM)
	wantErrno(t, "send to a lost owner", send(b, id, bob, 1, "x", 0), unix.EIDRM)
}

// An interrupted receive returns the message it took to the queue's head.
func TestMsgUnrecv(t *testing.T) {
	s := NewService("a", DefaultLimits)
	id := mustGet(t, s, linux.IPC_PRIVATE, 0o600, alice)
	send(s, id, alice, 1, "one", 0)
	send(s, id, alice, 1, "two", 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wantErrno(t, "receive of a cancelled caller", s.Do(ctx, &Request{Op: OpMsgRecv, ID: id, Caller: alice, Size: 10}), unix.EINTR)
	if rep := recv(s, id, alice, 0, 10, 0); string(rep.Text) != "one" {
		t.Fatalf("after an interrupted receive the head is %q, want one", rep.Text)
	}
}

// A key whose owner is lost names nothing: msgget without IPC_CREAT says
// ENOENT, with it makes a new queue here.
func TestMsgGetLostOwner(t *testing.T) {
	svcs, names := cluster(2)
	a, b := svcs[0], svcs[1]
	old := mustGet(t, a, 12, linux.IPC_CREAT|0o666, alice)
	names.setDown("a")
	if _, err := b.MsgGet(context.Background(), 12, 0, bob); err != unix.ENOENT {
		t.Fatalf("msgget of a lost owner's key: %v, want ENOENT", err)
	}
	id := mustGet(t, b, 12, linux.IPC_CREAT|0o666, bob)
	if _, owner, _ := names.ByID(context.Background(), id); id == old || owner != "b" {
		t.Fatalf("msgget(IPC_CREAT) of a lost owner's key: id %d at %q (old %d), want a new one at b", id, owner, old)
	}
}
