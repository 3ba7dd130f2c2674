/* With SA_RESTART a blocked waitpid/wait4/waitid/read is restarted after
 * the handler and returns the real result; pause and sigsuspend still fail
 * with EINTR; an ignored signal interrupts nothing. The child sends a
 * bounded burst of signals and then exits, so the outcome does not depend
 * on when the signals land. */
#include "common.h"

static volatile sig_atomic_t hits;
static void on_usr1(int s) { (void)s; hits++; }

static pid_t burst_then_exit(int sig, int code)
{
	pid_t parent = getpid();
	pid_t c = xfork();
	if (c == 0) {
		for (int i = 0; i < 10; i++) {
			kill(parent, sig);
			msleep(3);
		}
		_exit(code);
	}
	return c;
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	sigaction_simple(SIGUSR1, on_usr1, SA_RESTART);
	int st;
	siginfo_t si;

	pid_t c = burst_then_exit(SIGUSR1, 1);
	pidmatch("waitpid", waitpid(c, &st, 0), c);
	say("waitpid_status", "%s", wstatus(st));

	c = burst_then_exit(SIGUSR1, 2);
	pidmatch("wait4", wait4(c, &st, 0, NULL), c);
	say("wait4_status", "%s", wstatus(st));

	c = burst_then_exit(SIGUSR1, 3);
	memset(&si, 0, sizeof si);
	result("waitid", waitid(P_PID, (id_t)c, &si, WEXITED));
	say("waitid_status", "%d", si.si_status);

	/* a read restarted: the child writes after its burst */
	int p[2];
	xpipe(p);
	pid_t parent = getpid();
	c = xfork();
	if (c == 0) {
		for (int i = 0; i < 10; i++) {
			kill(parent, SIGUSR1);
			msleep(3);
		}
		write_all(p[1], "z", 1);
		_exit(0);
	}
	char b = 0;
	result("read_restarted", read(p[0], &b, 1));
	say("read_byte", "%c", b);
	reap(c);

	/* pause is never restarted */
	c = xfork();
	if (c == 0) {
		for (;;) {
			kill(parent, SIGUSR1);
			msleep(2);
		}
	}
	result("pause", pause());
	kill(c, SIGKILL);
	reap(c);

	/* an ignored signal does not interrupt a wait */
	signal(SIGUSR2, SIG_IGN);
	c = burst_then_exit(SIGUSR2, 4);
	pidmatch("ignored_signal_waitpid", waitpid(c, &st, 0), c);
	say("ignored_signal_status", "%s", wstatus(st));
	/* nor does a signal whose default action is to ignore it */
	c = burst_then_exit(SIGWINCH, 5);
	pidmatch("default_ignored_waitpid", waitpid(c, &st, 0), c);
	say("default_ignored_status", "%s", wstatus(st));
	say("handler_ran", "%s", yesno(hits > 0));
	return 0;
}
