/* clone(CLONE_PIDFD) gives the parent a pidfd of the child (Go's os/exec
 * uses it): poll shows the exit, and waitid(P_PIDFD) reaps the child even
 * long after it exited. */
#include "common.h"
#include <poll.h>
#include <sched.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int main(int argc, char **argv)
{
	setup(argc, argv);
	int pidfd = -1;
	long c = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, NULL, &pidfd, NULL, 0);
	if (c == 0)
		_exit(9);
	if (c < 0) {
		result("clone_pidfd", c);
		return 0;
	}
	say("clone_pidfd", "%s", yesno(pidfd >= 0));
	say("cloexec", "%s", yesno(fcntl(pidfd, F_GETFD) & FD_CLOEXEC));
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	result("poll_until_exit", poll(&p, 1, 10000));
	msleep(200); /* long exited: the kernel task is gone under herd */
	siginfo_t si;
	memset(&si, 0, sizeof si);
	result("waitid_p_pidfd_late", waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED));
	pidmatch("si_pid", si.si_pid, c);
	say("status", "code=%s status=%d", cldcode(si.si_code), si.si_status);
	result("waitid_again", waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG));
	close(pidfd);
	return 0;
}
