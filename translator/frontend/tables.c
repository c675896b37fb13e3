/* tables.c - program kinds, map types, kernel constants and libbpf helpers:
 * the facts about the kernel and libbpf the checker and the emitters look
 * up, kept as data.
 *
 *   program kinds     prog_kinds.def (LANGUAGE.md section 7)
 *   map types         below (section 3 core, extension 10.2)
 *   kernel constants  below, values taken from the UAPI headers themselves
 *   helpers           build/helpers.gen.h, generated from libbpf's
 *                     bpf_helper_defs.h by gen_helpers.sh
 */
#include <string.h>

#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "vbpf2c.h"

/* ---- program kinds ------------------------------------------------------ */

static const ProgKindInfo prog_kinds[PK_COUNT] = {
#define PROG_KIND(id, src, section, prefix, record, c_type, required, btf_args) \
	[id] = { id, src, section, prefix, record, c_type, required, btf_args },
#include "prog_kinds.def"
#undef PROG_KIND
};

const ProgKindInfo *prog_kind_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (int k = PK_NONE + 1; k < PK_COUNT; k++) {
		if (strcmp(prog_kinds[k].name, name) == 0)
			return &prog_kinds[k];
	}
	return NULL;
}

const ProgKindInfo *prog_kind_info(ProgKind kind)
{
	if (kind <= PK_NONE || kind >= PK_COUNT)
		return NULL;
	return &prog_kinds[kind];
}

const char *prog_section_name(const ProgKindInfo *kind, const char *attach)
{
	if (!kind)
		return NULL;
	if (attach && kind->attach_prefix)
		return arena_printf("%s%s", kind->attach_prefix, attach);
	return kind->section;
}

/* The values the verifier lets an entry of a kind return (check_return_code
 * in the kernel's verifier.c), by section; a NULL section is the rest of
 * the kind. Measured on this kernel with an entry returning 0 to 4: the
 * egress and bind hooks take the congestion-notification bit too, and
 * the recvmsg, getpeername and getsockname hooks may not refuse. Kinds
 * absent here take any value. */
static const ReturnRange return_ranges[] = {
	{ PK_CGROUP_SKB, "cgroup_skb/egress", 0, 3 },
	{ PK_CGROUP_SKB, NULL, 0, 1 },
	{ PK_CGROUP_SOCK, NULL, 0, 1 },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/bind4", 0, 3 },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/bind6", 0, 3 },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/recvmsg4", 1, 1 },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/recvmsg6", 1, 1 },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/getpeername4", 1, 1 },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/getpeername6", 1, 1 },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/getsockname4", 1, 1 },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/getsockname6", 1, 1 },
	{ PK_CGROUP_SOCK_ADDR, NULL, 0, 1 },
};

const ReturnRange *prog_return_range(const ProgKindInfo *kind, const char *attach)
{
	const char *section = prog_section_name(kind, attach);
	for (size_t i = 0; kind && i < sizeof(return_ranges) / sizeof(return_ranges[0]); i++)
		if (return_ranges[i].kind == kind->kind &&
		    (!return_ranges[i].section || (section && strcmp(return_ranges[i].section, section) == 0)))
			return &return_ranges[i];
	return NULL;
}

/* The entries of libbpf 1.1.2's section_defs[] (libbpf.c) whose program
 * type is one of our kinds, with libbpf's matching rules: a name ending in
 * '+' matches itself and itself + "/anything", a name ending in '/' matches
 * any extension, any other name only itself. Order matters as in libbpf:
 * the first entry that matches decides the program type, so names that
 * would match an entry of another type ("uprobe.s/x" is not an uprobe of
 * ours) are simply absent and stay unknown. tables_test.c checks this
 * table against the installed libbpf's libbpf_prog_type_by_name(). */
static const struct {
	ProgKind kind;
	const char *sec;
} libbpf_sections[] = {
	{ PK_SOCKET_FILTER, "socket" },
	{ PK_KPROBE, "kprobe+" },
	{ PK_UPROBE, "uprobe+" },
	{ PK_KRETPROBE, "kretprobe+" },
	{ PK_URETPROBE, "uretprobe+" },
	{ PK_TC, "tc" },
	{ PK_TC, "classifier" },
	{ PK_TRACEPOINT, "tracepoint+" },
	{ PK_TRACEPOINT, "tp+" },
	{ PK_RAW_TRACEPOINT, "raw_tracepoint+" },
	{ PK_RAW_TRACEPOINT, "raw_tp+" },
	{ PK_LSM, "lsm+" },
	{ PK_TP_BTF, "tp_btf+" },
	{ PK_FENTRY, "fentry+" },
	{ PK_FEXIT, "fexit+" },
	{ PK_XDP, "xdp.frags/devmap" },
	{ PK_XDP, "xdp/devmap" },
	{ PK_XDP, "xdp.frags/cpumap" },
	{ PK_XDP, "xdp/cpumap" },
	{ PK_XDP, "xdp.frags" },
	{ PK_XDP, "xdp" },
	{ PK_PERF_EVENT, "perf_event" },
	{ PK_SK_SKB, "sk_skb/stream_parser" },
	{ PK_SK_SKB, "sk_skb/stream_verdict" },
	{ PK_SK_SKB, "sk_skb" },
	{ PK_SK_MSG, "sk_msg" },
	{ PK_FLOW_DISSECTOR, "flow_dissector" },
	{ PK_CGROUP_SKB, "cgroup_skb/ingress" },
	{ PK_CGROUP_SKB, "cgroup_skb/egress" },
	{ PK_CGROUP_SKB, "cgroup/skb" },
	{ PK_CGROUP_SOCK, "cgroup/sock_create" },
	{ PK_CGROUP_SOCK, "cgroup/sock_release" },
	{ PK_CGROUP_SOCK, "cgroup/sock" },
	{ PK_CGROUP_SOCK, "cgroup/post_bind4" },
	{ PK_CGROUP_SOCK, "cgroup/post_bind6" },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/bind4" },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/bind6" },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/connect4" },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/connect6" },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/sendmsg4" },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/sendmsg6" },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/recvmsg4" },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/recvmsg6" },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/getpeername4" },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/getpeername6" },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/getsockname4" },
	{ PK_CGROUP_SOCK_ADDR, "cgroup/getsockname6" },
	{ PK_STRUCT_OPS, "struct_ops+" },
};

/* libbpf's sec_def_matches() for the strict (libbpf 1.x) rules. */
static bool section_matches(const char *def, const char *section)
{
	size_t len = strlen(def);
	if (def[len - 1] == '/')
		return strncmp(section, def, len) == 0;
	if (def[len - 1] == '+') {
		len--;
		return strncmp(section, def, len) == 0 &&
		       (section[len] == '\0' || section[len] == '/');
	}
	return strcmp(section, def) == 0;
}

bool prog_section_known(const ProgKindInfo *kind, const char *section)
{
	if (!kind || !section)
		return false;
	for (size_t i = 0; i < sizeof(libbpf_sections) / sizeof(libbpf_sections[0]); i++) {
		if (section_matches(libbpf_sections[i].sec, section))
			return libbpf_sections[i].kind == kind->kind;
	}
	return false;
}

/* ---- map types ---------------------------------------------------------- */

/* needs_key/needs_value: the map must be declared with a key/value type.
 * perf_event_array may omit both (libbpf sizes them as 4-byte ints);
 * ringbuf, queue and stack must omit the key (the kernel requires
 * key_size 0) and ringbuf the value too. lpm_trie additionally needs
 * BPF_F_NO_PREALLOC in its flags (the kernel's trie_alloc_check refuses
 * it without): the parser adds the required flags to the map's. */
static const MapTypeInfo map_types[] = {
	/* name, c_enum, needs_key, needs_value, core, key none, value none,
	 * required flags */
	{ "hash", "BPF_MAP_TYPE_HASH", true, true, true, false, false, 0, NULL },
	{ "array", "BPF_MAP_TYPE_ARRAY", true, true, true, false, false, 0, NULL },
	{ "prog_array", "BPF_MAP_TYPE_PROG_ARRAY", true, true, true, false, false, 0, NULL },
	{ "perf_event_array", "BPF_MAP_TYPE_PERF_EVENT_ARRAY", false, false, true, false, false, 0, NULL },
	{ "ringbuf", "BPF_MAP_TYPE_RINGBUF", false, false, true, true, true, 0, NULL },
	{ "percpu_hash", "BPF_MAP_TYPE_PERCPU_HASH", true, true, false, false, false, 0, NULL },
	{ "percpu_array", "BPF_MAP_TYPE_PERCPU_ARRAY", true, true, false, false, false, 0, NULL },
	{ "lru_hash", "BPF_MAP_TYPE_LRU_HASH", true, true, false, false, false, 0, NULL },
	{ "lru_percpu_hash", "BPF_MAP_TYPE_LRU_PERCPU_HASH", true, true, false, false, false, 0, NULL },
	{ "lpm_trie", "BPF_MAP_TYPE_LPM_TRIE", true, true, false, false, false, BPF_F_NO_PREALLOC,
	  "BPF_F_NO_PREALLOC" },
	{ "queue", "BPF_MAP_TYPE_QUEUE", false, true, false, true, false, 0, NULL },
	{ "stack", "BPF_MAP_TYPE_STACK", false, true, false, true, false, 0, NULL },
	{ "stack_trace", "BPF_MAP_TYPE_STACK_TRACE", true, true, false, false, false, 0, NULL },
	{ "devmap", "BPF_MAP_TYPE_DEVMAP", true, true, false, false, false, 0, NULL },
	{ "cpumap", "BPF_MAP_TYPE_CPUMAP", true, true, false, false, false, 0, NULL },
	{ "xskmap", "BPF_MAP_TYPE_XSKMAP", true, true, false, false, false, 0, NULL },
	{ "sockmap", "BPF_MAP_TYPE_SOCKMAP", true, true, false, false, false, 0, NULL },
	{ "sockhash", "BPF_MAP_TYPE_SOCKHASH", true, true, false, false, false, 0, NULL },
};

const MapTypeInfo *map_type_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(map_types) / sizeof(map_types[0]); i++) {
		if (strcmp(map_types[i].name, name) == 0)
			return &map_types[i];
	}
	return NULL;
}

const MapTypeInfo *map_type_table(int *count)
{
	*count = (int)(sizeof(map_types) / sizeof(map_types[0]));
	return map_types;
}

/* ---- kernel constants (extension 10.8) ---------------------------------- */

/* The values come from the headers the generated C includes, so they
 * cannot drift from what clang will see; the emitter writes the name. The
 * cast through long long tells negative constants (TC_ACT_UNSPEC) from
 * large unsigned ones (BPF_F_CURRENT_CPU). */
#define KCONST(name, header) { #name, (uint64_t)(name), (long long)(name) < 0, header, (int)sizeof(name) }
#define HDR_BPF "linux/bpf.h"
#define HDR_PKT_CLS "linux/pkt_cls.h"

static const KernelConst kernel_consts[] = {
	/* XDP program return codes */
	KCONST(XDP_ABORTED, HDR_BPF),
	KCONST(XDP_DROP, HDR_BPF),
	KCONST(XDP_PASS, HDR_BPF),
	KCONST(XDP_TX, HDR_BPF),
	KCONST(XDP_REDIRECT, HDR_BPF),
	/* tc (cls_bpf direct action) return codes */
	KCONST(TC_ACT_UNSPEC, HDR_PKT_CLS),
	KCONST(TC_ACT_OK, HDR_PKT_CLS),
	KCONST(TC_ACT_RECLASSIFY, HDR_PKT_CLS),
	KCONST(TC_ACT_SHOT, HDR_PKT_CLS),
	KCONST(TC_ACT_PIPE, HDR_PKT_CLS),
	KCONST(TC_ACT_STOLEN, HDR_PKT_CLS),
	KCONST(TC_ACT_QUEUED, HDR_PKT_CLS),
	KCONST(TC_ACT_REPEAT, HDR_PKT_CLS),
	KCONST(TC_ACT_REDIRECT, HDR_PKT_CLS),
	KCONST(TC_ACT_TRAP, HDR_PKT_CLS),
	/* sk_skb / sk_msg verdicts */
	KCONST(SK_DROP, HDR_BPF),
	KCONST(SK_PASS, HDR_BPF),
	/* flow dissector and lwt return codes */
	KCONST(BPF_OK, HDR_BPF),
	KCONST(BPF_DROP, HDR_BPF),
	KCONST(BPF_REDIRECT, HDR_BPF),
	KCONST(BPF_FLOW_DISSECTOR_CONTINUE, HDR_BPF),
	/* map_update_elem flags */
	KCONST(BPF_ANY, HDR_BPF),
	KCONST(BPF_NOEXIST, HDR_BPF),
	KCONST(BPF_EXIST, HDR_BPF),
	KCONST(BPF_F_LOCK, HDR_BPF),
	/* map creation flags (extension 10.2 :flags) */
	KCONST(BPF_F_NO_PREALLOC, HDR_BPF),
	KCONST(BPF_F_NO_COMMON_LRU, HDR_BPF),
	KCONST(BPF_F_NUMA_NODE, HDR_BPF),
	KCONST(BPF_F_RDONLY_PROG, HDR_BPF),
	KCONST(BPF_F_WRONLY_PROG, HDR_BPF),
	KCONST(BPF_F_MMAPABLE, HDR_BPF),
	/* perf_event_output, get_stackid */
	KCONST(BPF_F_INDEX_MASK, HDR_BPF),
	KCONST(BPF_F_CURRENT_CPU, HDR_BPF),
	KCONST(BPF_F_USER_STACK, HDR_BPF),
	KCONST(BPF_F_FAST_STACK_CMP, HDR_BPF),
	KCONST(BPF_F_REUSE_STACKID, HDR_BPF),
	/* ringbuf_output/submit/discard flags */
	KCONST(BPF_RB_NO_WAKEUP, HDR_BPF),
	KCONST(BPF_RB_FORCE_WAKEUP, HDR_BPF),
	/* redirect, clone_redirect */
	KCONST(BPF_F_INGRESS, HDR_BPF),
	/* skb_store_bytes, l3/l4_csum_replace */
	KCONST(BPF_F_RECOMPUTE_CSUM, HDR_BPF),
	KCONST(BPF_F_INVALIDATE_HASH, HDR_BPF),
	KCONST(BPF_F_HDR_FIELD_MASK, HDR_BPF),
	KCONST(BPF_F_PSEUDO_HDR, HDR_BPF),
	KCONST(BPF_F_MARK_MANGLED_0, HDR_BPF),
	KCONST(BPF_F_MARK_ENFORCE, HDR_BPF),
};

/* the checker asks for nearly every name it resolves */
static NameIndex kernel_const_index = NAME_INDEX(kernel_consts);

const KernelConst *kernel_const_by_name(const char *name)
{
	return name ? name_index_get(&kernel_const_index, name) : NULL;
}

const KernelConst *kernel_const_table(int *count)
{
	*count = (int)(sizeof(kernel_consts) / sizeof(kernel_consts[0]));
	return kernel_consts;
}

/* ---- libbpf helpers ----------------------------------------------------- */

static const HelperInfo helpers[] = {
#define HELPER(name, id, nparams, returns_pointer, returns_nothing, map_params, decl) \
	{ name, id, decl, nparams, returns_pointer, returns_nothing, map_params },
#include "helpers.gen.h"
#undef HELPER
};

static NameIndex helper_index = NAME_INDEX(helpers);

const HelperInfo *helper_by_name(const char *name)
{
	return name ? name_index_get(&helper_index, name) : NULL;
}

const HelperInfo *helper_table(int *count)
{
	*count = (int)(sizeof(helpers) / sizeof(helpers[0]));
	return helpers;
}

/* The declaration of parameter i of helper h in libbpf's
 * bpf_helper_defs.h, "struct bpf_sock_tuple *tuple", or NULL when unknown
 * (h NULL, no such parameter). */
const char *helper_param_decl(const HelperInfo *h, int i)
{
	if (!h || !h->c_decl)
		return NULL;
	const char *name = arena_printf("bpf_%s", h->name);
	const char *p = strstr(h->c_decl, name);
	if (!p)
		return NULL;
	p = strchr(p + strlen(name), '(');
	if (!p)
		return NULL;
	/* "(*bpf_x)(...)" spelling: skip to the parameter list */
	if (p[1] == ')' && p[2] == '(')
		p += 2;
	p++;
	int idx = 0, depth = 0;
	const char *start = p;
	for (; *p; p++) {
		if (*p == '(') {
			depth++;
		} else if ((*p == ')' && depth-- == 0) || (*p == ',' && depth == 0)) {
			if (idx == i) {
				while (*start == ' ')
					start++;
				return arena_strndup(start, (size_t)(p - start));
			}
			if (*p == ')')
				break;
			idx++;
			start = p + 1;
		}
	}
	return NULL;
}

/* ---- by-value helper arguments (LANGUAGE.md section 5) ------------------
 *
 * The helpers whose key, value or data arguments the source passes by value
 * and the C passes by address. Both backends read this one table, so they
 * cannot disagree on which arguments get a stack copy of which type. */
static const struct {
	int helper;         /* BPF_FUNC_*: by number, as every argument of
	                     * every helper call asks */
	int map_arg;        /* position of the map the key or value belongs to */
	const char *kinds;  /* per argument: 'k' key, 'v' value, 'd' data, '.' none */
} by_value_helpers[] = {
	{ BPF_FUNC_map_lookup_elem, 0, ".k" },
	{ BPF_FUNC_map_update_elem, 0, ".kv." },
	{ BPF_FUNC_map_delete_elem, 0, ".k" },
	{ BPF_FUNC_map_push_elem, 0, ".v." },
	{ BPF_FUNC_ringbuf_output, 0, ".d.." },
	{ BPF_FUNC_perf_event_output, 1, "...d." },
};

char helper_by_value_arg(const Node *call, int i, int *map_arg)
{
	/* (map/incr! m k n): the key, and the amount the insert stores */
	if (call->callee_kind == CALLEE_MAP_INCR) {
		*map_arg = 0;
		return i == 1 ? 'k' : i == 2 ? 'v' : 0;
	}
	if (call->callee_kind != CALLEE_HELPER || !call->callee_extern || !call->callee_extern->helper)
		return 0;
	int id = call->callee_extern->helper->id;
	for (size_t k = 0; k < sizeof(by_value_helpers) / sizeof(*by_value_helpers); k++) {
		if (by_value_helpers[k].helper != id)
			continue;
		if (i >= (int)strlen(by_value_helpers[k].kinds))
			return 0;
		char c = by_value_helpers[k].kinds[i];
		*map_arg = by_value_helpers[k].map_arg;
		return c == '.' ? 0 : c;
	}
	return 0;
}

Type *helper_by_value_type(const Node *call, int i)
{
	int map_arg;
	char kind = helper_by_value_arg(call, i, &map_arg);
	if (!kind)
		return NULL;
	Node *map = map_arg < call->args.len ? call->args.items[map_arg] : NULL;
	/* the map itself, or a map handle parameter every call passes it */
	const MapDecl *md = !map || map->kind != N_NAME ? NULL
			    : map->ref == REF_MAP ? map->ref_map
			    : map->ref == REF_VAR && map->ref_var ? map->ref_var->handle_map : NULL;
	if (md) {
		Type *t = kind == 'k' ? md->key : kind == 'v' ? md->value : NULL;
		if (t)
			return t;
	}
	return ((Node *)call->args.items[i])->type;
}
