// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/socket_filter_ip.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* EtherType (host order) -> packets seen */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u16);
	__type(value, __u64);
	__uint(max_entries, 64);
} ethertypes SEC(".maps");

static void count(__u16 ethertype)
{
	__u64 *seen = bpf_map_lookup_elem(&ethertypes, &ethertype);

	if (seen) {
		*seen += 1;
	} else {
		__u64 one = 1;

		bpf_map_update_elem(&ethertypes, &ethertype, &one, BPF_ANY);
	}
}

/* Keeps whole IPv4 and IPv6 packets, drops everything else. */
SEC("socket")
int keep_ip(struct __sk_buff *skb)
{
	__u16 ethertype = bpf_ntohs(skb->protocol);

	count(ethertype);
	if (ethertype == 0x0800 || ethertype == 0x86dd)
		return skb->len;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
