/* ipc.h: what the System V IPC programs (ipc_*.c) share. */
#ifndef HERD_CONFORMANCE_IPC_H
#define HERD_CONFORMANCE_IPC_H

#include "common.h"

/* wait_sleeping polls until pid sleeps in the kernel (its state S): a
 * child that opened a gate and then called a blocking IPC call is in it. */
static void wait_sleeping(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	for (;;) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			char *p = strrchr(buf, ')');
			if (p && p[2] == 'S')
				return;
		}
		msleep(1);
	}
}

static void on_usr1(int sig) { (void)sig; }

#endif
