package syscalls

import (
	"slices"
	"testing"
)

func TestCreatorsFollowThreadsAndForget(t *testing.T) {
	c := newCreators()
	c.set(5001, 5000) // thread 5000 made 5001 and 5002
	c.set(5002, 5000)
	c.set(5003, 4999) // the leader made 5003
	if got := c.children(5000); !slices.Equal(sorted(got), []int{5001, 5002}) {
		t.Fatalf("children of 5000: %v", got)
	}
	// Thread 5000 exits: its children pass to the leader.
	for _, child := range c.children(5000) {
		c.set(child, 4999)
	}
	if got := c.children(5000); len(got) != 0 || len(c.made) != 1 {
		t.Fatalf("after the thread's exit: children %v, index %v", got, c.made)
	}
	if c.of[5001] != 4999 || !slices.Equal(sorted(c.children(4999)), []int{5001, 5002, 5003}) {
		t.Fatalf("leader's children: %v", c.children(4999))
	}
	// Reaped or reparented children are forgotten, and so is an empty
	// maker.
	for _, child := range []int{5001, 5002, 5003, 5003} {
		c.drop(child)
	}
	if len(c.of) != 0 || len(c.made) != 0 {
		t.Fatalf("not empty after dropping all: %v %v", c.of, c.made)
	}
}

func sorted(xs []int) []int {
	slices.Sort(xs)
	return xs
}
