package sentry

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func init() {
	// xmm8 holds 1.5 across a trapped getppid made with inline asm.
	programs["xmm"] = `#include <stdio.h>
int main(void) {
	double in = 1.5, out = 0;
	long r;
	__asm__ volatile("movsd %2, %%xmm8\n\tmov $110, %%eax\n\tsyscall\n\tmovsd %%xmm8, %1"
		: "=a"(r), "=m"(out) : "m"(in) : "rcx", "r11", "xmm8", "memory");
	printf("r=%ld xmm8=%g\n", r, out);
	return 0;
}`
}

// xmm8Offset is where xmm8 lies in the XSAVE area: the legacy region's
// XMM registers start at byte 160, 16 bytes each.
const xmm8Offset = 160 + 8*16

// xstateRoundTrip reads t's extended state, checks it holds the program's
// xmm8, writes it back unchanged and checks it reads back the same; the fs
// base likewise. It reports what went wrong, or "".
func xstateRoundTrip(t *Task) string {
	xs, err := t.XState()
	if err != nil {
		return err.Error()
	}
	if len(xs) < 512 {
		return fmt.Sprintf("xstate of %d bytes", len(xs))
	}
	if v := math.Float64frombits(binary.LittleEndian.Uint64(xs[xmm8Offset:])); v != 1.5 {
		return fmt.Sprintf("xmm8 reads %g, want 1.5", v)
	}
	if err := t.SetXState(xs); err != nil {
		return err.Error()
	}
	again, err := t.XState()
	if err != nil || !bytes.Equal(again, xs) {
		return fmt.Sprintf("xstate differs after writing it back (%v)", err)
	}
	fs := t.FSBase()
	if fs == 0 {
		return "fs base is 0 (no TLS?)"
	}
	t.SetFSBase(fs)
	t.SetGSBase(t.GSBase())
	return ""
}

func xstateScenario(tb *Table) {
	tb.Add(trapRow(unix.SYS_GETPPID, "getppid", func(t *Task) Action {
		if msg := xstateRoundTrip(t); msg != "" {
			fmt.Fprintln(os.Stderr, msg)
			return Errno(unix.EIO)
		}
		return Return(4242)
	}))
}

func TestXStateRoundTrip(t *testing.T) {
	out, code := scenario(t, "xstate", buildProgram(t, "xmm"))
	if code != 0 || !strings.HasSuffix(out, "r=4242 xmm8=1.5\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("exit %d, output %q; want the state read, written back and kept", code, out)
	}
}
