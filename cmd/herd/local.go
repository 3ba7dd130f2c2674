package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/sentry"
	"herd/syscalls"
)

// localNode is what runs in pid 1 of a node's namespace, in the embedded
// node of herd run and in the daemon alike: the process model, the
// emulated kernel and the sentry, and the launcher-serving loop. cluster
// is nil for the embedded node.
type localNode struct {
	name    string
	alloc   *pidspace.BlockAllocator
	s       *sentry.Sentry
	k       *syscalls.Kernel
	log     *slog.Logger
	cluster *clusterNode
}

// firstBlockTimeout bounds the wait for the node's first PID block.
const firstBlockTimeout = 30 * time.Second

// startLocalNode assembles the node-local half of a node in pid 1 (after
// sentry.BecomeInit): PIDs come from alloc, whose first block it waits for,
// so that the first launch does not wait for a lease on the tracer thread.
func startLocalNode(name string, alloc *pidspace.BlockAllocator, strace io.Writer, log *slog.Logger) (*localNode, error) {
	deadline := time.Now().Add(firstBlockTimeout)
	for alloc.FreePIDs() == 0 {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("start node %s: no pid block after %v", name, firstBlockTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	space := pidspace.NewSpace(name, alloc)
	if err := space.AddInit(); err != nil {
		return nil, fmt.Errorf("start node %s: %w", name, err)
	}
	k := syscalls.NewKernel(name, space, alloc, log)
	cfg := sentry.Config{Table: k.Table(), Hooks: k, Log: log, Strace: strace}
	s, err := sentry.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("start node %s: %w", name, err)
	}
	k.Attach(s)
	if err := s.Start(); err != nil {
		return nil, fmt.Errorf("start node %s: %w", name, err)
	}
	return &localNode{name: name, alloc: alloc, s: s, k: k, log: log}, nil
}

// serveLaunchers accepts connections on the listening unix socket lfd and
// serves each in its own goroutine, until accept fails (lfd closed).
func (n *localNode) serveLaunchers(lfd int) {
	for {
		fd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
		if err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
				continue
			}
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return
		}
		go n.serveConn(fd)
	}
}

// serveConn serves one client connection until it closes, and reports
// whether it launched a program.
func (n *localNode) serveConn(fd int) (launched bool) {
	c := newCtlConn(fd)
	defer c.close()
	m, files, err := recvMsg(fd)
	if err != nil || m.Op == "" {
		closeAll(files)
		return false
	}
	switch m.Op {
	case "run":
		return n.serveRun(c, m, files)
	case "nodes", "ps", "remove":
		closeAll(files)
		if n.cluster == nil {
			c.send(ctlMsg{Op: "error", Error: "this node is not part of a cluster"})
			return false
		}
		n.cluster.serveQuery(c, m)
	default:
		closeAll(files)
		c.send(ctlMsg{Op: "error", Error: fmt.Sprintf("unknown request %q", m.Op)})
	}
	return false
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// serveRun launches the program of a run request as the peer, then
// forwards the launcher's signals to it until the launcher hangs up. The
// program runs on when its launcher goes.
func (n *localNode) serveRun(c *ctlConn, m ctlMsg, files []*os.File) bool {
	if len(files) != 3 {
		closeAll(files)
		c.send(ctlMsg{Op: "error", Error: fmt.Sprintf("bad run request: %d fds, want 3", len(files))})
		return false
	}
	uid, gid, groups, err := peerCreds(c.fd)
	if err != nil {
		closeAll(files)
		c.send(ctlMsg{Op: "error", Error: err.Error()})
		return false
	}
	spec := sentry.SpawnSpec{
		Path: m.Path, Argv: m.Argv, Env: m.Env, Dir: m.Dir,
		UID: uid, GID: gid, Groups: groups,
		Stdio:      [3]*os.File{files[0], files[1], files[2]},
		Foreground: m.Foreground, Session: m.Session, Ignored: m.Ignored,
	}
	if len(spec.Argv) == 0 {
		spec.Argv = []string{m.Path}
	}
	creds := pidspace.Creds{RUID: uid, EUID: uid, SUID: uid, RGID: gid, EGID: gid, SGID: gid}
	launcher := make(chan int, 1)
	n.s.Post(func() {
		n.k.Launch(spec, creds, func(pid int, err error) {
			closeAll(files)
			if err != nil {
				c.post(ctlMsg{Op: "error", Error: err.Error()})
				launcher <- 0
				return
			}
			c.post(ctlMsg{Op: "started", PID: pid})
			launcher <- n.k.LauncherOf(pid)
		}, func(ws unix.WaitStatus) {
			c.post(ctlMsg{Op: "exited", Status: int(ws)})
		})
	})
	lpid := <-launcher
	if lpid == 0 {
		return false
	}
	for {
		m, files, err := recvMsg(c.fd)
		closeAll(files)
		if err != nil || m.Op == "" {
			return true
		}
		if m.Op == "signal" && m.Sig > 0 && m.Sig < 65 && m.Sig != int(syscall.SIGKILL) {
			sig := m.Sig
			n.s.Post(func() { n.k.SignalLaunch(lpid, sig) })
		}
	}
}
