/* pthreads: gettid distinct per thread and equal to getpid only in the
 * main thread; getpid/getppid the same in all; join returns values; the
 * Threads count in /proc/self/status. */
#include "common.h"
#include <pthread.h>

#define N 4
static pid_t tids[N];
static pid_t pids[N];
static pid_t ppids[N];

static pthread_barrier_t all_alive;

static void *fn(void *arg)
{
	long i = (long)arg;
	tids[i] = xgettid();
	pids[i] = getpid();
	ppids[i] = getppid();
	/* stay alive until every thread has its tid: a dead thread's tid may
	 * be reused */
	pthread_barrier_wait(&all_alive);
	return (void *)(i * 100);
}

static int threads_in_status(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int gate[2], ready[2];
static volatile pid_t sleeper_tid;
static void *sleeper(void *arg)
{
	(void)arg;
	sleeper_tid = xgettid();
	gate_open(ready[1]);
	gate_wait(gate[0]);
	return NULL;
}

/* threads_settle polls until the count is want: a joined thread lingers in
 * the kernel for a moment after pthread_join returns. */
static int threads_settle(int want)
{
	int n = threads_in_status();
	for (int i = 0; i < 5000 && n != want; i++) {
		msleep(1);
		n = threads_in_status();
	}
	return n;
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	pidmatch("main_tid_is_pid", xgettid(), getpid());
	pthread_t th[N];
	pthread_barrier_init(&all_alive, NULL, N);
	for (long i = 0; i < N; i++)
		pthread_create(&th[i], NULL, fn, (void *)i);
	long sum = 0;
	for (int i = 0; i < N; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		sum += (long)ret;
	}
	say("join_sum", "%ld", sum);
	int distinct = 1, notpid = 1, samepid = 1, sameppid = 1;
	for (int i = 0; i < N; i++) {
		if (tids[i] == getpid())
			notpid = 0;
		if (pids[i] != getpid())
			samepid = 0;
		if (ppids[i] != getppid())
			sameppid = 0;
		for (int j = 0; j < i; j++)
			if (tids[i] == tids[j])
				distinct = 0;
	}
	say("tids_distinct", "%s", yesno(distinct));
	say("tids_not_pid", "%s", yesno(notpid));
	say("getpid_same_in_threads", "%s", yesno(samepid));
	say("getppid_same_in_threads", "%s", yesno(sameppid));
	say("threads_before", "%d", threads_settle(1));
	xpipe(gate);
	xpipe(ready);
	pthread_t s[3];
	for (int i = 0; i < 3; i++) {
		pthread_create(&s[i], NULL, sleeper, NULL);
		gate_wait(ready[0]);
	}
	say("threads_with_3_sleepers", "%d", threads_in_status());
	close(gate[1]);
	for (int i = 0; i < 3; i++)
		pthread_join(s[i], NULL);
	say("threads_after_join", "%d", threads_settle(1));
	/* a thread's tid is not a process: waitpid on it fails */
	pthread_t t;
	int g2[2];
	xpipe(g2);
	gate[0] = g2[0];
	pthread_create(&t, NULL, sleeper, NULL);
	gate_wait(ready[0]);
	pid_t ttid = sleeper_tid;
	result("waitpid_on_thread", waitpid(ttid, NULL, WNOHANG));
	result("kill_thread_tid_sig0", kill(ttid, 0));
	close(g2[1]);
	pthread_join(t, NULL);
	return 0;
}
