package sentry

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"herd/sentry/shim"
)

// The tracer thread sleeps in wait4(-1), which only a child's state change
// ends. Work posted by other goroutines must wake it without a lost-wakeup
// window, which a signal cannot give (it may land just before wait4 is
// entered). The bell is a child that stops itself whenever its pipe is
// written: the stop is a wait4 event that stays pending until consumed.
type bell struct {
	pid int
	w   *os.File
}

func startBell() (*bell, error) {
	exe, env, err := helperExe("GOMAXPROCS=1")
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	pid, err := syscall.ForkExec(exe, []string{shim.BellName}, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{null.Fd(), null.Fd(), null.Fd(), r.Fd()},
	})
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", shim.BellName, err)
	}
	if err := unix.SetNonblock(int(w.Fd()), true); err != nil {
		return nil, err
	}
	shim.Trace("sentry: bell forked")
	return &bell{pid: pid, w: w}, nil
}

// ring wakes the tracer. A full pipe means it is already rung.
func (b *bell) ring() {
	unix.Write(int(b.w.Fd()), []byte{1})
}

func (b *bell) resume() { unix.Kill(b.pid, unix.SIGCONT) }

// exePath is the herd binary, found once (BecomeInit does it before
// /proc/1 is masked) and then used by the tracer thread only.
var exePath string

func selfExe() (string, error) {
	if exePath != "" {
		return exePath, nil
	}
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the herd binary: %w", err)
	}
	exePath = p
	return p, nil
}
