// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/cgroup_skb_ip_block.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* remote IPv4 address (network byte order) -> packets dropped */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1024);
} blocklist SEC(".maps");

SEC("cgroup_skb/ingress")
int admit(struct __sk_buff *skb)
{
	__u32 addr;
	__u64 *drops;

	if (skb->protocol != bpf_htons(0x0800))
		return 1; /* not IPv4: allow */
	addr = skb->remote_ip4;
	drops = bpf_map_lookup_elem(&blocklist, &addr);
	if (!drops)
		return 1;
	*drops += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
