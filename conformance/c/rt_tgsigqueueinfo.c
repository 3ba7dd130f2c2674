/* rt_tgsigqueueinfo: a queued signal with a value to one thread of a
 * process (our worker) and to another process's main thread; ESRCH and
 * EINVAL paths. */
#include "common.h"
#include <pthread.h>

static volatile sig_atomic_t hits;
static volatile int value;
static volatile pid_t by;
static pid_t worker_tid;
static int ready[2], stop[2];

static void on_sig(int s, siginfo_t *si, void *uc)
{
	(void)s;
	(void)uc;
	value = si->si_value.sival_int;
	by = xgettid();
	hits++;
}

static void *worker(void *arg)
{
	(void)arg;
	worker_tid = xgettid();
	unblock(SIGRTMIN + 1);
	gate_open(ready[1]);
	gate_wait(stop[0]);
	return NULL;
}

static long tgsq(pid_t tgid, pid_t tid, int sig, int val)
{
	siginfo_t si = queue_info(sig, val);
	return syscall(SYS_rt_tgsigqueueinfo, tgid, tid, sig, &si);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	xpipe(ready);
	xpipe(stop);
	sigaction_info(SIGRTMIN + 1, on_sig, 0);
	block(SIGRTMIN + 1);
	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	gate_wait(ready[0]);
	result("to_worker", tgsq(getpid(), worker_tid, SIGRTMIN + 1, 99));
	while (!hits)
		msleep(1);
	say("worker_value", "%d", value);
	pidmatch("handled_by_worker", by, worker_tid);
	result("wrong_tgid", tgsq(getppid(), worker_tid, SIGRTMIN + 1, 1));
	result("tid_0", tgsq(getpid(), 0, SIGRTMIN + 1, 1));
	result("bad_sig", tgsq(getpid(), worker_tid, 0x100, 1));
	gate_open(stop[1]);
	pthread_join(th, NULL);
	/* the tid outlives pthread_join briefly: poll with signal 0 */
	long r;
	for (int i = 0; i < 5000 && (r = syscall(SYS_tgkill, getpid(), worker_tid, 0)) == 0; i++)
		msleep(1);
	result("dead_thread", tgsq(getpid(), worker_tid, SIGRTMIN + 1, 1));

	int g[2], out[2];
	xpipe(g);
	xpipe(out);
	pid_t c = xfork();
	if (c == 0) {
		dup2(out[1], 1);
		hits = 0;
		gate_open(g[1]);
		wait_for_flag(&hits, SIGRTMIN + 1);
		say("child_value", "%d", value);
		pidmatch("child_handled_by_main", by, getpid());
		_exit(0);
	}
	gate_wait(g[0]);
	result("to_child", tgsq(c, c, SIGRTMIN + 1, 1234));
	say("child", "%s", wstatus(reap(c)));
	close(out[1]);
	relay(out[0]);
	return 0;
}
