// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/raw_tp_syscall_count.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 10240);
} per_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1024);
} per_syscall SEC(".maps");

__u64 total;

static void count(void *map, __u32 key)
{
	__u64 *counter = bpf_map_lookup_elem(map, &key);

	if (counter) {
		*counter += 1;
	} else {
		__u64 one = 1;

		bpf_map_update_elem(map, &key, &one, BPF_NOEXIST);
	}
}

/* args[0] is the struct pt_regs pointer, args[1] the syscall number. */
SEC("raw_tracepoint/sys_enter")
int on_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	count(&per_pid, bpf_get_current_pid_tgid() >> 32);
	count(&per_syscall, ctx->args[1]);
	total += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
