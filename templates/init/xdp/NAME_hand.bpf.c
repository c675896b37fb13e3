// SPDX-License-Identifier: GPL-2.0
/* @NAME@_hand.bpf.c - the hand-written C half of @NAME@: the Ethernet parser
 * that @NAME@.va calls, and the map of blocked EtherTypes that @NAME@.va
 * declares :extern.
 *
 * @NAME@.h is generated from @NAME@.va (vbpf2c --emit=h; vbpf2c -c makes a
 * fresh one for this file when it links the two halves): struct Stats, the
 * maps' key and value types, the extern declaration of `stats`, and the
 * prototypes of is_vlan() (exported by @NAME@.va) and ethertype(). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "@NAME@.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, blocked_key_t);
	__type(value, blocked_value_t);
	__uint(max_entries, 64);
} blocked SEC(".maps");

/* An 802.1Q or 802.1ad tag: the kernel's struct vlan_hdr is not UAPI. */
struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

/* Counts the packet in stats and returns its EtherType - the one behind a
 * VLAN tag, if any - or 0 when the headers are cut short. A global
 * function: the kernel verifies it once, on its own, for every caller. */
__u16 ethertype(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct vlan_tag *tag = (void *)(eth + 1);
	stats_key_t zero = 0;
	struct Stats *s = bpf_map_lookup_elem(&stats, &zero);
	__u16 proto;

	/* Atomic: the program runs on every CPU at once. */
	if (s) {
		__sync_fetch_and_add(&s->packets, 1);
		__sync_fetch_and_add(&s->bytes, data_end - data);
	}
	if ((void *)(eth + 1) > data_end)
		return 0;
	proto = bpf_ntohs(eth->h_proto);
	if (!is_vlan(proto))
		return proto;
	if ((void *)(tag + 1) > data_end)
		return 0;
	return bpf_ntohs(tag->proto);
}

char LICENSE[] SEC("license") = "GPL";
