/* emit_c.c - the C backend: a checked module -> the libbpf C a careful kernel
 * engineer would write by hand (DESIGN.md, "The generated C").
 *
 * Two passes per function:
 *
 *   lower   walks the annotated AST and builds a small tree of C statements
 *           (CStmt: a line, an if, a switch or a for), turning source
 *           expressions into C expressions (CExpr: text + precedence) and
 *           value-producing let/if/match/do into declarations, assignments
 *           and returns;
 *   print   writes that tree in kernel style and decides everything that
 *           depends on layout: braces, blank lines after declarations and
 *           the #line directives that point clang's BTF line info (and so
 *           the verifier log) at the .va source.
 *
 * Keeping layout out of the lowering is what makes the output diff-stable:
 * a statement's text depends only on the source form that produced it.
 *
 * Integer semantics (LANGUAGE.md section 9). C promotes __u8/__u16/__s8/
 * __s16 operands to int, so `a + b` on two __u8 can be 256. Every CExpr
 * carries `wide`: its value may lie outside its source type. Where the
 * high bits matter (comparisons, division, right shifts, casts, helper
 * arguments, the entry's int return) the value is first narrowed with a
 * cast to its type; where C converts implicitly (declarations, assignments,
 * stores, returns, arguments of our own functions) nothing is written.
 *
 * Decisions a reader of the output should know about:
 *   - Subprograms are plain `static`: clang inlines the tiny ones and keeps
 *     BPF-to-BPF calls for the rest, as a hand-written program does (the
 *     bench twins have the same instruction counts). Subprograms that
 *     return :unit are `void`. A defn no entry reaches is marked unused.
 *   - div/rem: BPF defines x / 0 = 0 and x % 0 = x, C leaves them
 *     undefined and clang optimises on it, so any division by something
 *     other than a non-zero literal calls a helper (udiv32 ... srem64, only
 *     those used) that says what happens for 0. Signed ones divide the
 *     magnitudes: clang 14 refuses BPF signed division.
 *   - by-value keys and values (LANGUAGE.md section 5): &var when the
 *     argument is a variable of the map's type, else a copy named key,
 *     value or data (key_2... when taken) declared just before the call.
 *   - The stack built-ins use one array per function covering the deepest
 *     offset used (a union when both widths are), not the real frame.
 *   - le16/le32/le64 are the identity: BPF runs in the host's byte order,
 *     little-endian on every target libbpf 1.1 supports here.
 *   - A :u64 entry parameter is the kind's C context pointer; a :u64
 *     parameter that receives a map is `void *`.
 *   - Statements are wrapped at 80 columns the way clang-format 14 does
 *     for the shapes emitted (see "line breaking"), so the output is a
 *     clang-format fixed point.
 *   - Operands are evaluated left to right even when a later one needs
 *     statements (keep_operand_order); otherwise C's unspecified operand
 *     order is what clang does, as in hand-written code.
 */
#include <inttypes.h>
#include <string.h>

#include "vbpf2c.h"

/* ---- the C statement tree ------------------------------------------------ */

typedef enum CStmtKind { CS_LINE, CS_IF, CS_SWITCH, CS_FOR } CStmtKind;

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
	CBlock *then, *els; /* IF (els may be NULL); FOR: body in then */
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

static CExpr cx(const char *s, int prec)
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

static size_t table_cap(int n)
{
	size_t cap = 16;
	while (cap < 2 * (size_t)n + 2)
		cap *= 2;
	return cap;
}

static size_t name_hash(const char *s)
{
	size_t h = 1469598103934665603u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static void nameset_add(NameSet *set, const char *name)
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

static bool nameset_has(const NameSet *set, const char *name)
{
	for (size_t i = name_hash(name);; i++) {
		const char *slot = set->names[i & (set->cap - 1)];
		if (!slot)
			return false;
		if (strcmp(slot, name) == 0)
			return true;
	}
}

static void ptrindex_put(PtrIndex *t, const void *key, int value)
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
static int ptrindex_get(const PtrIndex *t, const void *key)
{
	for (size_t i = ((uintptr_t)key >> 4) * 2654435761u;; i++) {
		size_t k = i & (t->cap - 1);
		if (t->keys[k] == key)
			return t->values[k];
		if (!t->keys[k])
			return -1;
	}
}

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
	bool uses_division[8]; /* division helpers, indexed by DIV_* flags */
	Vec kconst_headers; /* const char*, first use order */

	/* map handle parameters, found before any function is lowered:
	 * handle_params[i] is a bool array per FnDecl, see fn_handle_params */
	Vec fns;            /* FnDecl* in source order */
	Vec fn_handles;     /* bool* parallel to fns */
	PtrIndex fn_index;  /* FnDecl* -> its position in fns */
	NameSet file_names; /* every file-scope C name */

	/* the function being lowered */
	FnDecl *fn;
	VarInfo *vars;      /* open addressing on Var* */
	int nvars_cap;
	CBlock *cur;
	Vec scopes;         /* Vec* of temp names per open C block */
	int stack_bytes;    /* scratch area for the stack built-ins */
	bool stack_u32, stack_u64;
	const char *stack_name;
	const char *base_is_int; /* set by address_base for a :u64 address */
	Vec hoisted;             /* Node* already lowered into a local ... */
	Vec hoisted_as;          /* ... and that local's name */
} Emitter;

/* ---- small utilities ------------------------------------------------------ */

static const char *escape_c_string(const char *s)
{
	StrBuf sb = { 0 };
	sb_putc(&sb, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			sb_printf(&sb, "\\%c", c);
		else if (c == '\n')
			sb_puts(&sb, "\\n");
		else if (c == '\t')
			sb_puts(&sb, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			sb_printf(&sb, "\\%03o", c);
		else
			sb_putc(&sb, (char)c);
	}
	sb_putc(&sb, '"');
	const char *out = arena_strdup(sb.data);
	sb_free(&sb);
	return out;
}

static bool is_narrow(const Type *t)
{
	return t && t->kind == TY_INT && t->size < 4;
}

static bool is_int_type(const Type *t)
{
	return t && t->kind == TY_INT;
}

static const char *paren(CExpr e, int min_prec)
{
	if (e.prec >= min_prec)
		return e.s;
	return arena_printf("(%s)", e.s);
}

/* The C spelling of type t: "__u32", "__u64 *", "struct event". */
static const char *c_type(Emitter *E, const Type *t)
{
	if (!t)
		return "void";
	switch (t->kind) {
	case TY_PTR:
		if (!t->pointee || t->pointee->kind == TY_UNIT)
			return "void *";
		if (t->pointee->kind == TY_BOOL)
			E->uses_bool = true;
		return arena_printf("%s *", t->pointee->c_name);
	case TY_MAP:
		return "void *";
	case TY_UNIT:
		return "void";
	case TY_BOOL:
		E->uses_bool = true;
		return "bool";
	default:
		return t->c_name;
	}
}

/* Type t applied to name: "__u32 key", "__u64 *ptr". */
static const char *c_decl(Emitter *E, const Type *t, const char *name)
{
	const char *ty = c_type(E, t);
	return arena_printf("%s%s%s", ty, ty[strlen(ty) - 1] == '*' ? "" : " ", name);
}

/* ---- variables ------------------------------------------------------------ */

static VarInfo *var_info(Emitter *E, const Var *v)
{
	size_t h = ((uintptr_t)v >> 4) * 2654435761u;
	for (int i = 0;; i++) {
		VarInfo *vi = &E->vars[(h + (size_t)i) & (size_t)(E->nvars_cap - 1)];
		if (vi->var == v)
			return vi;
		if (!vi->var) {
			vi->var = v;
			vi->text = v->c_name ? v->c_name : v->name;
			return vi;
		}
	}
}

/* Is name free for a local the backend introduces? It must not be any C
 * name of this function's variables, any file-scope name, or a temporary
 * visible in the current block. */
static bool name_taken(Emitter *E, const char *name)
{
	for (int i = 0; i < E->fn->locals.len; i++) {
		Var *v = E->fn->locals.items[i];
		if (v->c_name && strcmp(v->c_name, name) == 0)
			return true;
	}
	for (int i = 0; i < E->fn->nparams; i++) {
		Param *p = E->fn->params[i];
		if (p->var && p->var->c_name && strcmp(p->var->c_name, name) == 0)
			return true;
	}
	if (nameset_has(&E->file_names, name))
		return true;
	for (int i = 0; i < E->scopes.len; i++) {
		Vec *names = E->scopes.items[i];
		for (int j = 0; j < names->len; j++)
			if (strcmp(names->items[j], name) == 0)
				return true;
	}
	static const char *const own[] = { "sdiv32", "srem32", "sdiv64", "srem64", "udiv32", "urem32",
					   "udiv64", "urem64", "ctx", "skb" };
	for (size_t i = 0; i < sizeof(own) / sizeof(*own); i++)
		if (strcmp(own[i], name) == 0)
			return true;
	return false;
}

/* A new local of the backend's own: base, else base_2, base_3... in the
 * current block. */
static const char *new_local(Emitter *E, const char *base)
{
	const char *name = base;
	for (int n = 2; name_taken(E, name); n++)
		name = arena_printf("%s_%d", base, n);
	vec_push(E->scopes.items[E->scopes.len - 1], (void *)name);
	return name;
}

/* ---- the statement tree: building ---------------------------------------- */

static CStmt *add_stmt(Emitter *E, CStmtKind kind, int line, const char *text)
{
	CStmt *s = arena_alloc(sizeof(*s));
	s->kind = kind;
	s->line = line;
	s->text = text;
	vec_push(&E->cur->stmts, s);
	return s;
}

static void add_line(Emitter *E, int line, const char *text)
{
	add_stmt(E, CS_LINE, line, text);
}

static void add_decl(Emitter *E, int line, const char *text)
{
	add_stmt(E, CS_LINE, line, text)->is_decl = true;
}

static void add_glued_decl(Emitter *E, int line, const char *text)
{
	CStmt *s = add_stmt(E, CS_LINE, line, text);
	s->is_decl = true;
	s->glued = true;
}

/* Opens a C block: statements added from now on go into it. */
static CBlock *enter_block(Emitter *E, CBlock **saved)
{
	CBlock *b = arena_alloc(sizeof(*b));
	*saved = E->cur;
	E->cur = b;
	vec_push(&E->scopes, arena_alloc(sizeof(Vec)));
	return b;
}

static void leave_block(Emitter *E, CBlock *saved)
{
	E->cur = saved;
	E->scopes.len--;
}

static int line_of(const Node *n)
{
	return n ? (int)n->span.line : 0;
}

/* ---- facts about nodes ----------------------------------------------------- */

static bool has_effects(const Node *n);

static bool any_effects(const Vec *v)
{
	for (int i = 0; i < v->len; i++)
		if (has_effects(v->items[i]))
			return true;
	return false;
}

/* Does evaluating n do anything beyond computing a value? Loads count as
 * pure: dropping an unused load changes nothing the program computes. */
static bool has_effects(const Node *n)
{
	if (!n)
		return false;
	switch (n->kind) {
	case N_INT:
	case N_BOOL:
	case N_NAME:
		return false;
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++) {
			Binding *b = n->bindings.items[i];
			if (has_effects(b->init))
				return true;
		}
		return has_effects(n->body);
	case N_DO:
		return any_effects(&n->args);
	case N_IF:
		return has_effects(n->cond) || has_effects(n->then) || has_effects(n->els);
	case N_MATCH:
		if (has_effects(n->lhs))
			return true;
		for (int i = 0; i < n->clauses.len; i++) {
			MatchClause *c = n->clauses.items[i];
			if (has_effects(c->body))
				return true;
		}
		return false;
	case N_CALL:
		if (n->callee_kind == CALLEE_BUILTIN && n->builtin != BI_STORE &&
		    n->builtin != BI_STACK_STORE)
			return any_effects(&n->args);
		return true;
	case N_SET:
	case N_FOR:
		return true;
	default:
		return has_effects(n->lhs) || has_effects(n->rhs);
	}
}

static bool is_var_ref(const Node *n)
{
	return n && n->kind == N_NAME && n->ref == REF_VAR && n->ref_var;
}

/* Can arg be passed as &name without a copy? */
static Node *strip_cast_to(Node *n, const Type *to);

static Type *var_decl_type(Emitter *E, const Var *v);

static bool by_value_direct(Emitter *E, const Node *call, int i)
{
	Node *arg = strip_cast_to(call->args.items[i], helper_by_value_type(call, i));
	return is_var_ref(arg) && arg->type &&
	       type_equal(var_decl_type(E, arg->ref_var), helper_by_value_type(call, i));
}

static bool needs_stmts(Emitter *E, const Node *n);

static bool any_needs_stmts(Emitter *E, const Vec *v)
{
	for (int i = 0; i < v->len; i++)
		if (needs_stmts(E, v->items[i]))
			return true;
	return false;
}

/* Does n, as a value, need statements before it (declarations, a copy for
 * a by-value argument, an if/switch assigning a variable)? When false, n
 * is one C expression. */
static bool needs_stmts(Emitter *E, const Node *n)
{
	if (!n)
		return false;
	switch (n->kind) {
	case N_INT:
	case N_BOOL:
	case N_NAME:
		return false;
	case N_LET:
	case N_MATCH:
	case N_FOR:
	case N_SET:
		return true;
	case N_DO:
		return n->args.len != 1 || needs_stmts(E, n->args.items[0]);
	case N_IF:
		return !n->type || n->type->kind == TY_UNIT || needs_stmts(E, n->cond) ||
		       needs_stmts(E, n->then) || needs_stmts(E, n->els);
	case N_CALL:
		if (any_needs_stmts(E, &n->args))
			return true;
		if (n->callee_kind == CALLEE_BUILTIN &&
		    (n->builtin == BI_STORE || n->builtin == BI_STACK_STORE))
			return true;
		for (int i = 0; i < n->args.len; i++) {
			int map_arg;
			char k = helper_by_value_arg(n, i, &map_arg);
			Node *arg = n->args.items[i];
			if (k && !(arg->type && arg->type->kind == TY_PTR) && !by_value_direct(E, n, i))
				return true;
		}
		return false;
	default:
		return needs_stmts(E, n->lhs) || needs_stmts(E, n->rhs);
	}
}

/* ---- use counts ------------------------------------------------------------
 *
 * C warns about unused variables and parameters, so the emitter needs the
 * uses that survive lowering, not the source's: a variable read only by a
 * discarded pure expression, or by the initialiser of another unused
 * variable, is not used in the C. count() mirrors lower_stmt/lower_value:
 * `discard` is true where the value is thrown away, and then only parts
 * with effects are emitted. */

static void count(Emitter *E, const Node *n, bool discard);
static bool self_comparison(const Node *n);

static void count_let_bindings(Emitter *E, const Node *n)
{
	/* Later bindings and the body may use earlier bindings, never the
	 * reverse: walk backwards so each init is counted only when its
	 * variable turned out to be used. */
	for (int i = n->bindings.len - 1; i >= 0; i--) {
		Binding *b = n->bindings.items[i];
		if (b->var)
			var_info(E, b->var)->let_bound = true;
		bool used = b->var && var_info(E, b->var)->uses > 0;
		count(E, b->init, !used);
	}
}

/* Is clause i of match n emitted? The first matching clause wins, so a
 * clause after a catch-all, a repeated literal, or (on a pointer or a
 * :bool) a second clause for the same case never runs and is dropped. */
static bool clause_emitted(const Node *n, int i)
{
	const Type *t = n->lhs->type;
	bool two_way = t && (t->kind == TY_PTR || t->kind == TY_BOOL);
	const Pattern *p = ((MatchClause *)n->clauses.items[i])->pattern;
	bool yes = p->kind == PAT_SOME || (p->kind == PAT_BOOL && p->value) || p->kind == PAT_WILD ||
		   p->kind == PAT_BIND;
	bool no = p->kind == PAT_NONE || (p->kind == PAT_BOOL && !p->value) || p->kind == PAT_WILD ||
		  p->kind == PAT_BIND;
	for (int j = 0; j < i; j++) {
		const Pattern *q = ((MatchClause *)n->clauses.items[j])->pattern;
		if (q->kind == PAT_WILD || q->kind == PAT_BIND)
			return false;
		if (two_way) {
			bool qyes = q->kind == PAT_SOME || (q->kind == PAT_BOOL && q->value);
			bool qno = q->kind == PAT_NONE || (q->kind == PAT_BOOL && !q->value);
			yes &= !qyes;
			no &= !qno;
		} else if (p->kind == PAT_INT && q->kind == PAT_INT && q->value == p->value) {
			return false;
		}
	}
	return two_way ? yes || no : true;
}

static void count_clause_bodies(Emitter *E, const Node *n, bool discard)
{
	for (int i = 0; i < n->clauses.len; i++) {
		MatchClause *c = n->clauses.items[i];
		if (clause_emitted(n, i))
			count(E, c->body, discard);
	}
}

/* Argument i of call, when it is a plain variable passed by value to a
 * map of integer key/value type no wider than the variable: counts the use
 * and the copy type (see VarInfo.copy_type). False for any other argument. */
static bool count_by_value_var(Emitter *E, const Node *call, int i)
{
	int map_arg;
	char kind = helper_by_value_arg(call, i, &map_arg);
	Node *arg = call->args.items[i];
	if (!kind || !is_var_ref(arg) || arg->ref_var->is_param || !type_is_int(arg->type))
		return false;
	Type *t = helper_by_value_type(call, i);
	if (!type_is_int(t) || t->size > arg->type->size)
		return false;
	VarInfo *vi = var_info(E, arg->ref_var);
	vi->uses++;
	if (vi->copy_type && !type_equal(vi->copy_type, t))
		vi->other_use = true;
	vi->copy_type = t;
	return true;
}

static void count(Emitter *E, const Node *n, bool discard)
{
	if (!n)
		return;
	if (discard && !has_effects(n))
		return;
	if (self_comparison(n))
		return; /* folded to true or false: no use of the variable */
	switch (n->kind) {
	case N_INT:
	case N_BOOL:
		return;
	case N_NAME:
		if (is_var_ref(n)) {
			var_info(E, n->ref_var)->uses++;
			var_info(E, n->ref_var)->other_use = true;
		}
		return;
	case N_LET:
		count(E, n->body, discard);
		count_let_bindings(E, n);
		return;
	case N_DO:
		for (int i = 0; i < n->args.len; i++)
			count(E, n->args.items[i], discard || i + 1 < n->args.len);
		return;
	case N_IF:
		if (discard && !has_effects(n->then) && !has_effects(n->els)) {
			count(E, n->cond, true);
			return;
		}
		count(E, n->cond, false);
		count(E, n->then, discard);
		count(E, n->els, discard);
		return;
	case N_AND:
	case N_OR:
		if (discard && !has_effects(n->rhs)) {
			count(E, n->lhs, true);
			return;
		}
		count(E, n->lhs, false);
		count(E, n->rhs, discard);
		return;
	case N_MATCH: {
		/* clause bodies first: a Some or name binding aliases or
		 * declares depending on its own uses */
		count_clause_bodies(E, n, discard);
		bool effects_in_clauses = false;
		for (int i = 0; i < n->clauses.len; i++) {
			MatchClause *c = n->clauses.items[i];
			effects_in_clauses |= clause_emitted(n, i) && has_effects(c->body);
		}
		count(E, n->lhs, discard && !effects_in_clauses);
		return;
	}
	case N_CALL:
		if (discard && n->callee_kind == CALLEE_BUILTIN && n->builtin != BI_STORE &&
		    n->builtin != BI_STACK_STORE) {
			for (int i = 0; i < n->args.len; i++)
				count(E, n->args.items[i], true);
			return;
		}
		for (int i = 0; i < n->args.len; i++) {
			if (!count_by_value_var(E, n, i))
				count(E, n->args.items[i], false);
		}
		return;
	case N_SET:
		if (n->lhs)
			count(E, n->lhs, false);
		count(E, n->rhs, false);
		return;
	case N_FOR:
		count(E, n->lhs, false);
		count(E, n->rhs, false);
		count(E, n->body, true);
		return;
	default:
		count(E, n->lhs, discard);
		count(E, n->rhs, discard);
		return;
	}
}

/* ---- literals ---------------------------------------------------------------- */

/* An integer literal of type t. `own_type` asks for a suffix that gives
 * the literal its source type by itself (the left operand of a shift, or
 * an operation between two literals: C would otherwise compute in int).
 * `hex` is used for the operands of bitwise operators. */
static const char *int_literal(const Type *t, uint64_t value, bool negative, bool own_type, bool hex)
{
	bool is64 = t && t->size == 8;
	bool is_signed = t && t->is_signed;
	if (negative) {
		uint64_t mag = -value;
		if (is64 && mag == UINT64_C(1) << 63)
			return "(-9223372036854775807LL - 1)";
		if (mag == UINT64_C(1) << 31)
			return is64 ? "-2147483648LL" : "(-2147483647 - 1)";
		const char *sfx = is64 && (own_type || mag > INT32_MAX) ? "LL" : "";
		return arena_printf("-%" PRIu64 "%s", mag, sfx);
	}
	const char *sfx = "";
	if (t && t->size >= 4) {
		bool big = value > INT32_MAX;
		if (is64)
			sfx = (own_type || big) ? (is_signed ? "LL" : "ULL") : "";
		else if (!is_signed && (own_type || big))
			sfx = "U";
	}
	bool mask = value >= 0xffff && (value & (value + 1)) == 0; /* 0xffffffff */
	if ((hex && value > 9) || mask || value > UINT32_MAX)
		return arena_printf("0x%" PRIx64 "%s", value, sfx);
	return arena_printf("%" PRIu64 "%s", value, sfx);
}

/* ---- expressions ------------------------------------------------------------- */

static CExpr lower_value(Emitter *E, Node *n);
static CExpr value_for(Emitter *E, Node *n, const Type *to);
static void keep_operand_order(Emitter *E, Node **ops, int n);
static void lower_stmt(Emitter *E, Node *n, Dest d);

/* The operand of a cast. (T)(*p) and (T)(-x) keep their parentheses:
 * clang-format reads (T)*p and (T)-x as binary operators and spaces them. */
static const char *cast_operand(CExpr e)
{
	if (e.prec == PREC_UNARY && strchr("*-&!~", e.s[0]))
		return arena_printf("(%s)", e.s);
	return paren(e, PREC_UNARY);
}

/* e with bits outside its type cut off: a cast to the type when e may be
 * wider (see the file comment). */
static CExpr exact(CExpr e, const Type *t)
{
	if (!e.wide || !is_int_type(t))
		return e;
	return cx(arena_printf("(%s)%s", t->c_name, cast_operand(e)), PREC_UNARY);
}

static CExpr exact_value(Emitter *E, Node *n)
{
	return exact(lower_value(E, n), n->type);
}

static const char *var_text(Emitter *E, const Var *v)
{
	return var_info(E, v)->text;
}

/* The record-field member: "->rx_queue_index" or ".x". */
static CExpr field_value(Emitter *E, Node *n, bool as_pointer)
{
	CExpr base = lower_value(E, n->lhs);
	Type *bt = n->lhs->type;
	const char *member = n->field && n->field->c_member ? n->field->c_member : n->name;
	const char *s = arena_printf("%s%s%s", paren(base, PREC_POSTFIX),
				     bt && bt->kind == TY_PTR ? "->" : ".", member);
	if (n->field && n->field->c_pointer && !as_pointer)
		return cx(arena_printf("(%s)(long)%s", n->type->c_name, s), PREC_UNARY);
	return cx(s, PREC_POSTFIX);
}

/* The C pointer for an address operand of load/store: a pointer variable
 * as it is, a :u64 address converted. Sets *pointee (NULL for void *). */
static CExpr address_base(Emitter *E, Node *p, const Type **pointee)
{
	*pointee = NULL;
	E->base_is_int = NULL;
	if (p->type && p->type->kind == TY_PTR) {
		*pointee = p->type->pointee;
		return lower_value(E, p);
	}
	if (is_var_ref(p) && var_info(E, p->ref_var)->c_pointer) {
		/* the entry's context taken as :u64: a C pointer already;
		 * byte offsets need it as void * */
		VarInfo *vi = var_info(E, p->ref_var);
		if (vi->c_type && strcmp(vi->c_type, "void *") != 0)
			return cx(arena_printf("(void *)%s", vi->text), PREC_UNARY);
		return cx(vi->text, PREC_POSTFIX);
	}
	/* (u64 (. ctx :data)): the C member is a pointer or a __u32 */
	if (p->kind == N_CAST && p->lhs->kind == N_FIELD && p->lhs->field) {
		CExpr f = field_value(E, p->lhs, true);
		if (p->lhs->field->c_pointer)
			return f;
		return cx(arena_printf("(void *)(long)%s", paren(f, PREC_UNARY)), PREC_UNARY);
	}
	if (p->kind == N_FIELD && p->field && p->field->c_pointer)
		return field_value(E, p, true);
	CExpr a = exact_value(E, p);
	E->base_is_int = p->type && p->type->size == 8 ? paren(a, PREC_UNARY) : NULL;
	if (p->type && p->type->size == 8)
		return cx(arena_printf("(void *)%s", paren(a, PREC_UNARY)), PREC_UNARY);
	return cx(arena_printf("(void *)(long)%s", paren(a, PREC_UNARY)), PREC_UNARY);
}

/* The lvalue a load or store of width w at byte offset off of p names:
 * `*ptr`, `e->pid`, `*(__u16 *)((void *)data + 12)`. */
static CExpr memory_at(Emitter *E, Node *p, int64_t off, const Type *w)
{
	const Type *pointee;
	CExpr base = address_base(E, p, &pointee);
	const char *int_base = E->base_is_int; /* the :u64 address, before (void *) */
	if (pointee && pointee->kind == TY_INT && type_equal(pointee, w)) {
		if (off == 0)
			return cx(arena_printf("*%s", paren(base, PREC_UNARY)), PREC_UNARY);
		if (off > 0 && off % w->size == 0)
			return cx(arena_printf("%s[%" PRId64 "]", paren(base, PREC_POSTFIX), off / w->size),
				  PREC_POSTFIX);
	}
	if (pointee && pointee->kind == TY_RECORD && pointee->record) {
		Record *r = pointee->record;
		for (int i = 0; i < r->nfields; i++) {
			Field *f = r->fields[i];
			if (f->offset == off && f->type && type_equal(f->type, w) && !f->c_pointer)
				return cx(arena_printf("%s->%s", paren(base, PREC_POSTFIX),
						       f->c_member ? f->c_member : f->name),
					  PREC_POSTFIX);
		}
	}
	if (off == 0 && int_base)
		return cx(arena_printf("*(%s *)%s", w->c_name, int_base), PREC_UNARY);
	if (off == 0)
		return cx(arena_printf("*(%s *)%s", w->c_name, paren(base, PREC_UNARY)), PREC_UNARY);
	/* byte arithmetic: on a void * or __u8 * directly, else through void * */
	bool bytes = !pointee || (pointee->kind == TY_INT && pointee->size == 1);
	const char *b = bytes ? paren(base, PREC_ADD)
			      : arena_printf("(void *)%s", paren(base, PREC_UNARY));
	if (off < 0)
		return cx(arena_printf("*(%s *)(%s - %" PRId64 ")", w->c_name, b, -off), PREC_UNARY);
	return cx(arena_printf("*(%s *)(%s + %" PRId64 ")", w->c_name, b, off), PREC_UNARY);
}

static int64_t literal_value(const Node *n)
{
	return (int64_t)n->value;
}

/* The per-function scratch area of the stack built-ins. vaisto_bpf
 * addresses the real frame (r10 - off); C cannot, so each function that
 * uses them gets one array covering the offsets it uses, sized to the
 * deepest one: slot `off` (-8 ... -512) is byte stack_bytes + off. */
static CExpr stack_slot(Emitter *E, int64_t off, const Type *w)
{
	int64_t byte = E->stack_bytes + off;
	bool both = E->stack_u32 && E->stack_u64;
	const char *member = both ? (w->size == 8 ? ".u64" : ".u32") : "";
	if (byte % w->size == 0)
		return cx(arena_printf("%s%s[%" PRId64 "]", E->stack_name, member, byte / w->size),
			  PREC_POSTFIX);
	return cx(arena_printf("*(%s *)((void *)&%s + %" PRId64 ")", w->c_name, E->stack_name, byte),
		  PREC_UNARY);
}

static const char *helper_param_text(const Node *call, int i);

/* Is the parameter of a libbpf helper at position i a pointer (1), a
 * scalar (0), or unknown (-1)? Reads HelperInfo.c_decl:
 * "void *bpf_x(void *map, __u64 f)". */
static int helper_param_is_pointer(const Node *call, int i)
{
	const char *text = helper_param_text(call, i);
	if (!text)
		return -1;
	return strchr(text, '*') != NULL;
}

/* The declaration of parameter i of a libbpf helper, "struct
 * bpf_sock_tuple *tuple", or NULL when unknown. */
static const char *helper_param_text(const Node *call, int i)
{
	const HelperInfo *h = call->callee_extern ? call->callee_extern->helper : NULL;
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

/* Is n, printed, already of C type t (so a cast on its sibling operand
 * adds nothing)? Only for names, fields and loads: literals are int in C. */
static bool prints_as_type(Emitter *E, const Node *n, const Type *t)
{
	if (!n->type || !type_equal(n->type, t) || t->size < 4)
		return false;
	if (is_var_ref(n))
		return !var_info(E, n->ref_var)->c_pointer;
	if (n->kind == N_NAME && n->ref == REF_GLOBAL)
		return true;
	if (n->kind == N_FIELD)
		return n->field && !n->field->c_pointer;
	if (n->kind == N_CALL && n->callee_kind == CALLEE_BUILTIN && n->builtin == BI_LOAD)
		return true;
	/* a literal big enough to carry a U/ULL/LL suffix (int_literal) */
	if (n->kind == N_INT && !n->negative && n->value > INT32_MAX && (t->size == 8 || !t->is_signed))
		return true;
	return false;
}

/* (u64 port) consumed as a __u16 where port is a __u16: the widening and
 * the conversion back cancel, leaving port. */
static Node *strip_cast_to(Node *n, const Type *to)
{
	while (n->kind == N_CAST && to && is_int_type(to) && n->lhs->type && is_int_type(n->lhs->type) &&
	       n->cast_to->size >= n->lhs->type->size && type_equal(n->lhs->type, to))
		n = n->lhs;
	return n;
}

/* A cast (T)e where C would convert to T anyway, given that the value is
 * consumed as type `to`: drop the cast. Only widening casts: a narrowing
 * or sign-changing cast stays visible, it is the point of the line. */
static bool cast_is_implicit(const Node *n, const Type *to)
{
	return n->kind == N_CAST && to && is_int_type(to) && type_equal(n->cast_to, to) &&
	       is_int_type(n->lhs->type) && n->lhs->type->size < to->size;
}

/* ... except in a comparison where clang would warn: -Wsign-compare on
 * a signed value compared with an unsigned one ((== d (u64 g)) with g a
 * __s16 keeps (__u64)g), -Wtautological-constant-out-of-range-compare
 * on a narrow value compared with a literal out of its range
 * ((<= (i64 g) 9223372036854775807) keeps (__s64)g). */
static const Node *value_tail(const Node *n);

static bool comparison_would_warn(BinOp op, const Node *side, const Node *other, const Type *t)
{
	return binop_is_comparison(op) && side->kind == N_CAST && side->lhs->type &&
	       ((side->lhs->type->is_signed && !t->is_signed) || value_tail(other)->kind == N_INT);
}

static CExpr lower_cast(Emitter *E, Node *n, bool implicit)
{
	Node *a = n->lhs;
	if (a->kind == N_FIELD && a->field && a->field->c_pointer && n->cast_to->size == 8) {
		/* (u64 (. ctx :data)) where the member is a __bpf_md_ptr */
		CExpr f = field_value(E, a, true);
		return cx(arena_printf("(%s)(long)%s", n->cast_to->c_name, paren(f, PREC_UNARY)),
			  PREC_UNARY);
	}
	if (!implicit && a->kind == N_CALL && a->callee_kind == CALLEE_BUILTIN && a->builtin == BI_LOAD &&
	    a->builtin_type && n->cast_to->size == a->builtin_type->size) {
		/* (i64 (load_u64 p 8)): load through the signed type */
		Node **la = (Node **)a->args.items;
		return memory_at(E, la[0], literal_value(la[1]), n->cast_to);
	}
	CExpr v = exact_value(E, a);
	if (type_equal(a->type, n->cast_to) || implicit)
		return v;
	/* (u64 (* a b)) of :i64 values: the unsigned product itself */
	if (v.as_unsigned && !n->cast_to->is_signed && n->cast_to->size == a->type->size)
		return *v.as_unsigned;
	return cx(arena_printf("(%s)%s", n->cast_to->c_name, cast_operand(v)), PREC_UNARY);
}

static bool is_hoisted(const Emitter *E, const Node *n)
{
	for (int i = 0; i < E->hoisted.len; i++)
		if (E->hoisted.items[i] == n)
			return true;
	return false;
}

/* n consumed by a context that converts to type `to` (a declaration, an
 * assignment, a store, a return, an argument of one of our functions). */
static CExpr value_for(Emitter *E, Node *n, const Type *to)
{
	if (is_hoisted(E, n))
		return lower_value(E, n);   /* its local, not its operand again */
	n = strip_cast_to(n, to);
	if (cast_is_implicit(n, to))
		return lower_cast(E, n, true);
	return lower_value(E, n);
}

static int binop_prec(BinOp op)
{
	switch (op) {
	case OP_MUL: case OP_DIV: case OP_REM: return PREC_MUL;
	case OP_ADD: case OP_SUB: return PREC_ADD;
	case OP_SHL: case OP_SHR: return PREC_SHIFT;
	case OP_LT: case OP_GT: case OP_LE: case OP_GE: return PREC_REL;
	case OP_EQ: case OP_NE: return PREC_EQ;
	case OP_AND: return PREC_BAND;
	case OP_XOR: return PREC_BXOR;
	case OP_OR: return PREC_BOR;
	}
	return PREC_COMMA;
}

static bool is_bitwise(BinOp op)
{
	return op == OP_AND || op == OP_OR || op == OP_XOR;
}

/* An operand of a binary operator: parenthesised when precedence needs it
 * and also where clang -Wall asks for clarity (& inside |, + inside <<,
 * && inside ||) — and where a reader would want it anyway. */
static const char *operand(CExpr e, int prec, BinOp parent, bool right)
{
	int need = right ? prec + 1 : prec;
	if (e.prec < need)
		return arena_printf("(%s)", e.s);
	if (e.is_binop && e.op != parent && e.prec != PREC_MUL && e.prec != PREC_POSTFIX &&
	    (is_bitwise(parent) || parent == OP_SHL || parent == OP_SHR) &&
	    (is_bitwise(e.op) || e.prec == PREC_ADD || e.prec == PREC_SHIFT))
		return arena_printf("(%s)", e.s);
	return e.s;
}

static CExpr literal_operand(Emitter *E, Node *n, bool own_type, bool hex)
{
	if (n->kind == N_INT)
		return cx(int_literal(n->type, n->value, n->negative, own_type, hex),
			  n->negative ? PREC_UNARY : PREC_POSTFIX);
	return lower_value(E, n);
}

/* The division helpers: signed or unsigned, quotient or remainder, 32 or
 * 64 bits (narrower types divide as 32-bit values). */
enum { DIV_SIGNED = 1, DIV_REM = 2, DIV_64 = 4 };

/* The C name of a division helper, "sdiv32" to "urem64": that plain name
 * unless the program has a file-scope name like it, then the checker's
 * reserved vbpf_ prefix. */
static const char *division_helper_name(const Emitter *E, int which)
{
	const char *plain = arena_printf("%c%s%d", which & DIV_SIGNED ? 's' : 'u',
					 which & DIV_REM ? "rem" : "div", which & DIV_64 ? 64 : 32);
	return nameset_has(&E->file_names, plain) ? arena_printf("vbpf_%s", plain) : plain;
}

/* The node that gives n its value, through let and do. */
static const Node *value_tail(const Node *n)
{
	while (n->kind == N_LET || (n->kind == N_DO && n->args.len > 0))
		n = n->kind == N_LET ? n->body : n->args.items[n->args.len - 1];
	return n;
}

/* (== x x) on one variable: clang -Wall calls it tautological, and it is:
 * the value is known. */
static bool self_comparison(const Node *n)
{
	if (n->kind != N_BINOP || !binop_is_comparison(n->op))
		return false;
	const Node *a = n->lhs, *b = n->rhs;
	if (a->kind != N_NAME || b->kind != N_NAME || a->ref != b->ref)
		return false;
	if (a->ref == REF_VAR)
		return a->ref_var == b->ref_var;
	if (a->ref == REF_GLOBAL)
		return a->ref_global == b->ref_global;
	return false;
}

/* (== (bpf/be16 x) 0x0800) is written the way kernel code compares a
 * header field with a constant: x == bpf_htons(0x0800). The swap moves to
 * the constant, where clang folds it, and costs no instruction at run time.
 * A byte swap is a bijection, so the comparison means the same. */
static bool byte_order_comparison(Emitter *E, const Node *n, CExpr *out)
{
	const Node *swap = n->lhs, *lit = n->rhs;
	if (lit->kind == N_CALL) {
		swap = n->rhs;
		lit = n->lhs;
	}
	if (swap->kind != N_CALL || swap->callee_kind != CALLEE_BUILTIN || swap->builtin != BI_BE ||
	    lit->kind != N_INT || lit->negative || !swap->type)
		return false;
	int size = swap->type->size;
	const char *fn = size == 2 ? "bpf_htons" : size == 4 ? "bpf_htonl" : "bpf_cpu_to_be64";
	const char *suffix = size == 8 ? "ULL" : "";
	E->uses_endian = true;
	CExpr x = exact_value(E, swap->args.items[0]);
	*out = cx(arena_printf("%s %s %s(0x%0*" PRIx64 "%s)", paren(x, PREC_EQ), binop_c_name(n->op), fn,
			       size * 2, lit->value, suffix),
		  PREC_EQ);
	out->is_binop = true;
	out->op = n->op;
	return true;
}

/* Signed 32- and 64-bit +, -, * and << may leave the type's range: BPF
 * wraps, C leaves it undefined and clang optimises on that (it may drop
 * an overflow check or fold a + 1 > a to true; tests/native_diff.sh found
 * it). So they are computed unsigned, where C wraps, and converted back:
 * (__s64)((__u64)a * b). Narrower types are computed in int, where
 * +, - and * of two of them cannot overflow. */
static bool wraps_unsigned(BinOp op, const Type *t)
{
	return is_int_type(t) && t->is_signed && t->size >= 4 &&
	       (op == OP_ADD || op == OP_SUB || op == OP_MUL || op == OP_SHL);
}

/* e, the value of node n, as an operand of t's unsigned twin: the
 * unsigned form of a wrapped operation of type t, else e, cast when
 * `cast` (one unsigned operand makes C convert the other). */
static CExpr as_unsigned(CExpr e, const Node *n, const Type *t, bool cast)
{
	if (e.as_unsigned && n->kind != N_CAST && type_equal(n->type, t))
		return *e.as_unsigned;
	if (!cast)
		return e;
	return cx(arena_printf("(%s)%s", t->size == 8 ? "__u64" : "__u32", cast_operand(e)), PREC_UNARY);
}

/* C promotes :u8 :u16 :i8 :i16 operands to int, where :u16 products
 * and left shifts of :u16 values or of negative values may overflow
 * (undefined); narrow + and - cannot. */
static bool promotes_past_int(BinOp op, const Type *t)
{
	return is_narrow(t) &&
	       ((op == OP_MUL && t->size == 2 && !t->is_signed) ||
		(op == OP_SHL && (t->size == 2 || t->is_signed)));
}

static CExpr lower_binop(Emitter *E, Node *n)
{
	BinOp op = n->op;
	Type *t = n->lhs->type;
	if (self_comparison(n)) {
		E->uses_bool = true;
		return cx(op == OP_EQ || op == OP_LE || op == OP_GE ? "true" : "false", PREC_POSTFIX);
	}
	if (op == OP_EQ || op == OP_NE) {
		CExpr swapped;
		if (byte_order_comparison(E, n, &swapped))
			return swapped;
	}
	bool both_literal = value_tail(n->lhs)->kind == N_INT && value_tail(n->rhs)->kind == N_INT;
	bool is_shift = op == OP_SHL || op == OP_SHR;
	bool hex = is_bitwise(op);
	bool needs_exact = binop_is_comparison(op) || op == OP_DIV || op == OP_REM || op == OP_SHR;

	/* Signed division always goes through a helper (clang 14 cannot emit
	 * it); unsigned division too unless the divisor is a literal other
	 * than 0, because C leaves x / 0 undefined and clang would assume the
	 * divisor is not 0 (dropping a later test of it), where BPF defines
	 * x / 0 = 0 and x % 0 = x. */
	Node *ops[] = { n->lhs, n->rhs };
	keep_operand_order(E, ops, 2);
	const Node *divisor = value_tail(n->rhs);
	if ((op == OP_DIV || op == OP_REM) && t &&
	    (t->is_signed || divisor->kind != N_INT || divisor->value == 0)) {
		int which = (t->is_signed ? DIV_SIGNED : 0) | (op == OP_REM ? DIV_REM : 0) |
			    (t->size == 8 ? DIV_64 : 0);
		E->uses_division[which] = true;
		CExpr a = exact_value(E, n->lhs), b = exact_value(E, n->rhs);
		CExpr r = cx(arena_printf("%s(%s, %s)", division_helper_name(E, which), a.s, b.s),
			     PREC_POSTFIX);
		/* INT_MIN / -1 leaves the type's range below 64 bits */
		r.wide = t->is_signed && t->size < 8;
		return r;
	}

	/* a widening cast on one side is what C's usual conversions do when
	 * the other side already has the type: (+ (u64 x) y) is x + y */
	CExpr a, b;
	const Node *lhs_tail = value_tail(n->lhs);
	if (!is_shift && cast_is_implicit(n->lhs, t) && !comparison_would_warn(op, n->lhs, n->rhs, t) &&
	    prints_as_type(E, n->rhs, t)) {
		a = lower_cast(E, n->lhs, true);
	} else if (lhs_tail->kind == N_INT && (both_literal || is_shift) && !is_hoisted(E, n->lhs)) {
		/* a literal that must carry its own type (1ULL << 40), also
		 * when it is the value of a do or let */
		if (lhs_tail != n->lhs)
			lower_value(E, n->lhs);
		a = literal_operand(E, (Node *)lhs_tail, true, hex);
		if (op == OP_SHL && lhs_tail->negative && t->size >= 4) {
			/* -48 << 5 is undefined in C: shift the two's complement
			 * bits unsigned, then read them signed */
			CExpr u = cx(arena_printf("-%" PRIu64 "%s", -lhs_tail->value, t->size == 8 ? "ULL" : "U"),
				     PREC_UNARY);
			CExpr bx = exact_value(E, n->rhs);
			return cx(arena_printf("(%s)(%s << %s)", t->c_name, u.s, paren(bx, PREC_ADD)), PREC_UNARY);
		}
	} else {
		a = literal_operand(E, n->lhs, false, hex);
	}
	if (!is_shift && cast_is_implicit(n->rhs, t) && !comparison_would_warn(op, n->rhs, n->lhs, t) &&
	    prints_as_type(E, n->lhs, t))
		b = lower_cast(E, n->rhs, true);
	else
		b = literal_operand(E, n->rhs, false, hex);
	if (needs_exact)
		a = exact(a, t);
	if (needs_exact || is_shift)
		b = exact(b, n->rhs->type);
	int prec = binop_prec(op);
	if (promotes_past_int(op, t)) {
		/* 65535 * 65535 and -1 << 3 are undefined in int: computed in
		 * unsigned int, narrowed where it matters like the rest */
		if (lhs_tail->kind == N_INT && lhs_tail == n->lhs && !is_shift)
			b = as_unsigned(b, n->rhs, ty_u32, true);
		else
			a = as_unsigned(a, n->lhs, ty_u32, true);
	}
	if (wraps_unsigned(op, t)) {
		/* (__s64)((__u64)a * b): the operand that is not a literal
		 * is made unsigned, C's conversions make the other so */
		bool lit_a = lhs_tail->kind == N_INT && lhs_tail == n->lhs && !is_shift;
		CExpr ua = as_unsigned(a, n->lhs, t, !lit_a);
		CExpr ub = as_unsigned(b, n->rhs, t, lit_a);
		CExpr *u = arena_alloc(sizeof(*u));
		*u = cx(arena_printf("%s %s %s", operand(ua, prec, op, false), binop_c_name(op),
				     operand(ub, prec, op, true)),
			prec);
		u->is_binop = true;
		u->op = op;
		CExpr r = cx(arena_printf("(%s)(%s)", t->c_name, u->s), PREC_UNARY);
		r.as_unsigned = u;
		return r;
	}
	CExpr r = cx(arena_printf("%s %s %s", operand(a, prec, op, false), binop_c_name(op),
				  operand(b, prec, op, true)),
		     prec);
	r.is_binop = true;
	r.op = op;
	if (!binop_is_comparison(op) && is_narrow(t))
		r.wide = op == OP_ADD || op == OP_SUB || op == OP_MUL || op == OP_SHL ||
			 (is_bitwise(op) && (a.wide || b.wide));
	return r;
}

/* Negation of a condition, the way a person writes it: a < b becomes
 * a >= b (exact for integers), !x becomes x. */
static CExpr negate(CExpr c)
{
	static const struct {
		BinOp op, inverse;
		const char *text;
	} comparisons[] = {
		{ OP_EQ, OP_NE, " == " }, { OP_NE, OP_EQ, " != " }, { OP_LT, OP_GE, " < " },
		{ OP_GT, OP_LE, " > " },  { OP_LE, OP_GT, " <= " }, { OP_GE, OP_LT, " >= " },
	};
	for (size_t i = 0; c.is_binop && i < sizeof(comparisons) / sizeof(*comparisons); i++) {
		if (comparisons[i].op != c.op)
			continue;
		/* the top-level operator: the last occurrence outside
		 * parentheses (operands of equal precedence on the right are
		 * parenthesised) */
		const char *at = NULL, *from = comparisons[i].text;
		int depth = 0;
		for (const char *s = c.s; *s; s++) {
			if (*s == '(')
				depth++;
			else if (*s == ')')
				depth--;
			else if (depth == 0 && strncmp(s, from, strlen(from)) == 0)
				at = s;
		}
		if (!at)
			break;
		BinOp inv = comparisons[i].inverse;
		CExpr r = cx(arena_printf("%.*s %s %s", (int)(at - c.s), c.s, binop_c_name(inv),
					  at + strlen(from)),
			     c.prec);
		r.is_binop = true;
		r.op = inv;
		return r;
	}
	if (c.s[0] == '!' && c.prec == PREC_UNARY) {
		const char *inner = c.s + 1;
		if (inner[0] == '(') {
			/* !(a && b) -> a && b */
			int depth = 0;
			const char *s = inner;
			for (; *s; s++) {
				if (*s == '(')
					depth++;
				else if (*s == ')' && --depth == 0)
					break;
			}
			if (s[0] == ')' && s[1] == '\0')
				return cx(arena_strndup(inner + 1, strlen(inner) - 2), PREC_LOR);
		}
		return cx(inner, PREC_UNARY);
	}
	return cx(arena_printf("!%s", paren(c, PREC_UNARY)), PREC_UNARY);
}

static CExpr lower_call(Emitter *E, Node *n);

/* Declares a variable for a value that needs statements (an if or match
 * with non-trivial arms used inside an expression) and returns its name. */
static CExpr value_via_local(Emitter *E, Node *n)
{
	const char *name = new_local(E, "tmp");
	add_glued_decl(E, line_of(n), arena_printf("%s;", c_decl(E, n->type, name)));
	lower_stmt(E, n, (Dest){ DEST_ASSIGN, name, n->type });
	return cx(name, PREC_POSTFIX);
}

static void lower_binding(Emitter *E, Binding *b);

/* Does evaluating n read state a statement could change (globals,
 * memory, context fields)? */
static bool reads_state(const Node *n)
{
	if (!n)
		return false;
	if (n->kind == N_NAME)
		return n->ref == REF_GLOBAL && n->ref_global && !n->ref_global->is_const;
	if (n->kind == N_FIELD || (n->kind == N_CALL && n->callee_kind == CALLEE_BUILTIN &&
				   (n->builtin == BI_LOAD || n->builtin == BI_STACK_LOAD)))
		return true;
	/* a function or helper may read any global or map */
	if (n->kind == N_CALL && n->callee_kind != CALLEE_BUILTIN)
		return true;
	for (int i = 0; i < n->args.len; i++)
		if (reads_state(n->args.items[i]))
			return true;
	for (int i = 0; n->kind == N_LET && i < n->bindings.len; i++)
		if (reads_state(((Binding *)n->bindings.items[i])->init))
			return true;
	for (int i = 0; n->kind == N_MATCH && i < n->clauses.len; i++)
		if (reads_state(((MatchClause *)n->clauses.items[i])->body))
			return true;
	return reads_state(n->lhs) || reads_state(n->rhs) || reads_state(n->cond) || reads_state(n->then) ||
	       reads_state(n->els) || reads_state(n->body);
}

/* Is n's value, once lowered, a local nothing can change any more? */
static bool value_in_local(Emitter *E, const Node *n)
{
	while (n->kind == N_LET || (n->kind == N_DO && n->args.len > 0))
		n = n->kind == N_LET ? n->body : n->args.items[n->args.len - 1];
	if (is_var_ref(n))
		return !var_info(E, n->ref_var)->c_pointer;
	return (n->kind == N_IF || n->kind == N_MATCH || n->kind == N_AND || n->kind == N_OR) &&
	       needs_stmts(E, n);
}

/* Operands are evaluated left to right. When a later operand needs
 * statements that do something (a set!, a call inside a let), those run
 * before the expression they belong to, so earlier operands with effects
 * or reads of state are evaluated first, into locals; when its
 * statements read state (a global, a field), so are earlier operands with
 * effects (a call that sets the global). */
static void keep_operand_order(Emitter *E, Node **ops, int n)
{
	int last = -1, last_reading = -1;
	for (int i = 0; i < n; i++) {
		if (needs_stmts(E, ops[i]) && has_effects(ops[i]))
			last = i;
		if (needs_stmts(E, ops[i]) && reads_state(ops[i]))
			last_reading = i;
	}
	for (int i = 0; i < last || i < last_reading; i++) {
		Node *op = ops[i];
		bool effects = has_effects(op);
		if (!op->type || op->type->kind == TY_UNIT || op->type->kind == TY_MAP ||
		    !(i < last ? effects || reads_state(op) : effects))
			continue;
		CExpr v = lower_value(E, op);
		if (value_in_local(E, op)) {
			/* already an immutable local (a let's variable, or the
			 * variable an if or match assigned) */
			vec_push(&E->hoisted, op);
			vec_push(&E->hoisted_as, (void *)v.s);
			continue;
		}
		const char *name = new_local(E, "tmp");
		add_decl(E, line_of(op), arena_printf("%s = %s;", c_decl(E, op->type, name), v.s));
		vec_push(&E->hoisted, op);
		vec_push(&E->hoisted_as, (void *)name);
	}
}

static CExpr lower_value(Emitter *E, Node *n)
{
	for (int i = 0; i < E->hoisted.len; i++)
		if (E->hoisted.items[i] == n)
			return cx(E->hoisted_as.items[i], PREC_POSTFIX);
	switch (n->kind) {
	case N_INT:
		return literal_operand(E, n, false, false);
	case N_BOOL:
		E->uses_bool = true;
		return cx(n->value ? "true" : "false", PREC_POSTFIX);
	case N_NAME:
		switch (n->ref) {
		case REF_VAR: {
			VarInfo *vi = var_info(E, n->ref_var);
			if (vi->c_pointer && !vi->map_handle && n->type && n->type->kind == TY_INT)
				return cx(arena_printf("(%s)%s", n->type->c_name, vi->text), PREC_UNARY);
			return cx(vi->text, PREC_POSTFIX);
		}
		case REF_MAP:
			return cx(arena_printf("&%s", n->ref_map->c_name), PREC_UNARY);
		case REF_GLOBAL:
			return cx(n->ref_global->c_name, PREC_POSTFIX);
		case REF_KCONST:
			if (n->ref_kconst) {
				const char *h = n->ref_kconst->header;
				if (h && strcmp(h, "linux/bpf.h") != 0) {
					bool seen = false;
					for (int i = 0; i < E->kconst_headers.len; i++)
						seen |= strcmp(E->kconst_headers.items[i], h) == 0;
					if (!seen)
						vec_push(&E->kconst_headers, (void *)h);
				}
				return cx(n->ref_kconst->name, PREC_POSTFIX);
			}
			return cx(n->name, PREC_POSTFIX);
		case REF_NONE:
			break;
		}
		return cx(n->name, PREC_POSTFIX);
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++)
			lower_binding(E, n->bindings.items[i]);
		return lower_value(E, n->body);
	case N_DO:
		for (int i = 0; i + 1 < n->args.len; i++)
			lower_stmt(E, n->args.items[i], (Dest){ DEST_DISCARD, NULL, NULL });
		if (n->args.len == 0)
			return cx("0", PREC_POSTFIX);
		return lower_value(E, n->args.items[n->args.len - 1]);
	case N_IF: {
		if (needs_stmts(E, n))
			return value_via_local(E, n);
		CExpr c = lower_value(E, n->cond);
		CExpr a = exact_value(E, n->then), b = exact_value(E, n->els);
		return cx(arena_printf("%s ? %s : %s", paren(c, PREC_LOR), paren(a, PREC_LOR),
				       paren(b, PREC_COND)),
			  PREC_COND);
	}
	case N_AND:
	case N_OR: {
		if (needs_stmts(E, n->rhs))
			return value_via_local(E, n);
		bool and = n->kind == N_AND;
		int prec = and ? PREC_LAND : PREC_LOR;
		CExpr a = lower_value(E, n->lhs), b = lower_value(E, n->rhs);
		/* && inside || gets parentheses (clang -Wlogical-op-parentheses) */
		const char *as = a.prec == PREC_LAND && !and ? arena_printf("(%s)", a.s) : paren(a, prec);
		const char *bs = b.prec == PREC_LAND && !and ? arena_printf("(%s)", b.s) : paren(b, prec + 1);
		return cx(arena_printf("%s %s %s", as, and ? "&&" : "||", bs), prec);
	}
	case N_NOT:
		return negate(lower_value(E, n->lhs));
	case N_MATCH:
	case N_FOR:
	case N_SET:
		return value_via_local(E, n);
	case N_BINOP:
		return lower_binop(E, n);
	case N_NEG: {
		if (n->lhs->kind == N_INT && !n->lhs->negative)
			return cx(int_literal(n->type, -n->lhs->value, true, false, false), PREC_UNARY);
		CExpr a = lower_value(E, n->lhs);
		if (wraps_unsigned(OP_SUB, n->type)) {
			/* -INT64_MIN overflows too: negated unsigned, as
			 * lower_binop computes signed + - * */
			CExpr *u = arena_alloc(sizeof(*u));
			*u = cx(arena_printf("-%s", cast_operand(as_unsigned(a, n->lhs, n->type, true))),
				PREC_UNARY);
			CExpr r = cx(arena_printf("(%s)(%s)", n->type->c_name, u->s), PREC_UNARY);
			r.as_unsigned = u;
			return r;
		}
		/* -(-x), not --x: a decrement */
		CExpr r = cx(arena_printf("-%s", a.s[0] == '-' ? arena_printf("(%s)", a.s) : paren(a, PREC_UNARY)),
			     PREC_UNARY);
		r.wide = is_narrow(n->type);
		return r;
	}
	case N_CAST:
		return lower_cast(E, n, false);
	case N_FIELD:
		return field_value(E, n, false);
	case N_CALL:
		return lower_call(E, n);
	}
	return cx("0", PREC_POSTFIX);
}

/* A by-value argument: &var, or the address of a copy declared here. */
static const char *by_value_arg(Emitter *E, Node *call, int i, char kind)
{
	Node *arg = call->args.items[i];
	if (by_value_direct(E, call, i))
		return arena_printf("&%s", var_text(E, strip_cast_to(arg, helper_by_value_type(call, i))->ref_var));
	Type *t = helper_by_value_type(call, i);
	const char *base = kind == 'k' ? "key" : kind == 'v' ? "value" : "data";
	CExpr v = value_for(E, arg, t);
	const char *name = new_local(E, base);
	add_glued_decl(E, line_of(arg), arena_printf("%s = %s;", c_decl(E, t, name), v.s));
	return arena_printf("&%s", name);
}

/* An argument of a libbpf helper: maps by address, addresses given as
 * :u64 converted where the prototype takes a pointer. */
static const char *helper_arg(Emitter *E, Node *call, int i)
{
	Node *arg = call->args.items[i];
	int param = helper_param_is_pointer(call, i);
	bool want_ptr = param == 1;
	if (arg->type && arg->type->kind == TY_PTR && param == 0)
		return arena_printf("(long)%s", paren(lower_value(E, arg), PREC_UNARY));
	if (arg->type && arg->type->kind == TY_PTR && param == 1) {
		/* a pointer the prototype types differently (a map value as
		 * struct bpf_sock_tuple *): through void * */
		const char *text = helper_param_text(call, i);
		const Type *pt = arg->type->pointee;
		bool generic = strstr(text, "void *") != NULL;
		bool same = pt && pt->c_name && strncmp(text, pt->c_name, strlen(pt->c_name)) == 0;
		if (!generic && !same)
			return arena_printf("(void *)%s", paren(lower_value(E, arg), PREC_UNARY));
	}
	if (arg->type && (arg->type->kind == TY_MAP || arg->type->kind == TY_PTR))
		return lower_value(E, arg).s;
	if (is_var_ref(arg) && var_info(E, arg->ref_var)->c_pointer) {
		VarInfo *vi = var_info(E, arg->ref_var);
		return want_ptr ? vi->text : arena_printf("(long)%s", vi->text);
	}
	if (want_ptr && is_int_type(arg->type) && !(arg->kind == N_INT && arg->value == 0)) {
		const Type *pointee;
		return address_base(E, arg, &pointee).s;
	}
	return exact_value(E, arg).s;
}

static CExpr lower_builtin(Emitter *E, Node *n)
{
	Node **a = (Node **)n->args.items;
	const Type *w = n->builtin_type;
	switch (n->builtin) {
	case BI_LOAD:
		return memory_at(E, a[0], literal_value(a[1]), w);
	case BI_STORE: {
		CExpr lv = memory_at(E, a[0], literal_value(a[1]), w);
		Node *v = a[2];
		/* (store p off (+ (load p off) x)) -> lvalue += x */
		if (v->kind == N_BINOP && !binop_is_comparison(v->op) &&
		    !((v->op == OP_DIV || v->op == OP_REM) && w->is_signed) &&
		    v->lhs->kind == N_CALL && v->lhs->callee_kind == CALLEE_BUILTIN &&
		    v->lhs->builtin == BI_LOAD && type_equal(v->lhs->builtin_type, w) &&
		    !has_effects(a[0])) {
			Node **la = (Node **)v->lhs->args.items;
			CExpr lv2 = memory_at(E, la[0], literal_value(la[1]), w);
			if (strcmp(lv.s, lv2.s) == 0) {
				CExpr r = v->rhs->kind == N_INT ? literal_operand(E, v->rhs, false, is_bitwise(v->op))
								: value_for(E, v->rhs, w);
				return cx(arena_printf("%s %s= %s", lv.s, binop_c_name(v->op), r.s),
					  PREC_ASSIGN);
			}
		}
		CExpr val = value_for(E, v, w);
		return cx(arena_printf("%s = %s", lv.s, paren(val, PREC_ASSIGN)), PREC_ASSIGN);
	}
	case BI_STACK_LOAD:
		return stack_slot(E, literal_value(a[0]), w);
	case BI_STACK_STORE: {
		CExpr val = value_for(E, a[1], w);
		return cx(arena_printf("%s = %s", stack_slot(E, literal_value(a[0]), w).s,
				       paren(val, PREC_ASSIGN)),
			  PREC_ASSIGN);
	}
	case BI_BE: {
		E->uses_endian = true;
		const char *fn = w->size == 2 ? "bpf_htons" : w->size == 4 ? "bpf_htonl" : "bpf_cpu_to_be64";
		return cx(arena_printf("%s(%s)", fn, exact_value(E, a[0]).s), PREC_POSTFIX);
	}
	case BI_LE: {
		/* BPF programs run in the host's byte order, which for the
		 * little-endian targets libbpf 1.1 supports is the identity */
		CExpr v = lower_value(E, a[0]);
		return v;
	}
	case BI_NONE:
		break;
	}
	return cx("0", PREC_POSTFIX);
}

static bool *fn_handle_params(Emitter *E, const FnDecl *fn)
{
	int i = ptrindex_get(&E->fn_index, fn);
	return i < 0 ? NULL : E->fn_handles.items[i];
}

static CExpr lower_call(Emitter *E, Node *n)
{
	StrBuf sb = { 0 };
	switch (n->callee_kind) {
	case CALLEE_BUILTIN:
		return lower_builtin(E, n);
	case CALLEE_FN:
	case CALLEE_C: {
		/* a defn, or a function of hand-written C (extern c:) */
		FnDecl *f = n->callee_kind == CALLEE_FN ? n->callee_fn : NULL;
		const ExternDecl *c = n->callee_kind == CALLEE_C ? n->callee_extern : NULL;
		keep_operand_order(E, (Node **)n->args.items, n->args.len);
		sb_printf(&sb, "%s(", f ? f->c_name : c->name);
		for (int i = 0; i < n->args.len; i++) {
			Node *arg = n->args.items[i];
			const Type *pt = f ? (i < f->nparams ? f->params[i]->type : NULL)
					   : (i < c->nparams ? c->params[i] : NULL);
			/* a pointer goes as it is to a record parameter, a map
			 * handle as it is to a map handle parameter, and any
			 * other pointer as an address to a :u64 one */
			bool takes_pointer = !pt || !is_int_type(pt) ||
					     (is_var_ref(arg) && var_info(E, arg->ref_var)->map_handle);
			CExpr v;
			if (is_var_ref(arg) && var_info(E, arg->ref_var)->c_pointer && takes_pointer)
				v = cx(var_text(E, arg->ref_var), PREC_POSTFIX);
			else
				v = value_for(E, arg, pt);
			if (!takes_pointer && arg->type && arg->type->kind == TY_PTR)
				v = cx(arena_printf("(%s)%s", pt->c_name, paren(v, PREC_UNARY)), PREC_UNARY);
			sb_printf(&sb, "%s%s", i ? ", " : "", paren(v, PREC_ASSIGN));
		}
		break;
	}
	case CALLEE_HELPER: {
		keep_operand_order(E, (Node **)n->args.items, n->args.len);
		/* copies for by-value arguments are declared first, in order */
		const char **args = arena_alloc(sizeof(*args) * (size_t)(n->args.len + 1));
		for (int i = 0; i < n->args.len; i++) {
			int map_arg;
			char k = helper_by_value_arg(n, i, &map_arg);
			Node *arg = n->args.items[i];
			/* a pointer already is the address the helper reads */
			if (arg->type && arg->type->kind == TY_PTR)
				k = 0;
			args[i] = k ? by_value_arg(E, n, i, k) : helper_arg(E, n, i);
		}
		const char *name = n->callee_extern && n->callee_extern->helper
					   ? n->callee_extern->helper->name
					   : n->callee_extern ? n->callee_extern->name : n->name;
		sb_printf(&sb, "bpf_%s(", name);
		for (int i = 0; i < n->args.len; i++)
			sb_printf(&sb, "%s%s", i ? ", " : "", args[i]);
		break;
	}
	case CALLEE_NONE:
		sb_printf(&sb, "%s(", n->name);
		break;
	}
	sb_putc(&sb, ')');
	CExpr r = cx(arena_strdup(sb.data), PREC_POSTFIX);
	sb_free(&sb);
	return r;
}

/* ---- statements ---------------------------------------------------------------- */

static bool fn_returns_value(Emitter *E)
{
	return E->fn->ret && E->fn->ret->kind != TY_UNIT;
}

/* The value of n delivered to d as one statement. */
static void deliver(Emitter *E, Node *n, Dest d)
{
	switch (d.kind) {
	case DEST_DISCARD:
		break;
	case DEST_RETURN: {
		CExpr v;
		if (E->fn->is_entry)
			v = exact_value(E, n); /* the entry returns int */
		else
			v = value_for(E, n, E->fn->ret);
		add_line(E, line_of(n), arena_printf("return %s;", v.s));
		return;
	}
	case DEST_ASSIGN: {
		CExpr v = value_for(E, n, d.type);
		add_line(E, line_of(n), arena_printf("%s = %s;", d.target, paren(v, PREC_ASSIGN)));
		return;
	}
	}
}

/* n evaluated for its effects only. */
static void discard(Emitter *E, Node *n)
{
	if (!has_effects(n))
		return;
	switch (n->kind) {
	case N_CALL:
		if (n->callee_kind == CALLEE_BUILTIN && n->builtin != BI_STORE && n->builtin != BI_STACK_STORE) {
			for (int i = 0; i < n->args.len; i++)
				discard(E, n->args.items[i]);
			return;
		}
		add_line(E, line_of(n), arena_printf("%s;", lower_value(E, n).s));
		return;
	case N_BINOP:
	case N_NEG:
	case N_NOT:
	case N_CAST:
	case N_FIELD:
		if (n->lhs)
			discard(E, n->lhs);
		if (n->rhs)
			discard(E, n->rhs);
		return;
	default:
		/* let, do, if, match, for, set!, andalso, orelse */
		lower_stmt(E, n, (Dest){ DEST_DISCARD, NULL, NULL });
		return;
	}
}

/* A block built by lowering n into d. */
static CBlock *branch(Emitter *E, Node *n, Dest d)
{
	CBlock *saved;
	CBlock *b = enter_block(E, &saved);
	if (n)
		lower_stmt(E, n, d);
	leave_block(E, saved);
	return b;
}

/* Did lowering produce no statement at all? */
static bool block_empty(const CBlock *b)
{
	return !b || b->stmts.len == 0;
}

/* An if statement with branches already lowered; an empty then-branch
 * turns the condition around. */
static void emit_if(Emitter *E, int line, CExpr cond, CBlock *then, CBlock *els)
{
	if (block_empty(then) && block_empty(els))
		return;
	if (block_empty(then)) {
		cond = negate(cond);
		then = els;
		els = NULL;
	}
	CStmt *s = add_stmt(E, CS_IF, line, cond.s);
	s->then = then;
	if (!block_empty(els))
		s->els = els;
}

static void lower_if(Emitter *E, Node *n, CExpr cond, Node *then, Node *els, Dest d)
{
	bool flatten = d.kind == DEST_RETURN && fn_returns_value(E);
	if (flatten && els && then && !needs_stmts(E, els) && needs_stmts(E, then)) {
		/* early return: if (!ok) return 0; ... */
		cond = negate(cond);
		Node *t = then;
		then = els;
		els = t;
	}
	CBlock *tb = branch(E, then, d);
	if (flatten) {
		CBlock *saved_cur = E->cur;
		CStmt *s = add_stmt(E, CS_IF, line_of(n), cond.s);
		s->then = tb;
		E->cur = saved_cur;
		if (els)
			lower_stmt(E, els, d);
		return;
	}
	CBlock *eb = branch(E, els, d);
	emit_if(E, line_of(n), cond, tb, eb);
}

/* The first clause whose pattern matches a non-null pointer / a null one,
 * (or true / false for a :bool scrutinee). */
static MatchClause *first_clause(Node *n, bool want_some)
{
	for (int i = 0; i < n->clauses.len; i++) {
		MatchClause *c = n->clauses.items[i];
		PatternKind k = c->pattern->kind;
		if (k == PAT_WILD || k == PAT_BIND)
			return c;
		if (want_some && (k == PAT_SOME || (k == PAT_BOOL && c->pattern->value)))
			return c;
		if (!want_some && (k == PAT_NONE || (k == PAT_BOOL && !c->pattern->value)))
			return c;
	}
	return NULL;
}

/* The scrutinee as something that can be named several times: a variable
 * as it is, else a declared local named after binding (when one of the
 * clauses binds it), else the expression itself (named once). */
static CExpr scrutinee(Emitter *E, Node *n, Var *binding, bool *declared)
{
	*declared = false;
	if (is_var_ref(n->lhs))
		return lower_value(E, n->lhs);
	if (binding && var_info(E, binding)->uses > 0) {
		CExpr v = value_for(E, n->lhs, binding->type);
		add_decl(E, line_of(n->lhs), arena_printf("%s = %s;", c_decl(E, binding->type, binding->c_name), v.s));
		*declared = true;
		return cx(binding->c_name, PREC_POSTFIX);
	}
	return exact_value(E, n->lhs);
}

static void alias(Emitter *E, Var *v, CExpr e)
{
	if (v)
		var_info(E, v)->text = e.prec >= PREC_POSTFIX ? e.s : arena_printf("(%s)", e.s);
}

/* match on a nullable pointer or a :bool: an if. */
static void lower_match_two_way(Emitter *E, Node *n, Dest d)
{
	MatchClause *yes = first_clause(n, true), *no = first_clause(n, false);
	Var *bind = NULL;
	if (yes && yes->pattern->var && var_info(E, yes->pattern->var)->uses > 0)
		bind = yes->pattern->var;
	else if (no && no->pattern->kind == PAT_BIND && no->pattern->var &&
		 var_info(E, no->pattern->var)->uses > 0)
		bind = no->pattern->var;
	if (d.kind == DEST_DISCARD && !has_effects(yes ? yes->body : NULL) &&
	    !has_effects(no ? no->body : NULL)) {
		discard(E, n->lhs);
		return;
	}
	bool declared;
	CExpr p = scrutinee(E, n, bind, &declared);
	if (yes && yes->pattern->var)
		alias(E, yes->pattern->var, p);
	if (no && no->pattern->var)
		alias(E, no->pattern->var, p);
	lower_if(E, n, p, yes ? yes->body : NULL, no ? no->body : NULL, d);
}

/* match on an integer: a switch, or an if for a single literal. */
static void lower_match_int(Emitter *E, Node *n, Dest d)
{
	Vec cases = { 0 }; /* MatchClause* with literal patterns, duplicates dropped */
	MatchClause *deflt = NULL;
	for (int i = 0; i < n->clauses.len && !deflt; i++) {
		MatchClause *c = n->clauses.items[i];
		if (c->pattern->kind != PAT_INT) {
			deflt = c;
			break;
		}
		bool dup = false;
		for (int j = 0; j < cases.len; j++) {
			MatchClause *o = cases.items[j];
			dup |= o->pattern->value == c->pattern->value;
		}
		if (!dup)
			vec_push(&cases, c);
	}
	Var *bind = deflt && deflt->pattern->kind == PAT_BIND ? deflt->pattern->var : NULL;
	bool clause_effects = false;
	for (int i = 0; i < n->clauses.len; i++)
		clause_effects |= clause_emitted(n, i) && has_effects(((MatchClause *)n->clauses.items[i])->body);
	if (d.kind == DEST_DISCARD && !clause_effects) {
		discard(E, n->lhs);
		return;
	}
	bool declared;
	CExpr x = scrutinee(E, n, bind, &declared);
	if (bind)
		alias(E, bind, x);
	Type *t = n->lhs->type;
	bool flatten = d.kind == DEST_RETURN && fn_returns_value(E);

	if (cases.len == 0) {
		if (deflt)
			lower_stmt(E, deflt->body, d);
		return;
	}
	if (cases.len == 1) {
		MatchClause *c = cases.items[0];
		CExpr lit = cx(int_literal(t, c->pattern->value, c->pattern->negative, false, false), PREC_POSTFIX);
		CExpr cond = cx(arena_printf("%s == %s", paren(x, PREC_EQ + 1), lit.s), PREC_EQ);
		cond.is_binop = true;
		cond.op = OP_EQ;
		lower_if(E, n, cond, c->body, deflt ? deflt->body : NULL, d);
		return;
	}
	CStmt *s = add_stmt(E, CS_SWITCH, line_of(n), paren(x, PREC_COMMA));
	for (int i = 0; i <= cases.len; i++) {
		MatchClause *c = i < cases.len ? cases.items[i] : deflt;
		if (!c)
			break;
		CBlock *saved;
		CBlock *b = enter_block(E, &saved);
		lower_stmt(E, c->body, d);
		if (!flatten)
			add_line(E, 0, "break;");
		leave_block(E, saved);
		if (i == cases.len && !flatten && b->stmts.len == 1)
			break; /* an empty default */
		CCase *cc = arena_alloc(sizeof(*cc));
		cc->label = i < cases.len ? arena_printf("case %s:", int_literal(t, c->pattern->value,
										  c->pattern->negative, false, false))
					  : "default:";
		cc->body = b;
		vec_push(&s->cases, cc);
	}
}

static void lower_match(Emitter *E, Node *n, Dest d)
{
	Type *t = n->lhs->type;
	if (t && (t->kind == TY_PTR || t->kind == TY_BOOL))
		lower_match_two_way(E, n, d);
	else
		lower_match_int(E, n, d);
}

/* Is the loop bound n safe to re-evaluate on every iteration? */
static bool stable_bound(const Node *n, const Node *body)
{
	if (n->kind == N_INT || is_var_ref(n) || (n->kind == N_NAME && n->ref == REF_KCONST))
		return true;
	if (n->kind == N_NAME && n->ref == REF_GLOBAL)
		return n->ref_global->is_const || !has_effects(body);
	return false;
}

static void lower_for(Emitter *E, Node *n)
{
	Var *v = n->var;
	Type *t = v ? v->type : n->lhs->type;
	const char *i = v ? var_text(E, v) : "i";
	CExpr start = value_for(E, n->lhs, t);
	CExpr end;
	if (stable_bound(n->rhs, n->body)) {
		end = exact_value(E, n->rhs);
	} else {
		CExpr e = value_for(E, n->rhs, t);
		const char *name = new_local(E, "end");
		add_glued_decl(E, line_of(n->rhs), arena_printf("const %s = %s;", c_decl(E, t, name), e.s));
		end = cx(name, PREC_POSTFIX);
	}
	CStmt *s = add_stmt(E, CS_FOR, line_of(n),
			    arena_printf("%s = %s; %s < %s; %s++", c_decl(E, t, i), start.s, i,
					 paren(end, PREC_REL + 1), i));
	s->then = branch(E, n->body, (Dest){ DEST_DISCARD, NULL, NULL });
}

static void lower_set(Emitter *E, Node *n)
{
	const char *target;
	Type *t;
	if (n->lhs) {
		target = field_value(E, n->lhs, true).s;
		t = n->lhs->type;
	} else {
		target = n->ref_global ? n->ref_global->c_name : n->name;
		t = n->ref_global ? n->ref_global->type : n->rhs->type;
	}
	Node *v = n->rhs;
	/* (set! g (+ g x)) -> g += x */
	if (v->kind == N_BINOP && !binop_is_comparison(v->op) &&
	    !((v->op == OP_DIV || v->op == OP_REM) && t && t->is_signed) && !wraps_unsigned(v->op, t)) {
		bool same = false;
		if (!n->lhs && v->lhs->kind == N_NAME && v->lhs->ref == REF_GLOBAL)
			same = v->lhs->ref_global == n->ref_global;
		else if (n->lhs && v->lhs->kind == N_FIELD && !has_effects(n->lhs))
			same = strcmp(field_value(E, v->lhs, true).s, target) == 0;
		if (same) {
			CExpr r = v->rhs->kind == N_INT ? literal_operand(E, v->rhs, false, is_bitwise(v->op))
							: value_for(E, v->rhs, t);
			add_line(E, line_of(n), arena_printf("%s %s= %s;", target, binop_c_name(v->op), r.s));
			return;
		}
	}
	CExpr val = value_for(E, v, t);
	add_line(E, line_of(n), arena_printf("%s = %s;", target, paren(val, PREC_ASSIGN)));
}

/* The C type a variable is declared with: its own, or the copy type of
 * VarInfo.copy_type. */
static Type *var_decl_type(Emitter *E, const Var *v)
{
	VarInfo *vi = var_info(E, v);
	return vi->let_bound && vi->copy_type && !vi->other_use ? vi->copy_type : v->type;
}

/* A let binding: a declaration, or nothing when the variable is unused
 * (its initialiser's effects, if any, still happen). */
static void lower_binding(Emitter *E, Binding *b)
{
	Var *v = b->var;
	int line = b->name_span.line ? (int)b->name_span.line : line_of(b->init);
	if (!v || var_info(E, v)->uses == 0) {
		lower_stmt(E, b->init, (Dest){ DEST_DISCARD, NULL, NULL });
		return;
	}
	const char *name = var_text(E, v);
	Type *type = var_decl_type(E, v);
	Node *init = b->init;
	/* declarations and effects of an init that is itself a let or do
	 * come first; the variable takes the final value */
	while (init->kind == N_LET || (init->kind == N_DO && init->args.len > 0)) {
		if (init->kind == N_LET) {
			for (int i = 0; i < init->bindings.len; i++)
				lower_binding(E, init->bindings.items[i]);
			init = init->body;
		} else {
			for (int i = 0; i + 1 < init->args.len; i++)
				lower_stmt(E, init->args.items[i], (Dest){ DEST_DISCARD, NULL, NULL });
			init = init->args.items[init->args.len - 1];
		}
	}
	if (needs_stmts(E, init) &&
	    (init->kind == N_IF || init->kind == N_MATCH || init->kind == N_AND || init->kind == N_OR)) {
		add_glued_decl(E, line, arena_printf("%s;", c_decl(E, type, name)));
		lower_stmt(E, init, (Dest){ DEST_ASSIGN, name, type });
		return;
	}
	CExpr val = value_for(E, init, type);
	add_decl(E, line, arena_printf("%s = %s;", c_decl(E, type, name), val.s));
}

/* Does n's source fit on one line? */
static bool one_line(const Node *n)
{
	const SourceFile *f = n->span.file;
	if (!f || !f->text || n->span.offset + n->span.len > f->len)
		return false;
	return memchr(f->text + n->span.offset, '\n', n->span.len) == NULL;
}

static void lower_stmt(Emitter *E, Node *n, Dest d)
{
	if (!n)
		return;
	/* a function returning nothing: its tail is a statement like any */
	if (d.kind == DEST_RETURN && !fn_returns_value(E))
		d.kind = DEST_DISCARD;
	switch (n->kind) {
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++)
			lower_binding(E, n->bindings.items[i]);
		lower_stmt(E, n->body, d);
		return;
	case N_DO:
		for (int i = 0; i < n->args.len; i++)
			lower_stmt(E, n->args.items[i], i + 1 < n->args.len ? (Dest){ DEST_DISCARD, NULL, NULL } : d);
		return;
	case N_IF:
		if (d.kind == DEST_ASSIGN && !needs_stmts(E, n))
			break;
		/* written on one line, returned on one line */
		if (d.kind == DEST_RETURN && !needs_stmts(E, n) && n->then->kind != N_IF &&
		    n->els->kind != N_IF && one_line(n) && one_line(n->cond) && one_line(n->els) &&
		    n->cond->span.line == n->span.line && n->els->span.line == n->span.line)
			break;
		if (d.kind == DEST_DISCARD && !has_effects(n->then) && !has_effects(n->els)) {
			discard(E, n->cond);
			return;
		}
		lower_if(E, n, lower_value(E, n->cond), n->then, n->els, d);
		return;
	case N_AND:
	case N_OR:
		if (d.kind == DEST_DISCARD) {
			if (!has_effects(n->rhs)) {
				discard(E, n->lhs);
				return;
			}
			CExpr c = lower_value(E, n->lhs);
			CBlock *b = branch(E, n->rhs, d);
			emit_if(E, line_of(n), n->kind == N_AND ? c : negate(c), b, NULL);
			return;
		}
		if (!needs_stmts(E, n->rhs))
			break;
		{
			/* (andalso a b) is (if a b false), (orelse a b) is (if a true b) */
			CExpr c = lower_value(E, n->lhs);
			Node lit = { .kind = N_BOOL, .span = n->span, .type = ty_bool, .value = n->kind == N_OR };
			Node *litp = arena_alloc(sizeof(*litp));
			*litp = lit;
			if (n->kind == N_AND)
				lower_if(E, n, c, n->rhs, litp, d);
			else
				lower_if(E, n, c, litp, n->rhs, d);
		}
		return;
	case N_MATCH:
		lower_match(E, n, d);
		return;
	case N_FOR:
		lower_for(E, n);
		return;
	case N_SET:
		lower_set(E, n);
		return;
	default:
		break;
	}
	if (d.kind == DEST_DISCARD)
		discard(E, n);
	else
		deliver(E, n, d);
}

/* ---- printing ------------------------------------------------------------------ */

typedef struct Printer {
	StrBuf *out;
	int depth;
	long line;        /* .va line the next output line has; 0: unknown */
	bool directives;
	const char *file; /* escaped, with quotes */
} Printer;

/* Prints text at the current depth; text may hold several lines (the
 * stack scratch union), each indented. */
static void print_raw_line(Printer *P, const char *text)
{
	for (;;) {
		const char *nl = strchr(text, '\n');
		for (int i = 0; i < P->depth; i++)
			sb_putc(P->out, '\t');
		sb_printf(P->out, "%.*s\n", nl ? (int)(nl - text) : (int)strlen(text), text);
		if (P->line)
			P->line++;
		if (!nl)
			return;
		text = nl + 1;
	}
}

/* ---- line breaking ----------------------------------------------------------
 *
 * The output must be a fixed point of clang-format with the kernel's
 * .clang-format (80 columns, tabs of 8, operands aligned). For the shapes
 * the emitter produces, clang-format 14 breaks a long statement like this,
 * and so do we:
 *   - a binary-operator chain: after the lowest-precedence top-level
 *     operator, packing greedily, continuation lines aligned with the
 *     expression's start (after "return ", "if (", "x = ");
 *   - where that does not fit after "x = ": break after the "=" and
 *     continue one indent (8 columns) deeper;
 *   - a call: arguments packed greedily, aligned after the "(".
 * Anything else is left long (clang-format would then rewrap it; the
 * golden tests would say so). */

enum { COLUMN_LIMIT = 80 };

static const struct {
	const char *text;
	int prec;
} c_binops[] = {
	{ " || ", PREC_LOR }, { " && ", PREC_LAND }, { " | ", PREC_BOR },   { " ^ ", PREC_BXOR },
	{ " & ", PREC_BAND }, { " == ", PREC_EQ },   { " != ", PREC_EQ },   { " <= ", PREC_REL },
	{ " >= ", PREC_REL }, { " < ", PREC_REL },   { " > ", PREC_REL },   { " << ", PREC_SHIFT },
	{ " >> ", PREC_SHIFT }, { " + ", PREC_ADD }, { " - ", PREC_ADD },   { " * ", PREC_MUL },
	{ " / ", PREC_MUL },  { " % ", PREC_MUL },
};

/* Splits expr after each top-level operator of its lowest precedence.
 * Returns the number of pieces (0: nothing to split at); pieces keep their
 * trailing operator. */
static int split_expr(const char *expr, Vec *pieces)
{
	int lowest = 1000;
	int depth = 0;
	size_t n = strlen(expr);
	for (size_t i = 0; i < n; i++) {
		char c = expr[i];
		if (c == '(' || c == '[')
			depth++;
		else if (c == ')' || c == ']')
			depth--;
		else if (depth == 0 && c == ' ')
			for (size_t k = 0; k < sizeof(c_binops) / sizeof(*c_binops); k++)
				if (strncmp(expr + i, c_binops[k].text, strlen(c_binops[k].text)) == 0 &&
				    c_binops[k].prec < lowest)
					lowest = c_binops[k].prec;
		if (depth == 0 && (c == '?' || c == '"'))
			return 0; /* ternaries and strings: left alone */
	}
	if (lowest == 1000)
		return 0;
	size_t start = 0;
	depth = 0;
	for (size_t i = 0; i < n; i++) {
		char c = expr[i];
		if (c == '(' || c == '[')
			depth++;
		else if (c == ')' || c == ']')
			depth--;
		else if (depth == 0 && c == ' ') {
			for (size_t k = 0; k < sizeof(c_binops) / sizeof(*c_binops); k++) {
				size_t len = strlen(c_binops[k].text);
				if (c_binops[k].prec == lowest && strncmp(expr + i, c_binops[k].text, len) == 0) {
					/* piece ends with the operator, without the space after it */
					vec_push(pieces, arena_strndup(expr + start, i + len - 1 - start));
					start = i + len;
					i += len - 1;
					break;
				}
			}
		}
	}
	vec_push(pieces, arena_strdup(expr + start));
	return pieces->len;
}

/* The arguments of a call "name(a, b, c)": pieces "name(a," "b," "c)". */
static int split_call(const char *expr, Vec *pieces)
{
	const char *open = strchr(expr, '(');
	size_t n = strlen(expr);
	if (!open || expr[n - 1] != ')')
		return 0;
	for (const char *p = expr; p < open; p++)
		if (*p == ' ' || *p == '*' || *p == '&' || *p == '(')
			return 0;
	int depth = 0;
	size_t start = 0;
	for (size_t i = (size_t)(open - expr); i < n; i++) {
		char c = expr[i];
		if (c == '(' || c == '[')
			depth++;
		else if (c == ')' || c == ']') {
			if (--depth == 0 && i != n - 1)
				return 0; /* not one call */
		} else if (depth == 1 && c == ',' && expr[i + 1] == ' ') {
			vec_push(pieces, arena_strndup(expr + start, i + 1 - start));
			start = i + 2;
		}
	}
	vec_push(pieces, arena_strdup(expr + start));
	return pieces->len;
}

/* For "(T)(inner)" or "(inner)": the offset of inner, else 0. */
static size_t wrapped_inner(const char *expr)
{
	size_t n = strlen(expr), at = 0;
	if (n < 3 || expr[n - 1] != ')')
		return 0;
	if (expr[0] == '(' && expr[1] != '(') {
		/* a cast: "(T)" then "(" */
		const char *close = strchr(expr, ')');
		if (!close || close[1] != '(')
			return 0;
		at = (size_t)(close + 1 - expr);
	}
	if (expr[at] != '(')
		return 0;
	/* the "(" at `at` must close at the very end */
	int depth = 0;
	for (size_t i = at; i < n; i++) {
		if (expr[i] == '(')
			depth++;
		else if (expr[i] == ')' && --depth == 0 && i != n - 1)
			return 0;
	}
	return at + 1;
}

static void put_indent(StrBuf *out, int col)
{
	for (; col >= 8; col -= 8)
		sb_putc(out, '\t');
	for (; col > 0; col--)
		sb_putc(out, ' ');
}

/* Packs pieces greedily: the first line starts at column first_col after
 * head, continuation lines at column cont_col. Fails (returns false,
 * writing nothing) when some line would not fit. */
static bool pack(Printer *P, const char *head, int first_col, int cont_col, Vec *pieces, const char *tail,
		 bool dry)
{
	StrBuf sb = { 0 };
	int col = first_col;
	bool fits = true;
	sb_puts(&sb, head);
	int lines = 1;
	for (int i = 0; i < pieces->len; i++) {
		const char *piece = pieces->items[i];
		int len = (int)strlen(piece) + (i + 1 == pieces->len ? (int)strlen(tail) : 0);
		bool at_start = i == 0;
		if (!at_start && col + 1 + len > COLUMN_LIMIT) {
			sb_putc(&sb, '\n');
			put_indent(&sb, cont_col);
			col = cont_col;
			lines++;
		} else if (!at_start) {
			sb_putc(&sb, ' ');
			col++;
		}
		sb_puts(&sb, piece);
		col += (int)strlen(piece);
		if (col + (i + 1 == pieces->len ? (int)strlen(tail) : 0) > COLUMN_LIMIT)
			fits = false;
	}
	sb_puts(&sb, tail);
	if (fits && !dry) {
		sb_puts(P->out, sb.data);
		sb_putc(P->out, '\n');
		if (P->line)
			P->line += lines;
	}
	sb_free(&sb);
	return fits;
}

/* Finds where the expression of a statement starts: after "return ",
 * "if (", or a top-level assignment operator; *tail_len gets the length of
 * what follows the expression (";" or ")" or ") {"). */
static size_t expr_start(const char *text, size_t *tail_len, bool *is_assign)
{
	size_t n = strlen(text);
	*is_assign = false;
	*tail_len = 0;
	if (n && text[n - 1] == ';')
		*tail_len = 1;
	if (strncmp(text, "return ", 7) == 0)
		return 7;
	if (strncmp(text, "if (", 4) == 0 || strncmp(text, "} else if (", 11) == 0) {
		*tail_len = text[n - 1] == '{' ? 3 : 1;
		return strchr(text, '(') - text + 1;
	}
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		if (c == '(' || c == '[')
			depth++;
		else if (c == ')' || c == ']')
			depth--;
		else if (depth == 0 && c == '=' && i > 0 && text[i + 1] == ' ' &&
			 (text[i - 1] == ' ' || (i > 1 && text[i - 2] == ' ' && strchr("+-*/%&|^", text[i - 1])) ||
			  (i > 2 && text[i - 3] == ' ' && (text[i - 1] == '<' || text[i - 1] == '>')))) {
			*is_assign = true;
			return i + 2;
		}
	}
	return 0;
}

/* "extern __u32 f(struct xdp_md *, __u32)": a declaration, which breaks
 * like a signature, not like a call: a type, then a name and a list. */
static bool is_prototype(const char *expr)
{
	const char *open = strchr(expr, '(');
	const char *space = strchr(expr, ' ');
	return open && space && space < open && strncmp(expr, "return ", 7) != 0;
}

static void print_text(Printer *P, const char *text)
{
	int indent = P->depth * 8;
	if (indent + (int)strlen(text) > COLUMN_LIMIT && !strchr(text, '\n')) {
		size_t tail_len;
		bool is_assign;
		size_t start = expr_start(text, &tail_len, &is_assign);
		size_t n = strlen(text);
		const char *head = arena_strndup(text, start);
		const char *expr = arena_strndup(text + start, n - start - tail_len);
		const char *tail = text + n - tail_len;
		Vec ops = { 0 }, args = { 0 };
		int nops = split_expr(expr, &ops);
		size_t inner = nops > 1 ? 0 : wrapped_inner(expr);
		if (inner) {
			/* (__u32)(a + b): break inside the parentheses, aligned
			 * after the "(" */
			Vec inner_ops = { 0 };
			const char *in = arena_strndup(expr + inner, strlen(expr) - inner - 1);
			if (split_expr(in, &inner_ops) > 1) {
				StrBuf lead = { 0 };
				for (int i = 0; i < P->depth; i++)
					sb_putc(&lead, '\t');
				sb_printf(&lead, "%s%.*s", head, (int)inner, expr);
				int c0 = indent + (int)start + (int)inner;
				const char *t = arena_printf(")%s", tail);
				bool ok = pack(P, lead.data, c0, c0, &inner_ops, t, true) &&
					  pack(P, lead.data, c0, c0, &inner_ops, t, false);
				sb_free(&lead);
				if (ok)
					return;
			}
		}
		int nargs = nops ? 0 : split_call(expr, &args);
		StrBuf lead = { 0 };
		for (int i = 0; i < P->depth; i++)
			sb_putc(&lead, '\t');
		sb_puts(&lead, head);
		const char *lead_s = lead.data;
		int col = indent + (int)start;
		bool done = false;
		if (nops > 1) {
			if (pack(P, lead_s, col, col, &ops, tail, true)) {
				done = pack(P, lead_s, col, col, &ops, tail, false);
			} else if (is_assign) {
				/* "x =" then the expression one indent deeper */
				const char *h = arena_printf("%.*s\n", (int)(strlen(lead_s) - 1), lead_s);
				StrBuf sb = { 0 };
				sb_puts(&sb, h);
				put_indent(&sb, indent + 8);
				if (pack(P, sb.data, indent + 8, indent + 8, &ops, tail, true)) {
					done = pack(P, sb.data, indent + 8, indent + 8, &ops, tail, false);
					if (done && P->line)
						P->line++;
				}
				sb_free(&sb);
			}
		} else if (nops == 0 && start == 0 && (tail_len == 0 || is_prototype(expr)) && strchr(expr, '(') &&
			   strchr(expr, ' ') &&
			   strchr(expr, ' ') < strchr(expr, '(') && expr[strlen(expr) - 1] == ')') {
			/* a function signature: parameters aligned after the "(" that
			 * opens them, the one matching the final ")" */
			int depth = 0;
			const char *o = expr + strlen(expr) - 1;
			for (; o > expr; o--) {
				if (*o == ')')
					depth++;
				else if (*o == '(' && --depth == 0)
					break;
			}
			const char *name_start = o;
			while (name_start > expr && name_start[-1] != ' ' && name_start[-1] != '*')
				name_start--;
			Vec params = { 0 };
			split_call(name_start, &params);
			if (params.len > 1) {
				/* the first piece gets the whole head */
				params.items[0] = arena_printf("%.*s%s", (int)(name_start - expr), expr,
							       (const char *)params.items[0]);
				done = pack(P, lead_s, col, indent + (int)(o + 1 - expr), &params, tail, false);
			}
		} else if (nargs > 1) {
			if (is_assign && indent + 8 + (int)strlen(expr) + (int)tail_len <= COLUMN_LIMIT) {
				sb_printf(P->out, "%.*s\n", (int)(strlen(lead_s) - 1), lead_s);
				put_indent(P->out, indent + 8);
				sb_printf(P->out, "%s%s\n", expr, tail);
				if (P->line)
					P->line += 2;
				done = true;
			} else {
				int open = (int)(strchr(expr, '(') - expr) + 1;
				done = pack(P, lead_s, col, col + open, &args, tail, false);
				if (!done) {
					/* clang-format's other break: after the "(", the
					 * arguments one indent deeper */
					StrBuf sb = { 0 };
					sb_printf(&sb, "%s%.*s\n", lead_s, open, expr);
					put_indent(&sb, indent + 8);
					Vec rest = { 0 };
					for (int i = 0; i < args.len; i++)
						vec_push(&rest, i ? args.items[i]
								  : (void *)arena_strdup((const char *)args.items[0] + open));
					done = pack(P, sb.data, indent + 8, indent + 8, &rest, tail, false);
					if (done && P->line)
						P->line++;
					sb_free(&sb);
				}
			}
		}
		sb_free(&lead);
		if (done)
			return;
	}
	print_raw_line(P, text);
}

/* One output line produced by source line `line`: a #line directive first
 * when the line numbering does not already say so. */
static void print_line(Printer *P, int line, const char *text)
{
	if (P->directives && line > 0 && line != P->line) {
		sb_printf(P->out, "#line %d %s\n", line, P->file);
		P->line = line;
	}
	print_text(P, text);
}

static void print_block(Printer *P, const CBlock *b);

/* Can block b be an unbraced body: one plain statement, not a
 * declaration? (Whether a #line would land inside is checked by printing
 * it.) */
static bool bare_ok(const CBlock *b)
{
	if (!b || b->stmts.len != 1)
		return false;
	const CStmt *s = b->stmts.items[0];
	return s->kind == CS_LINE && !s->is_decl;
}

static void print_stmt(Printer *P, const CStmt *s);

/* Prints an if / else if / else chain, braces on every branch or none
 * (kernel style), none only when each branch is one plain statement and
 * no #line directive has to go inside. */
static void print_if_chain(Printer *P, const CStmt *s, bool braces)
{
	const CStmt *cur = s;
	const char *kw = "if";
	for (;;) {
		if (braces) {
			if (cur == s)
				print_line(P, cur->line, arena_printf("if (%s) {", cur->text));
			else
				print_line(P, cur->line, arena_printf("} else if (%s) {", cur->text));
		} else {
			print_line(P, cur->line, arena_printf("%s (%s)", kw, cur->text));
		}
		P->depth++;
		print_block(P, cur->then);
		P->depth--;
		const CBlock *els = cur->els;
		if (!els) {
			if (braces)
				print_raw_line(P, "}");
			return;
		}
		if (els->stmts.len == 1 && ((CStmt *)els->stmts.items[0])->kind == CS_IF) {
			cur = els->stmts.items[0];
			kw = "else if";
			continue;
		}
		print_raw_line(P, braces ? "} else {" : "else");
		P->depth++;
		print_block(P, els);
		P->depth--;
		if (braces)
			print_raw_line(P, "}");
		return;
	}
}

static bool chain_bare_ok(const CStmt *s)
{
	for (const CStmt *cur = s;;) {
		if (!bare_ok(cur->then))
			return false;
		if (!cur->els)
			return true;
		if (cur->els->stmts.len == 1 && ((CStmt *)cur->els->stmts.items[0])->kind == CS_IF) {
			cur = cur->els->stmts.items[0];
			continue;
		}
		return bare_ok(cur->els);
	}
}

/* Prints into a scratch buffer to see whether a #line would land inside. */
static bool trial_has_directive(Printer *P, const CStmt *s)
{
	StrBuf scratch = { 0 };
	Printer t = *P;
	t.out = &scratch;
	print_if_chain(&t, s, false);
	bool found = scratch.data && strstr(scratch.data, "\n#line ") != NULL;
	sb_free(&scratch);
	return found;
}

static void print_body(Printer *P, const char *head, int line, const CBlock *b)
{
	StrBuf scratch = { 0 };
	bool bare = bare_ok(b);
	if (bare) {
		Printer t = *P;
		t.out = &scratch;
		print_line(&t, line, head);
		t.depth++;
		print_block(&t, b);
		bare = !(scratch.data && strstr(scratch.data, "\n#line "));
		sb_free(&scratch);
	}
	if (bare) {
		print_line(P, line, head);
		P->depth++;
		print_block(P, b);
		P->depth--;
		return;
	}
	print_line(P, line, arena_printf("%s {", head));
	P->depth++;
	print_block(P, b);
	P->depth--;
	print_raw_line(P, "}");
}

static void print_stmt(Printer *P, const CStmt *s)
{
	switch (s->kind) {
	case CS_LINE:
		print_line(P, s->line, s->text);
		return;
	case CS_IF:
		print_if_chain(P, s, !(chain_bare_ok(s) && !trial_has_directive(P, s)));
		return;
	case CS_FOR:
		if (block_empty(s->then)) {
			print_line(P, s->line, arena_printf("for (%s)", s->text));
			P->depth++;
			print_raw_line(P, ";");
			P->depth--;
			return;
		}
		print_body(P, arena_printf("for (%s)", s->text), s->line, s->then);
		return;
	case CS_SWITCH:
		print_line(P, s->line, arena_printf("switch (%s) {", s->text));
		for (int i = 0; i < s->cases.len; i++) {
			CCase *c = s->cases.items[i];
			/* a case's declarations need their own scope: without braces
			 * they would belong to the whole switch */
			bool block = false;
			for (int j = 0; j < c->body->stmts.len; j++)
				block |= ((CStmt *)c->body->stmts.items[j])->is_decl;
			print_raw_line(P, block ? arena_printf("%s {", c->label) : c->label);
			P->depth++;
			print_block(P, c->body);
			P->depth--;
			if (block)
				print_raw_line(P, "}");
		}
		print_raw_line(P, "}");
		return;
	}
}

static void print_block(Printer *P, const CBlock *b)
{
	bool after_decl = false;
	for (int i = 0; b && i < b->stmts.len; i++) {
		const CStmt *s = b->stmts.items[i];
		bool decl = s->kind == CS_LINE && s->is_decl;
		const CStmt *prev = i > 0 ? b->stmts.items[i - 1] : NULL;
		/* a copy made for a call's by-value argument stays with the
		 * call: both come from one source form */
		bool same_form = prev && prev->glued && after_decl && !decl;
		if (i > 0 && after_decl != decl && !same_form) {
			/* a blank line ends the declarations */
			sb_putc(P->out, '\n');
			if (P->line)
				P->line++;
		}
		after_decl = decl;
		print_stmt(P, s);
	}
}

/* ---- functions ----------------------------------------------------------------- */

static bool *new_handles(int n)
{
	return arena_alloc(sizeof(bool) * (size_t)(n > 0 ? n : 1));
}

static void find_handles_in(Emitter *E, const Node *n, const FnDecl *in, bool *changed);

static void find_handles_vec(Emitter *E, const Vec *v, const FnDecl *in, bool *changed)
{
	for (int i = 0; i < v->len; i++)
		find_handles_in(E, v->items[i], in, changed);
}

/* A parameter receives a map when some call passes it a map, or passes it
 * a parameter that itself receives a map. */
static void find_handles_in(Emitter *E, const Node *n, const FnDecl *in, bool *changed)
{
	if (!n)
		return;
	if (n->kind == N_CALL && n->callee_kind == CALLEE_FN && n->callee_fn) {
		bool *h = fn_handle_params(E, n->callee_fn);
		for (int i = 0; h && i < n->args.len && i < n->callee_fn->nparams; i++) {
			Node *a = n->args.items[i];
			bool is_map = a->type && a->type->kind == TY_MAP;
			if (!is_map && is_var_ref(a) && a->ref_var->is_param) {
				bool *mine = fn_handle_params(E, in);
				for (int j = 0; mine && j < in->nparams; j++)
					if (in->params[j]->var == a->ref_var && mine[j])
						is_map = true;
			}
			if (is_map && !h[i]) {
				h[i] = true;
				*changed = true;
			}
		}
	}
	switch (n->kind) {
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++) {
			Binding *b = n->bindings.items[i];
			find_handles_in(E, b->init, in, changed);
		}
		find_handles_in(E, n->body, in, changed);
		return;
	case N_MATCH:
		find_handles_in(E, n->lhs, in, changed);
		for (int i = 0; i < n->clauses.len; i++) {
			MatchClause *c = n->clauses.items[i];
			find_handles_in(E, c->body, in, changed);
		}
		return;
	default:
		find_handles_vec(E, &n->args, in, changed);
		find_handles_in(E, n->lhs, in, changed);
		find_handles_in(E, n->rhs, in, changed);
		find_handles_in(E, n->cond, in, changed);
		find_handles_in(E, n->then, in, changed);
		find_handles_in(E, n->els, in, changed);
		find_handles_in(E, n->body, in, changed);
		return;
	}
}

/* The stack built-ins a function uses: widths and the deepest offset. */
static void find_stack_use(Emitter *E, const Node *n)
{
	if (!n)
		return;
	if (n->kind == N_CALL && n->callee_kind == CALLEE_BUILTIN &&
	    (n->builtin == BI_STACK_LOAD || n->builtin == BI_STACK_STORE) && n->args.len > 0) {
		Node *off = n->args.items[0];
		int64_t depth = -(int64_t)off->value;
		if (off->negative && depth > E->stack_bytes)
			E->stack_bytes = (int)((depth + 7) / 8 * 8);
		if (n->builtin_type && n->builtin_type->size == 8)
			E->stack_u64 = true;
		else
			E->stack_u32 = true;
	}
	if (n->kind == N_LET)
		for (int i = 0; i < n->bindings.len; i++)
			find_stack_use(E, ((Binding *)n->bindings.items[i])->init);
	if (n->kind == N_MATCH)
		for (int i = 0; i < n->clauses.len; i++)
			find_stack_use(E, ((MatchClause *)n->clauses.items[i])->body);
	for (int i = 0; i < n->args.len; i++)
		find_stack_use(E, n->args.items[i]);
	find_stack_use(E, n->lhs);
	find_stack_use(E, n->rhs);
	find_stack_use(E, n->cond);
	find_stack_use(E, n->then);
	find_stack_use(E, n->els);
	find_stack_use(E, n->body);
}

/* How the entry's context reaches C: for most kinds the source parameter
 * is the C parameter; flow dissectors receive the __sk_buff and reach the
 * keys through skb->flow_keys, perf_event programs the registers through
 * &ctx->regs. */
static const struct {
	ProgKind kind;
	const char *param;   /* the C parameter's name */
	const char *reach;   /* printf format turning it into the record */
	const char *local;   /* the record's local when the source calls it
	                      * by the parameter's name */
} derived_contexts[] = {
	{ PK_FLOW_DISSECTOR, "skb", "%s->flow_keys", "keys" },
	{ PK_PERF_EVENT, "ctx", "&%s->regs", "regs" },
};

static void lower_function(Emitter *E, FnDecl *fn, Printer *P, bool reachable)
{
	E->fn = fn;
	int cap = 16;
	while (cap < 2 * (fn->locals.len + fn->nparams + 4))
		cap *= 2;
	E->nvars_cap = cap;
	E->vars = arena_alloc(sizeof(VarInfo) * (size_t)cap);
	E->scopes.len = 0;
	E->stack_bytes = 0;
	E->stack_u32 = E->stack_u64 = false;
	E->hoisted.len = E->hoisted_as.len = 0;

	/* the source calls the context `ctx`, which the checker reserves for
	 * us (C name ctx_): a parameter can have it back */
	for (int i = 0; i < fn->nparams; i++) {
		Var *v = fn->params[i]->var;
		if (v && strcmp(v->name, "ctx") == 0)
			var_info(E, v)->text = "ctx";
	}

	bool *handles = fn_handle_params(E, fn);
	for (int i = 0; i < fn->nparams; i++) {
		Var *v = fn->params[i]->var;
		if (v && handles && handles[i]) {
			var_info(E, v)->map_handle = true;
			var_info(E, v)->c_pointer = true;
			var_info(E, v)->c_type = "void *";
		}
	}

	count(E, fn->body, !fn->ret || fn->ret->kind == TY_UNIT);
	find_stack_use(E, fn->body);

	CBlock *saved;
	CBlock *body = enter_block(E, &saved);
	E->cur = body;
	int fn_line = (int)fn->span.line;

	/* the signature */
	const ProgramDecl *prog = E->m->program;
	const ProgKindInfo *kind = prog ? prog->kind : NULL;
	StrBuf sig = { 0 };
	Var *ctx_var = fn->nparams > 0 ? fn->params[0]->var : NULL;
	if (fn->is_entry) {
		const char *ctype = kind ? kind->c_context_type : "void *";
		const char *cparam = "ctx";
		const Type *pt = fn->nparams > 0 ? fn->params[0]->type : NULL;
		bool record_param = pt && pt->kind == TY_PTR && pt->pointee && pt->pointee->kind == TY_RECORD;
		bool own_record = record_param && pt->pointee->record && !pt->pointee->record->is_context;
		if (own_record) {
			/* a deftype that replaces the built-in context record: the
			 * program reads the context through the user's layout */
			ctype = c_type(E, pt);
			record_param = false;
		}
		const char *reach = NULL, *local = NULL;
		for (size_t i = 0; kind && i < sizeof(derived_contexts) / sizeof(*derived_contexts); i++)
			if (derived_contexts[i].kind == kind->kind && record_param) {
				cparam = derived_contexts[i].param;
				reach = derived_contexts[i].reach;
				local = derived_contexts[i].local;
			}
		if (reach || !ctx_var) {
			/* a C parameter of our choosing must differ from every local */
			for (int i = 0; i < fn->locals.len; i++) {
				Var *v = fn->locals.items[i];
				if (v != ctx_var && v->c_name && strcmp(v->c_name, cparam) == 0)
					cparam = arena_printf("%s_ctx", cparam);
			}
		}
		if (ctx_var && !reach) {
			VarInfo *vi = var_info(E, ctx_var);
			cparam = vi->text;
			if (!record_param && !own_record) {
				vi->c_pointer = true; /* :u64 context */
				vi->c_type = ctype;
			}
		}
		if (kind && (strstr(kind->c_context_type, "pt_regs") ||
			     (pt && pt->kind == TY_PTR && pt->pointee && pt->pointee->c_name &&
			      strstr(pt->pointee->c_name, "pt_regs"))))
			E->uses_ptrace = true;
		if (kind && kind->kind == PK_PERF_EVENT)
			E->uses_perf_event = true;
		sb_printf(&sig, "int %s(%s%s%s)", fn->c_name, ctype,
			  ctype[strlen(ctype) - 1] == '*' ? "" : " ", cparam);
		bool ctx_used = ctx_var && var_info(E, ctx_var)->uses > 0;
		if (reach && ctx_used) {
			if (strcmp(var_text(E, ctx_var), cparam) == 0)
				var_info(E, ctx_var)->text = new_local(E, local);
			add_decl(E, fn_line, arena_printf("%s = %s;", c_decl(E, pt, var_text(E, ctx_var)),
							  arena_printf(reach, cparam)));
		} else if (!ctx_used) {
			add_line(E, fn_line, arena_printf("(void)%s;", cparam));
		}
		for (int i = 1; i < fn->nparams; i++) {
			Var *v = fn->params[i]->var;
			sb_printf(&sig, ", %s", c_decl(E, fn->params[i]->type, var_text(E, v)));
		}
	} else {
		sb_printf(&sig, "%s(", c_decl(E, fn->ret, fn->c_name));
		for (int i = 0; i < fn->nparams; i++) {
			Var *v = fn->params[i]->var;
			const Type *t = fn->params[i]->type;
			VarInfo *vi = var_info(E, v);
			sb_printf(&sig, "%s%s", i ? ", " : "",
				  vi->map_handle ? arena_printf("void *%s", vi->text) : c_decl(E, t, vi->text));
			if (vi->uses == 0)
				add_line(E, fn_line, arena_printf("(void)%s;", vi->text));
		}
		if (fn->nparams == 0)
			sb_puts(&sig, "void");
		sb_putc(&sig, ')');
	}

	if (E->stack_bytes > 0) {
		E->stack_name = new_local(E, "stack");
		const char *decl;
		if (E->stack_u32 && E->stack_u64)
			decl = arena_printf("union {\n\t__u64 u64[%d];\n\t__u32 u32[%d];\n} %s;",
					    E->stack_bytes / 8, E->stack_bytes / 4, E->stack_name);
		else if (E->stack_u64)
			decl = arena_printf("__u64 %s[%d];", E->stack_name, E->stack_bytes / 8);
		else
			decl = arena_printf("__u32 %s[%d];", E->stack_name, E->stack_bytes / 4);
		add_decl(E, fn_line, arena_printf("/* frame slots of the bpf/stack_* built-ins */\n%s", decl));
	}

	lower_stmt(E, fn->body, (Dest){ DEST_RETURN, NULL, fn->ret });
	if (fn->is_entry && !fn_returns_value(E))
		add_line(E, 0, "return 0;");
	leave_block(E, saved);

	/* print */
	if (fn->is_entry) {
		const char *sec = kind ? prog_section_name(kind, prog->attach) : NULL;
		if (sec)
			print_raw_line(P, arena_printf("SEC(%s)", escape_c_string(sec)));
	}
	const char *storage = fn->is_entry || fn->exported ? "" : reachable ? "static " : "static __attribute__((unused)) ";
	P->line = 0;
	print_line(P, fn_line, arena_printf("%s%s", storage, sig.data));
	sb_free(&sig);
	print_raw_line(P, "{");
	P->depth = 1;
	print_block(P, body);
	P->depth = 0;
	print_raw_line(P, "}");
}

/* ---- the module ---------------------------------------------------------------- */

static const struct {
	const char *license;
	const char *spdx;
} spdx_ids[] = {
	{ "GPL", "GPL-2.0" },
	{ "GPL v2", "GPL-2.0" },
	{ "GPL and additional rights", "GPL-2.0" },
	{ "Dual BSD/GPL", "GPL-2.0 OR BSD-2-Clause" },
	{ "Dual MIT/GPL", "GPL-2.0 OR MIT" },
	{ "Dual MPL/GPL", "GPL-2.0 OR MPL-1.1" },
};

static const char *spdx_for(const char *license)
{
	for (size_t i = 0; i < sizeof(spdx_ids) / sizeof(*spdx_ids); i++)
		if (strcmp(spdx_ids[i].license, license) == 0)
			return spdx_ids[i].spdx;
	return NULL;
}

static void emit_record(Emitter *E, StrBuf *out, Record *r, Vec *done)
{
	for (int i = 0; i < done->len; i++)
		if (done->items[i] == r)
			return;
	vec_push(done, r);
	/* records used as fields first: C needs them complete */
	for (int i = 0; i < r->nfields; i++) {
		Type *t = r->fields[i]->type;
		if (t && t->kind == TY_RECORD && t->record && !t->record->is_context)
			emit_record(E, out, t->record, done);
	}
	sb_printf(out, "%s {\n", r->c_name);
	for (int i = 0; i < r->nfields; i++) {
		Field *f = r->fields[i];
		sb_printf(out, "\t%s;\n", c_decl(E, f->type, f->c_member ? f->c_member : f->name));
	}
	sb_puts(out, "};\n\n");
}

/* Map types whose kernel implementation refuses BTF key/value types: they
 * are declared with sizes (key_size/value_size), as libbpf's own
 * selftests do. */
static bool map_takes_sizes(const MapDecl *md)
{
	const char *e = md->map_type ? md->map_type->c_enum : "";
	return strcmp(e, "BPF_MAP_TYPE_PROG_ARRAY") == 0 || strcmp(e, "BPF_MAP_TYPE_PERF_EVENT_ARRAY") == 0;
}

static void emit_map(Emitter *E, StrBuf *out, const MapDecl *md)
{
	sb_printf(out, "%sstruct {\n", md->is_extern ? "extern " : "");
	sb_printf(out, "\t__uint(type, %s);\n", md->map_type ? md->map_type->c_enum : "0");
	if (map_takes_sizes(md)) {
		sb_printf(out, "\t__uint(key_size, sizeof(%s));\n", md->key ? md->key->c_name : "__u32");
		sb_printf(out, "\t__uint(value_size, sizeof(%s));\n", md->value ? md->value->c_name : "__u32");
	} else {
		if (md->key)
			sb_printf(out, "\t__type(key, %s);\n", c_type(E, md->key));
		if (md->value)
			sb_printf(out, "\t__type(value, %s);\n", c_type(E, md->value));
	}
	sb_printf(out, "\t__uint(max_entries, %" PRIu64 ");\n", md->max_entries);
	if (md->flags)
		sb_printf(out, "\t__uint(map_flags, %" PRIu64 ");\n", md->flags);
	if (md->pinned)
		sb_puts(out, "\t__uint(pinning, LIBBPF_PIN_BY_NAME);\n");
	sb_printf(out, "} %s SEC(\".maps\");\n\n", md->c_name);
}

/* "extern __u32 name(struct xdp_md *, __u32)": a function of another
 * object, by its types only. */
static const char *c_prototype(Emitter *E, const char *storage, const Type *ret, const char *name,
			       Type *const *params, int nparams)
{
	StrBuf sb = { 0 };
	sb_printf(&sb, "%s%s(", storage, c_decl(E, ret, name));
	for (int i = 0; i < nparams; i++)
		sb_printf(&sb, "%s%s", i ? ", " : "", c_type(E, params[i]));
	sb_puts(&sb, nparams ? ")" : "void)");
	const char *text = arena_strdup(sb.data);
	sb_free(&sb);
	return text;
}

static void emit_global(Emitter *E, StrBuf *out, const GlobalDecl *g)
{
	const char *decl = c_decl(E, g->type, g->c_name);
	if (g->is_const)
		sb_puts(out, "const volatile ");
	if (g->init) {
		/* a global's initialiser is a literal or a kernel constant */
		Emitter scratch = *E;
		FnDecl none = { 0 };
		scratch.fn = &none;
		CExpr v = lower_value(&scratch, g->init);
		E->uses_bool |= scratch.uses_bool;
		E->kconst_headers = scratch.kconst_headers;
		sb_printf(out, "%s = %s;\n", decl, v.s);
	} else {
		sb_printf(out, "%s;\n", decl);
	}
}

static void emit_division_helpers(Emitter *E, StrBuf *out)
{
	bool any = false;
	for (int which = 0; which < 8; which++)
		any |= E->uses_division[which];
	if (!any)
		return;
	sb_puts(out, "/* BPF defines x / 0 = 0 and x % 0 = x; C leaves both undefined, and\n"
		     " * clang would optimise on the divisor not being 0. Signed division\n"
		     " * (which clang 14 cannot emit for BPF) divides the magnitudes and\n"
		     " * restores the sign: C truncates toward zero. */\n");
	for (int which = 0; which < 8; which++) {
		if (!E->uses_division[which])
			continue;
		int b = which & DIV_64 ? 64 : 32;
		bool rem = which & DIV_REM;
		const char *name = division_helper_name(E, which);
		if (!(which & DIV_SIGNED)) {
			sb_printf(out, "static __always_inline __u%d %s(__u%d a, __u%d b)\n{\n", b, name, b, b);
			sb_printf(out, "\treturn b ? a %c b : %s;\n}\n\n", rem ? '%' : '/', rem ? "a" : "0");
			continue;
		}
		sb_printf(out, "static __always_inline __s%d %s(__s%d a, __s%d b)\n{\n", b, name, b, b);
		sb_printf(out, "\t__u%d ua = a < 0 ? -(__u%d)a : (__u%d)a;\n", b, b, b);
		sb_printf(out, "\t__u%d ub = b < 0 ? -(__u%d)b : (__u%d)b;\n", b, b, b);
		if (rem)
			sb_printf(out, "\t__u%d r = ub ? ua %% ub : ua;\n\n\treturn a < 0 ? -r : r;\n}\n\n", b);
		else
			sb_printf(out, "\t__u%d q = ub ? ua / ub : 0;\n\n\treturn (a < 0) != (b < 0) ? -q : q;\n}\n\n", b);
	}
}

/* Calls n makes, in source order, to defns: f(fn, callee) for each. */
static void for_each_call(Emitter *E, const Node *n, FnDecl *from, Vec *order, char *state,
			  void (*f)(Emitter *, FnDecl *, Vec *, char *))
{
	if (!n)
		return;
	if (n->kind == N_CALL && n->callee_kind == CALLEE_FN && n->callee_fn && n->callee_fn != from)
		f(E, n->callee_fn, order, state);
	if (n->kind == N_LET)
		for (int i = 0; i < n->bindings.len; i++)
			for_each_call(E, ((Binding *)n->bindings.items[i])->init, from, order, state, f);
	if (n->kind == N_MATCH)
		for (int i = 0; i < n->clauses.len; i++)
			for_each_call(E, ((MatchClause *)n->clauses.items[i])->body, from, order, state, f);
	for (int i = 0; i < n->args.len; i++)
		for_each_call(E, n->args.items[i], from, order, state, f);
	const Node *kids[] = { n->lhs, n->rhs, n->cond, n->then, n->els, n->body };
	for (size_t i = 0; i < sizeof(kids) / sizeof(*kids); i++)
		for_each_call(E, kids[i], from, order, state, f);
}

/* Functions in an order C accepts without prototypes: callees first,
 * otherwise source order (a depth-first post-order; state: 0 unseen,
 * 1 being visited, 2 placed). */
static void visit_fn(Emitter *E, FnDecl *fn, Vec *order, char *state)
{
	int i = ptrindex_get(&E->fn_index, fn);
	if (i < 0 || state[i])
		return;
	state[i] = 1;
	for_each_call(E, fn->body, fn, order, state, visit_fn);
	state[i] = 2;
	vec_push(order, fn);
}

/* Marks the functions the entry reaches (state[i] = 1). */
static void reach_fn(Emitter *E, FnDecl *fn, Vec *unused, char *state)
{
	int i = ptrindex_get(&E->fn_index, fn);
	if (i < 0 || state[i])
		return;
	state[i] = 1;
	for_each_call(E, fn->body, fn, unused, state, reach_fn);
}

/* ---- the declarations the header shares (emit_h.c) ------------------------ */

void emit_c_line(StrBuf *out, const char *text)
{
	Printer P = { .out = out };
	print_text(&P, text);
}

void emit_c_records(const Module *m, StrBuf *out, bool *uses_bool)
{
	Emitter E = { .m = m };
	Vec done = { 0 };
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_RECORD && d->u.record->record && !d->u.record->record->is_context)
			emit_record(&E, out, d->u.record->record, &done);
	}
	*uses_bool |= E.uses_bool;
}

void emit_c_map_declaration(const Module *m, const MapDecl *md, StrBuf *out)
{
	Emitter E = { .m = m };
	MapDecl declared = *md;
	declared.is_extern = true;
	emit_map(&E, out, &declared);
}

const char *emit_c_type_name(const Type *t, bool *uses_bool)
{
	Emitter E = { 0 };
	const char *text = c_type(&E, t);
	*uses_bool |= E.uses_bool;
	return text;
}

const char *emit_c_prototype(const FnDecl *fn, const ExternDecl *ext, bool *uses_bool)
{
	Emitter E = { 0 };
	const char *text;
	if (ext) {
		text = c_prototype(&E, "", ext->ret, ext->name, ext->params, ext->nparams);
	} else {
		StrBuf sb = { 0 };
		sb_printf(&sb, "%s(", c_decl(&E, fn->ret, fn->c_name));
		for (int i = 0; i < fn->nparams; i++) {
			const Param *p = fn->params[i];
			sb_printf(&sb, "%s%s", i ? ", " : "",
				  c_decl(&E, p->type, p->var && p->var->c_name ? p->var->c_name : p->name));
		}
		sb_puts(&sb, fn->nparams ? ")" : "void)");
		text = arena_strdup(sb.data);
		sb_free(&sb);
	}
	*uses_bool |= E.uses_bool;
	return text;
}

void emit_c(const Module *m, const EmitOptions *opts, StrBuf *out)
{
	Emitter E = { .m = m, .opts = opts };
	E.file = opts && opts->source_name ? opts->source_name : m->file ? m->file->name : "input.va";
	const char *license = opts && opts->license ? opts->license : m->license ? m->license : "GPL";

	E.fn_index.cap = table_cap(m->decls.len);
	E.fn_index.keys = arena_alloc(sizeof(*E.fn_index.keys) * E.fn_index.cap);
	E.fn_index.values = arena_alloc(sizeof(*E.fn_index.values) * E.fn_index.cap);
	E.file_names.cap = table_cap(m->decls.len);
	E.file_names.names = arena_alloc(sizeof(*E.file_names.names) * E.file_names.cap);
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		const char *c = d->kind == D_FN ? d->u.fn->c_name : d->kind == D_MAP ? d->u.map->c_name
			      : d->kind == D_GLOBAL ? d->u.global->c_name : NULL;
		if (c)
			nameset_add(&E.file_names, c);
		if (d->kind == D_FN) {
			ptrindex_put(&E.fn_index, d->u.fn, E.fns.len);
			vec_push(&E.fns, d->u.fn);
			vec_push(&E.fn_handles, new_handles(d->u.fn->nparams));
		}
	}
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = 0; i < E.fns.len; i++) {
			FnDecl *fn = E.fns.items[i];
			find_handles_in(&E, fn->body, fn, &changed);
		}
	}

	/* data first (records, maps, globals), functions after */
	StrBuf data = { 0 }, funcs = { 0 };
	Vec done_records = { 0 };
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_RECORD && d->u.record->record && !d->u.record->record->is_context)
			emit_record(&E, &data, d->u.record->record, &done_records);
	}
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_MAP)
			emit_map(&E, &data, d->u.map);
	}
	bool any_global = false;
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_GLOBAL) {
			emit_global(&E, &data, d->u.global);
			any_global = true;
		}
	}
	if (any_global)
		sb_putc(&data, '\n');
	bool any_c_extern = false;
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_EXTERN && d->u.ext->is_c) {
			emit_c_line(&data, arena_printf("%s;", c_prototype(&E, "extern ", d->u.ext->ret, d->u.ext->name,
									  d->u.ext->params, d->u.ext->nparams)));
			any_c_extern = true;
		}
	}
	if (any_c_extern)
		sb_putc(&data, '\n');

	Vec order = { 0 };
	char *reached = arena_alloc((size_t)E.fns.len + 1);
	char *placed = arena_alloc((size_t)E.fns.len + 1);
	FnDecl *entry = m->entry;
	if (entry)
		reach_fn(&E, entry, NULL, reached);
	for (int i = 0; i < E.fns.len; i++)
		if (((FnDecl *)E.fns.items[i])->exported)
			reach_fn(&E, E.fns.items[i], NULL, reached);
	for (int i = 0; i < E.fns.len; i++)
		visit_fn(&E, E.fns.items[i], &order, placed);
	Printer P = {
		.out = &funcs,
		.directives = !opts || opts->line_directives,
		.file = escape_c_string(E.file),
	};
	for (int i = 0; i < order.len; i++) {
		FnDecl *fn = order.items[i];
		bool reachable = reached[ptrindex_get(&E.fn_index, fn)];
		lower_function(&E, fn, &P, reachable);
		sb_putc(&funcs, '\n');
	}

	/* header and includes, now that uses are known */
	const char *spdx = spdx_for(license);
	if (spdx)
		sb_printf(out, "// SPDX-License-Identifier: %s\n", spdx);
	sb_printf(out, "// Code generated by vbpf2c from %s. DO NOT EDIT.\n", E.file);
	sb_puts(out, "#include <linux/bpf.h>\n");
	if (E.uses_perf_event)
		sb_puts(out, "#include <linux/bpf_perf_event.h>\n");
	for (int i = 0; i < E.kconst_headers.len; i++)
		sb_printf(out, "#include <%s>\n", (const char *)E.kconst_headers.items[i]);
	if (E.uses_ptrace)
		sb_puts(out, "#include <asm/ptrace.h>\n");
	if (E.uses_bool)
		sb_puts(out, "#include <stdbool.h>\n");
	sb_puts(out, "#include <bpf/bpf_helpers.h>\n");
	if (E.uses_endian)
		sb_puts(out, "#include <bpf/bpf_endian.h>\n");
	sb_putc(out, '\n');
	if (data.data)
		sb_puts(out, data.data);
	StrBuf helpers = { 0 };
	emit_division_helpers(&E, &helpers);
	if (helpers.data)
		sb_puts(out, helpers.data);
	if (funcs.data)
		sb_puts(out, funcs.data);
	sb_printf(out, "char LICENSE[] SEC(\"license\") = %s;\n", escape_c_string(license));
	sb_free(&data);
	sb_free(&funcs);
	sb_free(&helpers);
}
