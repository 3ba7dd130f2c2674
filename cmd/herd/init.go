package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"

	"herd/pidspace"
	"herd/sentry"
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
	fail := func(err error) error {
		sendMsg(ctl, ctlMsg{Op: "error", Error: err.Error()})
		return err
	}
	if err := sentry.BecomeInit(); err != nil {
		return fail(err)
	}
	// A private node owns the whole PID space: its blocks come from an
	// in-process source, already there when the first fork asks.
	alloc := pidspace.NewBlockAllocator(context.Background(), pidspace.NewLocalBlocks(sentry.PIDMax), 0)
	var strace io.Writer
	if c.Bool("strace") {
		strace = os.Stderr
	}
	n, err := startLocalNode(embeddedNode, alloc, strace, log)
	if err != nil {
		return fail(err)
	}
	idle := make(chan struct{})
	n.s.Post(func() { n.k.OnIdle(func() { close(idle) }) })
	// The embedded node serves exactly one launcher: the herd run that
	// started it, on the socketpair it inherited. It lives until the
	// launched program and everything it started are gone.
	served := make(chan bool, 1)
	go func() { served <- n.serveConn(ctl) }()
	if !<-served {
		os.Exit(125) // nothing was launched: nothing to wait for
	}
	<-idle
	return nil
}
