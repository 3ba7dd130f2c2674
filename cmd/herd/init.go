package main

import (
	"errors"
	"io"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"

	"herd/node"
	"herd/sentry/shim"
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

func initAction(c *cli.Context) error {
	var logw io.Writer = io.Discard
	level := slog.LevelInfo
	if fd := c.Int("log-fd"); fd >= 0 {
		logw = os.NewFile(uintptr(fd), "log")
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))
	var strace io.Writer
	if c.Bool("strace") {
		strace = os.Stderr
	}
	shim.Trace("init: node starting")
	err := node.RunEmbedded(c.Int("ctl-fd"), strace, log)
	if errors.Is(err, node.ErrNothingLaunched) {
		os.Exit(125) // nothing to wait for
	}
	return err
}
