// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/xdp_perf_events.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 128);
} events SEC(".maps");

SEC("xdp")
int handle(struct xdp_md *ctx)
{
	__u64 ts = bpf_ktime_get_ns();

	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &ts, sizeof(ts));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
