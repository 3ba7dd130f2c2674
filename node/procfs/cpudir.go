package procfs

import (
	"context"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"herd/procview"
)

// The view's /sys/devices/system/cpu: the cluster's range files
// (online, possible, present), a cpuN directory for every CPU of the
// cluster (its online file and its topology, procview.RenderTopology),
// and the host's other entries (vulnerabilities, kernel_max, smt…) as
// the kernel has them, read through a descriptor of the kernel's
// directory opened before the view covered it. The host's own cpuN
// directories are not shown: their numbers are the host's.

// sysCPU is the kernel's directory the view covers.
const sysCPU = "/sys/devices/system/cpu"

// rangeFiles are the cluster's range files in sysCPU.
var rangeFiles = map[string]bool{"online": true, "possible": true, "present": true}

// cpuDirNode is the view's sysCPU.
type cpuDirNode struct {
	fs.Inode
	v    *View
	host int // O_PATH descriptor of the kernel's sysCPU
}

var (
	_ fs.NodeLookuper  = (*cpuDirNode)(nil)
	_ fs.NodeReaddirer = (*cpuDirNode)(nil)
	_ fs.NodeGetattrer = (*cpuDirNode)(nil)
)

func (d *cpuDirNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o755
	return 0
}

// cpuNumber is N of a name "cpuN", or -1.
func cpuNumber(name string) int {
	n, ok := strings.CutPrefix(name, "cpu")
	if !ok || n == "" || n[0] == '+' || n[0] == '-' {
		return -1
	}
	v, err := strconv.Atoi(n)
	if err != nil {
		return -1
	}
	return v
}

func (d *cpuDirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if rangeFiles[name] {
		return d.NewInode(ctx, &fileNode{v: d.v, f: file{name: name, render: procview.RenderCPURange}}, fs.StableAttr{Mode: syscall.S_IFREG}), 0
	}
	if n := cpuNumber(name); n >= 0 {
		nodes, err := d.v.cfg.Cache.Figures(ctx)
		if err != nil || n >= procview.CPUCount(nodes) {
			return nil, syscall.ENOENT
		}
		return d.NewInode(ctx, &cpuNode{v: d.v, n: n}, fs.StableAttr{Mode: syscall.S_IFDIR}), 0
	}
	return lookupHost(ctx, &d.Inode, d.host, name)
}

func (d *cpuDirNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	var entries []fuse.DirEntry
	for _, e := range hostEntries(d.host, ".") {
		if cpuNumber(e.Name) < 0 && !rangeFiles[e.Name] {
			entries = append(entries, e)
		}
	}
	for name := range rangeFiles {
		entries = append(entries, fuse.DirEntry{Name: name, Mode: syscall.S_IFREG})
	}
	if nodes, err := d.v.cfg.Cache.Figures(ctx); err == nil {
		for n := range procview.CPUCount(nodes) {
			entries = append(entries, fuse.DirEntry{Name: "cpu" + strconv.Itoa(n), Mode: syscall.S_IFDIR})
		}
	}
	return fs.NewListDirStream(entries), 0
}

// cpuNode is cpuN (online and topology/) or, if topology is set, its
// topology directory.
type cpuNode struct {
	fs.Inode
	v        *View
	n        int
	topology bool
}

var (
	_ fs.NodeLookuper  = (*cpuNode)(nil)
	_ fs.NodeReaddirer = (*cpuNode)(nil)
)

// names are the entries of the directory: regular files but for
// topology/.
func (c *cpuNode) names() []string {
	if c.topology {
		return procview.TopologyFiles
	}
	return []string{"online", "topology"}
}

func (c *cpuNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if !slices.Contains(c.names(), name) {
		return nil, syscall.ENOENT
	}
	n := c.n
	var render func([]procview.NodeStat) []byte
	switch {
	case name == "topology":
		return c.NewInode(ctx, &cpuNode{v: c.v, n: n, topology: true}, fs.StableAttr{Mode: syscall.S_IFDIR}), 0
	case name == "online":
		render = func([]procview.NodeStat) []byte { return []byte("1\n") }
	default:
		render = func(nodes []procview.NodeStat) []byte { return procview.RenderTopology(nodes, n, name) }
	}
	return c.NewInode(ctx, &fileNode{v: c.v, f: file{name: name, render: render}}, fs.StableAttr{Mode: syscall.S_IFREG}), 0
}

func (c *cpuNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	var entries []fuse.DirEntry
	for _, name := range c.names() {
		mode := uint32(syscall.S_IFREG)
		if name == "topology" {
			mode = syscall.S_IFDIR
		}
		entries = append(entries, fuse.DirEntry{Name: name, Mode: mode})
	}
	return fs.NewListDirStream(entries), 0
}

// hostNode is an entry of the kernel's sysCPU other than its CPUs, at
// rel under the descriptor host: read-only, as the kernel has it.
type hostNode struct {
	fs.Inode
	host int
	rel  string
}

var (
	_ fs.NodeLookuper   = (*hostNode)(nil)
	_ fs.NodeReaddirer  = (*hostNode)(nil)
	_ fs.NodeGetattrer  = (*hostNode)(nil)
	_ fs.NodeOpener     = (*hostNode)(nil)
	_ fs.NodeReadlinker = (*hostNode)(nil)
)

// lookupHost finds name under parent, a host directory at rel.
func lookupHost(ctx context.Context, parent *fs.Inode, host int, rel string) (*fs.Inode, syscall.Errno) {
	var st unix.Stat_t
	if err := unix.Fstatat(host, rel, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, fs.ToErrno(err)
	}
	return parent.NewInode(ctx, &hostNode{host: host, rel: rel}, fs.StableAttr{Mode: st.Mode & unix.S_IFMT}), 0
}

// hostEntries lists the host directory rel (nil if it cannot be read).
func hostEntries(host int, rel string) []fuse.DirEntry {
	fd, err := unix.Openat(host, rel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	des, _ := f.ReadDir(-1)
	var out []fuse.DirEntry
	for _, de := range des {
		mode := uint32(syscall.S_IFREG)
		switch {
		case de.IsDir():
			mode = syscall.S_IFDIR
		case de.Type()&os.ModeSymlink != 0:
			mode = syscall.S_IFLNK
		}
		out = append(out, fuse.DirEntry{Name: de.Name(), Mode: mode})
	}
	return out
}

func (h *hostNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return lookupHost(ctx, &h.Inode, h.host, path.Join(h.rel, name))
}

func (h *hostNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	return fs.NewListDirStream(hostEntries(h.host, h.rel)), 0
}

func (h *hostNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	var st unix.Stat_t
	if err := unix.Fstatat(h.host, h.rel, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fs.ToErrno(err)
	}
	out.Mode, out.Size, out.Nlink = st.Mode, uint64(st.Size), uint32(st.Nlink)
	out.Uid, out.Gid = st.Uid, st.Gid
	out.Mode &^= 0o222 // read-only
	return 0
}

func (h *hostNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(h.host, h.rel, buf)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	return buf[:n], 0
}

// Open reads the whole file at open (sysfs files are at most a page).
func (h *hostNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EACCES
	}
	fd, err := unix.Openat(h.host, h.rel, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fs.ToErrno(err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 1<<16)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return nil, 0, fs.ToErrno(err)
	}
	return &handle{data: buf[:n]}, fuse.FOPEN_DIRECT_IO, 0
}
