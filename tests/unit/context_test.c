/* Proves context.c's tables against the kernel's UAPI headers: for every
 * field of every built-in context record, the C member it names exists,
 * offsetof() equals the table's offset and sizeof() the type's size; every
 * record's size is sizeof(struct). Compiled natively on x86-64, where
 * <asm/ptrace.h> declares the same struct pt_regs as
 * -target bpf -I/usr/include/x86_64-linux-gnu does, and the __bpf_md_ptr
 * unions are 8 bytes as on BPF.
 *
 * The expectations below pair a source name with a C member designator;
 * the numbers all come from the compiler. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>

#include <asm/ptrace.h>
#include <linux/bpf.h>

#include "vbpf2c.h"

typedef struct Expect {
	const char *name;      /* source name */
	const char *c_member;  /* the designator, stringified */
	size_t offset, size;
	bool is_signed;
} Expect;

#define IS_SIGNED(e) _Generic((e), __s8: true, __s16: true, __s32: true, __s64: true, \
				     long: true, default: false)
#define M(S, name, member)                                              \
	{ name, #member, offsetof(S, member), sizeof(((S *)0)->member), \
	  IS_SIGNED(((S *)0)->member) }
/* __bpf_md_ptr members: pointers, read as :u64. */
#define P(S, name, member) { name, #member, offsetof(S, member), sizeof(((S *)0)->member), false }

#define X(n, m) M(struct xdp_md, n, m)
static const Expect xdp_md[] = {
	X("data", data), X("data_end", data_end), X("data_meta", data_meta),
	X("ingress_ifindex", ingress_ifindex), X("rx_queue_index", rx_queue_index),
	X("egress_ifindex", egress_ifindex),
};
#undef X

#define S(n, m) M(struct __sk_buff, n, m)
static const Expect sk_buff[] = {
	S("len", len), S("pkt_type", pkt_type), S("mark", mark),
	S("queue_mapping", queue_mapping), S("protocol", protocol),
	S("vlan_present", vlan_present), S("vlan_tci", vlan_tci), S("vlan_proto", vlan_proto),
	S("priority", priority), S("ingress_ifindex", ingress_ifindex), S("ifindex", ifindex),
	S("tc_index", tc_index), S("cb0", cb[0]), S("cb1", cb[1]), S("cb2", cb[2]),
	S("cb3", cb[3]), S("cb4", cb[4]), S("hash", hash), S("tc_classid", tc_classid),
	S("data", data), S("data_end", data_end), S("napi_id", napi_id), S("family", family),
	S("remote_ip4", remote_ip4), S("local_ip4", local_ip4),
	S("remote_ip6_0", remote_ip6[0]), S("remote_ip6_1", remote_ip6[1]),
	S("remote_ip6_2", remote_ip6[2]), S("remote_ip6_3", remote_ip6[3]),
	S("local_ip6_0", local_ip6[0]), S("local_ip6_1", local_ip6[1]),
	S("local_ip6_2", local_ip6[2]), S("local_ip6_3", local_ip6[3]),
	S("remote_port", remote_port), S("local_port", local_port), S("data_meta", data_meta),
	P(struct __sk_buff, "flow_keys", flow_keys), S("tstamp", tstamp), S("wire_len", wire_len),
	S("gso_segs", gso_segs), P(struct __sk_buff, "sk", sk), S("gso_size", gso_size),
	S("tstamp_type", tstamp_type), S("hwtstamp", hwtstamp),
};
#undef S

#define S(n, m) M(struct bpf_sock, n, m)
static const Expect bpf_sock[] = {
	S("bound_dev_if", bound_dev_if), S("family", family), S("type", type),
	S("protocol", protocol), S("mark", mark), S("priority", priority), S("src_ip4", src_ip4),
	S("src_ip6_0", src_ip6[0]), S("src_ip6_1", src_ip6[1]), S("src_ip6_2", src_ip6[2]),
	S("src_ip6_3", src_ip6[3]), S("src_port", src_port), S("dst_port", dst_port),
	S("dst_ip4", dst_ip4), S("dst_ip6_0", dst_ip6[0]), S("dst_ip6_1", dst_ip6[1]),
	S("dst_ip6_2", dst_ip6[2]), S("dst_ip6_3", dst_ip6[3]), S("state", state),
	S("rx_queue_mapping", rx_queue_mapping),
};
#undef S

#define S(n, m) M(struct sk_msg_md, n, m)
static const Expect sk_msg_md[] = {
	P(struct sk_msg_md, "data", data), P(struct sk_msg_md, "data_end", data_end),
	S("family", family), S("remote_ip4", remote_ip4), S("local_ip4", local_ip4),
	S("remote_ip6_0", remote_ip6[0]), S("remote_ip6_1", remote_ip6[1]),
	S("remote_ip6_2", remote_ip6[2]), S("remote_ip6_3", remote_ip6[3]),
	S("local_ip6_0", local_ip6[0]), S("local_ip6_1", local_ip6[1]),
	S("local_ip6_2", local_ip6[2]), S("local_ip6_3", local_ip6[3]),
	S("remote_port", remote_port), S("local_port", local_port), S("size", size),
	P(struct sk_msg_md, "sk", sk),
};
#undef S

#define S(n, m) M(struct bpf_sock_addr, n, m)
static const Expect bpf_sock_addr[] = {
	S("user_family", user_family), S("user_ip4", user_ip4),
	S("user_ip6_0", user_ip6[0]), S("user_ip6_1", user_ip6[1]),
	S("user_ip6_2", user_ip6[2]), S("user_ip6_3", user_ip6[3]), S("user_port", user_port),
	S("family", family), S("type", type), S("protocol", protocol),
	S("msg_src_ip4", msg_src_ip4), S("msg_src_ip6_0", msg_src_ip6[0]),
	S("msg_src_ip6_1", msg_src_ip6[1]), S("msg_src_ip6_2", msg_src_ip6[2]),
	S("msg_src_ip6_3", msg_src_ip6[3]), P(struct bpf_sock_addr, "sk", sk),
};
#undef S

#define S(n, m) M(struct bpf_flow_keys, n, m)
static const Expect bpf_flow_keys[] = {
	S("nhoff", nhoff), S("thoff", thoff), S("addr_proto", addr_proto), S("is_frag", is_frag),
	S("is_first_frag", is_first_frag), S("is_encap", is_encap), S("ip_proto", ip_proto),
	S("n_proto", n_proto), S("sport", sport), S("dport", dport), S("ipv4_src", ipv4_src),
	S("ipv4_dst", ipv4_dst), S("ipv6_src_0", ipv6_src[0]), S("ipv6_src_1", ipv6_src[1]),
	S("ipv6_src_2", ipv6_src[2]), S("ipv6_src_3", ipv6_src[3]), S("ipv6_dst_0", ipv6_dst[0]),
	S("ipv6_dst_1", ipv6_dst[1]), S("ipv6_dst_2", ipv6_dst[2]), S("ipv6_dst_3", ipv6_dst[3]),
	S("flags", flags), S("flow_label", flow_label),
};
#undef S

/* unsigned long members: signedness is false, as for :u64. */
#define S(n, m) M(struct pt_regs, n, m)
static const Expect pt_regs[] = {
	S("r15", r15), S("r14", r14), S("r13", r13), S("r12", r12), S("rbp", rbp),
	S("rbx", rbx), S("r11", r11), S("r10", r10), S("r9", r9), S("r8", r8),
	S("rax", rax), S("rcx", rcx), S("rdx", rdx), S("rsi", rsi), S("rdi", rdi),
	S("orig_rax", orig_rax), S("rip", rip), S("cs", cs), S("flags", eflags),
	S("rsp", rsp), S("ss", ss),
};
#undef S

#define TABLE(record, c_struct, expect) \
	{ record, "struct " #c_struct, sizeof(struct c_struct), _Alignof(struct c_struct), \
	  expect, sizeof(expect) / sizeof(expect[0]) }

static const struct {
	const char *record, *c_name;
	size_t size, align;
	const Expect *fields;
	size_t nfields;
} tables[] = {
	TABLE("XdpMd", xdp_md, xdp_md),
	TABLE("SkBuff", __sk_buff, sk_buff),
	TABLE("BpfSock", bpf_sock, bpf_sock),
	TABLE("BpfSkMsg", sk_msg_md, sk_msg_md),
	TABLE("BpfSockAddr", bpf_sock_addr, bpf_sock_addr),
	TABLE("BpfFlowKeys", bpf_flow_keys, bpf_flow_keys),
	TABLE("PtRegs", pt_regs, pt_regs),
};

static const Field *find_field(const Record *r, const char *name)
{
	for (int i = 0; i < r->nfields; i++) {
		if (strcmp(r->fields[i]->name, name) == 0)
			return r->fields[i];
	}
	return NULL;
}

Test(context, every_field_matches_the_kernel_struct)
{
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		Record *r = context_record_by_name(tables[t].record);
		cr_assert_not_null(r, "%s missing", tables[t].record);
		cr_assert_str_eq(r->c_name, tables[t].c_name);
		cr_assert_eq((size_t)r->size, tables[t].size, "%s size", r->name);
		cr_assert_eq((size_t)r->align, tables[t].align, "%s align", r->name);
		cr_assert(r->is_context);
		cr_assert_eq((size_t)r->nfields, tables[t].nfields,
			     "%s: %d fields in context.c, %zu members proved here", r->name,
			     r->nfields, tables[t].nfields);
		for (size_t i = 0; i < tables[t].nfields; i++) {
			const Expect *e = &tables[t].fields[i];
			const Field *f = find_field(r, e->name);
			cr_assert_not_null(f, "%s has no field %s", r->name, e->name);
			cr_assert_str_eq(f->c_member, e->c_member, "%s.%s", r->name, e->name);
			cr_assert_eq((size_t)f->offset, e->offset, "%s.%s: offset %d, kernel %zu",
				     r->name, e->name, f->offset, e->offset);
			cr_assert_eq((size_t)f->type->size, e->size, "%s.%s: size %d, kernel %zu",
				     r->name, e->name, f->type->size, e->size);
			cr_assert(type_is_int(f->type), "%s.%s", r->name, e->name);
			cr_assert_eq(f->type->is_signed, e->is_signed, "%s.%s signedness", r->name,
				     e->name);
		}
	}
}

Test(context, pointer_members_are_flagged)
{
	Record *skb = context_record_by_name("SkBuff");
	cr_assert(find_field(skb, "sk")->c_pointer);
	cr_assert(find_field(skb, "flow_keys")->c_pointer);
	cr_assert_not(find_field(skb, "data")->c_pointer); /* __u32 in __sk_buff */
	Record *msg = context_record_by_name("BpfSkMsg");
	cr_assert(find_field(msg, "data")->c_pointer);
	cr_assert_eq(find_field(msg, "data")->type, ty_u64);
	cr_assert(find_field(context_record_by_name("BpfSockAddr"), "sk")->c_pointer);
}

Test(context, writability_follows_the_kernel)
{
	Record *xdp = context_record_by_name("XdpMd");
	cr_assert(xdp->read_only);
	Record *skb = context_record_by_name("SkBuff");
	cr_assert_not(skb->read_only);
	cr_assert(find_field(skb, "mark")->writable);
	cr_assert(find_field(skb, "cb3")->writable);
	cr_assert_not(find_field(skb, "len")->writable);
	cr_assert_not(find_field(skb, "data")->writable);
	Record *addr = context_record_by_name("BpfSockAddr");
	cr_assert(find_field(addr, "user_port")->writable);
	cr_assert_not(find_field(addr, "user_family")->writable);
	cr_assert(context_record_by_name("PtRegs")->read_only);
	cr_assert(context_record_by_name("BpfSkMsg")->read_only);
	cr_assert_not(context_record_by_name("BpfFlowKeys")->read_only);
}

Test(context, records_are_shared_and_survive_arena_reset)
{
	Record *r = context_record_by_name("XdpMd");
	Type *t = type_record(r);
	Type *p = type_ptr(t, false);
	cr_assert_str_eq(type_str(p), "(Ptr :XdpMd)");
	arena_reset();
	memset(arena_alloc(1 << 16), 0x5A, 1 << 16);
	cr_assert_eq(context_record_by_name("XdpMd"), r);
	cr_assert_eq(type_record(r), t);
	cr_assert_eq(type_ptr(t, false), p);
	cr_assert_str_eq(p->c_name, "struct xdp_md *");
	cr_assert_null(context_record_by_name("Xdp"));
	cr_assert_null(context_record_by_name("xdp_md"));
}

/* vaisto's misplaced fields, spelled out: these are the offsets it gets
 * wrong, so they are worth a direct look. */
Test(context, vaisto_offset_bugs_are_not_copied)
{
	cr_assert_eq(find_field(context_record_by_name("SkBuff"), "remote_port")->offset,
		     offsetof(struct __sk_buff, remote_port));
	cr_assert_eq(find_field(context_record_by_name("BpfSock"), "dst_ip4")->offset,
		     offsetof(struct bpf_sock, dst_ip4));
	cr_assert_eq(find_field(context_record_by_name("BpfFlowKeys"), "n_proto")->offset,
		     offsetof(struct bpf_flow_keys, n_proto));
}
