// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* loader.c - the user-space side of flowstats: loads the linked object
 * through its bpftool skeleton, sets the drop policy, runs both programs
 * on sample packets with BPF_PROG_TEST_RUN, and prints what the shared
 * `stats` map holds - read with the key and value types of flowstats.h,
 * the header vbpf2c generated from flowstats.va.
 *
 *   make examples                    (builds build/examples/mixed/loader)
 *   sudo build/examples/mixed/loader
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "flowstats.h"
#include "flowstats.skel.h"

/* Ethernet 02:00:00:00:00:01 -> 02:00:00:00:00:02, IPv4 10.0.0.1 -> 10.0.0.2
 * with the given protocol, padded with zeros to 60 bytes. */
static void sample_packet(unsigned char *pkt, size_t len, unsigned char protocol)
{
	static const unsigned char head[] = {
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
		0x45, 0x00, 0x00, 0x2e, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00,
		0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
	};
	memset(pkt, 0, len);
	memcpy(pkt, head, sizeof(head));
	pkt[23] = protocol;
}

static const char *verdict_name(__u32 retval)
{
	return retval == XDP_PASS ? "XDP_PASS" : retval == XDP_DROP ? "XDP_DROP" : "other";
}

/* Runs prog once on a 60-byte packet of the protocol; prints the verdict. */
static int run(struct bpf_program *prog, const char *what, unsigned char protocol)
{
	unsigned char pkt[60];
	sample_packet(pkt, sizeof(pkt), protocol);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt));
	int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (err) {
		fprintf(stderr, "loader: running %s: %s\n", bpf_program__name(prog), strerror(-err));
		return err;
	}
	printf("%s %s: %s\n", bpf_program__name(prog), what, verdict_name(opts.retval));
	return 0;
}

static void print_stats(struct flowstats *skel, stats_key_t proto, const char *what)
{
	stats_value_t value;
	if (bpf_map__lookup_elem(skel->maps.stats, &proto, sizeof(proto), &value, sizeof(value), 0)) {
		printf("stats[%u] (%s): none\n", proto, what);
		return;
	}
	printf("stats[%u] (%s): %llu packets, %llu bytes\n", proto, what,
	       (unsigned long long)value.packets, (unsigned long long)value.bytes);
}

int main(void)
{
	struct flowstats *skel = flowstats__open();
	if (!skel) {
		fprintf(stderr, "loader: cannot open the object: %s\n", strerror(errno));
		return 1;
	}
	/* a const volatile of the C half, set before load */
	skel->rodata->budget = 2;
	int err = flowstats__load(skel);
	if (err) {
		fprintf(stderr, "loader: cannot load the object: %s\n", strerror(-err));
		flowstats__destroy(skel);
		return 1;
	}

	policy_key_t udp = 17; /* IPPROTO_UDP */
	policy_value_t drop = 1;
	err = bpf_map__update_elem(skel->maps.policy, &udp, sizeof(udp), &drop, sizeof(drop), BPF_ANY);
	if (!err)
		err = run(skel->progs.xdp_flowstats, "tcp", 6);
	if (!err)
		err = run(skel->progs.xdp_flowstats, "udp", 17);
	for (int i = 0; i < 3 && !err; i++)
		err = run(skel->progs.xdp_count_all, "any", 6);
	if (!err) {
		print_stats(skel, 6, "tcp");
		print_stats(skel, 17, "udp");
		print_stats(skel, 0, "all, counted by C");
	}
	flowstats__destroy(skel);
	return err ? 1 : 0;
}
