/* cputime.c - CPU time of commands, to the microsecond.
 *
 *   cc -O2 -o cputime bench/cputime.c
 *   ./cputime RUNS FILE.va OLD/vbpf2c NEW/vbpf2c ...
 *   ./cputime --once CMD [ARG...]
 *
 * The first form runs `BUILD --check FILE.va` RUNS times for each build,
 * one build after the other in every round, so that load from elsewhere
 * on a shared machine falls on all of them alike, and prints for each
 * build the least, first-quartile and median CPU time (user + system) and
 * the least and median user time. Read the least figures against each
 * other: a busy machine only ever adds time.
 *
 * The second runs CMD once and prints its CPU time in nanoseconds, the
 * children it waited for included (clang, under `vbpf2c -c`), and exits
 * with CMD's status: bench/run.sh times every command with it. bash's
 * `time` counts milliseconds, 2.5% of a 40 ms compile, more than the 2%
 * bench/run.sh section 2 looks for.
 *
 * Both take the time from wait4's rusage, in microseconds; the command's
 * output goes to /dev/null. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Runs argv once, its output on /dev/null: its exit status (-1 when it
 * could not be waited for, 128 + the signal that killed it), *user and
 * *cpu its user and user + system time in milliseconds. */
static int run_once(char **argv, double *user, double *cpu)
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("cputime: fork");
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("cputime: wait4");
		return -1;
	}
	*user = ms(ru.ru_utime);
	*cpu = *user + ms(ru.ru_stime);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "--once") == 0) {
		double user, cpu;
		int status = run_once(argv + 2, &user, &cpu);
		if (status < 0)
			return 2;
		printf("%.0f\n", cpu * 1e6);
		return status;
	}
	int runs = argc > 3 ? atoi(argv[1]) : 0;
	int builds = argc - 3;
	if (runs < 1 || runs > MAX_RUNS || builds < 1 || builds > MAX_BUILDS) {
		fprintf(stderr, "usage: cputime RUNS FILE.va VBPF2C... (1-%d runs, 1-%d builds)\n"
				"       cputime --once CMD [ARG...]\n",
			MAX_RUNS, MAX_BUILDS);
		return 2;
	}
	static double cpu[MAX_BUILDS][MAX_RUNS], user[MAX_BUILDS][MAX_RUNS];
	for (int i = 0; i < runs; i++) {
		for (int b = 0; b < builds; b++) {
			char *check[] = { argv[3 + b], "--check", argv[2], NULL };
			if (run_once(check, &user[b][i], &cpu[b][i]) != 0) {
				fprintf(stderr, "cputime: %s --check %s failed\n", argv[3 + b], argv[2]);
				return 1;
			}
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
