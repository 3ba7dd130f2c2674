/* Zombies of a dying parent are reparented too: a subreaper inherits the
 * unreaped zombie grandchildren and can wait for them (with their status);
 * a running grandchild inherited later is reaped when it exits. */
#include "common.h"

int main(int argc, char **argv)
{
	setup(argc, argv);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	int g[2], ready[2];
	xpipe(g);
	xpipe(ready);
	pid_t mid = xfork();
	if (mid == 0) {
		/* two zombies and one runner, none reaped by mid */
		for (int i = 0; i < 2; i++) {
			pid_t z = xfork();
			if (z == 0)
				_exit(60 + i);
			siginfo_t si;
			waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT);
		}
		pid_t r = xfork();
		if (r == 0) {
			close(g[1]);
			gate_wait(g[0]);
			_exit(70);
		}
		_exit(0);
	}
	say("mid", "%s", wstatus(reap(mid)));
	int codes[3] = { 0 }, n = 0;
	/* zombies first: the runner is held by the gate */
	for (int i = 0; i < 2; i++) {
		int st;
		pid_t r = waitpid(-1, &st, 0);
		if (r > 0 && n < 3)
			codes[n++] = WEXITSTATUS(st);
	}
	say("zombies_inherited", "%d %d", codes[0] < codes[1] ? codes[0] : codes[1],
	    codes[0] < codes[1] ? codes[1] : codes[0]);
	result("runner_not_done", waitpid(-1, NULL, WNOHANG));
	close(g[1]);
	int st;
	pid_t r = waitpid(-1, &st, 0);
	say("runner", "%s", r > 0 ? wstatus(st) : errname(errno));
	result("none_left", waitpid(-1, NULL, WNOHANG));
	return 0;
}
