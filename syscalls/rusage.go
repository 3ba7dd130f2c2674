package syscalls

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"herd/pidspace"
)

// getrusage's trapped case is RUSAGE_CHILDREN (the filter's match): the
// kernel's answer would count herd-init's reaping, not the caller's.
func (k *Kernel) getrusage(t task) action {
	if int32(t.Arg(0)) != unix.RUSAGE_CHILDREN {
		return native()
	}
	cu, err := k.procs.ChildrenRusage(caller(t))
	if err != nil {
		return fail(errno(err))
	}
	ru := kernelRusage(cu)
	if writeStruct(t, t.Arg(1), &ru) != nil {
		return fail(unix.EFAULT)
	}
	return ret(0)
}

// times runs natively for the caller's own times and the return value,
// then fills in the children's times from the process model.
func (k *Kernel) times(t task) action {
	buf := t.Arg(0)
	if buf == 0 {
		return native()
	}
	return nativeThen(func(t task, ret int64) {
		if ret < 0 && ret > -4096 {
			return
		}
		cu, err := k.procs.ChildrenRusage(caller(t))
		if err != nil {
			return
		}
		// struct tms ends with the children's tms_cutime, tms_cstime.
		children := [2]int64{clockTicks(cu.Utime), clockTicks(cu.Stime)}
		if writeStruct(t, buf+unsafe.Offsetof(unix.Tms{}.Cutime), &children) != nil {
			t.SetReturn(-int64(unix.EFAULT))
		}
	})
}

// clockTicks converts a duration to USER_HZ ticks, as siginfo and times()
// report them.
func clockTicks(d time.Duration) int64 { return int64(d / (time.Second / 100)) }

func rusageOf(ru *unix.Rusage) pidspace.Rusage {
	if ru == nil {
		return pidspace.Rusage{}
	}
	return pidspace.Rusage{
		Utime:   time.Duration(ru.Utime.Nano()),
		Stime:   time.Duration(ru.Stime.Nano()),
		Maxrss:  ru.Maxrss,
		Minflt:  ru.Minflt,
		Majflt:  ru.Majflt,
		Inblock: ru.Inblock,
		Oublock: ru.Oublock,
		Nvcsw:   ru.Nvcsw,
		Nivcsw:  ru.Nivcsw,
	}
}

func kernelRusage(r pidspace.Rusage) unix.Rusage {
	return unix.Rusage{
		Utime:   unix.NsecToTimeval(r.Utime.Nanoseconds()),
		Stime:   unix.NsecToTimeval(r.Stime.Nanoseconds()),
		Maxrss:  r.Maxrss,
		Minflt:  r.Minflt,
		Majflt:  r.Majflt,
		Inblock: r.Inblock,
		Oublock: r.Oublock,
		Nvcsw:   r.Nvcsw,
		Nivcsw:  r.Nivcsw,
	}
}
