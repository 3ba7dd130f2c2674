package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"herd/launch"
	"herd/node"
	"herd/node/procfs"
	"herd/procview"
	"herd/sentry"
	"herd/sentry/shim"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a program under herd",
		ArgsUsage: "-- PROG [ARGS...]",
		Description: "Runs PROG, unmodified, under the sentry, as the caller (uid, gid and groups)\n" +
			"with the caller's stdio, environment and directory. It uses the local node\n" +
			"daemon when its socket answers; with no daemon (or with --strace or\n" +
			"--debug-log, which trace a private node) it brings up a private single-node\n" +
			"cluster in-process. herd run exits with PROG's status (128+N when PROG is\n" +
			"killed by signal N).",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "strace", Usage: "print every trapped syscall with its arguments and result to stderr"},
			&cli.StringFlag{Name: "debug-log", Usage: "write the node's debug log to `FILE`"},
			socketFlag(),
			&cli.StringFlag{Name: "placement", Usage: "where the program and its descendants exec on a cluster: `POLICY` local, spread, least-loaded or node:ID (default: the cluster's)"},
		},
		Action: runAction,
	}
}

// resolveProgram finds prog as a shell would, with a shell's message and
// status when it cannot be run.
func resolveProgram(prog string) (string, error) {
	if prog == "" {
		return "", cli.Exit("herd: : command not found", 127)
	}
	path := prog
	if !strings.Contains(prog, "/") {
		p, err := exec.LookPath(prog)
		if err != nil && !errors.Is(err, exec.ErrDot) {
			var ee *exec.Error
			if errors.As(err, &ee) && errors.Is(ee.Err, fs.ErrPermission) {
				return "", cli.Exit(fmt.Sprintf("herd: %s: Permission denied", prog), 126)
			}
			return "", cli.Exit(fmt.Sprintf("herd: %s: command not found", prog), 127)
		}
		path = p
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", cli.Exit(fmt.Sprintf("herd: %s: No such file or directory", prog), 127)
	case err != nil:
		return "", cli.Exit(fmt.Sprintf("herd: %s: %v", prog, errors.Unwrap(err)), 126)
	case st.IsDir():
		return "", cli.Exit(fmt.Sprintf("herd: %s: Is a directory", prog), 126)
	}
	if err := unix.Access(path, unix.X_OK); err != nil {
		return "", cli.Exit(fmt.Sprintf("herd: %s: Permission denied", prog), 126)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return abs, nil
}

// ignoredSignals lists the signals this process ignores, which the
// program inherits across exec as it would from a shell.
func ignoredSignals() []int {
	st, err := procview.ReadStatus(os.Getpid())
	if err != nil {
		return nil
	}
	return procview.Signals(st.SigIgn)
}

func runAction(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) == 0 {
		return cli.Exit("herd run: missing program: usage: herd run [--strace] [--debug-log FILE] -- PROG [ARGS...]", 2)
	}
	path, err := resolveProgram(args[0])
	if err != nil {
		return err
	}
	placement := c.String("placement")
	if err := node.CheckPolicy(placement); err != nil {
		return cli.Exit("herd run: "+err.Error(), 2)
	}
	// The caller's terminal: the program becomes its foreground job if
	// we are the foreground job now.
	foreground := false
	if pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil && pgrp == unix.Getpgrp() {
		foreground = true
	}
	conn, daemon, err := connect(c)
	if err != nil {
		return err
	}
	wd, _ := os.Getwd()
	// Who runs the program is not said here: the node reads it from the
	// socket (SO_PEERCRED, SO_PEERGROUPS).
	cmd := &launch.Cmd{Conn: conn, Path: path, Args: args, Env: os.Environ(), Dir: wd,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Foreground: foreground, Ignored: ignoredSignals(), Parent: launch.SelfParent(),
		Placement: placement}
	var pty *launch.PTY
	if daemon && foreground && isTerminal(1) {
		// The daemon cannot hand the program our terminal: give it one
		// of its own, proxied (see launch.PTY).
		if pty, err = launch.OpenPTY(); err != nil {
			return cli.Exit(fmt.Sprintf("herd run: %v", err), 125)
		}
		defer pty.Finish()
		cmd.Foreground, cmd.Session = false, true
		cmd.Stdin, cmd.Stdout, cmd.Stderr = pty.Slave, pty.Slave, pty.Slave
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	if pty != nil {
		pty.Slave.Close()
		pty.Run()
	}
	forwardSignals(cmd, cmd.Ignored)
	return waitProgram(cmd, pty, foreground)
}

// connect connects to the local node daemon, or, with no daemon (no
// socket, or nobody listening on it) or with --strace or --debug-log,
// starts a private node. Any other failure, such as a socket we may not
// use, is an error: a program silently run outside the cluster would
// surprise.
func connect(c *cli.Context) (conn int, daemon bool, err error) {
	if !c.Bool("strace") && c.String("debug-log") == "" {
		fd, err := launch.Dial(socketPath(c))
		switch {
		case err == nil:
			return fd, true, nil
		case !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ECONNREFUSED):
			return -1, false, cli.Exit(fmt.Sprintf("herd run: %v", err), 125)
		}
	}
	fd, err := startEmbeddedNode(c)
	return fd, false, err
}

// forwardSignals forwards the signals a user sends a foreground job, but
// those the caller ignores.
func forwardSignals(cmd *launch.Cmd, ignored []int) {
	sigs := make(chan os.Signal, 8)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		if !slices.Contains(ignored, int(sig)) {
			signal.Notify(sigs, sig)
		}
	}
	go func() {
		for sig := range sigs {
			cmd.Signal(sig.(syscall.Signal))
		}
	}()
}

// waitProgram waits for the program and exits as it did; the caller's
// terminal is given back to us first.
func waitProgram(cmd *launch.Cmd, pty *launch.PTY, foreground bool) error {
	ws, err := cmd.Wait()
	var ne *launch.NodeError
	switch {
	case errors.As(err, &ne):
		return cli.Exit("herd: "+ne.Msg, 126)
	case errors.Is(err, launch.ErrHungUp):
		return cli.Exit("herd: the node stopped before the program exited", 125)
	case err != nil:
		return err
	}
	if pty != nil {
		pty.Finish()
	}
	if foreground && pty == nil {
		signal.Ignore(syscall.SIGTTOU)
		unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, unix.Getpgrp())
	}
	if ws.Signaled() {
		return cli.Exit("", 128+int(ws.Signal()))
	}
	return cli.Exit("", ws.ExitStatus())
}

// startEmbeddedNode starts a private node, herd-init in new namespaces,
// and returns the launcher's end of its control socket.
func startEmbeddedNode(c *cli.Context) (int, error) {
	ctl, nodeFD, err := launch.Pair()
	if err != nil {
		return -1, err
	}
	nodeEnd := os.NewFile(uintptr(nodeFD), "ctl")
	defer nodeEnd.Close()
	exe, err := os.Executable()
	if err != nil {
		return -1, fmt.Errorf("find the herd binary: %w", err)
	}
	initArgs := []string{"herd", "init", "--ctl-fd", "3"}
	extra := []*os.File{nodeEnd}
	if c.Bool("strace") {
		initArgs = append(initArgs, "--strace")
	}
	if logPath := c.String("debug-log"); logPath != "" {
		f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return -1, cli.Exit(fmt.Sprintf("herd run: open debug log: %v", err), 2)
		}
		defer f.Close()
		extra = append(extra, f)
		initArgs = append(initArgs, "--log-fd", "4")
	}
	cmd := &exec.Cmd{Path: exe, Args: initArgs, ExtraFiles: extra, Env: append(os.Environ(), procfs.InitEnv)}
	if c.Bool("strace") {
		cmd.Stderr = os.Stderr
	}
	shim.Trace("run: start herd-init")
	if err := sentry.StartInit(cmd); err != nil {
		return -1, err
	}
	nodeEnd.Close()
	// herd-init outlives us while the program's background children
	// run; never wait for it here.
	cmd.Process.Release()
	return ctl, nil
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
