/* kill(): to a child with a handler, signal 0 probes, zombies, ESRCH after
 * reaping, EINVAL for bad signals, kill(0, sig) to our own group. */
#include "common.h"

static volatile sig_atomic_t usr1;
static void on_usr1(int s) { (void)s; usr1++; }

int main(int argc, char **argv)
{
	setup(argc, argv);
	sigaction_simple(SIGUSR1, on_usr1, 0);
	block(SIGUSR1);
	int rep[2];
	xpipe(rep);
	pid_t c = xfork();
	if (c == 0) {
		usr1 = 0;
		gate_open(rep[1]);
		wait_for_flag(&usr1, SIGUSR1);
		_exit(usr1 == 1 ? 40 : 41);
	}
	gate_wait(rep[0]);
	result("kill_child_usr1", kill(c, SIGUSR1));
	say("child_handled", "%s", wstatus(reap(c)));

	result("kill_self_0", kill(getpid(), 0));
	result("kill_self_usr1", kill(getpid(), SIGUSR1));
	sigset_t p;
	sigpending(&p);
	say("self_usr1_pending", "%s", yesno(sigismember(&p, SIGUSR1)));
	usr1 = 0;
	unblock(SIGUSR1);
	block(SIGUSR1);
	say("self_usr1_handled", "%d", (int)usr1);

	c = xfork();
	if (c == 0)
		_exit(0);
	siginfo_t si;
	waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);
	result("kill_zombie_0", kill(c, 0));
	result("kill_zombie_term", kill(c, SIGTERM));
	say("zombie_status_unchanged", "%s", wstatus(reap(c)));
	result("kill_reaped", kill(c, 0));
	result("kill_reaped_term", kill(c, SIGTERM));
	result("kill_bad_sig_65", kill(getpid(), 65));
	result("kill_bad_sig_negative", kill(getpid(), -1));
	result("kill_bad_sig_nonexistent_pid", kill(999999, 65));
	result("kill_nonexistent", kill(999999, 0));
	result("kill_nonexistent_group", kill(-999999, 0));
	result("kill_int_min", kill((pid_t)0x80000000u, 0));

	/* kill(0, sig) reaches every member of the caller's group, including
	 * the caller: do it in a child leading its own group */
	int g[2], out[2];
	xpipe(g);
	xpipe(out);
	c = xfork();
	if (c == 0) {
		setpgid(0, 0);
		usr1 = 0;
		pid_t m = xfork();
		if (m == 0) {
			usr1 = 0;
			gate_open(g[1]);
			wait_for_flag(&usr1, SIGUSR1);
			_exit(50);
		}
		gate_wait(g[0]);
		result("kill_0_group", kill(0, SIGUSR1));
		wait_for_flag(&usr1, SIGUSR1);
		say("kill_0_reached_self", "%s", yesno(usr1 == 1));
		say("kill_0_member", "%s", wstatus(reap(m)));
		_exit(0);
	}
	reap(c);
	/* kill(getpid(), SIGKILL) on ourselves ends the program: the harness
	 * sees 128+9 */
	result("last_line", 0);
	kill(getpid(), SIGKILL);
	return 1;
}
