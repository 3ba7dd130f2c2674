/* notifsignal: what the kernel does to a call parked in a seccomp user
 * notification when a signal arrives (issue 12). Each scenario forks a
 * child that installs a filter returning SECCOMP_RET_USER_NOTIF for kill(2),
 * hands the listener to the parent and makes one kill(getpid(), 0), which
 * the parent, as supervisor, leaves unanswered until it has sent a signal
 * and looked at the listener: is the notification's id still valid
 * (SECCOMP_IOCTL_NOTIF_ID_VALID), does a late answer to it succeed, does the
 * call come back as a new notification (the restart), and what the child's
 * call returned. Any new notification is answered with the value 42.
 *
 * Three scenarios check ways to keep Linux's semantics where the kernel's
 * own handling differs from the call being emulated: a supervisor that
 * answers -ERESTARTSYS once a signal is queued (for a filter with
 * SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, which a received notification
 * ignores non-fatal signals under), and a tracer that rewrites rax from
 * -ERESTARTSYS to -ERESTARTNOINTR at the signal-delivery stop so that a
 * call Linux never fails with EINTR is restarted after the handler.
 *
 * It prints one line per scenario and exits 1 if any result differs from
 * the expectation written beside the scenario (the reading of
 * kernel/seccomp.c seccomp_do_user_notification: the wait is
 * wait_for_completion_interruptible, an interruption leaves the call with
 * -ERESTARTSYS and removes the notification). */
#define _GNU_SOURCE
#include "../c/killfilter.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#define ANSWER 42
/* Kernel-internal restart codes (include/linux/errno.h), seen by a tracer
 * in rax and usable as a tracer's rax or a supervisor's error. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513

enum handler { NONE, PLAIN, RESTART };
enum when { AFTER_RECV, BEFORE_RECV };
enum tracing { UNTRACED, DELIVER, SUPPRESS, INTERRUPT };

struct scenario {
	const char *name;
	int sig;
	enum handler handler;
	enum when when;
	enum tracing tracing;
	unsigned int flags; /* extra SECCOMP_FILTER_FLAG_* */
	long set_rax;       /* traced: the tracer writes this rax at the stop */
	int answer_err;     /* the supervisor answers this error after the signal */
	/* expected: id invalid after the signal, re-notified, child's result */
	int want_gone, want_renotified;
	long want_ret;
	int want_errno;
};

#define KILLABLE SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define EXPECT(gone, again, ret, err) .want_gone = gone, .want_renotified = again, .want_ret = ret, .want_errno = err

static const struct scenario scenarios[] = {
	{"SIGUSR1, handler without SA_RESTART", SIGUSR1, PLAIN, AFTER_RECV, UNTRACED, EXPECT(1, 0, -1, EINTR)},
	{"SIGUSR1, handler with SA_RESTART", SIGUSR1, RESTART, AFTER_RECV, UNTRACED, EXPECT(1, 1, ANSWER, 0)},
	{"SIGSTOP then SIGCONT, no handler", SIGSTOP, NONE, AFTER_RECV, UNTRACED, EXPECT(1, 1, ANSWER, 0)},
	{"SIGCHLD, default action (ignored)", SIGCHLD, NONE, AFTER_RECV, UNTRACED, EXPECT(0, 0, ANSWER, 0)},
	{"before RECV: SIGUSR1, no SA_RESTART", SIGUSR1, PLAIN, BEFORE_RECV, UNTRACED, EXPECT(1, 0, -1, EINTR)},
	{"before RECV: SIGUSR1, SA_RESTART", SIGUSR1, RESTART, BEFORE_RECV, UNTRACED, EXPECT(1, 1, ANSWER, 0)},
	{"WAIT_KILLABLE_RECV: SIGUSR1 after RECV", SIGUSR1, PLAIN, AFTER_RECV, UNTRACED, .flags = KILLABLE,
	 EXPECT(0, 0, ANSWER, 0)},
	{"WAIT_KILLABLE_RECV: SIGUSR1 before RECV", SIGUSR1, PLAIN, BEFORE_RECV, UNTRACED, .flags = KILLABLE,
	 EXPECT(1, 0, -1, EINTR)},
	{"WAIT_KILLABLE_RECV: answered -ERESTARTSYS", SIGUSR1, PLAIN, AFTER_RECV, UNTRACED, .flags = KILLABLE,
	 .answer_err = -ERESTARTSYS, EXPECT(1, 0, -1, EINTR)},
	{"WAIT_KILLABLE_RECV: answered -ERESTARTSYS, SA_RESTART", SIGUSR1, RESTART, AFTER_RECV, UNTRACED,
	 .flags = KILLABLE, .answer_err = -ERESTARTSYS, EXPECT(1, 1, ANSWER, 0)},
	{"ptraced: SIGUSR1 delivered, no SA_RESTART", SIGUSR1, PLAIN, AFTER_RECV, DELIVER, EXPECT(1, 0, -1, EINTR)},
	{"ptraced: SIGUSR1 suppressed by the tracer", SIGUSR1, PLAIN, AFTER_RECV, SUPPRESS, EXPECT(1, 1, ANSWER, 0)},
	{"ptraced: SIGCHLD (default ignore) delivered", SIGCHLD, NONE, AFTER_RECV, DELIVER, EXPECT(1, 1, ANSWER, 0)},
	{"ptraced: PTRACE_INTERRUPT, then PTRACE_CONT", 0, NONE, AFTER_RECV, INTERRUPT, EXPECT(1, 1, ANSWER, 0)},
	{"ptraced: no SA_RESTART, rax set to -ERESTARTNOINTR", SIGUSR1, PLAIN, AFTER_RECV, DELIVER,
	 .set_rax = -ERESTARTNOINTR, EXPECT(1, 1, ANSWER, 0)},
};

static volatile sig_atomic_t handled;
static void on_signal(int sig)
{
	(void)sig;
	handled++;
}

static int send_msg(int sock, const void *buf, size_t len, int fd)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		msg.msg_control = u.b;
		msg.msg_controllen = sizeof u.b;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, 0) < 0 ? -1 : 0;
}

/* recv_msg reads one message into buf and returns the fd it carried, or -1. */
static int recv_msg(int sock, void *buf, size_t len)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			     .msg_controllen = sizeof u.b};
	if (recvmsg(sock, &msg, 0) <= 0)
		return -2;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

struct child_result {
	long ret;
	int err, handled;
};

static void child(const struct scenario *s, int sock)
{
	if (s->handler != NONE) {
		struct sigaction sa = {.sa_handler = on_signal};
		sa.sa_flags = s->handler == RESTART ? SA_RESTART : 0;
		sigaction(s->sig, &sa, NULL);
	}
	int fd = install_kill_filter(SECCOMP_RET_USER_NOTIF,
				     SECCOMP_FILTER_FLAG_NEW_LISTENER | s->flags);
	char go;
	if (fd < 0 || send_msg(sock, "l", 1, fd) < 0 || read(sock, &go, 1) != 1)
		_exit(127);
	close(fd);
	struct child_result r;
	errno = 0;
	r.ret = syscall(SYS_kill, getpid(), 0);
	r.err = r.ret < 0 ? errno : 0;
	r.handled = handled;
	send_msg(sock, &r, sizeof r, -1);
	_exit(0);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
	nanosleep(&ts, NULL);
}

static int id_valid(int fd, __u64 id)
{
	return ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* gone waits up to about a second for id to become invalid. */
static int gone(int fd, __u64 id)
{
	for (int i = 0; i < 1000; i++) {
		if (!id_valid(fd, id))
			return 1;
		sleep_ms(1);
	}
	return 0;
}

static int answer(int fd, __u64 id, long val)
{
	struct seccomp_notif_resp resp = {.id = id, .val = val};
	return ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0 ? 0 : errno;
}

/* renotified waits up to a second for a new notification and answers it. */
static int renotified(int fd, __u64 old, int *same)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 1000) != 1 || !(p.revents & POLLIN))
		return 0;
	struct seccomp_notif req;
	memset(&req, 0, sizeof req);
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
		return 0;
	*same = req.id != old && req.data.nr == SYS_kill && (pid_t)req.data.args[0] == (pid_t)req.pid;
	answer(fd, req.id, ANSWER);
	return 1;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* stale_recv makes one RECV when no notification is pending, bounded by a
 * 200 ms timer, and returns its errno: ENOENT when the interrupted call's
 * request is still counted, EINTR when the RECV had to wait. */
static int stale_recv(int fd)
{
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval t = {.it_value = {.tv_sec = 0, .tv_usec = 200000}};
	setitimer(ITIMER_REAL, &t, NULL);
	struct seccomp_notif req;
	memset(&req, 0, sizeof req);
	int r = ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0 ? errno : 0;
	struct itimerval off = {0};
	setitimer(ITIMER_REAL, &off, NULL);
	return r;
}

/* signal_child interrupts the parked child as s says and, if it is traced,
 * handles the stop that follows; it stores the child's rax at that stop. */
static void signal_child(const struct scenario *s, pid_t pid, int fd, __u64 id,
			 long *rax, int *gone_at_stop)
{
	if (s->tracing == INTERRUPT)
		ptrace(PTRACE_INTERRUPT, pid, 0, 0);
	else
		kill(pid, s->sig);
	if (s->sig == SIGSTOP) {
		int st;
		waitpid(pid, &st, WUNTRACED);
		*gone_at_stop = !id_valid(fd, id);
		kill(pid, SIGCONT);
	}
	if (s->tracing == UNTRACED)
		return;
	int st;
	waitpid(pid, &st, 0);
	struct user_regs_struct regs;
	ptrace(PTRACE_GETREGS, pid, 0, &regs);
	*rax = (long)regs.rax;
	*gone_at_stop = !id_valid(fd, id);
	if (s->set_rax) {
		regs.rax = s->set_rax;
		ptrace(PTRACE_SETREGS, pid, 0, &regs);
	}
	ptrace(PTRACE_CONT, pid, 0, s->tracing == DELIVER ? s->sig : 0);
}

/* run plays one scenario and reports whether it went as expected. */
static int run(const struct scenario *s)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		child(s, sv[1]);
	}
	close(sv[1]);
	char tag;
	int fd = recv_msg(sv[0], &tag, 1);
	if (fd < 0) {
		printf("%-54s child could not install the filter\n", s->name);
		return 0;
	}
	if (s->tracing != UNTRACED)
		ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_EXITKILL);
	write(sv[0], "g", 1);

	struct seccomp_notif req;
	memset(&req, 0, sizeof req);
	long rax = 0;
	int at_stop = -1;
	if (s->when == BEFORE_RECV) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, -1); /* the call is parked, not yet received */
		signal_child(s, pid, fd, 0, &rax, &at_stop);
		sleep_ms(50);
		/* The restarted call, if any, is the one RECV finds now. */
		if (s->want_renotified || s->want_ret == ANSWER) {
			ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req);
			answer(fd, req.id, ANSWER);
		}
	} else {
		ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req);
		signal_child(s, pid, fd, req.id, &rax, &at_stop);
		if (s->answer_err) {
			/* The signal is queued (kill has returned): end the
			 * wait with a restart code, as the kernel would. */
			struct seccomp_notif_resp resp = {.id = req.id, .error = s->answer_err};
			ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		}
	}
	int was_gone = s->when == BEFORE_RECV ? 1 : gone(fd, req.id);
	int late = s->when == BEFORE_RECV ? 0 : answer(fd, req.id, ANSWER);
	int same = 0;
	int again = s->when == BEFORE_RECV ? s->want_renotified : renotified(fd, req.id, &same);
	if (s->when == BEFORE_RECV)
		same = again;

	struct child_result r = {0};
	recv_msg(sv[0], &r, sizeof r);
	int stale = s->when == BEFORE_RECV && !again ? stale_recv(fd) : 0;
	int st;
	waitpid(pid, &st, 0);
	close(fd);
	close(sv[0]);

	int ok = was_gone == s->want_gone && again == s->want_renotified && (!again || same) &&
		 r.ret == s->want_ret && r.err == s->want_errno && (!stale || stale == ENOENT);
	const char *late_s = s->when == BEFORE_RECV ? "-" : late ? strerrorname_np(late) : "ok";
	printf("%-54s id gone %-3s late SEND %-7s re-notified %-3s child: ret %ld %s, handler ran %d",
	       s->name, was_gone ? "yes" : "no", late_s,
	       again ? "yes" : "no", r.ret, r.err ? strerrorname_np(r.err) : "", r.handled);
	if (s->tracing != UNTRACED || s->sig == SIGSTOP)
		printf(", at the stop: id gone %s", at_stop ? "yes" : "no");
	if (s->tracing != UNTRACED)
		printf(" rax %ld", rax);
	if (stale)
		printf(", then RECV: %s", strerrorname_np(stale));
	printf("  %s\n", ok ? "as expected" : "UNEXPECTED");
	return ok;
}

/* second_listener checks that a task can have only one listener in its
 * filter chain: a second NEW_LISTENER filter fails with EBUSY. */
static int second_listener(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (install_kill_filter(SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER) < 0)
			_exit(2);
		int r = install_kill_filter(SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER);
		_exit(r < 0 && errno == EBUSY ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("%-54s %s\n", "second listener in one filter chain: EBUSY", ok ? "as expected" : "UNEXPECTED");
	return ok;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int ok = 1;
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		ok &= run(&scenarios[i]);
	ok &= second_listener();
	return ok ? 0 : 1;
}
