/* System V message queue permissions (ipc_perm checked for the caller):
 * an unprivileged process against root's 0600 queue (msgget asking for
 * no access passes, asking for read fails; send, receive, IPC_STAT give
 * EACCES, IPC_SET and IPC_RMID EPERM), through its group's bits, and as
 * the owner IPC_SET made it (raising msg_qbytes past msgmnb is EPERM,
 * IPC_RMID works). */
#include "common.h"
#include <sys/ipc.h>
#include <sys/msg.h>

struct mbuf {
	long mtype;
	char c[8];
};

static void as_nobody(key_t key, int id, int owner)
{
	pid_t c = xfork();
	if (c != 0) {
		reap(c);
		return;
	}
	if (setgid(65534) < 0 || setuid(65534) < 0)
		_exit(99);
	struct mbuf m = { .mtype = 1, .c = "x" };
	struct msqid_ds ds;
	result("get_no_access", msgget(key, 0) == id);
	outcome("get_read", msgget(key, 0400));
	outcome("get_write", msgget(key, 0200));
	outcome("send", msgsnd(id, &m, 1, IPC_NOWAIT));
	outcome("recv", msgrcv(id, &m, 1, 0, IPC_NOWAIT));
	outcome("stat", msgctl(id, IPC_STAT, &ds));
	memset(&ds, 0, sizeof ds);
	ds.msg_perm.uid = 65534;
	ds.msg_perm.gid = 65534;
	ds.msg_perm.mode = 0600;
	ds.msg_qbytes = owner ? 1 << 20 : 16;
	outcome("set", msgctl(id, IPC_SET, &ds));
	if (owner) {
		ds.msg_qbytes = 100;
		outcome("set_smaller", msgctl(id, IPC_SET, &ds));
		outcome("rmid", msgctl(id, IPC_RMID, NULL));
	} else {
		outcome("rmid", msgctl(id, IPC_RMID, NULL));
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	key_t key = (key_t)(0x4a000000 | getpid());
	int id = msgget(key, IPC_CREAT | 0600);
	struct mbuf m = { .mtype = 1, .c = "q" };
	outcome("root_send", msgsnd(id, &m, 1, 0));
	say("other", "%s", "");
	as_nobody(key, id, 0);

	struct msqid_ds ds;
	msgctl(id, IPC_STAT, &ds);
	ds.msg_perm.gid = 65534;
	ds.msg_perm.mode = 0640;
	outcome("root_set_group", msgctl(id, IPC_SET, &ds));
	say("group", "%s", "");
	as_nobody(key, id, 0);

	msgctl(id, IPC_STAT, &ds);
	ds.msg_perm.uid = 65534;
	ds.msg_perm.mode = 0600;
	outcome("root_give", msgctl(id, IPC_SET, &ds));
	msgctl(id, IPC_STAT, &ds);
	say("given", "uid %u cuid %u gid %u", ds.msg_perm.uid, ds.msg_perm.cuid, ds.msg_perm.gid);
	say("owner", "%s", "");
	as_nobody(key, id, 1);
	outcome("gone", msgctl(id, IPC_STAT, &ds));
	return 0;
}
