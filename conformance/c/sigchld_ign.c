/* SIGCHLD set to SIG_IGN: children are reaped automatically (wait ->
 * ECHILD), no SIGCHLD is queued; the SIG_IGN disposition survives exec,
 * and resetting to SIG_DFL makes children waitable again. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	if (argc > 1 && strcmp(argv[1], "exec") == 0) {
		struct sigaction sa;
		sigaction(SIGCHLD, NULL, &sa);
		say("after_exec_sigchld_ignored", "%s", yesno(sa.sa_handler == SIG_IGN));
		pid_t c = xfork();
		if (c == 0)
			_exit(1);
		result("after_exec_wait", wait(NULL));
		return 0;
	}
	signal(SIGCHLD, SIG_IGN);
	block(SIGCHLD);
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		kids[i] = xfork();
		if (kids[i] == 0)
			_exit(i + 1);
	}
	int st;
	result("wait_echild", wait(&st));
	result("waitpid_pid_echild", waitpid(kids[1], &st, 0));
	result("kill0_gone", kill(kids[2], 0));
	sigset_t pend;
	sigpending(&pend);
	say("sigchld_pending", "%s", yesno(sigismember(&pend, SIGCHLD)));
	unblock(SIGCHLD);

	pid_t c = xfork();
	if (c == 0) {
		execl(argv0, argv0, "exec", (char *)NULL);
		_exit(127);
	}
	result("exec_child_wait", waitpid(c, &st, 0));

	signal(SIGCHLD, SIG_DFL);
	c = xfork();
	if (c == 0)
		_exit(6);
	pidmatch("dfl_waitpid", waitpid(c, &st, 0), c);
	say("dfl_status", "%s", wstatus(st));
	/* an ignored SIGCHLD still lets stopped children be reported */
	signal(SIGCHLD, SIG_IGN);
	c = xfork();
	if (c == 0) {
		raise(SIGSTOP);
		_exit(7);
	}
	pidmatch("ign_stop_reported", waitpid(c, &st, WUNTRACED), c);
	say("ign_stop_status", "%s", wstatus(st));
	kill(c, SIGCONT);
	result("ign_exit_wait", waitpid(c, &st, 0));
	return 0;
}
