/* kill() on a child that is exiting or has just exited succeeds: a zombie
 * is a valid target from the instant its process exits until it is
 * reaped (kill of a zombie does nothing). The parent probes each of many
 * short-lived children with kill(c, 0) and kill(c, SIGWINCH) (ignored by
 * default, so harmless while the child still runs) around its exit, and
 * counts the failures, which must be none. Children exit with 7 whatever
 * the timing. Then a zombie held by waitid(WNOWAIT) is signalled through
 * a pidfd opened while it lived: also a success that does nothing. */
#include "common.h"

#define CHILDREN 400
#define PROBES 8

int main(int argc, char **argv)
{
	setup(argc, argv);
	int esrch = 0, other = 0, bad_status = 0;
	for (int i = 0; i < CHILDREN; i++) {
		pid_t c = xfork();
		if (c == 0)
			_exit(7);
		for (int j = 0; j < PROBES; j++) {
			int sig = j % 2 ? SIGWINCH : 0;
			if (kill(c, sig) < 0) {
				if (errno == ESRCH)
					esrch++;
				else
					other++;
			}
		}
		int st = reap(c);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 7)
			bad_status++;
	}
	say("children", "%d", CHILDREN);
	say("kill_esrch", "%d", esrch);
	say("kill_other_errors", "%d", other);
	say("bad_status", "%d", bad_status);

	int gate[2];
	xpipe(gate);
	pid_t c = xfork();
	if (c == 0) {
		gate_wait(gate[0]);
		_exit(3);
	}
	int fd = (int)syscall(SYS_pidfd_open, c, 0);
	outcome("pidfd_open_live", fd);
	gate_open(gate[1]);
	siginfo_t si;
	waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);
	result("kill_zombie_0", kill(c, 0));
	result("pidfd_send_signal_zombie_0", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0));
	result("pidfd_send_signal_zombie_winch", syscall(SYS_pidfd_send_signal, fd, SIGWINCH, NULL, 0));
	say("zombie", "%s", wstatus(reap(c)));
	result("pidfd_send_signal_reaped", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0));
	return 0;
}
