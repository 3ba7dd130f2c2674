package fdproxy

import (
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReopened: files, directories and devices are reopened on B with
// their flags and offsets; a proxied end keeps O_NONBLOCK.
func TestReopened(t *testing.T) {
	nodes := newTwoNodes(t)
	dir := t.TempDir()
	os.WriteFile(dir+"/ro", []byte("0123456789"), 0o600)
	ro, _ := os.Open(dir + "/ro")
	defer ro.Close()
	ro.Seek(3, io.SeekStart)
	app, _ := os.OpenFile(dir+"/app", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	defer app.Close()
	app.WriteString("a")
	null, _ := os.OpenFile("/dev/null", os.O_WRONLY, 0)
	defer null.Close()
	d, _ := os.Open(dir)
	defer d.Close()
	r, w := pipe(t)
	unix.SetNonblock(fdOf(r), true)
	_, tg := nodes.proxy(t, fdOf(ro), fdOf(app), fdOf(null), fdOf(d), fdOf(r))
	buf := make([]byte, 16)
	bRo := end(t, tg, fdOf(ro))
	if n, err := bRo.Read(buf); err != nil || string(buf[:n]) != "3456789" {
		t.Errorf("read-only file on B read %q, %v", buf[:n], err)
	}
	bApp := end(t, tg, fdOf(app))
	bApp.WriteString("b")
	app.WriteString("c")
	if got, _ := os.ReadFile(dir + "/app"); string(got) != "abc" {
		t.Errorf("O_APPEND file: %q", got)
	}
	if n, err := end(t, tg, fdOf(null)).Write(buf); n != len(buf) || err != nil {
		t.Errorf("/dev/null on B: %d, %v", n, err)
	}
	if names, err := end(t, tg, fdOf(d)).Readdirnames(-1); err != nil || len(names) != 2 {
		t.Errorf("directory on B: %v, %v", names, err)
	}
	for _, e := range tg.Ends() {
		fl, _ := unix.FcntlInt(uintptr(e.Fd), unix.F_GETFL, 0)
		if (e.Num == fdOf(r)) != (fl&unix.O_NONBLOCK != 0) {
			t.Errorf("fd %d on B: flags %o", e.Num, fl)
		}
		if _, err := unix.Read(e.Fd, buf); e.Num == fdOf(r) && err != unix.EAGAIN {
			t.Errorf("non-blocking empty pipe on B: %v, want EAGAIN", err)
		}
	}
	w.Close()
}

// TestSocket: a connected stream socket crosses both ways; when the
// process on B closes it, A's dup is closed (the peer reads EOF).
func TestSocket(t *testing.T) {
	nodes := newTwoNodes(t)
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine, peer := os.NewFile(uintptr(sp[0]), "mine"), os.NewFile(uintptr(sp[1]), "peer")
	defer mine.Close()
	defer peer.Close()
	_, tg := nodes.proxy(t, fdOf(mine))
	bSock := end(t, tg, fdOf(mine))
	tg.CloseEnds()
	mine.Close()
	peer.WriteString("question")
	buf := make([]byte, 8)
	if _, err := io.ReadFull(bSock, buf); err != nil || string(buf) != "question" {
		t.Fatalf("B read %q, %v", buf, err)
	}
	bSock.WriteString("answer")
	bSock.Close()
	if got, err := io.ReadAll(peer); err != nil || string(got) != "answer" {
		t.Fatalf("peer on A read %q, %v", got, err)
	}
}
