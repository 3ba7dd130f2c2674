// Package procfs serves the cluster view (design decision 8) in a node's
// mount namespace: a FUSE file system (github.com/hanwen/go-fuse/v2)
// whose files, rendered by procview from every node's live figures, are
// bind-mounted over the kernel's /proc/cpuinfo, /proc/stat,
// /proc/meminfo, /proc/loadavg, /proc/uptime, /proc/swaps, /proc/vmstat
// and /sys/devices/system/cpu (the cluster's CPU range files and a cpuN
// directory with its topology per CPU of the cluster, cpudir.go), as
// lxcfs does for a container. Everything else of /proc, a process's own
// entries above all, stays the kernel's.
//
// A file is rendered when it is opened and read from that copy (as lxcfs
// caches per open), so a reader sees one consistent file however it
// splits its reads; the nodes' figures are cached for a short while, so
// top's refresh (several files a second) asks the nodes once.
package procfs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"herd/procview"
)

// InitEnv is what herd-init's environment needs beside the view, set by
// whoever starts it: glibc's malloc reads /sys/devices/system/cpu/online
// once a process has more threads than arenas (to size their number),
// and in herd-init that file is the view, which herd-init serves itself.
// A Go thread that blocks in that malloc holds its P (it is starting a
// thread through cgo), so on a node of one CPU (GOMAXPROCS 1) no
// goroutine could serve the read: herd-init would hang. A fixed arena
// limit keeps malloc from reading the file at all.
const InitEnv = "MALLOC_ARENA_MAX=8"

// Source gives the figures of the cluster's nodes now, in member order.
type Source func(ctx context.Context) ([]procview.NodeStat, error)

// file is one file of the view: its name in the FUSE tree, the kernel's
// file it covers, and its renderer.
type file struct {
	name, over string
	render     func([]procview.NodeStat) []byte
}

var files = []file{
	{"cpuinfo", "/proc/cpuinfo", procview.RenderCPUInfo},
	{"stat", "/proc/stat", procview.RenderStat},
	{"meminfo", "/proc/meminfo", procview.RenderMemInfo},
	{"loadavg", "/proc/loadavg", procview.RenderLoadAvg},
	{"uptime", "/proc/uptime", procview.RenderUptime},
	{"swaps", "/proc/swaps", procview.RenderSwaps},
	{"vmstat", "/proc/vmstat", procview.RenderVMStat},
}

// cpuDirName is the view's /sys/devices/system/cpu in the FUSE tree.
const cpuDirName = "sys-cpu"

// Config is what a View needs.
type Config struct {
	Source Source
	// TTL is how long the nodes' figures are reused (default 250ms).
	TTL time.Duration
	// Timeout bounds one gathering of them (default 2s).
	Timeout time.Duration
	Log     *slog.Logger
	// Cache, if set, is where the view reads the figures (shared with
	// the node's system calls); else one is made of Source.
	Cache *Cache
}

func (cfg *Config) defaults() {
	if cfg.TTL == 0 {
		cfg.TTL = 250 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
}

// Cache is the nodes' figures, gathered from a Source at most once a
// TTL: the view's files read it, and so do the system calls that
// describe the machine (sysinfo, sched_getaffinity; syscalls.Figures,
// through Recent).
type Cache struct {
	cfg Config
	// gather serializes the gatherings; mu guards the figures.
	gather     sync.Mutex
	mu         sync.Mutex
	at         time.Time
	nodes      []procview.NodeStat
	refreshing bool
}

// NewCache makes a cache of cfg.Source.
func NewCache(cfg Config) *Cache {
	cfg.defaults()
	return &Cache{cfg: cfg}
}

// cached is the figures if younger than the TTL.
func (c *Cache) cached() []procview.NodeStat {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodes != nil && time.Since(c.at) < c.cfg.TTL {
		return c.nodes
	}
	return nil
}

// Figures is the nodes' figures, asked anew when older than the TTL.
// Readers at the same moment share one gathering, which one reader's
// end does not cut short (a FUSE read interrupted, a call's task
// signalled): it would leave the others a cluster of fewer nodes.
func (c *Cache) Figures(ctx context.Context) ([]procview.NodeStat, error) {
	if nodes := c.cached(); nodes != nil {
		return nodes, nil
	}
	c.gather.Lock()
	defer c.gather.Unlock()
	if nodes := c.cached(); nodes != nil {
		return nodes, nil // gathered while this one waited
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
	defer cancel()
	nodes, err := c.cfg.Source(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.nodes, c.at = nodes, time.Now()
	c.mu.Unlock()
	return nodes, nil
}

// Recent is the last figures whatever their age, refreshed in the
// background when older than the TTL; the first call waits for them. A
// system call (every Go program's start asks sched_getaffinity) then
// never waits for a slow member, while a file (top's deltas) is always
// fresh.
func (c *Cache) Recent(ctx context.Context) ([]procview.NodeStat, error) {
	c.mu.Lock()
	nodes, stale := c.nodes, time.Since(c.at) >= c.cfg.TTL
	start := nodes != nil && stale && !c.refreshing
	if start {
		c.refreshing = true
	}
	c.mu.Unlock()
	if nodes == nil {
		return c.Figures(ctx)
	}
	if start {
		go func() {
			if _, err := c.Figures(context.Background()); err != nil {
				c.cfg.Log.Warn("cluster view: refresh the nodes' figures", "err", err)
			}
			c.mu.Lock()
			c.refreshing = false
			c.mu.Unlock()
		}()
	}
	return nodes, nil
}

// Recent is a Cache whose Figures are its Recent ones: what the system
// calls read (syscalls.Figures).
type Recent struct{ *Cache }

// Figures implements syscalls.Figures.
func (r Recent) Figures(ctx context.Context) ([]procview.NodeStat, error) { return r.Cache.Recent(ctx) }

// View is the mounted cluster view of one mount namespace.
type View struct {
	cfg    Config
	server *fuse.Server
	over   []string // the kernel's files now covered
	// hostCPU is an O_PATH descriptor of the kernel's sysCPU (-1: none),
	// through which the view shows its entries other than the CPUs.
	hostCPU int
}

// Kernel opens a detached copy of the kernel's /proc mount (without what
// is mounted over its files) and returns it as a procview.FS, through
// which the node reads its own kernel's figures once the view covers
// /proc. Call it before Mount. (Not a path like /proc/self/fd/N: in
// herd-init /proc/self is /proc/1, which the sentry masks.)
func Kernel() (procview.FS, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return "", fmt.Errorf("procfs: clone /proc: %w", err)
	}
	return procview.At(fd), nil
}

// Mount serves the view and mounts its files over the kernel's in the
// calling process's mount namespace (herd-init's, private to the node).
// Close unmounts them.
func Mount(cfg Config) (*View, error) {
	cfg.defaults()
	if cfg.Cache == nil {
		cfg.Cache = NewCache(cfg)
	}
	v := &View{cfg: cfg, hostCPU: -1}
	if fd, err := unix.Open(sysCPU, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		v.hostCPU = fd
	}
	dir, err := os.MkdirTemp("", "herd-view-")
	if err != nil {
		return nil, fmt.Errorf("procfs: %w", err)
	}
	defer os.Remove(dir)
	root := &dirNode{v: v}
	v.server, err = fs.Mount(dir, root, &fs.Options{MountOptions: fuse.MountOptions{
		AllowOther: true, DirectMount: true, DirectMountStrict: true,
		FsName: "herd", Name: "herd", DisableXAttrs: true,
	}})
	if err != nil {
		return nil, fmt.Errorf("procfs: mount FUSE: %w", err)
	}
	closeOnExecFuse()
	binds := make([]file, 0, len(files)+1)
	binds = append(binds, files...)
	if v.hostCPU >= 0 {
		binds = append(binds, file{name: cpuDirName, over: sysCPU})
	}
	for _, f := range binds {
		if err := unix.Mount(dir+"/"+f.name, f.over, "", unix.MS_BIND, ""); err != nil {
			err = fmt.Errorf("procfs: bind the view over %s: %w", f.over, err)
			v.unmount(dir)
			return nil, err
		}
		v.over = append(v.over, f.over)
	}
	// The bind mounts hold the file system; its first mount point goes.
	unix.Unmount(dir, unix.MNT_DETACH)
	return v, nil
}

// Close unmounts the view's files (the kernel's show again) and stops
// the server. A nil View (none mounted) has nothing to close.
func (v *View) Close() error {
	if v == nil {
		return nil
	}
	return v.unmount("")
}

func (v *View) unmount(dir string) error {
	var errs []error
	for _, p := range v.over {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("procfs: unmount %s: %w", p, err))
		}
	}
	v.over = nil
	if v.hostCPU >= 0 {
		unix.Close(v.hostCPU)
		v.hostCPU = -1
	}
	if dir != "" {
		unix.Unmount(dir, unix.MNT_DETACH)
	}
	// With its last mount gone (a reader may still hold a file open) the
	// kernel ends the connection, and the server's loop returns.
	return errors.Join(errs...)
}

// dirNode is the root of the FUSE tree: one file per covered file.
type dirNode struct {
	fs.Inode
	v *View
}

var _ fs.NodeOnAdder = (*dirNode)(nil)

func (d *dirNode) OnAdd(ctx context.Context) {
	for _, f := range files {
		ch := d.NewPersistentInode(ctx, &fileNode{v: d.v, f: f}, fs.StableAttr{Mode: syscall.S_IFREG})
		d.AddChild(f.name, ch, false)
	}
	if d.v.hostCPU >= 0 {
		ch := d.NewPersistentInode(ctx, &cpuDirNode{v: d.v, host: d.v.hostCPU}, fs.StableAttr{Mode: syscall.S_IFDIR})
		d.AddChild(cpuDirName, ch, false)
	}
}

// fileNode is one file of the view.
type fileNode struct {
	fs.Inode
	v *View
	f file
}

var (
	_ fs.NodeOpener    = (*fileNode)(nil)
	_ fs.NodeGetattrer = (*fileNode)(nil)
)

// Getattr: read-only for everyone; size 0 as the kernel's /proc files
// (readers read to the end).
func (n *fileNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o444
	out.Nlink = 1
	return 0
}

// Open renders the file for this open; reads are direct (never cached
// by the kernel), so every open sees the figures of its moment.
func (n *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EACCES
	}
	nodes, err := n.v.cfg.Cache.Figures(ctx)
	if err != nil {
		n.v.cfg.Log.Warn("cluster view: gather the nodes' figures", "file", n.f.over, "err", err)
		return nil, 0, syscall.EIO
	}
	return &handle{data: n.f.render(nodes)}, fuse.FOPEN_DIRECT_IO, 0
}

// handle is one open of a file: the bytes rendered at open.
type handle struct{ data []byte }

var _ fs.FileReader = (*handle)(nil)

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= int64(len(h.data)) {
		return fuse.ReadResultData(nil), 0
	}
	end := min(off+int64(len(dest)), int64(len(h.data)))
	return fuse.ReadResultData(h.data[off:end]), 0
}

// closeOnExecFuse marks this process's /dev/fuse descriptors close-on-exec:
// go-fuse opens the device without O_CLOEXEC, and every program the node
// spawns inherited it (a placed exec then stayed local: /dev/fuse is not
// carried). Found by device number: /proc may not be this process's yet.
func closeOnExecFuse() {
	fuseDev := unix.Mkdev(10, 229)
	for fd := 3; fd < 1024; fd++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == fuseDev {
			unix.CloseOnExec(fd)
		}
	}
}
