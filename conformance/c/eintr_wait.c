/* A handler without SA_RESTART interrupts a blocked waitpid, wait4, waitid,
 * pause and sigsuspend with EINTR. The child keeps signalling the parent
 * until the parent has its EINTR, so no timing decides the outcome. */
#include "common.h"

static volatile sig_atomic_t hits;
static void on_usr1(int s) { (void)s; hits++; }

/* pester starts a child that sends SIGUSR1 to us every 2 ms forever. */
static pid_t pester(void)
{
	pid_t parent = getpid();
	pid_t c = xfork();
	if (c == 0) {
		for (;;) {
			kill(parent, SIGUSR1);
			msleep(2);
		}
	}
	return c;
}

static void finish(pid_t c)
{
	kill(c, SIGKILL);
	reap(c);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	sigaction_simple(SIGUSR1, on_usr1, 0); /* no SA_RESTART */
	int st;
	siginfo_t si;

	pid_t c = pester();
	result("waitpid", waitpid(c, &st, 0));
	finish(c);

	c = pester();
	result("wait4", wait4(c, &st, 0, NULL));
	finish(c);

	c = pester();
	result("waitid", waitid(P_PID, (id_t)c, &si, WEXITED));
	finish(c);

	c = pester();
	result("wait_any", wait(&st));
	finish(c);

	c = pester();
	result("pause", pause());
	finish(c);

	block(SIGUSR1);
	c = pester();
	sigset_t empty;
	sigemptyset(&empty);
	result("sigsuspend", sigsuspend(&empty));
	finish(c);
	unblock(SIGUSR1);

	/* a pipe read is interrupted too */
	int p[2];
	xpipe(p);
	c = pester();
	char b;
	result("read_pipe", read(p[0], &b, 1));
	finish(c);

	/* an interrupted wait did not reap anything: the pester is reaped above,
	 * none left */
	result("none_left", waitpid(-1, &st, WNOHANG));
	say("handler_ran", "%s", yesno(hits > 0));
	return 0;
}
