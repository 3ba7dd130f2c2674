/* Permission checks for kill: an unprivileged process may not signal a
 * root process (EPERM, also for signal 0), may signal its own uid, and may
 * send SIGCONT to any process of its session. */
#include "common.h"

#define NOBODY 65534

static volatile sig_atomic_t cont;
static void on_cont(int s) { (void)s; cont = 1; }

int main(int argc, char **argv)
{
	setup(argc, argv);
	sigaction_simple(SIGCONT, on_cont, 0);
	block(SIGCONT);
	int g[2], ready[2];
	xpipe(g);
	xpipe(ready);
	/* a sibling running as nobody */
	pid_t sib = xfork();
	if (sib == 0) {
		close(g[1]);
		if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(90);
		gate_open(ready[1]);
		gate_wait(g[0]);
		_exit(0);
	}
	gate_wait(ready[0]);
	/* a root process in another session */
	pid_t other = xfork();
	if (other == 0) {
		close(g[1]);
		setsid();
		gate_open(ready[1]);
		gate_wait(g[0]);
		_exit(0);
	}
	gate_wait(ready[0]);
	pid_t root = getpid();
	pid_t c = xfork();
	if (c == 0) {
		close(g[1]);
		if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(90);
		result("nobody_kill_root_parent", kill(root, SIGUSR1));
		result("nobody_kill_root_parent_sig0", kill(root, 0));
		result("nobody_kill_root_other_session_cont", kill(other, SIGCONT));
		result("nobody_kill_root_other_session_sig0", kill(other, 0));
		result("nobody_kill_init", kill(1, 0));
		result("nobody_kill_same_uid_sig0", kill(sib, 0));
		result("nobody_kill_same_uid", kill(sib, SIGCONT));
		result("nobody_kill_root_parent_cont_same_session", kill(root, SIGCONT));
		result("nobody_kill_own_group_sig0", kill(0, 0));
		result("nobody_kill_nonexistent", kill(999999, 0));
		_exit(0);
	}
	say("child", "%s", wstatus(reap(c)));
	wait_for_flag(&cont, SIGCONT);
	say("root_got_sigcont", "%s", yesno(cont));
	/* setuid keeps the saved uid? a process with real uid nobody but
	 * effective root may still signal anything */
	c = xfork();
	if (c == 0) {
		close(g[1]);
		if (setresuid(NOBODY, 0, 0) < 0)
			_exit(90);
		result("ruid_nobody_euid_root_kill_other", kill(other, 0));
		if (setresuid(NOBODY, NOBODY, 0) < 0)
			_exit(91);
		result("euid_nobody_saved_root_kill_other", kill(other, 0));
		_exit(0);
	}
	say("child2", "%s", wstatus(reap(c)));
	close(g[1]);
	reap(sib);
	reap(other);
	return 0;
}
