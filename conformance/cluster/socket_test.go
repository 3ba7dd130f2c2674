package cluster

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The launcher socket takes bytes from any local user: garbage, a message
// too big, a run request without its three stdio descriptors, an unknown
// request, and a client that vanishes mid-message each get a clear error
// or a closed connection, and the daemon goes on serving.
func TestLauncherSocketRefusesGarbage(t *testing.T) {
	c := upCluster(t, 1, 1)
	sock := c.sock(1)
	send := func(payload []byte, fds ...int) string {
		t.Helper()
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		if err := unix.Connect(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
			t.Fatalf("connect: %v", err)
		}
		var oob []byte
		if len(fds) > 0 {
			oob = unix.UnixRights(fds...)
		}
		if err := unix.Sendmsg(fd, payload, oob, nil, 0); err != nil {
			return "send: " + err.Error()
		}
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 10})
		buf := make([]byte, 1<<16)
		n, _, _, _, err := unix.Recvmsg(fd, buf, nil, 0)
		if err != nil {
			return "closed: " + err.Error()
		}
		return string(buf[:n])
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	nfd := int(null.Fd())
	cases := []struct {
		name    string
		payload []byte
		fds     []int
		want    string // in the answer; "" = any answer or a close
	}{
		{"not json", []byte("\x00\xffGET / HTTP/1.1"), nil, ""},
		{"unknown request", []byte(`{"op":"format-disk"}`), nil, "unknown request"},
		{"run without stdio", []byte(`{"op":"run","path":"/bin/true","argv":["true"]}`), nil, "3"},
		{"run with one fd", []byte(`{"op":"run","path":"/bin/true","argv":["true"]}`), []int{nfd}, "3"},
		{"run of nothing", []byte(`{"op":"run","path":"","argv":[]}`), []int{nfd, nfd, nfd}, ""},
		{"too big", bytes.Repeat([]byte("x"), 4<<20), nil, ""},
		{"empty", []byte{}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := send(tc.payload, tc.fds...)
			if tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("answer %q does not say %q", got, tc.want)
			}
		})
	}
	// The daemon still serves.
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, errOut, st := herd(t, sock, "run", "--", "/bin/sh", "-c", "echo still-serving")
		if st == 0 && out == "still-serving\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon no longer serves: status %d, %q %q", st, out, errOut)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
