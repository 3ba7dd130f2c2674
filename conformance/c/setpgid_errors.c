/* setpgid errors: EINVAL (negative pgid), ESRCH (not self or a child),
 * EPERM (session leader; group in another session; nonexistent group),
 * EACCES (child that has already execve'd). */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	if (argc > 1 && strcmp(argv[1], "execd") == 0) {
		/* exec'd child: wait for the parent to try, then exit */
		gate_wait(0);
		return 0;
	}
	result("negative_pgid", setpgid(0, -1));
	result("negative_pid", setpgid(-1, 0));
	result("getpgid_negative", getpgid(-1));
	result("getpgid_nonexistent", getpgid(999999));
	result("setpgid_nonexistent_pid", setpgid(999999, 0));
	result("setpgid_init", setpgid(1, 1));
	result("setpgid_parent", setpgid(getppid(), getppid()));
	result("nonexistent_group", setpgid(0, 999999));

	int g[2];
	xpipe(g);
	/* a grandchild is not our child: ESRCH */
	int report[2];
	xpipe(report);
	pid_t c = xfork();
	if (c == 0) {
		close(g[1]);
		pid_t gc = xfork();
		if (gc == 0) {
			gate_wait(g[0]);
			_exit(0);
		}
		char buf[16];
		int n = snprintf(buf, sizeof buf, "%d\n", gc);
		write_all(report[1], buf, (size_t)n);
		gate_wait(g[0]);
		reap(gc);
		_exit(0);
	}
	char buf[16] = "";
	ssize_t n = read(report[0], buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	pid_t gc = atoi(buf);
	result("grandchild_esrch", setpgid(gc, gc));

	/* a session leader cannot change its group; a child in another
	 * session cannot be moved, nor can we join a group of another session */
	int s1[2], s2[2];
	xpipe(s1);
	xpipe(s2);
	pid_t leader = xfork();
	if (leader == 0) {
		close(g[1]);
		setsid();
		result("session_leader_setpgid_self", setpgid(0, 0));
		result("session_leader_setpgid_other", setpgid(0, getppid()));
		gate_open(s1[1]);
		gate_wait(g[0]);
		_exit(0);
	}
	gate_wait(s1[0]);
	result("move_child_in_other_session", setpgid(leader, getpgrp()));
	result("join_group_in_other_session", setpgid(0, leader));

	/* EACCES: the child has execve'd */
	int go[2];
	xpipe(go);
	pid_t e = xfork();
	if (e == 0) {
		dup2(go[0], 0);
		execl(argv0, argv0, "execd", (char *)NULL);
		_exit(127);
	}
	close(go[0]);
	/* setpgid succeeds until the child has exec'd; poll until EACCES */
	int r, tries = 0;
	for (;;) {
		r = setpgid(e, e);
		if (r < 0 && errno == EACCES)
			break;
		if (++tries > 20000) {
			say("execd_child", "never EACCES (last %s)", errname(errno));
			break;
		}
		msleep(1);
	}
	result("execd_child_setpgid", r);
	close(go[1]);
	say("execd_exit", "%s", wstatus(reap(e)));
	close(g[1]);
	reap(c);
	reap(leader);
	return 0;
}
