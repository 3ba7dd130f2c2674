package sentry

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux/errno"
)

type actionKind int

const (
	actNative actionKind = iota
	actReturn
	actPark
	actHold
)

// An Action is a handler's decision about the call it was given.
type Action struct {
	kind  actionKind
	val   int64
	after func(t *Task, ret int64)
	// cancel withdraws a parked emulation when a signal interrupts it.
	cancel func()
	// interrupted is the result a parked call gets when a signal
	// interrupts it: -ERESTARTSYS for calls Linux restarts under
	// SA_RESTART, -ERESTARTNOHAND or -EINTR for those it never does.
	interrupted int64
	// async is the function of an asynchronous call (AsyncThen).
	async AsyncFunc
}

// Native lets the call run in the kernel, with any arguments the handler
// rewrote.
func Native() Action { return Action{kind: actNative} }

// NativeThen lets the call run and calls after at its exit stop with the
// kernel's result; after may replace it with Task.SetReturn.
func NativeThen(after func(t *Task, ret int64)) Action {
	return Action{kind: actNative, after: after}
}

// Return skips the call and makes it return v.
func Return(v int64) Action { return Action{kind: actReturn, val: v} }

// Errno skips the call and makes it fail with e.
func Errno(e unix.Errno) Action { return Action{kind: actReturn, val: -int64(e)} }

// Result turns a (value, error) pair into Return or Errno. err must be a
// unix.Errno or nil.
func Result(v int64, err error) Action {
	if err != nil {
		return Errno(errnoOf(err))
	}
	return Return(v)
}

// Kernel restart codes (include/linux/errno.h), which golang.org/x/sys/unix
// lacks. They never reach user space: the kernel turns them into EINTR or a
// restart at signal delivery.
const (
	ERESTARTSYS           = int(errno.ERESTARTSYS)
	ERESTARTNOINTR        = int(errno.ERESTARTNOINTR)
	ERESTARTNOHAND        = int(errno.ERESTARTNOHAND)
	ERESTART_RESTARTBLOCK = int(errno.ERESTART_RESTARTBLOCK)
)

// Park blocks the call until Task.Wake. The task waits in the kernel (in
// pause()), so signals reach it as they would a blocked call: if one arrives
// first, cancel runs and the call ends with -ERESTARTSYS, which the kernel
// turns into EINTR or a transparent restart according to SA_RESTART.
func Park(cancel func()) Action {
	return Action{kind: actPark, cancel: cancel, interrupted: -int64(ERESTARTSYS)}
}

// Hold leaves the task stopped at syscall entry with no signal delivery,
// until the sentry resumes it itself (used for the fork lock).
func hold() Action { return Action{kind: actHold} }
