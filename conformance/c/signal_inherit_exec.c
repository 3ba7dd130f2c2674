/* Signal state across fork and exec: fork inherits mask and dispositions
 * but not pending signals; exec keeps mask, ignored dispositions and
 * pending signals, and resets handled signals to SIG_DFL. */
#include "common.h"

static void on_usr1(int s) { (void)s; }

static const char *disp(int sig)
{
	struct sigaction sa;
	sigaction(sig, NULL, &sa);
	if (sa.sa_handler == SIG_DFL)
		return "SIG_DFL";
	if (sa.sa_handler == SIG_IGN)
		return "SIG_IGN";
	return "handler";
}

static void show(const char *who)
{
	sigset_t m, p;
	sigprocmask(SIG_SETMASK, NULL, &m);
	sigpending(&p);
	printf("%s: usr1=%s usr2=%s term=%s blocked_hup=%s pending_hup=%s pending_usr2=%s\n", who,
	       disp(SIGUSR1), disp(SIGUSR2), disp(SIGTERM), yesno(sigismember(&m, SIGHUP)),
	       yesno(sigismember(&p, SIGHUP)), yesno(sigismember(&p, SIGUSR2)));
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	if (argc > 1) {
		show(argv[1]);
		return 0;
	}
	sigaction_simple(SIGUSR1, on_usr1, 0);
	signal(SIGTERM, SIG_IGN);
	block(SIGHUP);
	raise(SIGHUP); /* pending, blocked */
	show("parent");
	pid_t c = xfork();
	if (c == 0) {
		show("forked");
		execl(argv0, argv0, "forked_then_exec", (char *)NULL);
		_exit(127);
	}
	reap(c);
	/* pending across exec: raise in the child before exec */
	c = xfork();
	if (c == 0) {
		raise(SIGHUP);
		execl(argv0, argv0, "exec_with_pending", (char *)NULL);
		_exit(127);
	}
	reap(c);
	/* a blocked, ignored signal is discarded when generated? No: blocked
	 * ignored signals stay pending on Linux */
	signal(SIGUSR2, SIG_IGN);
	block(SIGUSR2);
	raise(SIGUSR2);
	show("parent_ignored_blocked_usr2");
	return 0;
}
