package shim

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// The helpers, the first two chosen by argv[0]:
//
//	herd-shim  installs the seccomp filter in a freshly seized child, drops
//	           to the user's credentials and execs the user's program;
//	herd-bell  stops itself whenever its pipe is written, which wakes the
//	           tracer thread out of wait4;
//	stand-in   the launcher's process (StandInEnv set; its argv is the
//	           launcher's command line).
const (
	ShimName = "herd-shim"
	BellName = "herd-bell"
	// StandInEnv marks a stand-in: its argv is the launcher's command
	// line, so argv[0] cannot say it.
	StandInEnv = "HERD_LAUNCHER_STAND_IN"
	// Binary is the small helper binary's file name, beside herd's.
	Binary = "herd-shim"
	// ProtocolEnv carries Protocol to the helpers the sentry starts; a
	// herd-shim binary built from other sources than the herd binary
	// (stale) sees another value and hands over to the herd binary.
	ProtocolEnv = "HERD_SHIM_PROTOCOL"
	// FallbackEnv names the herd binary, which a stale herd-shim execs.
	FallbackEnv = "HERD_SHIM_FALLBACK"
	// Protocol changes whenever Spec, the stand-in's wire or a helper's
	// behaviour does.
	Protocol = "1"
)

func isStandIn() bool { return os.Getenv(StandInEnv) == "1" }

func init() {
	switch {
	case filepath.Base(os.Args[0]) == ShimName:
		// Filter install and execve must happen on one thread: the
		// filter is per thread, and exec keeps the exec'ing one's.
		runtime.LockOSThread()
	case isStandIn():
		// Its scheduling attributes are per thread: they must be
		// set on the leader, whose values its PID shows.
		runtime.LockOSThread()
	}
}

// Run runs the helper this process was started as and does not return,
// or returns false if it is none. Call it first in main. standalone says
// the caller is the herd-shim binary, which checks that it speaks the
// sentry's protocol and otherwise re-executes the herd binary as itself.
func Run(standalone bool) bool {
	helper := isStandIn()
	switch filepath.Base(os.Args[0]) {
	case ShimName, BellName:
		helper = true
	}
	if !helper {
		return false
	}
	if standalone && os.Getenv(ProtocolEnv) != Protocol {
		handOver()
	}
	if isStandIn() {
		standInMain()
	}
	switch filepath.Base(os.Args[0]) {
	case ShimName:
		shimMain()
	case BellName:
		bellMain()
	}
	return false
}

// handOver execs the herd binary in this process's place, same argv,
// environment and descriptors: this herd-shim is not the sentry's.
func handOver() {
	herd := os.Getenv(FallbackEnv)
	if herd == "" {
		os.Stderr.WriteString("herd-shim: started without the herd binary's protocol\n")
		os.Exit(126)
	}
	err := syscall.Exec(herd, os.Args, os.Environ())
	os.Stderr.WriteString("herd-shim: exec " + herd + ": " + err.Error() + "\n")
	os.Exit(126)
}
