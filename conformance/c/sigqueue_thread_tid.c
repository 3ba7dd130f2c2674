/* The process-directed calls accept the TID of any thread and act on its
 * thread group: rt_sigqueueinfo (and sigqueue) aimed at a thread that is
 * not the leader queues the signal to the whole process, with its value;
 * kill(tid) does likewise. The thread-directed calls (tgkill) keep working
 * as the contrast. Checked within our own process and from a child. */
#include "common.h"
#include <pthread.h>

/* what the handler saw: the number of deliveries and the last value */
static struct {
	volatile sig_atomic_t hits;
	volatile int value;
} got;
static pid_t worker_tid;
static int gates[2][2]; /* [0]: the worker is ready, [1]: it may end */

static void on_sig(int s, siginfo_t *si, void *uc)
{
	(void)s, (void)uc;
	got.value = si->si_value.sival_int;
	got.hits++;
}

/* worker only exists until told to end: a TID that is not the leader */
static void *worker(void *arg)
{
	worker_tid = xgettid();
	gate_open(gates[0][1]);
	gate_wait(gates[1][0]);
	return arg;
}

static long rtsq(pid_t pid, int sig, int val)
{
	siginfo_t si = queue_info(sig, val);
	return syscall(SYS_rt_sigqueueinfo, pid, sig, &si);
}

/* take reports whether sig is pending for the process (both threads
 * block it, so a process-directed one stays pending), then unblocks it in
 * the main thread for a moment and reports what was delivered. */
static void take(const char *name, int sig)
{
	got.hits = 0;
	got.value = 0;
	sigset_t p;
	sigpending(&p);
	printf("%s_pending: %s\n", name, yesno(sigismember(&p, sig)));
	unblock(sig);
	block(sig);
	printf("%s_delivered: %d value=%d\n", name, (int)got.hits, got.value);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	xpipe(gates[0]);
	xpipe(gates[1]);
	sigaction_info(SIGRTMIN, on_sig, 0);
	sigaction_info(SIGUSR1, on_sig, 0);
	block(SIGRTMIN); /* inherited by the worker: all of it stays pending */
	block(SIGUSR1);
	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	gate_wait(gates[0][0]);
	say("worker_is_leader", "%s", yesno(worker_tid == getpid()));

	result("rt_sigqueueinfo_worker_tid", rtsq(worker_tid, SIGRTMIN, 41));
	take("rt_sigqueueinfo_worker_tid", SIGRTMIN);

	union sigval v = { .sival_int = 42 };
	result("sigqueue_worker_tid", sigqueue(worker_tid, SIGRTMIN, v));
	take("sigqueue_worker_tid", SIGRTMIN);

	result("sigqueue_worker_tid_probe", sigqueue(worker_tid, 0, v));
	result("kill_worker_tid", kill(worker_tid, SIGUSR1));
	take("kill_worker_tid", SIGUSR1);
	result("tgkill_worker", syscall(SYS_tgkill, getpid(), worker_tid, SIGUSR1));
	/* thread-directed: pending for the worker only, not the process */
	sigset_t p;
	sigpending(&p);
	say("tgkill_pending_in_main", "%s", yesno(sigismember(&p, SIGUSR1)));

	/* from another process: a child queues to our worker's TID */
	int out[2];
	xpipe(out);
	pid_t c = xfork();
	if (c == 0) {
		dup2(out[1], 1);
		result("child_rt_sigqueueinfo_worker_tid", rtsq(worker_tid, SIGRTMIN, 43));
		_exit(0);
	}
	say("child", "%s", wstatus(reap(c)));
	close(out[1]);
	relay(out[0]);
	take("from_child", SIGRTMIN);

	gate_open(gates[1][1]);
	pthread_join(th, NULL);
	return 0;
}
