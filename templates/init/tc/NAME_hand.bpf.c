// SPDX-License-Identifier: GPL-2.0
/* @NAME@_hand.bpf.c - the hand-written C half of @NAME@: the map of blocked
 * EtherTypes, which @NAME@.va declares with :extern true. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u16);
	__type(value, __u64);
	__uint(max_entries, 64);
} blocked SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
