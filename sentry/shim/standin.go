package shim

// The launcher's stand-in process itself: it takes the caller's identity
// and attributes, says so, and sleeps until herd-init closes its socket.
// It never runs user code and is never traced.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// StandInWire is what the stand-in reads on fd 3.
type StandInWire struct {
	Comm   string   `json:"comm"`
	Dir    string   `json:"dir,omitempty"`
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	Attrs  *Attrs   `json:"attrs,omitempty"`
}

// StandInReply is the stand-in's answer, once it is ready: what of its
// attributes the kernel refused it.
type StandInReply struct {
	Refused []string `json:"refused,omitempty"`
}

func standInMain() {
	Trace("stand-in: main")
	// A shell waiting for its job ignores what would stop its wait;
	// the stand-in has nothing to interrupt, and must not die of a
	// signal the program or a terminal sends (SIGKILL still kills it).
	signal.Ignore()
	f := os.NewFile(3, "launcher")
	var spec StandInWire
	if err := json.NewDecoder(f).Decode(&spec); err != nil {
		fmt.Fprintf(os.Stderr, "herd stand-in: read spec: %v\n", err)
		os.Exit(126)
	}
	// Everything after this is checked by the kernel as the caller.
	if err := setAllCreds(spec.UID, spec.GID, spec.Groups); err != nil {
		fmt.Fprintf(os.Stderr, "herd stand-in: set credentials: %v\n", err)
		os.Exit(126)
	}
	problems := spec.Attrs.Apply()
	if spec.Dir != "" {
		if err := syscall.Chdir(spec.Dir); err != nil {
			problems = append(problems, fmt.Sprintf("chdir %s: %v", spec.Dir, err))
		}
	}
	setComm(spec.Comm)
	// An object: a decoder knows where it ends without reading on.
	reply, _ := json.Marshal(StandInReply{Refused: problems})
	if _, err := f.Write(reply); err != nil {
		os.Exit(0)
	}
	Trace("stand-in: ready")
	// Until herd-init closes its end: the launch is over.
	io.Copy(io.Discard, f)
	os.Exit(0)
}

// setAllCreds drops every thread of this process to uid, gid and groups
// (the Go runtime's syscall wrappers change all threads).
func setAllCreds(uid, gid uint32, groups []uint32) error {
	gs := make([]int, len(groups))
	for i, g := range groups {
		gs[i] = int(g)
	}
	if err := syscall.Setgroups(gs); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(int(gid), int(gid), int(gid)); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	if err := syscall.Setresuid(int(uid), int(uid), int(uid)); err != nil {
		return fmt.Errorf("setresuid: %w", err)
	}
	return nil
}
