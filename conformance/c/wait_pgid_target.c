/* waitpid(-pgid) and waitpid(0) select children by their process group at
 * the time of the wait: a child that moved to another group is found by
 * the new group, not the old one. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	int g[2], ready[2];
	xpipe(g);
	xpipe(ready);
	pid_t a = xfork();
	if (a == 0) {
		close(g[1]);
		setpgid(0, 0);
		gate_wait(g[0]);
		_exit(1);
	}
	setpgid(a, a);
	pid_t b = xfork(); /* stays in our group */
	if (b == 0) {
		close(g[1]);
		gate_wait(g[0]);
		_exit(2);
	}
	int st;
	result("wait0_nothing_ready", waitpid(0, &st, WNOHANG));
	result("wait_minus_pgid_nothing_ready", waitpid(-a, &st, WNOHANG));
	result("wait_minus_empty_group", waitpid(-999999, &st, WNOHANG));
	/* move b into a's group, then let both exit */
	result("move_b", setpgid(b, a));
	close(g[1]);
	siginfo_t si;
	waitid(P_PID, (id_t)a, &si, WEXITED | WNOWAIT);
	waitid(P_PID, (id_t)b, &si, WEXITED | WNOWAIT);
	result("wait0_after_move", waitpid(0, &st, WNOHANG));
	int sum = 0;
	for (int i = 0; i < 2; i++) {
		pid_t r = waitpid(-a, &st, 0);
		if (r == a || r == b)
			sum += WEXITSTATUS(st);
	}
	say("wait_minus_pgid_sum", "%d", sum);
	result("wait_minus_pgid_empty", waitpid(-a, &st, WNOHANG));
	/* a zombie's group still counts after the group's leader is reaped */
	pid_t l = xfork();
	if (l == 0) {
		setpgid(0, 0);
		_exit(0);
	}
	setpgid(l, l);
	int h[2];
	xpipe(h);
	pid_t m = xfork();
	if (m == 0) {
		close(h[1]);
		setpgid(0, l);
		gate_wait(h[0]);
		_exit(3);
	}
	setpgid(m, l);
	pidmatch("reap_leader", waitpid(l, &st, 0), l);
	close(h[1]);
	pidmatch("wait_group_of_reaped_leader", waitpid(-l, &st, 0), m);
	say("member_status", "%s", wstatus(st));
	return 0;
}
