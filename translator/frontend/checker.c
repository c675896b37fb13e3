/* checker.c - names, types and safety rules of LANGUAGE.md sections 2-9.
 *
 * The checker annotates the parser's AST in place: every expression node
 * gets its type (an integer literal gets the type its context gives it),
 * names get what they refer to, calls get their callee, locals get unique C
 * names, functions get their call depth, and the module gets its entry.
 *
 * Error recovery: an expression whose check failed has type NULL ("poison").
 * Every rule that looks at a subexpression's type stays silent on NULL, so
 * one mistake gives one message, and independent mistakes are all reported.
 *
 * Passes, in order:
 *   1. records: duplicates, capitalisation, field types, C layout
 *   2. declarations: maps, globals, externs and defn signatures enter the
 *      file scope (forward references to defns are fine)
 *   3. bodies: expressions, in source order
 *   4. the call graph: recursion, call depth
 *   5. the program kind: context parameters, the entry function
 *
 * C names (documented for the backend, which must not invent clashing
 * ones): see mangle() and is_reserved_c_name() below.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "vbpf2c.h"

/* ---- a string-keyed hash table in the arena ---------------------------- */

/* Key, hash and value share a slot, and the hash is compared before the
 * key: a lookup that misses (every declaration is looked up before it is
 * added) then touches one slot per probe instead of one string each, which
 * on tens of thousands of names was most of the table's cost. */
typedef struct TableSlot {
	const char *key;
	uint32_t hash;
	void *val;
} TableSlot;

typedef struct Table {
	TableSlot *slots;
	int cap, len;
} Table;

/* Names are interned by the reader, so equal pointers are the usual match;
 * strcmp covers names built elsewhere (bpf:x spelt bpf/x, C names). */
static bool same_key(const TableSlot *slot, const char *key, uint32_t hash)
{
	return slot->hash == hash && (slot->key == key || strcmp(slot->key, key) == 0);
}

static void *table_get(const Table *t, const char *key)
{
	if (!t->cap)
		return NULL;
	uint32_t h = name_hash(key);
	for (uint32_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		const TableSlot *slot = &t->slots[i];
		if (!slot->key)
			return NULL;
		if (same_key(slot, key, h))
			return slot->val;
	}
}

static void table_put(Table *t, const char *key, void *val);

/* Starts loading key's first slot into the cache, for a lookup or an
 * insertion a little later: a slot of a big table is a cache miss, and
 * misses started together overlap where one lookup after another waits
 * for each. */
static void table_prefetch(const Table *t, const char *key)
{
	if (t->cap)
		__builtin_prefetch(&t->slots[name_hash(key) & (t->cap - 1)], 1);
}

/* Room for n keys without growing. */
static void table_init(Table *t, int n)
{
	t->cap = 16;
	while (t->cap * 3 < n * 4 + 4)
		t->cap *= 2;
	t->slots = arena_alloc(sizeof(*t->slots) * t->cap);
	t->len = 0;
}

static void table_grow(Table *t)
{
	Table bigger = { 0 };
	bigger.cap = t->cap ? t->cap * 2 : 16;
	bigger.slots = arena_alloc(sizeof(*bigger.slots) * bigger.cap);
	for (int i = 0; i < t->cap; i++)
		if (t->slots[i].key)
			table_put(&bigger, t->slots[i].key, t->slots[i].val);
	*t = bigger;
}

/* Inserts val unless key is there already: returns what is there, or
 * NULL after inserting. One probe, where table_get then table_put take
 * two: declaring tens of thousands of functions is mostly cache misses
 * on those probes. */
static void *table_put_new(Table *t, const char *key, void *val)
{
	if ((t->len + 1) * 4 > t->cap * 3)
		table_grow(t);
	uint32_t h = name_hash(key);
	uint32_t i = h & (t->cap - 1);
	for (; t->slots[i].key; i = (i + 1) & (t->cap - 1))
		if (same_key(&t->slots[i], key, h))
			return t->slots[i].val;
	t->len++;
	t->slots[i] = (TableSlot){ key, h, val };
	return NULL;
}

/* Inserts or replaces. */
static void table_put(Table *t, const char *key, void *val)
{
	if ((t->len + 1) * 4 > t->cap * 3)
		table_grow(t);
	uint32_t h = name_hash(key);
	uint32_t i = h & (t->cap - 1);
	while (t->slots[i].key && !same_key(&t->slots[i], key, h))
		i = (i + 1) & (t->cap - 1);
	if (!t->slots[i].key)
		t->len++;
	t->slots[i] = (TableSlot){ key, h, val };
}

/* The C names of one function's locals. One table serves every function:
 * a slot counts only when its generation is the current function's, so
 * moving on to the next function costs nothing (no clearing, no new
 * allocation for each of tens of thousands of functions). */
typedef struct LocalNames {
	const char **keys;
	unsigned *gen;
	int cap, len;
	unsigned cur;
} LocalNames;

static void local_names_next(LocalNames *t)
{
	t->cur++;
	t->len = 0;
}

/* h: name_hash(key), which the caller often has already */
static bool local_names_has(const LocalNames *t, const char *key, uint32_t h)
{
	if (!t->cap)
		return false;
	for (uint32_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (t->gen[i] != t->cur)
			return false;
		if (t->keys[i][0] == key[0] && strcmp(t->keys[i], key) == 0)
			return true;
	}
}

static void local_names_add(LocalNames *t, const char *key, uint32_t h);

static void local_names_grow(LocalNames *t)
{
	LocalNames bigger = { 0 };
	bigger.cap = t->cap ? t->cap * 2 : 64;
	bigger.cur = t->cur;
	bigger.keys = arena_alloc(sizeof(*bigger.keys) * bigger.cap);
	bigger.gen = arena_alloc(sizeof(*bigger.gen) * bigger.cap);
	for (int i = 0; i < t->cap; i++)
		if (t->gen[i] == t->cur)
			local_names_add(&bigger, t->keys[i], name_hash(t->keys[i]));
	*t = bigger;
}

static void local_names_add(LocalNames *t, const char *key, uint32_t h)
{
	if ((t->len + 1) * 4 > t->cap * 3)
		local_names_grow(t);
	uint32_t i = h & (t->cap - 1);
	while (t->gen[i] == t->cur)
		i = (i + 1) & (t->cap - 1);
	t->keys[i] = key;
	t->gen[i] = t->cur;
	t->len++;
}

/* What local_c_name works out for a source name whatever the function:
 * its mangled C name, the hash of that, and whether a file-scope C name
 * has it. Locals are a few names over and over (a, x, key, data), and
 * that took a mangle and several hashes each time. Keyed by the name's
 * address: no name is freed or rewritten while a checker runs (the reader
 * interns names into the arena, which releases only the transient
 * region), and every file-scope name is declared before the first body
 * is checked. */
typedef struct LocalNameMemo {
	const char *source;
	const char *base;
	uint32_t hash;
	bool file_taken;
} LocalNameMemo;

enum { LOCAL_NAME_MEMO = 256 };

/* ---- checker state ------------------------------------------------------ */

typedef struct FnInfo FnInfo;

/* A :u64 parameter some call gives a map holds a map: a map handle in C,
 * where a map's rules follow it (LANGUAGE.md 5). The calls and uses that
 * decide it, noted while each body is checked, for settle_map_handles
 * (the bodies may be gone by then). */
typedef struct ParamMaps {
	const MapDecl *map;     /* the first map given to it, directly or
	                         * through a parameter of its caller */
	Span given_map;         /* ... and the argument that gave it */
	bool maps_differ;       /* maps of other key or value types too */
	Span given_other;       /* the first argument given to it that is no
	                         * map and no :u64 parameter */
	Span used_as_value;     /* its first use other than as a map argument */
	Span needs_map;         /* its first use where only a map may go: a
	                         * helper's map, or a parameter that must be
	                         * one (settle_map_handles) */
} ParamMaps;

/* A call that gives parameter from_i of its caller to the callee's
 * to_i: the map the first holds, the second holds too. */
typedef struct ParamEdge {
	FnInfo *from, *to;
	int from_i, to_i;
	Span at;
} ParamEdge;

typedef struct CallEdge {
	FnInfo *callee;
	Span at;
} CallEdge;

struct FnInfo {
	FnDecl *fn;
	Vec calls;              /* CallEdge*, in source order */
	int state;              /* graph walk: 0 new, 1 on the stack, 2 done;
	                         * 3 depth known (in no cycle) */
	int depth;              /* state 3: fn->call_depth, here so that the
	                         * walk reads FnInfos only */
	bool in_cycle;          /* recursion reported: no depth */
	/* What check_end asks of every defn's signature, noted when it is
	 * declared: a FnDecl and its parameters are out of the cache by then */
	bool prog;              /* a defprog */
	bool context_param;     /* a parameter is a context record */
	Record *first_record;   /* the record of the first parameter, if any */
	ParamMaps *param_maps;  /* per parameter, once a call or a use notes
	                         * something of one (settle_map_handles) */
};

typedef enum SymKind { SYM_MAP, SYM_GLOBAL, SYM_FN } SymKind;

/* A name of the file scope (the value namespace: maps, globals, defns). */
typedef struct Sym {
	SymKind kind;
	const Span *span;       /* in its declaration */
	union {                 /* by kind */
		MapDecl *map;
		GlobalDecl *global;
		FnInfo *fn;
	};
} Sym;

typedef struct RecInfo {
	Record *record;
	Span span;
	int state;              /* layout walk: 0 new, 1 in progress, 2 done */
	bool ok;
} RecInfo;

/* A file-scope C identifier and the source name that owns it (span: in
 * its declaration, which the checker keeps). */
typedef struct CNameOwner {
	const char *source;
	const Span *span;
} CNameOwner;

typedef struct ScopeEntry {
	const char *name;
	Var *var;
} ScopeEntry;

struct Checker {
	Module *m;
	Table values;           /* source name -> Sym */
	Table records;          /* record name -> RecInfo (user and built-in) */
	Table externs;          /* helper name -> ExternDecl */
	Table file_cnames;      /* C name -> CNameOwner, for the file-scope
	                         * C names values does not give (file_c_name_owner) */
	Table bad_maps;         /* maps whose key or value type failed */
	Vec fns;                /* FnInfo*, source order (duplicates excluded) */
	Vec progs;              /* the defprogs of fns, and */
	Vec context_fns;        /* those with a context record parameter, for
	                         * check_end, which then reads those only */
	Vec maps;               /* MapDecl*, source order: check_end looks at
	                         * them again, and not at every declaration */
	bool for_backends;      /* check_module: the bodies stay, and get what
	                         * only the backends need (Var.handle_map) */
	Vec param_edges;        /* ParamEdge*, in source order */

	/* the function being checked */
	FnInfo *fn;
	LocalNames local_cnames;
	ScopeEntry *scope;
	int nscope, scope_cap;
	bool map_ok;            /* the expression is a call argument */
	bool map_argument;      /* ... where a map may be given (check_args) */
	uint8_t stack_written[512 / 8]; /* bit b: byte -512 + b of the frame
	                                 * is stored on every way here */
	bool stack_dirty;       /* stack_written has a bit set */
	bool record_ok;         /* the expression is the target of `.` */
	bool record_value_ok;   /* ... or where a record value may go (10.4):
	                         * a let init, a by-value helper argument */
	Node *untyped_result;   /* the result of a body whose return type
				 * was rejected: a literal there stays silent */
	bool kernel_str_ok;     /* the `.` chain is k/read-str's or k/exists?'s */
	Vec kernel_args;        /* k/arg calls: checked against the entry */
	Vec sizeof_nodes;       /* (sizeof :Rec) literals (Node*) ... */
	Vec sizeof_records;     /* ... and their records (Type*) */
	Vec misaligned;         /* MisalignedAccess*: of a :u64 first parameter */
	bool reads_packet;      /* the body reads a packet member of the
	                         * context (packet_bounds.c) */
	bool may_hold_address;  /* the body has what context_flow.c follows
	                         * (a map or pointer, a 64-bit parameter, a
	                         * field, a call): else it summarises nothing */
	bool acquires;          /* the body calls a helper that hands out a
	                         * reference (helper_acquires_reference) */
	int next_body;          /* check_body: the fns entry it expects */
	int errors_before;      /* diag_error_count() at check_begin */
	bool return_ranged;     /* a program's kind allows only some return
	                         * values: bodies are summarised (return_range.c) */
	bool packet_read_only;  /* a program may only read its packet:
	                         * bodies are summarised (packet_writes.c) */
	Vec summarised;         /* FnDecl* with a packet_summary */
	ContextFlow *context_flow;
	bool undecided;         /* check_undecided */
	LocalNameMemo local_names_memo[LOCAL_NAME_MEMO];  /* local_c_name */
};

/* ---- small helpers ------------------------------------------------------ */

/* Types the checker treats as one: nullability is tracked by match, not
 * by type equality. */
static bool same_type(const Type *a, const Type *b)
{
	return type_equal_ignoring_null(a, b);
}

static bool is_int(const Type *t)
{
	return t && t->kind == TY_INT;
}

static bool is_u64(const Type *t)
{
	return is_int(t) && t->size == 8 && !t->is_signed;
}

/* The exact integer value of a literal, as written: "-5", "255". */
static const char *int_text(uint64_t value, bool negative)
{
	if (negative)
		return arena_printf("-%llu", (unsigned long long)(0 - value));
	return arena_printf("%llu", (unsigned long long)value);
}

/* The expression whose value a body yields, for messages about it. */
static Node *last_expr(Node *n)
{
	for (;;) {
		if (n && n->kind == N_DO && n->args.len)
			n = n->args.items[n->args.len - 1];
		else if (n && n->kind == N_LET && n->body)
			n = n->body;
		else
			return n;
	}
}

/* ---- C names -------------------------------------------------------------
 *
 * Source names may hold - ? ! * < > = . ' which C identifiers may not. The
 * scheme, applied character by character:
 *   -  -> _        ?  -> _p       !  -> _bang    *  -> _star
 *   <  -> _lt      >  -> _gt      =  -> _eq      .  -> _dot
 *   '  -> _prime   any other non-identifier byte -> _xHH (hex)
 * A name that starts with a digit (vaisto reads `0XFF` as a name) gets the
 * prefix v_. The result then gets a trailing `_` when it is reserved: a C
 * keyword or a name the generated C already uses (see is_reserved_c_name).
 *
 * File scope (maps, globals, defns) must stay injective: two source names
 * with one C name are an error. Locals are unique per function: the first
 * `x` is `x`, later ones `x_1`, `x_2`... (the first free), also avoiding
 * every file-scope C name, so a one-line edit renumbers only same-named
 * locals after it. The backend must only introduce names that start with
 * `vbpf_` (reserved here) or that it checks against these tables.
 */

/* Every name of every scope is looked up here (is_reserved_word). */
static const char *const reserved_words[] = {
	/* C11 keywords, GNU C, and the identifiers the generated C's headers
	 * define */
	"LICENSE", "NULL", "SEC", "_Alignas", "_Alignof", "_Atomic", "_Bool",
	"_Complex", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert",
	"_Thread_local", "asm", "auto", "barrier", "bool", "break", "case",
	"char", "const", "continue", "ctx", "default", "do", "double", "else",
	"enum", "extern", "false", "float", "for", "goto", "if", "inline", "int",
	"likely", "long", "main", "memcmp", "memcpy", "memmove", "memset", "offsetof",
	"register", "restrict", "return", "s16", "s32", "s64", "s8", "short",
	"signed", "size_t", "sizeof", "ssize_t", "static", "struct", "switch",
	"true", "typedef", "typeof", "u16", "u32", "u64", "u8", "union",
	"unlikely", "unsigned", "void", "volatile", "while",
};

/* Families of names that libbpf's headers and the kernel's UAPI headers
 * define (bpf_* helpers and libbpf macros, BPF_*, XDP_*, TC_ACT_*, SK_*
 * enumerators, __u32 and friends) and the backend's own vbpf_ prefix. None
 * of those names ends in `_`, so appending one always escapes. */
static const char *const reserved_prefixes[] = {
	"bpf_", "BPF_", "XDP_", "TC_ACT_", "SK_", "__", "vbpf_",
};

/* every local and file-scope name is looked up: an index, not a search */
static NameIndex reserved_word_index = NAME_INDEX(reserved_words);

static bool is_reserved_word(const char *s)
{
	return name_index_get(&reserved_word_index, s) != NULL;
}

static bool is_reserved_c_name(const char *s)
{
	if (is_reserved_word(s))
		return true;
	if (isupper((unsigned char)s[0]) && kernel_const_by_name(s))
		return true;
	if (!strchr("bBXTSv_", s[0]))
		return false;
	for (size_t i = 0; i < sizeof(reserved_prefixes) / sizeof(*reserved_prefixes); i++)
		if (strncmp(s, reserved_prefixes[i], strlen(reserved_prefixes[i])) == 0)
			return true;
	return false;
}

static const char *mangle(const char *src)
{
	/* Most names are already C identifiers: keep the (interned) source
	 * string, no copy. */
	const char *q = src;
	while (isalnum((unsigned char)*q) || *q == '_')
		q++;
	if (!*q && !isdigit((unsigned char)src[0]) && src[0] && !is_reserved_c_name(src))
		return src;

	StrBuf sb = { 0 };
	if (isdigit((unsigned char)src[0]))
		sb_puts(&sb, "v_");
	for (const char *p = src; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (isalnum(c) || c == '_') {
			sb_putc(&sb, (char)c);
			continue;
		}
		switch (c) {
		case '-': sb_putc(&sb, '_'); break;
		case '?': sb_puts(&sb, "_p"); break;
		case '!': sb_puts(&sb, "_bang"); break;
		case '*': sb_puts(&sb, "_star"); break;
		case '<': sb_puts(&sb, "_lt"); break;
		case '>': sb_puts(&sb, "_gt"); break;
		case '=': sb_puts(&sb, "_eq"); break;
		case '.': sb_puts(&sb, "_dot"); break;
		case '\'': sb_puts(&sb, "_prime"); break;
		default: sb_printf(&sb, "_x%02X", c); break;
		}
	}
	if (is_reserved_c_name(sb.data ? sb.data : ""))
		sb_putc(&sb, '_');
	const char *out = arena_strdup(sb.data ? sb.data : "v_");
	sb_free(&sb);
	return out;
}

/* The C library's functions, which clang declares before the first line
 * of every file (its library builtins): a file-scope variable or function
 * named floor, index or log is "a redefinition of 'floor' as a different
 * kind of symbol". A local of that name only shadows one. Checked in, as
 * the translator builds without clang; tests/c_library_names.sh writes it
 * from the installed clang and checks it. */
static const char *const c_library_names[] = {
#include "c_library_names.h"
};

static NameIndex c_library_index = NAME_INDEX(c_library_names);

static bool is_c_library_name(const char *s)
{
	return name_index_get(&c_library_index, s) != NULL;
}

/* The C name file_c_name gave a file-scope value (NULL until then). */
static const char *sym_c_name(const Sym *s)
{
	switch (s->kind) {
	case SYM_MAP: return s->map->c_name;
	case SYM_GLOBAL: return s->global->c_name;
	case SYM_FN: return s->fn->fn->c_name;
	}
	return NULL;
}

/* Who has file-scope C name c, if anyone (*owner). Most declarations are
 * named in C as in the source, and the values table has those already:
 * file_cnames keeps only the other C names, and those of c: externs,
 * which are not values. One table entry per declaration fewer, on tens
 * of thousands of them. */
static bool file_c_name_owner(Checker *ck, const char *c, CNameOwner *owner)
{
	const CNameOwner *o = table_get(&ck->file_cnames, c);
	if (o) {
		*owner = *o;
		return true;
	}
	const Sym *s = table_get(&ck->values, c);
	const char *sc = s ? sym_c_name(s) : NULL;
	if (!sc || strcmp(sc, c) != 0)
		return false;
	*owner = (CNameOwner){ .source = c, .span = s->span };
	return true;
}

static bool file_c_name_taken(Checker *ck, const char *c)
{
	CNameOwner owner;
	return file_c_name_owner(ck, c, &owner);
}

/* Gives a file-scope declaration its C name - mangle()'s, with a trailing
 * `_` where it is a C library function's; two source names that end up
 * with one C name are an error at the second. in_values: the declaration
 * is in the values table (a map, global or defn; not a c: extern). */
static const char *file_c_name(Checker *ck, const char *source, const Span *span, bool in_values)
{
	const char *c = mangle(source);
	if (is_c_library_name(c))
		c = arena_printf("%s_", c);
	CNameOwner first;
	if (file_c_name_owner(ck, c, &first)) {
		diag_error(*span, "`%s` would be named `%s` in C, which is already the C name of `%s`",
			   source, c, first.source);
		diag_note(*first.span, "`%s` is declared here", first.source);
	} else if (c != source || !in_values) {   /* mangle() keeps an unchanged name */
		CNameOwner *owner = arena_alloc(sizeof(*owner));
		owner->source = source;
		owner->span = span;
		table_put(&ck->file_cnames, c, owner);
	}
	return c;
}

static const LocalNameMemo *local_name_memo(Checker *ck, const char *source)
{
	uint32_t slot = (uint32_t)((uintptr_t)source >> 3) * 0x9e3779b1u >> 24;
	LocalNameMemo *m = &ck->local_names_memo[slot & (LOCAL_NAME_MEMO - 1)];
	if (m->source != source) {
		m->source = source;
		m->base = mangle(source);
		m->hash = name_hash(m->base);
		m->file_taken = file_c_name_taken(ck, m->base);
	}
	return m;
}

/* A local's C name: its source name's, numbered when the function has one
 * of that name already or a file-scope declaration does. *hash: the hash
 * of the result. */
static const char *local_c_name(Checker *ck, const char *source, uint32_t *hash)
{
	const LocalNameMemo *m = local_name_memo(ck, source);
	*hash = m->hash;
	if (!m->file_taken && !local_names_has(&ck->local_cnames, m->base, m->hash))
		return m->base;
	const char *c = m->base;
	for (int n = 1; local_names_has(&ck->local_cnames, c, *hash) || file_c_name_taken(ck, c); n++) {
		c = arena_printf("%s_%d", m->base, n);
		*hash = name_hash(c);
	}
	return c;
}

/* ---- records -------------------------------------------------------------- */

static RecInfo *record_info(Checker *ck, const char *name)
{
	RecInfo *ri = table_get(&ck->records, name);
	if (ri)
		return ri;
	Record *r = context_record_by_name(name);
	if (!r)
		return NULL;
	ri = arena_alloc(sizeof(*ri));
	ri->record = r;
	ri->state = 2;
	ri->ok = true;
	table_put(&ck->records, name, ri);
	return ri;
}

/* The parser leaves record references as TY_RECORD types that may not point
 * at the final Record yet (a deftype later in the file, or a deftype that
 * replaces a built-in context record of the same name): resolve them by
 * name. Pointers are rebuilt around the resolved pointee. NULL after an
 * error. */
static Type *resolve_type(Checker *ck, Type *t, Span at)
{
	if (!t)
		return NULL;
	if (t->kind == TY_PTR) {
		Type *p = resolve_type(ck, t->pointee, at);
		return p ? type_ptr(p, t->nullable) : NULL;
	}
	if (t->kind != TY_RECORD)
		return t;
	const char *name = t->record ? t->record->name : t->name;
	if (name && strncmp(name, "k/", 2) == 0) {
		/* LANGUAGE.md 11: :k/NAME is a pointer to the kernel's struct */
		Record *kr = ktypes_struct(ck->m, name + 2, t->span.file ? t->span : at);
		return kr ? type_ptr(type_record(kr), false) : NULL;
	}
	RecInfo *ri = name ? record_info(ck, name) : NULL;
	if (!ri) {
		diag_error(t->span.file ? t->span : at, "unknown type `:%s`", name ? name : "?");
		diag_hint("declare it with `(deftype %s [field :type ...])`", name ? name : "Name");
		return NULL;
	}
	if (!ri->ok)
		return NULL;
	return type_record(ri->record);
}

/* Lays out a user record after its record-typed fields; a record that
 * contains itself is an error. */
static bool layout_user_record(Checker *ck, RecInfo *ri)
{
	if (ri->state == 2)
		return ri->ok;
	Record *r = ri->record;
	if (ri->state == 1) {
		diag_error(ri->span, "record `%s` contains itself", r->name);
		ri->ok = false;
		return false;
	}
	ri->state = 1;
	bool ok = true;
	for (int i = 0; i < r->nfields; i++) {
		Field *f = r->fields[i];
		/* first, so the collision check below sees every earlier field's */
		if (!f->c_member || strcmp(f->c_member, f->name) == 0)
			f->c_member = mangle(f->name);
		for (int j = 0; j < i; j++) {
			if (strcmp(r->fields[j]->name, f->name) == 0) {
				diag_error(f->span, "duplicate field `%s` in record `%s`", f->name, r->name);
				diag_note(r->fields[j]->span, "`%s` first declared here", f->name);
				ok = false;
				break;
			}
		}
		Type *t = f->type;
		/* a record-typed field is stored by value */
		if (t && t->kind == TY_PTR && t->pointee && t->pointee->kind == TY_RECORD)
			t = t->pointee;
		if (t && t->kind == TY_RECORD) {
			const char *name = t->record ? t->record->name : t->name;
			RecInfo *fi = name ? record_info(ck, name) : NULL;
			if (!fi && name && strncmp(name, "k/", 2) == 0) {
				diag_error(t->span.file ? t->span : f->span, "field `%s` of record `%s`: a kernel struct "
					   "pointer (:%s) cannot be stored in a record", f->name, r->name, name);
				diag_hint("store its address, `(u64 t)`, in a :u64 field");
				ok = false;
				continue;
			}
			if (!fi) {
				diag_error(t->span.file ? t->span : f->span, "unknown type `:%s`", name ? name : "?");
				diag_hint("declare it with `(deftype %s [field :type ...])`", name ? name : "Name");
				ok = false;
				continue;
			}
			if (!layout_user_record(ck, fi)) {
				ok = false;
				continue;
			}
			f->type = type_record(fi->record);
		} else if (!t || (t->kind != TY_INT && t->kind != TY_BOOL)) {
			diag_error(f->span, "field `%s` of record `%s` must be an integer, :bool or a record, got %s",
				   f->name, r->name, t ? type_str(t) : "nothing");
			ok = false;
		} else {
			f->type = t;
			/* the native backend's BTF has no array members yet */
			if (f->array_len)
				module_refuse_native(ck->m, f->span, "array fields (LANGUAGE.md 10.9)");
		}
		for (int j = 0; j < i; j++) {
			if (strcmp(r->fields[j]->name, f->name) != 0 &&
			    strcmp(r->fields[j]->c_member, f->c_member) == 0) {
				diag_error(f->span, "field `%s` would be named `%s` in C, like field `%s`", f->name,
					   f->c_member, r->fields[j]->name);
				diag_note(r->fields[j]->span, "`%s` is declared here", r->fields[j]->name);
				ok = false;
				break;
			}
		}
	}
	if (ok)
		record_layout(r);
	ri->state = 2;
	ri->ok = ok;
	return ok;
}

static void check_records(Checker *ck)
{
	Vec user = { 0 };
	Table cnames = { 0 };
	for (int i = 0; i < ck->m->records.len; i++) {
		Decl *d = ck->m->records.items[i];
		Record *r = d->u.record->record;
		Span at = d->u.record->span;
		if (!isupper((unsigned char)r->name[0])) {
			diag_error(at, "record name `%s` must be capitalised", r->name);
			diag_hint("types are written `:%c%s`", toupper((unsigned char)r->name[0]), r->name + 1);
			continue;
		}
		RecInfo *old = table_get(&ck->records, r->name);
		if (old) {
			diag_error(at, "record `%s` is defined twice", r->name);
			diag_note(old->span, "first definition of `%s`", r->name);
			continue;
		}
		/* A deftype with a built-in context name replaces the built-in:
		 * it is an ordinary user record from here on. */
		r->is_context = false;
		const char *c = mangle(r->name);
		RecInfo *clash = table_get(&cnames, c);
		if (clash) {
			diag_error(at, "record `%s` would be named `struct %s` in C, like record `%s`",
				   r->name, c, clash->record->name);
			diag_note(clash->span, "`%s` is declared here", clash->record->name);
		}
		r->c_name = arena_printf("struct %s", c);
		RecInfo *ri = arena_alloc(sizeof(*ri));
		ri->record = r;
		ri->span = at;
		table_put(&ck->records, r->name, ri);
		table_put(&cnames, c, ri);
		vec_push(&user, ri);
	}
	for (int i = 0; i < user.len; i++)
		layout_user_record(ck, user.items[i]);
}

/* ---- declarations --------------------------------------------------------- */

static const char *sym_what(const Sym *s)
{
	switch (s->kind) {
	case SYM_MAP: return "map";
	case SYM_GLOBAL: return s->global->is_const ? "defconst" : "defglobal";
	case SYM_FN: return "function";
	}
	return "name";
}

/* Enters a name into the file scope; false (after an error) when taken. */
static bool declare_value(Checker *ck, const char *name, Sym *sym)
{
	Sym *old = table_put_new(&ck->values, name, sym);
	if (old) {
		diag_error(*sym->span, "`%s` is defined twice", name);
		diag_note(*old->span, "first definition of `%s` (a %s)", name, sym_what(old));
		return false;
	}
	return true;
}

static bool is_constant_init(const Node *n)
{
	if (!n)
		return false;
	if (n->kind == N_INT || n->kind == N_BOOL)
		return true;
	if (n->kind == N_NEG)
		return is_constant_init(n->lhs);
	return n->kind == N_NAME && kernel_const_by_name(n->name);
}

static Type *check_expr(Checker *ck, Node *n, Type *expected);
static void hint_helper_returns_nothing(const Node *n);
static bool needs_context(Checker *ck, const Node *n);

static void declare_global(Checker *ck, GlobalDecl *g)
{
	g->type = resolve_type(ck, g->type, g->span);
	Sym *s = arena_alloc(sizeof(*s));
	s->kind = SYM_GLOBAL;
	s->span = &g->span;
	s->global = g;
	if (declare_value(ck, g->name, s))
		g->c_name = file_c_name(ck, g->name, &g->span, true);
	else
		g->c_name = mangle(g->name);
	if (g->type && g->type->kind != TY_INT && g->type->kind != TY_BOOL) {
		diag_error(g->span, "%s `%s` must have an integer or :bool type, got %s",
			   g->is_const ? "defconst" : "defglobal", g->name, type_str(g->type));
		g->type = NULL;
	}
}

/* Initialisers are checked once the file scope is complete. */
static void check_global_init(Checker *ck, GlobalDecl *g)
{
	if (!g->init || !g->type)
		return;
	if (!is_constant_init(g->init)) {
		diag_error(g->init->span, "the initial value of `%s` must be a literal", g->name);
		return;
	}
	if (!is_int(g->type) && needs_context(ck, g->init)) {
		diag_error(g->init->span, "`%s` has type %s: its initial value must be true or false",
			   g->name, type_str(g->type));
		return;
	}
	Type *t = check_expr(ck, g->init, g->type);
	if (t && !same_type(t, g->type))
		diag_error(g->init->span, "`%s` has type %s but its initial value has type %s",
			   g->name, type_str(g->type), type_str(t));
}

/* Map types whose kernel implementation accepts only one key or value
 * size (array_map_alloc_check, fd_array_map_alloc_check, stack_map_alloc,
 * the devmap/cpumap/xskmap/sockmap allocators); 0: any size. */
static const struct {
	const char *map_type;
	int key_size, value_size;
} fixed_map_sizes[] = {
	{ "array", 4, 0 },      { "percpu_array", 4, 0 }, { "prog_array", 4, 4 },
	{ "perf_event_array", 4, 4 }, { "stack_trace", 4, 0 }, { "devmap", 4, 0 },
	{ "cpumap", 4, 0 },     { "xskmap", 4, 4 },       { "sockmap", 4, 0 },
};

/* A key or value type the kernel can create the map with, and C can name.
 * A context record is the kernel's view of the program's context, not
 * data: no map can hold it. Returns false after saying why. */
static bool map_slot_ok(const MapDecl *md, const Type *t, Span at, const char *slot, int fixed_size)
{
	if (!t)
		return true;
	if (t->kind == TY_RECORD && t->record && t->record->is_context) {
		diag_error(at, "map `%s`: the context record %s cannot be a map %s", md->name, type_str(t),
			   slot);
		diag_hint("declare a record (deftype) with the fields to keep, and store those");
		return false;
	}
	if (fixed_size && t->size != fixed_size) {
		diag_error(at, "map `%s`: a :%s map's %s is %d bytes, not %s (%d byte%s)", md->name,
			   md->map_type->name, slot, fixed_size, type_str(t), t->size, t->size == 1 ? "" : "s");
		if (fixed_size == 4)
			diag_hint("use :u32");
		return false;
	}
	return true;
}

static void check_map(Checker *ck, MapDecl *md)
{
	bool had_key = md->key, had_value = md->value;
	md->key = resolve_type(ck, md->key, md->span);
	md->value = resolve_type(ck, md->value, md->span);
	int key_size = 0, value_size = 0;
	for (size_t i = 0; md->map_type && i < sizeof(fixed_map_sizes) / sizeof(*fixed_map_sizes); i++) {
		if (strcmp(fixed_map_sizes[i].map_type, md->map_type->name) == 0) {
			key_size = fixed_map_sizes[i].key_size;
			value_size = fixed_map_sizes[i].value_size;
		}
	}
	if (!map_slot_ok(md, md->key, md->key_span, "key", key_size))
		md->key = NULL;
	if (!map_slot_ok(md, md->value, md->value_span, "value", value_size))
		md->value = NULL;
	if ((had_key && !md->key) || (had_value && !md->value))
		table_put(&ck->bad_maps, md->name, md);
	Sym *s = arena_alloc(sizeof(*s));
	s->kind = SYM_MAP;
	s->span = &md->span;
	s->map = md;
	if (declare_value(ck, md->name, s))
		md->c_name = file_c_name(ck, md->name, &md->span, true);
	else
		md->c_name = mangle(md->name);
}

/* What may cross the boundary to hand-written C: the kernel verifies a
 * global BPF function on its own, so its arguments must be scalars or
 * pointers (the context, a record) and it must return a scalar. */
static bool crosses_to_c(const Type *t)
{
	return t && (is_int(t) || t->kind == TY_BOOL ||
		     (t->kind == TY_PTR && !t->nullable && t->pointee && t->pointee->kind == TY_RECORD));
}

/* (extern c:name [...] :ret) - extension 10.6: a global function of
 * another BPF object, called as (c/name ...). The C spelling is the name
 * itself, so it must already be a C identifier, and it shares the file's
 * C names with maps, globals and defns. */
static void check_c_extern(Checker *ck, ExternDecl *e)
{
	bool ok = true;
	if (strcmp(mangle(e->name), e->name) != 0) {
		diag_error(e->span, "`c:%s` is not a C function name this program can call", e->name);
		diag_hint("a c: extern names the C function as it is written in C: letters, digits and `_`, "
			  "not a C keyword or a name libbpf reserves");
		ok = false;
	}
	for (int i = 0; i < e->nparams; i++) {
		if (e->params[i] && !crosses_to_c(e->params[i])) {
			diag_error(e->span, "argument %d of `c:%s` has type %s: a C function takes "
				   "integers, :bool, the context or a record", i + 1, e->name, type_str(e->params[i]));
			ok = false;
		}
	}
	if (e->ret && !is_int(e->ret) && e->ret->kind != TY_BOOL) {
		diag_error(e->span, "`c:%s` must return an integer or :bool, not %s", e->name, type_str(e->ret));
		diag_hint("the kernel verifies a global BPF function on its own and requires it to return a scalar");
		ok = false;
	}
	if (!ok)
		return;
	file_c_name(ck, e->name, &e->span, false);
	e->is_c = true;
}

static void check_extern(Checker *ck, ExternDecl *e)
{
	for (int i = 0; i < e->nparams; i++) {
		Type *t = resolve_type(ck, e->params[i], e->span);
		/* a record argument is passed by pointer, as in a defn */
		if (t && t->kind == TY_RECORD)
			t = type_ptr(t, false);
		if (t && (t->kind == TY_UNIT)) {
			diag_error(e->span, "helper arguments cannot have type :unit");
			t = NULL;
		}
		e->params[i] = t;
	}
	e->ret = resolve_type(ck, e->ret, e->span);
	bool core = e->ns && strcmp(e->ns, "bpf") == 0;
	/* bpf externs are found by the bare helper name (vaisto_bpf binds
	 * both spellings), others by "ns/name" */
	const char *key = core ? e->name : arena_printf("%s/%s", e->ns ? e->ns : "", e->name);
	ExternDecl *old = table_get(&ck->externs, key);
	if (old && old->helper) {
		diag_error(e->span, "helper `bpf:%s` is declared twice", e->name);
		diag_note(old->span, "first declaration of `bpf:%s`", e->name);
		return;
	}
	/* A rejected extern still enters the table, without a helper, so that
	 * its calls stay silent instead of repeating "unknown helper". */
	if (!old)
		table_put(&ck->externs, key, e);
	if (e->ns && strcmp(e->ns, "c") == 0) {
		check_c_extern(ck, e);
		return;
	}
	if (!core) {
		diag_error(e->span, "extern namespace `%s` is not supported", e->ns ? e->ns : "");
		diag_hint("kernel helpers are declared as `bpf:name`, functions of hand-written BPF C as `c:name`");
		return;
	}
	if (strcmp(e->name, "map_lookup_and_delete_elem") == 0) {
		diag_error(e->span, "`bpf:map_lookup_and_delete_elem` is not a BPF program helper");
		diag_hint("vaisto_bpf compiles it to helper 110 (tcp_gen_syncookie); use map_lookup_elem, then map_delete_elem");
		return;
	}
	const HelperInfo *h = helper_by_name(e->name);
	if (!h) {
		diag_error(e->span, "unknown helper `bpf:%s`: libbpf has no helper `bpf_%s`", e->name, e->name);
		return;
	}
	if (h->nparams >= 0 && h->nparams != e->nparams) {
		diag_error(e->span, "helper `bpf:%s` takes %d argument%s, declared with %d",
			   e->name, h->nparams, h->nparams == 1 ? "" : "s", e->nparams);
		diag_hint("libbpf declares it as: %s", h->c_decl);
		return;
	}
	e->helper = h;
	table_put(&ck->externs, key, e);
}

static Record *param_record(const Param *p);

static void declare_fn(Checker *ck, FnDecl *fn)
{
	for (int i = 0; i < fn->nparams; i++) {
		Param *p = fn->params[i];
		Type *t = resolve_type(ck, p->type, p->span);
		if (t && t->kind == TY_RECORD)
			t = type_ptr(t, false);
		if (t && (t->kind == TY_UNIT)) {
			diag_error(p->span, "parameter `%s` cannot have type :unit", p->name);
			t = NULL;
		}
		p->type = t;
	}
	/* more than 5 parameters: the parser's error */
	fn->ret = resolve_type(ck, fn->ret, fn->span);
	if (fn->ret && fn->ret->kind == TY_RECORD) {
		diag_error(fn->span, "function `%s` cannot return a record (%s)", fn->name, type_str(fn->ret));
		fn->ret = NULL;
	}

	FnInfo *fi = arena_alloc(sizeof(*fi));
	fi->fn = fn;
	fi->prog = fn->prog != NULL;
	for (int i = 0; i < fn->nparams; i++) {
		Record *r = param_record(fn->params[i]);
		fi->context_param |= r && r->is_context;
		if (i == 0)
			fi->first_record = r;
	}
	Sym *s = arena_alloc(sizeof(*s));
	s->kind = SYM_FN;
	s->span = fn->name_span.file ? &fn->name_span : &fn->span;
	s->fn = fi;
	if (declare_value(ck, fn->name, s)) {
		fn->c_name = file_c_name(ck, fn->name, s->span, true);
		vec_push(&ck->fns, fi);
		if (fi->prog)
			vec_push(&ck->progs, fi);
		if (fi->context_param)
			vec_push(&ck->context_fns, fi);
	} else {
		fn->c_name = mangle(fn->name);
	}
}

/* ---- maps given to :u64 parameters (noted) ------------------------------ */

static ParamMaps *param_maps(FnInfo *fi, int i)
{
	if (!fi->param_maps)
		fi->param_maps = arena_alloc(sizeof(*fi->param_maps) * (size_t)fi->fn->nparams);
	return &fi->param_maps[i];
}

/* v's position among the parameters of the function being checked. */
static int param_index(const Checker *ck, const Var *v)
{
	const FnDecl *fn = ck->fn->fn;
	for (int i = 0; i < fn->nparams; i++)
		if (fn->params[i]->var == v)
			return i;
	return -1;
}

/* The notes of parameter v of the function being checked; NULL when v is
 * none of its parameters. */
static ParamMaps *var_param_maps(Checker *ck, const Var *v)
{
	int i = param_index(ck, v);
	return i < 0 ? NULL : param_maps(ck->fn, i);
}

/* The first place of a kind a parameter is seen at. */
static void note_first(Span *first, Span at)
{
	if (!first->file)
		*first = at;
}

/* A use of :u64 parameter v where a map could not go. */
static void note_param_use(Checker *ck, const Var *v, Span at)
{
	ParamMaps *pm = var_param_maps(ck, v);
	if (pm)
		note_first(&pm->used_as_value, at);
}

/* A use of :u64 parameter v where only a map may go. */
static void note_param_needs_map(Checker *ck, const Var *v, Span at)
{
	ParamMaps *pm = var_param_maps(ck, v);
	if (pm)
		note_first(&pm->needs_map, at);
}

/* The parameter pm receives map md through argument at. Returns whether
 * that is news. */
static bool receive_map(ParamMaps *pm, const MapDecl *md, Span at)
{
	if (!pm->map) {
		pm->map = md;
		pm->given_map = at;
		return true;
	}
	if (pm->maps_differ || md == pm->map ||
	    (type_equal(md->key, pm->map->key) && type_equal(md->value, pm->map->value)))
		return false;
	pm->maps_differ = true;
	return true;
}

/* Argument i of a call of defn callee, at a place where a map may go. */
static void note_defn_argument(Checker *ck, FnInfo *callee, int i, const Node *arg)
{
	if (arg->kind == N_NAME && arg->ref == REF_MAP && arg->ref_map) {
		receive_map(param_maps(callee, i), arg->ref_map, arg->span);
		return;
	}
	if (arg->kind == N_NAME && arg->ref == REF_VAR && arg->ref_var && arg->ref_var->is_param &&
	    is_u64(arg->ref_var->type)) {
		int from = param_index(ck, arg->ref_var);
		if (from < 0)
			return;
		ParamEdge *e = arena_alloc(sizeof(*e));
		*e = (ParamEdge){ .from = ck->fn, .from_i = from, .to = callee, .to_i = i, .at = arg->span };
		vec_push(&ck->param_edges, e);
		return;
	}
	note_first(&param_maps(callee, i)->given_other, arg->span);
}

/* ---- scopes and variables ----------------------------------------------- */

static Var *new_var(Checker *ck, const char *name, Type *type, Span span, bool is_param)
{
	Var *v = arena_alloc_transient(sizeof(*v));
	v->name = name;
	v->type = type;
	v->span = span;
	v->is_param = is_param;
	uint32_t hash;
	v->c_name = local_c_name(ck, name, &hash);
	local_names_add(&ck->local_cnames, v->c_name, hash);
	vec_push(&ck->fn->fn->locals, v);
	if (ck->nscope == ck->scope_cap) {
		int cap = ck->scope_cap ? ck->scope_cap * 2 : 32;
		ScopeEntry *bigger = arena_alloc(sizeof(*bigger) * cap);
		if (ck->nscope)
			memcpy(bigger, ck->scope, sizeof(*bigger) * ck->nscope);
		ck->scope = bigger;
		ck->scope_cap = cap;
	}
	ck->scope[ck->nscope].name = name;
	ck->scope[ck->nscope].var = v;
	ck->nscope++;
	return v;
}

static Var *lookup_local(Checker *ck, const char *name)
{
	/* Names are interned by the reader: pointer equality is the fast path,
	 * and a different first byte rules out most others without a call
	 * (this runs for every name in every body, over every enclosing
	 * binding). */
	for (int i = ck->nscope - 1; i >= 0; i--) {
		const char *s = ck->scope[i].name;
		if (s == name || (s[0] == name[0] && strcmp(s, name) == 0))
			return ck->scope[i].var;
	}
	return NULL;
}

/* ---- expressions ---------------------------------------------------------- */

/* Does n take its type only from its context (an integer literal, a kernel
 * constant, or arithmetic made only of those)? */
static bool needs_context(Checker *ck, const Node *n)
{
	switch (n->kind) {
	case N_INT:
		return true;
	case N_NAME:
		return !lookup_local(ck, n->name) && !table_get(&ck->values, n->name) &&
		       kernel_const_by_name(n->name);
	case N_NEG:
		return needs_context(ck, n->lhs);
	case N_BINOP:
		return !binop_is_comparison(n->op) && needs_context(ck, n->lhs) &&
		       needs_context(ck, n->rhs);
	default:
		return false;
	}
}

static Type *literal_type(Node *n, Type *expected, uint64_t value, bool negative, const char *what)
{
	if (!is_int(expected)) {
		if (what)
			diag_error(n->span, "kernel constant `%s` requires type context", what);
		else
			diag_error(n->span, "integer literal requires type context");
		diag_hint("BPF requires explicit types: use the literal where a typed value is expected (an operand, an argument, a return value)");
		return NULL;
	}
	if (!int_fits(expected, value, negative) && what)
		diag_error(n->span, "kernel constant `%s` (%s) does not fit in %s", what, int_text(value, negative),
			   type_str(expected));
	else if (!int_fits(expected, value, negative))
		diag_error(n->span, "integer literal %s does not fit in %s", int_text(value, negative),
			   type_str(expected));
	return expected;
}

static Type *check_name(Checker *ck, Node *n, Type *expected)
{
	Var *v = lookup_local(ck, n->name);
	if (v) {
		n->ref = REF_VAR;
		n->ref_var = v;
		v->uses++;
		/* a call may give a :u64 parameter an address, or a map */
		if (v->is_param && is_u64(v->type)) {
			ck->may_hold_address = true;
			if (!ck->map_ok || !ck->map_argument)
				note_param_use(ck, v, n->span);
		}
		return v->type;
	}
	Sym *s = table_get(&ck->values, n->name);
	if (s && s->kind == SYM_GLOBAL) {
		n->ref = REF_GLOBAL;
		n->ref_global = s->global;
		return s->global->type;
	}
	if (s && s->kind == SYM_MAP) {
		n->ref = REF_MAP;
		n->ref_map = s->map;
		if (!ck->map_ok) {
			diag_error(n->span, "map `%s` can only be used as a helper argument or a :u64 function argument",
				   n->name);
			return NULL;
		}
		return type_map(s->map);
	}
	if (s && s->kind == SYM_FN) {
		diag_error(n->span, "`%s` is a function, not a value", n->name);
		diag_hint("call it: `(%s ...)`", n->name);
		return NULL;
	}
	const KernelConst *kc = kernel_const_by_name(n->name);
	if (kc) {
		n->ref = REF_KCONST;
		n->ref_kconst = kc;
		return literal_type(n, expected, kc->value, kc->negative, kc->name);
	}
	diag_error(n->span, "unbound variable `%s`", n->name);
	return NULL;
}

/* Checks n, whose type would come from a peer expression (the other
 * operand, the then branch, an earlier clause) when expected is NULL. If
 * that peer already failed, a bare literal here has nothing to take its
 * type from: stay silent rather than add a second message. */
static Type *check_after_peer(Checker *ck, Node *n, Type *expected, bool peer_failed)
{
	if (!expected && peer_failed && needs_context(ck, n)) {
		n->type = NULL;
		return NULL;
	}
	return check_expr(ck, n, expected);
}

static bool is_shift(BinOp op)
{
	return op == OP_SHL || op == OP_SHR;
}

/* Is `a` acceptable where `want` is declared? Besides equal types: a :u64
 * argument takes maps, pointers and context pointers (that is how vaisto
 * programs pass them), and a pointer argument takes a :u64 address. */
static bool arg_compatible(const Type *want, const Type *a)
{
	if (same_type(want, a))
		return true;
	if (is_u64(want) && (a->kind == TY_PTR || a->kind == TY_MAP))
		return true;
	if (want->kind == TY_PTR && is_u64(a))
		return true;
	return false;
}

/* A shift amount that is no literal but a constant - (- 1), (+
 * BPF_F_MARK_ENFORCE 6): negative or past the width, it is an error as a
 * literal one is (LANGUAGE.md 4). C's shift is undefined there, and the
 * verifier refuses the native backend's. */
static void check_constant_shift_amount(const Node *amount, int width)
{
	uint64_t v;
	if (amount->kind == N_NEG && int_constant(amount->lhs, &v, NULL)) {
		/* -v, unless v itself is negative or 0 */
		if (v != 0 && !(amount->lhs->type->is_signed && (int64_t)v < 0))
			diag_error(amount->span, "shift amount -%s is negative", int_text(v, false));
		return;
	}
	if (!int_constant(amount, &v, NULL))
		return;
	if (amount->type->is_signed && (int64_t)v < 0)
		diag_error(amount->span, "shift amount %s is negative", int_text(0 - v, true));
	else if (v >= (uint64_t)width)
		diag_error(amount->span, "shift amount %s exceeds type width of %d bits", int_text(v, false), width);
}

static Type *check_binop(Checker *ck, Node *n, Type *expected)
{
	const char *op = binop_source_name(n->op);
	bool cmp = binop_is_comparison(n->op);
	Type *hint = (!cmp && is_int(expected)) ? expected : NULL;
	Type *lt, *rt;

	/* A literal operand takes the other operand's type. */
	if (needs_context(ck, n->lhs) && !needs_context(ck, n->rhs)) {
		rt = check_expr(ck, n->rhs, hint);
		lt = check_after_peer(ck, n->lhs, is_int(rt) ? rt : hint, !rt);
	} else {
		lt = check_expr(ck, n->lhs, hint);
		bool literal_shift = is_shift(n->op) && n->rhs->kind == N_INT && is_int(lt);
		if (literal_shift) {
			/* The amount is checked against the width, before its own
			 * range, so `(bsl x -1)` on :u32 gets one message. */
			uint64_t amount = n->rhs->value;
			int width = lt->size * 8;
			n->rhs->type = lt;
			if (n->rhs->negative && amount != 0) {
				diag_error(n->rhs->span, "shift amount %s is negative", int_text(amount, true));
				return lt;
			}
			if (amount >= (uint64_t)width) {
				diag_error(n->rhs->span, "shift amount %s exceeds type width of %d bits",
					   int_text(amount, false), width);
				return lt;
			}
			rt = lt;
		} else {
			rt = check_after_peer(ck, n->rhs, lt && (is_int(lt) || lt->kind == TY_BOOL) ? lt : hint,
					      !lt);
		}
	}
	if (!lt || !rt)
		return cmp ? ty_bool : NULL;

	/* Booleans compare (vaisto_bpf accepts every comparison of two equal
	 * types, and C orders false before true); they never compute. */
	bool bool_cmp = cmp && lt->kind == TY_BOOL && rt->kind == TY_BOOL;
	if (!bool_cmp) {
		if (!is_int(lt) || !is_int(rt)) {
			Node *bad = is_int(lt) ? n->rhs : n->lhs;
			diag_error(bad->span, "%s requires integer operands, got %s", op,
				   type_str(is_int(lt) ? rt : lt));
			hint_helper_returns_nothing(bad);
			return cmp ? ty_bool : NULL;
		}
		if (!same_type(lt, rt)) {
			diag_error(n->span, "%s requires both operands to be the same type", op);
			diag_hint("got %s and %s: BPF has no implicit widening; convert one with a cast such as `(%s x)`",
				  type_str(lt), type_str(rt), lt->size >= rt->size ? lt->name : rt->name);
			return cmp ? ty_bool : NULL;
		}
	}
	if ((n->op == OP_DIV || n->op == OP_REM) && n->rhs->kind == N_INT && n->rhs->value == 0)
		diag_error(n->rhs->span, "division by zero: divisor is literal 0");
	if (is_shift(n->op) && n->rhs->kind != N_INT)
		check_constant_shift_amount(n->rhs, lt->size * 8);
	return cmp ? ty_bool : lt;
}

/* The frame bytes stored on every way to where a bpf/stack_load_* is
 * checked, in the order C evaluates (a store's value before the store):
 * a load of a byte not stored so makes the body start its frame at 0
 * (FnDecl.stack_read_unwritten), where C would read an uninitialised
 * array element and clang left r0 unset ("R0 !read_ok", for (stack_store
 * -8 (stack_load -8)) too). What a branch stores is not stored after it,
 * nor what a loop's body does: stack_branch() before, stack_joined()
 * after each way. Only a body that stores copies the set. */
typedef struct StackMark {
	bool dirty;
	uint8_t written[512 / 8];
} StackMark;

static void stack_branch(const Checker *ck, StackMark *m)
{
	m->dirty = ck->stack_dirty;
	if (m->dirty)
		memcpy(m->written, ck->stack_written, sizeof(m->written));
}

static void stack_joined(Checker *ck, const StackMark *m)
{
	if (m->dirty)
		memcpy(ck->stack_written, m->written, sizeof(m->written));
	else if (ck->stack_dirty)
		memset(ck->stack_written, 0, sizeof(ck->stack_written));
	ck->stack_dirty = m->dirty;
}

static void note_stack_load(Checker *ck, const Node *load, int first)
{
	for (int b = first; b < first + load->builtin_type->size && ck->fn; b++)
		if (!(ck->stack_written[b / 8] & (1u << (b % 8))))
			ck->fn->fn->stack_read_unwritten = true;
}

static void note_stack_store(Checker *ck, int first, int size)
{
	for (int b = first; b < first + size; b++)
		ck->stack_written[b / 8] |= (uint8_t)(1u << (b % 8));
	ck->stack_dirty = true;
}

static Type *check_bool_operand(Checker *ck, Node *e, const char *what)
{
	Type *t = check_expr(ck, e, ty_bool);
	if (t && t->kind != TY_BOOL) {
		diag_error(e->span, "%s, got %s", what, type_str(t));
		return NULL;
	}
	return t;
}

static Type *check_if(Checker *ck, Node *n, Type *expected)
{
	check_bool_operand(ck, n->cond, "if condition must be boolean");
	StackMark before;
	stack_branch(ck, &before);
	Type *tt = check_expr(ck, n->then, expected);
	stack_joined(ck, &before);
	Type *want = expected ? expected : (is_int(tt) ? tt : NULL);
	Type *et = check_after_peer(ck, n->els, want, !tt);
	stack_joined(ck, &before);
	if (!tt || !et)
		return tt ? tt : et;
	if (!same_type(tt, et)) {
		diag_error(n->span, "if branches have different types");
		diag_hint("then branch is %s, else branch is %s", type_str(tt), type_str(et));
		return NULL;
	}
	return tt;
}

static Type *check_let(Checker *ck, Node *n, Type *expected)
{
	int saved = ck->nscope;
	for (int i = 0; i < n->bindings.len; i++) {
		Binding *b = n->bindings.items[i];
		ck->record_value_ok = true;
		Type *t = check_expr(ck, b->init, NULL);
		if (t && t->kind == TY_UNIT) {
			diag_error(b->init->span, "`%s` is bound to a value of type :unit", b->name);
			hint_helper_returns_nothing(b->init);
			t = NULL;
		}
		b->var = new_var(ck, b->name, t, b->name_span, false);
	}
	Type *t = check_expr(ck, n->body, expected);
	ck->nscope = saved;
	return t;
}

static Type *check_do(Checker *ck, Node *n, Type *expected)
{
	if (!n->args.len)
		return ty_unit;
	for (int i = 0; i + 1 < n->args.len; i++)
		check_expr(ck, n->args.items[i], NULL);
	return check_expr(ck, n->args.items[n->args.len - 1], expected);
}

static const char *pattern_text(const Pattern *p)
{
	switch (p->kind) {
	case PAT_SOME: return "(Some ...)";
	case PAT_NONE: return "(None)";
	case PAT_INT: return "an integer pattern";
	case PAT_BOOL: return "a boolean pattern";
	case PAT_WILD: return "`_`";
	case PAT_BIND: return "a name pattern";
	}
	return "pattern";
}

/* Checks one pattern against the scrutinee type st (never NULL here) and
 * binds its variable. */
/* Checks one pattern against the scrutinee type st and binds its
 * variable. st is NULL after an error (in the scrutinee or an earlier
 * pattern): then nothing is reported, but names are still bound (with the
 * poison type) so the clause body does not report them as unbound.
 * Returns false after reporting an error. */
static bool check_pattern(Checker *ck, Pattern *p, Type *st)
{
	const char *error = NULL;
	Type *bind = st;
	const KernelConst *kc = p->kind == PAT_BIND ? kernel_const_by_name(p->bind_name) : NULL;
	if (kc) {
		/* a kernel constant is its value, typed like a literal
		 * (LANGUAGE.md 10.8), not a name that binds the scrutinee */
		p->kind = PAT_INT;
		p->value = kc->value;
		p->negative = kc->negative;
		p->kconst = kc;
		p->bind_name = NULL;
	}
	switch (p->kind) {
	case PAT_SOME:
		if (st && st->kind != TY_PTR)
			error = arena_printf("(Some v) matches a nullable pointer, not %s", type_str(st));
		bind = st && st->kind == TY_PTR ? type_ptr(st->pointee, false) : NULL;
		break;
	case PAT_NONE:
		if (st && st->kind != TY_PTR)
			error = arena_printf("(None) matches a nullable pointer, not %s", type_str(st));
		break;
	case PAT_INT:
		if (st && !is_int(st))
			error = kc ? arena_printf("kernel constant %s (= %s) cannot match a value of type %s",
						  kc->name, int_text(kc->value, kc->negative), type_str(st))
				   : arena_printf("integer pattern cannot match a value of type %s", type_str(st));
		else if (st && !int_fits(st, p->value, p->negative))
			error = arena_printf("pattern %s does not fit in %s",
					     kc ? arena_printf("%s (= %s)", kc->name, int_text(kc->value, kc->negative))
						: int_text(p->value, p->negative),
					     type_str(st));
		break;
	case PAT_BOOL:
		if (st && st->kind != TY_BOOL)
			error = arena_printf("boolean pattern cannot match a value of type %s", type_str(st));
		break;
	case PAT_WILD:
	case PAT_BIND:
		if (st && st->kind == TY_PTR)
			error = arena_printf("%s cannot match a nullable pointer: use (Some v) and (None)",
					     pattern_text(p));
		break;
	}
	if (error) {
		diag_error(p->span, "%s", error);
		bind = NULL;
	}
	if (p->bind_name)
		p->var = new_var(ck, p->bind_name, bind, p->span, false);
	return !error;
}

static Type *check_match(Checker *ck, Node *n, Type *expected)
{
	Type *st = check_expr(ck, n->lhs, NULL);
	if (st && (st->kind == TY_UNIT || st->kind == TY_RECORD || st->kind == TY_MAP)) {
		diag_error(n->lhs->span, "cannot match on a value of type %s", type_str(st));
		st = NULL;
	}
	bool has_some = false, has_none = false, has_catch_all = false;
	bool has_true = false, has_false = false, pattern_error = !st;
	Type *result = NULL;
	bool agree = true;
	for (int i = 0; i < n->clauses.len; i++) {
		MatchClause *c = n->clauses.items[i];
		int saved = ck->nscope;
		if (!check_pattern(ck, c->pattern, pattern_error ? NULL : st))
			pattern_error = true;
		switch (c->pattern->kind) {
		case PAT_SOME: has_some = true; break;
		case PAT_NONE: has_none = true; break;
		case PAT_WILD:
		case PAT_BIND: has_catch_all = true; break;
		case PAT_BOOL:
			if (c->pattern->value)
				has_true = true;
			else
				has_false = true;
			break;
		case PAT_INT: break;
		}
		Type *want = expected ? expected : result;
		StackMark before;
		stack_branch(ck, &before);
		Type *t = check_after_peer(ck, c->body, want, i > 0 && !result);
		stack_joined(ck, &before);
		ck->nscope = saved;
		if (!t) {
			agree = false;
			continue;
		}
		if (!result) {
			result = t;
		} else if (agree && !same_type(result, t)) {
			diag_error(last_expr(c->body)->span, "match clauses have different types");
			diag_hint("earlier clauses are %s, this one is %s", type_str(result), type_str(t));
			agree = false;
		}
	}
	if (pattern_error)
		; /* exhaustiveness means little next to a wrong pattern */
	else if (st->kind == TY_PTR && !(has_some && has_none))
		diag_error(n->span, "non-exhaustive match on nullable pointer: must handle both (Some v) and (None)");
	else if (is_int(st) && !has_catch_all)
		diag_error(n->span, "non-exhaustive match on %s: add a catch-all clause `[_ ...]`", type_str(st));
	else if (st->kind == TY_BOOL && !has_catch_all && !(has_true && has_false))
		diag_error(n->span, "non-exhaustive match on :bool: handle both true and false");
	return agree ? result : NULL;
}

/* ---- kernel types (LANGUAGE.md 11; ktypes.c reads the BTF) ---------------- */

/* (. t :f) on a kernel struct: a CO-RE read of the member. */
static Type *check_kernel_member(Checker *ck, Node *n, Record *r, bool record_ok)
{
	Field *f = ktypes_member(ck->m, r, n->name, n->name_span.file ? n->name_span : n->span);
	if (!f)
		return NULL;
	n->field = f;
	if (n->rhs) {
		diag_error(n->rhs->span, "kernel struct members are not indexed: a char array is read with k/read-str");
		return NULL;
	}
	if (f->type->kind == TY_RECORD && !record_ok) {
		diag_error(n->span, "member `%s` is an embedded struct (%s): it can only be the target of another `.`",
			   f->name, f->c_decl);
		return NULL;
	}
	if (f->array_len && !ck->kernel_str_ok) {
		diag_error(n->span, "member `%s` of kernel struct `%s` is %s: read it into a record with k/read-str",
			   f->name, r->name + 2, f->c_decl);
		diag_hint("`(k/read-str (. e :%s) task :%s)` copies the string into e's array field", f->name, f->name);
		return NULL;
	}
	return f->type;
}

/* (k/exists? t :f ...) -> :bool; (k/read-str dst t :f ...) -> :i64, the
 * length read or a negative errno; (k/arg ctx N :k/NAME) -> :k/NAME. */
static Type *check_kernel_call(Checker *ck, Node *n)
{
	n->callee_kind = CALLEE_KERNEL;
	module_refuse_native(ck->m, n->span, "kernel types (CO-RE relocations)");
	Node *chain = n->args.items[n->args.len - 1];
	if (strcmp(n->name, "k/arg") == 0) {
		Type *t = resolve_type(ck, n->builtin_type, n->span);
		n->builtin_type = t;
		Node *ctx = n->args.items[0], *index = n->args.items[1];
		Type *ct = check_expr(ck, ctx, NULL);
		check_expr(ck, index, ty_u32);
		const ProgKindInfo *kind = ck->m->program ? ck->m->program->kind : NULL;
		bool is_ctx = ctx->kind == N_NAME && ctx->ref == REF_VAR && ctx->ref_var->is_param &&
			      ck->fn->fn->nparams > 0 && ck->fn->fn->params[0]->var == ctx->ref_var && is_u64(ct);
		if (ct && (!kind || kind->kind != PK_RAW_TRACEPOINT || !is_ctx))
			diag_error(ctx->span, "k/arg reads an argument of a :raw_tracepoint program: its first operand "
				   "is the entry's :u64 context parameter");
		else if (ct)
			vec_push(&ck->kernel_args, n);
		n->callee_fn = ck->fn->fn;  /* must be the entry: check_kernel_entry */
		if (index->kind != N_INT || index->value > 11)
			diag_error(index->span, "the argument number of k/arg must be a literal 0 ... 11");
		if (t && !type_is_kernel(t)) {
			diag_error(n->span, "k/arg gives a kernel struct pointer (:k/NAME), not %s", type_str(t));
			return NULL;
		}
		return t;
	}
	bool read_str = strcmp(n->name, "k/read-str") == 0;
	if (chain->kind != N_FIELD) {
		diag_error(chain->span, "%s needs a member of a kernel struct", n->name);
		return NULL;
	}
	ck->kernel_str_ok = true;  /* any member exists or not; read-str checks below */
	ck->record_ok = true;
	Type *mt = check_expr(ck, chain, NULL);
	ck->kernel_str_ok = false;
	ck->record_ok = false;
	if (chain->field && !chain->field->c_decl) {
		diag_error(chain->span, "%s needs a member of a kernel struct (:k/NAME), not of record `%s`", n->name,
			   type_str(chain->lhs->type));
		return NULL;
	}
	if (!read_str)
		return ty_bool;
	if (mt && chain->field && !chain->field->array_len) {
		diag_error(chain->span, "k/read-str reads a char array member; `%s` is %s", chain->field->name,
			   chain->field->c_decl);
		return NULL;
	}
	Node *dst = n->args.items[0];
	Type *dt = check_expr(ck, dst, ty_u64);
	bool array_field = dst->kind == N_FIELD && dst->field && dst->field->array_len && !dst->field->c_decl;
	if (dt && !array_field) {
		diag_error(dst->span, "k/read-str writes into a record's array field, e.g. `(. e :comm)`, not %s",
			   type_str(dt));
		return NULL;
	}
	return ty_i64;
}

/* tp_btf, fentry, fexit: the entry's parameters are a prefix of the
 * kernel's prototype; k/arg is read in a raw_tracepoint's entry only. */
static void check_kernel_entry(Checker *ck, FnDecl *entry)
{
	const ProgramDecl *prog = ck->m->program;
	for (int i = 0; i < ck->kernel_args.len; i++) {
		Node *n = ck->kernel_args.items[i];
		if (n->callee_fn != entry)
			diag_error(n->span, "k/arg reads the context of the entry function `%s`, not of `%s`",
				   entry ? entry->name : "?", n->callee_fn->name);
	}
	if (!entry || !prog->kind->btf_args || !prog->attach)
		return;
	module_refuse_native(ck->m, prog->span, "programs with BTF-typed arguments (:tp_btf, :fentry, :fexit)");
	bool tp_btf = prog->kind->kind == PK_TP_BTF;
	Field **params;
	int n = ktypes_prototype(ck->m, prog->attach, tp_btf, prog->kind->kind == PK_FEXIT, entry->nparams, &params,
				 prog->span);
	if (n < 0)
		return;
	const char *what = tp_btf ? "tracepoint" : "kernel function";
	if (entry->nparams > n) {
		bool fexit = prog->kind->kind == PK_FEXIT;
		int nargs = fexit ? n - 1 : n;
		diag_error(entry->params[n]->span, "%s `%s` has %d parameter%s%s; `%s` declares %d", what,
			   prog->attach, nargs, nargs == 1 ? "" : "s", fexit ? " and a return value" : "", entry->name,
			   entry->nparams);
		return;
	}
	for (int i = 0; i < entry->nparams; i++) {
		Param *p = entry->params[i];
		Field *k = params[i];
		if (!k->type) {
			diag_error(p->span, "parameter %d of %s `%s` is %s: the entry cannot take it", i + 1, what,
				   prog->attach, k->c_decl);
			return;
		}
		if (p->type && !type_equal(p->type, k->type)) {
			const char *which = strcmp(k->name, KTYPES_RETURN_VALUE) == 0
						    ? "the return value"
						    : arena_printf("parameter %d", i + 1);
			diag_error(p->span, "parameter `%s` of `%s` must be %s: %s of %s `%s` is `%s`", p->name,
				   entry->name, type_str(k->type), which, what, prog->attach, k->c_member);
			diag_hint("the entry takes a prefix of the kernel's prototype, with its types");
		}
	}
}

static Type *check_field(Checker *ck, Node *n)
{
	bool record_ok = ck->record_ok;
	ck->record_ok = true;
	ck->record_value_ok = true;
	Type *t = check_expr(ck, n->lhs, NULL);
	ck->record_ok = false;
	if (!t)
		return NULL;
	Record *r = NULL;
	if (t->kind == TY_PTR && t->pointee && t->pointee->kind == TY_RECORD) {
		if (t->nullable) {
			diag_error(n->lhs->span, "field access through a nullable pointer");
			diag_hint("match it first: `(match p [(Some v) (. v :%s)] [(None) ...])`", n->name);
			return NULL;
		}
		r = t->pointee->record;
	} else if (t->kind == TY_RECORD) {
		r = t->record;  /* a nested record field, itself a `.` target */
	} else {
		diag_error(n->lhs->span, "field access requires a record or pointer-to-record type, got %s",
			   type_str(t));
		return NULL;
	}
	if (r->kernel_btf_id)
		return check_kernel_member(ck, n, r, record_ok);
	for (int i = 0; i < r->nfields; i++) {
		Field *f = r->fields[i];
		if (f->name[0] == n->name[0] && strcmp(f->name, n->name) == 0) {
			n->field = f;
			if (f->array_len && n->rhs) {
				/* (. p :comm 3): one element, the index checked here */
				n->rhs->type = ty_u32;
				if (n->rhs->negative || n->rhs->value >= (uint64_t)f->array_len) {
					diag_error(n->rhs->span, "index %s is outside `%s`, which has %d elements",
						   int_text(n->rhs->value, n->rhs->negative), f->name, f->array_len);
					return NULL;
				}
				return f->type;
			}
			if (n->rhs) {
				diag_error(n->rhs->span, "field `%s` is not an array: it has no elements to index", f->name);
				return NULL;
			}
			if (f->array_len) {
				/* LANGUAGE.md 10.9: an array field is its address */
				module_refuse_native(ck->m, n->span, "array fields (LANGUAGE.md 10.9)");
				return type_ptr(f->type, false);
			}
			if (f->type && f->type->kind == TY_RECORD && !record_ok) {
				diag_error(n->span, "field `%s` is a record (%s): it can only be the target of another `.`",
					   f->name, type_str(f->type));
				return NULL;
			}
			return f->type;
		}
	}
	diag_error(n->name_span.file ? n->name_span : n->span, "record `%s` has no field `%s`", r->name, n->name);
	return NULL;
}

static Type *check_set(Checker *ck, Node *n)
{
	Type *want = NULL;
	const char *what = NULL;
	if (n->lhs) {
		/* extension 10.4: (set! (. p :field) v) */
		want = check_expr(ck, n->lhs, NULL);
		Field *f = n->lhs->field;
		if (want && f && n->lhs->lhs->type && n->lhs->lhs->type->kind == TY_PTR) {
			Record *r = n->lhs->lhs->type->pointee->record;
			if (r->is_context && r->read_only && !f->writable) {
				diag_error(n->lhs->span, "field `%s` of context record `%s` is read-only",
					   f->name, r->name);
				want = NULL;
			}
		}
		what = n->lhs->name;
		if (want && f && f->array_len && !n->lhs->rhs) {
			diag_error(n->lhs->span, "field `%s` is an array: write into it with a helper", f->name);
			want = NULL;
		} else if (want && f && f->c_decl) {
			diag_error(n->lhs->span, "kernel struct members are read-only");
			want = NULL;
		}
	} else {
		Span at = n->name_span.file ? n->name_span : n->span;
		Sym *s = lookup_local(ck, n->name) ? NULL : table_get(&ck->values, n->name);
		if (s && s->kind == SYM_GLOBAL && s->global->is_const) {
			diag_error(at, "cannot assign to defconst '%s'", n->name);
			diag_note(s->global->span, "`%s` is declared here", n->name);
		} else if (s && s->kind == SYM_GLOBAL) {
			n->ref = REF_GLOBAL;
			n->ref_global = s->global;
			return_range_note_set(s->global);
			want = s->global->type;
			if (!want)
				return ty_unit;
		} else if (!s && !lookup_local(ck, n->name) && !kernel_const_by_name(n->name)) {
			diag_error(at, "unbound variable `%s`", n->name);
		} else {
			diag_error(at, "set! can only be used on defglobal variables");
			diag_hint("`%s` is not a defglobal: parameters and let bindings cannot be changed", n->name);
		}
		what = n->name;
	}
	/* After an error about the target, a bare literal value has no
	 * type to take: leave it alone rather than add a second message. */
	if (!want && needs_context(ck, n->rhs))
		return ty_unit;
	Type *t = check_expr(ck, n->rhs, want);
	if (want && t && !same_type(want, t)) {
		diag_error(n->rhs->span, "set! type mismatch: `%s` is %s, got %s", what, type_str(want), type_str(t));
		if (t->kind == TY_UNIT)
			hint_helper_returns_nothing(n->rhs);
		else
			diag_hint("set! takes the exact type; convert with a cast such as `(%s x)`", want->name);
	}
	return ty_unit;
}

static Type *check_for(Checker *ck, Node *n)
{
	Type *st, *et;
	if (needs_context(ck, n->lhs) && !needs_context(ck, n->rhs)) {
		et = check_expr(ck, n->rhs, NULL);
		st = check_after_peer(ck, n->lhs, is_int(et) ? et : NULL, !et);
	} else {
		/* vaisto's rule: two literal bounds count as :u64 */
		st = check_expr(ck, n->lhs, needs_context(ck, n->lhs) ? ty_u64 : NULL);
		et = check_after_peer(ck, n->rhs, is_int(st) ? st : NULL, !st);
	}
	Type *vt = NULL;
	if (st && !is_int(st))
		diag_error(n->lhs->span, "for-range start must be an integer type, got %s", type_str(st));
	else if (et && !is_int(et))
		diag_error(n->rhs->span, "for-range end must be an integer type, got %s", type_str(et));
	else if (st && et && !same_type(st, et))
		diag_error(n->span, "for-range start and end must be the same type, got %s and %s",
			   type_str(st), type_str(et));
	else
		vt = st;
	int saved = ck->nscope;
	n->var = new_var(ck, n->var_name, vt, n->name_span.file ? n->name_span : n->span, false);
	StackMark before;
	stack_branch(ck, &before);
	check_expr(ck, n->body, NULL);
	stack_joined(ck, &before);
	ck->nscope = saved;
	return ty_unit;
}

static Type *check_cast(Checker *ck, Node *n)
{
	Type *t = check_expr(ck, n->lhs, NULL);
	/* LANGUAGE.md 11.3: (u64 t) is a kernel pointer's address */
	if (t && type_is_kernel(t) && t->kind == TY_PTR && is_u64(n->cast_to))
		return n->cast_to;
	if (t && !is_int(t)) {
		diag_error(n->lhs->span, "type cast requires an integer type, got %s (a cast to %s)", type_str(t),
			   type_str(n->cast_to));
		if (t->kind == TY_UNIT)
			hint_helper_returns_nothing(n->lhs);
		else
			diag_hint("casts convert between integer types only");
	}
	return n->cast_to;
}

/* ---- calls ---------------------------------------------------------------- */

typedef struct BuiltinInfo {
	const char *name;
	Builtin builtin;
	Type **width;
} BuiltinInfo;

static const BuiltinInfo builtins[] = {
	{ "load_u8", BI_LOAD, &ty_u8 }, { "load_u16", BI_LOAD, &ty_u16 },
	{ "load_u32", BI_LOAD, &ty_u32 }, { "load_u64", BI_LOAD, &ty_u64 },
	{ "store_u8", BI_STORE, &ty_u8 }, { "store_u16", BI_STORE, &ty_u16 },
	{ "store_u32", BI_STORE, &ty_u32 }, { "store_u64", BI_STORE, &ty_u64 },
	{ "stack_load_u32", BI_STACK_LOAD, &ty_u32 }, { "stack_load_u64", BI_STACK_LOAD, &ty_u64 },
	{ "stack_store_u32", BI_STACK_STORE, &ty_u32 }, { "stack_store_u64", BI_STACK_STORE, &ty_u64 },
	{ "be16", BI_BE, &ty_u16 }, { "be32", BI_BE, &ty_u32 }, { "be64", BI_BE, &ty_u64 },
	{ "le16", BI_LE, &ty_u16 }, { "le32", BI_LE, &ty_u32 }, { "le64", BI_LE, &ty_u64 },
};

static NameIndex builtin_index = NAME_INDEX(builtins);

static const BuiltinInfo *builtin_by_name(const char *name)
{
	return name_index_get(&builtin_index, name);  /* every bpf/ call */
}

static int builtin_arity(Builtin b)
{
	switch (b) {
	case BI_LOAD: return 2;
	case BI_STORE: return 3;
	case BI_STACK_LOAD: return 1;
	case BI_STACK_STORE: return 2;
	default: return 1;
	}
}

/* A call argument: a map name may be given, and where map_argument, a
 * parameter holding a map (otherwise its use is noted, note_param_use). */
static Type *check_arg_at(Checker *ck, Node *arg, Type *want, bool map_argument)
{
	bool saved = ck->map_ok, saved_argument = ck->map_argument;
	ck->map_ok = true;
	ck->map_argument = map_argument;
	Type *t = check_expr(ck, arg, want);
	ck->map_ok = saved;
	ck->map_argument = saved_argument;
	return t;
}

static Type *check_arg(Checker *ck, Node *arg, Type *want)
{
	return check_arg_at(ck, arg, want, false);
}

/* `off` of load/store: an integer literal. */
static void check_offset_literal(Node *call, Node *off)
{
	if (off->kind != N_INT) {
		diag_error(off->span, "the offset of `%s` must be an integer literal", call->name);
		return;
	}
	off->type = ty_u64;
	if (off->negative)
		diag_error(off->span, "the offset of `%s` must not be negative", call->name);
	/* The offset field of a BPF load or store is a signed 16-bit number,
	 * and the verifier allows no larger packet offset anyway. */
	else if (off->value > INT16_MAX)
		diag_error(off->span, "the offset of `%s` is out of range: use 0 to %d", call->name,
			   INT16_MAX);
}

/* Returns whether the offset is good. */
static bool check_stack_offset(Node *call, Node *off, Type *width)
{
	off->type = ty_i64;
	if (off->kind != N_INT) {
		diag_error(off->span, "the offset of `%s` must be an integer literal", call->name);
		return false;
	}
	int64_t v = (int64_t)off->value;
	if (!off->negative || v < -512 || v > -8)
		diag_error(off->span, "stack offset %s is out of range: use -8 to -512",
			   int_text(off->value, off->negative));
	else if (v % width->size)
		diag_error(off->span, "stack offset %s is not a multiple of %d, the width of %s",
			   int_text(off->value, off->negative), width->size, type_str(width));
	else
		return true;
	return false;
}

/* Does the body read a slot of its frame that it nowhere writes? vaisto_bpf
 * accepts that ((defn load [] :u64 (bpf/stack_load_u64 -8)) is one of its
 * tests), and reads whatever the stack held; C would read an
 * uninitialised array element, undefined (clang left the verifier a
 * register never set, "R0 !read_ok": found by mutating the tests'
 * programs). So such a function's slots start at 0, in both backends. */
/* Load and store addresses: any non-null pointer or a :u64. */
/* The address's type, NULL after an error. */
static Type *check_address(Checker *ck, Node *call, Node *p)
{
	Type *t = check_arg(ck, p, ty_u64);
	if (!t)
		return NULL;
	if (t->kind == TY_PTR && t->nullable) {
		diag_error(p->span, "`%s` through a pointer that may be null", call->name);
		diag_hint("match it first: `(match p [(Some v) ...] [(None) ...])`");
	} else if (t->kind != TY_PTR && !is_u64(t)) {
		diag_error(p->span, "`%s` needs a pointer or a :u64 address, got %s", call->name, type_str(t));
	} else {
		/* (bpf/load_u64 0 32): C refuses the null pointer's arithmetic
		 * (-Wnull-pointer-arithmetic) and the verifier any memory
		 * access through a number */
		uint64_t v;
		if (!int_constant(p, &v, NULL))
			return t;
		diag_error(p->span, "`%s` through the constant address %s: it must be a pointer or an "
				    "address the program was given",
			   call->name, int_text(v, false));
	}
	return NULL;
}

/* (bpf/load_u32 v 256) through a map value v of 4 bytes: the verifier
 * refuses any access past the object a pointer points to ("invalid
 * access to map value, value_size=4 off=256"; found by mutating the
 * tests' programs). The checker knows the size of a map's integer value
 * and of a record the program declares (not of a pointer to bytes, a
 * context or a kernel struct). */
static void check_access_within(const Node *call, const Type *at, const Node *off, const Type *w)
{
	const Type *o = at && at->kind == TY_PTR ? at->pointee : NULL;
	bool known = o && ((o->kind == TY_INT && o->size > 1) ||
			   (o->kind == TY_RECORD && o->record && !o->record->is_context &&
			    !o->record->kernel_btf_id && o->record->span.file));
	if (!known || off->kind != N_INT || off->negative || off->value > INT16_MAX ||
	    off->value + (uint64_t)w->size <= (uint64_t)o->size)
		return;
	diag_error(off->span, "`%s` at offset %s reaches past the %s it points to (%d bytes)", call->name,
		   int_text(off->value, false), type_str(o), o->size);
}

/* A load or store of the context at a literal offset the verifier surely
 * refuses ("invalid bpf_context access off=1 size=8", both backends): one
 * not aligned to its width (every context's is_valid_access), one that
 * reaches past the member it begins in (no context lets a read be wider
 * than its member; __sk_buff's cb[] may be read across, its pointer
 * members have their own widths), and one of xdp_md narrower than its
 * 4-byte members (__is_valid_xdp_access). An offset in no member the
 * checker lists is the verifier's to judge. */
/* A context read as :u64 is no record the checker knows, and whether a
 * :u64 first parameter is the context is known only once the entry is:
 * an access of it at a literal offset the verifier surely refuses is
 * noted here and reported at the end if its defn is an entry that takes
 * the context so (check_context_alignment). Not aligned to its width:
 * every context's is_valid_access refuses it; within the first 8 bytes
 * of a tracepoint's (the common fields: tp_prog_is_valid_access). */
typedef struct MisalignedAccess {
	const FnDecl *fn;
	Span at;                /* the offset */
	const char *name;
	uint64_t offset;
	int size;
} MisalignedAccess;

static void note_u64_context_access(Checker *ck, const Node *call, const Node *base, const Node *off, const Type *w)
{
	const FnDecl *fn = ck->fn ? ck->fn->fn : NULL;
	if (!fn || !fn->nparams || base->kind != N_NAME || base->ref != REF_VAR || !fn->params[0]->var ||
	    base->ref_var != fn->params[0]->var || !type_equal(fn->params[0]->type, ty_u64) || off->kind != N_INT ||
	    off->negative || (off->value % (uint64_t)w->size == 0 && off->value >= 8))
		return;
	MisalignedAccess *m = arena_alloc(sizeof(*m));
	*m = (MisalignedAccess){ fn, off->span, call->name, off->value, w->size };
	vec_push(&ck->misaligned, m);
}

static void check_context_alignment(Checker *ck)
{
	for (int i = 0; i < ck->misaligned.len; i++) {
		const MisalignedAccess *m = ck->misaligned.items[i];
		const ProgramDecl *prog = m->fn->prog ? m->fn->prog : ck->m->program;
		if (!takes_context_as_u64(ck->m, m->fn))
			continue;
		if (m->offset % (uint64_t)m->size != 0)
			diag_error(m->at, "`%s` at offset %s of the context is not aligned to its %d bytes", m->name,
				   int_text(m->offset, false), m->size);
		else if (prog->kind->kind == PK_TRACEPOINT)
			diag_error(m->at, "`%s` at offset %s reads a tracepoint's common fields, which the kernel keeps from programs",
				   m->name, int_text(m->offset, false));
	}
}

static void check_context_access(const Node *call, const Type *at, const Node *off, const Type *w)
{
	const Type *o = at && at->kind == TY_PTR ? at->pointee : NULL;
	if (!o || o->kind != TY_RECORD || !o->record || !o->record->is_context || off->kind != N_INT ||
	    off->negative)
		return;
	const Record *r = o->record;
	if (off->value % (uint64_t)w->size != 0) {
		diag_error(off->span, "`%s` at offset %s of the context is not aligned to its %d bytes", call->name,
			   int_text(off->value, false), w->size);
		return;
	}
	for (int i = 0; i < r->nfields; i++) {
		const Field *f = r->fields[i];
		int size = f->type ? f->type->size : 0;
		if (off->value < (uint64_t)f->offset || off->value >= (uint64_t)(f->offset + size))
			continue;
		if (f->c_pointer || strncmp(f->name, "cb", 2) == 0)
			return;
		if (off->value + (uint64_t)w->size > (uint64_t)(f->offset + size))
			diag_error(off->span, "`%s` at offset %s reaches past the context's `%s` (%d bytes at %d)",
				   call->name, int_text(off->value, false), f->name, size, f->offset);
		else if (strcmp(r->name, "XdpMd") == 0 && w->size != 4)
			diag_error(off->span, "`%s` reads %d bytes of the context's `%s`: xdp_md's members are read whole",
				   call->name, w->size, f->name);
		return;
	}
}

static Type *check_builtin(Checker *ck, Node *n, const BuiltinInfo *bi)
{
	n->callee_kind = CALLEE_BUILTIN;
	n->builtin = bi->builtin;
	n->builtin_type = *bi->width;
	Type *w = *bi->width;
	int want = builtin_arity(bi->builtin);
	if (n->args.len != want) {
		diag_error(n->span, "helper `%s` expects %d arguments, got %d", n->name, want,
			   n->args.len);
		return bi->builtin == BI_STORE || bi->builtin == BI_STACK_STORE ? ty_unit : w;
	}
	Node **a = (Node **)n->args.items;
	Type *t;
	switch (bi->builtin) {
	case BI_LOAD:
		t = check_address(ck, n, a[0]);
		check_offset_literal(n, a[1]);
		check_access_within(n, t, a[1], w);
		check_context_access(n, t, a[1], w);
		note_u64_context_access(ck, n, a[0], a[1], w);
		return w;
	case BI_STORE:
		t = check_address(ck, n, a[0]);
		check_offset_literal(n, a[1]);
		check_access_within(n, t, a[1], w);
		check_context_access(n, t, a[1], w);
		note_u64_context_access(ck, n, a[0], a[1], w);
		t = check_arg(ck, a[2], w);
		if (t && !same_type(t, w))
			diag_error(a[2]->span, "`%s` stores %s, got %s", n->name, type_str(w), type_str(t));
		return ty_unit;
	case BI_STACK_LOAD:
		if (check_stack_offset(n, a[0], w))
			note_stack_load(ck, n, 512 + (int)(int64_t)a[0]->value);
		return w;
	case BI_STACK_STORE:
		t = check_arg(ck, a[1], w); /* the value first, as C computes it */
		if (check_stack_offset(n, a[0], w))
			note_stack_store(ck, 512 + (int)(int64_t)a[0]->value, w->size);
		if (t && !same_type(t, w))
			diag_error(a[1]->span, "`%s` stores %s, got %s", n->name, type_str(w), type_str(t));
		return ty_unit;
	case BI_BE:
	case BI_LE:
		t = check_arg(ck, a[0], w);
		if (t && (!is_int(t) || t->size != w->size))
			diag_error(a[0]->span, "`%s` converts %d-bit integers, got %s", n->name, w->size * 8,
				   type_str(t));
		return w;
	case BI_NONE:
		break;
	}
	return NULL;
}

/* After an error about a :unit value: when it is a call of a helper that
 * returns nothing, say so (its extern may declare :u64, as vaisto_bpf's
 * do). */
static void hint_helper_returns_nothing(const Node *n)
{
	if (n && n->kind == N_CALL && n->callee_kind == CALLEE_HELPER && n->callee_extern &&
	    n->callee_extern->helper && n->callee_extern->helper->returns_nothing)
		diag_hint("the kernel's bpf_%s returns nothing (RET_VOID): the verifier refuses a read of its result, "
			  "so the call is :unit whatever its extern declares",
			  n->callee_extern->helper->name);
}

/* The type a helper call really returns (LANGUAGE.md section 3: the true
 * return type of a known helper wins over the declared one). Pointers from
 * helpers are nullable and must be matched. */
static Type *helper_return_type(Checker *ck, ExternDecl *e, Node *call)
{
	const char *h = e->name;
	/* the kernel's RET_VOID (bpf_tail_call, bpf_ringbuf_submit): the
	 * verifier refuses a read of r0 after it ("R0 !read_ok"), whatever
	 * the extern declares */
	if (e->helper && e->helper->returns_nothing)
		return ty_unit;
	if (strcmp(h, "map_lookup_elem") == 0) {
		/* The value type of a known map; a map reached through a :u64
		 * parameter is not known here, and then the value is read as
		 * :u64 words (vaisto_bpf's rule). */
		Node *m = call->args.len ? call->args.items[0] : NULL;
		if (m && m->ref == REF_MAP && table_get(&ck->bad_maps, m->ref_map->name))
			return NULL;  /* its value type was reported */
		if (m && m->ref == REF_MAP && m->ref_map->value)
			return type_ptr(m->ref_map->value, true);
		return type_ptr(ty_u64, true);
	}
	if (strcmp(h, "sk_lookup_tcp") == 0 || strcmp(h, "sk_lookup_udp") == 0 ||
	    strcmp(h, "skc_lookup_tcp") == 0) {
		RecInfo *ri = record_info(ck, "BpfSock");
		if (ri && ri->ok)
			return type_ptr(type_record(ri->record), true);
		return type_ptr(ty_u8, true);
	}
	/* LANGUAGE.md 11.3: libbpf types it struct task_struct *, never NULL */
	if (strcmp(h, "get_current_task_btf") == 0) {
		Record *r = ktypes_struct(ck->m, "task_struct", call->span);
		return r ? type_ptr(type_record(r), false) : NULL;
	}
	/* (bpf/ringbuf_reserve rb (sizeof :Rec) 0): a pointer to the record
	 * (LANGUAGE.md 10.4), whose fields the program then sets */
	if (strcmp(h, "ringbuf_reserve") == 0 && call->args.len == 3) {
		for (int i = 0; i < ck->sizeof_nodes.len; i++)
			if (ck->sizeof_nodes.items[i] == call->args.items[1])
				return type_ptr(ck->sizeof_records.items[i], true);
	}
	/* ringbuf_reserve and every other pointer-returning helper: bytes */
	if (e->helper && e->helper->returns_pointer)
		return type_ptr(ty_u8, true);
	return e->ret;
}

/* §5: map_pop_elem / map_peek_elem write into their value argument. */
static bool helper_writes_value_arg(const char *h)
{
	return strcmp(h, "map_pop_elem") == 0 || strcmp(h, "map_peek_elem") == 0;
}

/* Argument i of helper call n, where the verifier takes nothing but a map
 * (ARG_CONST_MAP_PTR): a map, or a parameter that must then hold one. */
static void check_map_parameter(Checker *ck, const Node *n, int i, const char *callee)
{
	const Node *arg = n->args.items[i];
	if (arg->kind == N_NAME && arg->ref == REF_MAP)
		return;
	if (arg->kind == N_NAME && arg->ref == REF_VAR && arg->ref_var && arg->ref_var->is_param &&
	    is_u64(arg->ref_var->type)) {
		note_param_needs_map(ck, arg->ref_var, arg->span);
		return;
	}
	diag_error(arg->span, "argument %d of `%s` must be a map: libbpf's bpf_%s takes `%s` there", i + 1, callee,
		   n->callee_extern->helper->name, helper_param_decl(n->callee_extern->helper, i));
}

/* Argument i is declared with types[i] (helpers) or params[i]->type
 * (defns). */
static void check_args(Checker *ck, Node *n, Type **types, FnInfo *defn, const char *callee)
{
	for (int i = 0; i < n->args.len; i++) {
		Node *arg = n->args.items[i];
		Type *want = types ? types[i] : defn->fn->params[i]->type;
		int map_arg;
		bool by_value = types && helper_by_value_arg(n, i, &map_arg);
		/* where a map may go: a :u64 not passed by value, and no integer
		 * of libbpf's declaration (the flags of map_update_elem) */
		bool map_argument = arg->kind == N_NAME && is_u64(want) && !by_value;
		const char *param = map_argument && types && n->callee_extern
					    ? helper_param_decl(n->callee_extern->helper, i)
					    : NULL;
		map_argument &= !param || strchr(param, '*');
		ck->record_value_ok = by_value;
		Type *t = check_arg_at(ck, arg, want, map_argument);
		if (!t || !want)
			continue;
		if (defn && is_u64(want))
			note_defn_argument(ck, defn, i, arg);
		if (by_value && t->kind == TY_RECORD) {
			/* its address is passed (LANGUAGE.md 10.4); a map's
			 * key or value must have the map's type */
			Type *slot = helper_by_value_type(n, i);
			if (slot && !same_type(slot, t))
				diag_error(arg->span, "argument type mismatch: argument %d of `%s` must be %s, got %s",
					   i + 1, callee, type_str(slot), type_str(t));
			continue;
		}
		if (t->kind == TY_MAP && !is_u64(want)) {
			diag_error(arg->span, "map `%s` can only be passed where :u64 is declared, not %s",
				   arg->name, type_str(want));
			continue;
		}
		/* a map as a key or value, or where libbpf's helper takes an
		 * integer (the flags of map_update_elem): the C could not pass
		 * it, the verifier would refuse it */
		if (t->kind == TY_MAP && by_value) {
			diag_error(arg->span, "map `%s` cannot be argument %d of `%s`: a key or value, "
					      "passed by value",
				   arg->name, i + 1, callee);
			continue;
		}
		if (t->kind == TY_MAP && param && !strchr(param, '*')) {
			diag_error(arg->span, "map `%s` cannot be argument %d of `%s`: libbpf's bpf_%s takes "
					      "`%s` there",
				   arg->name, i + 1, callee, n->callee_extern->helper->name, param);
			continue;
		}
		if (arg_compatible(want, t)) {
			const HelperInfo *h = types && n->callee_extern ? n->callee_extern->helper : NULL;
			if (h && (h->map_params >> i & 1))
				check_map_parameter(ck, n, i, callee);
			continue;
		}
		diag_error(arg->span, "argument type mismatch: argument %d of `%s` must be %s, got %s", i + 1,
			   callee, type_str(want), type_str(t));
		hint_helper_returns_nothing(arg);
		if (is_int(want) && is_int(t))
			diag_hint("BPF has no implicit widening; convert it with `(%s ...)`", want->name);
	}
}

/* The size given after data a helper takes by value (ringbuf_output,
 * perf_event_output): the verifier reads that many bytes of the copy, or
 * of the record a pointer points to, and refuses more than there is
 * ("invalid indirect read from stack", either backend). A reserved
 * ringbuf record's size is the reservation's, not known here. */
static void check_data_sizes(const Node *n, const char *shown)
{
	for (int i = 0; i + 1 < n->args.len; i++) {
		int map_arg;
		const Node *data = n->args.items[i], *size = n->args.items[i + 1];
		if (helper_by_value_arg(n, i, &map_arg) != 'd' || !data->type)
			continue;
		const Type *t = data->type->kind == TY_PTR ? data->type->pointee : helper_by_value_type(n, i);
		uint64_t k;
		if (!t || (data->type->kind == TY_PTR && t->kind != TY_RECORD) || t->size <= 0 ||
		    !int_constant(size, &k, NULL) || k <= (uint64_t)t->size)
			continue;
		diag_error(size->span, "`%s` would read %s bytes of data that has %d", shown, int_text(k, false),
			   t->size);
		diag_hint("the data is %s%s; the verifier refuses a read past its end: give %s or less",
			  data->type->kind == TY_PTR ? "what a pointer points to, " : "", type_str(t),
			  t->kind == TY_RECORD ? arena_printf("(sizeof %s)", type_str(t)) : arena_printf("%d", t->size));
	}
}

static Type *check_helper_call(Checker *ck, Node *n, ExternDecl *e, const char *shown)
{
	n->callee_kind = CALLEE_HELPER;
	n->callee_extern = e;
	ck->acquires |= helper_acquires_reference(e);
	if (n->args.len != e->nparams) {
		diag_error(n->span, "helper `%s` expects %d arguments, got %d", shown, e->nparams,
			   n->args.len);
		return helper_return_type(ck, e, n);
	}
	check_args(ck, n, e->params, NULL, shown);
	/* A literal key or value becomes a temporary of the map's key or value
	 * type (LANGUAGE.md section 5): it must fit there, as anywhere else. */
	for (int i = 0; i < n->args.len; i++) {
		Node *arg = n->args.items[i];
		int map_arg;
		char kind = helper_by_value_arg(n, i, &map_arg);
		Node *map = kind && map_arg < n->args.len ? n->args.items[map_arg] : NULL;
		if (arg->kind != N_INT || !map || map->kind != N_NAME || map->ref != REF_MAP || !map->ref_map)
			continue;
		Type *slot = kind == 'k' ? map->ref_map->key : kind == 'v' ? map->ref_map->value : NULL;
		if (slot && is_int(slot) && !int_fits(slot, arg->value, arg->negative))
			diag_error(arg->span, "integer literal %s does not fit in %s, the %s type of map `%s`",
				   int_text(arg->value, arg->negative), type_str(slot),
				   kind == 'k' ? "key" : "value", map->ref_map->name);
	}
	check_data_sizes(n, shown);
	if (helper_writes_value_arg(e->name) && n->args.len >= 2) {
		Node *v = n->args.items[1];
		if (v->type && v->type->kind != TY_PTR)
			diag_error(v->span, "`%s` writes into its value argument: it must be a pointer, got %s",
				   shown, type_str(v->type));
	}
	return helper_return_type(ck, e, n);
}

/* One edge per callee (at its first call) is all the graph walks need. */
static void add_call_edge(FnInfo *caller, FnInfo *callee, Span at)
{
	for (int i = 0; i < caller->calls.len; i++)
		if (((CallEdge *)caller->calls.items[i])->callee == callee)
			return;
	CallEdge *edge = arena_alloc(sizeof(*edge));
	edge->callee = callee;
	edge->at = at;
	vec_push(&caller->calls, edge);
}

/* (c/name args...): a function of hand-written C, declared by extern c: */
static Type *check_c_call(Checker *ck, Node *n, const char *name)
{
	ExternDecl *e = table_get(&ck->externs, name);
	if (e && !e->is_c)
		return NULL;  /* the extern was rejected */
	if (!e) {
		diag_error(n->name_span.file ? n->name_span : n->span, "unknown C function `%s`", name);
		diag_hint("declare it with `(extern c:%s [arg-types] :ret-type)`", name + 2);
		return NULL;
	}
	n->callee_kind = CALLEE_C;
	n->callee_extern = e;
	if (n->args.len != e->nparams) {
		diag_error(n->span, "C function `%s` expects %d argument%s, got %d", name, e->nparams,
			   e->nparams == 1 ? "" : "s", n->args.len);
		return e->ret;
	}
	check_args(ck, n, e->params, NULL, name);
	return e->ret;
}

/* Argument i of a map idiom, which must have the map's key or value type
 * (want); a pointer to it (a Some binding) is the address the helper
 * reads, as for the helpers of section 5. */
static void check_idiom_arg(Checker *ck, Node *n, int i, Type *want, const char *what)
{
	Node *arg = n->args.items[i];
	ck->record_value_ok = true;
	Type *t = check_arg(ck, arg, want);
	if (!t || !want || same_type(t, want))
		return;
	if (t->kind == TY_PTR && t->pointee && same_type(t->pointee, want))
		return;
	diag_error(arg->span, "the %s of `%s` on map `%s` must be %s, got %s", what, n->name,
		   ((Node *)n->args.items[0])->name, type_str(want), type_str(t));
	if (is_int(want) && is_int(t))
		diag_hint("BPF has no implicit widening; convert it with `(%s ...)`", want->name);
}

static void check_args_untyped(Checker *ck, Node *n, int first);

/* A record value in the source: a construction or a variable holding one. */
static bool is_record_value(const Node *n)
{
	return (n->kind == N_CALL && n->callee_kind != CALLEE_PRINTK && n->record_init) ||
	       (n->kind == N_NAME && n->ref == REF_VAR);
}

/* (Event :pid p :ts t): LANGUAGE.md 10.4. Fields not named are zero, and
 * so is the padding (the C backend zeroes the whole record first). */
static Type *check_record_value(Checker *ck, Node *n)
{
	RecordInit *in = n->record_init;
	RecInfo *ri = record_info(ck, n->name);
	Span at = n->name_span.file ? n->name_span : n->span;
	if (!ri || !ri->ok || ri->record->is_context || ri->record->kernel_btf_id) {
		if (!ri)
			diag_error(at, "unknown record `%s`", n->name);
		else if (ri->ok)
			diag_error(at, "`%s` is the kernel's record: a program cannot build one", n->name);
		if (!ri)
			diag_hint("declare it with `(deftype %s [field :type ...])`", n->name);
		check_args_untyped(ck, n, 0);
		return NULL;
	}
	Record *r = ri->record;
	n->callee_kind = CALLEE_RECORD;
	in->fields = arena_alloc(sizeof(*in->fields) * (size_t)(in->n + 1));
	bool ok = true;
	for (int i = 0; i < in->n; i++) {
		Node *v = n->args.items[i];
		Field *f = NULL;
		for (int j = 0; j < r->nfields && !f; j++)
			if (strcmp(r->fields[j]->name, in->names[i]) == 0)
				f = r->fields[j];
		if (!f) {
			diag_error(in->spans[i], "record `%s` has no field `%s`", r->name, in->names[i]);
			ok = false;
		}
		for (int j = 0; j < i && f; j++)
			if (in->fields[j] == f) {
				diag_error(in->spans[i], "field `%s` is given twice", f->name);
				f = NULL;
				ok = false;
			}
		if (f && (f->array_len || f->type->kind == TY_RECORD)) {
			diag_error(in->spans[i], "field `%s` of `%s` is %s: only integer and :bool fields take a value here",
				   f->name, r->name, f->array_len ? "an array" : type_str(f->type));
			diag_hint("fields not given are zero");
			f = NULL;
			ok = false;
		}
		in->fields[i] = f;
		if (!f) {
			if (!needs_context(ck, v))
				check_arg(ck, v, NULL);
			continue;
		}
		Type *t = check_arg(ck, v, f->type);
		if (t && !same_type(t, f->type)) {
			diag_error(v->span, "field `%s` of `%s` is %s, got %s", f->name, r->name, type_str(f->type),
				   type_str(t));
			if (is_int(f->type) && is_int(t))
				diag_hint("BPF has no implicit widening; convert it with `(%s ...)`", f->type->name);
			ok = false;
		}
	}
	return ok ? type_record(r) : NULL;
}

/* What conversion type want prints, for messages. */
static const char *printk_wants(const Type *want)
{
	if (want->kind == TY_PTR)
		return "a pointer";
	if (want->size == 1)
		return "a character (:u8 or :i8)";
	return want->size == 8 ? "a 64-bit integer" : "an integer of at most 32 bits";
}

/* (printk "fmt" args...): LANGUAGE.md 10.5, the format checked against
 * the arguments (printk.c); :unit. */
static Type *check_printk(Checker *ck, Node *n)
{
	Type *want[3] = { NULL };
	if (n->args.len > 3) {
		diag_error(((Node *)n->args.items[3])->span, "printk prints at most 3 values, got %d", n->args.len);
		diag_hint("split it into several printk");
		check_args_untyped(ck, n, 0);
		return ty_unit;
	}
	int convs = printk_conversions(n->printk_format, n->name_span, want, 3);
	if (convs < 0) {
		check_args_untyped(ck, n, 0);
		return ty_unit;
	}
	if (convs != n->args.len) {
		diag_error(n->name_span, "printk: the format has %d conversion%s, but %d value%s given", convs,
			   convs == 1 ? "" : "s", n->args.len, n->args.len == 1 ? " is" : "s are");
		check_args_untyped(ck, n, 0);
		return ty_unit;
	}
	for (int i = 0; i < n->args.len; i++) {
		Node *arg = n->args.items[i];
		Type *t = check_arg(ck, arg, want[i]);
		if (!t)
			continue;
		bool ok;
		if (want[i]->kind == TY_PTR)
			ok = t->kind == TY_PTR;
		else if (want[i]->size == 1)
			ok = is_int(t) && t->size == 1;
		else if (want[i]->size == 8)
			ok = is_int(t) && t->size == 8;
		else
			ok = (is_int(t) && t->size <= 4) || t->kind == TY_BOOL;
		if (ok)
			continue;
		diag_error(arg->span, "printk: conversion %d of the format prints %s, got %s", i + 1,
			   printk_wants(want[i]), type_str(t));
		if (is_int(t) && t->size == 8)
			diag_hint("print 64-bit values with %%lld, %%llu or %%llx");
		else if (is_int(t))
			diag_hint("print values of at most 32 bits with %%d, %%u or %%x");
	}
	return ty_unit;
}

/* (sizeof :Event): the record's size, a literal typed by its context. */
static Type *check_sizeof(Checker *ck, Node *n, Type *expected)
{
	Type *t = resolve_type(ck, n->builtin_type, n->span);
	if (!t)
		return NULL;
	if (t->kind == TY_PTR || !t->size) {
		diag_error(n->span, "(sizeof %s): only records and integers have a size", type_str(t));
		return NULL;
	}
	if (t->kind == TY_RECORD) {
		vec_push(&ck->sizeof_nodes, n);
		vec_push(&ck->sizeof_records, t);
	}
	/* value and sizeof_type share storage with callee_fn and
	 * builtin_type: set them last */
	n->builtin_type = NULL;
	n->kind = N_INT;
	n->value = (uint64_t)t->size;
	n->negative = false;
	n->sizeof_type = t;
	return literal_type(n, expected, n->value, false, NULL);
}

/* Arguments from the first on whose types are unknown (their map was
 * wrong): checked for their own errors; a bare literal, which would need
 * the map's types, stays silent. */
static void check_args_untyped(Checker *ck, Node *n, int first)
{
	for (int i = first; i < n->args.len; i++)
		if (!needs_context(ck, n->args.items[i]))
			check_arg(ck, n->args.items[i], NULL);
}

/* (map/get m k) (map/put! m k v) (map/del! m k) (map/incr! m k n):
 * LANGUAGE.md 10.7. The first three become the helper call they stand for
 * (map_idioms.c); map/incr! stays a call of its own kind. */
static Type *check_map_idiom(Checker *ck, Node *n, const MapIdiom *mi)
{
	if (n->args.len != mi->nargs) {
		diag_error(n->span, "`%s` expects %d arguments, got %d", mi->name, mi->nargs, n->args.len);
		diag_hint("write `(%s map key%s)`", mi->name,
			  mi->kind == MI_PUT ? " value" : mi->kind == MI_INCR ? " amount" : "");
		return NULL;
	}
	Node *m = n->args.items[0];
	if (m->kind != N_NAME || !table_get(&ck->values, m->name) ||
	    ((Sym *)table_get(&ck->values, m->name))->kind != SYM_MAP || lookup_local(ck, m->name)) {
		diag_error(m->span, "the first argument of `%s` must be a map declared with defmap", mi->name);
		check_args_untyped(ck, n, 0);
		return NULL;
	}
	check_arg(ck, m, NULL);
	MapDecl *md = m->ref_map;
	bool bad = table_get(&ck->bad_maps, md->name) != NULL;
	if (!bad && (!md->key || !md->value)) {
		diag_error(m->span, "`%s` needs a map with keys and values; `%s` is a :%s map", mi->name,
			   md->name, md->map_type->name);
		bad = true;
	}
	if (!bad && mi->kind == MI_INCR && (!is_int(md->value) || md->value->size < 4)) {
		/* BPF's atomic add works on 32- and 64-bit words only */
		diag_error(m->span, "`map/incr!` adds atomically to :u32, :u64, :i32 or :i64 values; the values of `%s` are %s",
			   md->name, type_str(md->value));
		bad = true;
	}
	if (bad) {
		check_args_untyped(ck, n, 1);
		return NULL;
	}
	check_idiom_arg(ck, n, 1, md->key, "key");
	if (mi->kind == MI_PUT)
		check_idiom_arg(ck, n, 2, md->value, "value");
	if (mi->kind == MI_INCR) {
		check_idiom_arg(ck, n, 2, md->value, "amount");
		n->callee_kind = CALLEE_MAP_INCR;
		return ty_unit;
	}
	n->callee_kind = CALLEE_HELPER;
	n->callee_extern = map_idiom_extern(mi, md, n->span);
	if (mi->kind == MI_PUT) {
		Node *flags = arena_alloc(sizeof(*flags));
		flags->kind = N_NAME;
		flags->span = n->span;
		flags->name = "BPF_ANY";
		flags->ref = REF_KCONST;
		flags->ref_kconst = kernel_const_by_name("BPF_ANY");
		flags->type = ty_u64;
		vec_push(&n->args, flags);
	}
	if (mi->kind == MI_GET)
		return type_ptr(md->value, true);
	return ty_i64;
}

static Type *check_call(Checker *ck, Node *n)
{
	const char *name = n->name;
	if (strncmp(name, "bpf/", 4) == 0) {
		const char *h = name + 4;
		const BuiltinInfo *bi = builtin_by_name(h);
		if (bi)
			return check_builtin(ck, n, bi);
		ExternDecl *e = table_get(&ck->externs, h);
		if (e && !e->helper)
			return NULL;  /* the extern was rejected */
		if (e)
			return check_helper_call(ck, n, e, name);
		if (strcmp(h, "map_lookup_and_delete_elem") == 0) {
			diag_error(n->span, "`%s` is not a BPF program helper", name);
			diag_hint("use bpf/map_lookup_elem, then bpf/map_delete_elem");
			return NULL;
		}
		diag_error(n->name_span.file ? n->name_span : n->span, "unknown helper `%s`", name);
		diag_hint("declare it with `(extern bpf:%s [arg-types] :ret-type)`", h);
		return NULL;
	}
	if (strncmp(name, "c/", 2) == 0)
		return check_c_call(ck, n, name);
	/* a defn of that name (a core program) keeps its meaning */
	const MapIdiom *mi = map_idiom_by_name(name);
	Sym *own = table_get(&ck->values, name);
	if (mi && !(own && own->kind == SYM_FN))
		return check_map_idiom(ck, n, mi);
	if (name[0] == 'k' && name[1] == '/' &&
	    (strcmp(name, "k/exists?") == 0 || strcmp(name, "k/read-str") == 0 || strcmp(name, "k/arg") == 0))
		return check_kernel_call(ck, n);
	Sym *s = lookup_local(ck, name) ? NULL : table_get(&ck->values, name);
	if (s && s->kind == SYM_FN && s->fn->fn->prog) {
		diag_error(n->name_span.file ? n->name_span : n->span,
			   "`%s` is a program (defprog): programs are not called", name);
		diag_hint("tail-call it through a :prog_array, or move the shared code into a defn");
		return NULL;
	}
	if (s && s->kind == SYM_FN) {
		FnDecl *fn = s->fn->fn;
		n->callee_kind = CALLEE_FN;
		n->callee_fn = fn;
		add_call_edge(ck->fn, s->fn, n->span);
		if (n->args.len != fn->nparams) {
			diag_error(n->span, "function `%s` expects %d arguments, got %d", name, fn->nparams,
				   n->args.len);
			return fn->ret;
		}
		check_args(ck, n, NULL, s->fn, name);
		return fn->ret;
	}
	/* vaisto_bpf also binds an extern's bare name; a rejected extern (or
	 * one of another namespace, "c/f") makes its calls silent */
	ExternDecl *e = (!s && !lookup_local(ck, name)) ? table_get(&ck->externs, name) : NULL;
	if (e && !e->helper)
		return NULL;
	if (e)
		return check_helper_call(ck, n, e, name);
	Span at = n->name_span.file ? n->name_span : n->span;
	if (s || lookup_local(ck, name)) {
		diag_error(at, "`%s` is not a function", name);
	} else {
		diag_error(at, "unknown function `%s`", name);
		if (strcmp(name, "printk") == 0)
			diag_hint("printk's first operand is its format string: (printk \"len %%u\\n\" len)");
		else if (helper_by_name(name))
			diag_hint("`%s` is a BPF helper: declare it with `(extern bpf:%s [arg-types] :ret-type)`",
				  name, name);
	}
	return NULL;
}

/* ---- the expression dispatcher -------------------------------------------- */

static Type *check_expr_inner(Checker *ck, Node *n, Type *expected)
{
	switch (n->kind) {
	case N_INT:
		return literal_type(n, expected, n->value, n->negative, NULL);
	case N_BOOL:
		return ty_bool;
	case N_NAME:
		return check_name(ck, n, expected);
	case N_LET:
		return check_let(ck, n, expected);
	case N_DO:
		return check_do(ck, n, expected);
	case N_IF:
		return check_if(ck, n, expected);
	case N_AND:
	case N_OR: {
		const char *what = n->kind == N_AND ? "andalso requires boolean operands"
						    : "orelse requires boolean operands";
		/* :bool whatever the operands: a wrong operand was reported */
		check_bool_operand(ck, n->lhs, what);
		StackMark before;
		stack_branch(ck, &before);
		check_bool_operand(ck, n->rhs, what);
		stack_joined(ck, &before);
		return ty_bool;
	}
	case N_NOT:
		check_bool_operand(ck, n->lhs, "`not` requires a boolean");
		return ty_bool;
	case N_MATCH:
		return check_match(ck, n, expected);
	case N_BINOP:
		return check_binop(ck, n, expected);
	case N_NEG: {
		if (n->lhs->kind == N_INT) {
			/* (- 5): the literal -5 */
			Type *t = literal_type(n, expected, 0 - n->lhs->value, !n->lhs->negative && n->lhs->value,
					       NULL);
			n->lhs->type = t;
			return t;
		}
		Type *t = check_expr(ck, n->lhs, is_int(expected) ? expected : NULL);
		if (t && !is_int(t)) {
			diag_error(n->lhs->span, "negation requires an integer type, got %s", type_str(t));
			return NULL;
		}
		return t;
	}
	case N_CAST:
		return check_cast(ck, n);
	case N_FIELD: {
		ck->may_hold_address = true;
		Type *t = check_field(ck, n);
		ck->reads_packet |= is_packet_field(n);
		return t;
	}
	case N_CALL:
		ck->may_hold_address = true;
		if (n->callee_kind == CALLEE_PRINTK)
			return check_printk(ck, n);
		if (!n->record_init && !n->args.len && isupper((unsigned char)n->name[0]) &&
		    !table_get(&ck->values, n->name) && record_info(ck, n->name)) {
			/* (Event): every field omitted, all zero (LANGUAGE.md
			 * 10.4); the parser cannot tell it from a call */
			n->record_init = arena_alloc(sizeof(*n->record_init));
		}
		if (n->record_init)
			return check_record_value(ck, n);
		if (n->builtin_type && strcmp(n->name, "sizeof") == 0 && !n->args.len)
			return check_sizeof(ck, n, expected);
		return check_call(ck, n);
	case N_SET:
		return check_set(ck, n);
	case N_FOR:
		return check_for(ck, n);
	}
	return NULL;
}

static Type *check_expr(Checker *ck, Node *n, Type *expected)
{
	bool map_ok = ck->map_ok, record_ok = ck->record_ok;
	/* only a direct call argument may be a map, only a direct `.` target a
	 * nested record */
	if (n->kind != N_NAME)
		ck->map_ok = false;
	if (n->kind != N_FIELD)
		ck->record_ok = false;
	if (n == ck->untyped_result && !expected && needs_context(ck, n)) {
		n->type = NULL;
		return NULL;
	}
	bool record_value_ok = ck->record_value_ok;
	ck->record_value_ok = false;
	Type *t = check_expr_inner(ck, n, expected);
	ck->map_ok = map_ok;
	ck->record_ok = record_ok;
	ck->record_value_ok = record_value_ok;
	if (t && t->kind == TY_RECORD && !record_value_ok && !record_ok && is_record_value(n)) {
		diag_error(n->span, "a record value (%s) can only be let-bound, read with `.`, or given as a map key or value or helper data",
			   type_str(t));
		diag_hint("BPF passes scalars: bind the record with let, then read its fields or give it by address");
		t = NULL;
	}
	ck->may_hold_address |= t && (t->kind == TY_PTR || t->kind == TY_MAP);
	n->type = t;
	return t;
}

/* ---- functions ------------------------------------------------------------ */

/* A function whose callees all have their depth when its body has been
 * checked has its own then, and is in no cycle: every cycle has a call to
 * a function checked later (or to itself), and a function that calls one
 * never has its depth here. check_call_graph then walks only the others
 * (most programs define a helper before its callers, so there are few),
 * where it walked every function, long after its body was in the cache,
 * and finds the same cycles in the same order. */
static void settle_depth(FnInfo *fi)
{
	int d = 0;
	for (int i = 0; i < fi->calls.len; i++) {
		const FnInfo *callee = ((CallEdge *)fi->calls.items[i])->callee;
		if (callee->state != 3)
			return;
		if (callee->depth + 1 > d)
			d = callee->depth + 1;
	}
	fi->state = 3;
	fi->depth = d;
	fi->fn->call_depth = d;
}

static void check_fn_body(Checker *ck, FnInfo *fi)
{
	FnDecl *fn = fi->fn;
	ck->fn = fi;
	ck->nscope = 0;
	local_names_next(&ck->local_cnames);
	for (int i = 0; i < fn->nparams; i++) {
		Param *p = fn->params[i];
		p->var = new_var(ck, p->name, p->type, p->span, true);
		for (int j = 0; j < i; j++) {
			if (strcmp(fn->params[j]->name, p->name) == 0) {
				diag_error(p->span, "parameter `%s` is declared twice", p->name);
				diag_note(fn->params[j]->span, "first declaration of `%s`", p->name);
				break;
			}
		}
	}
	ck->untyped_result = fn->ret ? NULL : last_expr(fn->body);
	int errors = diag_error_count();
	ck->acquires = false;
	ck->may_hold_address = false;
	ck->reads_packet = false;
	Type *t = check_expr(ck, fn->body, fn->ret);
	ck->untyped_result = NULL;
	memset(ck->stack_written, 0, sizeof(ck->stack_written));
	ck->stack_dirty = false;
	if (diag_error_count() == errors && ck->acquires)
		check_tail_calls_release(fn->body);
	if (diag_error_count() == errors) {
		context_flow_body(ck->context_flow, fn, ck->may_hold_address);
		if (ck->reads_packet)
			packet_bounds_check(fn);
		if (ck->return_ranged)
			return_range_summarise(fn);
	}
	if (t && fn->ret && !same_type(t, fn->ret)) {
		Node *last = last_expr(fn->body);
		diag_error(last && last->span.file ? last->span : fn->span, "return type mismatch in `%s`", fn->name);
		diag_hint("declared return type is %s but body has type %s", type_str(fn->ret), type_str(t));
		hint_helper_returns_nothing(last);
	}
	ck->fn = NULL;
	settle_depth(fi);
}

/* ---- the call graph ------------------------------------------------------- */

/* Depth-first walk; a call to a function on the stack closes a cycle. The
 * cycle is reported once, at that call, with the chain in a note. */
static void find_recursion(FnInfo *fi, FnInfo **stack, int depth)
{
	fi->state = 1;
	stack[depth] = fi;
	for (int i = 0; i < fi->calls.len; i++) {
		CallEdge *e = fi->calls.items[i];
		if (e->callee->state == 1) {
			diag_error(e->at, "recursion is not supported in BPF modules");
			StrBuf sb = { 0 };
			int from = depth;
			while (from > 0 && stack[from] != e->callee)
				from--;
			for (int k = from; k <= depth; k++) {
				sb_printf(&sb, "`%s` -> ", stack[k]->fn->name);
				stack[k]->in_cycle = true;
			}
			sb_printf(&sb, "`%s`", e->callee->fn->name);
			FnDecl *callee = e->callee->fn;
			diag_note(callee->name_span.file ? callee->name_span : callee->span, "call cycle: %s",
				  sb.data);
			sb_free(&sb);
		} else if (e->callee->state == 0) {
			find_recursion(e->callee, stack, depth + 1);
		}
	}
	fi->state = 2;
}

static int compute_depth(FnInfo *fi)
{
	if (fi->state == 3)
		return fi->depth;
	int d = 0;
	fi->state = 3;  /* no cycles remain when this runs */
	for (int i = 0; i < fi->calls.len; i++) {
		CallEdge *e = fi->calls.items[i];
		int cd = compute_depth(e->callee) + 1;
		if (cd > d)
			d = cd;
	}
	fi->fn->call_depth = d;
	fi->depth = d;
	return d;
}

static void check_call_graph(Checker *ck)
{
	FnInfo **stack = arena_alloc(sizeof(*stack) * (ck->fns.len + 1));
	bool cycles = false;
	int errors = diag_error_count();
	for (int i = 0; i < ck->fns.len; i++) {
		FnInfo *fi = ck->fns.items[i];
		if (fi->state == 0)
			find_recursion(fi, stack, 0);
	}
	cycles = diag_error_count() != errors;
	if (cycles)
		return;
	/* Report the deepest chain once, at its outermost function. */
	FnInfo *worst = NULL;
	for (int i = 0; i < ck->fns.len; i++) {
		FnInfo *fi = ck->fns.items[i];
		int d = compute_depth(fi);
		if (d > 8 && (!worst || d > worst->depth))
			worst = fi;
	}
	if (worst) {
		FnDecl *fn = worst->fn;
		diag_error(fn->name_span.file ? fn->name_span : fn->span,
			   "BPF-to-BPF call depth %d exceeds maximum of 8", fn->call_depth);
		StrBuf sb = { 0 };
		FnInfo *at = worst;
		sb_printf(&sb, "`%s`", at->fn->name);
		while (at->fn->call_depth > 0) {
			for (int i = 0; i < at->calls.len; i++) {
				CallEdge *e = at->calls.items[i];
				if (e->callee->fn->call_depth + 1 == at->fn->call_depth) {
					at = e->callee;
					break;
				}
			}
			sb_printf(&sb, " -> `%s`", at->fn->name);
		}
		diag_hint("the chain: %s", sb.data);
		sb_free(&sb);
	}
}

/* ---- program kind and entry ----------------------------------------------- */

static Record *param_record(const Param *p)
{
	if (p->type && p->type->kind == TY_PTR && p->type->pointee && p->type->pointee->kind == TY_RECORD)
		return p->type->pointee->record;
	return NULL;
}

/* The checks of the entry function of a program of kind: its parameter is
 * the context, its result an integer. */
static void check_entry_signature(FnDecl *entry, const ProgKindInfo *kind)
{
	const char *want = kind->context_record;
	if (entry->nparams > 1 && !kind->btf_args)
		diag_error(entry->params[1]->span, "the entry function `%s` takes only the context parameter",
			   entry->name);
	if (entry->nparams >= 1 && !kind->btf_args) {
		Param *p = entry->params[0];
		Record *r = param_record(p);
		bool is_context = r && want && strcmp(r->name, want) == 0;
		if (r && r->is_context && !is_context)
			diag_error(p->span, "wrong context type for :%s program: expected %s, got %s", kind->name,
				   want ? want : ":u64", r->name);
		else if (p->type && !is_context && !is_u64(p->type) && !(r && r->is_context))
			diag_error(p->span, "the entry function's parameter must be the context (%s%s) or :u64, got %s",
				   want ? ":" : "", want ? want : "a pointer", type_str(p->type));
	}
	if (entry->ret && entry->ret->kind != TY_INT && entry->ret->kind != TY_BOOL &&
	    entry->ret->kind != TY_UNIT)
		diag_error(entry->span, "the entry function `%s` must return an integer, got %s",
			   entry->name, type_str(entry->ret));
}

/* LANGUAGE.md 10.3: every defprog is an entry of its own kind; plain defns
 * are shared subprograms. Returns false when the file has no defprog. */
static bool check_defprogs(Checker *ck)
{
	Module *m = ck->m;
	FnDecl *first = NULL;
	for (int i = 0; i < ck->progs.len; i++) {
		FnDecl *fn = ((FnInfo *)ck->progs.items[i])->fn;
		if (!first)
			first = fn;
		if (m->program) {
			if (fn == first) {
				diag_error(fn->span, "a file has either one (program ...) or defprogs, not both");
				diag_note(m->program->span, "the (program ...) form is here");
			}
			continue;
		}
		if (fn->prog->kind->btf_args) {
			diag_error(fn->prog->span, "defprog of kind :%s is not supported yet", fn->prog->kind->name);
			diag_hint("write it as the file's one (program :%s \"...\")", fn->prog->kind->name);
			continue;
		}
		fn->is_entry = true;
		check_entry_signature(fn, fn->prog->kind);
	}
	if (!first)
		return false;
	if (!m->program)
		m->entry = first;
	for (int i = 0; i < ck->kernel_args.len; i++) {
		Node *n = ck->kernel_args.items[i];
		diag_error(n->span, "k/arg is not supported in defprog files yet");
	}
	return true;
}

/* The kernel's program type of a kind: kprobe, kretprobe, uprobe and
 * uretprobe are all BPF_PROG_TYPE_KPROBE; every other kind is its own. */
static ProgKind prog_type_of(ProgKind k)
{
	return k == PK_KRETPROBE || k == PK_UPROBE || k == PK_URETPROBE ? PK_KPROBE : k;
}

/* (defmap jumps :prog_array :u32 :u32 8 :init [prog_a prog_b]) */
static void check_map_init(Checker *ck, MapDecl *md)
{
	if (!md->ninit)
		return;
	if (strcmp(md->map_type->name, "prog_array") != 0) {
		diag_error(md->span, "option :init fills a :prog_array; `%s` is a :%s map", md->name,
			   md->map_type->name);
		return;
	}
	if ((uint64_t)md->ninit > md->max_entries) {
		diag_error(md->init_spans[md->max_entries], "`%s` has %llu slot%s, :init lists %d programs", md->name,
			   (unsigned long long)md->max_entries, md->max_entries == 1 ? "" : "s", md->ninit);
		return;
	}
	md->init_progs = arena_alloc(sizeof(*md->init_progs) * (size_t)md->ninit);
	for (int i = 0; i < md->ninit; i++) {
		Sym *s = table_get(&ck->values, md->init_names[i]);
		if (!s || s->kind != SYM_FN || !s->fn->fn->prog) {
			diag_error(md->init_spans[i], "`%s` is not a program: :init lists defprogs", md->init_names[i]);
			continue;
		}
		md->init_progs[i] = s->fn->fn;
		/* the kernel keeps one program type per prog_array: libbpf's
		 * filling of a slot with another fails the whole load */
		const ProgramDecl *first = md->init_progs[0] ? md->init_progs[0]->prog : NULL;
		const ProgramDecl *this = s->fn->fn->prog;
		if (i > 0 && first && prog_type_of(this->kind->kind) != prog_type_of(first->kind->kind)) {
			diag_error(md->init_spans[i], "`%s` is a :%s program, `%s` a :%s one: a prog_array holds programs of one type",
				   md->init_names[i], this->kind->name, md->init_names[0], first->kind->name);
			diag_hint("give each program type its own prog_array");
		}
	}
}

static void check_program(Checker *ck)
{
	Module *m = ck->m;
	for (int i = 0; i < ck->maps.len; i++)
		check_map_init(ck, ck->maps.items[i]);
	if (check_defprogs(ck))
		return;
	const ProgKindInfo *kind = m->program ? m->program->kind : NULL;
	const char *want = kind ? kind->context_record : NULL;

	/* A parameter typed with a built-in context record must be the
	 * kind's record (a deftype of the same name is a user record). */
	if (kind) {
		for (int i = 0; i < ck->context_fns.len; i++) {
			FnDecl *fn = ((FnInfo *)ck->context_fns.items[i])->fn;
			for (int j = 0; j < fn->nparams; j++) {
				Record *r = param_record(fn->params[j]);
				if (!r || !r->is_context || (want && strcmp(r->name, want) == 0))
					continue;
				diag_error(fn->params[j]->span, "wrong context type for :%s program: expected %s, got %s",
					   kind->name, want ? want : ":u64", r->name);
			}
		}
	}

	FnDecl *entry = NULL;
	for (int i = 0; i < ck->fns.len && want; i++) {
		FnDecl *fn = ((FnInfo *)ck->fns.items[i])->fn;
		Record *r = ((FnInfo *)ck->fns.items[i])->first_record;
		if (r && strcmp(r->name, want) == 0 && !fn->exported) {
			entry = fn;
			break;
		}
	}
	/* Without a (program) form there is no section, so no entry: every
	 * defn is an ordinary function. */
	if (!kind)
		return;
	/* else the first defn not exported: an exported function is called,
	 * never attached */
	for (int i = 0; i < ck->fns.len && !entry; i++)
		if (!((FnInfo *)ck->fns.items[i])->fn->exported)
			entry = ((FnInfo *)ck->fns.items[i])->fn;
	m->entry = entry;
	if (!entry)
		return;
	entry->is_entry = true;

	/* tp_btf, fentry, fexit: the kernel's arguments, checked there */
	check_kernel_entry(ck, entry);
	/* The kernel passes only the context (r1); it returns int in C. The
	 * wrong context records were reported above. */
	if (entry->nparams >= 1 && param_record(entry->params[0]) && param_record(entry->params[0])->is_context &&
	    want && strcmp(param_record(entry->params[0])->name, want) != 0)
		return;
	check_entry_signature(entry, kind);
}

/* ---- exports (extension 10.6) ------------------------------------------------ */

/* (export f ...): f becomes a global C function under its C name, for
 * hand-written BPF C to call. The kernel verifies a global function on
 * its own, whatever its callers pass, so what crosses is limited as for
 * c: externs. */
static void check_export(Checker *ck, const ExportDecl *x)
{
	for (int i = 0; i < x->nnames; i++) {
		const char *name = x->names[i];
		Sym *s = table_get(&ck->values, name);
		if (!s || s->kind != SYM_FN) {
			diag_error(x->spans[i], s ? "`%s` is not a function: only defns can be exported"
						  : "cannot export `%s`: no defn of that name", name);
			continue;
		}
		FnDecl *fn = s->fn->fn;
		if (fn->exported) {
			diag_error(x->spans[i], "`%s` is exported twice", name);
			continue;
		}
		fn->exported = true;
		for (int j = 0; j < fn->nparams; j++) {
			const Type *t = fn->params[j]->type;
			bool context = t && t->kind == TY_PTR && t->pointee && t->pointee->record &&
				       t->pointee->record->is_context;
			if (t && (!crosses_to_c(t) || (t->kind == TY_PTR && !context))) {
				diag_error(fn->params[j]->span, "parameter `%s` of exported `%s` has type %s: an "
					   "exported function takes integers, :bool or the context",
					   fn->params[j]->name, name, type_str(t));
				if (t->kind == TY_PTR)
					diag_hint("the kernel lets any caller of a global function pass NULL for a "
						  "record pointer, and `%s` would read through it unchecked", name);
			}
		}
		if (fn->ret && !is_int(fn->ret) && fn->ret->kind != TY_BOOL) {
			diag_error(fn->name_span.file ? fn->name_span : fn->span,
				   "exported `%s` must return an integer or :bool, not %s", name, type_str(fn->ret));
			diag_hint("the kernel verifies a global BPF function on its own and requires it to return a scalar");
		}
	}
}

/* ---- the module ------------------------------------------------------------ */

/* ---- maps given to :u64 parameters (settled) ---------------------------- */

static ParamMaps *held(const FnInfo *fi, int i)
{
	return fi->param_maps && fi->param_maps[i].map ? &fi->param_maps[i] : NULL;
}

/* Must parameter i of fi be a map: does it hold one, or go where only a
 * map may? */
static const ParamMaps *map_only(const FnInfo *fi, int i)
{
	const ParamMaps *pm = fi->param_maps ? &fi->param_maps[i] : NULL;
	return pm && (pm->map || pm->needs_map.file) ? pm : NULL;
}

/* The maps reach the parameters their callers' parameters give them; a
 * parameter that holds one is a map, used and given as a map only. A
 * parameter given on where a map must go must be a map too, and so every
 * argument given to it. */
static void settle_map_handles(Checker *ck)
{
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = 0; i < ck->param_edges.len; i++) {
			const ParamEdge *e = ck->param_edges.items[i];
			const ParamMaps *from = held(e->from, e->from_i);
			if (!from)
				continue;
			ParamMaps *to = param_maps(e->to, e->to_i);
			changed |= receive_map(to, from->map, e->at);
			if (from->maps_differ && !to->maps_differ)
				changed = to->maps_differ = true;
		}
	}
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = ck->param_edges.len - 1; i >= 0; i--) {
			const ParamEdge *e = ck->param_edges.items[i];
			ParamMaps *from = param_maps(e->from, e->from_i);
			if (!from->needs_map.file && map_only(e->to, e->to_i)) {
				note_first(&from->needs_map, e->at);
				changed = true;
			}
		}
	}
	for (int f = 0; f < ck->fns.len; f++) {
		const FnInfo *fi = ck->fns.items[f];
		for (int i = 0; i < fi->fn->nparams; i++) {
			const ParamMaps *pm = map_only(fi, i);
			if (!pm)
				continue;
			const char *name = fi->fn->params[i]->name;
			if (pm->map && pm->used_as_value.file) {
				diag_error(pm->used_as_value,
					   "parameter `%s` holds a map, which can only be given as a helper's map "
					   "argument or to a :u64 parameter",
					   name);
				diag_note(pm->given_map, "map `%s` reaches `%s` here", pm->map->name, name);
			}
			if (!pm->given_other.file)
				continue;
			diag_error(pm->given_other, "argument %d of `%s` must be a map: its parameter `%s` %s", i + 1,
				   fi->fn->name, name, pm->map ? "holds one" : "goes where only a map may");
			if (pm->map)
				diag_note(pm->given_map, "map `%s` reaches `%s` here", pm->map->name, name);
			else
				diag_note(pm->needs_map, "`%s` goes where only a map may here", name);
		}
	}
	/* for the backends: the map whose key and value types the helpers'
	 * by-value copies take */
	for (int f = 0; ck->for_backends && f < ck->fns.len; f++) {
		const FnInfo *fi = ck->fns.items[f];
		for (int i = 0; i < fi->fn->nparams; i++) {
			/* also one given no map (its defn is reached by no
			 * call) that goes where only a map may: a handle in C
			 * too, of no known map, which the argument's types
			 * stand for (clang refused the __u64 given on to a
			 * void * parameter) */
			const ParamMaps *pm = map_only(fi, i);
			Var *v = fi->fn->params[i]->var;
			if (pm && v) {
				v->handle_map = pm->maps_differ ? NULL : pm->map;
				v->handle_maps_differ = pm->maps_differ || !pm->map;
			}
		}
	}
}

/* Declaring tens of thousands of functions was mostly waiting for memory:
 * each declaration reads its Decl, its FnDecl and its name, all written
 * long before, then one slot of each of two big tables, every load
 * depending on the one before. So the declarations ahead are fetched in
 * stages, each a few declarations ahead of the next, and their misses
 * overlap with the work on this one. */
static void prefetch_declaration(Checker *ck, int i)
{
	enum { STEP = 4 };
	Vec *decls = &ck->m->decls;
	if (i + 4 * STEP < decls->len)
		__builtin_prefetch(decls->items[i + 4 * STEP]);
	if (i + 3 * STEP < decls->len) {
		Decl *d = decls->items[i + 3 * STEP];
		if (d->kind == D_FN)
			__builtin_prefetch(d->u.fn);
	}
	if (i + 2 * STEP < decls->len) {
		Decl *d = decls->items[i + 2 * STEP];
		if (d->kind == D_FN)
			__builtin_prefetch(d->u.fn->name);
	}
	if (i + STEP < decls->len) {
		Decl *d = decls->items[i + STEP];
		if (d->kind == D_FN)
			table_prefetch(&ck->values, d->u.fn->name);
	}
}

/* The declarations: records, maps, externs, functions' signatures,
 * globals and their initialisers, exports. */
Checker *check_begin(Module *m)
{
	Checker *ck = arena_alloc(sizeof(*ck));
	ck->m = m;
	ck->errors_before = diag_error_count();
	ck->context_flow = context_flow_begin();
	table_init(&ck->values, m->decls.len);
	/* room for every defn: doubling from 4 had left half a dozen
	 * abandoned arrays behind, as big as the last */
	ck->fns = (Vec){ .items = arena_alloc(sizeof(void *) * (size_t)(m->decls.len + 1)), .cap = m->decls.len + 1 };

	check_records(ck);
	/* the globals' initialisers and the exports, once every name is
	 * declared, in source order: noted on the way rather than found by
	 * reading every declaration again (tens of thousands, out of the
	 * cache by then) */
	Vec later = { 0 };
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		prefetch_declaration(ck, i);
		switch (d->kind) {
		case D_MAP:
			check_map(ck, d->u.map);
			vec_push(&ck->maps, d->u.map);
			break;
		case D_EXTERN: check_extern(ck, d->u.ext); break;
		case D_FN:
			declare_fn(ck, d->u.fn);
			if (d->u.fn->prog)
				ck->packet_read_only |= packet_read_only(d->u.fn->prog->kind);
			if (d->u.fn->prog)
				ck->return_ranged |= prog_return_range(d->u.fn->prog->kind, d->u.fn->prog->attach) != NULL;
			break;
		case D_GLOBAL:
			declare_global(ck, d->u.global);
			vec_push(&later, d);
			break;
		case D_EXPORT: vec_push(&later, d); break;
		default: break;
		}
	}
	for (int i = 0; i < later.len; i++) {
		Decl *d = later.items[i];
		if (d->kind == D_GLOBAL)
			check_global_init(ck, d->u.global);
		else
			check_export(ck, d->u.export);
	}
	ck->packet_read_only |= m->program && packet_read_only(m->program->kind);
	ck->return_ranged |= m->program && prog_return_range(m->program->kind, m->program->attach);
	return ck;
}

bool check_body(Checker *ck, FnDecl *fn)
{
	if (ck->next_body >= ck->fns.len || ((FnInfo *)ck->fns.items[ck->next_body])->fn != fn)
		return false;   /* a second defn of a name: never checked */
	int kernel_args = ck->kernel_args.len, sizeofs = ck->sizeof_nodes.len, errors = diag_error_count();
	check_fn_body(ck, ck->fns.items[ck->next_body++]);
	if (ck->packet_read_only && diag_error_count() == errors) {
		packet_summarise(fn);
		vec_push(&ck->summarised, fn);
	}
	return ck->kernel_args.len != kernel_args || ck->sizeof_nodes.len != sizeofs;
}

/* Every entry's return value against its kind's range (return_range.c). */
static void check_return_ranges(Checker *ck)
{
	Module *m = ck->m;
	if (m->program) {
		return_range_check(m->entry, m->program->kind, m->program->attach);
		return;
	}
	for (int i = 0; i < ck->progs.len; i++) {
		FnDecl *fn = ((FnInfo *)ck->progs.items[i])->fn;
		if (fn->is_entry && fn->prog)
			return_range_check(fn, fn->prog->kind, fn->prog->attach);
	}
}

bool check_end(Checker *ck)
{
	check_call_graph(ck);
	check_program(ck);
	if (diag_error_count() == ck->errors_before && !check_context_flow(ck->context_flow, ck->m)) {
		ck->undecided = true;
		return false;
	}
	if (diag_error_count() == ck->errors_before)
		packet_writes_check(ck->m, &ck->summarised);
	/* after the address check, which says more of a map given to an
	 * exported defn */
	if (diag_error_count() == ck->errors_before)
		settle_map_handles(ck);
	if (diag_error_count() == ck->errors_before)
		check_context_alignment(ck);
	/* last: a program with another error may never reach its exit */
	if (diag_error_count() == ck->errors_before)
		check_return_ranges(ck);
	return diag_error_count() == ck->errors_before;
}

void check_decide_only(Checker *ck)
{
	context_flow_decide_only(ck->context_flow);
}

bool check_undecided(const Checker *ck)
{
	return ck->undecided;
}

void check_prefetch_name(Checker *ck, const char *name)
{
	table_prefetch(&ck->values, name);
}

bool check_module(Module *m)
{
	Checker *ck = check_begin(m);
	ck->for_backends = true;
	for (int i = 0; i < ck->fns.len; i++)
		check_body(ck, ((FnInfo *)ck->fns.items[i])->fn);
	return check_end(ck);
}
