/* Invalid arguments to wait4/waitid: EINVAL for unknown option bits, no
 * event selected, bad idtype, non-positive ids; ESRCH for INT_MIN. */
#include "common.h"
#include <limits.h>

int main(int argc, char **argv)
{
	setup(argc, argv);
	siginfo_t si;
	pid_t c = xfork();
	if (c == 0) {
		for (;;)
			pause();
	}
	result("wait4_bad_option_bit", wait4(c, NULL, 0x100, NULL));
	result("wait4_wclone_normal_child", wait4(c, NULL, (int)0x80000000u /* __WCLONE */ | WNOHANG, NULL));
	result("wait4_wexited", syscall(SYS_wait4, c, NULL, WEXITED | WNOHANG, NULL));
	result("wait4_int_min", wait4(INT_MIN, NULL, WNOHANG, NULL));
	result("waitid_no_event", waitid(P_PID, (id_t)c, &si, WNOHANG));
	result("waitid_bad_bits", waitid(P_PID, (id_t)c, &si, WEXITED | 0x100));
	result("waitid_bad_idtype", syscall(SYS_waitid, 17, c, &si, WEXITED | WNOHANG, NULL));
	result("waitid_p_pid_0", waitid(P_PID, 0, &si, WEXITED | WNOHANG));
	result("waitid_p_pid_negative", syscall(SYS_waitid, P_PID, -5, &si, WEXITED | WNOHANG, NULL));
	result("waitid_p_pgid_negative", syscall(SYS_waitid, P_PGID, -5, &si, WEXITED | WNOHANG, NULL));
	result("waitid_p_pidfd_bad_fd", syscall(SYS_waitid, 3 /* P_PIDFD */, -1, &si, WEXITED | WNOHANG, NULL));
	result("waitid_wnowait_only", waitid(P_PID, (id_t)c, &si, WNOWAIT | WNOHANG));
	result("waitid_wall_wnohang", waitid(P_PID, (id_t)c, &si, WEXITED | WNOHANG | __WALL));
	result("wait4_wall_wnohang", wait4(c, NULL, WNOHANG | __WALL, NULL));
	result("wait4_wnothread_wnohang", wait4(c, NULL, WNOHANG | __WNOTHREAD, NULL));
	kill(c, SIGKILL);
	say("child", "%s", wstatus(reap(c)));
	return 0;
}
