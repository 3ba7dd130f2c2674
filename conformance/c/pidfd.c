/* pidfd_open, pidfd_send_signal, waitid(P_PIDFD) and poll on a pidfd.
 * herd may refuse pidfds with a documented errno: see pidfd.expect-diff
 * if one exists. */
#include "common.h"
#include <poll.h>
#include <sys/pidfd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, 0);
	return r == 1 && (p.revents & POLLIN);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	int g[2];
	xpipe(g);
	pid_t c = xfork();
	if (c == 0) {
		gate_wait(g[0]);
		_exit(6);
	}
	int fd = (int)syscall(SYS_pidfd_open, c, 0);
	outcome("pidfd_open", fd);
	if (fd < 0) {
		/* refused: the rest cannot run; clean up and say so */
		close(g[1]);
		reap(c);
		return 0;
	}
	say("cloexec", "%s", yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC));
	say("readable_while_running", "%s", yesno(readable(fd)));
	result("send_signal_0", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0));
	result("send_signal_thread_flag", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 1));
	result("send_signal_bad_flags", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0x100));
	result("send_signal_bad_sig", syscall(SYS_pidfd_send_signal, fd, 99, NULL, 0));
	result("send_signal_bad_fd", syscall(SYS_pidfd_send_signal, 1, 0, NULL, 0));
	gate_open(g[1]);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	result("poll_until_exit", poll(&p, 1, 10000));
	say("readable_after_exit", "%s", yesno(readable(fd)));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	result("waitid_p_pidfd", waitid(P_PIDFD, (id_t)fd, &si, WEXITED));
	pidmatch("waitid_si_pid", si.si_pid, c);
	say("waitid_status", "code=%s status=%d", cldcode(si.si_code), si.si_status);
	result("send_signal_after_reap", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0));
	result("waitid_p_pidfd_again", waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG));
	close(fd);

	/* kill through a pidfd, and queue a value with siginfo */
	c = xfork();
	if (c == 0) {
		for (;;)
			pause();
	}
	fd = (int)syscall(SYS_pidfd_open, c, 0);
	result("send_sigterm", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0));
	memset(&si, 0, sizeof si);
	waitid(P_PIDFD, (id_t)fd, &si, WEXITED);
	say("killed_via_pidfd", "code=%s status=%s", cldcode(si.si_code), signame(si.si_status));
	close(fd);

	result("open_nonexistent", syscall(SYS_pidfd_open, 999999, 0));
	result("open_bad_flags", syscall(SYS_pidfd_open, getpid(), 1));
	result("open_zero", syscall(SYS_pidfd_open, 0, 0));
	fd = (int)syscall(SYS_pidfd_open, getpid(), PIDFD_NONBLOCK);
	outcome("open_self_nonblock", fd);
	memset(&si, 0, sizeof si);
	result("waitid_self_pidfd", waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG));
	close(fd);
	/* a pidfd for a process that is not our child: waitid is ECHILD */
	fd = (int)syscall(SYS_pidfd_open, getppid(), 0);
	outcome("open_parent", fd);
	result("waitid_parent_pidfd", waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG));
	close(fd);
	return 0;
}
