package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"herd/remote"
)

// The launcher and the node speak JSON messages over a SOCK_SEQPACKET
// unix socket; a run request carries the caller's stdio as SCM_RIGHTS.

// ctlMsg is every message of the launcher protocol.
//
// A launcher (herd run) sends run, then signals; the node answers started,
// then exited, or error. herd nodes, herd ps and herd nodes remove send one
// query (nodes, ps, remove) and read the answer: nodes, procs (repeated
// while More is set), ok, or error. The daemon takes the caller's identity
// from the socket (SO_PEERCRED, SO_PEERGROUPS), never from a message.
type ctlMsg struct {
	Op string `json:"op"` // run, signal, nodes, ps, remove | started, exited, error, nodes, procs, ok

	// run
	Path       string   `json:"path,omitempty"`
	Argv       []string `json:"argv,omitempty"`
	Env        []string `json:"env,omitempty"`
	Dir        string   `json:"dir,omitempty"`
	UID        uint32   `json:"uid,omitempty"`
	GID        uint32   `json:"gid,omitempty"`
	Groups     []uint32 `json:"groups,omitempty"`
	Foreground bool     `json:"foreground,omitempty"`
	// Session: the program leads a new session whose controlling
	// terminal is its stdin (a pseudo-terminal herd run proxies).
	Session bool  `json:"session,omitempty"`
	Ignored []int `json:"ignored,omitempty"`

	// signal
	Sig int `json:"sig,omitempty"`

	// started, exited, error
	PID    int    `json:"pid,omitempty"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// ps: only this node's processes; remove: the node to remove
	Node string `json:"node,omitempty"`
	// nodes, procs
	Nodes  []nodeRow         `json:"nodes,omitempty"`
	Procs  []remote.ProcInfo `json:"procs,omitempty"`
	Errors []string          `json:"errors,omitempty"` // nodes that could not be asked
	More   bool              `json:"more,omitempty"`
}

// nodeRow is one line of herd nodes.
type nodeRow struct {
	ID          string      `json:"id"`
	Address     string      `json:"address"`
	Role        string      `json:"role"` // leader, voter, non-voter
	State       string      `json:"state"`
	CPUs        int         `json:"cpus"`
	CPUList     []int       `json:"cpu_list,omitempty"`
	MemoryBytes uint64      `json:"memory_bytes"`
	Load        *[3]float64 `json:"load,omitempty"`  // nil: the node did not answer
	Procs       *int        `json:"procs,omitempty"` // nil: the node did not answer
	StateSince  time.Time   `json:"state_since"`
	// PIDBlocks are the node's PID leases, [start, end).
	PIDBlocks [][2]int `json:"pid_blocks"`
}

const maxCtlMsg = 1 << 20

func sendMsg(fd int, m ctlMsg, files ...*os.File) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(fd, b, oob, nil, 0); err != nil {
		return fmt.Errorf("send %s message: %w", m.Op, err)
	}
	return nil
}

// recvMsg reads one message; io.EOF-like closure returns op "".
func recvMsg(fd int) (ctlMsg, []*os.File, error) {
	buf := make([]byte, maxCtlMsg)
	oob := make([]byte, unix.CmsgSpace(4*8))
	n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return ctlMsg{}, nil, fmt.Errorf("read control message: %w", err)
	}
	var files []*os.File
	if oobn > 0 {
		scms, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err == nil {
			for _, scm := range scms {
				fds, err := unix.ParseUnixRights(&scm)
				if err != nil {
					continue
				}
				for _, fd := range fds {
					files = append(files, os.NewFile(uintptr(fd), "passed"))
				}
			}
		}
	}
	if n == 0 {
		return ctlMsg{}, files, nil
	}
	var m ctlMsg
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		for _, f := range files {
			f.Close()
		}
		return ctlMsg{}, nil, fmt.Errorf("decode control message: %w", err)
	}
	return m, files, nil
}

// ctlConn is one connection of the launcher protocol on the node side.
// Messages the tracer thread produces go through a queue, so the tracer
// never blocks on a slow or stopped client; messages posted after close
// are dropped, and nothing is written once the fd is closed (its number
// may have been reused by then).
type ctlConn struct {
	fd   int
	out  chan ctlMsg
	done chan struct{} // closed when the queue's writer has stopped

	wmu sync.Mutex // serialises writes to fd

	mu       sync.Mutex
	closing  bool // out is closed
	fdClosed bool
}

func newCtlConn(fd int) *ctlConn {
	c := &ctlConn{fd: fd, out: make(chan ctlMsg, 16), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for m := range c.out {
			c.wmu.Lock()
			sendMsg(c.fd, m)
			c.wmu.Unlock()
		}
	}()
	return c
}

// post queues m without blocking; safe on the tracer thread.
func (c *ctlConn) post(m ctlMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	select {
	case c.out <- m:
	default: // a client that does not read loses messages, not the node
	}
}

// send writes m now, blocking; not for the tracer thread.
func (c *ctlConn) send(m ctlMsg) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	closed := c.fdClosed
	c.mu.Unlock()
	if closed {
		return fmt.Errorf("send %s message: connection closed", m.Op)
	}
	return sendMsg(c.fd, m)
}

// close flushes the queued messages and closes the connection.
func (c *ctlConn) close() {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	close(c.out)
	c.mu.Unlock()
	<-c.done
	c.wmu.Lock()
	c.mu.Lock()
	c.fdClosed = true
	unix.Close(c.fd)
	c.mu.Unlock()
	c.wmu.Unlock()
}

// peerCreds is who is at the other end of a unix socket: the effective uid
// and gid it had when it connected (SO_PEERCRED) and its supplementary
// groups (SO_PEERGROUPS). Both come from the kernel's record of the
// connecting process's credentials, taken at connect or socketpair time,
// so a client cannot claim groups it does not have, and they work across
// PID namespaces (SO_PEERCRED's pid is 0 in the node's namespace for a
// client outside it, so /proc/<pid>/status cannot be read there).
func peerCreds(fd int) (uid, gid uint32, groups []uint32, err error) {
	uc, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("read peer credentials: %w", err)
	}
	buf := make([]uint32, 64)
	for {
		n := uint32(len(buf) * 4)
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
		if e == unix.ERANGE && int(n/4) > len(buf) {
			buf = make([]uint32, n/4)
			continue
		}
		if e != 0 {
			return 0, 0, nil, fmt.Errorf("read peer groups: %w", e)
		}
		return uc.Uid, uc.Gid, append([]uint32(nil), buf[:n/4]...), nil
	}
}
