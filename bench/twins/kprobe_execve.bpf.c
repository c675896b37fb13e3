// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/kprobe_execve.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* Record: pid_tgid (tgid in the high 32 bits), then ktime in ns. */
struct exec_event {
	__u64 pid_tgid;
	__u64 ts;
};

SEC("kprobe/sys_execve")
int handler(struct pt_regs *ctx __attribute__((unused)))
{
	struct exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid_tgid = bpf_get_current_pid_tgid();
	e->ts = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
