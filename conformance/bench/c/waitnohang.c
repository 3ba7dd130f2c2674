/* waitnohang: waitpid(-1, WNOHANG) with no child, ECHILD at once; herd
 * answers waits from pidspace. */
#include "bench.h"
#include <errno.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	long n = count_arg(argc, argv);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
			die("waitpid");
	report(t0, now_ns());
	return 0;
}
