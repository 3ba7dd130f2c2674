package main

import (
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The launcher and the node speak JSON messages over a SOCK_SEQPACKET
// unix socket; a run request carries the caller's stdio as SCM_RIGHTS.

// ctlMsg is every message of the launcher protocol.
type ctlMsg struct {
	Op string `json:"op"` // run, signal | started, exited, error

	// run
	Path       string   `json:"path,omitempty"`
	Argv       []string `json:"argv,omitempty"`
	Env        []string `json:"env,omitempty"`
	Dir        string   `json:"dir,omitempty"`
	UID        uint32   `json:"uid,omitempty"`
	GID        uint32   `json:"gid,omitempty"`
	Groups     []uint32 `json:"groups,omitempty"`
	Foreground bool     `json:"foreground,omitempty"`
	Ignored    []int    `json:"ignored,omitempty"`

	// signal
	Sig int `json:"sig,omitempty"`

	// started, exited, error
	PID    int    `json:"pid,omitempty"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
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
