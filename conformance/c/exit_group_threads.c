/* exit_group of multithreaded processes: main exits while threads sleep;
 * a non-main thread calls exit(); main calls pthread_exit and the last
 * thread's exit status is the process's; a zombie leader with live threads
 * is not yet waitable. */
#include "common.h"
#include <pthread.h>

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		sleep(100);
	return NULL;
}

static void *exiter(void *arg)
{
	msleep(10);
	exit((int)(long)arg);
}

static void *thread_exit(void *arg)
{
	pthread_exit(arg);
}

static int gate[2];
static void *last(void *arg)
{
	gate_wait(gate[0]);
	exit((int)(long)arg);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	pthread_t t;
	pid_t c = xfork();
	if (c == 0) {
		for (int i = 0; i < 3; i++)
			pthread_create(&t, NULL, sleeper, NULL);
		exit(3);
	}
	say("main_exits_with_sleepers", "%s", wstatus(reap(c)));

	c = xfork();
	if (c == 0) {
		for (int i = 0; i < 2; i++)
			pthread_create(&t, NULL, sleeper, NULL);
		pthread_create(&t, NULL, exiter, (void *)5L);
		for (;;)
			pause();
	}
	say("thread_calls_exit", "%s", wstatus(reap(c)));

	c = xfork();
	if (c == 0) {
		pthread_create(&t, NULL, sleeper, NULL);
		pthread_create(&t, NULL, exiter, (void *)6L);
		syscall(SYS_exit, 0); /* only the main thread: leader becomes a zombie */
	}
	say("leader_exit_thread_exit_group", "%s", wstatus(reap(c)));

	xpipe(gate);
	c = xfork();
	if (c == 0) {
		pthread_create(&t, NULL, last, (void *)7L);
		pthread_exit(NULL);
	}
	/* the leader is gone but the process is not: not waitable yet. We
	 * cannot observe "leader exited" without racing, so only check that
	 * WNOHANG finds nothing while the last thread is held. */
	result("zombie_leader_not_waitable", waitpid(c, NULL, WNOHANG));
	gate_open(gate[1]);
	say("pthread_exit_main_last_thread_exit", "%s", wstatus(reap(c)));

	c = xfork();
	if (c == 0) {
		pthread_create(&t, NULL, sleeper, NULL);
		raise(SIGTERM);
		_exit(1);
	}
	say("signal_kills_all_threads", "%s", wstatus(reap(c)));

	c = xfork();
	if (c == 0) {
		/* all threads pthread_exit: status 0 */
		pthread_create(&t, NULL, thread_exit, NULL);
		pthread_exit(NULL);
	}
	say("all_threads_pthread_exit", "%s", wstatus(reap(c)));
	return 0;
}
