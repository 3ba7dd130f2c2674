/* System V message queues between processes: a ping-pong of 200 messages
 * with a child that re-executes itself (in spread mode it runs on another
 * node), a blocked receiver interrupted by a signal (EINTR, nothing lost),
 * a blocked receiver woken by IPC_RMID (EIDRM), and a sender blocked on a
 * full queue until a receive makes room. */
#include "ipc.h"
#include <sys/ipc.h>
#include <sys/msg.h>

#define ROUNDS 200

struct mbuf {
	long mtype;
	int n;
};

/* pong answers ROUNDS pings of type 1 with n+1 as type 2, making the
 * queue if it is not there yet (the cluster tests start it first). */
static int pong(const char *keystr)
{
	int id = msgget((key_t)strtol(keystr, NULL, 0), IPC_CREAT | 0600);
	if (id < 0)
		return 2;
	for (int i = 0; i < ROUNDS; i++) {
		struct mbuf m;
		long r = msgrcv(id, &m, sizeof m.n, 1, 0);
		if (r != sizeof m.n) {
			result("pong_recv", r);
			return 3;
		}
		m.mtype = 2;
		m.n++;
		if (msgsnd(id, &m, sizeof m.n, 0) < 0)
			return 4;
	}
	return 0;
}

static int ping(int id, int rounds)
{
	int ok = 1;
	for (int i = 0; i < rounds && ok; i++) {
		struct mbuf m = { .mtype = 1, .n = i * 10 };
		ok = msgsnd(id, &m, sizeof m.n, 0) == 0 && msgrcv(id, &m, sizeof m.n, 2, 0) == sizeof m.n && m.n == i * 10 + 1;
	}
	say("pingpong", "%s", yesno(ok));
	return !ok;
}

/* The modes of the cluster tests (conformance/cluster/ipc_test.go): make
 * KEY makes the queue; ping KEY pings a pong and removes the queue; ping1
 * KEY pings once and leaves it. */
static int cluster_mode(const char *mode, const char *keystr)
{
	int id = msgget((key_t)strtol(keystr, NULL, 0), IPC_CREAT | 0600);
	if (id < 0) {
		result("get", id);
		return 2;
	}
	if (strcmp(mode, "make") == 0)
		return 0;
	if (strcmp(mode, "ping1") == 0)
		return ping(id, 1);
	int r = ping(id, ROUNDS);
	outcome("rmid", msgctl(id, IPC_RMID, NULL));
	return r;
}

static void pingpong(key_t key, int id)
{
	char keystr[32];
	snprintf(keystr, sizeof keystr, "%#x", (unsigned)key);
	pid_t c = xfork();
	if (c == 0) {
		execl(argv0, argv0, "pong", keystr, (char *)NULL);
		_exit(98);
	}
	ping(id, ROUNDS);
	say("pong_status", "%s", wstatus(reap(c)));
}

/* blocked forks a child that blocks in msgrcv (send: in msgsnd of one
 * byte), waits until it sleeps, runs act; the child prints its outcome,
 * then (after the child's end, so the order is fixed) act's result. */
static void blocked(const char *name, int id, int send, long (*act)(pid_t, int), int arg)
{
	pid_t c = xfork();
	if (c == 0) {
		sigaction_simple(SIGUSR1, on_usr1, 0);
		struct mbuf m = { .mtype = 1, .n = 7 };
		long r = send ? msgsnd(id, &m, 1, 0) : msgrcv(id, &m, sizeof m.n, 0, 0);
		outcome(name, r);
		_exit(0);
	}
	wait_sleeping(c);
	long r = act(c, arg);
	reap(c);
	result("then", r);
}

static long signal_it(pid_t c, int arg) { (void)arg; return kill(c, SIGUSR1); }
static long remove_it(pid_t c, int id) { (void)c; return msgctl(id, IPC_RMID, NULL); }

static long receive_one(pid_t c, int id)
{
	(void)c;
	struct mbuf m;
	return msgrcv(id, &m, sizeof m.n, 0, 0);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	if (argc == 3 && strcmp(argv[1], "pong") == 0)
		return pong(argv[2]);
	if (argc == 3)
		return cluster_mode(argv[1], argv[2]);
	key_t key = (key_t)(0x49000000 | getpid());
	int id = msgget(key, IPC_CREAT | 0600);
	say("get", "%s", yesno(id >= 0));
	pingpong(key, id);

	blocked("recv_interrupted", id, 0, signal_it, 0);
	struct mbuf m = { .mtype = 5, .n = 42 };
	outcome("send_after", msgsnd(id, &m, sizeof m.n, 0));
	m.n = 0;
	result("recv_after", msgrcv(id, &m, sizeof m.n, 5, IPC_NOWAIT));
	say("recv_after_value", "%d", m.n);

	struct msqid_ds ds;
	msgctl(id, IPC_STAT, &ds);
	ds.msg_qbytes = 4;
	outcome("shrink", msgctl(id, IPC_SET, &ds));
	outcome("fill", msgsnd(id, &m, 4, 0));
	blocked("send_blocked", id, 1, receive_one, id);
	result("left", msgrcv(id, &m, sizeof m.n, 0, IPC_NOWAIT));
	outcome("fill_again", msgsnd(id, &m, 4, 0));
	blocked("send_interrupted", id, 1, signal_it, 0);
	result("drain", msgrcv(id, &m, sizeof m.n, 0, IPC_NOWAIT));
	result("drained", msgrcv(id, &m, sizeof m.n, 0, IPC_NOWAIT));

	blocked("recv_removed", id, 0, remove_it, id);
	outcome("stat_removed", msgctl(id, IPC_STAT, &ds));
	return 0;
}
