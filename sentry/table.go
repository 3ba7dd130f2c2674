package sentry

import (
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"
	"gvisor.dev/gvisor/pkg/seccomp"
)

// Disposition is what the seccomp filter does with a syscall.
type Disposition int

const (
	// Allow lets the kernel run the call natively: no stop, no cost.
	Allow Disposition = iota
	// Trap stops the task at syscall entry (SECCOMP_RET_TRACE) and runs
	// the row's Handler on the tracer thread.
	Trap
	// Deny fails the call in the filter with the row's Errno.
	Deny
	// Notify answers the call through seccomp user notification
	// (SECCOMP_RET_USER_NOTIF): the row's Answer computes the result on
	// a receiver goroutine, with no ptrace stop. Where notification is
	// not used (an old kernel, --strace, a placed process), the row is
	// trapped like a Trap row and its Handler answers.
	Notify
)

func (d Disposition) String() string {
	switch d {
	case Allow:
		return "native"
	case Trap:
		return "trapped"
	case Deny:
		return "denied"
	case Notify:
		return "notified"
	}
	return fmt.Sprintf("Disposition(%d)", int(d))
}

// A Handler emulates, inspects or rewrites one trapped system call. It runs
// on the tracer thread while the calling task is stopped at syscall entry,
// so it must not block: work that waits returns Async (or AsyncThen), whose
// function runs on a goroutine, or Park, completed later through Task.Wake.
type Handler func(t *Task) Action

// A Row is one system call's entry in the table.
type Row struct {
	Nr   uintptr
	Name string
	Disp Disposition
	// Errno is the error a Deny row returns.
	Errno unix.Errno
	// Match narrows a Trap row to calls whose arguments match (for
	// example rt_sigaction of SIGCHLD only); nil traps every call. For a
	// Notify row it selects the calls that are notified; the others
	// are trapped (never native).
	//
	// Notify rows' Match must test registers only: a notified call's
	// arguments are never read from memory (TOCTOU).
	Match seccomp.SyscallRule
	// MatchNote says in words what Match selects, for docs/syscalls.md.
	MatchNote string
	Handler   Handler
	// Answer answers a Notify row's calls without a ptrace stop; it must
	// give what Handler gives (Handler answers where notification is
	// not used).
	Answer Answer
	// Args says how --strace prints the arguments.
	Args []ArgKind
	// Note is the support note: what herd does with the call and why.
	Note string
}

// A Table maps syscall numbers to rows. The seccomp filter and the
// syscall documentation are both generated from it, so they cannot drift.
type Table struct {
	rows map[uintptr]*Row
}

// NewTable returns an empty table: every syscall runs natively.
func NewTable() *Table { return &Table{rows: make(map[uintptr]*Row)} }

// Add puts row in the table, replacing a row for the same number.
func (tb *Table) Add(row Row) {
	r := row
	tb.rows[row.Nr] = &r
}

// Lookup returns the row for nr, or nil.
func (tb *Table) Lookup(nr uintptr) *Row { return tb.rows[nr] }

// Rows returns the rows ordered by syscall number.
func (tb *Table) Rows() []Row {
	out := make([]Row, 0, len(tb.rows))
	for _, r := range tb.rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Nr < out[j].Nr })
	return out
}

// x32SyscallBit marks x32 ABI syscall numbers. herd traps by number, so
// an x32 alias of a trapped call would slip past; they are refused.
const x32SyscallBit = 0x40000000

// Filter builds the seccomp BPF program of the table: SECCOMP_RET_TRACE for
// trapped rows (with their argument matches) and for notified rows,
// SECCOMP_RET_ERRNO for denied rows, ALLOW for everything else. Calls from
// another architecture (int 0x80) and x32 numbers get ENOSYS.
func (tb *Table) Filter() ([]bpf.Instruction, error) { return tb.filter(false) }

// NotifyFilter is Filter with SECCOMP_RET_USER_NOTIF for the notified
// rows; it must be installed with SECCOMP_FILTER_FLAG_NEW_LISTENER.
func (tb *Table) NotifyFilter() ([]bpf.Instruction, error) { return tb.filter(true) }

func (tb *Table) filter(notify bool) ([]bpf.Instruction, error) {
	var trace, deny []seccomp.RuleSet
	denyByErrno := map[unix.Errno]seccomp.SyscallRules{}
	traceRules := seccomp.NewSyscallRules()
	notifyRules := seccomp.NewSyscallRules()
	for _, r := range tb.Rows() {
		m := r.Match
		if m == nil {
			m = seccomp.MatchAll{}
		}
		switch {
		case r.Disp == Notify:
			// The calls Match selects are notified, the rest trapped.
			if notify {
				notifyRules.Set(r.Nr, m)
			}
			traceRules.Set(r.Nr, seccomp.MatchAll{})
		case r.Disp == Trap:
			traceRules.Set(r.Nr, m)
		case r.Disp == Deny:
			rs, ok := denyByErrno[r.Errno]
			if !ok {
				rs = seccomp.NewSyscallRules()
			}
			denyByErrno[r.Errno] = rs.Set(r.Nr, seccomp.MatchAll{})
		}
	}
	errnos := make([]int, 0, len(denyByErrno))
	for e := range denyByErrno {
		errnos = append(errnos, int(e))
	}
	sort.Ints(errnos)
	for _, e := range errnos {
		deny = append(deny, seccomp.RuleSet{
			Rules:  denyByErrno[unix.Errno(e)],
			Action: seccomp.ReturnError.Code(uint16(e)),
		})
	}
	// The first matching rule set decides: a notified row's other calls
	// fall through to the trace set.
	if notifyRules.Size() > 0 {
		trace = append(trace, seccomp.RuleSet{Rules: notifyRules, Action: seccomp.UserNotify})
	}
	if traceRules.Size() > 0 {
		trace = append(trace, seccomp.RuleSet{Rules: traceRules, Action: seccomp.Trace})
	}
	prog := seccomp.Program{
		RuleSets: append(deny, trace...),
		Options: seccomp.ProgramOptions{
			DefaultAction: seccomp.Allow,
			BadArchAction: seccomp.ReturnError.Code(uint16(unix.ENOSYS)),
		},
	}
	body, _, err := prog.Build()
	if err != nil {
		return nil, fmt.Errorf("build seccomp program: %w", err)
	}
	// Prologue: refuse x32 numbers before the generated program, whose
	// jumps are relative and so unaffected by instructions in front.
	enosys := uint32(linux.SECCOMP_RET_ERRNO) | uint32(unix.ENOSYS)
	prologue := []bpf.Instruction{
		bpf.Stmt(bpf.Ld|bpf.Abs|bpf.W, 0), // seccomp_data.nr
		bpf.Jump(bpf.Jmp|bpf.Jge|bpf.K, x32SyscallBit, 0, 1),
		bpf.Stmt(bpf.Ret|bpf.K, enosys),
	}
	return append(prologue, body...), nil
}
