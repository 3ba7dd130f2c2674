package sentry

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// ArgKind says how --strace prints a syscall argument.
type ArgKind int

const (
	ArgInt ArgKind = iota
	ArgHex
	ArgSignal
	ArgString
	ArgPtr
)

func (s *Sentry) sysName(nr int) string {
	if r := s.cfg.Table.Lookup(uintptr(nr)); r != nil {
		return r.Name
	}
	return fmt.Sprintf("syscall_%d", nr)
}

func retString(v int64) string {
	if v < 0 && v > -4096 {
		e := unix.Errno(-v)
		switch int(-v) {
		case ERESTARTSYS:
			return "? ERESTARTSYS (to be restarted if SA_RESTART is set)"
		case ERESTARTNOHAND:
			return "? ERESTARTNOHAND (to be restarted if no handler)"
		}
		return fmt.Sprintf("-1 %s (%s)", unix.ErrnoName(e), e.Error())
	}
	return fmt.Sprint(v)
}

func signalName(v uintptr) string {
	if n := unix.SignalName(unix.Signal(v)); n != "" {
		return n
	}
	return fmt.Sprint(int64(v))
}

// trace prints one trapped call the way strace does. A call that runs
// natively is printed at its exit stop, with the kernel's result, so the
// action is turned into one that stops there.
func (s *Sentry) trace(t *Task, row *Row, args [6]uintptr, act Action) Action {
	var b strings.Builder
	fmt.Fprintf(&b, "[pid %d] %s(", t.TID, row.Name)
	for i, k := range row.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		a := args[i]
		switch k {
		case ArgInt:
			fmt.Fprint(&b, int64(int32(a)))
		case ArgHex:
			fmt.Fprintf(&b, "%#x", a)
		case ArgSignal:
			b.WriteString(signalName(a))
		case ArgString:
			if str, err := t.ReadString(a, 4096); err == nil {
				fmt.Fprintf(&b, "%q", str)
			} else {
				fmt.Fprintf(&b, "%#x", a)
			}
		case ArgPtr:
			if a == 0 {
				b.WriteString("NULL")
			} else {
				fmt.Fprintf(&b, "%#x", a)
			}
		}
	}
	b.WriteString(")")
	switch act.kind {
	case actReturn:
		fmt.Fprintf(&b, " = %s\n", retString(act.val))
	case actPark:
		b.WriteString(" <unfinished ...>\n")
	case actHold:
		b.WriteString(" <waiting for the fork lock>\n")
	default:
		line, after := b.String(), act.after
		act.after = func(t *Task, ret int64) {
			if after != nil {
				after(t, ret)
				ret = retOf(t.Regs())
			}
			fmt.Fprintf(s.cfg.Strace, "%s = %s\n", line, retString(ret))
		}
		return act
	}
	s.cfg.Strace.Write([]byte(b.String()))
	return act
}
