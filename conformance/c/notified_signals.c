/* notified_signals: getppid, getpgid, getpgrp, getsid, and kill, tkill
 * and tgkill of signal 0, which herd answers through seccomp user
 * notification, never fail with EINTR and always give the right answer
 * while signals with a handler, with and without SA_RESTART, keep
 * arriving (a signal that comes before herd takes the notification must
 * not leak the kernel's -ERESTARTSYS as EINTR: Linux never interrupts
 * these calls). Also from a second thread. */
#include "common.h"
#include <pthread.h>

static volatile sig_atomic_t handled;
static void on_usr1(int s)
{
	(void)s;
	handled++;
}

static pid_t me, ppid, pgrp, sid;

/* calls makes the four calls and counts EINTRs and wrong answers. */
static void calls(long *eintr, long *wrong)
{
	long r[9];
	errno = 0;
	r[0] = syscall(SYS_getppid);
	r[1] = syscall(SYS_getpgid, 0);
	r[2] = syscall(SYS_getpgrp);
	r[3] = syscall(SYS_getsid, 0);
	r[4] = syscall(SYS_getpgid, me);
	r[5] = syscall(SYS_kill, me, 0);
	r[6] = syscall(SYS_kill, 0, 0);
	r[7] = syscall(SYS_tkill, me, 0);
	r[8] = syscall(SYS_tgkill, me, me, 0);
	for (int i = 0; i < 9; i++)
		if (r[i] < 0 && errno == EINTR)
			(*eintr)++;
	if (r[0] != ppid || r[1] != pgrp || r[2] != pgrp || r[3] != sid || r[4] != pgrp || r[5] != 0 || r[6] != 0 || r[7] != 0 || r[8] != 0)
		(*wrong)++;
}

struct loop {
	long eintr, wrong;
};

static void *loop_until_handled(void *arg)
{
	struct loop *l = arg;
	while (handled < 100)
		calls(&l->eintr, &l->wrong);
	return NULL;
}

/* storm: a child signals us until we have handled 100 signals. */
static void storm(const char *name, int flags, int threads)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = flags;
	sigaction(SIGUSR1, &sa, NULL);
	handled = 0;
	int stop[2];
	xpipe(stop);
	pid_t c = xfork();
	if (c == 0) {
		close(stop[1]);
		fcntl(stop[0], F_SETFL, O_NONBLOCK);
		char b;
		while (read(stop[0], &b, 1) != 0)
			kill(me, SIGUSR1);
		_exit(0);
	}
	close(stop[0]);
	struct loop l[2] = {{0, 0}, {0, 0}};
	pthread_t th;
	if (threads)
		pthread_create(&th, NULL, loop_until_handled, &l[1]);
	loop_until_handled(&l[0]);
	if (threads)
		pthread_join(th, NULL);
	signal(SIGUSR1, SIG_IGN);
	close(stop[1]);
	reap(c);
	printf("%s: eintr=%ld wrong=%ld\n", name, l[0].eintr + l[1].eintr, l[0].wrong + l[1].wrong);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	me = getpid();
	ppid = getppid();
	pgrp = getpgrp();
	sid = getsid(0);
	storm("no_sa_restart", 0, 0);
	storm("sa_restart", SA_RESTART, 0);
	storm("no_sa_restart_two_threads", 0, 1);
	storm("sa_restart_two_threads", SA_RESTART, 1);
	return 0;
}
