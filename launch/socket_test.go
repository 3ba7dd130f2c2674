package launch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Listen makes a socket every user may connect to, serves it, refuses to
// take over one a live server answers on, and replaces a stale one.
func TestListen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "herd.sock")
	lfd, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o666 || st.Mode().Type() != os.ModeSocket {
		t.Errorf("socket %v %v, want a socket of mode 0666", st.Mode(), err)
	}
	srv := &Server{Runner: newFakeRunner(nil)}
	served := make(chan struct{})
	go func() {
		srv.Serve(lfd)
		close(served)
	}()
	if _, err := QueryPath(path, Msg{Op: OpNodes}); err == nil || !strings.Contains(err.Error(), "not part of a cluster") {
		t.Errorf("query through the socket: %v, want the server's answer", err)
	}
	if fd, err := Listen(path); err == nil || !strings.Contains(err.Error(), "another node daemon") {
		unix.Close(fd)
		t.Errorf("Listen on a live socket: %v", err)
	}
	unix.Shutdown(lfd, unix.SHUT_RDWR)
	unix.Close(lfd)
	<-served
	lfd, err = Listen(path)
	if err != nil {
		t.Fatalf("Listen on a stale socket: %v", err)
	}
	unix.Close(lfd)
}
