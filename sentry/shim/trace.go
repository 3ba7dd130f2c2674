package shim

import (
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// TraceEnv names a file to which every herd process of a start (herd run,
// herd-init, the sentry, the helpers, the nodes of a placement) appends
// the phases it passes, one line each: CLOCK_MONOTONIC in nanoseconds,
// the PID, the phase. The clock is the machine's, so lines of different
// processes and nodes compare. The bench reads it (start trace).
const TraceEnv = "HERD_TRACE_START"

var trace struct {
	once sync.Once
	f    *os.File
}

// Tracing reports whether phases are traced (TraceEnv is set).
func Tracing() bool { return traceFile() != nil }

func traceFile() *os.File {
	trace.once.Do(func() {
		if p := os.Getenv(TraceEnv); p != "" {
			trace.f, _ = os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_CLOEXEC, 0o644)
		}
	})
	return trace.f
}

// Trace records that this process reached phase, if tracing.
func Trace(phase string) {
	f := traceFile()
	if f == nil {
		return
	}
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	line := strconv.FormatInt(ts.Nano(), 10) + " " + strconv.Itoa(os.Getpid()) + " " + phase + "\n"
	f.WriteString(line) // one write(2) on O_APPEND: lines do not interleave
}
