/* System V semaphores between processes: a blocked decrement (counted in
 * GETNCNT) woken by an increment, a blocked wait-for-zero (GETZCNT), a
 * blocked semop interrupted by a signal (EINTR) or woken by IPC_RMID
 * (EIDRM), and SEM_UNDO applied at exit, before the parent's wait sees
 * the exit, also for a child that re-executes itself (in spread mode on
 * another node than the set's). */
#include "ipc.h"
#include <sys/ipc.h>
#include <sys/sem.h>

static int sop(int id, int num, int delta, int flg)
{
	struct sembuf s = { .sem_num = num, .sem_op = delta, .sem_flg = flg };
	return semop(id, &s, 1);
}

/* blocked forks a child that blocks in semop(num, delta), waits until it
 * sleeps, prints the waiter counts, runs act; the child prints its
 * outcome, then the parent act's result. */
static void blocked(const char *name, int id, int delta, long (*act)(pid_t, int), int arg)
{
	pid_t c = xfork();
	if (c == 0) {
		sigaction_simple(SIGUSR1, on_usr1, 0);
		outcome(name, sop(id, 0, delta, 0));
		_exit(0);
	}
	wait_sleeping(c);
	say("waiting", "ncnt %d zcnt %d", semctl(id, 0, GETNCNT), semctl(id, 0, GETZCNT));
	long r = act(c, arg);
	reap(c);
	result("then", r);
}

static long signal_it(pid_t c, int id) { (void)id; return kill(c, SIGUSR1); }
static long up(pid_t c, int id) { (void)c; return sop(id, 0, 1, 0); }
static long down(pid_t c, int id) { (void)c; return sop(id, 0, -1, 0); }
static long remove_it(pid_t c, int id) { (void)c; return semctl(id, 0, IPC_RMID); }

int main(int argc, char **argv)
{
	setup(argc, argv);
	if (argc == 3 && strcmp(argv[1], "undo") == 0) {
		int id = semget((key_t)strtol(argv[2], NULL, 0), 0, 0);
		return sop(id, 0, 2, SEM_UNDO) < 0 ? 3 : 0;
	}
	key_t key = (key_t)(0x4d000000 | getpid());
	int id = semget(key, 1, IPC_CREAT | 0600);
	say("get", "%s", yesno(id >= 0));
	blocked("down_woken", id, -1, up, id);
	result("val", semctl(id, 0, GETVAL));
	sop(id, 0, 1, 0);
	blocked("zero_woken", id, 0, down, id);
	blocked("down_interrupted", id, -1, signal_it, id);
	say("after_interrupt", "ncnt %d val %d", semctl(id, 0, GETNCNT), semctl(id, 0, GETVAL));

	pid_t c = xfork();
	if (c == 0)
		_exit(sop(id, 0, 3, SEM_UNDO) < 0 ? 3 : 0);
	say("undo_child", "%s", wstatus(reap(c)));
	result("val_after_undo", semctl(id, 0, GETVAL));
	semctl(id, 0, SETVAL, 5);
	c = xfork();
	if (c == 0)
		_exit(sop(id, 0, -1, SEM_UNDO) < 0 ? 3 : 0);
	say("undo_down_child", "%s", wstatus(reap(c)));
	result("val_after_undo_down", semctl(id, 0, GETVAL));

	char keystr[32];
	snprintf(keystr, sizeof keystr, "%#x", (unsigned)key);
	c = xfork();
	if (c == 0) {
		execl(argv0, argv0, "undo", keystr, (char *)NULL);
		_exit(98);
	}
	say("undo_exec_child", "%s", wstatus(reap(c)));
	result("val_after_exec_undo", semctl(id, 0, GETVAL));

	semctl(id, 0, SETVAL, 0);
	blocked("down_removed", id, -1, remove_it, id);
	return 0;
}
