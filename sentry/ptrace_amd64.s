#include "textflag.h"

// func ptraceRestarts(r *rawRestarts, n int)
//
// ptrace calls back to back (pair.go). Being assembly and NOSPLIT, the
// function has no stack check where a pending preemption request would
// park the thread, and the Go runtime never preempts assembly through a
// signal either. rawRestarts: args [2][3]uintptr at 0, ret [2]uintptr at
// 48. The kernel keeps every register but AX, CX and R11.
TEXT ·ptraceRestarts(SB), NOSPLIT, $0-16
	MOVQ	r+0(FP), R8
	MOVQ	n+8(FP), R12
	LEAQ	48(R8), R9
	TESTQ	R12, R12
	JLE	done
loop:
	MOVQ	0(R8), DI   // request
	MOVQ	8(R8), SI   // pid
	XORQ	DX, DX      // addr
	MOVQ	16(R8), R10 // data: the signal
	MOVQ	$101, AX    // SYS_ptrace
	SYSCALL
	MOVQ	AX, 0(R9)
	ADDQ	$24, R8
	ADDQ	$8, R9
	DECQ	R12
	JNZ	loop
done:
	RET
