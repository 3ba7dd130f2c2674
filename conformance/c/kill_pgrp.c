/* kill(-pgid) and killpg(): every member of a group, members of other
 * groups untouched; ESRCH for an empty group; EINVAL for bad signals. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	int g[2], ready[2];
	xpipe(g);
	xpipe(ready);
	pid_t leader = 0, kids[4];
	for (int i = 0; i < 4; i++) {
		kids[i] = xfork();
		if (kids[i] == 0) {
			close(g[1]);
			/* three in a new group, the fourth in our group */
			if (i < 3)
				setpgid(0, i == 0 ? 0 : leader);
			gate_open(ready[1]);
			gate_wait(g[0]);
			_exit(i);
		}
		if (i == 0)
			leader = kids[0];
		if (i < 3)
			setpgid(kids[i], leader);
		gate_wait(ready[0]);
	}
	result("kill_group_0", kill(-leader, 0));
	result("kill_group_term", kill(-leader, SIGTERM));
	for (int i = 0; i < 3; i++) {
		char n[32];
		snprintf(n, sizeof n, "member_%d", i);
		say(n, "%s", wstatus(reap(kids[i])));
	}
	result("outsider_still_running", waitpid(kids[3], NULL, WNOHANG));
	result("kill_empty_group", kill(-leader, 0));
	result("killpg_empty_group", killpg(leader, SIGTERM));
	result("killpg_bad_sig", killpg(getpgrp(), 99));
	result("killpg_negative", killpg(-1, SIGTERM));
	/* a group whose leader has exited still exists while members live */
	pid_t l2 = xfork();
	if (l2 == 0) {
		setpgid(0, 0);
		_exit(0);
	}
	setpgid(l2, l2);
	pid_t m2 = xfork();
	if (m2 == 0) {
		close(g[1]);
		setpgid(0, l2);
		gate_wait(g[0]);
		_exit(9);
	}
	setpgid(m2, l2);
	reap(l2);
	result("group_of_dead_leader_kill0", kill(-l2, 0));
	result("killpg_group_of_dead_leader", killpg(l2, SIGKILL));
	say("member_of_dead_leader", "%s", wstatus(reap(m2)));
	close(g[1]);
	say("outsider", "%s", wstatus(reap(kids[3])));
	return 0;
}
