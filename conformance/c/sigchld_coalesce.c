/* SIGCHLD is a standard signal: five children exiting while it is blocked
 * give one handler call; a handler that loops on waitpid(WNOHANG) reaps
 * them all. */
#include "common.h"

static volatile sig_atomic_t calls, reaped;
static void on_chld(int s)
{
	(void)s;
	int e = errno;
	calls++;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		reaped++;
	errno = e;
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	sigaction_simple(SIGCHLD, on_chld, 0);
	block(SIGCHLD);
	pid_t kids[5];
	for (int i = 0; i < 5; i++) {
		kids[i] = xfork();
		if (kids[i] == 0)
			_exit(i);
	}
	siginfo_t si;
	for (int i = 0; i < 5; i++)
		waitid(P_PID, (id_t)kids[i], &si, WEXITED | WNOWAIT);
	sigset_t p;
	sigpending(&p);
	say("pending", "%s", yesno(sigismember(&p, SIGCHLD)));
	unblock(SIGCHLD);
	say("handler_calls", "%d", (int)calls);
	say("reaped_in_handler", "%d", (int)reaped);
	result("none_left", waitpid(-1, NULL, WNOHANG));
	/* unblocked: one call per child exit as each is waited for in turn */
	calls = reaped = 0;
	for (int i = 0; i < 3; i++) {
		block(SIGCHLD);
		pid_t c = xfork();
		if (c == 0)
			_exit(0);
		waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);
		unblock(SIGCHLD);
	}
	say("sequential_calls", "%d", (int)calls);
	say("sequential_reaped", "%d", (int)reaped);
	return 0;
}
