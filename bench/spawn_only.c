/* spawn_only.c - a program that runs its arguments as a child and waits
 * for it, and does nothing else.
 *
 *   cc -O2 -static -no-pie -o spawn_only bench/spawn_only.c
 *   ./spawn_only clang -O2 -g -target bpf -c prog.bpf.c -o prog.o
 *
 * bench/run.sh section 2 times it around clang next to `vbpf2c -c` and
 * clang alone: it is the least that any tool costs which runs clang as a
 * process of its own - its own start, exit and one spawn - linked as
 * vbpf2c is (the Makefile's VBPF2C_LDFLAGS) and spawning as vbpf2c does
 * (posix_spawnp). What `vbpf2c -c` costs above it is its own work: the
 * front end, the C, the pipe, the staged object and its check.
 *
 * Exits with the child's status, 127 when it cannot be run. */
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: spawn_only CMD [ARG...]\n", stderr);
		return 2;
	}
	pid_t pid;
	if (posix_spawnp(&pid, argv[1], NULL, NULL, argv + 1, environ) != 0)
		return 127;
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
