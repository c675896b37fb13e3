/* context.c - the built-in context records, as data.
 *
 * Each record lists every member of the kernel's UAPI struct with the
 * source name vaisto_bpf uses (lib/vaisto_bpf/context_types.ex) where it
 * has one, the C member expression, the kernel's width and the kernel's
 * byte offset. vaisto_bpf computes offsets from its own field order, which
 * is wrong for about 20 fields (SkBuff remote_port is at 132, not 100;
 * BpfSock dst_port precedes dst_ip4; BpfFlowKeys n_proto follows the u8
 * flags); the kernel wins.
 *
 * tests/unit/context_test.c proves every row: it includes <linux/bpf.h> and
 * <asm/ptrace.h> and checks offsetof() and sizeof() of every member and the
 * size of every struct against these tables.
 *
 * Arrays are flattened the way vaisto names them: cb[5] -> cb0..cb4,
 * remote_ip6[4] -> remote_ip6_0..remote_ip6_3.
 *
 * Members declared with __bpf_md_ptr() (sk_msg_md data/data_end, the sk
 * and flow_keys pointers) are 8-byte unions holding a pointer; the source
 * reads them as :u64 and c_pointer tells the emitter to cast.
 *
 * Writable fields are the ones some program kind of the record may store
 * to (the verifier still checks per kind): __sk_buff mark, priority,
 * queue_mapping, tc_index, tc_classid, cb[], tstamp (tc); bpf_sock
 * bound_dev_if, mark, priority (cgroup/sock_create); bpf_sock_addr user_*
 * addresses and ports and msg_src_*; all of bpf_flow_keys, which the flow
 * dissector exists to fill in.
 */
#include <string.h>

#include "vbpf2c.h"

enum field_type { U8, U16, U32, U64, S32 };

typedef struct ContextField {
	const char *name;
	const char *c_member;
	enum field_type type;
	int offset;
	bool writable;
	bool c_pointer;
} ContextField;

typedef struct ContextRecord {
	const char *name;
	const char *c_name;
	int size, align;
	const ContextField *fields;
	int nfields;
} ContextRecord;

#define RO false
#define RW true

/* struct xdp_md: all read-only. */
static const ContextField xdp_md_fields[] = {
	{ "data", "data", U32, 0, RO, false },
	{ "data_end", "data_end", U32, 4, RO, false },
	{ "data_meta", "data_meta", U32, 8, RO, false },
	{ "ingress_ifindex", "ingress_ifindex", U32, 12, RO, false },
	{ "rx_queue_index", "rx_queue_index", U32, 16, RO, false },
	{ "egress_ifindex", "egress_ifindex", U32, 20, RO, false },
};

/* struct __sk_buff */
static const ContextField sk_buff_fields[] = {
	{ "len", "len", U32, 0, RO, false },
	{ "pkt_type", "pkt_type", U32, 4, RO, false },
	{ "mark", "mark", U32, 8, RW, false },
	{ "queue_mapping", "queue_mapping", U32, 12, RW, false },
	{ "protocol", "protocol", U32, 16, RO, false },
	{ "vlan_present", "vlan_present", U32, 20, RO, false },
	{ "vlan_tci", "vlan_tci", U32, 24, RO, false },
	{ "vlan_proto", "vlan_proto", U32, 28, RO, false },
	{ "priority", "priority", U32, 32, RW, false },
	{ "ingress_ifindex", "ingress_ifindex", U32, 36, RO, false },
	{ "ifindex", "ifindex", U32, 40, RO, false },
	{ "tc_index", "tc_index", U32, 44, RW, false },
	{ "cb0", "cb[0]", U32, 48, RW, false },
	{ "cb1", "cb[1]", U32, 52, RW, false },
	{ "cb2", "cb[2]", U32, 56, RW, false },
	{ "cb3", "cb[3]", U32, 60, RW, false },
	{ "cb4", "cb[4]", U32, 64, RW, false },
	{ "hash", "hash", U32, 68, RO, false },
	{ "tc_classid", "tc_classid", U32, 72, RW, false },
	{ "data", "data", U32, 76, RO, false },
	{ "data_end", "data_end", U32, 80, RO, false },
	{ "napi_id", "napi_id", U32, 84, RO, false },
	{ "family", "family", U32, 88, RO, false },
	{ "remote_ip4", "remote_ip4", U32, 92, RO, false },
	{ "local_ip4", "local_ip4", U32, 96, RO, false },
	{ "remote_ip6_0", "remote_ip6[0]", U32, 100, RO, false },
	{ "remote_ip6_1", "remote_ip6[1]", U32, 104, RO, false },
	{ "remote_ip6_2", "remote_ip6[2]", U32, 108, RO, false },
	{ "remote_ip6_3", "remote_ip6[3]", U32, 112, RO, false },
	{ "local_ip6_0", "local_ip6[0]", U32, 116, RO, false },
	{ "local_ip6_1", "local_ip6[1]", U32, 120, RO, false },
	{ "local_ip6_2", "local_ip6[2]", U32, 124, RO, false },
	{ "local_ip6_3", "local_ip6[3]", U32, 128, RO, false },
	{ "remote_port", "remote_port", U32, 132, RO, false },
	{ "local_port", "local_port", U32, 136, RO, false },
	{ "data_meta", "data_meta", U32, 140, RO, false },
	{ "flow_keys", "flow_keys", U64, 144, RO, true },
	{ "tstamp", "tstamp", U64, 152, RW, false },
	{ "wire_len", "wire_len", U32, 160, RO, false },
	{ "gso_segs", "gso_segs", U32, 164, RO, false },
	{ "sk", "sk", U64, 168, RO, true },
	{ "gso_size", "gso_size", U32, 176, RO, false },
	{ "tstamp_type", "tstamp_type", U8, 180, RO, false },
	{ "hwtstamp", "hwtstamp", U64, 184, RO, false },
};

/* struct bpf_sock: dst_port is a __be16 followed by 16 bits of padding. */
static const ContextField bpf_sock_fields[] = {
	{ "bound_dev_if", "bound_dev_if", U32, 0, RW, false },
	{ "family", "family", U32, 4, RO, false },
	{ "type", "type", U32, 8, RO, false },
	{ "protocol", "protocol", U32, 12, RO, false },
	{ "mark", "mark", U32, 16, RW, false },
	{ "priority", "priority", U32, 20, RW, false },
	{ "src_ip4", "src_ip4", U32, 24, RO, false },
	{ "src_ip6_0", "src_ip6[0]", U32, 28, RO, false },
	{ "src_ip6_1", "src_ip6[1]", U32, 32, RO, false },
	{ "src_ip6_2", "src_ip6[2]", U32, 36, RO, false },
	{ "src_ip6_3", "src_ip6[3]", U32, 40, RO, false },
	{ "src_port", "src_port", U32, 44, RO, false },
	{ "dst_port", "dst_port", U16, 48, RO, false },
	{ "dst_ip4", "dst_ip4", U32, 52, RO, false },
	{ "dst_ip6_0", "dst_ip6[0]", U32, 56, RO, false },
	{ "dst_ip6_1", "dst_ip6[1]", U32, 60, RO, false },
	{ "dst_ip6_2", "dst_ip6[2]", U32, 64, RO, false },
	{ "dst_ip6_3", "dst_ip6[3]", U32, 68, RO, false },
	{ "state", "state", U32, 72, RO, false },
	{ "rx_queue_mapping", "rx_queue_mapping", S32, 76, RO, false },
};

/* struct sk_msg_md: read-only. */
static const ContextField sk_msg_md_fields[] = {
	{ "data", "data", U64, 0, RO, true },
	{ "data_end", "data_end", U64, 8, RO, true },
	{ "family", "family", U32, 16, RO, false },
	{ "remote_ip4", "remote_ip4", U32, 20, RO, false },
	{ "local_ip4", "local_ip4", U32, 24, RO, false },
	{ "remote_ip6_0", "remote_ip6[0]", U32, 28, RO, false },
	{ "remote_ip6_1", "remote_ip6[1]", U32, 32, RO, false },
	{ "remote_ip6_2", "remote_ip6[2]", U32, 36, RO, false },
	{ "remote_ip6_3", "remote_ip6[3]", U32, 40, RO, false },
	{ "local_ip6_0", "local_ip6[0]", U32, 44, RO, false },
	{ "local_ip6_1", "local_ip6[1]", U32, 48, RO, false },
	{ "local_ip6_2", "local_ip6[2]", U32, 52, RO, false },
	{ "local_ip6_3", "local_ip6[3]", U32, 56, RO, false },
	{ "remote_port", "remote_port", U32, 60, RO, false },
	{ "local_port", "local_port", U32, 64, RO, false },
	{ "size", "size", U32, 68, RO, false },
	{ "sk", "sk", U64, 72, RO, true },
};

/* struct bpf_sock_addr */
static const ContextField bpf_sock_addr_fields[] = {
	{ "user_family", "user_family", U32, 0, RO, false },
	{ "user_ip4", "user_ip4", U32, 4, RW, false },
	{ "user_ip6_0", "user_ip6[0]", U32, 8, RW, false },
	{ "user_ip6_1", "user_ip6[1]", U32, 12, RW, false },
	{ "user_ip6_2", "user_ip6[2]", U32, 16, RW, false },
	{ "user_ip6_3", "user_ip6[3]", U32, 20, RW, false },
	{ "user_port", "user_port", U32, 24, RW, false },
	{ "family", "family", U32, 28, RO, false },
	{ "type", "type", U32, 32, RO, false },
	{ "protocol", "protocol", U32, 36, RO, false },
	{ "msg_src_ip4", "msg_src_ip4", U32, 40, RW, false },
	{ "msg_src_ip6_0", "msg_src_ip6[0]", U32, 44, RW, false },
	{ "msg_src_ip6_1", "msg_src_ip6[1]", U32, 48, RW, false },
	{ "msg_src_ip6_2", "msg_src_ip6[2]", U32, 52, RW, false },
	{ "msg_src_ip6_3", "msg_src_ip6[3]", U32, 56, RW, false },
	{ "sk", "sk", U64, 64, RO, true },
};

/* struct bpf_flow_keys: the IPv4 and IPv6 addresses share a union. */
static const ContextField bpf_flow_keys_fields[] = {
	{ "nhoff", "nhoff", U16, 0, RW, false },
	{ "thoff", "thoff", U16, 2, RW, false },
	{ "addr_proto", "addr_proto", U16, 4, RW, false },
	{ "is_frag", "is_frag", U8, 6, RW, false },
	{ "is_first_frag", "is_first_frag", U8, 7, RW, false },
	{ "is_encap", "is_encap", U8, 8, RW, false },
	{ "ip_proto", "ip_proto", U8, 9, RW, false },
	{ "n_proto", "n_proto", U16, 10, RW, false },
	{ "sport", "sport", U16, 12, RW, false },
	{ "dport", "dport", U16, 14, RW, false },
	{ "ipv4_src", "ipv4_src", U32, 16, RW, false },
	{ "ipv4_dst", "ipv4_dst", U32, 20, RW, false },
	{ "ipv6_src_0", "ipv6_src[0]", U32, 16, RW, false },
	{ "ipv6_src_1", "ipv6_src[1]", U32, 20, RW, false },
	{ "ipv6_src_2", "ipv6_src[2]", U32, 24, RW, false },
	{ "ipv6_src_3", "ipv6_src[3]", U32, 28, RW, false },
	{ "ipv6_dst_0", "ipv6_dst[0]", U32, 32, RW, false },
	{ "ipv6_dst_1", "ipv6_dst[1]", U32, 36, RW, false },
	{ "ipv6_dst_2", "ipv6_dst[2]", U32, 40, RW, false },
	{ "ipv6_dst_3", "ipv6_dst[3]", U32, 44, RW, false },
	{ "flags", "flags", U32, 48, RW, false },
	{ "flow_label", "flow_label", U32, 52, RW, false },
};

/* struct pt_regs of x86-64 as the UAPI <asm/ptrace.h> declares it (the
 * generated C compiles with -target bpf -I/usr/include/x86_64-linux-gnu):
 * there the members are spelled rdi, orig_rax, eflags, as vaisto names
 * them. The kernel-internal struct (vmlinux.h, bpf_tracing.h under
 * __KERNEL__) spells the same slots di, orig_ax, flags; switching to it
 * means changing only the c_member column. vaisto's "flags" is eflags.
 * Kprobes cannot store to their context: read-only. */
static const ContextField pt_regs_fields[] = {
	{ "r15", "r15", U64, 0, RO, false },
	{ "r14", "r14", U64, 8, RO, false },
	{ "r13", "r13", U64, 16, RO, false },
	{ "r12", "r12", U64, 24, RO, false },
	{ "rbp", "rbp", U64, 32, RO, false },
	{ "rbx", "rbx", U64, 40, RO, false },
	{ "r11", "r11", U64, 48, RO, false },
	{ "r10", "r10", U64, 56, RO, false },
	{ "r9", "r9", U64, 64, RO, false },
	{ "r8", "r8", U64, 72, RO, false },
	{ "rax", "rax", U64, 80, RO, false },
	{ "rcx", "rcx", U64, 88, RO, false },
	{ "rdx", "rdx", U64, 96, RO, false },
	{ "rsi", "rsi", U64, 104, RO, false },
	{ "rdi", "rdi", U64, 112, RO, false },
	{ "orig_rax", "orig_rax", U64, 120, RO, false },
	{ "rip", "rip", U64, 128, RO, false },
	{ "cs", "cs", U64, 136, RO, false },
	{ "flags", "eflags", U64, 144, RO, false },
	{ "rsp", "rsp", U64, 152, RO, false },
	{ "ss", "ss", U64, 160, RO, false },
};

#define RECORD(name, c_name, size, align, fields) \
	{ name, c_name, size, align, fields, (int)(sizeof(fields) / sizeof(fields[0])) }

static const ContextRecord context_records[] = {
	RECORD("XdpMd", "struct xdp_md", 24, 4, xdp_md_fields),
	RECORD("SkBuff", "struct __sk_buff", 192, 8, sk_buff_fields),
	RECORD("BpfSock", "struct bpf_sock", 80, 4, bpf_sock_fields),
	RECORD("BpfSkMsg", "struct sk_msg_md", 80, 8, sk_msg_md_fields),
	RECORD("BpfSockAddr", "struct bpf_sock_addr", 72, 8, bpf_sock_addr_fields),
	RECORD("BpfFlowKeys", "struct bpf_flow_keys", 56, 4, bpf_flow_keys_fields),
	RECORD("PtRegs", "struct pt_regs", 168, 8, pt_regs_fields),
};

enum { NRECORDS = sizeof(context_records) / sizeof(context_records[0]) };

/* The Records are built once, on first use, in static storage: they are
 * shared by every translation and must outlive arena_reset(). */
static Record built[NRECORDS];
static bool built_done;

static Type *field_type(enum field_type t)
{
	switch (t) {
	case U8:
		return ty_u8;
	case U16:
		return ty_u16;
	case U32:
		return ty_u32;
	case U64:
		return ty_u64;
	case S32:
		return ty_i32;
	}
	return NULL;
}

static void build_records(void)
{
	static Field field_storage[256];
	static Field *field_ptrs[256];
	int used = 0;

	for (int i = 0; i < NRECORDS; i++) {
		const ContextRecord *cr = &context_records[i];
		Record *r = &built[i];
		r->name = cr->name;
		r->c_name = cr->c_name;
		r->size = cr->size;
		r->align = cr->align;
		r->is_context = true;
		r->read_only = true;
		r->fields = &field_ptrs[used];
		r->nfields = cr->nfields;
		for (int j = 0; j < cr->nfields; j++) {
			const ContextField *cf = &cr->fields[j];
			Field *f = &field_storage[used];
			f->name = cf->name;
			f->c_member = cf->c_member;
			f->type = field_type(cf->type);
			f->offset = cf->offset;
			f->writable = cf->writable;
			f->c_pointer = cf->c_pointer;
			if (cf->writable)
				r->read_only = false;
			field_ptrs[used++] = f;
		}
		type_record(r); /* permanent, since is_context */
	}
	built_done = true;
}

_Static_assert(sizeof(xdp_md_fields) + sizeof(sk_buff_fields) + sizeof(bpf_sock_fields) +
		       sizeof(sk_msg_md_fields) + sizeof(bpf_sock_addr_fields) +
		       sizeof(bpf_flow_keys_fields) + sizeof(pt_regs_fields) <=
	       256 * sizeof(ContextField),
	       "field_storage in build_records() is too small");

Record *context_record_by_name(const char *name)
{
	if (!name)
		return NULL;
	if (!built_done)
		build_records();
	for (int i = 0; i < NRECORDS; i++) {
		if (strcmp(built[i].name, name) == 0)
			return &built[i];
	}
	return NULL;
}

/* A read of a context member the verifier gives as an address, though the
 * source reads it as an integer: the packet's data, data_end and data_meta
 * (__u32 in xdp_md and __sk_buff), and the __bpf_md_ptr members. */
bool is_packet_field(const Node *n)
{
	if (n->kind != N_FIELD || !n->field || !n->lhs || !n->lhs->type || n->lhs->type->kind != TY_PTR)
		return false;
	const Type *r = n->lhs->type->pointee;
	if (!r || r->kind != TY_RECORD || !r->record || !r->record->is_context)
		return false;
	const char *name = n->field->name;
	return n->field->c_pointer || strcmp(name, "data") == 0 || strcmp(name, "data_end") == 0 ||
	       strcmp(name, "data_meta") == 0;
}
