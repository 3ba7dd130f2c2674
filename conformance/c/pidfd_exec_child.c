/* A pidfd of a child names the child across its exec: signalled through
 * it after the exec (which may have placed the child on another node),
 * the child dies of that signal, and waitid(P_PIDFD) reports it. */
#include "common.h"
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	setup(argc, argv);
	int gate[2];
	xpipe(gate);
	pid_t c = xfork();
	if (c == 0) {
		close(gate[1]);
		char b;
		read(gate[0], &b, 1); /* the parent has its pidfd */
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	close(gate[0]);
	int fd = syscall(SYS_pidfd_open, c, 0);
	result("pidfd_open", fd < 0 ? fd : 0);
	close(gate[1]);
	usleep(500000); /* the exec is done */
	result("send_signal_0", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0));
	result("send_sigterm", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	result("waitid_p_pidfd", waitid(P_PIDFD, fd, &si, WEXITED));
	pidmatch("waitid_si_pid", si.si_pid, c);
	say("waitid_status", "code=%s status=%s", cldcode(si.si_code), signame(si.si_status));
	return 0;
}
