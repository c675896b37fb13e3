// SPDX-License-Identifier: GPL-2.0
/* @NAME@_hand.bpf.c - the hand-written C half of @NAME@: the counter that
 * @NAME@.va calls for every system call, and the map naming the process to
 * track, which @NAME@.va declares :extern.
 *
 * @NAME@.h is generated from @NAME@.va (vbpf2c --emit=h; vbpf2c -c makes a
 * fresh one for this file when it links the two halves): struct Count, the
 * maps' key and value types, the extern declaration of `syscalls`, and the
 * prototypes of is_tracked() (exported by @NAME@.va) and count_call(). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "@NAME@.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, track_key_t);
	__type(value, track_value_t);
	__uint(max_entries, 1);
} track SEC(".maps");

/* Counts one call of system call id, as tracked when @NAME@.va's
 * is_tracked() says so; returns the calls of id so far, 0 when id is past
 * the map. A global function: the kernel verifies it once, on its own. */
__u64 count_call(__u32 id)
{
	struct Count *c = bpf_map_lookup_elem(&syscalls, &id);
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!c)
		return 0;
	/* Atomic: the program runs on every CPU at once. */
	if (is_tracked(tgid))
		__sync_fetch_and_add(&c->tracked, 1);
	return __sync_fetch_and_add(&c->all, 1) + 1;
}

char LICENSE[] SEC("license") = "GPL";
