/* setsid/getsid: a child's new session and group, EPERM for a group
 * leader, getsid of others and ESRCH; inheritance across fork and exec. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	if (argc > 1 && strcmp(argv[1], "execd") == 0) {
		pidmatch("execd_sid_kept", getsid(0), atoi(argv[2]));
		pidmatch("execd_pgrp_kept", getpgrp(), atoi(argv[2]));
		return 0;
	}
	pid_t me = getpid();
	/* started like a shell job: a group leader, not a session leader */
	say("top_is_session_leader", "%s", yesno(getsid(0) == me));
	result("top_setsid_as_group_leader", setsid());
	pidmatch("getsid_0_is_getsid_self", getsid(0), getsid(me));
	pidmatch("getsid_parent_same_session", getsid(getppid()), getsid(0));
	result("getsid_nonexistent", getsid(999999));
	result("getsid_negative", getsid(-1));

	int ready[2], g[2];
	xpipe(ready);
	xpipe(g);
	pid_t c = xfork();
	if (c == 0) {
		close(g[1]);
		pid_t sid = setsid();
		pidmatch("child_setsid_returns_pid", sid, getpid());
		pidmatch("child_getsid", getsid(0), getpid());
		pidmatch("child_getpgrp", getpgrp(), getpid());
		result("child_setsid_again", setsid());
		pidmatch("child_getsid_parent_old_session", getsid(getppid()), getsid(me));
		pid_t gc = xfork();
		if (gc == 0) {
			pidmatch("grandchild_inherits_sid", getsid(0), sid);
			pidmatch("grandchild_inherits_pgrp", getpgrp(), sid);
			/* a non-leader of the new session may start its own */
			pidmatch("grandchild_setsid", setsid(), getpid());
			_exit(0);
		}
		reap(gc);
		pid_t ec = xfork();
		if (ec == 0) {
			char s[32];
			snprintf(s, sizeof s, "%d", sid);
			execl(argv0, argv0, "execd", s, (char *)NULL);
			_exit(127);
		}
		reap(ec);
		gate_open(ready[1]);
		gate_wait(g[0]);
		_exit(0);
	}
	gate_wait(ready[0]);
	pidmatch("parent_getsid_child", getsid(c), c);
	pidmatch("parent_getpgid_child", getpgid(c), c);
	close(g[1]);
	say("child", "%s", wstatus(reap(c)));
	/* a child that is not a group leader can setsid even after moving
	 * groups; one that is a group leader (setpgid(0,0)) cannot */
	c = xfork();
	if (c == 0) {
		setpgid(0, 0);
		result("group_leader_child_setsid", setsid());
		_exit(0);
	}
	reap(c);
	return 0;
}
