// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/perf_event_sampler.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 10240);
} samples_per_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} samples_per_cpu SEC(".maps");

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx __attribute__((unused)))
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 *n = bpf_map_lookup_elem(&samples_per_pid, &tgid);

	if (n) {
		*n += 1;
	} else {
		__u64 one = 1;

		bpf_map_update_elem(&samples_per_pid, &tgid, &one, BPF_NOEXIST);
	}
	n = bpf_map_lookup_elem(&samples_per_cpu, &cpu);
	if (n)
		*n += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
