/* @NAME@.c - loads @NAME@.bpf.o through its bpftool skeleton (@NAME@.skel.h)
 * and prints what the program counted.
 *
 *   ./@NAME@ [-b ADDR]...               run one IPv4 packet to 10.0.0.2
 *                                      through the program (BPF_PROG_TEST_RUN)
 *   ./@NAME@ [-b ADDR]... [-d SEC] CGROUP  attach to the cgroup directory
 *                                      CGROUP (/sys/fs/cgroup/...) and print
 *                                      the counters every second until
 *                                      Ctrl-C (or for SEC seconds)
 *
 * -b blocks an IPv4 address (10.0.0.2) by adding it to the map `blocked`.
 * Needs root (or CAP_BPF and CAP_NET_ADMIN).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* struct Stats and the maps' key and value types, from @NAME@.va. */
#include "@NAME@.h"
#include "@NAME@.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int print_counters(struct @NAME@_bpf *skel)
{
	stats_key_t zero = 0;
	stats_value_t stats;
	int err = bpf_map__lookup_elem(skel->maps.stats, &zero, sizeof(zero),
				       &stats, sizeof(stats), 0);
	if (err) {
		fprintf(stderr, "reading stats: %s\n", strerror(-err));
		return err;
	}
	printf("%llu packets, %llu bytes", (unsigned long long)stats.packets,
	       (unsigned long long)stats.bytes);

	/* Every entry of blocked: the kernel reads the previous key before it
	 * writes the next one, so one variable serves as both. */
	blocked_key_t key, *prev = NULL;
	blocked_value_t drops;
	char addr[INET_ADDRSTRLEN];
	while (!bpf_map__get_next_key(skel->maps.blocked, prev, &key,
				      sizeof(key))) {
		if (!bpf_map__lookup_elem(skel->maps.blocked, &key, sizeof(key),
					  &drops, sizeof(drops), 0))
			printf("; %s: %llu dropped",
			       inet_ntop(AF_INET, &key, addr, sizeof(addr)),
			       (unsigned long long)drops);
		prev = &key;
	}
	printf("\n");
	return 0;
}

/* A UDP packet 10.0.0.1 -> 10.0.0.2, Ethernet and IPv4 headers then zeros;
 * the program sees it from the IPv4 header on. */
static int run_one_packet(struct @NAME@_bpf *skel)
{
	unsigned char packet[64] = { 0 };
	/* EtherType IPv4, then the IPv4 header: version 4, IHL 5, length 28,
	 * TTL 64, UDP, 10.0.0.1 -> 10.0.0.2 */
	static const char headers[] = "\x08\x00"
				      "\x45\x00\x00\x1c\x00\x00\x00\x00"
				      "\x40\x11\x00\x00"
				      "\x0a\x00\x00\x01\x0a\x00\x00\x02";

	memcpy(packet + 12, headers, sizeof(headers) - 1);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet,
		    .data_size_in = sizeof(packet));
	int err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.egress),
					 &opts);
	if (err) {
		fprintf(stderr, "BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		return err;
	}
	printf("one IPv4 packet to 10.0.0.2: %s\n",
	       opts.retval ? "let go" : "dropped");
	return print_counters(skel);
}

static int watch(struct @NAME@_bpf *skel, int seconds)
{
	for (int elapsed = 0; !stop && (seconds <= 0 || elapsed < seconds);
	     elapsed++) {
		sleep(1);
		if (print_counters(skel))
			return -1;
	}
	return 0;
}

static int attach_and_watch(struct @NAME@_bpf *skel, const char *cgroup,
			    int seconds)
{
	int fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", cgroup, strerror(errno));
		return -1;
	}
	/* A link: the kernel detaches the program when the link is destroyed,
	 * with the skeleton, however this process ends. */
	skel->links.egress = bpf_program__attach_cgroup(skel->progs.egress, fd);
	close(fd);
	if (!skel->links.egress) {
		fprintf(stderr, "attaching to %s: %s\n", cgroup,
			strerror(errno));
		return -1;
	}
	printf("attached to %s egress; Ctrl-C stops\n", cgroup);
	return watch(skel, seconds);
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-b ADDR]... [-d SECONDS] [CGROUP]\n",
		argv0);
}

int main(int argc, char **argv)
{
	blocked_key_t block[64];
	int nblock = 0, seconds = 0, opt;
	while ((opt = getopt(argc, argv, "b:d:h")) != -1) {
		char *end;
		switch (opt) {
		case 'b':
			if (nblock == 64 ||
			    inet_pton(AF_INET, optarg, &block[nblock]) != 1) {
				fprintf(stderr, "-b takes an IPv4 address such "
						"as 10.0.0.2 (64 at most)\n");
				return 2;
			}
			nblock++;
			break;
		case 'd':
			seconds = (int)strtol(optarg, &end, 10);
			if (*end || seconds <= 0) {
				fprintf(stderr, "-d takes seconds\n");
				return 2;
			}
			break;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (argc - optind > 1) {
		usage(argv[0]);
		return 2;
	}

	struct @NAME@_bpf *skel = @NAME@_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "loading @NAME@.bpf.o: %s%s\n", strerror(errno),
			errno == EPERM ? " (run as root)" : "");
		return 1;
	}
	int err = 0;
	for (int i = 0; i < nblock && !err; i++) {
		blocked_value_t none = 0;
		err = bpf_map__update_elem(skel->maps.blocked, &block[i],
					   sizeof(block[i]), &none,
					   sizeof(none), BPF_ANY);
		if (err)
			fprintf(stderr, "blocking an address: %s\n",
				strerror(-err));
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!err)
		err = optind < argc ?
			      attach_and_watch(skel, argv[optind], seconds) :
			      run_one_packet(skel);
	@NAME@_bpf__destroy(skel);
	return err ? 1 : 0;
}
