/* PR_SET_CHILD_SUBREAPER: an orphaned grandchild is reparented to the
 * subreaper (not pid 1), which can then wait for it and gets SIGCHLD. */
#include "common.h"

static volatile sig_atomic_t chld;
static void on_chld(int s) { (void)s; chld++; }

int main(int argc, char **argv)
{
	setup(argc, argv);
	int v = -1;
	result("get_subreaper_initial", prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0));
	say("subreaper_initial", "%d", v);
	result("set_subreaper", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
	result("get_subreaper", prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0));
	say("subreaper", "%d", v);
	sigaction_simple(SIGCHLD, on_chld, 0);
	block(SIGCHLD);

	pid_t me = getpid();
	int out[2], ready[2], go[2];
	xpipe(out);
	xpipe(ready);
	xpipe(go);
	pid_t mid = xfork();
	if (mid == 0) {
		int cv = -1;
		prctl(PR_GET_CHILD_SUBREAPER, &cv, 0, 0, 0);
		fdsay(out[1], "child_subreaper_inherited", "%d", cv);
		pid_t parent = getpid();
		pid_t g = xfork();
		if (g == 0) {
			fdsay(out[1], "orphan_ppid_before", "%s", getppid() == parent ? "parent" : "other");
			gate_open(ready[1]);
			while (getppid() == parent)
				msleep(1);
			pid_t pp = getppid();
			fdsay(out[1], "orphan_ppid_is_subreaper", "%s", yesno(pp == me));
			fdsay(out[1], "orphan_ppid_is_1", "%s", yesno(pp == 1));
			/* report our pid so the subreaper can compare what wait returns */
			fdsay(out[1], "orphan", "pid=%d", getpid());
			close(out[1]);
			gate_wait(go[0]);
			_exit(5);
		}
		gate_wait(ready[0]);
		_exit(7);
	}
	close(out[1]);
	close(ready[1]);
	close(go[0]);
	say("middle", "%s", wstatus(reap(mid)));
	chld = 0;
	/* read the orphan's report up to EOF on its copy of out[1]; the
	 * middle's copy closed when it exited */
	relay(out[0]);
	unblock(SIGCHLD);
	block(SIGCHLD);
	chld = 0;
	gate_open(go[1]);
	int st;
	pid_t r = waitpid(-1, &st, 0);
	if (r > 0)
		printf("reaped: pid=%d %s\n", r, wstatus(st));
	else
		result("reaped", r);
	wait_for_flag(&chld, SIGCHLD);
	say("sigchld_from_orphan", "%s", yesno(chld > 0));
	result("waitpid_none_left", waitpid(-1, NULL, WNOHANG));
	return 0;
}
