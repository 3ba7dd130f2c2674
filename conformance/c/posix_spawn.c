/* posix_spawn/posix_spawnp: of /bin/true, of ourselves, of a missing file
 * (ENOENT), of a non-executable file (EACCES); file actions redirecting
 * stdout to a pipe; POSIX_SPAWN_SETPGROUP and SETSIGMASK. */
#include "common.h"
#include <spawn.h>
#include <sys/stat.h>

extern char **environ;

int main(int argc, char **argv)
{
	setup(argc, argv);
	if (argc > 1 && strcmp(argv[1], "spawned") == 0) {
		say("spawned_args", "%s", argc > 2 ? argv[2] : "-");
		say("spawned_pgrp_own", "%s", yesno(getpgrp() == getpid()));
		sigset_t m;
		sigprocmask(SIG_SETMASK, NULL, &m);
		say("spawned_usr1_blocked", "%s", yesno(sigismember(&m, SIGUSR1)));
		return 9;
	}
	pid_t pid;
	int st;
	char *targs[] = { "true", NULL };
	fflush(NULL);
	int r = posix_spawn(&pid, "/bin/true", NULL, NULL, targs, environ);
	say("spawn_true", "%s", r ? errname(r) : "ok");
	pidmatch("spawn_true_wait", waitpid(pid, &st, 0), pid);
	say("spawn_true_status", "%s", wstatus(st));

	r = posix_spawnp(&pid, "true", NULL, NULL, targs, environ);
	say("spawnp_true", "%s", r ? errname(r) : "ok");
	say("spawnp_true_status", "%s", wstatus(reap(pid)));

	char *sargs[] = { (char *)argv0, "spawned", "hello", NULL };
	r = posix_spawn(&pid, argv0, NULL, NULL, sargs, environ);
	st = r ? 0 : reap(pid); /* the child prints: report after it is done */
	say("spawn_self", "%s", r ? errname(r) : "ok");
	say("spawn_self_status", "%s", wstatus(st));

	/* attributes: own process group, USR1 blocked */
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&at, 0);
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	posix_spawnattr_setsigmask(&at, &m);
	/* file actions: child's stdout to a pipe */
	int p[2];
	if (pipe(p) < 0)
		return 1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	fflush(NULL);
	r = posix_spawn(&pid, argv0, &fa, &at, sargs, environ);
	say("spawn_attrs", "%s", r ? errname(r) : "ok");
	close(p[1]);
	say("spawn_attrs_status", "%s", wstatus(reap(pid)));
	printf("--- spawned child's output via pipe:\n");
	relay(p[0]);
	close(p[0]);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);

	char *margs[] = { "missing", NULL };
	pid = 0;
	r = posix_spawn(&pid, "/nonexistent/missing", NULL, NULL, margs, environ);
	say("spawn_missing", "%s", r ? errname(r) : "ok");
	result("spawn_missing_no_child_left", waitpid(-1, NULL, WNOHANG));
	r = posix_spawnp(&pid, "herd-no-such-program", NULL, NULL, margs, environ);
	say("spawnp_missing", "%s", r ? errname(r) : "ok");
	char dir[] = "/tmp/herd-spawn-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[128];
	snprintf(path, sizeof path, "%s/data", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	write_all(fd, "data\n", 5);
	close(fd);
	r = posix_spawn(&pid, path, NULL, NULL, margs, environ);
	say("spawn_not_executable", "%s", r ? errname(r) : "ok");
	/* executable but not a valid image: posix_spawn does not fall back to sh */
	chmod(path, 0755);
	r = posix_spawn(&pid, path, NULL, NULL, margs, environ);
	say("spawn_garbage_executable", "%s", r ? errname(r) : "ok");
	if (r == 0)
		say("spawn_garbage_status", "%s", wstatus(reap(pid)));
	rmdir_flat(dir);
	result("no_children_left", waitpid(-1, NULL, WNOHANG));
	return 0;
}
