/* setpgid/getpgid/getpgrp: a child makes its own group, the parent moves
 * a child into a group, a sibling joins an existing group; inheritance
 * across fork. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	pid_t me = getpid();
	/* herd run, like a shell, gives the program its own process group */
	say("top_is_group_leader", "%s", yesno(getpgrp() == me));
	pidmatch("getpgid_0_is_getpgrp", getpgid(0), getpgrp());
	pidmatch("getpgid_self_is_getpgrp", getpgid(me), getpgrp());
	result("setpgid_self_noop", setpgid(0, 0));

	int g[2], ready[2];
	xpipe(g);
	xpipe(ready);
	pid_t a = xfork();
	if (a == 0) {
		close(g[1]);
		pidmatch("child_inherits_pgrp", getpgrp(), me);
		result("child_setpgid_0_0", setpgid(0, 0));
		pidmatch("child_pgrp_is_self", getpgrp(), getpid());
		gate_open(ready[1]);
		gate_wait(g[0]);
		_exit(0);
	}
	gate_wait(ready[0]);
	pidmatch("parent_getpgid_child", getpgid(a), a);
	pid_t b = xfork();
	if (b == 0) {
		close(g[1]);
		gate_wait(g[0]);
		_exit(0);
	}
	result("parent_moves_b_into_a", setpgid(b, a));
	pidmatch("b_pgid", getpgid(b), a);
	result("parent_moves_b_back", setpgid(b, me));
	pidmatch("b_pgid_back", getpgid(b), me);
	result("parent_moves_b_own", setpgid(b, 0));
	pidmatch("b_pgid_own", getpgid(b), b);
	/* grandchild inherits the new group */
	pid_t c = xfork();
	if (c == 0) {
		close(g[1]);
		setpgid(0, a);
		pid_t gc = xfork();
		if (gc == 0) {
			pidmatch("grandchild_pgid", getpgrp(), a);
			_exit(0);
		}
		reap(gc);
		_exit(0);
	}
	setpgid(c, a);
	say("c", "%s", wstatus(reap(c)));
	close(g[1]);
	say("a", "%s", wstatus(reap(a)));
	/* the group a still exists while b... b is in its own group now */
	say("b", "%s", wstatus(reap(b)));
	/* zombie keeps its group id */
	pid_t z = xfork();
	if (z == 0) {
		setpgid(0, 0);
		_exit(0);
	}
	setpgid(z, z);
	siginfo_t si;
	waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT);
	pidmatch("zombie_getpgid", getpgid(z), z);
	reap(z);
	result("reaped_getpgid", getpgid(z));
	return 0;
}
