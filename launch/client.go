package launch

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrHungUp is returned when the node closes the connection before it
// has answered.
var ErrHungUp = errors.New("the node daemon hung up")

// NodeError is an error the node answered with.
type NodeError struct{ Msg string }

func (e *NodeError) Error() string { return e.Msg }

// Query sends one query on the connected socket fd and collects the
// answer; procs answers come in several messages and are joined.
func Query(fd int, req Msg) (Msg, error) {
	if err := Send(fd, req); err != nil {
		return Msg{}, err
	}
	var all Msg
	for {
		m, files, err := Recv(fd)
		closeFiles(files)
		if err != nil {
			return Msg{}, err
		}
		switch m.Op {
		case "":
			return Msg{}, ErrHungUp
		case OpError:
			return Msg{}, &NodeError{m.Error}
		case OpProcs:
			all.Op = m.Op
			all.Procs = append(all.Procs, m.Procs...)
			all.Errors = append(all.Errors, m.Errors...)
			if !m.More {
				return all, nil
			}
		default:
			return m, nil
		}
	}
}

// QueryPath is Query on a new connection to the socket at path.
func QueryPath(path string, req Msg) (Msg, error) {
	fd, err := Dial(path)
	if err != nil {
		return Msg{}, err
	}
	defer unix.Close(fd)
	return Query(fd, req)
}

// Cmd is a program to run on a node, as os/exec's Cmd is a program to run
// here. The node runs it as the caller of the socket, with the given
// stdio; Wait returns its wait status.
type Cmd struct {
	// Conn is a connected launcher socket (Dial, Pair); the Cmd owns it
	// from Start on and closes it in Close.
	Conn int
	Path string   // absolute
	Args []string // argv, Args[0] included
	Env  []string
	Dir  string // absolute, or "" for the node's

	Stdin, Stdout, Stderr *os.File

	// Foreground makes the program the foreground job of the terminal
	// on Stdin; Session makes it lead a new session on it instead.
	Foreground, Session bool
	// Ignored are signals the program starts with ignored.
	Ignored []int
	// Parent describes the caller as the program's parent (SelfParent);
	// nil leaves the node's values to the caller's stand-in.
	Parent *Parent
	// Placement is the placement policy of the program and its
	// descendants on a cluster node ("" for the cluster's default).
	Placement string

	// PID is the program's PID, once Wait has seen it start.
	PID int
}

// Start sends the run request. The node answers asynchronously: call
// Wait.
func (c *Cmd) Start() error {
	if c.Stdin == nil || c.Stdout == nil || c.Stderr == nil {
		return errors.New("launch: Cmd needs Stdin, Stdout and Stderr")
	}
	req := Msg{Op: OpRun, Path: c.Path, Argv: c.Args, Env: c.Env, Dir: c.Dir,
		Foreground: c.Foreground, Session: c.Session, Ignored: c.Ignored, Parent: c.Parent,
		Placement: c.Placement}
	return Send(c.Conn, req, c.Stdin, c.Stdout, c.Stderr)
}

// Signal asks the node to send sig to the program's job. Safe to call
// while Wait runs.
func (c *Cmd) Signal(sig unix.Signal) error {
	return Send(c.Conn, Msg{Op: OpSignal, Sig: int(sig)})
}

// Wait waits for the program to exit and returns its wait status. It
// fails with a *NodeError if the node could not start it, and with
// ErrHungUp if the node went away first.
func (c *Cmd) Wait() (unix.WaitStatus, error) {
	for {
		m, files, err := Recv(c.Conn)
		closeFiles(files)
		if err != nil {
			return 0, err
		}
		switch m.Op {
		case OpStarted:
			c.PID = m.PID
		case OpError:
			return 0, &NodeError{m.Error}
		case OpExited:
			return unix.WaitStatus(m.Status), nil
		case "":
			return 0, ErrHungUp
		}
	}
}

// Close closes the connection; a program still running runs on.
func (c *Cmd) Close() error {
	if err := unix.Close(c.Conn); err != nil {
		return fmt.Errorf("launch: close: %w", err)
	}
	return nil
}
