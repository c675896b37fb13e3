/* Unit tests for tables.c and the generated helper table. Expected values
 * come from the headers and the installed libbpf (1.1.2 on Debian 12),
 * never from numbers typed here. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "vbpf2c.h"

/* ---- helpers ------------------------------------------------------------ */

/* Counts "= (void *) N;" declarations in libbpf's header independently of
 * gen_helpers.sh. */
static int count_helper_decls(void)
{
	FILE *f = fopen("/usr/include/bpf/bpf_helper_defs.h", "r");
	cr_assert_not_null(f, "cannot read bpf_helper_defs.h");
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "static ", 7) == 0 && strstr(line, "(*bpf_"))
			n++;
	}
	fclose(f);
	return n;
}

Test(tables, helper_table_is_libbpfs)
{
	int count;
	const HelperInfo *h = helper_table(&count);
	cr_assert_eq(count, count_helper_decls());
	cr_assert_eq(count, 211, "libbpf 1.1 declares 211 helpers, table has %d", count);
	for (int i = 0; i < count; i++) {
		cr_assert_eq(helper_by_name(h[i].name), &h[i], "duplicate helper %s", h[i].name);
		for (int j = 0; j < i; j++)
			cr_assert_neq(h[i].id, h[j].id, "%s and %s share id %d", h[i].name,
				      h[j].name, h[i].id);
	}
}

/* Each id must be the kernel's BPF_FUNC_* number for that name. */
Test(tables, helper_ids_match_uapi)
{
	struct {
		const char *name;
		int id;
	} cases[] = {
		{ "map_lookup_elem", BPF_FUNC_map_lookup_elem },
		{ "map_update_elem", BPF_FUNC_map_update_elem },
		{ "map_delete_elem", BPF_FUNC_map_delete_elem },
		{ "trace_printk", BPF_FUNC_trace_printk },
		{ "tail_call", BPF_FUNC_tail_call },
		{ "get_current_pid_tgid", BPF_FUNC_get_current_pid_tgid },
		{ "perf_event_output", BPF_FUNC_perf_event_output },
		{ "redirect_map", BPF_FUNC_redirect_map },
		{ "sk_lookup_tcp", BPF_FUNC_sk_lookup_tcp },
		{ "map_push_elem", BPF_FUNC_map_push_elem },
		{ "ringbuf_output", BPF_FUNC_ringbuf_output },
		{ "ringbuf_reserve", BPF_FUNC_ringbuf_reserve },
		{ "ringbuf_submit", BPF_FUNC_ringbuf_submit },
		{ "tcp_gen_syncookie", BPF_FUNC_tcp_gen_syncookie },
		{ "loop", BPF_FUNC_loop },
		{ "user_ringbuf_drain", BPF_FUNC_user_ringbuf_drain },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const HelperInfo *h = helper_by_name(cases[i].name);
		cr_assert_not_null(h, "%s missing", cases[i].name);
		cr_assert_eq(h->id, cases[i].id, "%s: %d != %d", cases[i].name, h->id, cases[i].id);
	}
}

Test(tables, helper_signatures)
{
	const HelperInfo *h = helper_by_name("map_lookup_elem");
	cr_assert_eq(h->id, 1);
	cr_assert(h->returns_pointer);
	cr_assert_eq(h->nparams, 2);
	cr_assert_str_eq(h->c_decl, "void *bpf_map_lookup_elem(void *map, const void *key)");

	h = helper_by_name("ringbuf_reserve");
	cr_assert_eq(h->id, 131);
	cr_assert(h->returns_pointer);
	cr_assert_eq(h->nparams, 3);

	h = helper_by_name("trace_printk");
	cr_assert_eq(h->nparams, -1);
	cr_assert_not(h->returns_pointer);

	h = helper_by_name("ktime_get_ns");
	cr_assert_eq(h->nparams, 0);
	cr_assert_str_eq(h->c_decl, "__u64 bpf_ktime_get_ns(void)");

	h = helper_by_name("sk_lookup_tcp");
	cr_assert(h->returns_pointer);
	cr_assert_str_eq(h->c_decl, "struct bpf_sock *bpf_sk_lookup_tcp(void *ctx, "
				    "struct bpf_sock_tuple *tuple, __u32 tuple_size, "
				    "__u64 netns, __u64 flags)");

	/* the kernel's RET_VOID, whether libbpf says void or long */
	cr_assert(helper_by_name("tail_call")->returns_nothing);
	cr_assert(helper_by_name("ringbuf_submit")->returns_nothing);
	cr_assert_not(helper_by_name("map_update_elem")->returns_nothing);

	cr_assert_null(helper_by_name("no_such_helper"));
	cr_assert_null(helper_by_name("bpf_map_lookup_elem"));
	cr_assert_null(helper_by_name("map_lookup_and_delete_elem"));
	cr_assert_null(helper_by_name(""));
}

/* The parameters where the verifier takes a map only (ARG_CONST_MAP_PTR). */
Test(tables, helper_map_params)
{
	cr_assert_eq(helper_by_name("map_update_elem")->map_params, 0x1u);
	cr_assert_eq(helper_by_name("tail_call")->map_params, 0x2u);
	cr_assert_eq(helper_by_name("perf_event_output")->map_params, 0x2u);
	cr_assert_eq(helper_by_name("ringbuf_reserve")->map_params, 0x1u);
	cr_assert_eq(helper_by_name("kptr_xchg")->map_params, 0x0u);
	cr_assert_eq(helper_by_name("probe_read_kernel")->map_params, 0x0u);
}

/* The return values the verifier allows, by section (return_range.c):
 * egress and bind take 0 to 3, the recvmsg hooks only 1, kinds with no
 * rule none. */
Test(tables, return_ranges)
{
	const ProgKindInfo *skb = prog_kind_by_name("cgroup_skb"), *addr = prog_kind_by_name("cgroup_sock_addr");
	const ReturnRange *r = prog_return_range(skb, "egress");
	cr_assert(r && r->lo == 0 && r->hi == 3);
	r = prog_return_range(skb, "ingress");
	cr_assert(r && r->lo == 0 && r->hi == 1);
	r = prog_return_range(skb, NULL);
	cr_assert(r && r->lo == 0 && r->hi == 1);
	r = prog_return_range(addr, "recvmsg6");
	cr_assert(r && r->lo == 1 && r->hi == 1);
	r = prog_return_range(addr, "bind4");
	cr_assert(r && r->lo == 0 && r->hi == 3);
	r = prog_return_range(addr, "connect4");
	cr_assert(r && r->lo == 0 && r->hi == 1);
	cr_assert_null(prog_return_range(prog_kind_by_name("xdp"), NULL));
	cr_assert_null(prog_return_range(prog_kind_by_name("sk_msg"), NULL));
}

/* gen_helpers.sh must cope with declarations wrapped over several lines. */
Test(tables, gen_helpers_joins_wrapped_declarations)
{
	char dir[] = "/tmp/vbpf2c_gen_XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char in[128], cmd[512];
	snprintf(in, sizeof(in), "%s/defs.h", dir);
	FILE *f = fopen(in, "w");
	fputs("/* comment (*bpf_not_a_helper) */\n"
	      "static long\n  (*bpf_wrapped)(void *a,\n\t__u32 b) = (void *) 7;\n"
	      "static struct x *(*bpf_ptr)(void) = (void *) 9;\n"
	      "static long (*bpf_maps)(void *ctx, void *map,\n  void *map_value, void *ringbuf) = (void *) 11;\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "sh translator/frontend/gen_helpers.sh %s", in);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char out[1024] = "";
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	cr_assert_eq(pclose(p), 0);
	cr_assert(strstr(out, "HELPER(\"wrapped\", 7, 2, false, false, 0x0, \"long bpf_wrapped(void *a, __u32 b)\")\n"),
		  "got:\n%s", out);
	cr_assert(strstr(out, "HELPER(\"ptr\", 9, 0, true, false, 0x0, \"struct x *bpf_ptr(void)\")\n"),
		  "got:\n%s", out);
	/* map parameters by libbpf's names: map and ringbuf, not map_value */
	cr_assert(strstr(out, "HELPER(\"maps\", 11, 4, false, false, 0xa, "), "got:\n%s", out);
	cr_assert_null(strstr(out, "not_a_helper"));

	/* A truncated declaration is an error, not a silently shorter table. */
	f = fopen(in, "w");
	fputs("static long (*bpf_cut)(void *a,\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "sh translator/frontend/gen_helpers.sh %s >/dev/null 2>&1", in);
	cr_assert_neq(system(cmd), 0);
	remove(in);
	remove(dir);
}

/* ---- kernel constants ---------------------------------------------------- */

#define EXPECT(name) { #name, (long long)(name) }

Test(tables, kernel_constants_match_headers)
{
	struct {
		const char *name;
		long long value;
	} cases[] = {
		EXPECT(XDP_ABORTED), EXPECT(XDP_DROP), EXPECT(XDP_PASS), EXPECT(XDP_TX),
		EXPECT(XDP_REDIRECT), EXPECT(TC_ACT_UNSPEC), EXPECT(TC_ACT_OK),
		EXPECT(TC_ACT_RECLASSIFY), EXPECT(TC_ACT_SHOT), EXPECT(TC_ACT_PIPE),
		EXPECT(TC_ACT_STOLEN), EXPECT(TC_ACT_QUEUED), EXPECT(TC_ACT_REPEAT),
		EXPECT(TC_ACT_REDIRECT), EXPECT(TC_ACT_TRAP), EXPECT(SK_DROP), EXPECT(SK_PASS),
		EXPECT(BPF_OK), EXPECT(BPF_DROP), EXPECT(BPF_REDIRECT),
		EXPECT(BPF_FLOW_DISSECTOR_CONTINUE), EXPECT(BPF_ANY), EXPECT(BPF_NOEXIST),
		EXPECT(BPF_EXIST), EXPECT(BPF_F_LOCK), EXPECT(BPF_F_NO_PREALLOC),
		EXPECT(BPF_F_NO_COMMON_LRU), EXPECT(BPF_F_NUMA_NODE), EXPECT(BPF_F_RDONLY_PROG),
		EXPECT(BPF_F_WRONLY_PROG), EXPECT(BPF_F_MMAPABLE), EXPECT(BPF_F_INDEX_MASK),
		EXPECT(BPF_F_CURRENT_CPU), EXPECT(BPF_F_USER_STACK), EXPECT(BPF_F_FAST_STACK_CMP),
		EXPECT(BPF_F_REUSE_STACKID), EXPECT(BPF_RB_NO_WAKEUP), EXPECT(BPF_RB_FORCE_WAKEUP),
		EXPECT(BPF_F_INGRESS), EXPECT(BPF_F_RECOMPUTE_CSUM), EXPECT(BPF_F_INVALIDATE_HASH),
		EXPECT(BPF_F_HDR_FIELD_MASK), EXPECT(BPF_F_PSEUDO_HDR), EXPECT(BPF_F_MARK_MANGLED_0),
		EXPECT(BPF_F_MARK_ENFORCE),
	};
	int count;
	kernel_const_table(&count);
	cr_assert_eq(count, (int)(sizeof(cases) / sizeof(cases[0])),
		     "every table entry must be checked here");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const KernelConst *k = kernel_const_by_name(cases[i].name);
		cr_assert_not_null(k, "%s missing", cases[i].name);
		cr_assert_eq(k->value, (uint64_t)cases[i].value, "%s", cases[i].name);
		cr_assert_eq(k->negative, cases[i].value < 0, "%s", cases[i].name);
		bool from_pkt_cls = strncmp(cases[i].name, "TC_ACT_", 7) == 0;
		cr_assert_str_eq(k->header, from_pkt_cls ? "linux/pkt_cls.h" : "linux/bpf.h");
	}
	cr_assert(kernel_const_by_name("TC_ACT_UNSPEC")->negative);
	cr_assert_not(kernel_const_by_name("BPF_F_CURRENT_CPU")->negative);
	cr_assert_eq(kernel_const_by_name("BPF_F_CURRENT_CPU")->value, 0xffffffffULL);
	cr_assert_null(kernel_const_by_name("xdp_pass"));
	cr_assert_null(kernel_const_by_name("XDP_NOPE"));
}

/* ---- map types ------------------------------------------------------------ */

#define MAP(name, e, core) { name, #e, e, core }

Test(tables, map_types_match_uapi)
{
	struct {
		const char *name, *c_enum;
		int value;
		bool core;
	} cases[] = {
		MAP("hash", BPF_MAP_TYPE_HASH, true),
		MAP("array", BPF_MAP_TYPE_ARRAY, true),
		MAP("prog_array", BPF_MAP_TYPE_PROG_ARRAY, true),
		MAP("perf_event_array", BPF_MAP_TYPE_PERF_EVENT_ARRAY, true),
		MAP("ringbuf", BPF_MAP_TYPE_RINGBUF, true),
		MAP("percpu_hash", BPF_MAP_TYPE_PERCPU_HASH, false),
		MAP("percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY, false),
		MAP("lru_hash", BPF_MAP_TYPE_LRU_HASH, false),
		MAP("lru_percpu_hash", BPF_MAP_TYPE_LRU_PERCPU_HASH, false),
		MAP("lpm_trie", BPF_MAP_TYPE_LPM_TRIE, false),
		MAP("queue", BPF_MAP_TYPE_QUEUE, false),
		MAP("stack", BPF_MAP_TYPE_STACK, false),
		MAP("stack_trace", BPF_MAP_TYPE_STACK_TRACE, false),
		MAP("devmap", BPF_MAP_TYPE_DEVMAP, false),
		MAP("cpumap", BPF_MAP_TYPE_CPUMAP, false),
		MAP("xskmap", BPF_MAP_TYPE_XSKMAP, false),
		MAP("sockmap", BPF_MAP_TYPE_SOCKMAP, false),
		MAP("sockhash", BPF_MAP_TYPE_SOCKHASH, false),
	};
	int count;
	map_type_table(&count);
	cr_assert_eq(count, (int)(sizeof(cases) / sizeof(cases[0])));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const MapTypeInfo *m = map_type_by_name(cases[i].name);
		cr_assert_not_null(m, "%s missing", cases[i].name);
		cr_assert_str_eq(m->c_enum, cases[i].c_enum);
		cr_assert_eq(m->core, cases[i].core, "%s", cases[i].name);
		/* The enum name must be the one libbpf prints (in lower case)
		 * for this value. */
		cr_assert_eq(strcasecmp(libbpf_bpf_map_type_str(cases[i].value),
					m->c_enum + strlen("BPF_MAP_TYPE_")), 0, "%s", cases[i].name);
		if (m->key_must_be_none)
			cr_assert_not(m->needs_key);
		if (m->value_must_be_none)
			cr_assert_not(m->needs_value);
	}
	cr_assert(map_type_by_name("ringbuf")->key_must_be_none);
	cr_assert(map_type_by_name("ringbuf")->value_must_be_none);
	cr_assert_not(map_type_by_name("perf_event_array")->needs_key);
	cr_assert(map_type_by_name("queue")->key_must_be_none);
	cr_assert(map_type_by_name("queue")->needs_value);
	cr_assert(map_type_by_name("hash")->needs_key);
	cr_assert_null(map_type_by_name("hashmap"));
	cr_assert_null(map_type_by_name("HASH"));
}

/* ---- program kinds and section names --------------------------------------- */

static const struct {
	ProgKind kind;
	enum bpf_prog_type type;
} kind_types[] = {
	{ PK_XDP, BPF_PROG_TYPE_XDP },
	{ PK_TC, BPF_PROG_TYPE_SCHED_CLS },
	{ PK_SOCKET_FILTER, BPF_PROG_TYPE_SOCKET_FILTER },
	{ PK_CGROUP_SKB, BPF_PROG_TYPE_CGROUP_SKB },
	{ PK_SK_SKB, BPF_PROG_TYPE_SK_SKB },
	{ PK_SK_MSG, BPF_PROG_TYPE_SK_MSG },
	{ PK_CGROUP_SOCK, BPF_PROG_TYPE_CGROUP_SOCK },
	{ PK_CGROUP_SOCK_ADDR, BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
	{ PK_FLOW_DISSECTOR, BPF_PROG_TYPE_FLOW_DISSECTOR },
	{ PK_KPROBE, BPF_PROG_TYPE_KPROBE },
	{ PK_KRETPROBE, BPF_PROG_TYPE_KPROBE },
	{ PK_UPROBE, BPF_PROG_TYPE_KPROBE },
	{ PK_URETPROBE, BPF_PROG_TYPE_KPROBE },
	{ PK_PERF_EVENT, BPF_PROG_TYPE_PERF_EVENT },
	{ PK_TRACEPOINT, BPF_PROG_TYPE_TRACEPOINT },
	{ PK_RAW_TRACEPOINT, BPF_PROG_TYPE_RAW_TRACEPOINT },
	{ PK_LSM, BPF_PROG_TYPE_LSM },
	{ PK_STRUCT_OPS, BPF_PROG_TYPE_STRUCT_OPS },
	{ PK_TP_BTF, BPF_PROG_TYPE_TRACING },
	{ PK_FENTRY, BPF_PROG_TYPE_TRACING },
	{ PK_FEXIT, BPF_PROG_TYPE_TRACING },
};

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

static const char *section(const char *kind, const char *attach)
{
	return prog_section_name(prog_kind_by_name(kind), attach);
}

Test(tables, section_names_follow_language_md)
{
	cr_assert_str_eq(section("xdp", NULL), "xdp");
	cr_assert_str_eq(section("xdp", "eth0"), "xdp");
	cr_assert_str_eq(section("tc", "eth0"), "tc");
	cr_assert_str_eq(section("socket_filter", NULL), "socket");
	cr_assert_str_eq(section("cgroup_skb", "ingress"), "cgroup_skb/ingress");
	cr_assert_str_eq(section("cgroup_skb", "egress"), "cgroup_skb/egress");
	cr_assert_str_eq(section("cgroup_skb", NULL), "cgroup/skb");
	cr_assert_str_eq(section("sk_skb", NULL), "sk_skb");
	cr_assert_str_eq(section("sk_skb", "stream_verdict"), "sk_skb/stream_verdict");
	cr_assert_str_eq(section("sk_msg", NULL), "sk_msg");
	cr_assert_str_eq(section("cgroup_sock", NULL), "cgroup/sock");
	cr_assert_str_eq(section("cgroup_sock", "post_bind4"), "cgroup/post_bind4");
	cr_assert_str_eq(section("cgroup_sock_addr", "connect4"), "cgroup/connect4");
	cr_assert_null(section("cgroup_sock_addr", NULL));
	cr_assert_str_eq(section("flow_dissector", NULL), "flow_dissector");
	cr_assert_str_eq(section("kprobe", "sys_execve"), "kprobe/sys_execve");
	cr_assert_str_eq(section("kretprobe", "sys_execve"), "kretprobe/sys_execve");
	cr_assert_str_eq(section("uprobe", "/bin/bash:readline"), "uprobe//bin/bash:readline");
	cr_assert_str_eq(section("perf_event", NULL), "perf_event");
	cr_assert_str_eq(section("tracepoint", "syscalls/sys_enter_openat"),
			 "tracepoint/syscalls/sys_enter_openat");
	cr_assert_str_eq(section("raw_tracepoint", "sys_enter"), "raw_tracepoint/sys_enter");
	cr_assert_str_eq(section("lsm", "file_open"), "lsm/file_open");
	cr_assert_null(section("lsm", NULL));
	cr_assert_str_eq(section("struct_ops", "ssthresh"), "struct_ops/ssthresh");

	cr_assert(prog_kind_by_name("cgroup_sock_addr")->attach_required);
	cr_assert_not(prog_kind_by_name("xdp")->attach_required);
	cr_assert_null(prog_kind_by_name("socket"));
	cr_assert_null(prog_kind_by_name("XDP"));
	cr_assert_null(prog_kind_info(PK_NONE));
	cr_assert_null(prog_kind_info(PK_COUNT));
	for (int k = PK_NONE + 1; k < PK_COUNT; k++) {
		const ProgKindInfo *info = prog_kind_info((ProgKind)k);
		cr_assert_eq(info->kind, (ProgKind)k);
		cr_assert_eq(prog_kind_by_name(info->name), info);
		if (info->context_record)
			cr_assert_not_null(context_record_by_name(info->context_record),
					   "%s: no record %s", info->name, info->context_record);
	}
}

/* prog_section_known() must agree with the installed libbpf on every
 * section we can produce, including ones libbpf refuses. */
Test(tables, sections_agree_with_libbpf)
{
	static const char *const attaches[] = {
		NULL, "ingress", "egress", "stream_parser", "stream_verdict", "foo",
		"sock_create", "sock_release", "post_bind4", "post_bind6", "sock",
		"bind4", "bind6", "connect4", "connect6", "sendmsg4", "sendmsg6",
		"recvmsg4", "recvmsg6", "getpeername4", "getpeername6", "getsockname4",
		"getsockname6", "skb", "dev", "sys_execve", "syscalls/sys_enter_openat",
		"devmap", "",
	};
	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	int checked = 0;
	for (size_t i = 0; i < sizeof(kind_types) / sizeof(kind_types[0]); i++) {
		const ProgKindInfo *info = prog_kind_info(kind_types[i].kind);
		cr_assert_not_null(info);
		for (size_t j = 0; j < sizeof(attaches) / sizeof(attaches[0]); j++) {
			const char *sec = prog_section_name(info, attaches[j]);
			if (!sec)
				continue;
			enum bpf_prog_type type;
			enum bpf_attach_type attach_type;
			bool libbpf_ok = libbpf_prog_type_by_name(sec, &type, &attach_type) == 0 &&
					 type == kind_types[i].type;
			cr_assert_eq(prog_section_known(info, sec), libbpf_ok,
				     "%s \"%s\" -> \"%s\": libbpf says %s", info->name,
				     attaches[j] ? attaches[j] : "(none)", sec,
				     libbpf_ok ? "known" : "unknown");
			checked++;
		}
	}
	libbpf_set_print(old);
	cr_assert_gt(checked, 200);
	cr_assert_eq((int)(sizeof(kind_types) / sizeof(kind_types[0])), PK_COUNT - 1);
}

/* ---- name indexes (util.c) -------------------------------------------------
 * Each lookup must find what a scan of its table finds: the first entry of
 * that name, or nothing. */

static const void *first_by_scan(const void *entries, size_t count, size_t stride, const char *name)
{
	for (size_t i = 0; i < count; i++) {
		const char *const *entry = (const void *)((const char *)entries + i * stride);
		if (strcmp(*entry, name) == 0)
			return entry;
	}
	return NULL;
}

Test(tables, name_indexes_find_what_a_scan_finds)
{
	int count;
	const HelperInfo *h = helper_table(&count);
	for (int i = 0; i < count; i++)
		cr_assert_eq(helper_by_name(h[i].name), first_by_scan(h, (size_t)count, sizeof(*h), h[i].name),
			     "%s", h[i].name);
	const KernelConst *k = kernel_const_table(&count);
	for (int i = 0; i < count; i++)
		cr_assert_eq(kernel_const_by_name(k[i].name), first_by_scan(k, (size_t)count, sizeof(*k), k[i].name),
			     "%s", k[i].name);
	const char *absent[] = { "", "map_lookup", "map_lookup_elem_", "XDP_PAS", "xdp_pass", "bpf_map_lookup_elem" };
	for (size_t i = 0; i < sizeof(absent) / sizeof(*absent); i++) {
		cr_assert_null(helper_by_name(absent[i]), "%s", absent[i]);
		cr_assert_null(kernel_const_by_name(absent[i]), "%s", absent[i]);
	}
}

Test(tables, name_index_keeps_the_first_of_two_entries)
{
	static const struct Entry {
		const char *name;
		int value;
	} table[] = { { "a", 1 }, { "b", 2 }, { "a", 3 }, { "", 4 }, { "ab", 5 } };
	NameIndex ix = NAME_INDEX(table);
	for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++)
		cr_assert_eq(name_index_get(&ix, table[i].name),
			     first_by_scan(table, sizeof(table) / sizeof(*table), sizeof(*table), table[i].name));
	const struct Entry *a = name_index_get(&ix, "a");
	cr_assert_eq(a->value, 1);
	cr_assert_null(name_index_get(&ix, "c"));
	cr_assert_null(name_index_get(&ix, "b "));
}
