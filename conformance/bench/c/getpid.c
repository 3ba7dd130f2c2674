/* getpid: not intercepted by herd, so it should cost what it costs natively.
 * syscall() rather than getpid() so that no libc can cache the answer. */
#include "bench.h"
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = count_arg(argc, argv);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_getpid);
	report(t0, now_ns());
	return 0;
}
