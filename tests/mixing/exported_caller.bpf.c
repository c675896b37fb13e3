// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Calls tests/gen/exported.va's exported functions from another object:
 * linked by tests/mixing.sh with each backend's object of exported.va, so
 * the kernel verifies count_hit and in_window_p as global functions. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "exported.h"

SEC("xdp")
int xdp_caller(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;

	if (!in_window_p(10, 100, len))
		return XDP_DROP;
	return count_hit(2) == 1 ? XDP_PASS : XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
