/* PR_SET_PDEATHSIG: the child gets the signal when its parent dies
 * (handled, or fatal SIGKILL seen by a subreaper); PR_GET_PDEATHSIG; the
 * setting is cleared in a forked child, kept across exec; EINVAL for a bad
 * signal. */
#include "common.h"

static volatile sig_atomic_t got;
static void on_usr1(int s) { (void)s; got = 1; }

int main(int argc, char **argv)
{
	setup(argc, argv);
	if (argc > 1 && strcmp(argv[1], "execd") == 0) {
		int v = -1;
		prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0);
		say("after_exec_pdeathsig", "%s", signame(v));
		return 0;
	}
	int v = -1;
	result("get_initial", prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0));
	say("initial", "%s", signame(v));
	result("set_bad_signal", prctl(PR_SET_PDEATHSIG, 65, 0, 0, 0));
	result("set_negative", prctl(PR_SET_PDEATHSIG, -1, 0, 0, 0));
	result("set_usr2", prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0));
	prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0);
	say("after_set", "%s", signame(v));
	pid_t c = xfork();
	if (c == 0) {
		int cv = -1;
		prctl(PR_GET_PDEATHSIG, &cv, 0, 0, 0);
		say("forked_child_pdeathsig", "%s", signame(cv));
		_exit(0);
	}
	reap(c);
	c = xfork();
	if (c == 0) {
		prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0);
		execl(argv0, argv0, "execd", (char *)NULL);
		_exit(127);
	}
	reap(c);
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);

	/* handled: grandchild with SIGUSR1 as death signal reports through a
	 * pipe when the middle process exits */
	int out[2], ready[2];
	xpipe(out);
	xpipe(ready);
	pid_t mid = xfork();
	if (mid == 0) {
		pid_t g = xfork();
		if (g == 0) {
			sigaction_simple(SIGUSR1, on_usr1, 0);
			block(SIGUSR1);
			prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
			gate_open(ready[1]);
			wait_for_flag(&got, SIGUSR1);
			fdsay(out[1], "grandchild_got_pdeathsig", "SIGUSR1");
			fdsay(out[1], "grandchild_new_parent_is_1", "%s", yesno(getppid() == 1));
			_exit(0);
		}
		gate_wait(ready[0]);
		_exit(0);
	}
	close(out[1]);
	reap(mid);
	relay(out[0]);
	close(out[0]);

	/* fatal: as subreaper we reap the grandchild killed by SIGKILL */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	mid = xfork();
	if (mid == 0) {
		pid_t g = xfork();
		if (g == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			gate_open(ready[1]);
			for (;;)
				pause();
		}
		gate_wait(ready[0]);
		_exit(0);
	}
	reap(mid);
	int st;
	pid_t r;
	do
		r = waitpid(-1, &st, 0);
	while (r < 0 && errno == EINTR);
	say("orphan_killed_by_pdeathsig", "%s", r > 0 ? wstatus(st) : errname(errno));
	return 0;
}
