// Package tracefile reads the start traces herd writes when
// HERD_TRACE_START names a file (herd/sentry/shim.Trace): one line per
// phase a process passes, "NS PID PHASE", NS being CLOCK_MONOTONIC.
package tracefile

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Env is herd/sentry/shim.TraceEnv (the benches do not link herd).
const Env = "HERD_TRACE_START"

// A Line is one phase a process passed, at NS (CLOCK_MONOTONIC).
type Line struct {
	NS    int64
	Phase string
}

// Read reads the lines of a trace file; none if no process wrote one (a
// herd built without tracing).
func Read(file string) ([]Line, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Line
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.SplitN(sc.Text(), " ", 3)
		if len(fs) < 3 {
			continue
		}
		ns, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, Line{ns, strings.TrimSpace(fs[2])})
	}
	return out, sc.Err()
}

// Now is CLOCK_MONOTONIC in ns, the clock of the lines.
func Now() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
