package sentry

import (
	"errors"
	"fmt"
	"herd/pidspace"
	"herd/sentry/shim"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// PIDMax is the pid_max set in a node's namespace: pidspace's, the limit
// of the cluster's PIDs. Linux keeps pid_max per namespace (since 6.14),
// so raising it does not touch the host's.
const PIDMax = pidspace.PIDMax

// StartInit starts cmd as pid 1 of a new PID, mount and IPC namespace:
// the node's herd-init, which runs the sentry. The IPC namespace keeps the
// sandbox's System V objects and POSIX message queues apart from the
// host's and from other local nodes' (DESIGN.md decision 9).
func StartInit(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWIPC
	if err := cmd.Start(); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("start herd-init in new namespaces: %w (herd needs root: it creates PID and mount namespaces and traces with ptrace)", err)
		}
		return fmt.Errorf("start herd-init in new namespaces: %w", err)
	}
	return nil
}

// BecomeInit prepares the namespaces for the sentry; it must run in
// herd-init (pid 1) before Start. It gives the namespace its own /proc,
// raises pid_max, and hides herd-init's /proc/1 from sandboxed processes
// (its mem file would let root inside write the tracer's memory).
func BecomeInit() error {
	if os.Getpid() != 1 {
		return fmt.Errorf("herd-init must be pid 1 of its namespace, is %d", os.Getpid())
	}
	if _, _, err := helperExe(); err != nil {
		return err
	}
	// Descriptors herd-init inherited (from whoever started the node,
	// or from herd run's caller beyond the launcher socket) are its
	// own, never the sandboxed programs': none may leak across the
	// shim's exec into them.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("mark inherited descriptors close-on-exec: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	if err := os.WriteFile("/proc/sys/kernel/pid_max", []byte(fmt.Sprint(PIDMax)), 0); err != nil {
		return fmt.Errorf("raise pid_max: %w", err)
	}
	if err := unix.Mount("tmpfs", "/proc/1", "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0,mode=0555"); err != nil {
		return fmt.Errorf("mask /proc/1: %w", err)
	}
	shim.Trace("sentry: namespaces ready")
	return nil
}
