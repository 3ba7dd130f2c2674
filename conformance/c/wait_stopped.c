/* WUNTRACED/WCONTINUED with waitpid: a child stopping itself with SIGSTOP
 * and SIGTSTP, continued by the parent; a stop is reported once. The child
 * moves to its own process group, whose parent (us) is in another group of
 * the same session, so the group is not orphaned and SIGTSTP does stop it. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	static const int stops[] = { SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU };
	for (unsigned i = 0; i < sizeof stops / sizeof stops[0]; i++) {
		int sig = stops[i];
		char name[64];
		int hold[2];
		xpipe(hold);
		pid_t c = xfork();
		if (c == 0) {
			setpgid(0, 0);
			raise(sig);
			/* stay alive until the continue has been reported: an exit
			 * would be reported instead */
			close(hold[1]);
			gate_wait(hold[0]);
			_exit(20 + (int)i);
		}
		close(hold[0]);
		setpgid(c, c);
		int st;
		snprintf(name, sizeof name, "%s_stop", signame(sig));
		pidmatch(name, waitpid(c, &st, WUNTRACED), c);
		say(name, "%s", wstatus(st));
		/* reported once: a second WUNTRACED|WNOHANG sees nothing */
		snprintf(name, sizeof name, "%s_stop_again", signame(sig));
		result(name, waitpid(c, &st, WUNTRACED | WNOHANG));
		/* a plain wait does not report stops */
		snprintf(name, sizeof name, "%s_plain_wnohang", signame(sig));
		result(name, waitpid(c, &st, WNOHANG));
		kill(c, SIGCONT);
		snprintf(name, sizeof name, "%s_continued", signame(sig));
		pidmatch(name, waitpid(c, &st, WCONTINUED), c);
		say(name, "%s raw=0x%x", wstatus(st), st);
		close(hold[1]);
		snprintf(name, sizeof name, "%s_exit", signame(sig));
		say(name, "%s", wstatus(reap(c)));
	}
	/* stopped by the parent with kill(SIGSTOP), killed while stopped */
	int g[2];
	xpipe(g);
	pid_t c = xfork();
	if (c == 0) {
		gate_open(g[1]);
		for (;;)
			pause();
	}
	gate_wait(g[0]);
	kill(c, SIGSTOP);
	int st;
	pidmatch("kill_sigstop", waitpid(c, &st, WUNTRACED), c);
	say("kill_sigstop", "%s", wstatus(st));
	/* a signal sent while stopped stays pending; SIGKILL kills it */
	kill(c, SIGTERM);
	result("stopped_wnohang_after_term", waitpid(c, &st, WNOHANG));
	kill(c, SIGKILL);
	say("killed_while_stopped", "%s", wstatus(reap(c)));
	/* SIGCONT to a running child: WCONTINUED still reports it */
	c = xfork();
	if (c == 0) {
		for (;;)
			pause();
	}
	kill(c, SIGSTOP);
	waitpid(c, &st, WUNTRACED);
	kill(c, SIGCONT);
	kill(c, SIGCONT);
	pidmatch("double_cont", waitpid(c, &st, WCONTINUED), c);
	say("double_cont", "%s", wstatus(st));
	result("double_cont_again", waitpid(c, &st, WCONTINUED | WNOHANG));
	kill(c, SIGKILL);
	say("final", "%s", wstatus(reap(c)));
	return 0;
}
