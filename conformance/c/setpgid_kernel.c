/* setpgid of a child by its parent reaches the kernel's own process
 * groups, which the terminal and /proc use: the parent moves a child that
 * is blocked (not exec'd) into a new group, and into the group of a
 * sibling, and /proc/<child>/stat agrees with getpgid. */
#include "common.h"

/* kernel_pgrp reads field 5 of /proc/pid/stat. */
static long kernel_pgrp(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	int ppid, pgrp;
	char state;
	if (!p || sscanf(p + 2, "%c %d %d", &state, &ppid, &pgrp) != 3)
		return -1;
	return pgrp;
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	int g1[2], g2[2];
	xpipe(g1);
	xpipe(g2);
	pid_t a = xfork();
	if (a == 0) {
		gate_wait(g1[0]);
		_exit(0);
	}
	pid_t b = xfork();
	if (b == 0) {
		gate_wait(g2[0]);
		_exit(0);
	}
	result("setpgid_a_own_group", setpgid(a, a));
	say("a_getpgid_is_a", "%s", yesno(getpgid(a) == a));
	say("a_kernel_pgrp_is_a", "%s", yesno(kernel_pgrp(a) == a));
	result("setpgid_b_into_a", setpgid(b, a));
	say("b_getpgid_is_a", "%s", yesno(getpgid(b) == a));
	say("b_kernel_pgrp_is_a", "%s", yesno(kernel_pgrp(b) == a));
	/* a group signal reaches both through the kernel's groups too */
	result("killpg_a_sig0", killpg(a, 0));
	gate_open(g1[1]);
	gate_open(g2[1]);
	say("a", "%s", wstatus(reap(a)));
	say("b", "%s", wstatus(reap(b)));
	return 0;
}
