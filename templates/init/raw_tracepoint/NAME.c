/* @NAME@.c - loads @NAME@.bpf.o through its bpftool skeleton (@NAME@.skel.h),
 * attaches it to the sys_enter raw tracepoint and prints every second how
 * many system calls it counted, until Ctrl-C.
 *
 *   ./@NAME@ [-p PID] [-d SECONDS]
 *
 * -p tracks the process PID (default: this loader itself, whose sleeps and
 * writes then show up); -d stops after SECONDS. Needs root (or CAP_BPF and
 * CAP_PERFMON).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* struct Count and the maps' key and value types, from @NAME@.va. */
#include "@NAME@.h"
#include "@NAME@.skel.h"

/* max_entries of the map `syscalls`. */
enum { NSYSCALLS = 512 };

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Totals over every system call number, and the busiest one. */
static int print_counts(struct @NAME@_bpf *skel)
{
	unsigned long long all = 0, tracked = 0, busiest_calls = 0;
	syscalls_key_t busiest = 0;
	for (syscalls_key_t id = 0; id < NSYSCALLS; id++) {
		syscalls_value_t c;
		int err = bpf_map__lookup_elem(skel->maps.syscalls, &id,
					       sizeof(id), &c, sizeof(c), 0);
		if (err) {
			fprintf(stderr, "reading syscalls: %s\n",
				strerror(-err));
			return err;
		}
		all += c.all;
		tracked += c.tracked;
		if (c.all > busiest_calls) {
			busiest_calls = c.all;
			busiest = id;
		}
	}
	printf("%llu system calls, %llu by the tracked process; busiest: number %u (%llu)\n",
	       all, tracked, busiest, busiest_calls);
	return 0;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-p PID] [-d SECONDS]\n", argv0);
}

int main(int argc, char **argv)
{
	track_value_t pid = (track_value_t)getpid();
	int seconds = 0, opt;
	while ((opt = getopt(argc, argv, "p:d:h")) != -1) {
		char *end;
		switch (opt) {
		case 'p':
			pid = (track_value_t)strtoul(optarg, &end, 10);
			if (*end) {
				fprintf(stderr, "-p takes a process id\n");
				return 2;
			}
			break;
		case 'd':
			seconds = (int)strtol(optarg, &end, 10);
			if (*end || seconds <= 0) {
				fprintf(stderr,
					"-d takes a number of seconds\n");
				return 2;
			}
			break;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind < argc) {
		usage(argv[0]);
		return 2;
	}

	struct @NAME@_bpf *skel = @NAME@_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "loading @NAME@.bpf.o: %s%s\n", strerror(errno),
			errno == EPERM ? " (run as root)" : "");
		return 1;
	}
	track_key_t zero = 0;
	int err = bpf_map__update_elem(skel->maps.track, &zero, sizeof(zero),
				       &pid, sizeof(pid), BPF_ANY);
	if (err)
		fprintf(stderr, "setting the tracked process: %s\n",
			strerror(-err));
	/* Attaches every program of the skeleton by its section name
	 * (raw_tracepoint/sys_enter); destroying the skeleton detaches it. */
	if (!err && (err = @NAME@_bpf__attach(skel)))
		fprintf(stderr, "attaching: %s\n", strerror(-err));
	if (!err) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		printf("counting system calls, tracking pid %u; Ctrl-C stops\n",
		       pid);
		for (int elapsed = 0;
		     !stop && (seconds <= 0 || elapsed < seconds); elapsed++) {
			sleep(1);
			if ((err = print_counts(skel)))
				break;
		}
	}
	@NAME@_bpf__destroy(skel);
	return err ? 1 : 0;
}
