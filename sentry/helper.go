package sentry

import (
	"encoding/binary"

	"herd/sentry/shim"
)

// The herd binary doubles as herd's helpers (herd-shim, herd-bell, the
// launcher's stand-in), whose code is package shim: the sentry starts
// the small herd-shim binary when it lies beside the herd binary, and
// the herd binary itself otherwise (helperExe).

// RunHelper runs the helper named by argv[0] and does not return, or
// returns false if this process is not a helper. Call it first in main.
func RunHelper() bool { return shim.Run(false) }

func encodeFilter(prog []bpfInstruction) []byte {
	b := make([]byte, 0, 8*len(prog))
	for _, in := range prog {
		b = binary.LittleEndian.AppendUint16(b, in.OpCode)
		b = append(b, in.JumpIfTrue, in.JumpIfFalse)
		b = binary.LittleEndian.AppendUint32(b, in.K)
	}
	return b
}
