// Package launch is the launcher protocol between herd run (and herd ps,
// herd nodes) and a node: JSON messages over a SOCK_SEQPACKET unix socket,
// a run request carrying the caller's stdio as SCM_RIGHTS.
//
// The client side is Cmd, shaped like os/exec's, and Query; the server
// side is Server, which takes the caller's identity from the socket
// (SO_PEERCRED, SO_PEERGROUPS), never from a message, validates requests
// and hands them to a Runner (the node's kernel) or to Queries (the
// node's cluster half). PTY is the pseudo-terminal proxy herd run puts
// between the caller's terminal and a program a daemon runs.
package launch

import (
	"encoding/json"
	"fmt"
	"herd/procview"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Operations of Msg.
//
// A launcher sends OpRun, then OpSignal messages; the node answers
// OpStarted, then OpExited, or OpError. herd nodes, herd ps and herd
// nodes remove send one query (OpNodes, OpPs, OpRemove) and read the
// answer: OpNodes, OpProcs (repeated while More is set), OpOK, or OpError.
const (
	OpRun     = "run"
	OpSignal  = "signal"
	OpStarted = "started"
	OpExited  = "exited"
	OpError   = "error"
	OpNodes   = "nodes"
	OpPs      = "ps"
	OpProcs   = "procs"
	OpRemove  = "remove"
	// OpPlacement shows the cluster's default placement policy, or
	// sets it (root) when Placement is given; answered with OpOK.
	OpPlacement = "placement"
	OpOK        = "ok"
)

// Msg is every message of the launcher protocol; Op says which fields
// are meaningful.
type Msg struct {
	Op string `json:"op"`

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
	// Parent: the launcher itself, for its stand-in process.
	Parent *Parent `json:"parent,omitempty"`
	// Placement: the placement policy of the program and its
	// descendants ("" for the cluster's default).
	Placement string `json:"placement,omitempty"`

	// signal
	Sig int `json:"sig,omitempty"`

	// started, exited, error
	PID    int    `json:"pid,omitempty"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// ps: only this node's processes; remove: the node to remove
	Node string `json:"node,omitempty"`
	// nodes, procs
	Nodes  []NodeRow      `json:"nodes,omitempty"`
	Procs  []procview.Row `json:"procs,omitempty"`
	Errors []string       `json:"errors,omitempty"` // nodes that could not be asked
	More   bool           `json:"more,omitempty"`
}

// NodeRow is one line of herd nodes.
type NodeRow struct {
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

// maxMsg bounds one message; a SEQPACKET message must fit the socket
// buffer, so long answers come in several (see procsChunk).
const maxMsg = 1 << 20

// Send writes m on fd, with files as SCM_RIGHTS.
func Send(fd int, m Msg, files ...*os.File) error {
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

// Recv reads one message and the files passed with it; when the peer has
// hung up it returns a Msg with Op "".
func Recv(fd int) (Msg, []*os.File, error) {
	buf := make([]byte, maxMsg)
	oob := make([]byte, unix.CmsgSpace(4*8))
	n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return Msg{}, nil, fmt.Errorf("read control message: %w", err)
	}
	files := passedFiles(oob[:oobn])
	if n == 0 {
		return Msg{}, files, nil
	}
	var m Msg
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		closeFiles(files)
		return Msg{}, nil, fmt.Errorf("decode control message: %w", err)
	}
	return m, files, nil
}

// passedFiles are the descriptors of SCM_RIGHTS messages in oob.
func passedFiles(oob []byte) []*os.File {
	if len(oob) == 0 {
		return nil
	}
	scms, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var files []*os.File
	for _, scm := range scms {
		fds, err := unix.ParseUnixRights(&scm)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "passed"))
		}
	}
	return files
}

// closeFiles closes every file of files.
func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
