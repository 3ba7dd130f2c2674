package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"herd/launch"
	"herd/procview"
)

// The node processes of herd cluster up: started in the background,
// found again by their pid files, stopped by herd cluster down.

// start starts herd node for n<i> in the background: its own session,
// stdio to its log.
func (lc *localCluster) start(i int, extra []string) error {
	ndir := lc.nodeDir(i)
	// World-searchable so that every user reaches the socket; the
	// secrets below it are in 0700 directories and 0600 files.
	if err := os.MkdirAll(ndir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(ndir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(ndir, clusterListenFile), []byte(lc.addrs[i]+"\n"), 0o600); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(ndir, clusterLogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := append([]string{"herd", "node", "--data-dir", ndir, "--listen", lc.addrs[i], "--name", fmt.Sprintf("n%d", i),
		"--socket", lc.sock(i)}, append(lc.own[i], extra...)...)
	cmd := &exec.Cmd{Path: lc.exe, Args: args, Stdout: logf, Stderr: logf,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if err := lc.startCmd(i, cmd); err != nil {
		return fmt.Errorf("start n%d: %w", i, err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	return os.WriteFile(filepath.Join(ndir, clusterPIDFile), []byte(strconv.Itoa(pid)+"\n"), 0o600)
}

// startCmd starts node i's process, in its network namespace with
// --netns.
func (lc *localCluster) startCmd(i int, cmd *exec.Cmd) error {
	if lc.net == nil {
		return cmd.Start()
	}
	if err := lc.writeLink(i); err != nil {
		return err
	}
	return lc.net.Start(i, cmd)
}

// checkStarted fails if node i has died or the deadline has passed,
// quoting the end of its log.
func (lc *localCluster) checkStarted(i int) error {
	ndir := lc.nodeDir(i)
	// Not nodeRunning: right after the fork the child's command line is
	// still ours. It is our child, so its pid cannot have been recycled.
	pid := readPIDFile(ndir)
	alive := pid > 0 && processAlive(pid)
	if alive && time.Now().Before(lc.deadline) {
		return nil
	}
	why := "did not start in time"
	if !alive {
		why = "exited"
	}
	log, _ := os.ReadFile(filepath.Join(ndir, clusterLogFile))
	if len(log) > 2000 {
		log = log[len(log)-2000:]
	}
	return fmt.Errorf("herd cluster up: n%d %s; the end of %s:\n%s", i, why, filepath.Join(ndir, clusterLogFile), bytes.TrimSpace(log))
}

func nodeAnswers(sock string) bool {
	fd, err := launch.Dial(sock)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// nodeRunning reads n<i>'s pid file and checks that the process is a live
// herd node (not a zombie, not a recycled pid).
func nodeRunning(ndir string) (int, bool) {
	pid := readPIDFile(ndir)
	if pid <= 0 {
		return 0, false
	}
	return pid, isLiveNode(pid)
}

// readPIDFile is the pid start wrote for the node of ndir, 0 if none.
func readPIDFile(ndir string) int {
	b, _ := os.ReadFile(filepath.Join(ndir, clusterPIDFile))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func isLiveNode(pid int) bool {
	args, err := procview.ReadCmdline(pid)
	if err != nil || len(args) < 2 || !slices.Contains(args[1:], "node") {
		return false
	}
	return processAlive(pid)
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	st, err := procview.ReadStat(pid)
	return err == nil && st.State != 'Z'
}

func clusterDown(c *cli.Context) error {
	dir, err := filepath.Abs(c.String("dir"))
	if err != nil {
		return err
	}
	ndirs, err := nodeDirs(dir)
	if nt, _ := loadNet(dir); err != nil && nt == nil {
		return cli.Exit("herd cluster down: "+err.Error(), 1)
	}
	// The network goes after the nodes, also when some had to be killed.
	return errors.Join(stopNodeDirs(ndirs, 20*time.Second), removeNet(dir))
}

// nodeDirs are the node directories of the cluster in dir; a dir that is
// not one of herd cluster up is an error.
func nodeDirs(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s does not exist", dir)
	case err != nil:
		return nil, err
	case !st.IsDir():
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	all, _ := filepath.Glob(filepath.Join(dir, "n*"))
	var ndirs []string
	for _, nd := range all {
		if _, err := os.Stat(filepath.Join(nd, clusterListenFile)); err == nil {
			ndirs = append(ndirs, nd)
		}
	}
	if len(ndirs) == 0 {
		return nil, fmt.Errorf("%s holds no nodes of herd cluster up", dir)
	}
	return ndirs, nil
}

// stopNodes stops the nodes of dir, if any.
func stopNodes(dir string, grace time.Duration) error {
	ndirs, _ := filepath.Glob(filepath.Join(dir, "n*"))
	return stopNodeDirs(ndirs, grace)
}

// stopNodeDirs sends SIGTERM to every node of ndirs, waits up to grace
// for them to exit, then kills what is left (the whole process group: the
// herd node process and its daemon).
func stopNodeDirs(ndirs []string, grace time.Duration) error {
	var pids []int
	for _, nd := range ndirs {
		if pid, ok := nodeRunning(nd); ok {
			unix.Kill(pid, unix.SIGTERM)
			pids = append(pids, pid)
		}
	}
	deadline := time.Now().Add(grace)
	var stuck []int
	for _, pid := range pids {
		for isLiveNode(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if isLiveNode(pid) {
			unix.Kill(-pid, unix.SIGKILL)
			stuck = append(stuck, pid)
		}
	}
	for _, nd := range ndirs {
		os.Remove(filepath.Join(nd, clusterPIDFile))
		os.Remove(filepath.Join(nd, clusterSockFile))
	}
	if len(stuck) > 0 {
		return fmt.Errorf("herd cluster down: killed %v after %v without exiting", stuck, grace)
	}
	return nil
}
