/* tkill/tgkill: a signal directed at one thread is handled by that
 * thread; ESRCH for a wrong tgid or a dead tid; EINVAL for bad ids and
 * signals; signal 0 probes. */
#include "common.h"
#include <pthread.h>

static volatile pid_t handled_by;
static volatile sig_atomic_t hits;
static pid_t worker_tid;
static int ready[2], stop[2];

static void on_usr1(int s)
{
	(void)s;
	handled_by = xgettid();
	hits++;
}

static void *worker(void *arg)
{
	(void)arg;
	worker_tid = xgettid();
	unblock(SIGUSR1);
	gate_open(ready[1]);
	gate_wait(stop[0]);
	return NULL;
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	xpipe(ready);
	xpipe(stop);
	sigaction_simple(SIGUSR1, on_usr1, 0);
	/* main blocks SIGUSR1 so only a thread-directed signal reaches the worker */
	block(SIGUSR1);
	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	gate_wait(ready[0]);
	say("worker_tid_differs", "%s", yesno(worker_tid != getpid()));
	result("tgkill_worker", syscall(SYS_tgkill, getpid(), worker_tid, SIGUSR1));
	while (!hits)
		msleep(1);
	pidmatch("handled_by_worker", handled_by, worker_tid);
	result("tkill_worker_sig0", syscall(SYS_tkill, worker_tid, 0));
	result("tgkill_worker_sig0", syscall(SYS_tgkill, getpid(), worker_tid, 0));
	result("tgkill_wrong_tgid", syscall(SYS_tgkill, getppid(), worker_tid, 0));
	result("tgkill_tid_0", syscall(SYS_tgkill, getpid(), 0, 0));
	result("tgkill_tgid_0", syscall(SYS_tgkill, 0, worker_tid, 0));
	result("tgkill_negative_tid", syscall(SYS_tgkill, getpid(), -1, 0));
	result("tgkill_bad_sig", syscall(SYS_tgkill, getpid(), worker_tid, 65));
	result("tkill_bad_tid", syscall(SYS_tkill, -1, SIGUSR1));
	result("tkill_tid_0", syscall(SYS_tkill, 0, SIGUSR1));
	result("tkill_nonexistent", syscall(SYS_tkill, 999999, 0));
	result("tkill_bad_sig", syscall(SYS_tkill, worker_tid, -5));

	/* tkill to the main thread while it is blocked: pending on the thread,
	 * not the process */
	result("tkill_main", syscall(SYS_tkill, getpid(), SIGUSR1));
	sigset_t p;
	sigpending(&p);
	say("main_thread_pending", "%s", yesno(sigismember(&p, SIGUSR1)));
	hits = 0;
	unblock(SIGUSR1);
	block(SIGUSR1);
	pidmatch("handled_by_main", handled_by, getpid());

	gate_open(stop[1]);
	pthread_join(th, NULL);
	/* pthread_join returns when the tid is cleared, a little before the
	 * kernel forgets the thread: poll */
	long r;
	for (int i = 0; i < 5000 && (r = syscall(SYS_tgkill, getpid(), worker_tid, 0)) == 0; i++)
		msleep(1);
	result("tgkill_dead_thread_eventually", r);
	/* tgkill to another process's main thread */
	int g[2];
	xpipe(g);
	pid_t c = xfork();
	if (c == 0) {
		gate_wait(g[0]);
		_exit(0);
	}
	result("tgkill_child", syscall(SYS_tgkill, c, c, SIGTERM));
	say("child", "%s", wstatus(reap(c)));
	return 0;
}
