/* System V semaphores: semget's flags and sizes (EINVAL, ENOENT, EEXIST),
 * semop (atomic: all or none; IPC_NOWAIT gives EAGAIN; E2BIG, EFBIG,
 * ERANGE, EINVAL), semtimedop with a timeout (EAGAIN) and a bad timespec,
 * semctl GETVAL/SETVAL/GETALL/SETALL/GETPID/GETNCNT/GETZCNT, IPC_STAT,
 * IPC_SET, IPC_INFO, SEM_INFO, IPC_RMID, and permissions for another
 * user. */
#include "common.h"
#include <sys/ipc.h>
#include <sys/sem.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

static void op(const char *name, int id, int num, int delta, int flg)
{
	struct sembuf s = { .sem_num = num, .sem_op = delta, .sem_flg = flg };
	outcome(name, semop(id, &s, 1));
}

static void vals(const char *name, int id)
{
	unsigned short v[3] = { 9, 9, 9 };
	int r = semctl(id, 0, GETALL, (union semun){ .array = v });
	say(name, "%d: %u %u %u", r, v[0], v[1], v[2]);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	key_t key = (key_t)(0x4c000000 | getpid());
	result("get_unbound", semget(key, 3, 0600));
	result("get_create_zero", semget(key, 0, IPC_CREAT | 0600));
	result("get_negative", semget(key, -1, IPC_CREAT | 0600));
	int id = semget(key, 3, IPC_CREAT | 0600);
	say("get_create", "%s", yesno(id >= 0));
	say("get_again", "%s", yesno(semget(key, 2, 0600) == id && semget(key, 0, 0) == id));
	result("get_bigger", semget(key, 4, 0600));
	result("get_excl", semget(key, 3, IPC_CREAT | IPC_EXCL | 0600));
	vals("initial", id);

	op("up0", id, 0, 2, 0);
	op("down0_nowait_too_far", id, 0, -3, IPC_NOWAIT);
	op("zero1", id, 1, 0, 0);
	op("zero0_nowait", id, 0, 0, IPC_NOWAIT);
	struct sembuf two[2] = { { 1, 1, 0 }, { 0, -5, IPC_NOWAIT } };
	outcome("atomic_none", semop(id, two, 2));
	vals("after_atomic_none", id);
	two[1].sem_op = -1;
	outcome("atomic_both", semop(id, two, 2));
	vals("after_atomic_both", id);
	pidmatch("getpid", semctl(id, 1, GETPID), getpid());
	result("getncnt", semctl(id, 0, GETNCNT));
	result("getzcnt", semctl(id, 0, GETZCNT));
	op("efbig", id, 3, 1, 0);
	op("erange", id, 2, 32767, 0);
	op("erange_more", id, 2, 1, 0);
	vals("after_erange", id);
	struct sembuf many[501];
	memset(many, 0, sizeof many);
	outcome("e2big", semop(id, many, 501));
	outcome("nsops_zero", semop(id, many, 0));
	outcome("bad_id", semop(-1, many, 1));
	outcome("efault", semop(id, (void *)8, 1));

	struct timespec ts = { 0, 20 * 1000 * 1000 };
	struct sembuf wait0 = { 0, -10, 0 };
	outcome("timedop_timeout", semtimedop(id, &wait0, 1, &ts));
	ts.tv_nsec = 2000000000L;
	outcome("timedop_bad_timespec", semtimedop(id, &wait0, 1, &ts));
	outcome("timedop_efault", semtimedop(id, &wait0, 1, (void *)8));

	result("setval", semctl(id, 2, SETVAL, (union semun){ .val = 7 }));
	result("setval_erange", semctl(id, 2, SETVAL, (union semun){ .val = 40000 }));
	result("setval_bad_num", semctl(id, 5, SETVAL, (union semun){ .val = 1 }));
	result("getval", semctl(id, 2, GETVAL));
	result("getval_bad_num", semctl(id, 3, GETVAL));
	unsigned short all[3] = { 4, 5, 6 };
	result("setall", semctl(id, 0, SETALL, (union semun){ .array = all }));
	vals("after_setall", id);
	result("getall_efault", semctl(id, 0, GETALL, (union semun){ .array = (void *)8 }));

	struct semid_ds ds;
	result("stat", semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }));
	say("stat_fields", "nsems %lu mode %o uid %u key %s otime %s", (unsigned long)ds.sem_nsems,
	    ds.sem_perm.mode & 0777, ds.sem_perm.uid, yesno(ds.sem_perm.__key == key), yesno(ds.sem_otime != 0));
	result("stat_efault", semctl(id, 0, IPC_STAT, (union semun){ .buf = (void *)8 }));
	struct seminfo si;
	int r = semctl(0, 0, IPC_INFO, (union semun){ .__buf = &si });
	say("ipc_info", "%s msl %d opm %d vmx %d", yesno(r >= 0), si.semmsl, si.semopm, si.semvmx);
	r = semctl(0, 0, SEM_INFO, (union semun){ .__buf = &si });
	say("sem_info", "%s", yesno(r >= 0 && si.semusz >= 1));
	result("ctl_unknown", semctl(id, 0, 1234));

	pid_t c = xfork();
	if (c == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(99);
		result("other_get_read", semget(key, 0, 0400));
		result("other_getval", semctl(id, 0, GETVAL));
		op("other_op", id, 0, 1, IPC_NOWAIT);
		result("other_setval", semctl(id, 0, SETVAL, (union semun){ .val = 1 }));
		result("other_rmid", semctl(id, 0, IPC_RMID));
		_exit(0);
	}
	reap(c);
	ds.sem_perm.mode = 0604;
	result("set_mode", semctl(id, 0, IPC_SET, (union semun){ .buf = &ds }));
	c = xfork();
	if (c == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(99);
		result("other_getval_readable", semctl(id, 0, GETVAL));
		op("other_zero_wait_nowait", id, 0, 0, IPC_NOWAIT);
		op("other_op_still", id, 0, 1, IPC_NOWAIT);
		_exit(0);
	}
	reap(c);
	result("rmid", semctl(id, 0, IPC_RMID));
	result("rmid_again", semctl(id, 0, IPC_RMID));
	op("op_removed", id, 0, 1, 0);
	result("get_removed", semget(key, 0, 0));
	int p = semget(IPC_PRIVATE, 1, 0600);
	say("private", "%s", yesno(p >= 0 && p != id));
	result("private_rmid", semctl(p, 0, IPC_RMID));
	return 0;
}
