package node

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"herd/launch"
	"herd/pidspace"
	"herd/sentry"
)

// EmbeddedName is the node name of herd run's private single-node cluster.
const EmbeddedName = "local"

// ErrNothingLaunched is returned by RunEmbedded when its launcher hung up
// without launching a program: there is nothing to wait for.
var ErrNothingLaunched = errors.New("nothing was launched")

// RunEmbedded is herd-init of herd run's private node, in pid 1 of a new
// namespace: it serves exactly one launcher, the herd run that started it,
// on the socket ctl it inherited, and returns when the launched program
// and everything it started are gone. Errors before the launch are also
// sent to the launcher.
func RunEmbedded(ctl int, strace io.Writer, log *slog.Logger) error {
	fail := func(err error) error {
		launch.Send(ctl, launch.Msg{Op: launch.OpError, Error: err.Error()})
		return err
	}
	if err := sentry.BecomeInit(); err != nil {
		return fail(err)
	}
	// A private node owns the whole PID space: its blocks come from an
	// in-process source, already there when the first fork asks.
	alloc := pidspace.NewBlockAllocator(context.Background(), pidspace.NewLocalBlocks(pidspace.PIDMax), 0)
	l, err := startLocal(EmbeddedName, alloc, nil, strace, log)
	if err != nil {
		return fail(err)
	}
	if err := l.showView(EmbeddedName, ownView, log); err != nil {
		return fail(err)
	}
	defer l.Close()
	idle := make(chan struct{})
	l.OnIdle(func() { close(idle) })
	srv := &launch.Server{Runner: l}
	if !srv.ServeConn(ctl) {
		return ErrNothingLaunched
	}
	<-idle
	return nil
}
