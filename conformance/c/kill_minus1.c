/* kill(-1, sig) as an unprivileged user: reaches every process the caller
 * may signal except itself (and init), and nothing else. Natively, -1 as
 * root would hit the whole machine, so everything here runs as uid 65534
 * in a fresh session: the victims are our own uid-65534 children, and a
 * root child of the same session must be left alone. */
#include "common.h"

#define NOBODY 65534

int main(int argc, char **argv)
{
	setup(argc, argv);
	int out[2];
	xpipe(out);
	pid_t mgr = xfork();
	if (mgr == 0) {
		close(out[0]);
		dup2(out[1], 1);
		setsid();
		int g[2], ready[2];
		xpipe(g);
		xpipe(ready);
		/* a root child: kill(-1) as nobody must not reach it */
		pid_t rootkid = xfork();
		if (rootkid == 0) {
			close(g[1]);
			gate_open(ready[1]);
			gate_wait(g[0]);
			_exit(0);
		}
		gate_wait(ready[0]);
		pid_t victims[3];
		for (int i = 0; i < 3; i++) {
			victims[i] = xfork();
			if (victims[i] == 0) {
				close(g[1]);
				if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
					_exit(90);
				gate_open(ready[1]);
				for (;;)
					pause();
			}
			gate_wait(ready[0]);
		}
		int sent[2];
		xpipe(sent);
		pid_t sender = xfork();
		if (sender == 0) {
			close(g[1]);
			if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
				_exit(90);
			signal(SIGTERM, SIG_IGN);
			int r = kill(-1, SIGTERM);
			result("kill_minus1", r);
			/* 0 whenever any other process exists (EPERM targets
			 * included), so this is 0 under herd too */
			r = kill(-1, 0);
			result("kill_minus1_sig0", r);
			_exit(0);
		}
		say("sender", "%s", wstatus(reap(sender)));
		for (int i = 0; i < 3; i++) {
			char n[32];
			snprintf(n, sizeof n, "victim_%d", i);
			say(n, "%s", wstatus(reap(victims[i])));
		}
		result("root_child_untouched", waitpid(rootkid, NULL, WNOHANG));
		/* with no other process of our uid left, kill(-1) finds nothing */
		sender = xfork();
		if (sender == 0) {
			close(g[1]);
			if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
				_exit(90);
			result("kill_minus1_nobody_left", kill(-1, SIGTERM));
			_exit(0);
		}
		reap(sender);
		close(g[1]);
		say("root_child", "%s", wstatus(reap(rootkid)));
		fflush(stdout);
		_exit(0);
	}
	close(out[1]);
	relay(out[0]);
	say("manager", "%s", wstatus(reap(mgr)));
	return 0;
}
