// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/xdp_packet_counter.va: what a kernel
 * engineer would write for the same job. bench/run.sh compares the
 * instruction count of vbpf2c's object with this one's. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} pkt_count SEC(".maps");

SEC("xdp")
int handler(struct xdp_md *ctx)
{
	__u32 key = ctx->rx_queue_index;
	__u64 *count = bpf_map_lookup_elem(&pkt_count, &key);

	if (count)
		*count += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
