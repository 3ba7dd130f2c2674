package sentry

import (
	"os"
	"path/filepath"

	"herd/sentry/shim"
)

// helperExe is the binary the sentry starts its helpers from, and the
// environment they start with (env, which they may add to): the small
// herd-shim binary when it lies beside the herd binary and was built no
// earlier (make build builds both; a herd binary rebuilt alone may have
// changed what its helpers must do), else the herd binary itself. A
// herd-shim of another protocol hands over to the herd binary anyway.
// Found once, as selfExe.
func helperExe(env ...string) (string, []string, error) {
	exe, err := selfExe()
	if err != nil {
		return "", nil, err
	}
	if helperPath == "" {
		helperPath = chooseHelper(exe)
	}
	env = append(env, shim.ProtocolEnv+"="+shim.Protocol, shim.FallbackEnv+"="+exe)
	if p := os.Getenv(shim.TraceEnv); p != "" {
		env = append(env, shim.TraceEnv+"="+p)
	}
	return helperPath, env, nil
}

// chooseHelper is herd-shim beside exe if it is there and not older than
// exe, else exe.
func chooseHelper(exe string) string {
	if fast := filepath.Join(filepath.Dir(exe), shim.Binary); newerOrSame(fast, exe) {
		return fast
	}
	return exe
}

// Trace records a phase of a start when HERD_TRACE_START names a file
// (shim.Trace): for the packages above the sentry.
func Trace(phase string) { shim.Trace(phase) }

// helperPath is helperExe's choice; tracer thread, as exePath.
var helperPath string

// newerOrSame reports whether fast is an executable file modified no
// earlier than exe.
func newerOrSame(fast, exe string) bool {
	f, err := os.Stat(fast)
	if err != nil || !f.Mode().IsRegular() || f.Mode()&0o111 == 0 {
		return false
	}
	e, err := os.Stat(exe)
	return err == nil && !f.ModTime().Before(e.ModTime())
}
