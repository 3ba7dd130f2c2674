/* getppid: a call herd answers from pidspace (the kernel parent is
 * herd-init); through seccomp user notification where the kernel has it. */
#include "bench.h"
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = count_arg(argc, argv);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (getppid() <= 0)
			die("getppid");
	report(t0, now_ns());
	return 0;
}
