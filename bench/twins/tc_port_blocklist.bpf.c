// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/tc_port_blocklist.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* destination port (host order) -> packets dropped */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u16);
	__type(value, __u64);
	__uint(max_entries, 1024);
} blocked SEC(".maps");

SEC("tc")
int classify(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__be16 *ports;
	__u64 *drops;
	__u16 port;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return TC_ACT_OK;
	/* IHL counts 32-bit words: the transport header starts after them. */
	ports = (void *)ip + ip->ihl * 4;
	if ((void *)(ports + 2) > data_end)
		return TC_ACT_OK;
	port = bpf_ntohs(ports[1]);
	drops = bpf_map_lookup_elem(&blocked, &port);
	if (!drops)
		return TC_ACT_OK;
	*drops += 1;
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
