// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/tracepoint_fork_count.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* parent pid -> children forked */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 10240);
} forks SEC(".maps");

__u32 last_child;

/* sched_process_fork record: parent_pid at 12, child_pid at 20 */
SEC("tracepoint/sched/sched_process_fork")
int on_fork(void *ctx)
{
	__u32 parent = *(__u32 *)((char *)ctx + 12);
	__u64 *n = bpf_map_lookup_elem(&forks, &parent);

	if (n) {
		*n += 1;
	} else {
		__u64 one = 1;

		bpf_map_update_elem(&forks, &parent, &one, BPF_NOEXIST);
	}
	last_child = *(__u32 *)((char *)ctx + 20);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
