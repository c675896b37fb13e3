// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/xdp_proto_counter.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} proto_count SEC(".maps");

static void count_protocol(__u32 proto)
{
	__u64 *counter = bpf_map_lookup_elem(&proto_count, &proto);

	if (counter)
		*counter += 1;
}

SEC("xdp")
int handler(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	count_protocol(ip->protocol);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
