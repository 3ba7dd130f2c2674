package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"herd/pidspace"
	"herd/sentry"
	"herd/syscalls"
)

// initCommand is herd-init: pid 1 of an embedded node's namespace, started
// by herd run. It is not for users.
func initCommand() *cli.Command {
	return &cli.Command{
		Name:   "init",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "ctl-fd", Value: 3},
			&cli.IntFlag{Name: "log-fd", Value: -1},
			&cli.BoolFlag{Name: "strace"},
		},
		Action: initAction,
	}
}

// embeddedNode is the node name of a private single-node cluster.
const embeddedNode = "local"

func initAction(c *cli.Context) error {
	var logw io.Writer = io.Discard
	level := slog.LevelInfo
	if fd := c.Int("log-fd"); fd >= 0 {
		logw = os.NewFile(uintptr(fd), "log")
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))
	ctl := c.Int("ctl-fd")

	if err := sentry.BecomeInit(); err != nil {
		sendMsg(ctl, ctlMsg{Op: "error", Error: err.Error()})
		return err
	}
	alloc := pidspace.NewBlockAllocator(context.Background(), pidspace.NewLocalBlocks(sentry.PIDMax), 0)
	space := pidspace.NewSpace(embeddedNode, alloc)
	if err := space.AddInit(); err != nil {
		return err
	}
	k := syscalls.NewKernel(embeddedNode, space, alloc, log)
	cfg := sentry.Config{Table: k.Table(), Hooks: k, Log: log}
	if c.Bool("strace") {
		cfg.Strace = os.Stderr
	}
	s, err := sentry.New(cfg)
	if err != nil {
		sendMsg(ctl, ctlMsg{Op: "error", Error: err.Error()})
		return err
	}
	k.Attach(s)
	idle := make(chan struct{})
	k.OnIdle(func() { close(idle) })
	if err := s.Start(); err != nil {
		sendMsg(ctl, ctlMsg{Op: "error", Error: err.Error()})
		return err
	}
	// The launcher's control connection: one run, then signals.
	go serveLauncher(ctl, s, k, log)
	<-idle
	return nil
}

func serveLauncher(ctl int, s *sentry.Sentry, k *syscalls.Kernel, log *slog.Logger) {
	m, files, err := recvMsg(ctl)
	if err != nil || m.Op != "run" || len(files) != 3 {
		log.Error("bad run request", "op", m.Op, "files", len(files), "err", err)
		sendMsg(ctl, ctlMsg{Op: "error", Error: fmt.Sprintf("bad run request (%d fds)", len(files))})
		os.Exit(125)
	}
	spec := sentry.SpawnSpec{
		Path: m.Path, Argv: m.Argv, Env: m.Env, Dir: m.Dir,
		UID: m.UID, GID: m.GID, Groups: m.Groups,
		Stdio:      [3]*os.File{files[0], files[1], files[2]},
		Foreground: m.Foreground, Ignored: m.Ignored,
	}
	creds := pidspace.Creds{RUID: m.UID, EUID: m.UID, SUID: m.UID, RGID: m.GID, EGID: m.GID, SGID: m.GID}
	launcher := make(chan int, 1)
	s.Post(func() {
		k.Launch(spec, creds, func(pid int, err error) {
			for _, f := range files {
				f.Close()
			}
			if err != nil {
				sendMsg(ctl, ctlMsg{Op: "error", Error: err.Error()})
				launcher <- 0
				return
			}
			sendMsg(ctl, ctlMsg{Op: "started", PID: pid})
			launcher <- k.LauncherOf(pid)
		}, func(ws unix.WaitStatus) {
			sendMsg(ctl, ctlMsg{Op: "exited", Status: int(ws)})
		})
	})
	lpid := <-launcher
	if lpid == 0 {
		os.Exit(125)
	}
	for {
		m, files, err := recvMsg(ctl)
		for _, f := range files {
			f.Close()
		}
		if err != nil || m.Op == "" {
			return // the launcher is gone; the program runs on
		}
		if m.Op == "signal" && m.Sig > 0 && m.Sig < 65 && m.Sig != int(syscall.SIGKILL) {
			sig := m.Sig
			s.Post(func() { k.SignalLaunch(lpid, sig) })
		}
	}
}
