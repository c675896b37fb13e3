// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/xdp_payload_sum.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u64 sum_bytes = 16;
__u64 byte_sum;
__u64 packets;

SEC("xdp")
int handler(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	packets += 1;
	byte_sum = 0;
	for (__u64 i = 0; i < sum_bytes; i++) {
		__u8 *p = data + 14 + i;

		/* bytes past the end of a short packet are not there to add */
		if ((void *)(p + 1) > data_end)
			continue;
		byte_sum += *p;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
