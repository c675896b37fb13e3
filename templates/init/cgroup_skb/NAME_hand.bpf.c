// SPDX-License-Identifier: GPL-2.0
/* @NAME@_hand.bpf.c - the hand-written C half of @NAME@: the IPv4 parser that
 * @NAME@.va calls, and the map of blocked addresses that @NAME@.va declares
 * :extern.
 *
 * @NAME@.h is generated from @NAME@.va (vbpf2c --emit=h; vbpf2c -c makes a
 * fresh one for this file when it links the two halves): struct Stats, the
 * maps' key and value types, the extern declaration of `stats`, and the
 * prototypes of is_loopback() (exported by @NAME@.va) and ipv4_daddr(). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "@NAME@.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, blocked_key_t);
	__type(value, blocked_value_t);
	__uint(max_entries, 64);
} blocked SEC(".maps");

/* The destination of an IPv4 packet (network byte order), counted in stats
 * unless @NAME@.va's is_loopback() says it stays on the machine; 0 for any
 * other packet. A cgroup_skb program sees the packet from its IP header. A
 * global function: the kernel verifies it once, on its own, for every
 * caller. */
__u32 ipv4_daddr(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data;
	stats_key_t zero = 0;
	struct Stats *s;

	if (skb->protocol != bpf_htons(ETH_P_IP) || (void *)(ip + 1) > data_end)
		return 0;
	s = bpf_map_lookup_elem(&stats, &zero);
	/* Atomic: the program runs on every CPU at once. */
	if (s && !is_loopback(ip->daddr)) {
		__sync_fetch_and_add(&s->packets, 1);
		__sync_fetch_and_add(&s->bytes, skb->len);
	}
	return ip->daddr;
}

char LICENSE[] SEC("license") = "GPL";
