package syscalls

// creators records which thread made each child process. Linux's real
// parent is a thread: __WNOTHREAD waits only for the calling thread's
// children, and a parent-death signal fires when the creating thread
// exits. It is indexed both ways so that a thread's exit and a process's
// exit touch only their own children, never the whole table.
type creators struct {
	of   map[int]int          // child PID -> creating TID
	made map[int]map[int]bool // TID -> child PIDs
}

func newCreators() creators {
	return creators{of: make(map[int]int), made: make(map[int]map[int]bool)}
}

// set records that thread tid made (or now stands for the maker of) child.
func (c *creators) set(child, tid int) {
	c.drop(child)
	c.of[child] = tid
	if c.made[tid] == nil {
		c.made[tid] = make(map[int]bool)
	}
	c.made[tid][child] = true
}

// drop forgets child (reaped, or reparented away from its maker's process).
func (c *creators) drop(child int) {
	tid, ok := c.of[child]
	if !ok {
		return
	}
	delete(c.of, child)
	delete(c.made[tid], child)
	if len(c.made[tid]) == 0 {
		delete(c.made, tid)
	}
}

// children are the children thread tid made.
func (c *creators) children(tid int) []int {
	out := make([]int, 0, len(c.made[tid]))
	for child := range c.made[tid] {
		out = append(out, child)
	}
	return out
}
