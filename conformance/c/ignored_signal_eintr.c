/* A signal the process ignores (SIG_IGN, or SIG_DFL whose default is to
 * ignore: SIGCHLD, SIGURG, SIGWINCH) is discarded when it is generated, so
 * it never interrupts a blocking call that is not restarted: epoll_wait
 * times out with 0 and sigtimedwait with EAGAIN. The commonest case is a
 * child's exit while its parent waits with SIGCHLD at SIG_DFL.
 *
 * The helper process fires only once the parent is asleep in the call
 * (read from /proc/<parent>/syscall), so the signal lands inside it. */
#include "common.h"
#include <sys/epoll.h>

static volatile sig_atomic_t usr2;
static void on_usr2(int s) { (void)s; usr2++; }

/* blocked_in polls until pid sleeps in syscall nr (or 2 s pass). */
static void blocked_in(pid_t pid, long nr)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	for (int i = 0; i < 2000; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof buf - 1);
			close(fd);
			if (n > 0) {
				buf[n] = 0;
				if (strtol(buf, NULL, 10) == nr)
					break;
			}
		}
		msleep(1);
	}
	msleep(5); /* it is asleep now: let it settle into the wait */
}

/* helper forks a process that waits until we sleep in syscall nr, then
 * sends sig to us (sig 0: just exits, which makes our SIGCHLD). */
static pid_t helper(long nr, int sig)
{
	pid_t parent = getpid();
	pid_t c = xfork();
	if (c == 0) {
		blocked_in(parent, nr);
		if (sig)
			kill(parent, sig);
		_exit(0);
	}
	return c;
}

/* epoll_case waits timeout_ms (-1: forever) on an empty epoll set. */
static void epoll_case(const char *name, int sig, int timeout_ms)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev;
	pid_t c = helper(SYS_epoll_wait, sig);
	result(name, epoll_wait(ep, &ev, 1, timeout_ms));
	say("epoll_helper", "%s", wstatus(reap(c)));
	close(ep);
}

static void sigtimedwait_case(const char *name, int sig)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	struct timespec ts = { 0, 250 * 1000000L };
	pid_t c = helper(SYS_rt_sigtimedwait, sig);
	result(name, sigtimedwait(&set, NULL, &ts));
	say("sigtimedwait_helper", "%s", wstatus(reap(c)));
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	block(SIGUSR1);
	/* SIGCHLD at SIG_DFL: a child's exit is ignored */
	epoll_case("epoll_wait_child_exit", 0, 250);
	sigtimedwait_case("sigtimedwait_child_exit", 0);

	/* an explicitly ignored signal from another process */
	sigaction_simple(SIGUSR2, SIG_IGN, 0);
	epoll_case("epoll_wait_sig_ign", SIGUSR2, 250);
	sigtimedwait_case("sigtimedwait_sig_ign", SIGUSR2);

	/* signals whose default action is to ignore */
	epoll_case("epoll_wait_sigurg_dfl", SIGURG, 250);
	sigtimedwait_case("sigtimedwait_sigwinch_dfl", SIGWINCH);

	/* the contrast: with a handler the same signal interrupts (no
	 * timeout, so the signal surely lands inside the wait) */
	sigaction_simple(SIGUSR2, on_usr2, 0);
	epoll_case("epoll_wait_handled", SIGUSR2, -1);
	say("handler_ran", "%s", yesno(usr2 == 1));
	return 0;
}
