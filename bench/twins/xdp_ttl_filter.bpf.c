// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/xdp_ttl_filter.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u8 min_ttl = 2;

/* source address (as stored in the packet) -> IPv4 packets seen */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4096);
} sources SEC(".maps");

__u64 dropped;

SEC("xdp")
int filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u64 zero = 0;
	__u64 *seen;
	__u32 src;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	src = ip->saddr;
	bpf_map_update_elem(&sources, &src, &zero, BPF_NOEXIST);
	seen = bpf_map_lookup_elem(&sources, &src);
	if (seen)
		*seen += 1;
	if (ip->ttl < min_ttl) {
		dropped += 1;
		return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
