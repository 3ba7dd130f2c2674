/* System V message queues, one process: msgget's flags (ENOENT, IPC_CREAT,
 * IPC_EXCL, IPC_PRIVATE), message types (0, >0, MSG_EXCEPT, <0),
 * MSG_NOERROR, E2BIG, ENOMSG, MSG_COPY, the EINVAL and EFAULT paths,
 * msgctl's IPC_STAT, IPC_SET (a smaller queue fills: EAGAIN), IPC_INFO,
 * MSG_INFO, IPC_RMID and an unknown command. */
#include "common.h"
#include <sys/ipc.h>
#include <sys/msg.h>

struct mbuf {
	long mtype;
	char mtext[64];
};

static void snd(const char *name, int id, long type, const char *text, int flags)
{
	struct mbuf m = { .mtype = type };
	strcpy(m.mtext, text);
	outcome(name, msgsnd(id, &m, strlen(text), flags));
}

static void rcv(const char *name, int id, size_t size, long type, int flags)
{
	struct mbuf m;
	memset(&m, 0, sizeof m);
	ssize_t n = msgrcv(id, &m, size, type, flags);
	if (n < 0)
		result(name, n);
	else
		say(name, "%zd type %ld '%.*s'", n, m.mtype, (int)n, m.mtext);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	key_t key = (key_t)(0x48000000 | getpid());
	result("get_unbound", msgget(key, 0600));
	int id = msgget(key, IPC_CREAT | 0600);
	say("get_create", "%s", yesno(id >= 0));
	say("get_again_same", "%s", yesno(msgget(key, IPC_CREAT | 0600) == id));
	say("get_plain_same", "%s", yesno(msgget(key, 0) == id));
	result("get_excl", msgget(key, IPC_CREAT | IPC_EXCL | 0600));
	int p1 = msgget(IPC_PRIVATE, 0600), p2 = msgget(IPC_PRIVATE, 0600);
	say("private_fresh", "%s", yesno(p1 >= 0 && p2 >= 0 && p1 != p2 && p1 != id));

	snd("send_3a", id, 3, "a", 0);
	snd("send_1b", id, 1, "b", 0);
	snd("send_2c", id, 2, "c", 0);
	snd("send_1d", id, 1, "dddd", 0);
	struct msqid_ds ds;
	outcome("stat", msgctl(id, IPC_STAT, &ds));
	say("stat_qnum", "%lu", (unsigned long)ds.msg_qnum);
	say("stat_cbytes", "%lu", (unsigned long)ds.__msg_cbytes);
	say("stat_qbytes", "%lu", (unsigned long)ds.msg_qbytes);
	say("stat_mode", "%o", ds.msg_perm.mode & 0777);
	say("stat_key", "%s", yesno(ds.msg_perm.__key == key));
	say("stat_uid", "%u %u", ds.msg_perm.uid, ds.msg_perm.cuid);
	pidmatch("stat_lspid", ds.msg_lspid, getpid());
	say("stat_lrpid_zero", "%s", yesno(ds.msg_lrpid == 0));
	say("stat_stime_set", "%s", yesno(ds.msg_stime != 0 && ds.msg_rtime == 0));

	rcv("recv_type2", id, 64, 2, IPC_NOWAIT);
	rcv("recv_except1", id, 64, 1, MSG_EXCEPT | IPC_NOWAIT);
	rcv("recv_le5", id, 64, -5, IPC_NOWAIT);
	rcv("recv_e2big", id, 2, 0, IPC_NOWAIT);
	rcv("recv_copy_blocking", id, 64, 0, MSG_COPY);
	rcv("recv_copy_except", id, 64, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT);
	rcv("recv_copy0", id, 64, 0, MSG_COPY | IPC_NOWAIT);
	rcv("recv_copy1", id, 64, 1, MSG_COPY | IPC_NOWAIT);
	rcv("recv_noerror", id, 2, 0, MSG_NOERROR | IPC_NOWAIT);
	rcv("recv_empty", id, 64, 0, IPC_NOWAIT);
	rcv("recv_type7_empty", id, 64, 7, IPC_NOWAIT);
	outcome("stat_after", msgctl(id, IPC_STAT, &ds));
	pidmatch("stat_lrpid", ds.msg_lrpid, getpid());
	say("stat_after_qnum", "%lu %lu", (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes);

	snd("send_type0", id, 0, "x", 0);
	snd("send_negative_type", id, -1, "x", 0);
	struct mbuf big = { .mtype = 1 };
	outcome("send_too_big", msgsnd(id, &big, 8193, 0));
	outcome("send_bad_id", msgsnd(-1, &big, 1, 0));
	outcome("send_efault", msgsnd(id, (void *)8, 1, 0));
	outcome("recv_bad_id", msgrcv(-1, &big, 1, 0, IPC_NOWAIT));
	outcome("recv_negative_size", msgrcv(id, &big, (size_t)-1, 0, IPC_NOWAIT));

	ds.msg_qbytes = 4;
	outcome("set_qbytes", msgctl(id, IPC_SET, &ds));
	snd("send_fits", id, 1, "abcd", IPC_NOWAIT);
	snd("send_full", id, 1, "e", IPC_NOWAIT);
	outcome("set_efault", msgctl(id, IPC_SET, (void *)8));
	outcome("stat_efault", msgctl(id, IPC_STAT, (void *)8));

	struct msginfo info;
	int r = msgctl(0, IPC_INFO, (struct msqid_ds *)&info);
	say("ipc_info", "%s max %d mnb %d mni %d", yesno(r >= 0), info.msgmax, info.msgmnb, info.msgmni);
	r = msgctl(0, MSG_INFO, (struct msqid_ds *)&info);
	say("msg_info", "%s", yesno(r >= 0 && info.msgpool >= 3));
	outcome("ctl_unknown", msgctl(id, 1234, &ds));
	outcome("ctl_negative_id", msgctl(-1, IPC_STAT, &ds));

	outcome("rmid", msgctl(id, IPC_RMID, NULL));
	outcome("rmid_again", msgctl(id, IPC_RMID, NULL));
	snd("send_removed", id, 1, "x", IPC_NOWAIT);
	rcv("recv_removed", id, 64, 0, IPC_NOWAIT);
	outcome("stat_removed", msgctl(id, IPC_STAT, &ds));
	result("get_removed_key", msgget(key, 0600));
	outcome("rmid_p1", msgctl(p1, IPC_RMID, NULL));
	outcome("rmid_p2", msgctl(p2, IPC_RMID, NULL));
	return 0;
}
