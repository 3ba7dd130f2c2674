/* pipex: pipes between a parent and a child that execs this program again
 * (placed where the policy says), the child's stdin and stdout being the
 * pipes measured.
 *
 *   pipex out BYTES   the parent writes BYTES into the child's stdin; the
 *                     child reads to EOF. Timed from the child's "ready"
 *                     byte to its exit (so its output is drained).
 *   pipex in BYTES    the child writes BYTES to its stdout; the parent
 *                     reads to EOF. Timed from the first byte to EOF.
 *   pipex pong N      1-byte ping-pong over two pipes, N round trips,
 *                     after one untimed. */
#include "across.h"
#include <string.h>
#include <sys/wait.h>

#define CHUNK (128 * 1024)
static char buf[CHUNK];

static int child(const char *mode, long n)
{
	char c = 'r';
	ssize_t r;
	if (strcmp(mode, "sink") == 0) {
		if (write(1, &c, 1) != 1)
			die("sink: ready");
		while ((r = read(0, buf, CHUNK)) > 0)
			;
		return r < 0;
	}
	if (strcmp(mode, "source") == 0) {
		for (long left = n; left > 0; left -= r)
			if ((r = write(1, buf, left < CHUNK ? left : CHUNK)) <= 0)
				die("source: write");
		return 0;
	}
	while (read(0, &c, 1) == 1) /* echo */
		if (write(1, &c, 1) != 1)
			return 1;
	return 0;
}

/* start runs argv[0] MODE [n] with stdin and stdout on the given fds,
 * closing both pipes' other ends in the child. */
static pid_t start(char **argv, const char *mode, const char *n, int in, int out, int p[2], int q[2])
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
			_exit(126);
		for (int i = 0; i < 2; i++) {
			if (p[i] > 2)
				close(p[i]);
			if (q[i] > 2)
				close(q[i]);
		}
		execl(argv[0], argv[0], mode, n, (char *)NULL);
		_exit(127);
	}
	close(in);
	close(out);
	return pid;
}

static void reap(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "pipex: child status %#x\n", st);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "sink") == 0 || strcmp(argv[1], "echo") == 0))
		return child(argv[1], 0);
	long n = num_arg(argc, argv, 2);
	if (strcmp(argv[1], "source") == 0)
		return child(argv[1], n);
	int p[2], q[2]; /* p: parent to child, q: child to parent */
	if (pipe(p) < 0 || pipe(q) < 0)
		die("pipe");
	long long t0 = 0, t1;
	char c = 'x';
	ssize_t r;
	if (strcmp(argv[1], "out") == 0) {
		pid_t pid = start(argv, "sink", NULL, p[0], q[1], p, q);
		if (read(q[0], &c, 1) != 1)
			die("read ready");
		t0 = now_ns();
		for (long left = n; left > 0; left -= r)
			if ((r = write(p[1], buf, left < CHUNK ? left : CHUNK)) <= 0)
				die("write");
		close(p[1]);
		reap(pid);
		t1 = now_ns();
	} else if (strcmp(argv[1], "in") == 0) {
		close(p[1]);
		pid_t pid = start(argv, "source", argv[2], p[0], q[1], p, q);
		long got = 0;
		while ((r = read(q[0], buf, CHUNK)) > 0) {
			if (got == 0)
				t0 = now_ns();
			got += r;
		}
		t1 = now_ns();
		reap(pid);
		if (got != n) {
			fprintf(stderr, "pipex in: got %ld bytes, want %ld\n", got, n);
			return 1;
		}
	} else {
		pid_t pid = start(argv, "echo", NULL, p[0], q[1], p, q);
		if (write(p[1], &c, 1) != 1 || read(q[0], &c, 1) != 1)
			die("warm-up round trip");
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			if (write(p[1], &c, 1) != 1 || read(q[0], &c, 1) != 1)
				die("round trip");
		t1 = now_ns();
		close(p[1]);
		reap(pid);
	}
	printf("%lld\n", t1 - t0);
	return 0;
}
