// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/xdp_mac_swap.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__u64 reflected;

/* The kernel's samples/bpf/xdp2_kern.c idiom: three 16-bit halves each. */
static void swap_src_dst_mac(void *data)
{
	unsigned short *p = data;
	unsigned short dst[3];

	dst[0] = p[0];
	dst[1] = p[1];
	dst[2] = p[2];
	p[0] = p[3];
	p[1] = p[4];
	p[2] = p[5];
	p[3] = dst[0];
	p[4] = dst[1];
	p[5] = dst[2];
}

SEC("xdp")
int reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	swap_src_dst_mac(data);
	reflected += 1;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
