// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The hand-written half of flowstats: the packet parser, which reads best
 * in C; the drop policy that user space writes; and a second program that
 * counts every packet through the Vaisto half's exported account().
 *
 * flowstats.h is generated: vbpf2c --emit=h flowstats.va (vbpf2c -c makes
 * a fresh one for this file when it links the two halves). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "flowstats.h"

/* policy[proto] == 1 drops that IP protocol; flowstats.va declares it
 * :extern and reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 256);
} policy SEC(".maps");

/* The IPv4 protocol number of the packet, or 0 when the packet does not
 * hold an Ethernet and a whole IPv4 header. A global function: the kernel
 * verifies it once, on its own, for every caller. */
__u32 ipv4_protocol(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	return ip->protocol;
}

/* Counts every packet under protocol 0 with flowstats.va's account(), and
 * drops once more than budget packets were seen in all. */
const volatile __u64 budget = 1000000;

SEC("xdp")
int xdp_count_all(struct xdp_md *ctx)
{
	__u32 all = 0;
	stats_value_t *seen;

	account(all, ctx->data_end - ctx->data);
	seen = bpf_map_lookup_elem(&stats, &all);
	return seen && seen->packets > budget ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
