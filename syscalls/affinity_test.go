package syscalls

import (
	"context"
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"herd/procview"
)

// The machine's calls answer for a cluster of three nodes: n0 of host
// CPUs 0-1, n1 (this node) of host CPUs 2 and 5, n2 of host CPUs 0-3
// on another kernel: 8 CPUs, n1's being the cluster's 2 and 3.

type fakeFigures struct {
	nodes []procview.NodeStat
	err   error
}

func (f fakeFigures) Figures(context.Context) ([]procview.NodeStat, error) { return f.nodes, f.err }

func figNode(name, boot string, memGiB uint64, threads int, cpus ...int) procview.NodeStat {
	st := procview.NodeStat{Node: name, BootID: boot, Uptime: 99.5, Load: [3]float64{0.5, 0.25, 1}, Threads: threads,
		Mem: map[string]uint64{"MemTotal": memGiB << 30, "MemFree": memGiB << 29, "Shmem": 4096, "Buffers": 8192,
			"SwapTotal": 1 << 20, "SwapFree": 1 << 19}}
	for _, c := range cpus {
		st.CPUs = append(st.CPUs, procview.CPUStat{CPU: c})
	}
	return st
}

func threeNodes() fakeFigures {
	return fakeFigures{nodes: []procview.NodeStat{
		figNode("n0", "a", 1, 100, 0, 1), figNode("n1", "a", 2, 100, 2, 5), figNode("n2", "b", 4, 50, 0, 1, 2, 3),
	}}
}

// fakeHost is the host's calls on fake threads.
type fakeHost struct {
	aff      map[int]unix.CPUSet
	set      map[int]unix.CPUSet // setAffinity's calls
	cpu      int
	statuses map[int]*procview.Status
	shims    map[int]bool
}

func (h *fakeHost) getAffinity(tid int) (unix.CPUSet, error) {
	s, ok := h.aff[tid]
	if !ok {
		return s, unix.ESRCH
	}
	return s, nil
}

func (h *fakeHost) setAffinity(tid int, set *unix.CPUSet) error {
	h.set[tid] = *set
	return nil
}

func (h *fakeHost) lastCPU(int) (int, int, error) { return h.cpu, 0, nil }

func (h *fakeHost) shim(tid int) bool { return h.shims[tid] }

func (h *fakeHost) status(tid int) (*procview.Status, error) {
	if st, ok := h.statuses[tid]; ok {
		return st, nil
	}
	return nil, unix.ESRCH
}

func cpus(c ...int) unix.CPUSet {
	var s unix.CPUSet
	for _, n := range c {
		s.Set(n)
	}
	return s
}

func uidStatus(uid uint32, capEff uint64) *procview.Status {
	return &procview.Status{Uid: [4]uint32{uid, uid, uid, uid}, CapEff: capEff}
}

func machineRig(t *testing.T, fig Figures) (*rig, *fakeHost) {
	r := newRig(t)
	h := &fakeHost{aff: map[int]unix.CPUSet{}, set: map[int]unix.CPUSet{}, statuses: map[int]*procview.Status{}}
	r.k.machine.host = h
	r.k.SetFigures(fig)
	return r, h
}

// run completes an asynchronous action as the sentry would.
func run(t *testing.T, a action, tk task) int64 {
	t.Helper()
	if a.kind != actAsync {
		t.Fatalf("got %s, want an asynchronous action", a)
	}
	then, err := a.async(context.Background())
	if err != nil {
		return -int64(errno(err))
	}
	return then(tk)
}

func TestSchedGetaffinityGlobal(t *testing.T) {
	r, h := machineRig(t, threeNodes())
	tk := r.spawn(9100, 0)
	h.aff[9100] = cpus(2, 5)
	if got := run(t, call(r.k.schedGetaffinity, tk, unix.SYS_SCHED_GETAFFINITY, 0, 128, memBase), tk); got != 8 {
		t.Fatalf("returned %d, want 8 (one long for 8 CPUs)", got)
	}
	if m := tk.u64(memBase); m != 0b1100 {
		t.Errorf("mask %#b, want CPUs 2 and 3 (n1's)", m)
	}
	h.aff[9100] = cpus(5)
	run(t, call(r.k.schedGetaffinity, tk, unix.SYS_SCHED_GETAFFINITY, 0, 8, memBase), tk)
	if m := tk.u64(memBase); m != 0b1000 {
		t.Errorf("pinned to host CPU 5: mask %#b, want CPU 3", m)
	}
	for _, c := range []struct {
		what string
		args []uintptr
		want unix.Errno
	}{
		{"size not whole longs", []uintptr{0, 4, memBase}, unix.EINVAL},
		{"herd-init's thread", []uintptr{2, 8, memBase}, unix.ESRCH},
		{"no such thread", []uintptr{9999, 8, memBase}, unix.ESRCH},
		{"bad address", []uintptr{0, 8, badAddr}, unix.EFAULT},
	} {
		if got := run(t, call(r.k.schedGetaffinity, tk, unix.SYS_SCHED_GETAFFINITY, c.args...), tk); got != -int64(c.want) {
			t.Errorf("%s: %d, want %v", c.what, got, c.want)
		}
	}
}

func TestSchedSetaffinityWithinNode(t *testing.T) {
	r, h := machineRig(t, threeNodes())
	tk := r.spawn(9100, 1000)
	h.statuses[9100] = uidStatus(1000, 0)
	tk.WriteMem(memBase, []byte{0b1000})
	if got := run(t, call(r.k.schedSetaffinity, tk, unix.SYS_SCHED_SETAFFINITY, 0, 8, memBase), tk); got != 0 {
		t.Fatalf("pin to CPU 3: %d", got)
	}
	if s := h.set[9100]; s != cpus(5) {
		t.Errorf("pinned to host %v, want host CPU 5", s)
	}
	// Another node's CPUs only (n0's 0-1, n2's 4-7): EINVAL.
	tk.WriteMem(memBase, []byte{0b11110011})
	if got := run(t, call(r.k.schedSetaffinity, tk, unix.SYS_SCHED_SETAFFINITY, 0, 8, memBase), tk); got != -int64(unix.EINVAL) {
		t.Errorf("other nodes' CPUs: %d, want EINVAL", got)
	}
	// Another user's thread: EPERM, unless the caller has CAP_SYS_NICE.
	other := r.spawn(9200, 2000)
	h.statuses[9200] = uidStatus(2000, 0)
	tk.WriteMem(memBase, []byte{0b0100})
	if got := run(t, call(r.k.schedSetaffinity, tk, unix.SYS_SCHED_SETAFFINITY, 9200, 8, memBase), tk); got != -int64(unix.EPERM) {
		t.Errorf("another user's thread: %d, want EPERM", got)
	}
	h.statuses[9200] = uidStatus(2000, 1<<unix.CAP_SYS_NICE)
	other.WriteMem(memBase, []byte{0b0100})
	if got := run(t, call(r.k.schedSetaffinity, other, unix.SYS_SCHED_SETAFFINITY, 9100, 8, memBase), other); got != 0 || h.set[9100] != cpus(2) {
		t.Errorf("with CAP_SYS_NICE: %d, pinned to %v", got, h.set[9100])
	}
	if got := run(t, call(r.k.schedSetaffinity, tk, unix.SYS_SCHED_SETAFFINITY, 0, 8, badAddr), tk); got != -int64(unix.EFAULT) {
		t.Errorf("bad address: %d", got)
	}
	// herd's shim applies the launcher's affinity, in the host's numbers.
	h.shims = map[int]bool{9100: true}
	wantNative(t, "the shim's sched_setaffinity", call(r.k.schedSetaffinity, tk, unix.SYS_SCHED_SETAFFINITY, 0, 8, memBase))
}

func TestGetcpuGlobal(t *testing.T) {
	r, h := machineRig(t, threeNodes())
	tk := r.spawn(9100, 0)
	h.cpu = 5
	if got := run(t, call(r.k.getcpu, tk, unix.SYS_GETCPU, memBase, memBase+8, 0), tk); got != 0 {
		t.Fatal(got)
	}
	if c := tk.u32(memBase); c != 3 {
		t.Errorf("host CPU 5 of n1 is %d, want the cluster's 3", c)
	}
	if got := run(t, call(r.k.getcpu, tk, unix.SYS_GETCPU, badAddr, 0, 0), tk); got != -int64(unix.EFAULT) {
		t.Errorf("bad address: %d", got)
	}
}

func TestSysinfoCluster(t *testing.T) {
	r, _ := machineRig(t, threeNodes())
	tk := r.spawn(9100, 0)
	if got := run(t, call(r.k.sysinfo, tk, unix.SYS_SYSINFO, memBase), tk); got != 0 {
		t.Fatal(got)
	}
	var info unix.Sysinfo_t
	readStruct(tk, memBase, &info)
	// Memory summed over nodes, swap and loads and threads over kernels.
	want := unix.Sysinfo_t{Uptime: 100, Loads: [3]uint64{65536, 32768, 131072}, Totalram: 7 << 30, Freeram: 7 << 29,
		Sharedram: 3 * 4096, Bufferram: 3 * 8192, Totalswap: 2 << 20, Freeswap: 2 << 19, Procs: 150, Unit: 1}
	if info != want {
		t.Errorf("sysinfo\n%+v, want\n%+v", info, want)
	}
	if unsafe.Sizeof(info) != 112 {
		t.Errorf("struct sysinfo is %d bytes, the kernel's 112", unsafe.Sizeof(info))
	}
	if got := run(t, call(r.k.sysinfo, tk, unix.SYS_SYSINFO, badAddr), tk); got != -int64(unix.EFAULT) {
		t.Errorf("bad address: %d", got)
	}
}

// Without figures the calls run natively; when they cannot be had, the
// host's own answer (sysinfo) and numbering (the rest).
func TestMachineFallbacks(t *testing.T) {
	r := newRig(t)
	tk := r.spawn(9100, 0)
	wantNative(t, "sysinfo without figures", call(r.k.sysinfo, tk, unix.SYS_SYSINFO, memBase))
	wantNative(t, "sched_getaffinity without figures", call(r.k.schedGetaffinity, tk, unix.SYS_SCHED_GETAFFINITY, 0, 8, memBase))
	r, h := machineRig(t, fakeFigures{err: errors.New("no quorum")})
	tk = r.spawn(9100, 0)
	h.aff[9100] = cpus(0)
	if got := run(t, call(r.k.schedGetaffinity, tk, unix.SYS_SCHED_GETAFFINITY, 0, 128, memBase), tk); got <= 0 || tk.u64(memBase) != 1 {
		t.Errorf("host numbering: %d, mask %#b", got, tk.u64(memBase))
	}
	if got := run(t, call(r.k.sysinfo, tk, unix.SYS_SYSINFO, memBase), tk); got != 0 {
		t.Errorf("host sysinfo: %d", got)
	}
	var info unix.Sysinfo_t
	readStruct(tk, memBase, &info)
	if info.Totalram == 0 || info.Unit != 1 {
		t.Errorf("host sysinfo %+v", info)
	}
}
