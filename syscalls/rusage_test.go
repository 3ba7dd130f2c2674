package syscalls

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// reapedChild leaves 5000 with one reaped child that used 2 s user and
// 1 s system time.
func reapedChild(t *testing.T) (*rig, *fakeTask) {
	r := newRig(t)
	p := r.spawn(5000, 1000)
	r.fork(5000, 5001)
	ru := unix.Rusage{Utime: unix.NsecToTimeval(int64(2 * time.Second)), Stime: unix.NsecToTimeval(int64(time.Second))}
	r.exit(5001, 0, &ru)
	wantReturn(t, "reap", call(r.k.wait4, p, unix.SYS_WAIT4, 5001, 0, 0, 0), 5001)
	return r, p
}

func TestGetrusageChildren(t *testing.T) {
	r, p := reapedChild(t)
	children := int32(unix.RUSAGE_CHILDREN)
	wantNative(t, "RUSAGE_SELF", call(r.k.getrusage, p, unix.SYS_GETRUSAGE, unix.RUSAGE_SELF, ruAddr))
	wantReturn(t, "children", call(r.k.getrusage, p, unix.SYS_GETRUSAGE, uintptr(uint32(children)), ruAddr), 0)
	if u, s := p.u64(ruAddr), p.u64(ruAddr+16); u != 2 || s != 1 {
		t.Errorf("children's utime %d s, stime %d s, want 2 and 1", u, s)
	}
	wantErrno(t, "bad pointer", call(r.k.getrusage, p, unix.SYS_GETRUSAGE, uintptr(uint32(children)), badAddr), unix.EFAULT)
}

func TestTimesFillsInChildren(t *testing.T) {
	r, p := reapedChild(t)
	wantNative(t, "NULL buffer", call(r.k.times, p, unix.SYS_TIMES, 0))
	a := call(r.k.times, p, unix.SYS_TIMES, memBase)
	finish(t, a, p, 12345)
	if cu, cs := p.u64(memBase+16), p.u64(memBase+24); cu != 200 || cs != 100 {
		t.Errorf("tms_cutime %d, tms_cstime %d ticks, want 200 and 100", cu, cs)
	}
	if p.returned != nil {
		t.Errorf("return value changed to %d", *p.returned)
	}
	a = call(r.k.times, p, unix.SYS_TIMES, memBase+memSize-20)
	finish(t, a, p, 12345)
	if p.returned == nil || *p.returned != -int64(unix.EFAULT) {
		t.Errorf("short buffer: return %v, want EFAULT", p.returned)
	}
}
