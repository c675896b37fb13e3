// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/xdp_rate_limiter.va (see
 * xdp_packet_counter.bpf.c). */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u64 max_per_window = 3;
const volatile __u64 window_ns = 1000000000;

/* source address (as stored in the packet) -> start of its window */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4096);
} window_start SEC(".maps");

/* source address -> packets in its window */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4096);
} window_count SEC(".maps");

static bool start_window(__u32 src, __u64 now)
{
	__u64 one = 1;

	bpf_map_update_elem(&window_start, &src, &now, BPF_ANY);
	bpf_map_update_elem(&window_count, &src, &one, BPF_ANY);
	return false;
}

/* Counts the packet in src's window; true when the window is over its limit. */
static bool over_limit(__u32 src, __u64 now)
{
	__u64 *start = bpf_map_lookup_elem(&window_start, &src);
	__u64 *count;

	if (!start || now - *start > window_ns)
		return start_window(src, now);
	count = bpf_map_lookup_elem(&window_count, &src);
	if (!count)
		return start_window(src, now);
	*count += 1;
	return *count > max_per_window;
}

SEC("xdp")
int limit(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	return over_limit(ip->saddr, bpf_ktime_get_ns()) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
