/* notif: the smallest seccomp user-notification supervisor, as a reference
 * for what one notified call costs on this machine, beside tracer.c's
 * ptrace stop.
 *
 *	notif value|continue sync|nosync PROG [ARGS...]
 *
 * It runs PROG with a filter that returns SECCOMP_RET_USER_NOTIF for
 * kill(2) and ALLOW for all else. A supervisor thread receives each
 * notification (SECCOMP_IOCTL_NOTIF_RECV) and answers it at once
 * (SECCOMP_IOCTL_NOTIF_SEND) without looking at it: "value" answers 0 and
 * the call never runs, as an emulated call would be answered; "continue"
 * answers SECCOMP_USER_NOTIF_FLAG_CONTINUE and the kernel then runs the call
 * itself. "sync" first sets SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP on the
 * listener (SECCOMP_IOCTL_NOTIF_SET_FLAGS, Linux 6.6), which wakes the
 * other side on the waker's CPU. The main thread waits for PROG and exits
 * with its status. */
#define _GNU_SOURCE
#include "killfilter.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* Linux 6.6 uapi, absent from older linux/seccomp.h copies. */
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

static int listener = -1;
static int answer_continue;

/* An fdmsg carries one byte and, as SCM_RIGHTS, one fd. */
struct fdmsg {
	char byte;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg;
};

static void fdmsg_init(struct fdmsg *m)
{
	memset(m, 0, sizeof *m);
	m->iov.iov_base = &m->byte;
	m->iov.iov_len = 1;
	m->msg.msg_iov = &m->iov;
	m->msg.msg_iovlen = 1;
	m->msg.msg_control = m->u.buf;
	m->msg.msg_controllen = sizeof m->u.buf;
}

/* send_fd passes fd over the unix socket sock. */
static int send_fd(int sock, int fd)
{
	struct fdmsg m;
	fdmsg_init(&m);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m.msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m.msg, 0) == 1 ? 0 : -1;
}

/* recv_fd receives one fd from the unix socket sock, or returns -1. */
static int recv_fd(int sock)
{
	struct fdmsg m;
	fdmsg_init(&m);
	if (recvmsg(sock, &m.msg, 0) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m.msg);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static void child(int sock, char **argv)
{
	int fd = install_kill_filter(SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER);
	if (fd < 0) {
		perror("notif: install seccomp filter");
		_exit(127);
	}
	if (send_fd(sock, fd) < 0) {
		perror("notif: send listener");
		_exit(127);
	}
	close(fd);
	close(sock);
	execv(argv[0], argv);
	perror("notif: execv");
	_exit(127);
}

/* orphaned reports whether no task uses the filter any more (POLLHUP):
 * RECV then fails with ENOENT at once, forever. */
static int orphaned(void)
{
	struct pollfd p = {.fd = listener, .events = POLLIN};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

/* supervise answers every notification at once, until no task uses the
 * filter. ENOENT from RECV or SEND otherwise means the notifying thread was
 * interrupted before the answer: there is nothing left to answer. */
static void *supervise(void *unused)
{
	(void)unused;
	for (;;) {
		struct seccomp_notif req;
		memset(&req, 0, sizeof req); /* RECV wants it zeroed */
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			if (errno == ENOENT && orphaned())
				return NULL; /* the program has exited */
			if (errno == EINTR || errno == ENOENT)
				continue;
			perror("notif: SECCOMP_IOCTL_NOTIF_RECV");
			exit(1);
		}
		struct seccomp_notif_resp resp = {.id = req.id};
		if (answer_continue)
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT) {
			perror("notif: SECCOMP_IOCTL_NOTIF_SEND");
			exit(1);
		}
	}
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: notif value|continue sync|nosync PROG [ARGS...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	int sync_wake;
	if (strcmp(argv[1], "value") == 0 || strcmp(argv[1], "continue") == 0)
		answer_continue = strcmp(argv[1], "continue") == 0;
	else
		return usage();
	if (strcmp(argv[2], "sync") == 0 || strcmp(argv[2], "nosync") == 0)
		sync_wake = strcmp(argv[2], "sync") == 0;
	else
		return usage();

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("notif: socketpair");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("notif: fork");
		return 1;
	}
	if (pid == 0) {
		close(sv[0]);
		child(sv[1], argv + 3);
	}
	close(sv[1]);
	listener = recv_fd(sv[0]);
	if (listener < 0) {
		fprintf(stderr, "notif: no listener from the child\n");
		return 1;
	}
	if (sync_wake &&
	    ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0) {
		perror("notif: SECCOMP_IOCTL_NOTIF_SET_FLAGS");
		return 1;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, supervise, NULL) != 0) {
		fprintf(stderr, "notif: pthread_create failed\n");
		return 1;
	}
	int st;
	if (waitpid(pid, &st, 0) != pid) {
		perror("notif: waitpid");
		return 1;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}
