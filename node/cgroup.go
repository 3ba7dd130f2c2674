package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"herd/procview"
)

// CgroupRoot is where the host mounts its cgroup hierarchies.
const CgroupRoot = "/sys/fs/cgroup"

// cgroupParent is the directory under which herd makes a cgroup per node.
const cgroupParent = "herd"

// Cgroup is a node's cgroup on the host: one directory per hierarchy
// (cgroup v1: cpuset and memory; v2: the one unified directory). Every
// process of the node (herd-init and everything in its namespace) runs in
// it, so the kernel enforces the CPUs and memory the node offers.
type Cgroup struct {
	v2   bool
	dirs []string // the node's directories, one per hierarchy
	// from are the directories the creating process was in, to go back
	// to before the cgroup can be removed.
	from []string
}

// Limits are what a node's cgroup allows: CPUs (nil: those of its
// parent) and memory in bytes (0: no limit of its own).
type Limits struct {
	CPUs   []int
	Memory uint64
}

// CgroupKey names the cgroup of the node whose data directory is dir: two
// nodes on one host never share a data directory, and a node restarted
// with the same one finds (and removes) what a crash left.
func CgroupKey(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	base := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, filepath.Base(abs))
	return base + "-" + hex.EncodeToString(sum[:4])
}

// NewCgroup makes the cgroup key under herd's parent with the limits,
// after removing one a crashed node left under that name. The caller's
// process then joins it (Enter) before it starts herd-init, whose
// namespace and children inherit it.
func NewCgroup(key string, lim Limits) (*Cgroup, error) {
	cg, err := cgroupAt(key)
	if err != nil {
		return nil, err
	}
	for i, dir := range cg.dirs {
		if err := mkCgroup(filepath.Dir(dir), dir); err != nil {
			cg.Remove()
			return nil, err
		}
		if err := cg.limit(i, lim); err != nil {
			cg.Remove()
			return nil, err
		}
	}
	return cg, nil
}

// RemoveStaleCgroup removes the cgroup key if a node that crashed left
// it (a node started without limits makes none).
func RemoveStaleCgroup(key string) error {
	cg, err := cgroupAt(key)
	if err != nil {
		return nil // no cgroups on this host: nothing can be left
	}
	for _, dir := range cg.dirs {
		if _, err := os.Stat(dir); err == nil {
			if err := rmCgroup(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// cgroupAt is where the cgroup key is (not made yet). On cgroup v2 it is
// /sys/fs/cgroup/herd/key; on v1 herd/key under the caller's own cgroup
// of the cpuset and memory hierarchies, so that what the host confines
// the caller to still confines the node.
func cgroupAt(key string) (*Cgroup, error) {
	if _, err := os.Stat(filepath.Join(CgroupRoot, "cgroup.controllers")); err == nil {
		own, err := ownCgroup("")
		if err != nil {
			return nil, err
		}
		return &Cgroup{v2: true, dirs: []string{filepath.Join(CgroupRoot, cgroupParent, key)},
			from: []string{filepath.Join(CgroupRoot, own)}}, nil
	}
	cg := &Cgroup{}
	for _, h := range []string{"cpuset", "memory"} {
		own, err := ownCgroup(h)
		if err != nil {
			return nil, err
		}
		base := filepath.Join(CgroupRoot, h, own)
		cg.dirs = append(cg.dirs, filepath.Join(base, cgroupParent, key))
		cg.from = append(cg.from, base)
	}
	return cg, nil
}

// limit writes the limits into the cgroup's i-th directory.
func (cg *Cgroup) limit(i int, lim Limits) error {
	dir := cg.dirs[i]
	if cg.v2 {
		// Controllers are enabled from the root down to the node's parent.
		for _, d := range []string{CgroupRoot, filepath.Dir(dir)} {
			if err := writeCgroup(d, "cgroup.subtree_control", "+cpuset +memory"); err != nil {
				return err
			}
		}
		if lim.CPUs != nil {
			if err := writeCgroup(dir, "cpuset.cpus", formatCPUList(lim.CPUs)); err != nil {
				return err
			}
		}
		if lim.Memory > 0 {
			return writeCgroup(dir, "memory.max", strconv.FormatUint(lim.Memory, 10))
		}
		return nil
	}
	if strings.HasPrefix(dir, filepath.Join(CgroupRoot, "cpuset")+"/") {
		return setCpusetV1(cg.from[i], filepath.Dir(dir), dir, lim.CPUs)
	}
	if lim.Memory > 0 {
		return writeCgroup(dir, "memory.limit_in_bytes", strconv.FormatUint(lim.Memory, 10))
	}
	return nil
}

// setCpusetV1 fills the cpusets of v1, which start empty (a task cannot
// join a cpuset without CPUs and memory nodes): the parent gets base's,
// the node its list.
func setCpusetV1(base, parent, dir string, cpus []int) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		b, err := os.ReadFile(filepath.Join(base, f))
		if err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if err := writeCgroup(parent, f, v); err != nil {
			return err
		}
		if f == "cpuset.cpus" && cpus != nil {
			v = formatCPUList(cpus)
		}
		if err := writeCgroup(dir, f, v); err != nil {
			return err
		}
	}
	return nil
}

// mkCgroup makes parent if needed and dir anew: a dir left by a node that
// crashed is removed first, once its last processes are gone.
func mkCgroup(parent, dir string) error {
	if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("cgroup: %w", err)
	}
	if _, err := os.Stat(dir); err == nil {
		if err := rmCgroup(dir); err != nil {
			return fmt.Errorf("cgroup %s, left by a node that did not stop: %w", dir, err)
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	return nil
}

// rmCgroup removes the cgroup dir, waiting a little for its processes to
// finish exiting (the kernel refuses EBUSY until they have).
func rmCgroup(dir string) error {
	var err error
	for range 100 {
		if err = unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pids, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs")); len(pids) > 0 {
		return fmt.Errorf("remove %s: %w (processes %s still in it)", dir, err,
			strings.Join(strings.Fields(string(pids)), " "))
	}
	return fmt.Errorf("remove %s: %w", dir, err)
}

// writeCgroup writes v to the control file name of cgroup dir.
func writeCgroup(dir, name, v string) error {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0); err != nil {
		return fmt.Errorf("cgroup: write %q to %s: %w", v, filepath.Join(dir, name), err)
	}
	return nil
}

// Enter moves the calling process (all its threads) into the cgroup; its
// children from now on are born in it.
func (cg *Cgroup) Enter() error {
	for _, d := range cg.dirs {
		if err := writeCgroup(d, "cgroup.procs", strconv.Itoa(os.Getpid())); err != nil {
			return err
		}
	}
	return nil
}

// Remove takes the calling process back to where it was and removes the
// cgroup, once the processes left in it have exited. The herd parent is
// removed too when no other node uses it.
func (cg *Cgroup) Remove() error {
	var errs []error
	for i, d := range cg.dirs {
		if cg.holds(d) {
			if err := writeCgroup(cg.from[i], "cgroup.procs", strconv.Itoa(os.Getpid())); err != nil {
				errs = append(errs, err)
			}
		}
		if err := rmCgroup(d); err != nil {
			errs = append(errs, err)
		}
		unix.Rmdir(filepath.Dir(d)) // fails while other nodes use it
	}
	return errors.Join(errs...)
}

// holds says whether the calling process is in the cgroup directory d.
func (cg *Cgroup) holds(d string) bool {
	b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
	if err != nil {
		return false
	}
	self := []byte(strconv.Itoa(os.Getpid()))
	for _, l := range bytes.Fields(b) {
		if bytes.Equal(l, self) {
			return true
		}
	}
	return false
}

// Dirs are the node's cgroup directories, one per hierarchy.
func (cg *Cgroup) Dirs() []string { return cg.dirs }

// ownCgroup is the calling process's cgroup path in hierarchy h (a v1
// controller name), or in the unified hierarchy for "".
func ownCgroup(h string) (string, error) { return cgroupIn(procview.Proc, h) }

// cgroupIn is ownCgroup read from the procfs fs (herd-init's own /proc/1
// is masked in /proc: it reads the kernel's through a detached copy).
func cgroupIn(fs procview.FS, h string) (string, error) {
	b, err := fs.ReadFile("self/cgroup")
	if err != nil {
		return "", fmt.Errorf("cgroup: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		// id:controllers:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if h == "" && parts[0] == "0" && parts[1] == "" {
			return parts[2], nil
		}
		for _, c := range strings.Split(parts[1], ",") {
			if h != "" && c == h {
				return parts[2], nil
			}
		}
	}
	return "", fmt.Errorf("cgroup: this host has no %q cgroup hierarchy", h)
}

// formatCPUList writes a CPU list the kernel's way: "0-3,6".
func formatCPUList(cpus []int) string {
	cpus = slices.Clone(cpus)
	slices.Sort(cpus)
	cpus = slices.Compact(cpus)
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}
