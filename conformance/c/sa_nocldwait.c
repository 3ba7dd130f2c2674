/* SA_NOCLDWAIT: children are reaped automatically; a wait blocks until
 * all children are gone, then fails with ECHILD. SIGCHLD is still sent. */
#include "common.h"

static volatile sig_atomic_t got;
static void on_chld(int s) { (void)s; got = 1; }

int main(int argc, char **argv)
{
	setup(argc, argv);
	sigaction_simple(SIGCHLD, on_chld, SA_NOCLDWAIT);
	block(SIGCHLD);
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		kids[i] = xfork();
		if (kids[i] == 0)
			_exit(i);
	}
	int st;
	result("wait_blocks_then_echild", wait(&st));
	for (int i = 0; i < 3; i++) {
		char n[32];
		snprintf(n, sizeof n, "kill0_after_autoreap_%d", i);
		result(n, kill(kids[i], 0));
	}
	wait_for_flag(&got, SIGCHLD);
	say("sigchld_still_sent", "%s", yesno(got));
	result("waitpid_specific", waitpid(kids[0], &st, 0));
	siginfo_t si;
	result("waitid_all", waitid(P_ALL, 0, &si, WEXITED));
	/* the flag is not inherited across exec as a disposition? it belongs to
	 * the handler: after restoring SIG_DFL, children become zombies again */
	sigaction_simple(SIGCHLD, SIG_DFL, 0);
	pid_t c = xfork();
	if (c == 0)
		_exit(8);
	pidmatch("after_reset_waitpid", waitpid(c, &st, 0), c);
	say("after_reset_status", "%s", wstatus(st));
	/* SA_NOCLDWAIT with SIG_DFL handler also auto-reaps */
	sigaction_simple(SIGCHLD, SIG_DFL, SA_NOCLDWAIT);
	c = xfork();
	if (c == 0)
		_exit(9);
	result("dfl_nocldwait_wait", waitpid(c, &st, 0));
	/* stopped children are still reported with SA_NOCLDWAIT */
	c = xfork();
	if (c == 0) {
		raise(SIGSTOP);
		_exit(10);
	}
	pidmatch("nocldwait_stop_reported", waitpid(c, &st, WUNTRACED), c);
	say("nocldwait_stop_status", "%s", wstatus(st));
	kill(c, SIGKILL);
	result("nocldwait_killed_wait", waitpid(c, &st, 0));
	return 0;
}
