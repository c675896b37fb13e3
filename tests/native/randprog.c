/* randprog - a random well-typed Vaisto BPF program and its inputs, for
 * tests/native_diff.sh (docs/testing.md).
 *
 *   randprog SEED > prog.va
 *   randprog --cases SEED > prog.cases
 *
 * The same seed gives the same program. What it may write is data, in the
 * tables below: the program kinds (with their context record, readable and
 * writable fields, whether the kernel test-runs them and what they may
 * return), the map types (with what a program does to each), the helpers
 * (with their extern), the expression forms and the statement forms (each
 * with a weight and the conditions it needs). A program is:
 *
 *   (program :KIND "attach")      or none at all (a file of defns)
 *   (license ...)                 sometimes
 *   (deftype R [...])             a record, the value of some maps
 *   (defmap ...)                  `out` (array u32 -> u64) and 1-5 others
 *   (defglobal ...) (defconst ...)
 *   (extern bpf:... )             for each helper used
 *   (defn entry [ctx :Ctx] ...)   reads the context (and the packet, after
 *                                 a bounds check), calls f0..fN, stores
 *                                 each result into `out`
 *   (defn fN [0-5 params] ...)    random expressions; may call later fN
 *
 * The cases file holds real frames of the common protocols (Ethernet,
 * VLAN, ARP, IPv4, IPv6, TCP, UDP, ICMP), truncated and random ones, or
 * raw tracepoint arguments, each with `return any`: the oracle is the
 * other backend, not an expected value. Which forms, types, kinds, map
 * types and helpers the programs reach is counted by
 * tests/native/coverage.sh from the program text, against the
 * translator's own tables.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- random numbers ------------------------------------------------------ */

static uint64_t rng;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static int pick(int n) { return n <= 1 ? 0 : (int)(next() % (uint32_t)n); }
static bool chance(int percent) { return pick(100) < percent; }
static uint64_t next64(void) { return (uint64_t)next() << 32 | next(); }

/* ---- output: the body is written first, the externs it needed after ----- */

static char *body;
static size_t body_len, body_cap;

static int literal_slot = -1;   /* see leaf(): anything written ends it */

__attribute__((format(printf, 1, 2)))
static void out(const char *fmt, ...)
{
	literal_slot = -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (body_len + (size_t)n + 1 > body_cap) {
		body_cap = (body_cap + (size_t)n + 1) * 2;
		body = realloc(body, body_cap);
		if (!body)
			exit(2);
	}
	va_start(ap, fmt);
	vsnprintf(body + body_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	body_len += (size_t)n;
}

/* ---- types ---------------------------------------------------------------- */

enum { U8, U16, U32, U64, I8, I16, I32, I64, NTYPES };
static const struct {
	const char *name;
	int bits;
	bool is_signed;
} types[NTYPES] = {
	{ "u8", 8, false }, { "u16", 16, false }, { "u32", 32, false }, { "u64", 64, false },
	{ "i8", 8, true },  { "i16", 16, true },  { "i32", 32, true },  { "i64", 64, true },
};

/* ---- program kinds -------------------------------------------------------- */

typedef struct {
	const char *name;
	int type;
} Field;

#define END { NULL, 0 }
static const Field skb_read[] = {
	{ "len", U32 }, { "pkt_type", U32 }, { "mark", U32 }, { "protocol", U32 },
	{ "priority", U32 }, { "ingress_ifindex", U32 }, { "ifindex", U32 },
	{ "vlan_present", U32 }, { "vlan_tci", U32 }, { "vlan_proto", U32 },
	{ "cb0", U32 }, { "cb1", U32 }, { "cb2", U32 }, { "cb3", U32 }, { "cb4", U32 },
	{ "queue_mapping", U32 }, END,
};
static const Field sk_skb_read[] = {
	{ "len", U32 }, { "protocol", U32 }, { "family", U32 }, { "remote_ip4", U32 },
	{ "local_port", U32 }, END,
};
static const Field skb_tc_write[] = {
	{ "mark", U32 }, { "priority", U32 }, { "cb0", U32 }, { "cb2", U32 }, { "cb4", U32 },
	{ "tc_index", U32 }, { "tc_classid", U32 }, END,
};
static const Field skb_cb_write[] = { { "cb0", U32 }, { "cb1", U32 }, { "cb3", U32 }, END };
static const Field skb_cg_write[] = { { "mark", U32 }, { "priority", U32 }, { "cb1", U32 }, END };
static const Field xdp_read[] = {
	{ "ingress_ifindex", U32 }, { "rx_queue_index", U32 }, END,
};
static const Field flow_read[] = {
	{ "nhoff", U16 }, { "thoff", U16 }, { "addr_proto", U16 }, { "is_frag", U8 },
	{ "ip_proto", U8 }, { "n_proto", U16 }, { "sport", U16 }, { "dport", U16 }, END,
};
static const Field flow_write[] = {
	{ "thoff", U16 }, { "addr_proto", U16 }, { "ip_proto", U8 }, { "n_proto", U16 },
	{ "sport", U16 }, { "dport", U16 }, { "ipv4_src", U32 }, END,
};
static const Field regs_read[] = {
	{ "rdi", U64 }, { "rsi", U64 }, { "rdx", U64 }, { "rax", U64 }, { "rip", U64 }, END,
};
static const Field sock_read[] = {
	{ "family", U32 }, { "type", U32 }, { "protocol", U32 }, { "mark", U32 }, END,
};
static const Field sock_write[] = { { "mark", U32 }, { "priority", U32 }, END };
static const Field sock_addr_read[] = {
	{ "user_family", U32 }, { "user_ip4", U32 }, { "user_port", U32 }, { "family", U32 },
	{ "type", U32 }, { "protocol", U32 }, END,
};
static const Field sock_addr_write[] = { { "user_ip4", U32 }, { "user_port", U32 }, END };
static const Field msg_read[] = {
	{ "family", U32 }, { "remote_ip4", U32 }, { "local_ip4", U32 }, { "remote_port", U32 },
	{ "local_port", U32 }, { "size", U32 }, END,
};
static const Field none[] = { END };

enum packet { NO_PACKET, PACKET_READ, PACKET_WRITE };
enum inputs { NO_RUN, FRAMES, RAW_ARGS };

static const struct kind {
	const char *name, *attach;
	const char *ctx;            /* context record, or NULL: a :u64 context */
	enum packet packet;         /* direct packet access */
	enum inputs inputs;         /* what BPF_PROG_TEST_RUN gives it (NO_RUN: load only) */
	bool verdict01;             /* the verifier wants 0 or 1 back */
	bool tail_calls;            /* bpf_tail_call may be given its context */
	const Field *read, *write;
	int weight;
} kinds[] = {
	{ "xdp", NULL, "XdpMd", PACKET_WRITE, FRAMES, false, true, xdp_read, none, 8 },
	{ "tc", NULL, "SkBuff", PACKET_WRITE, FRAMES, false, true, skb_read, skb_tc_write, 8 },
	{ "socket_filter", NULL, "SkBuff", NO_PACKET, FRAMES, false, true, skb_read, skb_cb_write, 4 },
	{ "cgroup_skb", "ingress", "SkBuff", PACKET_READ, FRAMES, true, false, skb_read, skb_cg_write, 4 },
	{ "raw_tracepoint", "sys_enter", NULL, NO_PACKET, RAW_ARGS, false, true, none, none, 8 },
	{ "flow_dissector", NULL, "BpfFlowKeys", NO_PACKET, FRAMES, false, false, flow_read, flow_write, 3 },
	{ "sk_skb", "stream_verdict", "SkBuff", NO_PACKET, NO_RUN, false, false, sk_skb_read, none, 1 },
	{ "sk_msg", NULL, "BpfSkMsg", NO_PACKET, NO_RUN, true, false, msg_read, none, 1 },
	{ "cgroup_sock", "sock_create", "BpfSock", NO_PACKET, NO_RUN, true, false, sock_read, sock_write, 1 },
	{ "cgroup_sock_addr", "connect4", "BpfSockAddr", NO_PACKET, NO_RUN, true, false, sock_addr_read, sock_addr_write, 1 },
	{ "kprobe", "do_sys_openat2", "PtRegs", NO_PACKET, NO_RUN, false, true, regs_read, none, 1 },
	{ "kretprobe", "do_sys_openat2", "PtRegs", NO_PACKET, NO_RUN, false, true, regs_read, none, 1 },
	{ "uprobe", "/bin/sh:main", "PtRegs", NO_PACKET, NO_RUN, false, true, regs_read, none, 1 },
	{ "uretprobe", "/bin/sh:main", "PtRegs", NO_PACKET, NO_RUN, false, true, regs_read, none, 1 },
	{ "perf_event", NULL, "PtRegs", NO_PACKET, NO_RUN, false, true, regs_read, none, 1 },
	{ "tracepoint", "syscalls/sys_enter_openat", NULL, NO_PACKET, NO_RUN, false, true, none, none, 1 },
};
enum { NKINDS = sizeof(kinds) / sizeof(kinds[0]) };
static const struct kind *kind;
static bool no_program;        /* a file of defns without (program) */

/* ---- maps ----------------------------------------------------------------- */

enum role { KEYED, QUEUE, RINGBUF, PROG_ARRAY, PERF_ARRAY, DECLARED };
static const struct maptype {
	const char *name;
	enum role role;
	bool array;                 /* keys 0 .. max-1, every one present */
	int weight;
} maptypes[] = {
	{ "hash", KEYED, false, 6 },        { "array", KEYED, true, 6 },
	{ "percpu_hash", KEYED, false, 2 }, { "percpu_array", KEYED, true, 2 },
	{ "lru_hash", KEYED, false, 2 },    { "lru_percpu_hash", KEYED, false, 1 },
	{ "queue", QUEUE, false, 2 },       { "stack", QUEUE, false, 2 },
	{ "ringbuf", RINGBUF, false, 3 },   { "prog_array", PROG_ARRAY, true, 2 },
	{ "perf_event_array", PERF_ARRAY, false, 1 },
	/* declared only: their definitions (sizes, flags, BTF) are compared */
	{ "lpm_trie", DECLARED, false, 1 },       { "stack_trace", DECLARED, false, 1 },
	{ "devmap", DECLARED, true, 1 },          { "cpumap", DECLARED, true, 1 },
	{ "xskmap", DECLARED, true, 1 },          { "sockmap", DECLARED, true, 1 },
	{ "sockhash", DECLARED, false, 1 },
};
enum { NMAPTYPES = sizeof(maptypes) / sizeof(maptypes[0]), MAX_MAPS = 6 };

static struct map {
	const struct maptype *type;
	int key, value;             /* int types; key -1: the record K, value -1: the record R */
	bool init;                  /* a prog_array filled at load (:init) */
	int entries;
} maps[MAX_MAPS];
static int nmaps;

/* The record, the value of some keyed maps: (Some p) then (. p :f); and,
 * as a value (LANGUAGE.md 10.4), built with (R :f0 x ...), let-bound,
 * stored by value, sent to a ring buffer or perf array. */
enum { MAX_FIELDS = 5 };
static int nrecord_fields, record_types[MAX_FIELDS];
/* K: the key of some hash maps, a record with padding (written by map
 * idioms only: the helpers' externs take integer keys). */
static int nkey_fields, key_types[MAX_FIELDS + 2];

/* Several programs in one file (LANGUAGE.md 10.3): the entry and one or
 * two more defprogs, named entry q1 q2. Those of the file's kind may
 * tail-call each other through a prog_array filled at load (:init);
 * one of another kind that takes the same inputs neither calls nor is
 * called (the kernel wants one program type per prog_array). */
enum { MAX_PROGS = 3 };
static bool multiprog;
static int nprogs;
static const struct kind *prog_kinds[MAX_PROGS];
static const char *const prog_names[MAX_PROGS] = { "entry", "q1", "q2" };

/* ---- helpers ---------------------------------------------------------------- */

enum helper {
	H_LOOKUP, H_UPDATE, H_DELETE, H_PUSH, H_POP, H_PEEK, H_RB_RESERVE, H_RB_SUBMIT,
	H_RB_DISCARD, H_RB_OUTPUT, H_TAIL_CALL, H_KTIME, H_PRANDOM, H_CPU, H_PERF_OUTPUT,
	H_SK_LOOKUP_TCP, H_SK_LOOKUP_UDP, H_SK_RELEASE, H_PID_TGID, NHELPERS
};
/* The key argument's type is the program's key_type (u32 or u64). */
static const char *const helper_externs[NHELPERS] = {
	[H_LOOKUP] = "map_lookup_elem [:u64 :%s] :u64",
	[H_UPDATE] = "map_update_elem [:u64 :%s :u64 :u64] :u64",
	[H_DELETE] = "map_delete_elem [:u64 :%s] :u64",
	[H_PUSH] = "map_push_elem [:u64 :u64 :u64] :u64",
	[H_POP] = "map_pop_elem [:u64 :u64] :u64",
	[H_PEEK] = "map_peek_elem [:u64 :u64] :u64",
	[H_RB_RESERVE] = "ringbuf_reserve [:u64 :u64 :u64] :u64",
	[H_RB_SUBMIT] = "ringbuf_submit [:u64 :u64] :unit",
	[H_RB_DISCARD] = "ringbuf_discard [:u64 :u64] :unit",
	[H_RB_OUTPUT] = "ringbuf_output [:u64 :u64 :u64 :u64] :u64",
	[H_TAIL_CALL] = "tail_call [:u64 :u64 :u32] :u64",
	[H_KTIME] = "ktime_get_ns [] :u64",
	[H_PRANDOM] = "get_prandom_u32 [] :u32",
	[H_CPU] = "get_smp_processor_id [] :u32",
	[H_PERF_OUTPUT] = "perf_event_output [:u64 :u64 :u64 :u64 :u64] :u64",
	[H_SK_LOOKUP_TCP] = "sk_lookup_tcp [:u64 :u64 :u32 :u64 :u64] :u64",
	[H_SK_LOOKUP_UDP] = "sk_lookup_udp [:u64 :u64 :u32 :u64 :u64] :u64",
	[H_SK_RELEASE] = "sk_release [:u64] :u64",
	[H_PID_TGID] = "get_current_pid_tgid [] :u64",
};
static bool helper_used[NHELPERS];
static int key_type;          /* what the map helpers' extern says a key is */

static const char *use(enum helper h)
{
	helper_used[h] = true;
	const char *e = helper_externs[h];
	static char names[NHELPERS][64];   /* one each: several go into one printf */
	size_t n = strcspn(e, " ");
	snprintf(names[h], sizeof(names[h]), "bpf/%.*s", (int)n, e);
	return names[h];
}

/* ---- globals, functions, scope -------------------------------------------- */

enum { NGLOBALS = 5, MAX_FUNCS = 6, MAX_PARAMS = 5, MAX_SCOPE = 96 };
/* g0 g1 .bss, g2 .data, g3 g4 defconst */
static int gtypes[NGLOBALS];
static bool gconst[NGLOBALS];

static struct func {
	int nparams, params[MAX_PARAMS], ret;
	int map;                     /* >= 0: its first parameter is this map, passed in */
	bool packet;                 /* its first two parameters are data, data_end */
} funcs[MAX_FUNCS];
static int nfuncs;

static struct {
	char name[16];
	int type;
} scope[MAX_SCOPE];
static int nscope, nfresh;

static const char *fresh(const char *prefix)
{
	static char names[8192][24];
	char *name = names[nfresh % 8192];
	snprintf(name, sizeof(names[0]), "%s%d", prefix, nfresh);
	nfresh++;
	return name;
}

static void bind(const char *name, int t)
{
	if (nscope == MAX_SCOPE)
		return;
	snprintf(scope[nscope].name, sizeof(scope[nscope].name), "%s", name);
	scope[nscope++].type = t;
}

/* Where the expression being written is. */
static struct {
	int func;                    /* -1: the entry */
	int calls;                   /* calls written in this function */
	bool in_loop;                /* straight-line code only (see loop()) */
	int packet_len;              /* > 0: data + packet_len <= data_end is known */
	const char *data;            /* the packet start's name there */
	const char *value_ptr;       /* a (Some p) of a u64-valued map in scope */
	const char *record_ptr;      /* a (Some r) of the record-valued map in scope */
	const char *record_val;      /* a let-bound record value R in scope */
	int stack_slot;              /* stack_store written to -8*slot in this function */
	bool reference_held;         /* in a reserved record's (Some ev), before its
	                              * submit: no tail call (the checker refuses
	                              * it, as the verifier would) */
} at;
enum { MAX_CALLS = 3 };

static void expr(int t, int depth);
static void condition(int depth);

/* LANGUAGE.md section 2: a literal has no type of its own. Where nothing
 * gives it one (a cast's operand, a let's value, a match scrutinee, both
 * operands of a comparison, for-range bounds) the next expression is
 * written with a type of its own: self_typed asks for that, and a form
 * that honours it (typed_here) passes it on to its first operand. */
static bool self_typed, typed_here;

/* A literal passed as a map helper's key or value becomes a temporary of
 * the map's key or value type (LANGUAGE.md section 5), so it must fit
 * there as well as in the helper's parameter type. literal_slot, set just
 * before such an argument, is that map type: a leaf written before
 * anything else (the whole argument) takes it; out() ends it, since a
 * literal inside a form is typed by its operator. -1 elsewhere. */

static void typed_expr(int t, int depth)
{
	self_typed = true;
	expr(t, depth);
}
static void statement(int depth);
static void unit_statement(int depth);

/* ---- literals --------------------------------------------------------------- */

static uint64_t truncate_to(int t, uint64_t v)
{
	return types[t].bits == 64 ? v : v & ((UINT64_C(1) << types[t].bits) - 1);
}

static void print_value(int t, uint64_t v)
{
	int bits = types[t].bits;
	if (types[t].is_signed) {
		int64_t s = (int64_t)(v << (64 - bits)) >> (64 - bits);
		out("%lld", (long long)s);
	} else {
		out("%llu", (unsigned long long)truncate_to(t, v));
	}
}

/* Kernel constants by name (LANGUAGE.md 10.8), with their values from the
 * same headers as translator/frontend/tables.c: one is written where it fits. */
#define K(name) { #name, (long long)(name) }
static const struct {
	const char *name;
	long long value;
} kconsts[] = {
	K(XDP_ABORTED), K(XDP_DROP), K(XDP_PASS), K(XDP_TX), K(XDP_REDIRECT),
	K(TC_ACT_UNSPEC), K(TC_ACT_OK), K(TC_ACT_RECLASSIFY), K(TC_ACT_SHOT), K(TC_ACT_PIPE),
	K(TC_ACT_STOLEN), K(TC_ACT_QUEUED), K(TC_ACT_REPEAT), K(TC_ACT_REDIRECT), K(TC_ACT_TRAP),
	K(SK_DROP), K(SK_PASS), K(BPF_OK), K(BPF_DROP), K(BPF_REDIRECT),
	K(BPF_FLOW_DISSECTOR_CONTINUE), K(BPF_ANY), K(BPF_NOEXIST), K(BPF_EXIST), K(BPF_F_LOCK),
	K(BPF_F_NO_PREALLOC), K(BPF_F_NO_COMMON_LRU), K(BPF_F_NUMA_NODE), K(BPF_F_RDONLY_PROG),
	K(BPF_F_WRONLY_PROG), K(BPF_F_MMAPABLE), K(BPF_F_INDEX_MASK), K(BPF_F_CURRENT_CPU),
	K(BPF_F_USER_STACK), K(BPF_F_FAST_STACK_CMP), K(BPF_F_REUSE_STACKID),
	K(BPF_RB_NO_WAKEUP), K(BPF_RB_FORCE_WAKEUP), K(BPF_F_INGRESS), K(BPF_F_RECOMPUTE_CSUM),
	K(BPF_F_INVALIDATE_HASH), K(BPF_F_HDR_FIELD_MASK), K(BPF_F_PSEUDO_HDR),
	K(BPF_F_MARK_MANGLED_0), K(BPF_F_MARK_ENFORCE),
};
#undef K

static bool fits_type(int t, long long v)
{
	int bits = types[t].bits;
	if (types[t].is_signed)
		return bits == 64 || (v >= -(1LL << (bits - 1)) && v < (1LL << (bits - 1)));
	return v >= 0 && (bits == 64 || (unsigned long long)v < (1ULL << bits));
}
static const char *const chars[] = { "\\a", "\\newline", "\\space", "\\tab", "\\return", "\\null", "\\z" };

/* A literal of type t: the edges (0, 1, -1, max, min), hex, characters,
 * kernel constants by name, small values (zero divisors, exact results)
 * and random ones. nonzero: never 0 (a literal divisor). */
static void literal(int t, bool nonzero)
{
	int bits = types[t].bits;
	uint64_t max = types[t].is_signed ? (UINT64_C(1) << (bits - 1)) - 1 : truncate_to(t, UINT64_MAX);
	uint64_t v;
	switch (pick(12)) {
	case 0: v = nonzero ? 1 : 0; break;
	case 1: v = 1; break;
	case 2: v = max; break;
	case 3: v = types[t].is_signed ? UINT64_MAX : max; break;              /* -1 */
	case 4: v = types[t].is_signed ? ~max : max - 1; break;                /* min */
	case 5:
		out("0x%llx", (unsigned long long)((next64() & max) | nonzero));
		return;
	case 6:
		out("%s", chars[pick(nonzero ? 5 : 7) % 7]);
		return;
	case 7:
		for (int tries = 0; tries < 4; tries++) {
			int k = pick(sizeof(kconsts) / sizeof(kconsts[0]));
			if (fits_type(t, kconsts[k].value) && (!nonzero || kconsts[k].value != 0)) {
				out("%s", kconsts[k].name);
				return;
			}
		}
		/* fall through */
	case 8:
	case 9: v = next() & 7; break;
	default: v = next64(); break;
	}
	if (nonzero && truncate_to(t, v) == 0)
		v = 3;
	print_value(t, v);
}

/* ---- the forms, as data ------------------------------------------------------ */

/* A leaf: a name in scope of type t, or cast to t. */
/* The type whose literals fit both t and the map's slot type: unsigned
 * parameters take a signed slot's non-negative values only. */
static int literal_type_for(int t, int slot)
{
	if (slot < 0)
		return t;
	if (types[slot].is_signed != types[t].is_signed)
		return U8;
	return types[slot].bits < types[t].bits ? slot : t;
}

static void leaf(int t)
{
	bool must = self_typed || typed_here;
	int lt = literal_type_for(t, literal_slot);
	self_typed = typed_here = false;
	literal_slot = -1;
	if (!must && (nscope == 0 || chance(15))) {
		literal(lt, false);
		return;
	}
	int s = pick(nscope);
	for (int tries = 0; scope[s].type < 0 && tries < nscope; tries++)
		s = (s + 1) % nscope;
	if (scope[s].type < 0) {
		literal(lt, false);
		return;
	}
	if (scope[s].type == t)
		out("%s", scope[s].name);
	else
		out("(%s %s)", types[t].name, scope[s].name);
}

static void leaf_form(int t, int depth) { leaf(t); (void)depth; }

static const char *const arith_ops[] = { "+", "-", "*", "band", "bor", "bxor", "div", "rem" };
static const char *const compare_ops[] = { "<", ">", "<=", ">=", "==", "!=" };

static void binary(int t, int depth)
{
	int op = pick(8);
	if (at.in_loop && op >= 6)
		op = pick(6);   /* division has branches too */
	out("(%s ", arith_ops[op]);
	if (typed_here)
		typed_expr(t, depth - 1);
	else if (chance(10))
		literal(t, false);   /* the literal on the left */
	else
		expr(t, depth - 1);
	out(" ");
	if (chance(30))
		literal(t, op >= 6);   /* the checker refuses x / 0 */
	else if (op >= 6)
		typed_expr(t, depth - 1);   /* a value that may be zero, not a literal 0 */
	else
		expr(t, depth - 1);
	out(")");
}

static void shift(int t, int depth)
{
	int bits = types[t].bits;
	out("(%s ", pick(2) ? "bsl" : "bsr");
	self_typed = typed_here;
	expr(t, depth - 1);
	if (pick(2)) {
		out(" %d)", pick(bits));
	} else {
		/* a run-time amount below the width: C's shifts are undefined
		 * beyond it */
		out(" (band ");
		expr(t, depth - 1);
		out(" %d))", bits - 1);
	}
}

static void negate(int t, int depth)
{
	out("(- ");
	typed_expr(t, depth - 1);   /* (- 5) would be a literal -5: not a :u32 */
	out(")");
}

static void cast(int t, int depth)
{
	out("(%s ", types[t].name);
	typed_expr(pick(NTYPES), depth - 1);
	out(")");
}

static void if_form(int t, int depth)
{
	out("(if ");
	condition(depth - 1);
	out(" ");
	expr(t, depth - 1);
	out(" ");
	expr(t, depth - 1);
	out(")");
}

static void cond_form(int t, int depth)
{
	out("(cond");
	for (int n = 1 + pick(2); n > 0; n--) {
		out(" [");
		condition(depth - 1);
		out(" ");
		expr(t, depth - 1);
		out("]");
	}
	out(" [:else ");
	expr(t, depth - 1);
	out("])");
}

static void match_int(int t, int depth)
{
	int u = pick(NTYPES), saved = nscope;
	out("(match ");
	typed_expr(u, depth - 1);
	for (int n = 1 + pick(3); n > 0; n--) {
		out(" [");
		literal(u, false);
		out(" ");
		expr(t, depth - 1);
		out("]");
	}
	if (pick(2)) {
		out(" [_ ");
	} else {
		const char *name = fresh("w");
		bind(name, u);
		out(" [%s ", name);
	}
	expr(t, depth - 1);
	out("])");
	nscope = saved;
}

static void match_bool(int t, int depth)
{
	out("(match ");
	condition(depth - 1);
	if (pick(3)) {
		out(" [true ");
		expr(t, depth - 1);
		out("] [false ");
	} else {
		out(" [false ");
		expr(t, depth - 1);
		out("] [_ ");
	}
	expr(t, depth - 1);
	out("])");
}

static void let_form(int t, int depth)
{
	int saved = nscope;
	out("(let [");
	for (int n = 1 + pick(2); n > 0; n--) {
		int u = pick(NTYPES);
		const char *name = fresh("v");
		out("%s ", name);
		if (chance(20)) {
			/* a bool binding, used as a condition */
			condition(depth - 1);
			bind(name, -1);
		} else {
			out("(%s ", types[u].name);   /* a let needs a typed value */
			typed_expr(u, depth - 1);
			out(")");
			bind(name, u);
		}
		out(n > 1 ? " " : "");
	}
	out("] ");
	expr(t, depth - 1);
	out(")");
	nscope = saved;
}

/* (do statement ... value) */
static void do_form(int t, int depth)
{
	out("(do ");
	statement(depth - 1);
	out(" ");
	expr(t, depth - 1);
	out(")");
}

static bool can_call(void) { return at.func < nfuncs - 1 && !at.in_loop && at.calls < MAX_CALLS; }

static bool same_map_types(int a, int b)
{
	return a >= 0 && b >= 0 && maps[a].key == maps[b].key && maps[a].value == maps[b].value;
}

/* A function after the current one, by index; from a function with a map
 * parameter, often one whose map parameter it can give its own. */
static int callee(void)
{
	int f = at.func + 1 + pick(nfuncs - at.func - 1);
	if (at.func >= 0 && funcs[at.func].map >= 0 && chance(50))
		for (int g = at.func + 1; g < nfuncs; g++)
			if (same_map_types(funcs[at.func].map, funcs[g].map))
				return g;
	return f;
}

/* What a call gives a map parameter meant for map m: m, another map of
 * its key and value types (one handle, two maps), or the caller's own map
 * parameter holding such a map (a handle given on). */
static void map_argument(int m)
{
	const struct func *caller = at.func >= 0 ? &funcs[at.func] : NULL;
	if (caller && same_map_types(caller->map, m) && chance(60)) {
		out("map");
		return;
	}
	int alike[MAX_MAPS], n = 0;
	for (int o = 0; o < nmaps; o++)
		if (maps[o].type->role == KEYED && same_map_types(o, m))
			alike[n++] = o;
	out("m%d", chance(70) ? m : alike[pick(n)]);
}

static void arguments(const struct func *f, int first, int last, int depth)
{
	for (int p = first; p < last; p++) {
		out(" ");
		if (f->map >= 0 && p == 0)
			map_argument(f->map);
		else if (f->packet && p == 0)
			out("%s", at.packet_len ? at.data : "0");
		else if (f->packet && p == 1)
			out("%s", at.packet_len ? "data_end" : "0");
		else
			expr(f->params[p], depth - 1);
	}
}

static void call(int t, int depth)
{
	int g = callee();
	const struct func *f = &funcs[g];
	at.calls++;
	if (f->ret != t)
		out("(%s ", types[t].name);
	out("(f%d", g);
	arguments(f, 0, f->nparams, depth);
	out(f->ret != t ? "))" : ")");
}

/* (-> x (f b c)) puts x first, (->> x (f a b)) last. */
static void thread(int t, int depth)
{
	int g = callee(), tries = 0;
	while ((funcs[g].nparams == 0 || funcs[g].map >= 0 || funcs[g].packet) && tries++ < 8)
		g = callee();
	const struct func *f = &funcs[g];
	if (f->nparams == 0 || f->map >= 0 || f->packet) {
		call(t, depth);
		return;
	}
	at.calls++;
	bool last = pick(2);
	int p = last ? f->nparams - 1 : 0;
	if (f->ret != t)
		out("(%s ", types[t].name);
	out("(%s ", last ? "->>" : "->");
	expr(f->params[p], depth - 1);
	if (f->nparams == 1 && pick(2)) {
		out(" f%d)", g);
	} else {
		out(" (f%d", g);
		arguments(f, last ? 0 : 1, last ? f->nparams - 1 : f->nparams, depth);
		out("))");
	}
	if (f->ret != t)
		out(")");
}

/* A keyed map with an integer key and an integer value (or the record),
 * or -1: what the helpers' externs, typed with key_type, can be given. */
static int keyed_map(bool record)
{
	int found[MAX_MAPS], n = 0;
	for (int m = 0; m < nmaps; m++)
		if (maps[m].type->role == KEYED && maps[m].key >= 0 && (maps[m].value < 0) == record)
			found[n++] = m;
	return n ? found[pick(n)] : -1;
}

/* Any keyed map (keys and values integers or records), for the map
 * idioms, which take the map's own key and value types; incr: one whose
 * values map/incr! can add to (32 or 64 bits); record: 1 a map of R
 * values, 0 of integers, -1 either. -1 when none. */
static int idiom_map(bool incr, int record)
{
	int found[MAX_MAPS], n = 0;
	for (int m = 0; m < nmaps; m++) {
		int v = maps[m].value;
		if (maps[m].type->role == KEYED && (!incr || (v >= 0 && types[v].bits >= 32)) &&
		    (record < 0 || (v < 0) == record))
			found[n++] = m;
	}
	return n ? found[pick(n)] : -1;
}

static int map_of_role(enum role role)
{
	int found[MAX_MAPS], n = 0;
	for (int m = 0; m < nmaps; m++)
		if (maps[m].type->role == role)
			found[n++] = m;
	return n ? found[pick(n)] : -1;
}

/* A key: often small, so that the entries the cases set are found. */
static void key(int m, int depth)
{
	if (chance(50)) {
		out("(band ");
		expr(key_type, depth - 1);
		out(" 7)");
	} else {
		literal_slot = m >= 0 ? maps[m].key : -1;
		expr(key_type, depth - 1);
		literal_slot = -1;
	}
}

/* An integer value for map m (map_update_elem's third argument). */
static void map_value(int m, int depth)
{
	literal_slot = m >= 0 ? maps[m].value : -1;
	expr(U64, depth - 1);
	literal_slot = -1;
}

/* (R :f2 x :f0 y) or (K ...): some of the fields, in any order (at least
 * one: a record value names a field), the others zero. Key fields are
 * often small, so that keys built twice meet. */
static void record_value(bool key_record, int depth)
{
	int n = key_record ? nkey_fields : nrecord_fields;
	const int *ft = key_record ? key_types : record_types;
	int order[MAX_FIELDS + 2];
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = pick(i + 1), o = order[i];
		order[i] = order[j];
		order[j] = o;
	}
	out("(%s", key_record ? "K" : "R");
	for (int i = 0; i < n; i++) {
		if (i > 0 && chance(30))
			continue;
		out(" :%c%d ", key_record ? 'k' : 'f', order[i]);
		if (key_record && chance(50)) {
			out("(band ");
			expr(ft[order[i]], depth - 1);
			out(" 3)");
		} else {
			expr(ft[order[i]], depth - 1);
		}
	}
	out(")");
}

/* A key for a map idiom, of the map's own key type: a K record, or an
 * integer (often small). */
static void idiom_key(int m, int depth)
{
	if (maps[m].key < 0) {
		record_value(true, depth);
	} else if (chance(50)) {
		out("(band ");
		expr(maps[m].key, depth - 1);
		out(" 7)");
	} else {
		expr(maps[m].key, depth - 1);
	}
}

/* A value for map/put!: an R (built here or let-bound) or an integer. */
static void idiom_value(int m, int depth)
{
	if (maps[m].value >= 0)
		expr(maps[m].value, depth - 1);
	else if (at.record_val && chance(50))
		out("%s", at.record_val);
	else
		record_value(false, depth);
}

/* (map/put! m k v) or (map/del! m k): :i64, 0 or a negative errno. */
static void idiom_put_del(int m, int depth)
{
	if (!maps[m].type->array && chance(40)) {
		out("(map/del! m%d ", m);
		idiom_key(m, depth);
	} else {
		out("(map/put! m%d ", m);
		idiom_key(m, depth);
		out(" ");
		idiom_value(m, depth);
	}
	out(")");
}

/* (match (lookup m k) [(Some p) ... p ...] [(None) default]) */
static void lookup(int t, int depth)
{
	bool record = nrecord_fields && chance(40);
	/* map/get (LANGUAGE.md 10.7): any keyed map, record keys too */
	bool idiom = chance(35);
	int m = idiom ? idiom_map(false, record) : keyed_map(record);
	if (m < 0)
		m = idiom ? idiom_map(false, !record) : keyed_map(!record), record = !record;
	if (m < 0 || at.value_ptr || at.record_ptr) {
		leaf(t);
		return;
	}
	const char *p = fresh(record ? "rec" : "ptr");
	if (idiom) {
		out("(match (map/get m%d ", m);
		idiom_key(m, depth);
	} else {
		out("(match (%s m%d ", use(H_LOOKUP), m);
		key(m, depth);
	}
	out(")\n      [(Some %s) ", p);
	if (record)
		at.record_ptr = p;
	else if (maps[m].value == U64)
		at.value_ptr = p;   /* 8 bytes to store, pop or peek into */
	bool in_do = chance(50);
	if (in_do) {
		out("(do ");
		statement(depth - 1);
		out(" ");
	}
	int f = record ? pick(nrecord_fields) : 0;
	if (record)
		out("(%s (. %s :f%d))", types[t].name, p, f);
	else if (maps[m].value == U64 && chance(50))
		out("(%s (bpf/load_u64 %s 0))", types[t].name, p);
	else
		expr(t, depth - 1);
	at.record_ptr = at.value_ptr = NULL;
	if (in_do)
		out(")");
	out("]\n      [(None) ");
	expr(t, depth - 1);
	out("])");
}

/* A record field read through the pointer in scope. */
static void record_field(int t, int depth)
{
	const char *r = at.record_ptr;
	if (at.record_val && (!r || pick(2)))
		r = at.record_val;   /* a let-bound record value */
	if (!r && typed_here) {
		leaf(t);
		return;
	}
	if (!r) {
		lookup(t, depth);
		return;
	}
	int f = pick(nrecord_fields);
	if (record_types[f] == t)
		out("(. %s :f%d)", r, f);
	else
		out("(%s (. %s :f%d))", types[t].name, r, f);
}

/* A record value sent out by value (LANGUAGE.md 10.4): to a ring buffer,
 * or, from an entry, to a perf event array. */
static void record_output(int depth);

/* (let [rvN (R ...)] [use] value): a record value, let-bound, maybe sent
 * out or stored, its fields read. */
static void record_let(int t, int depth)
{
	if (!nrecord_fields) {
		leaf(t);
		return;
	}
	const char *saved = at.record_val, *rv = fresh("rv");
	out("(let [%s ", rv);
	record_value(false, depth);
	out("]");
	at.record_val = rv;
	if (chance(40)) {
		out(" ");
		int m = idiom_map(false, 1);
		if (m >= 0 && pick(2)) {
			out("(map/put! m%d ", m);
			idiom_key(m, depth);
			out(" %s)", rv);
		} else {
			record_output(depth);
		}
	}
	int f = pick(nrecord_fields);
	bool combined = chance(50);
	out(combined ? " (bxor " : " ");
	if (record_types[f] == t)
		out("(. %s :f%d)", rv, f);
	else
		out("(%s (. %s :f%d))", types[t].name, rv, f);
	if (combined) {
		out(" ");
		expr(t, depth - 1);
		out(")");
	}
	out(")");
	at.record_val = saved;
}

/* (sizeof :R): typed like a literal (at most 40 here: any type holds it). */
static void sizeof_form(int t, int depth)
{
	if (!nrecord_fields && !nkey_fields) {
		leaf(t);
		return;
	}
	out("(sizeof :%s)", nkey_fields && (!nrecord_fields || pick(2)) ? "K" : "R");
	(void)depth;
}

/* A load from the packet, inside a bounds check. */
static void packet_load(int t, int depth)
{
	static const int widths[] = { 1, 2, 4, 8 };
	int w = pick(4);
	while (widths[w] > at.packet_len)
		w--;
	int off = pick(at.packet_len - widths[w] + 1);
	bool swap = w > 0 && chance(40);
	int bits = widths[w] * 8, loaded = w == 0 ? U8 : w == 1 ? U16 : w == 2 ? U32 : U64;
	if (loaded != t)
		out("(%s ", types[t].name);
	if (swap)
		out("(bpf/%s%d ", pick(2) ? "be" : "le", bits);
	out("(bpf/load_u%d %s %d)", bits, at.data, off);
	if (swap)
		out(")");
	if (loaded != t)
		out(")");
	(void)depth;
}

/* Byte order on constants and on values. */
static void byte_order(int t, int depth)
{
	static const int widths[] = { U16, U32, U64 };
	int w = widths[pick(3)];
	if (w != t)
		out("(%s ", types[t].name);
	out("(bpf/%s%d ", pick(2) ? "be" : "le", types[w].bits);
	if (chance(50))
		literal(w, false);
	else
		expr(w, depth - 1);
	out(")");
	if (w != t)
		out(")");
}

/* A context field of the entry. */
static void ctx_field(int t, int depth)
{
	int n = 0;
	while (kind->read[n].name)
		n++;
	if (at.func >= 0 || n == 0 || no_program) {
		leaf(t);
		return;
	}
	const Field *f = &kind->read[pick(n)];
	if (f->type == t)
		out("(. ctx :%s)", f->name);
	else
		out("(%s (. ctx :%s))", types[t].name, f->name);
	(void)depth;
}

/* stack_store then stack_load of the same slot. */
static void stack_value(int t, int depth)
{
	int w = pick(2) ? U32 : U64, slot = 1 + pick(4);
	if (w != t)
		out("(%s ", types[t].name);
	out("(do (bpf/stack_store_%s -%d ", types[w].name, 8 * slot);
	expr(w, depth - 1);
	out(") (bpf/stack_load_%s -%d))", types[w].name, 8 * slot);
	if (w != t)
		out(")");
}

/* Helpers whose results are values: deterministic uses only (the two
 * backends run at different times, maybe on different CPUs). */
static void helper_value(int t, int depth)
{
	switch (pick(4)) {
	case 3: {
		/* a used map/put! or map/del! result: 0 or a negative errno */
		int m = idiom_map(false, -1);
		if (m < 0) {
			leaf(t);
			break;
		}
		out("(%s ", types[t].name);
		idiom_put_del(m, depth);
		out(")");
		break;
	}
	case 0:
		if (typed_here) {
			out("(%s (band (%s) 0))", types[t].name, use(H_KTIME));
			break;
		}
		out("(if (!= (%s) 0) ", use(H_KTIME));
		expr(t, depth - 1);
		out(" ");
		literal(t, false);
		out(")");
		break;
	case 1:
		out("(%s (band (%s) 0))", types[t].name, use(H_PRANDOM));
		break;
	default: {
		/* a used map_update/delete result: 0 or a negative errno */
		int m = keyed_map(false);
		if (m < 0) {
			leaf(t);
		} else if (!maps[m].type->array && pick(2)) {
			out("(%s (%s m%d ", types[t].name, use(H_DELETE), m);
			key(m, depth);
			out("))");
		} else {
			out("(%s (%s m%d ", types[t].name, use(H_UPDATE), m);
			key(m, depth);
			out(" ");
			map_value(m, depth);
			out(" 0))");
		}
		break;
	}
	}
}

typedef void (*FormWriter)(int t, int depth);

/* The expression forms: weight, and whether each fits where we are. */
enum where { ANYWHERE, NOT_IN_LOOP, CALLS, PACKET, ENTRY, RECORD_PTR, RECORDS, RECORD_KEY };
static const struct {
	const char *what;
	FormWriter write;
	int weight;
	enum where where;
	bool typed;                 /* can have a type of its own (see self_typed) */
} expr_forms[] = {
	{ "leaf", leaf_form, 4, ANYWHERE, true },
	{ "arithmetic", binary, 8, ANYWHERE, true },
	{ "shift", shift, 2, ANYWHERE, true },
	{ "negation", negate, 1, ANYWHERE, true },
	{ "cast", cast, 2, ANYWHERE, true },
	{ "byte order", byte_order, 2, ANYWHERE, true },
	{ "if", if_form, 2, NOT_IN_LOOP, false },
	{ "cond", cond_form, 1, NOT_IN_LOOP, false },
	{ "match int", match_int, 1, NOT_IN_LOOP, false },
	{ "match bool", match_bool, 1, NOT_IN_LOOP, false },
	{ "let", let_form, 2, ANYWHERE, false },
	{ "do", do_form, 1, NOT_IN_LOOP, false },
	{ "call", call, 2, CALLS, true },
	{ "threading", thread, 1, CALLS, true },
	{ "lookup", lookup, 2, NOT_IN_LOOP, false },
	{ "record field", record_field, 2, RECORD_PTR, false },
	{ "packet load", packet_load, 3, PACKET, true },
	{ "context field", ctx_field, 2, ENTRY, true },
	{ "stack", stack_value, 1, NOT_IN_LOOP, true },
	{ "helper value", helper_value, 1, NOT_IN_LOOP, true },
	{ "record value", record_let, 1, RECORDS, false },
	{ "sizeof", sizeof_form, 1, RECORDS, false },
};
enum { NEXPR_FORMS = sizeof(expr_forms) / sizeof(expr_forms[0]) };

static bool fits(enum where w)
{
	switch (w) {
	case ANYWHERE: return true;
	case NOT_IN_LOOP: return !at.in_loop;
	case CALLS: return can_call();
	case PACKET: return at.packet_len > 0;
	case ENTRY: return at.func < 0 && !no_program;
	case RECORD_PTR: return at.record_ptr != NULL || at.record_val != NULL || (!at.in_loop && nrecord_fields);
	case RECORDS: return !at.in_loop && (nrecord_fields || nkey_fields);
	case RECORD_KEY: return !at.in_loop && nkey_fields;
	}
	return false;
}

static void expr(int t, int depth)
{
	bool must = self_typed;
	self_typed = false;
	if (depth <= 0) {
		self_typed = must;
		leaf(t);
		return;
	}
	int total = 0;
	for (int i = 0; i < NEXPR_FORMS; i++)
		if (fits(expr_forms[i].where) && (!must || expr_forms[i].typed))
			total += expr_forms[i].weight;
	int r = pick(total);
	for (int i = 0; i < NEXPR_FORMS; i++) {
		if (!fits(expr_forms[i].where) || (must && !expr_forms[i].typed))
			continue;
		if (r < expr_forms[i].weight) {
			typed_here = must;
			expr_forms[i].write(t, depth);
			typed_here = false;
			return;
		}
		r -= expr_forms[i].weight;
	}
	self_typed = must;
	leaf(t);
}

/* A :bool: comparisons, constants, short-circuits, bool names. */
static void condition(int depth)
{
	int choice = depth <= 1 ? pick(8) == 0 ? 1 : 0 : pick(9);
	switch (choice) {
	case 1:
		out(pick(2) ? "true" : "false");
		break;
	case 2:
	case 3:
		out("(%s ", choice == 2 ? "andalso" : "orelse");
		condition(depth - 1);
		out(" ");
		condition(depth - 1);
		out(")");
		break;
	case 4:
		out("(not ");
		condition(depth - 1);
		out(")");
		break;
	case 5:
		for (int s = nscope; s-- > 0;)
			if (scope[s].type < 0) {
				out("%s", scope[s].name);
				return;
			}
		/* fall through */
	default: {
		int u = pick(NTYPES);
		out("(%s ", compare_ops[pick(6)]);
		bool left_literal = chance(10);
		if (left_literal)
			literal(u, false);
		else
			typed_expr(u, depth - 1);
		out(" ");
		if (chance(25) && !left_literal)
			literal(u, false);
		else if (left_literal)
			typed_expr(u, depth - 1);
		else
			expr(u, depth - 1);
		out(")");
	}
	}
}

/* ---- statements (:unit) ---------------------------------------------------- */

static int writable_global(void)
{
	int g;
	do
		g = pick(NGLOBALS);
	while (gconst[g]);
	return g;
}

static void set_global(int depth)
{
	int g = writable_global();
	out("(set! g%d ", g);
	expr(gtypes[g], depth - 1);
	out(")");
}

/* A for-range loop of at most 7 rounds, so the verifier can follow
 * every one: a constant start and a run-time end, or the other way round
 * (a literal bound needs the other to give it a type). The start is not
 * negative: from -1 to a run-time end clang may count the rounds down in
 * 32 bits, a loop the verifier cannot bound. Loop bodies are straight-line
 * code without calls: clang rewrites some loops with branches in their
 * bodies into ones the verifier gives up on, and a call in a loop
 * multiplies the rounds the verifier follows. */
static void loop(int depth)
{
	int t = pick(NTYPES), saved = nscope;
	const char *var = fresh("i");
	int kind_of_body = pick(3);
	/* clang sums a 64-bit (or a sign-extended 32-bit) variable in
	 * closed form with a 128-bit multiplication, which BPF has not */
	if (kind_of_body == 0 && (types[t].bits == 64 || t == I32))
		t = (int[]){ U8, U16, U32, I8, I16 }[pick(5)];
	out("(for-range %s ", var);
	if (pick(3) == 0) {
		out("(band ");
		self_typed = true;
		leaf(t);
		out(" 3) %d", pick(7));
	} else {
		out("%d (band ", pick(3));
		typed_expr(t, depth - 1);
		out(" 7)");
	}
	bind(var, t);
	bool was = at.in_loop;
	const char *vp = at.value_ptr, *rp = at.record_ptr, *rv = at.record_val;
	at.in_loop = true;
	at.value_ptr = at.record_ptr = at.record_val = NULL;
	int g = writable_global();
	int m = keyed_map(false);
	/* and so does it a narrow variable summed into a 64-bit global */
	if (kind_of_body == 0 && types[gtypes[g]].bits == 64)
		kind_of_body = 1;
	switch (m < 0 && kind_of_body == 2 ? 1 : kind_of_body) {
	case 0:
		out(" (set! g%d (+ g%d (%s %s))))", g, g, types[gtypes[g]].name, var);
		break;
	case 1:
		out(" (set! g%d ", g);
		expr(gtypes[g], depth - 1);
		out("))");
		break;
	default:
		/* a key computed from the variable: the C would pass the
		 * variable's own address, &i, and clang's loop over a
		 * variable in memory is one the verifier cannot follow */
		out(" (%s m%d (+ (%s %s) 1) ", use(H_UPDATE), m, types[key_type].name, var);
		map_value(m, depth);
		out(" 0))");
		break;
	}
	at.in_loop = was;
	at.value_ptr = vp, at.record_ptr = rp, at.record_val = rv;
	nscope = saved;
}

static void update(int depth)
{
	int m = keyed_map(false);
	if (m < 0) {
		set_global(depth);
		return;
	}
	out("(%s m%d ", use(H_UPDATE), m);
	key(m, depth);
	out(" ");
	map_value(m, depth);
	out(" %s)", (const char *[]){ "0", "BPF_ANY", "BPF_NOEXIST", "BPF_EXIST" }[pick(4)]);
}

static void delete(int depth)
{
	int m = keyed_map(false);
	if (m < 0 || maps[m].type->array) {
		update(depth);
		return;
	}
	out("(%s m%d ", use(H_DELETE), m);
	key(m, depth);
	out(")");
}

static void queue_op(int depth)
{
	int q = map_of_role(QUEUE);
	if (q < 0) {
		update(depth);
		return;
	}
	if (at.value_ptr && pick(2)) {
		/* pop/peek write into a pointer: a u64 map value */
		out("(%s m%d %s)", use(pick(2) ? H_POP : H_PEEK), q, at.value_ptr);
		return;
	}
	out("(%s m%d ", use(H_PUSH), q);
	expr(U64, depth - 1);
	out(" %s)", pick(2) ? "0" : "BPF_EXIST");
}

/* A ring buffer record: reserved, filled, submitted or discarded; or
 * copied in with ringbuf_output. */
static void ringbuf(int depth)
{
	int m = map_of_role(RINGBUF);
	if (m < 0) {
		queue_op(depth);
		return;
	}
	if (pick(3) == 0) {
		out("(%s m%d ", use(H_RB_OUTPUT), m);
		expr(U64, depth - 1);
		out(" 8 0)");
		return;
	}
	const char *ev = fresh("ev");
	bool was_held = at.reference_held;
	at.reference_held = true;
	out("(match (%s m%d 16 0)\n      [(Some %s) (do (bpf/store_u64 %s 0 ", use(H_RB_RESERVE), m, ev, ev);
	expr(U64, depth - 1);
	out(") (bpf/store_u32 %s %d ", ev, pick(2) ? 8 : 12);
	expr(U32, depth - 1);
	out(") ");
	if (pick(2)) {
		/* the record passed on to a function taking a :u64 (issue 11) */
		out("(fill %s ", ev);
		expr(U32, depth - 1);
		out(") ");
	}
	at.reference_held = was_held;
	out("(%s %s 0))]\n      [(None) (do)])", use(pick(4) ? H_RB_SUBMIT : H_RB_DISCARD), ev);
}

/* A tail call into a prog_array: empty, it falls through; filled at load
 * (:init, in a file of defprogs) it ends in another program, or this one
 * again (the kernel stops after 33). */
static void tail_call(int depth)
{
	int m = map_of_role(PROG_ARRAY);
	if (m < 0 || at.func >= 0 || !kind->tail_calls || no_program || kind != prog_kinds[0] ||
	    at.reference_held) {
		ringbuf(depth);
		return;
	}
	/* its result unused: the kernel's bpf_tail_call returns nothing
	 * (RET_VOID), a used result is refused on both backends
	 * (tests/native/found/checker-tail-call-result.va) */
	out("(%s ctx m%d %d)", use(H_TAIL_CALL), m, pick(4));
}

static void perf_output(int depth)
{
	int m = map_of_role(PERF_ARRAY);
	if (m < 0 || at.func >= 0 || no_program || !kind->tail_calls) {
		tail_call(depth);
		return;
	}
	out("(%s ctx m%d BPF_F_CURRENT_CPU ", use(H_PERF_OUTPUT), m);
	expr(U64, depth - 1);
	out(" 8)");
}

static void unused_helpers(int depth)
{
	switch (pick(4)) {
	case 3: out("(%s)", use(H_PID_TGID)); break;
	case 0: out("(%s)", use(H_KTIME)); break;
	case 1: out("(%s)", use(H_PRANDOM)); break;
	default: out("(%s)", use(H_CPU)); break;
	}
	(void)depth;
}

/* A socket lookup from a tuple in a map: (Some sk) must be released. */
static bool tuple_map;

static void socket_lookup(int depth)
{
	if (!tuple_map || at.func >= 0 || at.value_ptr || at.record_ptr || kind != prog_kinds[0]) {
		unused_helpers(depth);
		return;
	}
	const char *t = fresh("tuple"), *sk = fresh("sk");
	int g = writable_global();
	/* the field is read before the release: after it, sk is gone */
	out("(match (%s tuples 0)\n      [(Some %s) (match (%s ctx %s 12 0 0) [(Some %s) (do (set! g%d (%s (. %s :src_port))) (%s %s) (do))] [(None) (do)])]\n      [(None) (do)])",
	    use(H_LOOKUP), t, use(pick(2) ? H_SK_LOOKUP_TCP : H_SK_LOOKUP_UDP), t, sk, g,
	    types[gtypes[g]].name, sk, use(H_SK_RELEASE), sk);
}

static void packet_store(int depth)
{
	static const int widths[] = { 1, 2, 4, 8 };
	if (at.packet_len == 0 || kind->packet != PACKET_WRITE) {
		set_global(depth);
		return;
	}
	int w = pick(4);
	while (widths[w] > at.packet_len)
		w--;
	int bits = widths[w] * 8, t = w == 0 ? U8 : w == 1 ? U16 : w == 2 ? U32 : U64;
	out("(bpf/store_u%d %s %d ", bits, at.data, pick(at.packet_len - widths[w] + 1));
	expr(t, depth - 1);
	out(")");
}

static void set_ctx_field(int depth)
{
	int n = 0;
	while (kind->write[n].name)
		n++;
	if (n == 0 || at.func >= 0 || no_program) {
		set_global(depth);
		return;
	}
	const Field *f = &kind->write[pick(n)];
	out("(set! (. ctx :%s) ", f->name);
	expr(f->type, depth - 1);
	out(")");
}

static void set_record_field(int depth)
{
	if (!at.record_ptr) {
		if (at.value_ptr) {
			out("(bpf/store_u64 %s 0 ", at.value_ptr);
			expr(U64, depth - 1);
			out(")");
		} else {
			set_global(depth);
		}
		return;
	}
	int f = pick(nrecord_fields);
	out("(set! (. %s :f%d) ", at.record_ptr, f);
	expr(record_types[f], depth - 1);
	out(")");
}

static void stack_store(int depth)
{
	int w = pick(2) ? U32 : U64;
	out("(bpf/stack_store_%s -%d ", types[w].name, 8 * (5 + pick(3)));
	expr(w, depth - 1);
	out(")");
}

static void if_statement(int depth)
{
	out("(if ");
	condition(depth - 1);
	out(" ");
	unit_statement(depth - 1);
	out(" ");
	if (pick(3))
		unit_statement(depth - 1);
	else
		out("(do)");
	out(")");
}

/* A call whose result is dropped, or a lookup done for its effect. */
static void call_statement(int depth)
{
	if (!can_call()) {
		update(depth);
		return;
	}
	int g = callee();
	at.calls++;
	out("(f%d", g);
	arguments(&funcs[g], 0, funcs[g].nparams, depth);
	out(")");
}

static void lookup_statement(int depth)
{
	int m = keyed_map(false);
	if (m < 0 || at.value_ptr || at.record_ptr || at.in_loop) {
		update(depth);
		return;
	}
	const char *p = fresh("ptr");
	out("(match (%s m%d ", use(H_LOOKUP), m);
	key(m, depth);
	out(")\n      [(Some %s) ", p);
	if (maps[m].value == U64)
		at.value_ptr = p;
	if (maps[m].value == U64 && pick(2)) {
		out("(bpf/store_u64 %s 0 (+ (bpf/load_u64 %s 0) ", p, p);
		expr(U64, depth - 1);
		out("))");
	} else {
		unit_statement(depth - 1);
	}
	at.value_ptr = NULL;
	out("]\n      [(None) ");
	unit_statement(depth - 1);
	out("])");
}

/* ---- the extensions of LANGUAGE.md 10 (records, map idioms, printk) ------- */

/* (map/incr! m k n), (map/put! m k v) or (map/del! m k) as a statement. */
static void idiom_statement(int depth)
{
	int m = chance(50) ? idiom_map(true, 0) : idiom_map(false, -1);
	if (m < 0) {
		update(depth);
		return;
	}
	int v = maps[m].value;
	if (v >= 0 && types[v].bits >= 32 && chance(60)) {
		out("(map/incr! m%d ", m);
		idiom_key(m, depth);
		out(" ");
		expr(v, depth - 1);
		out(")");
	} else {
		idiom_put_del(m, depth);
	}
}

/* The use of a K key: an increment where the values can take one, else
 * a put. */
static void key_use(int m, const char *k, int depth)
{
	int v = maps[m].value;
	if (v >= 0 && types[v].bits >= 32) {
		out("(map/incr! m%d %s ", m, k);
		expr(v, depth - 1);
	} else {
		out("(map/put! m%d %s ", m, k);
		idiom_value(m, depth);
	}
	out(")");
}

/* A K key built twice from the same values, its fields in two orders,
 * once let-bound and once in place: K has padding, zeroed with the rest,
 * so both are one entry (LANGUAGE.md 10.4). */
static void record_key_twice(int depth)
{
	int found[MAX_MAPS], n = 0;
	for (int m = 0; m < nmaps; m++)
		if (maps[m].type->role == KEYED && maps[m].key < 0)
			found[n++] = m;
	if (!n) {
		idiom_statement(depth);
		return;
	}
	int m = found[pick(n)];
	char vals[MAX_FIELDS + 2][96];
	bool given[MAX_FIELDS + 2];
	for (int f = 0; f < nkey_fields; f++) {
		given[f] = f == 0 || chance(70);
		size_t mark = body_len;
		expr(key_types[f], 0);   /* a leaf: no effects, the same value twice */
		snprintf(vals[f], sizeof(vals[f]), "%s", body + mark);
		body_len = mark;
		body[mark] = '\0';
	}
	const char *kv = fresh("kv");
	out("(let [%s (K", kv);
	for (int f = 0; f < nkey_fields; f++)
		if (given[f])
			out(" :k%d %s", f, vals[f]);
	out(")]\n        ");
	key_use(m, kv, depth);
	out("\n        ");
	size_t mark = body_len;
	out("(K");
	for (int f = nkey_fields; f-- > 0;)
		if (given[f])
			out(" :k%d %s", f, vals[f]);
	out(")");
	char again[512];
	snprintf(again, sizeof(again), "%s", body + mark);
	body_len = mark;
	body[mark] = '\0';
	key_use(m, again, depth);
	out(" (do))");
}

static void record_output(int depth)
{
	int rb = map_of_role(RINGBUF), pa = map_of_role(PERF_ARRAY);
	bool perf = pa >= 0 && at.func < 0 && !no_program && kind->tail_calls && (rb < 0 || pick(2));
	if (!nrecord_fields || (rb < 0 && !perf)) {
		idiom_statement(depth);
		return;
	}
	if (perf)
		out("(%s ctx m%d BPF_F_CURRENT_CPU ", use(H_PERF_OUTPUT), pa);
	else
		out("(%s m%d ", use(H_RB_OUTPUT), rb);
	if (at.record_val && chance(50))
		out("%s", at.record_val);
	else
		record_value(false, depth);
	out(" (sizeof :R)%s)", perf ? "" : " 0");
}

/* (printk "fmt" ...): 0-3 values, each with a conversion its type takes
 * (LANGUAGE.md 10.5): %d %i of signed ones of at most 32 bits or a
 * :bool, %u %x %X of unsigned ones, %l.. %ll.. of 64 bits, %c of a :u8,
 * %p of a pointer; flags and widths the kernel accepts; %% as text. */
enum printk_arg { PK_SIGNED, PK_UNSIGNED, PK_BOOL, PK_U64, PK_I64, PK_CHAR, PK_POINTER };
static void printk_statement(int depth)
{
	static const char *const flags[] = { "-", "0", " ", "+", "-0" };
	char fmt[128];
	int len = snprintf(fmt, sizeof(fmt), "r%d", nfresh++);
	enum printk_arg kinds_of[3];
	int arg_types[3];
	const char *ptr = at.value_ptr ? at.value_ptr : at.record_ptr;
	int nargs = pick(4);
	for (int i = 0; i < nargs; i++) {
		enum printk_arg a = (enum printk_arg)pick(ptr ? 7 : 6);
		int t = 0;
		const char *conv = "d";
		switch (a) {
		case PK_SIGNED:
			t = (int[]){ I8, I16, I32 }[pick(3)];
			conv = pick(2) ? "d" : "i";
			break;
		case PK_BOOL: conv = "d"; break;
		case PK_UNSIGNED:
			t = (int[]){ U8, U16, U32 }[pick(3)];
			conv = (const char *[]){ "u", "x", "X" }[pick(3)];
			break;
		case PK_U64:
			t = U64;
			conv = (const char *[]){ "lu", "llu", "lx", "llx", "lX" }[pick(5)];
			break;
		case PK_I64:
			t = I64;
			conv = (const char *[]){ "ld", "lld", "li" }[pick(3)];
			break;
		case PK_CHAR: t = U8; conv = "c"; break;
		case PK_POINTER: conv = "p"; break;
		}
		kinds_of[i] = a;
		arg_types[i] = t;
		len += snprintf(fmt + len, sizeof(fmt) - (size_t)len, " %%%s%s%s", a == PK_CHAR || a == PK_POINTER || !chance(25) ? "" : flags[pick(5)],
				a == PK_CHAR || a == PK_POINTER || !chance(25) ? "" : (const char *[]){ "1", "4", "12" }[pick(3)], conv);
		if (chance(10))
			len += snprintf(fmt + len, sizeof(fmt) - (size_t)len, " %%%%");
	}
	out("(printk \"%s%s\"", fmt, chance(80) ? "\\n" : "");
	for (int i = 0; i < nargs; i++) {
		out(" ");
		switch (kinds_of[i]) {
		case PK_BOOL: condition(depth - 1); break;
		case PK_POINTER: out("%s", ptr); break;
		default:
			/* the conversion types a literal (one of this type
			 * fits it); anything else has a type of its own */
			if (chance(20))
				literal(arg_types[i], false);
			else
				typed_expr(arg_types[i], depth - 1);
			break;
		}
	}
	out(")");
}

typedef void (*StatementWriter)(int depth);
static const struct {
	const char *what;
	StatementWriter write;
	int weight;
	enum where where;
} statement_forms[] = {
	{ "set! global", set_global, 4, ANYWHERE },
	{ "for-range", loop, 2, NOT_IN_LOOP },
	{ "map update", update, 3, NOT_IN_LOOP },
	{ "map delete", delete, 1, NOT_IN_LOOP },
	{ "queue/stack", queue_op, 1, NOT_IN_LOOP },
	{ "ring buffer", ringbuf, 1, NOT_IN_LOOP },
	{ "tail call", tail_call, 1, ENTRY },
	{ "perf output", perf_output, 1, ENTRY },
	{ "unused helper", unused_helpers, 1, NOT_IN_LOOP },
	{ "socket lookup", socket_lookup, 1, ENTRY },
	{ "packet store", packet_store, 2, PACKET },
	{ "context store", set_ctx_field, 1, ENTRY },
	{ "record store", set_record_field, 2, RECORD_PTR },
	{ "stack store", stack_store, 1, NOT_IN_LOOP },
	{ "if", if_statement, 2, NOT_IN_LOOP },
	{ "call", call_statement, 1, CALLS },
	{ "lookup", lookup_statement, 2, NOT_IN_LOOP },
	{ "map idiom", idiom_statement, 2, NOT_IN_LOOP },
	{ "record key twice", record_key_twice, 1, RECORD_KEY },
	{ "record output", record_output, 1, RECORDS },
	{ "printk", printk_statement, 1, NOT_IN_LOOP },
};
enum { NSTATEMENT_FORMS = sizeof(statement_forms) / sizeof(statement_forms[0]) };

/* Helpers and calls written as statements have values; where a :unit is
 * needed (if and match branches that are statements) they become
 * (do X (do)). */
static bool returns_value(const char *text)
{
	static const char *const unit_heads[] = {
		"(bpf/store_", "(bpf/stack_store_", "(bpf/ringbuf_submit", "(bpf/ringbuf_discard",
	};
	if (strncmp(text, "(f", 2) == 0 && strncmp(text, "(fill ", 6) != 0)
		return true;
	if (strncmp(text, "(map/put! ", 10) == 0 || strncmp(text, "(map/del! ", 10) == 0)
		return true;   /* :i64 (LANGUAGE.md 10.7) */
	if (strncmp(text, "(bpf/", 5) != 0)
		return false;
	for (size_t i = 0; i < sizeof(unit_heads) / sizeof(unit_heads[0]); i++)
		if (strncmp(text, unit_heads[i], strlen(unit_heads[i])) == 0)
			return false;
	return true;
}

static void unit_statement(int depth)
{
	size_t mark = body_len;
	statement(depth);
	if (!returns_value(body + mark))
		return;
	out(" (do))    ");   /* room for "(do " */
	body_len -= 4;
	memmove(body + mark + 4, body + mark, body_len - mark + 1);
	memcpy(body + mark, "(do ", 4);
	body_len += 4;
}

static void statement(int depth)
{
	if (depth <= 0 || at.in_loop) {
		set_global(1);
		return;
	}
	int total = 0;
	for (int i = 0; i < NSTATEMENT_FORMS; i++)
		total += fits(statement_forms[i].where) ? statement_forms[i].weight : 0;
	int r = pick(total);
	for (int i = 0; i < NSTATEMENT_FORMS; i++) {
		if (!fits(statement_forms[i].where))
			continue;
		if (r < statement_forms[i].weight) {
			statement_forms[i].write(depth);
			return;
		}
		r -= statement_forms[i].weight;
	}
	set_global(depth);
}

/* ---- the program ------------------------------------------------------------ */

static void choose_kind(void)
{
	int total = 0;
	for (int k = 0; k < NKINDS; k++)
		total += kinds[k].weight;
	int r = pick(total);
	for (int k = 0; k < NKINDS; k++) {
		if (r < kinds[k].weight) {
			kind = &kinds[k];
			break;
		}
		r -= kinds[k].weight;
	}
	no_program = chance(3);
}

/* K, the record key of some hash maps: 1-4 fields, with padding (a u8
 * and a u64 after it are added when the fields have none). */
static void choose_key_record(void)
{
	nkey_fields = chance(40) ? 1 + pick(4) : 0;
	for (int f = 0; f < nkey_fields; f++)
		key_types[f] = pick(NTYPES);
	if (!nkey_fields)
		return;
	int off = 0, align = 1;
	bool padded = false;
	for (int f = 0; f < nkey_fields; f++) {
		int size = types[key_types[f]].bits / 8;
		padded |= off % size != 0;
		off = (off + size - 1) / size * size + size;
		align = size > align ? size : align;
	}
	padded |= off % align != 0;
	if (!padded) {
		key_types[nkey_fields++] = U8;
		key_types[nkey_fields++] = U64;
	}
}

/* A file of defprogs, sometimes: the entry and one or two more, of the
 * entry's kind or, a quarter of them, of another kind the same inputs
 * (frames, raw arguments, none) can test - not one that may only read the
 * packet the entry's functions may write (the checker refuses that: seed
 * 610004998). */
static void choose_programs(void)
{
	multiprog = !no_program && chance(15);
	nprogs = multiprog ? 2 + pick(2) : 1;
	prog_kinds[0] = kind;
	for (int q = 1; q < nprogs; q++) {
		prog_kinds[q] = kind;
		if (chance(25)) {
			int k = pick(NKINDS);
			if (kinds[k].inputs == kind->inputs &&
			    !(kind->packet == PACKET_WRITE && kinds[k].packet == PACKET_READ))
				prog_kinds[q] = &kinds[k];
		}
	}
}

static void choose_maps(void)
{
	int total = 0;
	for (int i = 0; i < NMAPTYPES; i++)
		total += maptypes[i].weight;
	nmaps = 1 + pick(MAX_MAPS - 1);
	for (int m = 0; m < nmaps; m++) {
		int r = pick(total), i = 0;
		for (; r >= maptypes[i].weight; i++)
			r -= maptypes[i].weight;
		struct map *map = &maps[m];
		map->type = &maptypes[i];
		map->key = map->type->array || pick(2) ? U32 : U64;
		if (nkey_fields && !map->type->array && map->type->role == KEYED && chance(30))
			map->key = -1;   /* the record K */
		map->value = (int[]){ U64, U64, U64, U32, I16, -1 }[pick(6)];
		if (map->value < 0 && !nrecord_fields)
			map->value = U64;
		if (map->type->role == KEYED && strstr(map->type->name, "percpu") && map->value < 0)
			map->value = U64;
		map->entries = map->type->role == RINGBUF ? 4096 : 8 + 8 * pick(3);
	}
	/* defprogs that can tail-call: a prog_array to call through, often */
	bool has_prog_array = false;
	for (int m = 0; m < nmaps; m++)
		has_prog_array |= maps[m].type->role == PROG_ARRAY;
	if (multiprog && kind->tail_calls && !has_prog_array && chance(60))
		for (int i = 0; i < NMAPTYPES; i++)
			if (maptypes[i].role == PROG_ARRAY)
				maps[nmaps - 1] = (struct map){ &maptypes[i], U32, U32, false, 8 };
}

static FILE *prog;   /* where the program goes (nowhere while writing cases) */

static void print_maps(void)
{
	fprintf(prog, "(defmap out :array :u32 :u64 %d)\n", MAX_FUNCS + 2);
	for (int m = 0; m < nmaps; m++) {
		const struct map *map = &maps[m];
		switch (map->type->role) {
		case KEYED:
			fprintf(prog, "(defmap m%d :%s :%s ", m, map->type->name, map->key < 0 ? "K" : types[map->key].name);
			if (map->value < 0)
				fprintf(prog, ":R");
			else
				fprintf(prog, ":%s", types[map->value].name);
			fprintf(prog, " %d)\n", map->entries);
			break;
		case QUEUE:
			fprintf(prog, "(defmap m%d :%s 0 :u64 %d)\n", m, map->type->name, map->entries);
			break;
		case RINGBUF:
			fprintf(prog, "(defmap m%d :ringbuf 0 0 %d)\n", m, map->entries);
			break;
		case PROG_ARRAY:
			fprintf(prog, "(defmap m%d :prog_array :u32 :u32 %d", m, map->entries);
			if (map->init) {
				/* the programs of the file's kind, in some order;
				 * the entry itself less often (a loop of 33) */
				int order[MAX_PROGS], n = 0;
				for (int q = 1; q < nprogs; q++)
					if (prog_kinds[q] == prog_kinds[0] && chance(85))
						order[n++] = q;
				if (n == 0 || chance(25))
					order[n++] = 0;
				for (int i = n - 1; i > 0; i--) {
					int j = pick(i + 1), o = order[i];
					order[i] = order[j];
					order[j] = o;
				}
				fprintf(prog, " :init [");
				for (int i = 0; i < n; i++)
					fprintf(prog, "%s%s", i ? " " : "", prog_names[order[i]]);
				fprintf(prog, "]");
			}
			fprintf(prog, ")\n");
			break;
		case PERF_ARRAY:
			fprintf(prog, "(defmap m%d :perf_event_array :u32 :u32 %d)\n", m, map->entries);
			break;
		case DECLARED:
			if (strcmp(map->type->name, "lpm_trie") == 0)
				fprintf(prog, "(defmap m%d :lpm_trie :LpmKey :u64 %d)\n", m, map->entries);
			else if (strcmp(map->type->name, "stack_trace") == 0)
				fprintf(prog, "(defmap m%d :stack_trace :u32 :u64 %d)\n", m, map->entries);
			else
				fprintf(prog, "(defmap m%d :%s :u32 :u32 %d)\n", m, map->type->name,
					map->entries);
			break;
		}
	}
}

/* The entry: the context's values into a b c d, the functions' results
 * into `out`, a bounds-checked region for the packet, the verdict. In a
 * file of defprogs, program number `prog` (entry q1 q2): the others store
 * fewer results (`kind` is theirs while they are written). */
static void entry(int prog)
{
	kind = prog_kinds[prog];
	at = (__typeof__(at)){ .func = -1 };
	nscope = 0;
	for (int g = 0; g < NGLOBALS; g++) {
		char name[16];
		snprintf(name, sizeof(name), "g%d", g);
		bind(name, gtypes[g]);
	}
	const char *ctx_type = kind->ctx ? kind->ctx : "u64";
	int ret = (int[]){ U32, U32, U32, I32, U64, I64, U8 }[pick(7)];
	if (kind->verdict01 && !no_program)
		ret = U32;   /* (band x 1) of a wider or signed type: the verifier lost the range */
	if (no_program)
		out("(defn entry [ctx :u64] :%s\n  (let [", types[ret].name);
	else if (multiprog)
		out("%s(defprog %s :%s%s%s%s [ctx :%s] :%s\n  (let [", prog ? "\n" : "", prog_names[prog],
		    kind->name, kind->attach ? " \"" : "", kind->attach ? kind->attach : "",
		    kind->attach ? "\"" : "", ctx_type, types[ret].name);
	else
		out("(defn entry [ctx :%s] :%s\n  (let [", ctx_type, types[ret].name);
	static const char inputs[] = "abcd";
	int nread = 0;
	while (kind->read[nread].name)
		nread++;
	for (int i = 0; i < 4; i++) {
		if (no_program)
			out("%c (u64 g%d)", inputs[i], i);   /* ctx is a pointer: no arithmetic */
		else if (!kind->ctx && kind->inputs == NO_RUN)
			out("%c (bpf/load_u64 ctx %d)", inputs[i], 8 * (i + 1));
		else if (!kind->ctx && kind->inputs == RAW_ARGS)
			out("%c (bpf/load_u64 ctx %d)", inputs[i], 8 * i);
		else if (nread)
			out("%c (u64 (. ctx :%s))", inputs[i], kind->read[pick(nread)].name);
		else   /* no kind comes here: a number, never the context's address */
			out("%c (u64 %d)", inputs[i], pick(256));
		out(i < 3 ? "\n        " : "");
		bind((char[]){ inputs[i], 0 }, U64);
	}
	bool packet = kind->packet != NO_PACKET && !no_program;
	if (packet)
		out("\n        data (u64 (. ctx :data))\n        data_end (u64 (. ctx :data_end))");
	out("]\n    (do");
	for (int f = 0; f < nfuncs; f++) {
		const struct func *fn = &funcs[f];
		if ((fn->packet && !packet) || (prog > 0 && !chance(30)))
			continue;
		out("\n      (bpf/map_update_elem out %d (u64 (f%d", f, f);
		helper_used[H_UPDATE] = true;
		if (fn->packet) {
			at.packet_len = 0;
			out(" data data_end");
		}
		if (fn->map >= 0) {
			out(" ");
			map_argument(fn->map);
		}
		for (int p = fn->packet ? 2 : fn->map >= 0 ? 1 : 0; p < fn->nparams; p++) {
			out(" ");
			if (pick(2))
				out("(%s %c)", types[fn->params[p]].name, inputs[pick(4)]);
			else
				expr(fn->params[p], 2);
		}
		out(")) 0)");
	}
	for (int n = pick(3); n > 0; n--) {
		out("\n      ");
		statement(3);
	}
	bool init_array = false;
	for (int m = 0; m < nmaps; m++)
		init_array |= maps[m].init;
	if (init_array && chance(50)) {
		/* defprogs: a tail call into the table filled at load, often */
		out("\n      ");
		tail_call(3);
	}
	int verdict = kind->verdict01 && !no_program;
	if (packet) {
		int len = 14 + pick(41);
		out("\n      (if (> (+ data %d) data_end)\n        ", len);
		if (verdict)
			out("(band ");
		expr(ret, 2);
		if (verdict)
			out(" 1)");
		at.packet_len = len;
		at.data = "data";
		out("\n        (do");
		for (int n = 1 + pick(3); n > 0; n--) {
			out("\n          ");
			statement(3);
		}
		out("\n          ");
	} else {
		out("\n      ");
	}
	if (verdict)
		out("(band ");
	expr(ret, 4);
	if (verdict)
		out(" 1)");
	out(packet ? ")))))\n" : ")))\n");
}

/* A function: a few statements, then its value. */
static void function(int f)
{
	const struct func *fn = &funcs[f];
	at = (__typeof__(at)){ .func = f };
	nscope = 0;
	for (int g = 0; g < NGLOBALS; g++) {
		char name[16];
		snprintf(name, sizeof(name), "g%d", g);
		bind(name, gtypes[g]);
	}
	out("\n(defn f%d [", f);
	for (int p = 0; p < fn->nparams; p++) {
		const char *sep = p ? " " : "";
		if (fn->packet && p < 2) {
			out("%s%s :u64", sep, p ? "data_end" : "pkt");
			continue;
		}
		if (fn->map >= 0 && p == 0) {
			out("%smap :u64", sep);
			continue;
		}
		out("%sp%d :%s", sep, p, types[fn->params[p]].name);
		char name[16];
		snprintf(name, sizeof(name), "p%d", p);
		bind(name, fn->params[p]);
		bind(name, fn->params[p]);   /* parameters twice as often as globals */
	}
	out("] :%s\n  ", types[fn->ret].name);
	int close = 0;
	if (fn->packet) {
		/* from 2: clang turns pkt + 1 > end into pkt >= end, which gives
		 * the verifier no range (tests/native/found/c-packet-check-plus-one.va) */
		int len = 2 + pick(40);
		out("(if (> (+ pkt %d) data_end) ", len);
		literal(fn->ret, false);
		out("\n    ");
		at.packet_len = len;
		at.data = "pkt";
		close++;
	}
	out("(do");
	close++;
	if (fn->map >= 0) {
		/* the map passed in, used as a map */
		out(" (%s map ", use(H_UPDATE));
		key(fn->map, 2);
		out(" ");
		map_value(fn->map, 3);
		out(" 0)");
	}
	for (int n = pick(3); n > 0; n--) {
		out("\n    ");
		statement(3);
	}
	out("\n    ");
	expr(fn->ret, 4);
	while (close--)
		out(")");
	out(")\n");
}


/* ---- kernel types (LANGUAGE.md 11, 10.9) ------------------------------------- */

/* A tenth of the programs are tracing programs over the kernel's types:
 * tp_btf, fentry and fexit entries typed by the kernel's prototypes,
 * raw_tracepoint arguments typed with k/arg, an lsm hook,
 * bpf/get_current_task_btf,
 * CO-RE reads of task_struct members through chains of task pointers,
 * k/exists?, k/read-str into a record's array field, array fields read and
 * written by element. The native backend refuses them (a skip, at a
 * located error); the C must be warning-free, load, and attach or run. */
static bool kernel_prog;

enum ktest { KT_TRIGGER, KT_TEST_RUN, KT_LOAD_EPERM };
static const struct ktrace {
	const char *kind, *attach;
	const char *params[3];      /* the kernel's prototype, as entry parameters */
	int tasks;                  /* how many of them (from the first) are tasks */
	int karg_tasks;             /* raw_tracepoint: k/arg N is a task for N < this */
	enum ktest test;
} ktraces[] = {
	{ "tp_btf", "sched_process_exec", { "t0 :k/task_struct", "old_pid :i32" }, 1, 0, KT_TRIGGER },
	{ "tp_btf", "sched_process_fork", { "t0 :k/task_struct", "t1 :k/task_struct" }, 2, 0, KT_TRIGGER },
	{ "tp_btf", "sched_process_exit", { "t0 :k/task_struct" }, 1, 0, KT_TRIGGER },
	{ "raw_tracepoint", "sched_process_exec", { "ctx :u64" }, 0, 1, KT_TRIGGER },
	{ "raw_tracepoint", "sched_process_fork", { "ctx :u64" }, 0, 2, KT_TRIGGER },
	/* test-run: the arguments are the cases' numbers, not tasks; a CO-RE
	 * read through them (bpf_probe_read_kernel) fails safely with zeros */
	{ "raw_tracepoint", "sched_process_exec", { "ctx :u64" }, 0, 1, KT_TEST_RUN },
	/* this kernel refuses every fentry/fexit program with EPERM, after
	 * libbpf has resolved the target and the CO-RE reads */
	{ "fentry", "wake_up_process", { "t0 :k/task_struct" }, 1, 0, KT_LOAD_EPERM },
	{ "fexit", "wake_up_process", { "t0 :k/task_struct", "ret :i32" }, 1, 0, KT_LOAD_EPERM },
	/* and every BPF LSM program: loaded as far as the kernel */
	{ "lsm", "file_open", { "ctx :u64" }, 0, 0, KT_LOAD_EPERM },
};
static const struct ktrace *ktrace;

/* task_struct members of every kernel the CO-RE reads may meet (integer
 * members, an embedded struct's, a bitfield) and the task pointers a
 * chain steps through. */
static const char *const task_ints[] = {
	":tgid", ":pid", ":prio", ":static_prio", ":normal_prio", ":flags", ":exit_code",
	":exit_signal", ":pdeath_signal", ":personality", ":start_time", ":utime", ":stime",
	":nvcsw", ":nivcsw", ":se :sum_exec_runtime", ":se :vruntime", ":in_execve",
};
static const char *const task_ptrs[] = { ":real_parent", ":parent", ":group_leader" };
#define NELEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char ktasks[4][16];     /* the task names in scope */
static int nktasks, nkvals, ktail_len, kfuncs;
static bool krecord;           /* Ev and evs are declared (array fields) */

/* TASK :ptr... :member, as the operand list of (. ...) or k/exists? */
static void kchain(const char *task)
{
	out("%s", task);
	for (int n = pick(4) == 0 ? 1 + pick(2) : 0; n > 0; n--)
		out(" %s", task_ptrs[pick(NELEMS(task_ptrs))]);
	out(" %s", task_ints[pick(NELEMS(task_ints))]);
}

/* A :u64 from the kernel: a member read, one of the values so far, or
 * both combined. */
static void kvalue(void)
{
	switch (pick(nkvals ? 4 : 2)) {
	case 0:
	case 1:
		out("(u64 (. ");
		kchain(ktasks[pick(nktasks)]);
		out("))");
		break;
	case 2:
		out("(%s v%d (u64 (. ", pick(2) ? "+" : "bxor", pick(nkvals));
		kchain(ktasks[pick(nktasks)]);
		out(")))");
		break;
	default:
		out("(u64 (f%d %s))", pick(kfuncs), ktasks[pick(nktasks)]);
		break;
	}
}

static void kstatement(void)
{
	switch (pick(krecord ? 6 : 3)) {
	case 0:
		out("(bpf/map_update_elem out %d v%d BPF_ANY)", pick(8), pick(nkvals));
		break;
	case 1:
		out("(if (k/exists? ");
		kchain(ktasks[pick(nktasks)]);
		out(") (set! g0 (+ g0 1)) (do))");
		break;
	case 2:
		out("(if (== (u64 %s) (u64 %s)) (set! g1 v%d) (do))", ktasks[pick(nktasks)],
		    ktasks[pick(nktasks)], pick(nkvals));
		break;
	default:
		/* the record's array fields: a string read with CO-RE or the
		 * helper, elements read and written at literal indexes */
		out("(match (bpf/map_lookup_elem evs 0)\n      [(Some e) (do");
		for (int n = 1 + pick(3); n > 0; n--)
			switch (pick(5)) {
			case 0: out(" (k/read-str (. e :comm) %s :comm)", ktasks[pick(nktasks)]); break;
			case 1: out(" (bpf/get_current_comm (. e :comm) 16)"); break;
			case 2: out(" (set! (. e :tail %d) (u16 v%d))", pick(ktail_len), pick(nkvals)); break;
			case 3: out(" (set! (. e :flag) (. e :comm %d))", pick(16)); break;
			default:
				out(" (set! (. e :pid) (u32 (+ (u64 (. e :tail %d)) v%d)))", pick(ktail_len),
				    pick(nkvals));
				break;
			}
		out(" (set! g2 (+ g2 (u64 (. e :flag)))))]\n      [(None) (do)])");
		break;
	}
}

static void kernel_program(const char *seed)
{
	ktrace = &ktraces[pick(NELEMS(ktraces))];
	ktail_len = 1 + pick(4);
	/* without array fields, the native backend's refusal is the kernel
	 * types' own */
	krecord = chance(70);
	kfuncs = 1 + pick(3);
	int nparams = 1;
	while (nparams < NELEMS(ktrace->params) && ktrace->params[nparams] && pick(2))
		nparams++;

	fprintf(prog, "; randprog %s: kernel types\n(program :%s \"%s\")\n", seed, ktrace->kind, ktrace->attach);
	if (krecord)
		fprintf(prog, "(deftype Ev [pid :u32 comm [:u8 16] flag :u8 tail [:u16 %d]])\n"
			"(defmap evs :array :u32 :Ev 1)\n", ktail_len);
	fprintf(prog, "(defmap out :array :u32 :u64 8)\n");
	fprintf(prog, "(defglobal g0 :u64)\n(defglobal g1 :u64)\n(defglobal g2 :u64)\n");
	fprintf(prog, "(extern bpf:map_update_elem [:u64 :u32 :u64 :u64] :i64)\n");
	fprintf(prog, "(extern bpf:map_lookup_elem [:u64 :u32] :u64)\n");
	fprintf(prog, "(extern bpf:get_current_comm [:u64 :u32] :i64)\n");
	fprintf(prog, "(extern bpf:get_current_task_btf [] %s)\n\n", pick(2) ? ":k/task_struct" : ":u64");

	/* the entry first (the first defn is the entry) */
	fprintf(prog, "(defn on_event [");
	for (int p = 0; p < nparams; p++)
		fprintf(prog, "%s%s", p ? " " : "", ktrace->params[p]);
	fprintf(prog, "] :i32\n  (let [");
	nktasks = 0;
	for (int p = 0; p < ktrace->tasks && p < nparams; p++)
		snprintf(ktasks[nktasks++], sizeof(ktasks[0]), "t%d", p);
	for (int n = 0; n < ktrace->karg_tasks; n++)
		if (n == 0 || pick(2)) {
			snprintf(ktasks[nktasks], sizeof(ktasks[0]), "a%d", n);
			fprintf(prog, "a%d (k/arg ctx %d :k/task_struct)\n        ", n, n);
			nktasks++;
		}
	if (nktasks == 0 || pick(2)) {
		snprintf(ktasks[nktasks++], sizeof(ktasks[0]), "cur");
		fprintf(prog, "cur (bpf/get_current_task_btf)\n        ");
	}
	nkvals = 0;
	for (int n = 1 + pick(4); n > 0; n--) {
		fprintf(prog, "v%d ", nkvals);
		body_len = 0;
		kvalue();
		fprintf(prog, "%s\n        ", body);
		nkvals++;
	}
	fprintf(prog, "]\n    (do");
	for (int n = 2 + pick(5); n > 0; n--) {
		body_len = 0;
		kstatement();
		fprintf(prog, "\n      %s", body);
	}
	fprintf(prog, "\n      0)))\n");
	/* functions taking a task, each reading from it */
	for (int f = 0; f < kfuncs; f++) {
		snprintf(ktasks[0], sizeof(ktasks[0]), "t");
		nktasks = 1;
		body_len = 0;
		out("(u64 (. ");
		kchain("t");
		out("))");
		fprintf(prog, "\n(defn f%d [t :k/task_struct] :u64\n  %s)\n", f, body);
	}
	body_len = 0;
	if (body)
		body[0] = '\0';
}

static void kernel_cases(void)
{
	switch (ktrace->test) {
	case KT_LOAD_EPERM:
		printf("# this kernel refuses fentry, fexit and lsm programs (docs/kernel_types.md)\n"
		       "load-may-fail EPERM\n");
		break;
	case KT_TRIGGER:
		/* attached, run by /bin/true's fork, exec and exit */
		for (int c = 1 + pick(2); c > 0; c--)
			printf("case c%d\n  trigger /bin/true\n", c);
		break;
	case KT_TEST_RUN:
		for (int c = 2 + pick(3); c > 0; c--) {
			printf("case c%d\n  ctx-u64", c);
			for (int i = 0; i < 4; i++)
				printf(" %llu", (unsigned long long)(pick(2) ? next64() : (uint64_t)pick(5)));
			printf("\n  return any\n");
		}
		break;
	}
}

static void program(const char *seed)
{
	kernel_prog = chance(10);
	if (kernel_prog) {
		kernel_program(seed);
		return;
	}
	choose_kind();
	key_type = pick(2) ? U32 : U64;
	nrecord_fields = pick(3) ? 1 + pick(MAX_FIELDS) : 0;
	for (int f = 0; f < nrecord_fields; f++)
		record_types[f] = pick(NTYPES);
	choose_key_record();
	choose_programs();
	choose_maps();
	for (int m = 0; m < nmaps; m++)
		maps[m].init = maps[m].type->role == PROG_ARRAY && multiprog && kind->tail_calls;
	tuple_map = !no_program && (kind == &kinds[0] || kind == &kinds[1]) && chance(30);
	nfuncs = 1 + pick(MAX_FUNCS);
	for (int f = 0; f < nfuncs; f++) {
		struct func *fn = &funcs[f];
		fn->nparams = pick(MAX_PARAMS + 1);
		fn->ret = pick(NTYPES);
		for (int p = 0; p < fn->nparams; p++)
			fn->params[p] = pick(NTYPES);
		fn->map = -1;
		fn->packet = false;
		if (fn->nparams >= 2 && chance(20)) {
			fn->packet = true;
			fn->params[0] = fn->params[1] = U64;
		} else if (fn->nparams >= 1 && chance(15)) {
			fn->map = keyed_map(false);
			/* often an earlier one's: a map parameter it can give on */
			for (int e = 0; e < f && fn->map >= 0; e++)
				if (funcs[e].map >= 0 && chance(50))
					fn->map = funcs[e].map;
			if (fn->map >= 0)
				fn->params[0] = U64;
		}
	}
	for (int g = 0; g < NGLOBALS; g++) {
		gtypes[g] = pick(NTYPES);
		gconst[g] = g >= 3;
	}

	/* the body first: it says which helpers the externs must declare */
	entry(0);
	for (int q = 1; q < nprogs; q++)
		entry(q);
	kind = prog_kinds[0];
	for (int f = 0; f < nfuncs; f++)
		function(f);
	for (int m = 0; m < nmaps; m++)
		if (maps[m].type->role == RINGBUF) {
			/* a ring buffer record reaches it as a :u64 */
			out("\n(defn fill [ev :u64 v :u32] :unit\n  (bpf/store_u32 ev 8 v))\n");
			break;
		}

	fprintf(prog, "; randprog %s\n", seed);
	if (no_program)
		fprintf(prog, "; no (program): a file of functions\n");
	else if (multiprog)
		fprintf(prog, "; %d programs (defprog)\n", nprogs);
	else if (kind->attach)
		fprintf(prog, "(program :%s \"%s\")\n", kind->name, kind->attach);
	else
		fprintf(prog, "(program :%s)\n", kind->name);
	if (chance(30))
		fprintf(prog, "(license \"%s\")\n", pick(2) ? "GPL" : "Dual BSD/GPL");
	if (chance(5))
		fprintf(prog, "(ns Gen%s)\n(import Other)\n(import Other :as O)\n", seed);
	/* an exported function is verified on its own, its arguments as
	 * scalars: not given maps or packets (tests/native/found/), nor any
	 * other address, which the checker refuses (context_flow.c,
	 * tests/err/address-to-exported): f0 takes no map or packet
	 * parameter, and every value bound here (the entry's inputs, lets,
	 * parameters) is a number */
	if (chance(10) && funcs[0].map < 0 && !funcs[0].packet)
		fprintf(prog, "(export f0)\n");
	fprintf(prog, "\n");
	for (int m = 0; m < nmaps; m++)
		if (strcmp(maps[m].type->name, "lpm_trie") == 0) {
			fprintf(prog, "(deftype LpmKey [prefixlen :u32 addr :u32])\n");
			break;
		}
	if (tuple_map)
		fprintf(prog, "(deftype Tuple [saddr :u32 daddr :u32 sport :u16 dport :u16 pad :u32])\n");
	if (nrecord_fields) {
		fprintf(prog, "(deftype R [");
		for (int f = 0; f < nrecord_fields; f++)
			fprintf(prog, "%sf%d :%s", f ? " " : "", f, types[record_types[f]].name);
		fprintf(prog, "])\n");
	}
	if (nkey_fields) {
		fprintf(prog, "(deftype K [");
		for (int f = 0; f < nkey_fields; f++)
			fprintf(prog, "%sk%d :%s", f ? " " : "", f, types[key_types[f]].name);
		fprintf(prog, "])\n");
	}
	print_maps();
	if (tuple_map)
		fprintf(prog, "(defmap tuples :array :u32 :Tuple 1)\n");
	fprintf(prog, "\n");
	for (int g = 0; g < NGLOBALS; g++) {
		if (g < 2) {
			fprintf(prog, "(defglobal g%d :%s)\n", g, types[gtypes[g]].name);
			continue;
		}
		fprintf(prog, "(%s g%d :%s ", gconst[g] ? "defconst" : "defglobal", g, types[gtypes[g]].name);
		size_t mark = body_len;
		literal(gtypes[g], false);
		fprintf(prog, "%s)\n", body + mark);
		body_len = mark;
		body[mark] = '\0';
	}
	fprintf(prog, "\n");
	for (int h = 0; h < NHELPERS; h++)
		if (helper_used[h]) {
			fprintf(prog, "(extern bpf:");
			fprintf(prog, helper_externs[h], types[key_type].name);
			fprintf(prog, ")\n");
		}
	fprintf(prog, "\n%s", body);
}

/* ---- the cases ---------------------------------------------------------------- */

static void bytes(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf(i % 16 ? " %02x" : "\n  packet %02x", p[i]);
}

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* One frame: Ethernet, maybe a VLAN tag, then ARP, IPv4 or IPv6 with TCP,
 * UDP or ICMP; or random bytes; the whole maybe cut short. */
static size_t frame(uint8_t *f)
{
	size_t n = 0;
	for (int i = 0; i < 12; i++)
		f[n++] = (uint8_t)next();
	int shape = pick(10);
	if (shape == 9) {
		size_t len = 14 + (size_t)pick(100);
		for (; n < len; n++)
			f[n] = (uint8_t)next();
		return n;
	}
	if (pick(6) == 0) {
		put16(f + n, 0x8100);
		put16(f + n + 2, (unsigned)pick(4096));
		n += 4;
	}
	int l3 = pick(7);   /* 0-2 IPv4, 3-5 IPv6, 6 ARP */
	int l4 = (int[]){ 6, 17, 1 }[pick(3)];
	if (l3 == 6) {
		static const uint8_t arp[] = { 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1 };
		memcpy(f + n, arp, sizeof(arp));
		n += sizeof(arp);
		for (int i = 0; i < 20; i++)
			f[n++] = (uint8_t)next();
	} else if (l3 < 3) {
		put16(f + n, 0x0800);
		n += 2;
		uint8_t *ip = f + n;
		memset(ip, 0, 20);
		ip[0] = 0x45;
		ip[8] = (uint8_t)(1 + pick(255));
		ip[9] = (uint8_t)l4;
		for (int i = 12; i < 20; i++)
			ip[i] = (uint8_t)next();
		n += 20;
	} else {
		put16(f + n, 0x86dd);
		n += 2;
		uint8_t *ip = f + n;
		memset(ip, 0, 40);
		ip[0] = 0x60;
		ip[6] = (uint8_t)(l4 == 1 ? 58 : l4);
		ip[7] = 64;
		for (int i = 8; i < 40; i++)
			ip[i] = (uint8_t)next();
		n += 40;
	}
	if (l3 != 6) {
		size_t l4len = l4 == 6 ? 20 : 8;
		for (size_t i = 0; i < l4len; i++)
			f[n + i] = (uint8_t)next();
		if (l4 == 6)
			f[n + 12] = 0x50;
		n += l4len;
		for (int i = pick(32); i > 0; i--)
			f[n++] = (uint8_t)next();
	}
	/* IPv4 total length / IPv6 payload length */
	if (chance(25))
		n = 14 + (size_t)pick((int)n - 13);   /* truncated */
	return n;
}

/* The cases of a file of defprogs run each program in turn ("program
 * NAME", docs/cases.md): the entry's, then a few for each other one. */
static void cases(void)
{
	int ncases = 6 + pick(6);
	/* entries for the lookups to find: keys 0-7 of the hash maps */
	for (int m = 0; m < nmaps; m++)
		if (maps[m].type->role == KEYED && maps[m].key >= 0 && maps[m].value >= 0 && !maps[m].type->array)
			for (int k = pick(8); k < 8; k += 1 + pick(3))
				printf("set m%d %d = %llu\n", m, k,
				       (unsigned long long)truncate_to(maps[m].value, next64() >> pick(64)));
	int prog = 0;
	if (multiprog)
		printf("program entry\n");
	for (int c = 0; c < ncases; c++) {
		if (multiprog && c >= ncases - 2 * (nprogs - 1) && (c - ncases) % 2 == 0)
			printf("program %s\n", prog_names[++prog]);
		printf("case c%d", c);
		if (kind->inputs == FRAMES && !no_program) {
			uint8_t f[256];
			bytes(f, frame(f));
		} else {
			printf("\n  ctx-u64");
			for (int i = 0; i < 4; i++) {
				uint64_t v = next64();
				if (pick(2))
					v = (uint64_t)(int64_t)(pick(9) - 4);
				printf(" %llu", (unsigned long long)v);
			}
		}
		if (pick(4) == 0)
			printf("\n  set global g%d = %d", pick(2), pick(100));
		if (pick(8) == 0)
			printf("\n  repeat %d", 2 + pick(3));
		printf("\n  return any\n");
	}
}

int main(int argc, char **argv)
{
	bool want_cases = argc == 3 && strcmp(argv[1], "--cases") == 0;
	if (argc != 2 && !want_cases) {
		fprintf(stderr, "usage: randprog [--cases] SEED\n");
		return 2;
	}
	const char *seed = argv[argc - 1];
	rng = strtoull(seed, NULL, 0) * 0x9E3779B97F4A7C15ull + 1;
	/* The cases need the program's maps and kind: the program is made
	 * again, written nowhere, and the cases come from a second stream. */
	prog = want_cases ? fopen("/dev/null", "w") : stdout;
	if (!prog)
		return 2;
	program(seed);
	if (!want_cases)
		return 0;
	rng ^= 0x5DEECE66Dull;
	if (kernel_prog) {
		kernel_cases();
		return 0;
	}
	if (no_program || kind->inputs == NO_RUN) {
		printf("# load only: %s\n", no_program ? "no program" : "the kernel does not test-run it");
		return 0;
	}
	cases();
	return 0;
}
