/* Under SCHED_FIFO on one CPU, a thread created with a higher real-time
 * priority than its creator preempts the creator at once: its start
 * routine has run (up to its first block) before pthread_create returns.
 * A thread of equal priority waits until the creator blocks: a bare
 * clone() thread has not run when clone returns, and raising it above its
 * creator with sched_setscheduler makes it run inside that call. The
 * process pins itself to one CPU so the order is the scheduler's alone.
 * Needs CAP_SYS_NICE (we run as root). */
#include "common.h"
#include <pthread.h>
#include <sched.h>
#include <linux/futex.h>

#define ROUNDS 20

static volatile int ran;

static void *mark(void *arg)
{
	(void)arg;
	ran = 1;
	return NULL;
}

/* create_fifo creates a SCHED_FIFO thread of priority prio and reports
 * whether it ran before pthread_create returned. */
static int create_fifo(int prio, pthread_t *th)
{
	pthread_attr_t a;
	struct sched_param sp = { .sched_priority = prio };
	pthread_attr_init(&a);
	pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&a, SCHED_FIFO);
	pthread_attr_setschedparam(&a, &sp);
	ran = 0;
	int e = pthread_create(th, &a, mark, NULL);
	int first = ran;
	pthread_attr_destroy(&a);
	if (e) {
		say("pthread_create", "%s", errname(e));
		exit(1);
	}
	return first;
}

static int setup_fifo(int prio)
{
	/* the first CPU we may use (a node's cpuset may not hold CPU 0) */
	cpu_set_t allowed, one;
	int cpu = 0;
	if (sched_getaffinity(0, sizeof allowed, &allowed) < 0)
		return -1;
	while (cpu < CPU_SETSIZE - 1 && !CPU_ISSET(cpu, &allowed))
		cpu++;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof one, &one) < 0)
		return -1;
	struct sched_param sp = { .sched_priority = prio };
	return sched_setscheduler(0, SCHED_FIFO, &sp);
}

/* A bare thread (clone, no libc thread setup) that only marks that it ran:
 * it shares our TLS, so it calls nothing. */
static char stack[64 * 1024] __attribute__((aligned(16)));
static volatile pid_t child_tid;

static int bare(void *arg)
{
	(void)arg;
	ran = 1;
	return 0;
}

/* raise_after_clone creates a bare thread at our priority (10): it waits
 * behind us, so it has not run when clone returns. Raising it to 20 makes
 * it preempt us inside sched_setscheduler. Returns 1 if it had not run
 * before the raise and had run right after it; 2 if it ran before the
 * raise; 0 if it had not run after the raise. */
static int raise_after_clone(void)
{
	ran = 0;
	child_tid = 0;
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
		    CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
	pid_t tid = clone(bare, stack + sizeof stack, flags, NULL, &child_tid, NULL, &child_tid);
	if (tid < 0) {
		result("clone", -1);
		exit(1);
	}
	int before = ran;
	struct sched_param sp = { .sched_priority = 20 };
	sched_setscheduler(tid, SCHED_FIFO, &sp);
	int after = ran;
	/* wait for it to be gone (the kernel clears child_tid at its exit) */
	while (child_tid != 0)
		syscall(SYS_futex, &child_tid, FUTEX_WAIT, tid, NULL, NULL, 0);
	return before ? 2 : after;
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	outcome("fifo_pinned", setup_fifo(10));
	int higher_first = 0, equal_first = 0;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_t th;
		higher_first += create_fifo(20, &th);
		pthread_join(th, NULL);
		equal_first += create_fifo(10, &th);
		pthread_join(th, NULL);
	}
	say("higher_priority_thread_ran_first", "%d of %d", higher_first, ROUNDS);
	say("equal_priority_thread_ran_first", "%d of %d", equal_first, ROUNDS);

	int outcome_count[3] = { 0 };
	for (int i = 0; i < ROUNDS; i++)
		outcome_count[raise_after_clone()]++;
	say("raised_thread_ran_at_once", "%d of %d", outcome_count[1], ROUNDS);
	say("raised_thread_ran_before_clone_returned", "%d of %d", outcome_count[2], ROUNDS);
	say("raised_thread_late", "%d of %d", outcome_count[0], ROUNDS);

	return 0;
}
