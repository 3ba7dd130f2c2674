/* tcpref: the raw TCP reference on the link between two nodes' network
 * namespaces (started in them with ip netns exec).
 *
 *   tcpref serve PORT echo|sink  accept one connection; echo every byte
 *                                (for rtt) or read to EOF and answer one
 *                                byte (for tput)
 *   tcpref rtt ADDR PORT N       N 1-byte round trips, after one untimed
 *   tcpref tput ADDR PORT BYTES  send BYTES, shut down, await the answer
 *
 * Both sides set TCP_NODELAY; the client retries connect for 10 s while
 * the server starts. */
#include "across.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#define CHUNK (128 * 1024)
static char buf[CHUNK];

static void nodelay(int s)
{
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int serve(int port, int echo)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0)
		die("serve: listen");
	printf("listening\n");
	fflush(stdout);
	int s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	nodelay(s);
	ssize_t r;
	char c = 'a';
	while ((r = read(s, buf, CHUNK)) > 0)
		if (echo && write(s, buf, r) != r)
			die("serve: echo");
	if (r == 0 && write(s, &c, 1) != 1)
		die("serve: answer");
	close(s);
	return 0;
}

static int dial(const char *addr, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
		fprintf(stderr, "tcpref: bad address %s\n", addr);
		exit(2);
	}
	for (long long end = now_ns() + 10000000000LL;;) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
			nodelay(s);
			return s;
		}
		close(s);
		if (now_ns() > end)
			die("connect");
		usleep(10000);
	}
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve(num_arg(argc, argv, 2), strcmp(argv[3], "echo") == 0);
	if (argc != 5) {
		fprintf(stderr, "usage: tcpref serve PORT echo|sink | rtt|tput ADDR PORT N\n");
		return 2;
	}
	long n = num_arg(argc, argv, 4);
	int s = dial(argv[2], num_arg(argc, argv, 3));
	char c = 'x';
	long long t0, t1;
	ssize_t r;
	if (strcmp(argv[1], "rtt") == 0) {
		if (write(s, &c, 1) != 1 || read(s, &c, 1) != 1)
			die("warm-up round trip");
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			if (write(s, &c, 1) != 1 || read(s, &c, 1) != 1)
				die("round trip");
		t1 = now_ns();
	} else {
		memset(buf, 0, CHUNK);
		t0 = now_ns();
		for (long left = n; left > 0; left -= r)
			if ((r = write(s, buf, left < CHUNK ? left : CHUNK)) <= 0)
				die("write");
		shutdown(s, SHUT_WR);
		if (read(s, &c, 1) != 1)
			die("read answer");
		t1 = now_ns();
	}
	printf("%lld\n", t1 - t0);
	return 0;
}
