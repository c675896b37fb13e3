// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/cgroup_skb_filter.va (see
 * xdp_packet_counter.bpf.c). */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 64);
} blocked_ports SEC(".maps");

static bool is_blocked(__u32 port)
{
	return bpf_map_lookup_elem(&blocked_ports, &port) != NULL;
}

SEC("cgroup_skb/egress")
int filter(struct __sk_buff *skb)
{
	/* remote_port: network byte order, in the upper 16 bits */
	__u32 port = bpf_ntohs((__u16)(skb->remote_port >> 16));

	return is_blocked(port) ? 0 : 1;
}

char LICENSE[] SEC("license") = "GPL";
