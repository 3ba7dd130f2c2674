/* pipe: 1-byte ping-pong between parent and child over two pipes; one op is
 * one round trip. The fork and the final wait are outside the timed loop. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = count_arg(argc, argv);
	int ping[2], pong[2];
	if (pipe(ping) < 0 || pipe(pong) < 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	char c = 'x';
	if (pid == 0) {
		close(ping[1]);
		close(pong[0]);
		while (read(ping[0], &c, 1) == 1)
			if (write(pong[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(ping[0]);
	close(pong[1]);
	/* One untimed round trip so the child is running before the clock starts. */
	if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
		die("warm-up round trip");
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (write(ping[1], &c, 1) != 1)
			die("write");
		if (read(pong[0], &c, 1) != 1)
			die("read");
	}
	long long t1 = now_ns();
	close(ping[1]);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	report(t0, t1);
	return 0;
}
