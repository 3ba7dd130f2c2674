/* kill: kill(getpid(), 0), a call herd traps (kill is routed through
 * pidspace); getpid itself runs natively. */
#include "bench.h"
#include <signal.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = count_arg(argc, argv);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (kill(getpid(), 0) != 0)
			die("kill");
	report(t0, now_ns());
	return 0;
}
