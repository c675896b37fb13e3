/* emit_c.h - what the C backend's files share (emit_c.c and the files it
 * is split into, by concern, as DESIGN.md says):
 *
 *   emit_c.c        declarations: the module (records, maps, globals,
 *                   division helpers), functions and their signatures,
 *                   packet pointers, comments' places, the pieces the
 *                   header (emit_h.c) repeats
 *   emit_c_expr.c   expressions: names, literals, loads and stores, casts,
 *                   operators, calls; facts about nodes and use counts
 *   emit_c_stmt.c   statements: let, if, match, for, set!, returns
 *   emit_c_idioms.c the map idioms that are more than a helper call
 *   emit_c_records.c record values: zeroed, then filled
 *   emit_c_print.c  the statement tree in kernel style: braces, blank
 *                   lines, #line directives and comments
 *   emit_c_wrap.c   line breaking: a statement longer than 80 columns
 *                   broken as clang-format breaks it
 *
 * Internal to the backend: nothing outside emit_c*.c includes it. */
#ifndef EMIT_C_H
#define EMIT_C_H

#include <inttypes.h>
#include <string.h>

#include "vbpf2c.h"

/* ---- the C statement tree ------------------------------------------------ */

/* CS_BLOCK: a compound statement { ... } of its own (body in then), which
 * ends the lifetime of what it declares (lower_stmt's scoped_item) */
typedef enum CStmtKind { CS_LINE, CS_IF, CS_SWITCH, CS_FOR, CS_BLOCK } CStmtKind;

/* Why a value goes through barrier_var() (add_barrier) */
typedef enum BarrierReason {
	BARRIER_CONTEXT_READ, /* barriered_context_read */
	BARRIER_PLUS_ONE,     /* folds_packet_check */
	BARRIER_RECHECK,      /* rechecked_bound */
	BARRIER_MASK,         /* masked_quotient */
	BARRIER_ATOMIC_ZERO,  /* map/incr! of 32 bits (emit_c_idioms.c) */
	BARRIER_GLOBAL_ARG,   /* an exported function's parameters */
	BARRIER_LOOP_COUNTER, /* a for-range counter (lower_for) */
	BARRIER_LOOP_SUM,     /* the counter of a loop summing it (lower_for) */
	BARRIER_CASE_LABEL,   /* a case's value that is its label (lower_match_int) */
	BARRIER_NULL_TEST,    /* bare_null_tests, when hides_null_tests */
	BARRIER_PACKET_LENGTH, /* a packet distance computed on (packet_distance) */
} BarrierReason;

typedef struct CBlock {
	Vec stmts; /* CStmt* */
} CBlock;

typedef struct CCase {
	const char *label; /* "case 3:" or "default:" */
	CBlock *body;
} CCase;

typedef struct CStmt {
	CStmtKind kind;
	int line;          /* .va line that produced it; 0: no #line needed */
	const char *text;  /* LINE: the statement; IF: condition; SWITCH:
	                    * scrutinee; FOR: the three clauses */
	bool is_decl;      /* LINE: a declaration (blank line after a run) */
	bool glued;        /* LINE: a declaration made for the next statement
	                    * (a by-value copy, a variable an if assigns): no
	                    * blank line between them */
	CBlock *then, *els; /* IF (els may be NULL); FOR, BLOCK: body in then */
	/* LINE declarations of a variable: its parts, so that one after a
	 * statement can be split (hoist_declarations) */
	const char *declarator; /* "__u64 *seen" */
	const char *var_name;   /* "seen" */
	const char *init;       /* "bpf_map_lookup_elem(...)", or NULL */
	bool is_const;
	uint32_t src_start; /* byte offset where that source form starts */
	uint32_t src_end;  /* byte offset where the source form that produced
	                    * it ends: comments inside that form go above it */
	Vec cases;         /* SWITCH: CCase* */
} CStmt;

/* ---- C expressions ------------------------------------------------------- */

/* C operator precedence, higher binds tighter. */
enum {
	PREC_COMMA = 1,
	PREC_ASSIGN,
	PREC_COND,
	PREC_LOR,
	PREC_LAND,
	PREC_BOR,
	PREC_BXOR,
	PREC_BAND,
	PREC_EQ,
	PREC_REL,
	PREC_SHIFT,
	PREC_ADD,
	PREC_MUL,
	PREC_UNARY,
	PREC_POSTFIX,
};

typedef struct CExpr {
	const char *s;
	int prec;
	bool wide; /* may hold bits outside its (narrow) source type */
	BinOp op;  /* the operator when prec is a binary operator's */
	bool is_binop;
	/* signed 32/64-bit arithmetic computed unsigned (wraps_unsigned):
	 * the unsigned expression inside the conversion back, which an
	 * enclosing operation of the same type uses as it is */
	const struct CExpr *as_unsigned;
} CExpr;

static inline CExpr cx(const char *s, int prec)
{
	return (CExpr){ .s = s, .prec = prec };
}

/* ---- per-variable facts -------------------------------------------------- */

typedef struct VarInfo {
	const Var *var;
	const char *text;  /* what a use prints: its C name or an alias */
	int uses;          /* uses that survive into the C */
	bool c_pointer;    /* a :u64 in the source, a pointer in C (the entry's
	                    * context, a map handle parameter) */
	bool map_handle;   /* a :u64 parameter that receives a map */
	const char *c_type; /* c_pointer: its C type, "void *", "struct x *" */
	/* A let variable read only as by-value keys or values of maps whose
	 * key/value type is one integer type no wider than its own is
	 * declared with that type: `__u32 key = ctx->rx_queue_index;` rather
	 * than a __u64 and a __u32 copy of it. Only the truncated value is
	 * ever observed, so the program means the same. */
	Type *copy_type;   /* the one copy type seen so far */
	bool other_use;    /* read somewhere else, or as two copy types */
	bool let_bound;    /* declared by lower_binding, so its type is ours */
	bool loop_counter; /* a for-range variable: never passed by address
	                    * (by_value_arg), so it stays in a register */
} VarInfo;

/* A set of strings (the file-scope C names) and a map from pointers to
 * small integers (a function's index), open addressing, sized once: the
 * emitter must stay linear on large programs. */
typedef struct NameSet {
	const char **names;
	size_t cap; /* power of two */
} NameSet;

typedef struct PtrIndex {
	const void **keys;
	int *values;
	size_t cap; /* power of two */
} PtrIndex;

static inline size_t table_cap(int n)
{
	size_t cap = 16;
	while (cap < 2 * (size_t)n + 2)
		cap *= 2;
	return cap;
}

static inline void nameset_add(NameSet *set, const char *name)
{
	for (size_t i = name_hash(name);; i++) {
		const char **slot = &set->names[i & (set->cap - 1)];
		if (!*slot) {
			*slot = name;
			return;
		}
		if (strcmp(*slot, name) == 0)
			return;
	}
}

static inline bool nameset_has(const NameSet *set, const char *name)
{
	for (size_t i = name_hash(name);; i++) {
		const char *slot = set->names[i & (set->cap - 1)];
		if (!slot)
			return false;
		if (strcmp(slot, name) == 0)
			return true;
	}
}

static inline void ptrindex_put(PtrIndex *t, const void *key, int value)
{
	for (size_t i = ((uintptr_t)key >> 4) * 2654435761u;; i++) {
		size_t k = i & (t->cap - 1);
		if (!t->keys[k] || t->keys[k] == key) {
			t->keys[k] = key;
			t->values[k] = value;
			return;
		}
	}
}

/* The value for key, or -1. */
static inline int ptrindex_get(const PtrIndex *t, const void *key)
{
	for (size_t i = ((uintptr_t)key >> 4) * 2654435761u;; i++) {
		size_t k = i & (t->cap - 1);
		if (t->keys[k] == key)
			return t->values[k];
		if (!t->keys[k])
			return -1;
	}
}

/* The backend's own locals (new_local) of one open C block. */
typedef struct Scope {
	Vec names; /* const char*: declared in this block */
	Vec bases; /* ... and the base each name was made from */
	Vec inner; /* const char*: declared in the blocks inside this one that
	            * have closed: a later name of this block is declared at
	            * its top, where it would be shadowed by them */
} Scope;

/* How far the current block's names and inner names went when a do's item
 * was started (lower_do). */
typedef struct NameMark {
	int names, inner;
} NameMark;

typedef enum DestKind { DEST_DISCARD, DEST_RETURN, DEST_ASSIGN } DestKind;

/* Where a statement-lowered value goes. */
typedef struct Dest {
	DestKind kind;
	const char *target; /* DEST_ASSIGN: the variable */
	Type *type;         /* DEST_ASSIGN / DEST_RETURN: the value's type */
} Dest;

typedef struct Emitter {
	const Module *m;
	const EmitOptions *opts;
	const char *file; /* name used in #line and the header */

	/* what the module uses, for #include and the helper functions */
	bool uses_bool, uses_endian, uses_ptrace, uses_perf_event;
	bool uses_core, uses_tracing; /* bpf_core_read.h, bpf_tracing.h (BPF_PROG) */
	bool uses_division[8]; /* division helpers, indexed by DIV_* flags */
	Vec kconst_headers; /* const char*, first use order */

	Vec fns;            /* FnDecl* in source order */
	PtrIndex fn_index;  /* FnDecl* -> its position in fns */
	NameSet file_names; /* every file-scope C name */

	/* the function being lowered */
	FnDecl *fn;
	const Node *overlapping; /* a comparison whose variable C must see
	                          * through a cast (comparisons_overlap_constant) */
	VarInfo *vars;      /* open addressing on Var* */
	int nvars_cap;
	CBlock *cur;
	uint32_t form_start, form_end; /* the source form being lowered */
	Vec scopes;         /* Scope* per open C block */
	int stack_bytes;    /* scratch area for the stack built-ins */
	bool stack_u32, stack_u64;
	const char *stack_name;
	bool stack_used; /* a stack slot was written: the dead arms that used them are dropped */
	const char *base_is_int; /* set by address_base for a :u64 address */
	Vec hoisted;             /* Node* already lowered into a local ... */
	Vec hoisted_as;          /* ... and that local's name */

	/* the source's comments, by where they go (place_comments) */
	Vec header_comments;     /* Comment*: above the includes */
	Vec tail_comments;       /* after the last declaration */
	Vec *above;              /* per decl (m->decls order): above its C */
	Vec *inside;             /* per defn decl: inside its body */
	PtrIndex decl_index;     /* FnDecl/MapDecl/GlobalDecl/Record* -> decl */
	PtrIndex packet_nodes;   /* packet expressions printed as void * */
	bool reads_packet;       /* some function reads ctx data/data_end/data_meta */
	bool context_joins;      /* E->fn's context reads may meet another load
	                          * where its branches join (context_read) */
	const Node *lowering_let; /* the let whose bindings are being lowered */
	const char *called;      /* per fns: called by a function of this file */
	unsigned barriers_explained; /* E->fn's BarrierReasons said in a comment */
	const char *rechecked;   /* per fns: takes packet addresses a caller
	                          * has checked (find_rechecked) */
	PtrIndex packet_vars;    /* Var* -> PACKET or NOT_PACKET (find_packet_pointers) */
	PtrIndex end_vars;       /* packet Var* -> END or NOT_END (find_end_pointers) */
	PtrIndex bare_null_tests; /* N_MATCH nodes (find_bare_null_tests) */
	bool hides_null_tests;   /* ... which go through barrier_var()
	                          * (null_tests_merge) */
} Emitter;

/* ---- printing ------------------------------------------------------------------ */

typedef struct Printer {
	StrBuf *out;
	int depth;
	long line;        /* .va line the next output line has; 0: unknown */
	bool directives;
	const char *file; /* escaped, with quotes */
	/* comments (print_function): print_line calls are numbered; a first
	 * printing records the .va line of each, the second prints the
	 * comments planned for each call */
	int call;
	uint32_t src_start, src_end; /* of the statement being printed */
	Vec *record;                /* first printing: line per call */
	Vec *record_start, *record_end; /* ... and its src_start, src_end */
	Vec *before;                /* second: per call, Comment* above it */
	const Comment **trailing;   /* second: per call, a comment after it */
	int ncalls;
} Printer;

/* The division helpers: signed or unsigned, quotient or remainder, 32 or
 * 64 bits (narrower types divide as 32-bit values). */
enum { DIV_SIGNED = 1, DIV_REM = 2, DIV_64 = 4 };

/* ---- functions shared between the backend's files ---------------------- */

const char *escape_c_string(const char *s);
bool is_int_type(const Type *t);
CExpr narrow_constant(const Node *n, CExpr v, const Type *to, const char *spelling);
CExpr exact_constant(const Node *n, CExpr v);
CExpr in_source_type(const Emitter *E, const Node *n, CExpr v);
bool has_join(const Node *n);
bool is_constant_expr(const Node *n);
void hide_from_optimiser(Emitter *E, Node *n, const char *base, BarrierReason why);
void add_barrier(Emitter *E, int line, const char *name, BarrierReason why);
bool is_hoisted(const Emitter *E, const Node *n);
bool barriered_context_read(const Emitter *E, const Node *n);
bool barriered_context_load(Emitter *E, const Node *n);
const char *paren(CExpr e, int min_prec);
const char *c_type(Emitter *E, const Type *t);
const char *c_decl(Emitter *E, const Type *t, const char *name);
VarInfo *var_info(Emitter *E, const Var *v);
const char *new_local(Emitter *E, const char *base);
NameMark name_mark(const Emitter *E);
void scope_block_items(Emitter *E, CBlock **items, const bool *is_block, const NameMark *marks, int len);
CStmt *add_stmt(Emitter *E, CStmtKind kind, int line, const char *text);
void add_line(Emitter *E, int line, const char *text);
void add_decl(Emitter *E, int line, const char *text);
void add_var(Emitter *E, int line, const char *declarator, const char *name, const char *init, bool glued, bool is_const);
CBlock *enter_block(Emitter *E, CBlock **saved);
void leave_block(Emitter *E, CBlock *saved);
int line_of(const Node *n);
bool has_effects(const Node *n);
bool is_var_ref(const Node *n);
bool needs_stmts(Emitter *E, const Node *n);
bool clause_emitted(const Node *n, int i);
int constant_match_clause(const Node *n);
bool is_bare_null_test(Emitter *E, const Node *n);
void count(Emitter *E, const Node *n, bool discard);
const char *source_spelling(Span sp, uint64_t value, bool negative);
const char *int_literal(const Type *t, uint64_t value, bool negative, bool own_type, bool hex, const char *spelled);
const char *cast_operand(CExpr e);
CExpr exact_value(Emitter *E, Node *n);
CExpr shift_amount(const Node *shift, CExpr amount);
const char *var_text(Emitter *E, const Var *v);
CExpr field_value(Emitter *E, Node *n, bool as_pointer);
CExpr value_for(Emitter *E, Node *n, const Type *to);
bool is_bitwise(BinOp op);
bool divides_by_helper(const Node *n, const Type *t);
/* n's value as the language computes it, when n is a constant (emit_c_expr.c) */
bool constant_value(const Node *n, uint64_t *out);
CExpr literal_operand(Emitter *E, Node *n, bool own_type, bool hex);
const char *kconst_name(Emitter *E, const KernelConst *kc);
bool never_equals_bitwise(const Node *a, uint64_t bits);
const char *division_helper_name(const Emitter *E, int which);
const Node *value_tail(const Node *n);
bool wraps_unsigned(BinOp op, const Type *t);
CExpr negate(CExpr c);
CExpr lower_value(Emitter *E, Node *n);
bool fn_returns_value(Emitter *E);
bool block_empty(const CBlock *b);
Type *var_decl_type(Emitter *E, const Var *v);
void lower_binding(Emitter *E, Binding *b);
void lower_stmt(Emitter *E, Node *n, Dest d);
const char *by_value_arg(Emitter *E, Node *call, int i, char kind);
void lower_map_incr(Emitter *E, Node *n);
/* record values (emit_c_records.c): n is a (Rec :f v ...) construction */
bool is_record_construction(const Node *n);
void lower_record_fill(Emitter *E, Node *n, const char *name);
const char *record_local(Emitter *E, Node *n, const char *base);
/* the printer's column limit, the kernel's .clang-format ColumnLimit */
enum { COLUMN_LIMIT = 80 };
void print_raw_line(Printer *P, const char *text);
void print_text(Printer *P, const char *text);
int put_comments(StrBuf *out, int depth, const Vec *list);
void print_function(Printer *P, const char *sec, const char *head, int fn_line, const CBlock *body, const Vec *comments);
bool is_packet_var(const Emitter *E, const Var *v);
bool is_packet_end(const Emitter *E, const Node *n);
bool prints_as_packet(const Emitter *E, const Node *n);

#endif /* EMIT_C_H */
