/* Children killed by signals: WIFSIGNALED, WTERMSIG, WCOREDUMP with
 * RLIMIT_CORE 0 (no core), raw status encoding. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	struct rlimit rl = { 0, 0 };
	result("setrlimit_core_0", setrlimit(RLIMIT_CORE, &rl));
	static const int sigs[] = { SIGKILL, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGSEGV, SIGABRT, SIGQUIT, SIGPIPE, SIGALRM };
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		int sig = sigs[i];
		pid_t c = xfork();
		if (c == 0) {
			raise(sig);
			_exit(100);
		}
		int st;
		pid_t r = waitpid(c, &st, 0);
		char name[64];
		snprintf(name, sizeof name, "raise(%s)", signame(sig));
		pidmatch(name, r, c);
		say(name, "%s raw=0x%x", wstatus(st), st);
	}
	/* killed by the parent while blocked in pause() */
	int g[2];
	xpipe(g);
	pid_t c = xfork();
	if (c == 0) {
		gate_open(g[1]);
		for (;;)
			pause();
	}
	gate_wait(g[0]);
	result("kill_child", kill(c, SIGTERM));
	say("killed_by_parent", "%s", wstatus(reap(c)));
	/* a handled signal that then exits */
	c = xfork();
	if (c == 0) {
		signal(SIGTERM, SIG_IGN);
		raise(SIGTERM);
		_exit(33);
	}
	say("ignored_sigterm", "%s", wstatus(reap(c)));
	return 0;
}
