/* cputime.c - the CPU time of vbpf2c builds on one program, alternated.
 *
 *   cc -O2 -o cputime bench/cputime.c
 *   ./cputime RUNS FILE.va OLD/vbpf2c NEW/vbpf2c ...
 *
 * Runs `BUILD --check FILE.va` RUNS times for each build, one build after
 * the other in every round, so that load from elsewhere on a shared
 * machine falls on all of them alike, and prints for each build the
 * least, first-quartile and median CPU time (user + system, from wait4's
 * rusage, which counts microseconds where bash's `time` counts
 * milliseconds) and the least and median user time. The output goes to
 * /dev/null. Read the least figures against each other: a busy machine
 * only ever adds time. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_BUILDS = 8, MAX_RUNS = 1000 };

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double ms(struct timeval tv)
{
	return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

int main(int argc, char **argv)
{
	int runs = argc > 3 ? atoi(argv[1]) : 0;
	int builds = argc - 3;
	if (runs < 1 || runs > MAX_RUNS || builds < 1 || builds > MAX_BUILDS) {
		fprintf(stderr, "usage: cputime RUNS FILE.va VBPF2C... (1-%d runs, 1-%d builds)\n",
			MAX_RUNS, MAX_BUILDS);
		return 2;
	}
	static double cpu[MAX_BUILDS][MAX_RUNS], user[MAX_BUILDS][MAX_RUNS];
	for (int i = 0; i < runs; i++) {
		for (int b = 0; b < builds; b++) {
			const char *vbpf2c = argv[3 + b];
			pid_t pid = fork();
			if (pid < 0) {
				perror("cputime: fork");
				return 2;
			}
			if (pid == 0) {
				int null = open("/dev/null", O_WRONLY);
				dup2(null, 1);
				dup2(null, 2);
				execl(vbpf2c, vbpf2c, "--check", argv[2], (char *)NULL);
				_exit(127);
			}
			int status;
			struct rusage ru;
			if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "cputime: %s --check %s failed\n", vbpf2c, argv[2]);
				return 1;
			}
			user[b][i] = ms(ru.ru_utime);
			cpu[b][i] = user[b][i] + ms(ru.ru_stime);
		}
	}
	for (int b = 0; b < builds; b++) {
		qsort(cpu[b], (size_t)runs, sizeof(double), by_value);
		qsort(user[b], (size_t)runs, sizeof(double), by_value);
		printf("%s: CPU least %.1f, quartile %.1f, median %.1f ms; user least %.1f, median %.1f ms\n",
		       argv[3 + b], cpu[b][0], cpu[b][runs / 4], cpu[b][runs / 2], user[b][0], user[b][runs / 2]);
	}
	return 0;
}
