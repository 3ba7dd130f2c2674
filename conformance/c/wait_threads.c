/* Waiting from threads: children belong to the whole thread group, so the
 * main thread may wait for a child another (live) thread forked, unless it
 * passes __WNOTHREAD; a child forked by a thread sees the process's pid as
 * getppid; two threads blocked in waitpid(-1) reap different children. */
#include "common.h"
#include <pthread.h>

static pid_t forked, tgid;
static int out[2], hold[2], forked_gate[2], forker_stop[2];

static void *forker(void *arg)
{
	(void)arg;
	forked = xfork();
	if (forked == 0) {
		fdsay(out[1], "child_of_thread_ppid_is_process", "%s", yesno(getppid() == tgid));
		close(hold[1]);
		gate_wait(hold[0]);
		_exit(14);
	}
	gate_open(forked_gate[1]);
	/* stay alive: the child is this thread's until it exits */
	gate_wait(forker_stop[0]);
	return NULL;
}

static volatile pid_t got[2];
static void *waiter(void *arg)
{
	long i = (long)arg;
	int st;
	pid_t r;
	do
		r = waitpid(-1, &st, 0);
	while (r < 0 && errno == EINTR);
	got[i] = r;
	return NULL;
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	tgid = getpid();
	xpipe(out);
	xpipe(hold);
	xpipe(forked_gate);
	xpipe(forker_stop);
	pthread_t t;
	pthread_create(&t, NULL, forker, NULL);
	gate_wait(forked_gate[0]);
	int st;
	result("wnothread_other_threads_child", waitpid(forked, &st, WNOHANG | __WNOTHREAD));
	result("wnothread_any", waitpid(-1, &st, WNOHANG | __WNOTHREAD));
	result("group_sees_other_threads_child", waitpid(forked, &st, WNOHANG));
	close(hold[1]);
	pidmatch("main_reaps_child_of_live_thread", waitpid(forked, &st, 0), forked);
	say("status", "%s", wstatus(st));
	close(out[1]);
	relay(out[0]);
	gate_open(forker_stop[1]);
	pthread_join(t, NULL);

	/* two threads blocked in waitpid(-1): each gets one child */
	int h[2];
	xpipe(h);
	pid_t a = xfork();
	if (a == 0) {
		close(h[1]);
		gate_wait(h[0]);
		_exit(1);
	}
	pid_t b = xfork();
	if (b == 0) {
		close(h[1]);
		gate_wait(h[0]);
		_exit(2);
	}
	pthread_t w[2];
	pthread_create(&w[0], NULL, waiter, (void *)0L);
	pthread_create(&w[1], NULL, waiter, (void *)1L);
	close(h[1]);
	pthread_join(w[0], NULL);
	pthread_join(w[1], NULL);
	say("two_waiters_got_children", "%s", yesno((got[0] == a || got[0] == b) && (got[1] == a || got[1] == b)));
	say("two_waiters_distinct", "%s", yesno(got[0] != got[1]));
	result("none_left", waitpid(-1, &st, WNOHANG));
	return 0;
}
