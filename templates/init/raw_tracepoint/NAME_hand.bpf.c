// SPDX-License-Identifier: GPL-2.0
/* @NAME@_hand.bpf.c - the hand-written C half of @NAME@: the map that names
 * the process to track, which @NAME@.va declares with :extern true. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} track SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
