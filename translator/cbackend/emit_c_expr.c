/* emit_c_expr.c - the C backend's expressions (see emit_c.h): source
 * expressions -> C expressions (CExpr: text and precedence), with the
 * integer rules of LANGUAGE.md section 9 (emit_c.c's file comment), and the
 * facts about nodes (effects, statements needed, use counts) the lowering
 * of statements asks for. */
#include <ctype.h>
#include <stdlib.h>
#include "emit_c.h"

/* ---- small utilities ------------------------------------------------------ */

const char *escape_c_string(const char *s)
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

bool is_int_type(const Type *t)
{
	return t && t->kind == TY_INT;
}

const char *paren(CExpr e, int min_prec)
{
	if (e.prec >= min_prec)
		return e.s;
	return arena_printf("(%s)", e.s);
}

/* The C spelling of type t: "__u32", "__u64 *", "struct event". */
const char *c_type(Emitter *E, const Type *t)
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
const char *c_decl(Emitter *E, const Type *t, const char *name)
{
	const char *ty = c_type(E, t);
	return arena_printf("%s%s%s", ty, ty[strlen(ty) - 1] == '*' ? "" : " ", name);
}

/* ---- variables ------------------------------------------------------------ */

VarInfo *var_info(Emitter *E, const Var *v)
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

static bool in_names(const Vec *names, int from, int to, const char *name)
{
	for (int i = from; i < to; i++)
		if (strcmp(names->items[i], name) == 0)
			return true;
	return false;
}

/* Is name one of this function's variables, a parameter, a file-scope
 * name or one the backend spells itself? */
static bool reserved_name(Emitter *E, const char *name)
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
	static const char *const own[] = { "sdiv32", "srem32", "sdiv64", "srem64", "udiv32", "urem32",
					   "udiv64", "urem64", "ctx", "skb" };
	for (size_t i = 0; i < sizeof(own) / sizeof(*own); i++)
		if (strcmp(own[i], name) == 0)
			return true;
	return false;
}

/* Is name declared in an open block, that is visible here or, for a
 * later name of an enclosing block, declared at that block's top? */
static bool open_block_name(Emitter *E, const char *name)
{
	for (int i = 0; i < E->scopes.len; i++) {
		const Scope *scope = E->scopes.items[i];
		if (in_names(&scope->names, 0, scope->names.len, name))
			return true;
	}
	return false;
}

/* Is name free for a local the backend introduces in the current block?
 * Not a reserved name, not one of an open block (it would shadow it or
 * be it), and not one of a closed block inside the current one: declared
 * at the current block's top, it would be shadowed there. A closed
 * sibling block's names are free: C scopes them to that block. */
static bool name_taken(Emitter *E, const char *name)
{
	const Scope *cur = E->scopes.items[E->scopes.len - 1];
	return reserved_name(E, name) || open_block_name(E, name) || in_names(&cur->inner, 0, cur->inner.len, name);
}

/* The suffix of the last name the current block made from base (1 for
 * base itself), or 0: every suffix up to it was taken then, and still is
 * (what a block's names are checked against only grows while it is
 * open), so the search for the next name starts after it. A function of
 * a thousand alike map calls had tried value, value_2 ... for each, a
 * time that grew with the cube of their number. */
static int last_suffix(const Scope *cur, const char *base)
{
	for (int i = cur->bases.len - 1; i >= 0; i--) {
		const char *b = cur->bases.items[i];
		if (b == base || strcmp(b, base) == 0) {
			const char *name = cur->names.items[i];
			return name[strlen(base)] ? atoi(name + strlen(base) + 1) : 1;
		}
	}
	return 0;
}

/* A new local of the backend's own: base, else base_2, base_3... in the
 * current block. */
const char *new_local(Emitter *E, const char *base)
{
	Scope *cur = E->scopes.items[E->scopes.len - 1];
	int n = last_suffix(cur, base) + 1;
	const char *name = n <= 1 ? base : arena_printf("%s_%d", base, n);
	for (n = n <= 1 ? 2 : n + 1; name_taken(E, name); n++)
		name = arena_printf("%s_%d", base, n);
	vec_push(&cur->names, (void *)name);
	vec_push(&cur->bases, (void *)base);
	return name;
}

NameMark name_mark(const Emitter *E)
{
	const Scope *cur = E->scopes.items[E->scopes.len - 1];
	return (NameMark){ cur->names.len, cur->inner.len };
}

/* text with every identifier from[k] as to[k]; not inside a string or
 * character literal, nor a member after . or -> */
static const char *rename_in(const char *text, const char **from, const char **to, int n)
{
	if (!text)
		return NULL;
	StrBuf out = { 0 };
	const char *copied = text; /* text before it is in out */
	for (const char *p = text; *p;) {
		if (*p == '"' || *p == '\'') {
			const char *q = p + 1;
			while (*q && *q != *p)
				q += q[0] == '\\' && q[1] ? 2 : 1;
			p = q + (*q != '\0');
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '_') {
			p++;
			continue;
		}
		const char *q = p;
		while (isalnum((unsigned char)*q) || *q == '_')
			q++;
		bool member = p > text && (p[-1] == '.' || (p[-1] == '>' && p - 1 > text && p[-2] == '-'));
		for (int k = 0; k < n && !member && !isdigit((unsigned char)*p); k++)
			if (strlen(from[k]) == (size_t)(q - p) && strncmp(p, from[k], (size_t)(q - p)) == 0) {
				sb_printf(&out, "%.*s%s", (int)(p - copied), copied, to[k]);
				copied = q;
				break;
			}
		p = q;
	}
	if (copied == text)
		return text;
	sb_puts(&out, copied);
	const char *renamed = arena_strdup(out.data);
	sb_free(&out);
	return renamed;
}

static void rename_in_block(CBlock *b, const char **from, const char **to, int n)
{
	for (int i = 0; b && i < b->stmts.len; i++) {
		CStmt *s = b->stmts.items[i];
		s->text = rename_in(s->text, from, to, n);
		s->declarator = rename_in(s->declarator, from, to, n);
		s->var_name = rename_in(s->var_name, from, to, n);
		s->init = rename_in(s->init, from, to, n);
		rename_in_block(s->then, from, to, n);
		rename_in_block(s->els, from, to, n);
		for (int j = 0; j < s->cases.len; j++)
			rename_in_block(((CCase *)s->cases.items[j])->body, from, to, n);
	}
}

/* The names old[0..n) that new_local made from bases[] for one item of a
 * do, renamed in the item's statements to the first free one of each
 * base again: not reserved, not a name of an open block, not one of
 * inner[from..to) (blocks closed inside the item, or inside the current
 * block for an item declared at its top), and not another of the item's
 * own, renamed or still to rename. The new names go to into. */
static void rename_item(Emitter *E, CBlock *item, const char **old, const char **bases, int n,
			const Vec *inner, int from, int to, Vec *into)
{
	const char **new = arena_alloc(sizeof(*new) * (size_t)(n ? n : 1));
	for (int k = 0; k < n; k++) {
		const char *name = bases[k];
		for (int suffix = 2;; suffix++) {
			bool taken = reserved_name(E, name) || open_block_name(E, name) ||
				     in_names(inner, from, to, name);
			for (int j = 0; j < n && !taken; j++)
				taken = j != k && strcmp(j < k ? new[j] : old[j], name) == 0;
			if (!taken)
				break;
			name = arena_printf("%s_%d", bases[k], suffix);
		}
		new[k] = name;
	}
	rename_in_block(item, old, new, n);
	for (int k = 0; k < n; k++)
		vec_push(into, (void *)new[k]);
}

/* A do's items, lowered into the current block with names unique in it
 * (marks[i]: where item i's names start, marks[len]: where the last
 * ends), some of which become blocks { ... } (is_block[i], lower_do):
 * each item's names are taken again from their bases, where names unique
 * in the block gave value_2, entry_2 to a later item. The items that
 * stay flat first, declared at the current block's top: their names
 * must not be any of a block inside it (cur->inner). Then the blocks,
 * whose names are their own: each may take the names a sibling block
 * took, but not the current block's (before the do, or of a flat item)
 * nor those of its own inner blocks. The flat items' names stay the
 * current block's, the blocks' become its inner names. */
void scope_block_items(Emitter *E, CBlock **items, const bool *is_block, const NameMark *marks, int len)
{
	Scope *cur = E->scopes.items[E->scopes.len - 1];
	int first = marks[0].names, total = marks[len].names - first;
	const char **names = arena_alloc(sizeof(*names) * (size_t)(total ? total : 1));
	const char **bases = arena_alloc(sizeof(*bases) * (size_t)(total ? total : 1));
	memcpy(names, &cur->names.items[first], sizeof(*names) * (size_t)total);
	memcpy(bases, &cur->bases.items[first], sizeof(*bases) * (size_t)total);
	cur->names.len = cur->bases.len = first;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < len; i++) {
			int from = marks[i].names - first, n = marks[i + 1].names - marks[i].names;
			if (pass == 0 && !is_block[i]) {
				rename_item(E, items[i], &names[from], &bases[from], n, &cur->inner, 0, marks[len].inner,
					    &cur->names);
				for (int k = 0; k < n; k++)
					vec_push(&cur->bases, (void *)bases[from + k]);
			} else if (pass == 1 && is_block[i]) {
				rename_item(E, items[i], &names[from], &bases[from], n, &cur->inner, marks[i].inner,
					    marks[i + 1].inner, &cur->inner);
			}
		}
}

/* ---- the statement tree: building ---------------------------------------- */

CStmt *add_stmt(Emitter *E, CStmtKind kind, int line, const char *text)
{
	CStmt *s = arena_alloc(sizeof(*s));
	s->kind = kind;
	s->line = line;
	s->text = text;
	s->src_start = E->form_start;
	s->src_end = E->form_end;
	vec_push(&E->cur->stmts, s);
	return s;
}

void add_line(Emitter *E, int line, const char *text)
{
	add_stmt(E, CS_LINE, line, text);
}

/* Why a value goes through barrier_var(), as the C says it: a reviewer
 * sees no reason for it in the source. At most 40 characters: a comment
 * line four blocks deep (clang-format would reflow a longer one). */
static const char *const barrier_reasons[] = {
	[BARRIER_CONTEXT_READ] = "stops clang 14 merging context loads",
	[BARRIER_PLUS_ONE] = "keeps the + 1 the verifier needs",
	[BARRIER_RECHECK] = "not the register the caller checked",
	[BARRIER_MASK] = "keeps the mask that bounds it",
	[BARRIER_ATOMIC_ZERO] = "stops clang 14 making an atomic or",
	[BARRIER_GLOBAL_ARG] = "the verifier checks every argument",
	[BARRIER_LOOP_COUNTER] = "keeps the exit test i < end as written",
	[BARRIER_LOOP_SUM] = "stops clang 14 summing the loop with __multi3",
	[BARRIER_CASE_LABEL] = "stops clang 14 returning the switch value",
	[BARRIER_NULL_TEST] = "stops clang 14 or-ing the pointer",
	[BARRIER_PACKET_LENGTH] = "stops clang adding to the packet's end",
};

/* barrier_var(name), libbpf's empty asm that hides a value from clang;
 * the first for each reason in a function says why, on the line above. */
void add_barrier(Emitter *E, int line, const char *name, BarrierReason why)
{
	if (!(E->barriers_explained & (1u << why))) {
		E->barriers_explained |= 1u << why;
		add_line(E, 0, arena_printf("/* %s */", barrier_reasons[why]));
	}
	add_line(E, line, arena_printf("barrier_var(%s);", name));
}

void add_decl(Emitter *E, int line, const char *text)
{
	add_stmt(E, CS_LINE, line, text)->is_decl = true;
}

/* `[const ]declarator[ = init];` declaring name. */
void add_var(Emitter *E, int line, const char *declarator, const char *name, const char *init,
		    bool glued, bool is_const)
{
	const char *text = arena_printf("%s%s%s%s;", is_const ? "const " : "", declarator, init ? " = " : "",
					init ? init : "");
	CStmt *s = add_stmt(E, CS_LINE, line, text);
	s->is_decl = true;
	s->glued = glued;
	s->declarator = declarator;
	s->var_name = name;
	s->init = init;
	s->is_const = is_const;
}

/* Opens a C block: statements added from now on go into it. */
CBlock *enter_block(Emitter *E, CBlock **saved)
{
	CBlock *b = arena_alloc(sizeof(*b));
	*saved = E->cur;
	E->cur = b;
	vec_push(&E->scopes, arena_alloc(sizeof(Scope)));
	return b;
}

/* Back to the enclosing block, which takes the names of this one as
 * names of its inner blocks (name_taken). */
void leave_block(Emitter *E, CBlock *saved)
{
	E->cur = saved;
	const Scope *closed = E->scopes.items[--E->scopes.len];
	if (E->scopes.len == 0)
		return;
	Scope *cur = E->scopes.items[E->scopes.len - 1];
	for (int i = 0; i < closed->names.len; i++)
		vec_push(&cur->inner, closed->names.items[i]);
	for (int i = 0; i < closed->inner.len; i++)
		vec_push(&cur->inner, closed->inner.items[i]);
}

int line_of(const Node *n)
{
	return n ? (int)n->span.line : 0;
}

/* ---- facts about nodes ----------------------------------------------------- */


static bool any_effects(const Vec *v)
{
	for (int i = 0; i < v->len; i++)
		if (has_effects(v->items[i]))
			return true;
	return false;
}

static const Node *cast_printing_nothing(const Node *n); /* prints_as_operand */

/* Does evaluating n do anything beyond computing a value? Loads count as
 * pure: dropping an unused load changes nothing the program computes. */
bool has_effects(const Node *n)
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
		if ((n->callee_kind == CALLEE_BUILTIN && n->builtin != BI_STORE &&
		     n->builtin != BI_STACK_STORE) ||
		    n->callee_kind == CALLEE_RECORD)
			return any_effects(&n->args);
		/* k/arg and k/exists? only read; k/read-str writes its destination */
		if (n->callee_kind == CALLEE_KERNEL && strcmp(n->name, "k/read-str") != 0)
			return any_effects(&n->args);
		return true;
	case N_SET: {
		/* (set! g g) changes nothing, and lower_set writes nothing;
		 * nor does (set! g (do (set! h h) g)), nor (set! g (i16 (i32
		 * g))) of an :i16 g, whose casts print nothing (seed 531000467:
		 * an if doing only that was dropped, the parameters of its
		 * condition unused in C and not marked (void)) */
		const Node *v = n->rhs ? value_tail(n->rhs) : NULL;
		while (v && cast_printing_nothing(v))
			v = value_tail(cast_printing_nothing(v));
		if (n->lhs || !n->ref_global || !v || v->kind != N_NAME || v->ref != REF_GLOBAL ||
		    v->ref_global != n->ref_global)
			return true;
		return n->rhs != v && has_effects(n->rhs);
	}
	case N_FOR:
		return true;
	default:
		return has_effects(n->lhs) || has_effects(n->rhs);
	}
}

bool is_var_ref(const Node *n)
{
	return n && n->kind == N_NAME && n->ref == REF_VAR && n->ref_var;
}

/* Can arg be passed as &name without a copy? */
static Node *strip_cast_to(Node *n, const Type *to);


static bool by_value_direct(Emitter *E, const Node *call, int i)
{
	Node *arg = strip_cast_to(call->args.items[i], helper_by_value_type(call, i));
	/* a loop counter whose address a helper takes lives on the stack,
	 * where the verifier loses a 32-bit counter's value (a spill of
	 * fewer than 8 bytes) and never sees the loop end: a copy goes */
	return is_var_ref(arg) && arg->type && !var_info(E, arg->ref_var)->loop_counter &&
	       type_equal(var_decl_type(E, arg->ref_var), helper_by_value_type(call, i));
}


static bool any_needs_stmts(Emitter *E, const Vec *v)
{
	for (int i = 0; i < v->len; i++)
		if (needs_stmts(E, v->items[i]))
			return true;
	return false;
}

static Node *masked_unranged(const Node *n);
static bool hoists_an_operand(Node *const *ops, int n);

/* Does a call keep its arguments' order through keep_operand_order? */
static bool call_orders_operands(const Node *n)
{
	return n->callee_kind == CALLEE_FN || n->callee_kind == CALLEE_C || n->callee_kind == CALLEE_HELPER ||
	       n->callee_kind == CALLEE_PRINTK;
}

static Node *constant_match_body(const Node *n);

/* Does n, as a value, need statements before it (declarations, a copy for
 * a by-value argument, an if/switch assigning a variable)? When false, n
 * is one C expression. */
bool needs_stmts(Emitter *E, const Node *n)
{
	if (!n)
		return false;
	switch (n->kind) {
	case N_INT:
	case N_BOOL:
	case N_NAME:
		return false;
	case N_MATCH:
		return !constant_match_body(n) || needs_stmts(E, constant_match_body(n));
	case N_LET:
	case N_FOR:
	case N_SET:
		return true;
	case N_DO:
		return n->args.len != 1 || needs_stmts(E, n->args.items[0]);
	case N_FIELD:
		/* a context read behind barrier_var() (context_read) */
		return barriered_context_read(E, n) || needs_stmts(E, n->lhs);
	case N_BINOP:
		/* a quotient or variable shift behind barrier_var() (masked_unranged) */
		return masked_unranged(n) || needs_stmts(E, n->lhs) || needs_stmts(E, n->rhs) ||
		       hoists_an_operand((Node *const[]){ n->lhs, n->rhs }, 2);
	case N_IF:
		return !n->type || n->type->kind == TY_UNIT || needs_stmts(E, n->cond) ||
		       needs_stmts(E, n->then) || needs_stmts(E, n->els);
	case N_CALL:
		if (any_needs_stmts(E, &n->args) || barriered_context_load(E, n))
			return true;
		if (call_orders_operands(n) && hoists_an_operand((Node *const *)n->args.items, n->args.len))
			return true;
		if (n->callee_kind == CALLEE_BUILTIN &&
		    (n->builtin == BI_STORE || n->builtin == BI_STACK_STORE))
			return true;
		if (n->callee_kind == CALLEE_MAP_INCR || n->callee_kind == CALLEE_RECORD)
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

static bool self_comparison(const Node *n); /* constant_comparison */

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

/* For a match on an integer constant, (match (bpf/be64 2) ...): the
 * index of the clause it takes, the C of which is all the match's C (a
 * switch on a constant no case matches is a warning to clang -Wall,
 * -Wswitch, seed 590007573); -1 for any other match, or one no clause
 * takes. */
int constant_match_clause(const Node *n)
{
	const Type *t = n->lhs->type;
	uint64_t known;
	if (!t || !is_int_type(t) || !constant_value(n->lhs, &known) || has_effects(n->lhs))
		return -1;
	uint64_t mask = t->size == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * t->size)) - 1;
	for (int i = 0; i < n->clauses.len; i++) {
		const Pattern *p = ((MatchClause *)n->clauses.items[i])->pattern;
		if (p->kind != PAT_INT || (p->value & mask) == (known & mask))
			return i;
	}
	return -1;
}

/* The body of the clause a match on a constant takes, where that clause
 * binds no name: all there is of the match in C, and it may be an
 * expression (seen = 5, not tmp = 5 and seen = tmp). Else NULL. */
static Node *constant_match_body(const Node *n)
{
	int taken = constant_match_clause(n);
	const MatchClause *c = taken >= 0 ? n->clauses.items[taken] : NULL;
	return c && c->pattern->kind != PAT_BIND ? c->body : NULL;
}

/* Is clause i of match n emitted? The first matching clause wins, so a
 * clause after a catch-all, a repeated literal, or (on a pointer or a
 * :bool) a second clause for the same case never runs and is dropped;
 * on a constant, only the clause it takes is there. */
bool clause_emitted(const Node *n, int i)
{
	const Type *t = n->lhs->type;
	bool two_way = t && (t->kind == TY_PTR || t->kind == TY_BOOL);
	int taken = two_way ? -1 : constant_match_clause(n);
	if (taken >= 0)
		return i == taken;
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

/* A match on a nullable pointer whose (Some p) clause does not use p
 * (after count(): a read the C drops is no use): all the C keeps of the
 * pointer is its test against NULL, which clang 14 may merge with
 * another test (emit_c.c find_bare_null_tests). */
bool is_bare_null_test(Emitter *E, const Node *n)
{
	if (n->kind != N_MATCH || !n->lhs->type || n->lhs->type->kind != TY_PTR || !n->lhs->type->nullable)
		return false;
	for (int i = 0; i < n->clauses.len; i++) {
		const MatchClause *c = n->clauses.items[i];
		if (c->pattern->kind == PAT_SOME && c->pattern->var && clause_emitted(n, i) &&
		    var_info(E, c->pattern->var)->uses > 0)
			return false;
	}
	return true;
}

/* Does the C read the value of match n's scrutinee - after its clause
 * bodies were counted? Not when an integer match starts with a
 * catch-all that binds nothing read (lower_match_int keeps only the
 * scrutinee's effects then): a field it reads is no use of the record
 * (-Wunused-parameter on the context). */
static bool scrutinee_value_read(Emitter *E, const Node *n)
{
	const Type *t = n->lhs->type;
	if (!t || t->kind == TY_PTR || t->kind == TY_BOOL || !n->clauses.len)
		return true;
	const Pattern *first = ((const MatchClause *)n->clauses.items[0])->pattern;
	if (first->kind == PAT_WILD)
		return false;
	return first->kind != PAT_BIND || !first->var || var_info(E, first->var)->uses > 0;
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

void count(Emitter *E, const Node *n, bool discard)
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
		count(E, n->lhs, (discard && !effects_in_clauses) || !scrutinee_value_read(E, n));
		return;
	}
	case N_CALL:
		/* a record value no one reads runs only its fields' effects,
		 * as a pure built-in's arguments do: a field that reads p is
		 * no use of p (seed 533000144, -Wunused-parameter) */
		if (discard && ((n->callee_kind == CALLEE_BUILTIN && n->builtin != BI_STORE &&
				 n->builtin != BI_STACK_STORE) ||
				n->callee_kind == CALLEE_RECORD)) {
			for (int i = 0; i < n->args.len; i++)
				count(E, n->args.items[i], true);
			return;
		}
		if (n->callee_kind == CALLEE_KERNEL && strcmp(n->name, "k/exists?") == 0 &&
		    !core_exists_reads_base(n->args.items[n->args.len - 1]))
			return; /* only the type is read (emit_core_exists) */
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

/* How the source wrote a literal, when span covers it and it says value:
 * "0x86DD", "2048", "-5", or the C character constant of a character
 * literal ('a', '\n'). NULL when the span is elsewhere (a literal the
 * parser made: cond's else, a threading macro) or says another value. */
const char *source_spelling(Span sp, uint64_t value, bool negative)
{
	if (!sp.file || !sp.file->text || sp.len == 0 || sp.offset + sp.len > sp.file->len)
		return NULL;
	const char *s = sp.file->text + sp.offset;
	size_t n = sp.len;
	if (s[0] == '\\') {
		static const struct {
			const char *source, *c;
			unsigned char value;
		} chars[] = { { "newline", "'\\n'", '\n' }, { "space", "' '", ' ' },   { "tab", "'\\t'", '\t' },
			      { "return", "'\\r'", '\r' },  { "null", "'\\0'", 0 } };
		if (negative)
			return NULL;
		if (n == 2 && value == (unsigned char)s[1] && s[1] > ' ' && s[1] < 0x7f)
			return s[1] == '\'' || s[1] == '\\' ? arena_printf("'\\%c'", s[1]) : arena_printf("'%c'", s[1]);
		for (size_t i = 0; i < sizeof(chars) / sizeof(*chars); i++)
			if (strlen(chars[i].source) == n - 1 && !memcmp(chars[i].source, s + 1, n - 1))
				return value == chars[i].value ? chars[i].c : NULL;
		return NULL;
	}
	size_t i = s[0] == '-';
	if (i != negative)
		return NULL;
	bool hex = n > i + 2 && s[i] == '0' && s[i + 1] == 'x';
	size_t digits = hex ? i + 2 : i;
	if (digits == n)
		return NULL;
	uint64_t v = 0;
	for (size_t k = digits; k < n; k++) {
		char c = s[k];
		int d = c >= '0' && c <= '9' ? c - '0' : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
			: hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return NULL;
		v = hex ? v << 4 | (uint64_t)d : v * 10 + (uint64_t)d;
	}
	if ((negative ? -v : v) != value)
		return NULL;
	/* decimal with leading zeros would be octal in C */
	if (!hex && n - digits > 1 && s[digits] == '0')
		return NULL;
	return arena_strndup(s, n);
}

/* An integer literal of type t. `own_type` asks for a suffix that gives
 * the literal its source type by itself (the left operand of a shift, or
 * an operation between two literals: C would otherwise compute in int).
 * `spelled` is the source's own spelling (source_spelling) or NULL: a
 * literal keeps its digits, hexadecimal or decimal, and its case, so the
 * reader sees the ethertype the author wrote. Literals without one
 * (`hex`: the operands of bitwise operators) are hexadecimal when they
 * are masks or bitwise operands. */
const char *int_literal(const Type *t, uint64_t value, bool negative, bool own_type, bool hex,
			       const char *spelled)
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
		if (spelled)
			return arena_printf("%s%s", spelled, sfx);
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
	if (spelled && !(spelled[0] == '\'' && *sfx))
		return spelled[0] == '\'' ? spelled : arena_printf("%s%s", spelled, sfx);
	bool mask = value >= 0xffff && (value & (value + 1)) == 0; /* 0xffffffff */
	if ((hex && value > 9) || mask || value > UINT32_MAX)
		return arena_printf("0x%" PRIx64 "%s", value, sfx);
	return arena_printf("%" PRIu64 "%s", value, sfx);
}

/* ---- expressions ------------------------------------------------------------- */

static void keep_operand_order(Emitter *E, Node **ops, int n);
static const char *hoisted_local(Emitter *E, const Node *n);
static bool computed_as_int(const Node *n);

/* The operand of a cast. (T)(*p) and (T)(-x) keep their parentheses:
 * clang-format reads (T)*p and (T)-x as binary operators and spaces them. */
const char *cast_operand(CExpr e)
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

/* The largest value an unsigned expression can have, computed as C
 * computes it (narrow operands promoted to int); UINT64_MAX when not
 * known. A narrow result whose bound fits its type needs no narrowing:
 * ((x & 0x0f) << 2) of a __u8 is at most 60. */
/* The value of a constant made of literals and kernel constants that fit
 * type_max, with band, bor, bxor and bsr only: what C computes too. Not
 * + - * or <<, which a narrow type wraps and C's int does not: (+ 65535
 * 65534) of a :u16 is 65533 to the language and 131069 to C. */
static bool bitwise_constant(const Node *n, uint64_t type_max, uint64_t *out)
{
	uint64_t a, b;
	switch (n->kind) {
	case N_INT:
		*out = n->value;
		return !n->negative && n->value <= type_max;
	case N_NAME:
		*out = n->ref_kconst ? n->ref_kconst->value : 0;
		return n->ref == REF_KCONST && n->ref_kconst && *out <= type_max;
	case N_BINOP:
		if (!bitwise_constant(n->lhs, type_max, &a) || !bitwise_constant(n->rhs, type_max, &b))
			return false;
		switch (n->op) {
		case OP_AND: *out = a & b; return true;
		case OP_OR: *out = a | b; return true;
		case OP_XOR: *out = a ^ b; return true;
		case OP_SHR: *out = b < 64 ? a >> b : 0; return b < 64;
		default: return false;
		}
	default:
		return false;
	}
}

static uint64_t max_value(const Node *n)
{
	if (!n || !n->type || !is_int_type(n->type) || n->type->is_signed)
		return UINT64_MAX;
	uint64_t type_max = n->type->size == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * n->type->size)) - 1;
	uint64_t constant;
	if (n->kind != N_INT && bitwise_constant(n, type_max, &constant)) /* (band TC_ACT_REDIRECT 97) */
		return constant;
	switch (n->kind) {
	case N_INT:
		return n->negative ? UINT64_MAX : n->value;
	case N_CAST: {
		uint64_t inner = max_value(n->lhs);
		return inner < type_max ? inner : type_max;
	}
	case N_BINOP: {
		uint64_t a = max_value(n->lhs), b = max_value(n->rhs);
		const Node *k = n->rhs->kind == N_INT && !n->rhs->negative ? n->rhs : NULL;
		switch (n->op) {
		case OP_AND:
			return a < b ? a : b;
		case OP_OR:
		case OP_XOR: {
			uint64_t m = a > b ? a : b, p = 1;
			if (m == UINT64_MAX)
				return UINT64_MAX;
			while (p - 1 < m)
				p <<= 1;
			return p - 1;
		}
		case OP_ADD:
			return a > UINT64_MAX - b ? UINT64_MAX : a + b;
		case OP_MUL:
			return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
		case OP_SHL:
			return k && k->value < 64 && a <= UINT64_MAX >> k->value ? a << k->value : UINT64_MAX;
		case OP_SHR:
			return k && k->value < 64 ? a >> k->value : a;
		case OP_DIV:
			return a;
		case OP_REM:
			return k && k->value ? k->value - 1 : a;
		default:
			/* -: may go below 0 in int */
			return UINT64_MAX;
		}
	}
	case N_IF: {
		uint64_t a = max_value(n->then), b = max_value(n->els);
		return a > b ? a : b;
	}
	case N_NAME:
	case N_FIELD:
	case N_CALL:
		/* a variable, a member, a load or a call: of its C type */
		return type_max;
	default:
		/* negation and the rest: not known */
		return UINT64_MAX;
	}
}

/* The amount of shift n as C writes it. The language shifts by an amount
 * that is not a constant modulo the operation's width - 64 for :u64 and
 * :i64, 32 for the narrower types, which C and BPF's 32-bit instructions
 * compute in 32 bits - as BPF's shift instructions do (docs/emit_c.md,
 * "Integer semantics"). C leaves a shift past the width undefined and
 * clang optimises on it: a :u32 shifted by a defn's 65535 became an exit
 * with no return value (tests/gen/shift_amount_wraps). So the amount is
 * masked, unless it is a constant (the checker refuses one past the
 * width) or cannot reach the width: (band s 31). */
CExpr shift_amount(const Node *shift, CExpr amount)
{
	uint64_t constant;
	unsigned width = shift->type->size == 8 ? 64 : 32;
	if (int_constant(shift->rhs, &constant, NULL) || max_value(shift->rhs) < width)
		return amount;
	/* (band s 15) of a signed s too, which max_value leaves unknown */
	const Node *tail = value_tail(shift->rhs);
	if (tail->kind == N_BINOP && tail->op == OP_AND &&
	    ((int_constant(tail->rhs, &constant, NULL) && constant < width) ||
	     (int_constant(tail->lhs, &constant, NULL) && constant < width)))
		return amount;
	return cx(arena_printf("%s & %u", paren(amount, PREC_UNARY), width - 1), PREC_BAND);
}

CExpr exact_value(Emitter *E, Node *n)
{
	CExpr v = lower_value(E, n);
	if (v.wide && n->type && is_int_type(n->type) && !n->type->is_signed && n->type->size < 8 &&
	    max_value(n) < (UINT64_C(1) << (8 * n->type->size)))
		v.wide = false;
	return exact(v, n->type);
}

const char *var_text(Emitter *E, const Var *v)
{
	return var_info(E, v)->text;
}

static CExpr context_read(Emitter *E, Node *n, const char *s, const char *member);
static const char *context_member_at(Emitter *E, Node *p, int64_t off, const Type *w);

/* The record-field member: "->rx_queue_index" or ".x". */
CExpr field_value(Emitter *E, Node *n, bool as_pointer)
{
	if (is_kernel_member(n)) {
		/* LANGUAGE.md 11: a CO-RE read (emit_kernel.c) */
		E->uses_core = true;
		const char *base = lower_value(E, (Node *)core_chain_base(n)).s;
		const Node *holder;
		const char *s = n->field->bitfield ? core_bitfield_struct(n, base, &holder) : NULL;
		if (s) {
			/* clang 14 cannot nest the pointer read in the bitfield read */
			const char *name = new_local(E, holder->field->c_member);
			add_var(E, line_of(n), c_decl(E, holder->type, name), name, s, false, false);
			return cx(emit_core_read_bitfield(n, name), PREC_UNARY);
		}
		return cx(emit_core_read(n, base), n->field->bitfield ? PREC_UNARY : PREC_POSTFIX);
	}
	CExpr base = lower_value(E, n->lhs);
	Type *bt = n->lhs->type;
	const char *member = n->field && n->field->c_member ? n->field->c_member : n->name;
	const char *s = arena_printf("%s%s%s", paren(base, PREC_POSTFIX),
				     bt && bt->kind == TY_PTR ? "->" : ".", member);
	if (n->rhs) /* (. p :comm 3): an array field's element */
		s = arena_printf("%s[%" PRIu64 "]", s, n->rhs->value);
	if (n->field && n->field->c_pointer && !as_pointer)
		return cx(arena_printf("(%s)(long)%s", n->type->c_name, s), PREC_UNARY);
	if (!as_pointer && barriered_context_read(E, n))
		return context_read(E, n, s, n->field->name); /* cb3, not cb[3] */
	return cx(s, PREC_POSTFIX);
}

/* A read of the context's member `member` (C text s) as a value. Where
 * the function's branches join, clang 14 merges two loads of its sibling
 * branches into one load through a pointer that the branch chooses
 * (InstCombine folds a phi of loads; SimplifyCFG sinks the common
 * arithmetic above them first), and the verifier refuses any context
 * access but ctx + constant ("dereference of modified ctx ptr", "same
 * insn cannot be used with different pointers"). Even a read in the
 * straight code before the branch merges when its value is one branch's.
 * The read goes through libbpf's barrier_var(), as kernel selftests do:
 * what reaches the join is no longer a load. Not in an entry that never
 * branches (nothing joins there; an entry is never inlined) or reads its
 * context once and nothing else from memory (emit_c.c
 * context_reads_may_merge), nor for the
 * packet's bounds (data, data_end: pointers to the verifier, compared,
 * not merged). needs_stmts() says such a read is a statement, so that a
 * conditional reading one is an if (the read stays in its branch) and
 * operands before it keep their order (keep_operand_order). */
bool barriered_context_read(const Emitter *E, const Node *n)
{
	if (!E->context_joins || n->kind != N_FIELD || !n->field || n->field->c_pointer || is_packet_field(n) ||
	    is_kernel_member(n))
		return false;
	const Type *bt = n->lhs ? n->lhs->type : NULL;
	return bt && bt->kind == TY_PTR && bt->pointee && bt->pointee->record && bt->pointee->record->is_context;
}

/* Is p the entry's context, a void * in C (a tracepoint's :u64 ctx)? */
static bool is_untyped_context(Emitter *E, const Node *p)
{
	if (!E->fn || !E->fn->is_entry || E->fn->nparams < 1 || !is_var_ref(p) ||
	    p->ref_var != E->fn->params[0]->var)
		return false;
	VarInfo *vi = var_info(E, p->ref_var);
	return vi->c_pointer && !vi->map_handle && vi->c_type && strcmp(vi->c_type, "void *") == 0;
}

/* A load through the entry's context taken as :u64 at a member's offset
 * ((bpf/load_u64 ctx 8) of a raw tracepoint), or at any offset of a
 * context C has as a void * ((bpf/load_u64 ctx 32) of a tracepoint,
 * *(__u64 *)(ctx + 32)): the same as a member read. */
bool barriered_context_load(Emitter *E, const Node *n)
{
	if (!E->context_joins || n->kind != N_CALL || n->callee_kind != CALLEE_BUILTIN || n->builtin != BI_LOAD ||
	    n->args.len != 2 || !n->builtin_type)
		return false;
	Node *p = n->args.items[0], *off = n->args.items[1];
	return off->kind == N_INT && !off->negative &&
	       (context_member_at(E, p, (int64_t)off->value, n->builtin_type) != NULL || is_untyped_context(E, p));
}

static CExpr context_read(Emitter *E, Node *n, const char *s, const char *member)
{
	for (int i = 0; i < E->hoisted.len; i++)
		if (E->hoisted.items[i] == n)
			return cx(E->hoisted_as.items[i], PREC_POSTFIX);
	const char *name = new_local(E, member);
	add_var(E, line_of(n), c_decl(E, n->type, name), name, s, false, false);
	add_barrier(E, line_of(n), name, BARRIER_CONTEXT_READ);
	vec_push(&E->hoisted, n);
	vec_push(&E->hoisted_as, (void *)name);
	return cx(name, PREC_POSTFIX);
}

/* The C pointer for an address operand of load/store: a pointer variable
 * as it is, a :u64 address converted. Sets *pointee (NULL for void *). */

static bool helper_c_result(const Node *n, bool *is_signed, int *bytes);

static CExpr address_base(Emitter *E, Node *p, const Type **pointee)
{
	*pointee = NULL;
	E->base_is_int = NULL;
	if (prints_as_packet(E, p))
		return lower_value(E, p); /* a void * already */
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
	/* straight to void * from 64 bits; a helper's __u32 result an extern
	 * declared :u64 through long (-Wint-to-void-pointer-cast) */
	bool is_signed;
	int bytes;
	if (p->type && p->type->size == 8 && !(helper_c_result(value_tail(p), &is_signed, &bytes) && bytes < 8))
		return cx(arena_printf("(void *)%s", paren(a, PREC_UNARY)), PREC_UNARY);
	return cx(arena_printf("(void *)(long)%s", paren(a, PREC_UNARY)), PREC_UNARY);
}

/* The lvalue a load or store of width w at byte offset off of p names:
 * `*ptr`, `e->pid`, `*(__u16 *)((void *)data + 12)`. */
/* Context structs whose members are an array the source reads by offset:
 * (bpf/load_u64 ctx 8) on a raw tracepoint is ctx->args[1]. */
static const struct {
	const char *c_type;
	const char *array;
	int elem_size;
} context_arrays[] = {
	{ "struct bpf_raw_tracepoint_args *", "args", 8 },
};

/* A load or store through the entry's context taken as :u64, at an offset
 * where the context struct has a member of that width: the member, as
 * hand-written C reads it (ctx->args[1], ctx->len). NULL otherwise. */
static const char *context_member_at(Emitter *E, Node *p, int64_t off, const Type *w)
{
	if (!is_var_ref(p) || off < 0)
		return NULL;
	VarInfo *vi = var_info(E, p->ref_var);
	if (!vi->c_pointer || vi->map_handle || !vi->c_type || strcmp(vi->c_type, "void *") == 0)
		return NULL;
	/* a signed width is a load the source converts ((i64 (load_u64 ctx
	 * 0))): the unsigned member, converted */
	const char *conv = w->is_signed ? arena_printf("(%s)", w->c_name) : "";
	for (size_t i = 0; i < sizeof(context_arrays) / sizeof(*context_arrays); i++)
		if (strcmp(context_arrays[i].c_type, vi->c_type) == 0 && w->size == context_arrays[i].elem_size &&
		    off % w->size == 0)
			return arena_printf("%s%s->%s[%" PRId64 "]", conv, vi->text, context_arrays[i].array,
					    off / w->size);
	const ProgramDecl *prog = fn_program(E->m, E->fn);
	const char *rec_name = prog && prog->kind ? prog->kind->context_record : NULL;
	Record *r = rec_name ? context_record_by_name(rec_name) : NULL;
	if (!r || !r->c_name || strncmp(vi->c_type, r->c_name, strlen(r->c_name)) != 0)
		return NULL;
	for (int i = 0; i < r->nfields; i++) {
		Field *f = r->fields[i];
		if (f->offset == off && f->type && is_int_type(f->type) && !f->type->is_signed &&
		    f->type->size == w->size && !f->c_pointer)
			return arena_printf("%s%s->%s", conv, vi->text, f->c_member ? f->c_member : f->name);
	}
	return NULL;
}

static CExpr memory_at(Emitter *E, Node *p, int64_t off, const Type *w)
{
	const char *member = context_member_at(E, p, off, w);
	if (member)
		return cx(member, member[0] == '(' ? PREC_UNARY : PREC_POSTFIX);
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
	if (off < 0) /* the magnitude in unsigned arithmetic: -INT64_MIN overflows */
		return cx(arena_printf("*(%s *)(%s - %" PRIu64 ")", w->c_name, b, 0 - (uint64_t)off),
			  PREC_UNARY);
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
	E->stack_used = true;
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

/* The declaration of parameter i of the libbpf helper call calls,
 * "struct bpf_sock_tuple *tuple", or NULL when unknown. */
static const char *helper_param_text(const Node *call, int i)
{
	return helper_param_decl(call->callee_extern ? call->callee_extern->helper : NULL, i);
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
static bool value_preserving(const Type *from, const Type *to);

static bool promotes_past_int(BinOp op, const Type *t);

/* (/ x 3) or (mod x 3) of a narrow unsigned x: C would compute it in
 * int, so the literal is printed 3U (lower_binop), and the quotient is an
 * unsigned int. */
static bool divides_narrow_unsigned_by_literal(const Node *n)
{
	return n->kind == N_BINOP && (n->op == OP_DIV || n->op == OP_REM) && is_narrow(n->type) &&
	       !n->type->is_signed && value_tail(n->rhs)->kind == N_INT;
}

static bool cast_is_implicit(const Node *n, const Type *to)
{
	if (n->kind != N_CAST || !to || !is_int_type(to) || !type_equal(n->cast_to, to))
		return false;
	const Node *a = n->lhs;
	while (a->kind == N_CAST && value_preserving(a->lhs->type, a->cast_to))
		a = a->lhs;
	/* not a :u16 product or left shift: computed in __u32, and left
	 * there where it fits 16 bits ((__u32)(__u16)g << 1), it is no
	 * operand C promotes to int: (< p (i32 (bsl (u16 g) 1))) of an :i32
	 * p would compare p unsigned (seed 610002670); nor, to a signed type
	 * C computes in int, a quotient by a U literal, an unsigned int:
	 * (< low (i32 (mod (u16 b) 1))) of an :i32 low = -1 was false
	 * (found by mutating the tests' programs) */
	if (a->kind == N_BINOP && promotes_past_int(a->op, a->type))
		return false;
	if (divides_narrow_unsigned_by_literal(a) && to->is_signed && to->size <= 4)
		return false;
	return is_int_type(a->type) && a->type->size < to->size;
}


/* Does converting a value of type from to type to keep every value? */
static bool value_preserving(const Type *from, const Type *to)
{
	return from && to && is_int_type(from) && is_int_type(to) &&
	       (from->size < to->size ? !from->is_signed || to->is_signed
				      : from->size == to->size && from->is_signed == to->is_signed);
}

/* Context members the kernel fills with fewer bits than their C type has:
 * __sk_buff's protocol and vlan_proto hold a __be16 in a __u32 (the
 * verifier turns the access into a 2-byte load), so narrowing them to 16
 * bits changes nothing and costs an instruction. */
static const struct {
	const char *record; /* C struct */
	const char *member;
	int bits;
} narrow_context_members[] = {
	{ "struct __sk_buff", "protocol", 16 },
	{ "struct __sk_buff", "vlan_proto", 16 },
};

/* The bits a context member's value can have; its type's when not listed. */
static int member_bits(const Node *f)
{
	const Type *p = f->lhs && f->lhs->type && f->lhs->type->kind == TY_PTR ? f->lhs->type->pointee : NULL;
	for (size_t i = 0; p && p->record && i < sizeof(narrow_context_members) / sizeof(*narrow_context_members); i++)
		if (p->record->is_context && p->record->c_name &&
		    strcmp(p->record->c_name, narrow_context_members[i].record) == 0 &&
		    strcmp(f->field->name, narrow_context_members[i].member) == 0)
			return narrow_context_members[i].bits;
	return f->type ? 8 * f->type->size : 64;
}

static CExpr lower_cast(Emitter *E, Node *n, bool implicit)
{
	for (int i = 0; i < E->hoisted.len; i++) /* keep_operand_order's local */
		if (E->hoisted.items[i] == n)
			return cx(E->hoisted_as.items[i], PREC_POSTFIX);
	Node *a = n->lhs;
	/* (u16 (. skb :protocol)): the member holds 16 bits. Only a cast
	 * that does not widen: (u64 (. ctx :ifindex)) makes the arithmetic
	 * around it 64-bit, and C's must be too; and only of an unsigned
	 * member: (u8 (. r :f)) of an :i8 f is 255 where f is -1
	 * (tests/gen/record_field_cast); and only of an integer: (u64 (. t
	 * :real_parent)) converts a kernel pointer */
	if (a->kind == N_FIELD && a->field && !a->field->c_pointer && is_int_type(n->cast_to) &&
	    !n->cast_to->is_signed && member_bits(a) <= 8 * n->cast_to->size && is_int_type(a->type) &&
	    !a->type->is_signed && n->cast_to->size <= a->type->size)
		return field_value(E, a, false);
	/* (i64 (u64 x)) of a __u32 x is (__s64)x: a conversion depends only
	 * on the value, which the inner widening keeps */
	while (a->kind == N_CAST && value_preserving(a->lhs->type, a->cast_to) && !is_hoisted(E, a))
		a = a->lhs;
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
	if (a->kind == N_BINOP && a->op == OP_SUB && prints_as_packet(E, a->lhs) && prints_as_packet(E, a->rhs)) {
		/* (u32 (- data_end data)): one conversion, not two */
		CExpr l = lower_value(E, a->lhs), r = lower_value(E, a->rhs);
		return cx(arena_printf("(%s)(%s - %s)", n->cast_to->c_name, paren(l, PREC_ADD), paren(r, PREC_MUL)),
			  PREC_UNARY);
	}
	/* (u64 (* a b)) of :i64 values: the unsigned product itself */
	if (v.as_unsigned && !n->cast_to->is_signed && n->cast_to->size == a->type->size)
		return *v.as_unsigned;
	return cx(arena_printf("(%s)%s", n->cast_to->c_name, cast_operand(v)), PREC_UNARY);
}

bool is_hoisted(const Emitter *E, const Node *n)
{
	for (int i = 0; i < E->hoisted.len; i++)
		if (E->hoisted.items[i] == n)
			return true;
	return false;
}

/* n consumed by a context that converts to type `to` (a declaration, an
 * assignment, a store, a return, an argument of one of our functions). */
static bool constant_comparison(const Node *n, bool *value, bool *effects);

/* A condition's value when it is a constant: true, (not false), a
 * self-comparison (> p p) C writes as its value. */
static bool constant_bool(const Node *n, bool *out)
{
	n = value_tail(n);
	bool effects;
	if (constant_comparison(n, out, &effects) && !effects)
		return true;
	if (n->kind == N_BOOL) {
		*out = n->value;
		return true;
	}
	if (n->kind == N_NOT && constant_bool(n->lhs, out)) {
		*out = !*out;
		return true;
	}
	/* (andalso x false), (orelse x true) of an x without effects: clang
	 * folds x && false as well */
	bool k;
	if ((n->kind == N_AND || n->kind == N_OR) && !has_effects(n->lhs) && !has_effects(n->rhs) &&
	    ((constant_bool(n->lhs, &k) && k == (n->kind == N_OR)) ||
	     (constant_bool(n->rhs, &k) && k == (n->kind == N_OR)))) {
		*out = n->kind == N_OR;
		return true;
	}
	return false;
}

/* Is n's value known where it is compiled: literals, kernel constants and
 * operators on them? */
bool is_constant_expr(const Node *n)
{
	n = value_tail(n); /* (do K) prints as K; a let's body is its value */
	switch (n->kind) {
	case N_INT:
		return true;
	case N_NAME:
		return n->ref == REF_KCONST;
	case N_CAST:
	case N_NEG:
		return is_constant_expr(n->lhs);
	case N_BINOP:
		return is_constant_expr(n->lhs) && is_constant_expr(n->rhs);
	case N_IF: { /* false ? x : 255 is a constant to clang */
		bool c;
		return constant_bool(n->cond, &c) && is_constant_expr(c ? n->then : n->els);
	}
	case N_CALL:
		/* bpf_cpu_to_be64(K) folds; le is no call at all here */
		return n->callee_kind == CALLEE_BUILTIN && (n->builtin == BI_BE || n->builtin == BI_LE) &&
		       is_constant_expr(n->args.items[0]);
	default:
		return false;
	}
}

/* v wrapped to the integer type t: its bits, sign-extended when signed. */


/* The value of a constant expression of integer type as the language
 * computes it, wrapped to its type (types.c int_constant, and an if whose
 * condition is known here); false when it is not one folded here (a
 * variable, a signed division, a call other than bpf/be and bpf/le). */
static bool constant_choice(const Node *n, uint64_t *out);

bool constant_value(const Node *n, uint64_t *out)
{
	return int_constant(n, out, constant_choice);
}

/* (if K a b) of a condition known here (constant_bool): the branch taken. */
static bool constant_choice(const Node *n, uint64_t *out)
{
	bool c;
	uint64_t a;
	if (n->kind != N_IF || !constant_bool(n->cond, &c) || !constant_value(c ? n->then : n->els, &a))
		return false;
	*out = int_wrap(n->type, a);
	return true;
}

/* v, the C of n, converted to `to` (written `spelling` when given) by a
 * cast when n is a constant whose value `to` cannot hold: clang
 * -Wconstant-conversion refuses the implicit conversion (`__s8 v = 255;`),
 * the cast means the same. */
static bool constant_misfits(const Node *n, const Type *to)
{
	uint64_t c;
	if (!n || !is_int_type(to) || !constant_value(n, &c))
		return false;
	bool negative = n->type->is_signed && (int64_t)c < 0;
	/* int and wider change sign without this warning (-Wsign-conversion
	 * is not in -Wall -Wextra): `__u32 x = -1` and `__u32 x = -1LL` stay
	 * as written, and so does `int x = 4294967295U`; but a truncation
	 * that changes the value is one, `int x = 4294967295LL` (C computes
	 * a narrow type in int) */
	int from_size = n->type->size < 4 ? 4 : n->type->size;
	const Type *other = to;
	if (to->size >= 4 && negative && !to->is_signed)
		other = to->size == 4 ? ty_i32 : ty_i64;
	else if (to->size >= 4 && !negative && to->is_signed && from_size == to->size)
		other = to->size == 4 ? ty_u32 : ty_u64;
	return !int_fits(to, c, negative) && !int_fits(other, c, negative);
}

/* Is n written as a C conditional with a constant arm `to` cannot hold?
 * clang -Wconstant-conversion looks into the arms of ?: as well. */
static bool arm_misfits(const Node *n, const Type *to)
{
	if (!n)
		return false;
	switch (n->kind) {
	case N_IF:
		return constant_misfits(n->then, to) || constant_misfits(n->els, to) ||
		       arm_misfits(n->then, to) || arm_misfits(n->els, to);
	case N_LET:
		return arm_misfits(n->body, to);
	case N_DO:
		return n->args.len && arm_misfits(n->args.items[n->args.len - 1], to);
	case N_CALL:
		/* bpf/le is no call in C: (bpf/le64 (if c x K)) is c ? x : K */
		return n->callee_kind == CALLEE_BUILTIN && n->builtin == BI_LE && n->args.len == 1 &&
		       arm_misfits(n->args.items[0], to);
	default:
		return false;
	}
}

CExpr narrow_constant(const Node *n, CExpr v, const Type *to, const char *spelling)
{
	if (!constant_misfits(n, to) && !arm_misfits(n, to))
		return v;
	return cx(arena_printf("(%s)%s", spelling ? spelling : to->c_name, cast_operand(v)), PREC_UNARY);
}

/* Does C compute constant n in a type wider than n's own? An enumerator
 * beyond int (BPF_F_INDEX_MASK) is an unsigned long, and so is the :u32
 * (- 4 BPF_F_INDEX_MASK) C computes with it. */
static bool has_wide_kconst(const Node *n, int size)
{
	n = value_tail(n);
	switch (n->kind) {
	case N_NAME:
		return n->ref == REF_KCONST && n->ref_kconst && n->ref_kconst->c_size > size;
	case N_NEG:
		return has_wide_kconst(n->lhs, size);
	case N_CAST: /* (u32 x) of a :u32 x prints as x (lower_cast) */
		return n->lhs->type && type_equal(n->cast_to, n->lhs->type) && has_wide_kconst(n->lhs, size);
	case N_BINOP:
		return has_wide_kconst(n->lhs, size) ||
		       (n->op != OP_SHL && n->op != OP_SHR && has_wide_kconst(n->rhs, size));
	case N_IF:
		return has_wide_kconst(n->then, size) || has_wide_kconst(n->els, size);
	case N_CALL: /* (bpf/le32 K) prints as K */
		return n->callee_kind == CALLEE_BUILTIN && n->builtin == BI_LE && n->args.len == 1 &&
		       has_wide_kconst(n->args.items[0], size);
	default:
		return false;
	}
}

/* Is n a kernel constant whose C type is wider than t and than int (a
 * narrower one C promotes to int with the rest of the operation)? */
static bool kconst_wider_than(const Node *n, const Type *t)
{
	n = value_tail(n);
	return n->kind == N_NAME && n->ref == REF_KCONST && n->ref_kconst && t && is_int_type(t) &&
	       n->ref_kconst->c_size > t->size && n->ref_kconst->c_size > 4;
}

/* v, the C of constant expression n, cut to n's type where C computes it
 * wider ((__u32)(-1) << 0 of an :i8, 4 - BPF_F_INDEX_MASK of a :u32):
 * clang -Wconstant-conversion refuses the implicit conversion of a
 * constant that changes its value. */
CExpr exact_constant(const Node *n, CExpr v)
{
	if (!n->type || !is_int_type(n->type) || !is_constant_expr(n))
		return v;
	if (has_wide_kconst(n, n->type->size))
		v.wide = true;
	return v.wide ? exact(v, n->type) : v;
}

CExpr value_for(Emitter *E, Node *n, const Type *to)
{
	if (is_hoisted(E, n))
		return lower_value(E, n);   /* its local, not its operand again */
	if (prints_as_packet(E, n))
		return lower_value(E, n);   /* the pointer, whatever casts it has */
	n = strip_cast_to(n, to);
	if (cast_is_implicit(n, to))
		return lower_cast(E, n, true);
	CExpr v = exact_constant(n, lower_value(E, n));
	return narrow_constant(n, v, to, NULL);
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

bool is_bitwise(BinOp op)
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

CExpr literal_operand(Emitter *E, Node *n, bool own_type, bool hex)
{
	if (n->kind == N_INT)
		return cx(int_literal(n->type, n->value, n->negative, own_type, hex,
				      source_spelling(n->span, n->value, n->negative)),
			  n->negative ? PREC_UNARY : PREC_POSTFIX);
	return lower_value(E, n);
}

/* The C name of a division helper, "sdiv32" to "urem64": that plain name
 * unless the program has a file-scope name like it, then the checker's
 * reserved vbpf_ prefix. */
const char *division_helper_name(const Emitter *E, int which)
{
	const char *plain = arena_printf("%c%s%d", which & DIV_SIGNED ? 's' : 'u',
					 which & DIV_REM ? "rem" : "div", which & DIV_64 ? 64 : 32);
	return nameset_has(&E->file_names, plain) ? arena_printf("vbpf_%s", plain) : plain;
}

/* The node that gives n its value, through let and do. */
const Node *value_tail(const Node *n)
{
	while (n->kind == N_LET || (n->kind == N_DO && n->args.len > 0))
		n = n->kind == N_LET ? n->body : n->args.items[n->args.len - 1];
	return n;
}

/* (== x x) on one variable: clang -Wall calls it tautological, and it is:
 * the value is known. */
static bool same_name(const Node *a, const Node *b)
{
	/* (. ctx :rip) twice: one member of one variable */
	if (a->kind == N_FIELD && b->kind == N_FIELD)
		return a->field && a->field == b->field && a->lhs && b->lhs && same_name(a->lhs, b->lhs);
	if (a->kind != N_NAME || b->kind != N_NAME || a->ref != b->ref)
		return false;
	if (a->ref == REF_VAR)
		return a->ref_var == b->ref_var;
	if (a->ref == REF_GLOBAL)
		return a->ref_global == b->ref_global;
	return false;
}

static const Node *prints_as_operand(const Node *n);

/* (== (band x 0x0f) 0x1f), (!= (bor x 1) 2), a match of (band x 0x0f)
 * with the one pattern 0x1f: a bitwise result a compared with a constant
 * (bits) it can never equal, which clang -Wall refuses
 * (-Wtautological-bitwise-compare) unless the bitwise operand is cast to
 * its own type: (__u32)(x & 0x0f) == 0x1f, the same meaning, as written. */
bool never_equals_bitwise(const Node *a, uint64_t bits)
{
	a = prints_as_operand(value_tail(a));
	if (a->kind != N_BINOP || (a->op != OP_AND && a->op != OP_OR) || !a->type || !is_int_type(a->type))
		return false;
	uint64_t k1;
	if (!constant_value(a->rhs, &k1) && !constant_value(a->lhs, &k1))
		return false;
	uint64_t mask = a->type->size == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * a->type->size)) - 1;
	k1 &= mask;
	uint64_t k2 = bits & mask;
	return a->op == OP_AND ? (k2 & ~k1) != 0 : (k1 & ~k2) != 0;
}

/* The cast n, when it writes nothing in C: the operand under it and the
 * widenings lower_cast looks through ((u8 (u16 p)) of a :u8 p is p) has
 * its type already. NULL otherwise. */
static const Node *cast_printing_nothing(const Node *n)
{
	if (n->kind != N_CAST)
		return NULL;
	const Node *a = n->lhs;
	while (a->kind == N_CAST && value_preserving(a->lhs->type, a->cast_to))
		a = a->lhs;
	return a->type && type_equal(a->type, n->type) ? a : NULL;
}

/* The operand n prints as, through what writes nothing in C: a cast to
 * its own type ((i8 p) of an :i8 p is p, also through widenings: (u8
 * (u16 p))) and a little-endian conversion (bpf/le32 p is p on BPF's
 * byte order). */
static const Node *prints_as_operand(const Node *n)
{
	for (;;) {
		if (cast_printing_nothing(n))
			n = value_tail(cast_printing_nothing(n));
		else if (n->kind == N_CALL && n->callee_kind == CALLEE_BUILTIN && n->builtin == BI_LE &&
			 n->args.len == 1 && ((const Node *)n->args.items[0])->type &&
			 type_equal(((const Node *)n->args.items[0])->type, n->type))
			n = value_tail(n->args.items[0]);
		else
			return n;
	}
}

/* A comparison whose result is known where it is compiled: (== x x) on
 * one variable (through lets that do nothing, casts to its own type,
 * (bpf/le32 x)), which clang -Wall calls tautological. *value is the
 * result; *effects says the operands have effects of their own, which
 * must still run: then the value is one they cannot change (not a
 * global they may set). */
static bool constant_comparison(const Node *n, bool *value, bool *effects)
{
	if (n->kind != N_BINOP || !binop_is_comparison(n->op))
		return false;
	const Node *a = prints_as_operand(value_tail(n->lhs)), *b = prints_as_operand(value_tail(n->rhs));
	if (!same_name(a, b) || has_effects(a))
		return false;
	*effects = has_effects(n->lhs) || has_effects(n->rhs);
	if (*effects && a->kind == N_NAME && a->ref == REF_GLOBAL && !a->ref_global->is_const)
		return false;
	*value = n->op == OP_EQ || n->op == OP_LE || n->op == OP_GE;
	return true;
}

static bool self_comparison(const Node *n)
{
	bool value, effects;
	return constant_comparison(n, &value, &effects) && !effects;
}

/* A load whose bytes the source swaps (bpf/be16 of it) reads a wire-order
 * field: `*(__be16 *)(data + 12)`, as hand C types it. NULL when x is
 * not a plain load through byte arithmetic. */
static const char *wire_load(Emitter *E, Node *x)
{
	if (x->kind != N_CALL || x->callee_kind != CALLEE_BUILTIN || x->builtin != BI_LOAD || !x->type ||
	    x->type->size < 2 || is_hoisted(E, x))
		return NULL;
	CExpr v = lower_value(E, x);
	const char *host = arena_printf("*(%s *)", x->type->c_name);
	if (strncmp(v.s, host, strlen(host)) != 0)
		return NULL;
	return arena_printf("*(__be%d *)%s", x->type->size * 8, v.s + strlen(host));
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
	const char *wire = wire_load(E, swap->args.items[0]);
	CExpr x = wire ? cx(wire, PREC_UNARY) : exact_value(E, swap->args.items[0]);
	const char *spelled = source_spelling(lit->span, lit->value, false);
	const char *c = spelled && spelled[0] == '0' && spelled[1] == 'x'
				? arena_printf("%s%s", spelled, suffix)
				: arena_printf("0x%0*" PRIx64 "%s", size * 2, lit->value, suffix);
	*out = cx(arena_printf("%s %s %s(%s)", paren(x, PREC_EQ), binop_c_name(n->op), fn, c), PREC_EQ);
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
bool wraps_unsigned(BinOp op, const Type *t)
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

/* A widening C would do by itself that a comparison still writes out, to
 * keep clang -Wall -Wextra quiet with the same meaning:
 * - (!= (i64 p) 4598843201546630673) of a :u16 p: C would compare p itself
 *   with a constant p cannot equal, "always true"
 *   (-Wtautological-constant-out-of-range-compare);
 * - (> (u64 g0) g2) of an :i8 g0: a signed operand of an unsigned
 *   comparison (-Wsign-compare). */
/* The integer C types libbpf's helpers return, by the start of their
 * declaration in bpf_helper_defs.h. */
static const struct {
	const char *prefix;
	bool is_signed;
	int bytes;
} helper_results[] = {
	{ "long ", true, 8 }, { "int ", true, 4 }, { "__s64 ", true, 8 }, { "__u64 ", false, 8 }, { "__u32 ", false, 4 },
};

/* Is n a call of a libbpf helper with an integer C result? Then
 * *is_signed and *bytes say which: an extern may declare it otherwise
 * (`long bpf_map_update_elem(...)` as :u64, `__u32
 * bpf_get_smp_processor_id(void)` as :u64). Casts that print nothing
 * are looked through: (u64 call) of a :u64 call. */
static bool helper_c_result(const Node *n, bool *is_signed, int *bytes)
{
	while (n && n->kind == N_CAST && n->lhs->type && type_equal(n->lhs->type, n->type))
		n = value_tail(n->lhs);
	if (!n || n->kind != N_CALL || n->callee_kind != CALLEE_HELPER || !n->callee_extern ||
	    !n->callee_extern->helper || !n->callee_extern->helper->c_decl)
		return false;
	const char *decl = n->callee_extern->helper->c_decl;
	for (size_t i = 0; i < sizeof(helper_results) / sizeof(*helper_results); i++)
		if (strncmp(decl, helper_results[i].prefix, strlen(helper_results[i].prefix)) == 0) {
			*is_signed = helper_results[i].is_signed;
			*bytes = helper_results[i].bytes;
			return true;
		}
	return false;
}

/* Is n a call of a libbpf helper whose C result is an integer of the
 * other signedness than t, or narrower? Compared with a variable of t,
 * clang -Wsign-compare refuses the first, so the comparison converts it
 * explicitly; the second, the __u32 of bpf_get_smp_processor_id() an
 * extern declares :u64, C would negate or shift in 32 bits
 * (-bpf_get_smp_processor_id() is 2^32 - n, << 40 undefined: found by
 * mutating the tests' programs). */
static bool helper_result_differs(const Node *n, const Type *t)
{
	bool is_signed;
	int bytes;
	return is_int_type(t) && helper_c_result(n, &is_signed, &bytes) &&
	       (is_signed != t->is_signed || bytes < t->size);
}

/* v, the C of n, cast to n's type where C computes it in another one
 * that a comparison with n's constants would see: the long of
 * bpf_map_delete_elem() of an extern declared :u64 compared with
 * 0xe22e79f2ba4518c7ULL (-Wsign-compare), BPF_F_LOCK (an int) switched
 * on as a :u64 with case 9976774016761155616ULL (-Wswitch: the case
 * value overflows the int). A match's scrutinee goes through this. */
CExpr in_source_type(const Emitter *E, const Node *n, CExpr v)
{
	const Type *t = n->type;
	if (!t || !is_int_type(t) || is_hoisted(E, n))
		return v;
	if (helper_result_differs(value_tail(n), t) || (t->size == 8 && computed_as_int(prints_as_operand(n))))
		return cx(arena_printf("(%s)%s", t->c_name, cast_operand(v)), PREC_UNARY);
	return v;
}

static bool comparison_keeps_cast(BinOp op, const Node *cast, const Node *other)
{
	if (!binop_is_comparison(op) || cast->kind != N_CAST || !cast->lhs->type)
		return false;
	const Type *from = cast->lhs->type, *to = cast->type;
	if (is_int_type(from) && is_int_type(to) && from->is_signed && !to->is_signed && to->size >= 4)
		return true;
	/* (i64 (i64 g)) of an :i32 g: C compares g itself, as lower_cast
	 * drops the value-preserving casts */
	const Node *in = cast->lhs;
	while (in->kind == N_CAST && in->lhs->type && value_preserving(in->lhs->type, in->cast_to))
		in = in->lhs;
	const Node *k = value_tail(other);
	if (k->kind == N_INT)
		return !int_fits(in->type, k->value, k->negative);
	if (k->kind == N_NAME && k->ref == REF_KCONST && k->ref_kconst)
		return !int_fits(in->type, k->ref_kconst->value, k->ref_kconst->negative);
	return false;
}

/* (> (+ pkt 1) data_end), or (+ 1 pkt): clang folds x + 1 > y to x >= y, from which
 * the verifier learns no packet range (it needs the register holding
 * pkt + 1 compared with data_end), and refuses the access after it. The
 * sum goes through libbpf's barrier_var(), which hides it from the
 * optimiser, as kernel selftests do for such folds. Only + 1 folds so;
 * only where the program reads packet addresses, and the sum of a
 * variable (pure: hoisting it out of && or ?: changes nothing). */
static bool folds_packet_check(Emitter *E, BinOp op, const Node *sum)
{
	if (!E->reads_packet || !binop_is_comparison(op) || op == OP_EQ || op == OP_NE)
		return false;
	if (sum->kind != N_BINOP || sum->op != OP_ADD || !type_equal(sum->type, ty_u64))
		return false;
	/* pkt + 1 or 1 + pkt */
	bool one_first = sum->lhs->kind == N_INT;
	const Node *k = one_first ? sum->lhs : sum->rhs, *p = one_first ? sum->rhs : sum->lhs;
	return is_var_ref(p) && k->kind == N_INT && k->value == 1 && !k->negative;
}

/* n's value into a local named after base that goes through libbpf's
 * barrier_var(), hidden from the optimiser; n prints as the local from
 * then on. */
void hide_from_optimiser(Emitter *E, Node *n, const char *base, BarrierReason why)
{
	CExpr v = exact_value(E, n);
	const char *name = new_local(E, base);
	const char *decl = prints_as_packet(E, n) ? arena_printf("void *%s", name) : c_decl(E, n->type, name);
	add_var(E, line_of(n), decl, name, v.s, false, false);
	add_barrier(E, line_of(n), name, why);
	vec_push(&E->hoisted, n);
	vec_push(&E->hoisted_as, (void *)name);
}


/* The address a bounds check compares with the packet's end - the left
 * of > and >=, the right of < and <= - in a function whose packet
 * addresses a caller has checked already (find_rechecked): hidden from
 * clang like the sum above, so that after inlining it is no register a
 * load of the caller's uses. pkt and (+ pkt K) of a variable. */
static bool rechecked_bound(Emitter *E, BinOp op, const Node *addr, const Node *end, bool left)
{
	int fn = E->rechecked && E->fn ? ptrindex_get(&E->fn_index, E->fn) : -1;
	if (fn < 0 || !E->rechecked[fn] || !binop_is_comparison(op) || op == OP_EQ || op == OP_NE ||
	    !prints_as_packet(E, addr) || !prints_as_packet(E, end))
		return false;
	/* which side is the address: the one that is not the packet's end
	 * (find_end_pointers), else by the operator, (> addr end) */
	bool addr_is_end = is_packet_end(E, addr), other_is_end = is_packet_end(E, end);
	if (addr_is_end || (!other_is_end && left != (op == OP_GT || op == OP_GE)))
		return false;
	const Node *base = addr->kind == N_BINOP && addr->op == OP_ADD && addr->rhs->kind == N_INT ? addr->lhs : addr;
	return is_var_ref(base) && is_packet_var(E, base->ref_var);
}

/* Is n the distance between two packet addresses, (- data_end data)?
 * Computed on as an operand of arithmetic, g + (data_end - data), clang
 * reassociates it to (g + data_end) - data, and the verifier refuses
 * arithmetic on the packet's end ("R3 pointer arithmetic on pkt_end
 * prohibited"; mutation campaign of 2026-12-08): it goes into a local
 * behind barrier_var() first. */
static bool is_packet_address(const Emitter *E, const Node *n)
{
	while (n->kind == N_CAST)
		n = n->lhs;
	return is_packet_field(n) || prints_as_packet(E, n);
}

static bool packet_distance(const Emitter *E, const Node *n)
{
	return n->kind == N_BINOP && n->op == OP_SUB && is_packet_address(E, n->lhs) && is_packet_address(E, n->rhs);
}

static bool loses_range_at(const Node *n, int depth);

/* An operation whose result the verifier knows no range of: a division
 * or remainder, and a shift by an amount that is not a literal (its
 * range tracking gives up on a shift count it does not know); or a call
 * of a function of the file with one, which clang inlines and then knows
 * as much of as of the operation itself (seed 600001566: a remainder of
 * at most 1 in the callee, and the caller's (band ... 1) dropped). */
static bool range_unknown_to_verifier(const Node *n, const void *depth)
{
	if (n->kind == N_CALL && n->callee_kind == CALLEE_FN && n->callee_fn)
		return loses_range_at(n->callee_fn->body, *(const int *)depth + 1);
	return n->kind == N_BINOP &&
	       (n->op == OP_DIV || n->op == OP_REM ||
		((n->op == OP_SHL || n->op == OP_SHR) && value_tail(n->rhs)->kind != N_INT));
}

/* Is there such an operation anywhere in n, or in the functions it calls
 * (depth: how deep in callees' bodies)? */
static bool loses_range_at(const Node *n, int depth)
{
	if (n && depth > 64)
		return true; /* no deeper call chain loads; stay safe */
	return node_any(n, range_unknown_to_verifier, &depth);
}

static bool loses_range(const Node *n)
{
	return loses_range_at(n, 0);
}

/* The x of (band x K) where x divides or shifts by a variable amount,
 * else NULL. A mask is how a program bounds a value for the verifier (a
 * return value of a kind that keeps it in a range, a loop's end, an
 * index), and clang 14 drops one it can prove redundant: it knows (x | 3)
 * / 1427764809 is at most 3, 7 / g / 5 at most 1 and (1 >> s) at most 1,
 * where the verifier knows nothing of a quotient's or a variable shift's
 * range and then refuses the exit ("should have been in [0, 1]") or never
 * sees the loop end ("BPF program is too large"). x goes through
 * barrier_var() (hide_from_optimiser), so the mask stays; needs_stmts()
 * says so, so that what comes before it keeps its order. */
static Node *masked_unranged(const Node *n)
{
	if (n->kind != N_BINOP || n->op != OP_AND || !n->type || !is_int_type(n->type))
		return NULL;
	/* the mask a literal or a constant (band TC_ACT_REDIRECT 97) */
	uint64_t mask;
	Node *x = int_constant(n->rhs, &mask, NULL) ? n->lhs : int_constant(n->lhs, &mask, NULL) ? n->rhs : NULL;
	/* not where x is below the mask's lowest bit: (band (bsr 1 s) 2) is
	 * 0, which clang folds and the verifier then knows, where behind
	 * the barrier it knows only 0 to 2 */
	if (x && mask && max_value(x) < (mask & (0 - mask)))
		return NULL;
	return x && x->type && is_int_type(x->type) && loses_range(x) ? x : NULL;
}

/* Does the C of n, a binop of type t, divide through one of the division
 * helpers? Signed division always does (clang 14 cannot emit it), and
 * unsigned division unless the divisor is a literal other than 0: C
 * leaves x / 0 undefined, and clang assumes the divisor is not 0 (it
 * dropped a later test of it, and a whole loop after g %= p of a p it
 * knew was 0), where BPF defines x / 0 = 0 and x % 0 = x. Then no
 * compound assignment (g %= p) either. */
bool divides_by_helper(const Node *n, const Type *t)
{
	if (n->kind != N_BINOP || (n->op != OP_DIV && n->op != OP_REM) || !t)
		return false;
	const Node *divisor = value_tail(n->rhs);
	return t->is_signed || divisor->kind != N_INT || divisor->value == 0;
}

/* A subtraction or negation, which may make a constant negative. */
static bool subtracts(const Node *n, const void *unused)
{
	(void)unused;
	return n->kind == N_NEG || (n->kind == N_BINOP && n->op == OP_SUB);
}

/* n without the bpf/le calls around it, which C does not make: the
 * identity on the hosts BPF runs on */
static const Node *le_operand(const Node *n)
{
	while (n->kind == N_CALL && n->callee_kind == CALLEE_BUILTIN && n->builtin == BI_LE && n->args.len == 1)
		n = value_tail(n->args.items[0]);
	return n;
}

/* Is s one C identifier (a variable as C writes it)? */
static bool is_c_identifier(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	while (isalnum((unsigned char)*s) || *s == '_')
		s++;
	return *s == '\0';
}

/* A kernel constant (through bpf/le) whose value is one of two. */
static bool is_kconst_of(const Node *n, uint64_t v1, uint64_t v2)
{
	n = le_operand(n);
	return n->kind == N_NAME && n->ref == REF_KCONST && !n->ref_kconst->negative &&
	       (n->ref_kconst->value == v1 || n->ref_kconst->value == v2);
}

/* A comparison of a variable with a constant, as x op k: *x the
 * variable's node, the operator turned when the constant is on the left. */
static bool variable_against_constant(const Node *n, const Node **x, BinOp *op, uint64_t *k)
{
	if (n->kind != N_BINOP || !binop_is_comparison(n->op))
		return false;
	if (constant_value(n->rhs, k) && !is_constant_expr(n->lhs)) {
		*x = prints_as_operand(value_tail(n->lhs));
		*op = n->op;
		return true;
	}
	if (constant_value(n->lhs, k) && !is_constant_expr(n->rhs)) {
		*x = prints_as_operand(value_tail(n->rhs));
		*op = comparison_mirrored(n->op);
		return true;
	}
	return false;
}

/* (andalso (> x 20) (< x 1)), (orelse (< x 1) (> x 0)): two comparisons
 * of one variable with constants whose && (||) has one value whatever
 * the variable holds, which clang -Wall refuses
 * (-Wtautological-overlap-compare; found by mutating the tests'
 * programs). clang decides it on the constants alone, in their C type:
 * so it is decided here both signed and unsigned, at the values where a
 * comparison can change (each constant and its neighbours) and the ends. */
static bool comparisons_overlap_constant(const Node *n)
{
	const Node *x1, *x2;
	BinOp op1, op2;
	uint64_t k1, k2;
	if ((n->kind != N_AND && n->kind != N_OR) || !variable_against_constant(n->lhs, &x1, &op1, &k1) ||
	    !variable_against_constant(n->rhs, &x2, &op2, &k2) || !same_name(x1, x2))
		return false;
	for (int is_signed = 0; is_signed < 2; is_signed++) {
		uint64_t min = is_signed ? (uint64_t)INT64_MIN : 0, max = is_signed ? (uint64_t)INT64_MAX : UINT64_MAX;
		uint64_t at[] = { min, max, k1, k2, k1 - 1, k1 + 1, k2 - 1, k2 + 1 };
		int seen = 0;
		for (size_t i = 0; i < sizeof(at) / sizeof(*at); i++) {
			bool a = comparison_holds(op1, is_signed, at[i], k1), b = comparison_holds(op2, is_signed, at[i], k2);
			seen |= 1 << (n->kind == N_AND ? a && b : a || b);
		}
		if (seen != 3)
			return true;
	}
	return false;
}

static CExpr lower_binop(Emitter *E, Node *n)
{
	BinOp op = n->op;
	Type *t = n->lhs->type;
	bool known, effects;
	if (constant_comparison(n, &known, &effects)) {
		/* (> g (let [v (effect)] g)): the operands' effects run, in
		 * order, and the known result stands for the comparison */
		if (effects) {
			lower_stmt(E, n->lhs, (Dest){ DEST_DISCARD, NULL, NULL });
			lower_stmt(E, n->rhs, (Dest){ DEST_DISCARD, NULL, NULL });
		}
		E->uses_bool = true;
		return cx(known ? "true" : "false", PREC_POSTFIX);
	}
	if (op == OP_EQ || op == OP_NE) {
		CExpr swapped;
		if (byte_order_comparison(E, n, &swapped))
			return swapped;
	}
	if (op == OP_SUB && prints_as_packet(E, n->lhs) && prints_as_packet(E, n->rhs)) {
		/* the distance between two packet pointers, as the source's
		 * :u64 (C's is a signed ptrdiff_t) */
		CExpr a = lower_value(E, n->lhs), b = lower_value(E, n->rhs);
		return cx(arena_printf("(__u64)(%s - %s)", paren(a, PREC_ADD), paren(b, PREC_MUL)), PREC_UNARY);
	}
	bool both_literal = value_tail(n->lhs)->kind == N_INT && value_tail(n->rhs)->kind == N_INT;
	bool is_shift = op == OP_SHL || op == OP_SHR;
	bool hex = is_bitwise(op);
	bool needs_exact = binop_is_comparison(op) || op == OP_DIV || op == OP_REM || op == OP_SHR;

	Node *ops[] = { n->lhs, n->rhs };
	int hoisted_before = E->hoisted.len;
	keep_operand_order(E, ops, 2);
	/* after the operand before it, which may set what it reads
	 * ((band (do (set! g 1) 0) (f)) where f reads g: seed 610000644);
	 * into a local of its own, or through the one keep_operand_order
	 * just gave it */
	Node *quotient = masked_unranged(n);
	bool just_hoisted = false;
	for (int i = hoisted_before; i < E->hoisted.len; i++)
		just_hoisted |= E->hoisted.items[i] == quotient;
	if (quotient && just_hoisted)
		add_barrier(E, line_of(quotient), hoisted_local(E, quotient), BARRIER_MASK);
	else if (quotient && !is_hoisted(E, quotient))
		hide_from_optimiser(E, quotient, "q", BARRIER_MASK);
	for (int i = 0; i < 2; i++)
		if (is_hoisted(E, ops[i]))
			continue;
		else if (!binop_is_comparison(op) && packet_distance(E, ops[i]))
			hide_from_optimiser(E, ops[i], "len", BARRIER_PACKET_LENGTH);
		else if (folds_packet_check(E, op, ops[i]))
			hide_from_optimiser(E, ops[i], "end", BARRIER_PLUS_ONE);
		else if (rechecked_bound(E, op, ops[i], ops[1 - i], i == 0))
			/* a copy of pkt is pkt_2; of pkt + 14, the end of a header */
			hide_from_optimiser(E, ops[i], is_var_ref(ops[i]) ? var_text(E, ops[i]->ref_var) : "end",
					    BARRIER_RECHECK);
	if (divides_by_helper(n, t)) { /* (see there) */
		int which = (t->is_signed ? DIV_SIGNED : 0) | (op == OP_REM ? DIV_REM : 0) |
			    (t->size == 8 ? DIV_64 : 0);
		E->uses_division[which] = true;
		CExpr a = exact_value(E, n->lhs), b = exact_value(E, n->rhs);
		CExpr r = cx(arena_printf("%s(%s, %s)", division_helper_name(E, which), a.s, b.s),
			     PREC_POSTFIX);
		/* -128 / -1 leaves an __s8's range; the __s32 helpers return
		 * their own type (INT_MIN / -1 wraps inside them) */
		r.wide = t->is_signed && t->size < 4;
		return r;
	}

	/* a widening cast on one side is what C's usual conversions do when
	 * the other side already has the type: (+ (u64 x) y) is x + y */
	CExpr a, b;
	const Node *lhs_tail = value_tail(n->lhs);
	if (!is_shift && cast_is_implicit(n->lhs, t) && prints_as_type(E, n->rhs, t) &&
	    !comparison_keeps_cast(op, n->lhs, n->rhs) && !prints_as_packet(E, n->lhs)) {
		a = lower_cast(E, n->lhs, true);
	} else if (lhs_tail->kind == N_INT &&
		   (both_literal || is_shift ||
		    ((op == OP_MUL || op == OP_ADD || op == OP_SUB) && is_constant_expr(n->rhs))) &&
		   !is_hoisted(E, n->lhs)) {
		/* a literal that must carry its own type (1ULL << 40), also
		 * when it is the value of a do or let; and before a kernel
		 * constant, an int in C: 1780721075 * XDP_TX of a :u32
		 * overflows an int (-Winteger-overflow), 1780721075U * XDP_TX
		 * wraps as the source's :u32 does */
		if (lhs_tail != n->lhs)
			lower_value(E, n->lhs);
		a = literal_operand(E, (Node *)lhs_tail, true, hex);
		if (op == OP_SHL && lhs_tail->negative && t->size >= 4) {
			/* -48 << 5 is undefined in C: shift the two's complement
			 * bits unsigned, then read them signed */
			CExpr u = cx(arena_printf("-%" PRIu64 "%s", -lhs_tail->value, t->size == 8 ? "ULL" : "U"),
				     PREC_UNARY);
			CExpr bx = shift_amount(n, exact_value(E, n->rhs));
			return cx(arena_printf("(%s)(%s << %s)", t->c_name, u.s, paren(bx, PREC_ADD)), PREC_UNARY);
		}
	} else if ((is_shift || ((op == OP_MUL || op == OP_ADD || op == OP_SUB) && is_constant_expr(n->rhs))) &&
		   le_operand(lhs_tail)->kind == N_NAME && le_operand(lhs_tail)->ref == REF_KCONST &&
		   (lhs_tail == n->lhs || !needs_stmts(E, n->lhs)) && (t->size == 8 || !t->is_signed)) {
		/* BPF_NOEXIST is an int in C: (bsr BPF_NOEXIST 33) of a :u64
		 * shifts it as one (clang -Wshift-count-overflow), and
		 * (bsl (* K 1) 28) of a :u32 computes K * 1 unsigned, not as
		 * an int the shift overflows (-Wshift-overflow) */
		a = cx(arena_printf("(%s)%s", t->c_name, lower_value(E, n->lhs).s), PREC_UNARY);
	} else if ((is_shift || ((op == OP_MUL || op == OP_ADD || op == OP_SUB) && is_constant_expr(n->rhs))) &&
		   computed_as_int(n->lhs) && !is_hoisted(E, n->lhs) &&
		   /* a conditional with statements is a local of the source's
		    * type already; a let or do around a constant is not */
		   (!needs_stmts(E, n->lhs) || value_tail(n->lhs)->kind != N_IF) &&
		   (t->size == 8 || (t->size == 4 && !t->is_signed))) {
		/* any other constant C computes as an int: (true ? 0 : 0) and
		 * BPF_F_MARK_ENFORCE ^ 'z' shifted as a :u64 by 41 shift an
		 * int (undefined; clang stored garbage), as a :u32 by 27 an
		 * int that overflows (-Wshift-overflow); BPF_F_USER_STACK %
		 * '\r' times 722320645 as a :u32 an int product that
		 * overflows (-Winteger-overflow, seed 640007707) */
		a = cx(arena_printf("(%s)%s", t->c_name, paren(lower_value(E, n->lhs), PREC_UNARY)), PREC_UNARY);
	} else if (op == OP_SHL && lhs_tail->kind != N_INT && is_constant_expr(n->lhs) &&
		   node_any(n->lhs, subtracts, NULL) && !is_hoisted(E, n->lhs) && !needs_stmts(E, n->lhs)) {
		/* (bsl (- 1 3) 2): C computes 1 - 3 as an int, -2, and
		 * shifting a negative value is undefined
		 * (-Wshift-negative-value): shifted unsigned, as the source's
		 * bits are, then read in the source's type */
		CExpr v = lower_value(E, n->lhs);
		if (!t->is_signed)
			a = cx(arena_printf("(%s)%s", t->c_name, paren(v, PREC_UNARY)), PREC_UNARY);
		else
			return cx(arena_printf("(%s)((%s)%s << %s)", t->c_name, t->size == 8 ? "__u64" : "__u32",
					       paren(v, PREC_UNARY), paren(shift_amount(n, exact_value(E, n->rhs)), PREC_ADD)),
				  PREC_UNARY);
	} else {
		a = literal_operand(E, n->lhs, false, hex);
	}
	/* not (u64 (. ctx :data_end)) where it is a pointer: the cast is
	 * what makes the member one */
	if (!is_shift && cast_is_implicit(n->rhs, t) && !comparison_keeps_cast(op, n->rhs, n->lhs) &&
	    !prints_as_packet(E, n->rhs) &&
	    (prints_as_type(E, n->lhs, t) ||
	     /* a packet pointer plus a widened unsigned offset */
	     (prints_as_packet(E, n->lhs) && !n->rhs->lhs->type->is_signed)))
		b = lower_cast(E, n->rhs, true);
	else
		b = literal_operand(E, n->rhs, false, hex);
	if (needs_exact)
		a = exact(a, t);
	if (needs_exact || is_shift)
		b = exact(b, n->rhs->type);
	if (is_shift)
		b = shift_amount(n, b);
	/* a narrow unsigned quotient by a literal is computed in int, and
	 * clang 14 cannot emit a signed division where it cannot prove the
	 * dividend is not negative ("Cannot select: sdiv", a crash: a
	 * conditional of a kernel constant, seed 570006402): the U makes it
	 * the unsigned division the source means */
	if (divides_narrow_unsigned_by_literal(n) && b.s[strspn(b.s, "0123456789abcdefxABCDEFX")] == '\0')
		b.s = arena_printf("%sU", b.s);
	/* two narrow values multiply within an int, but a product that was
	 * not cut to its type times a third can leave it: 29342 * -32768 *
	 * 'a' of an :i16 overflows the int (-Winteger-overflow, undefined;
	 * seed 531000222). Cut first, as the source's type wraps. */
	if (op == OP_MUL && is_narrow(t)) {
		if (a.wide)
			a = exact(a, t);
		if (b.wide)
			b = exact(b, t);
	}
	/* a kernel constant C types wider than the operation
	 * (BPF_F_INDEX_MASK is an unsigned long) would make C compute all of
	 * it wider: (__u32)p - BPF_F_INDEX_MASK is 0xffffffff00000001 for
	 * p = 0, where the :u32 subtraction is 1 (seed 531002821; a constant
	 * one drew -Wconstant-conversion, seed 531000201). The constant is
	 * the operation's type, as in the source. */
	if (kconst_wider_than(n->lhs, t))
		a = cx(arena_printf("(%s)%s", t->c_name, paren(a, PREC_UNARY)), PREC_UNARY);
	if (!is_shift && kconst_wider_than(n->rhs, t))
		b = cx(arena_printf("(%s)%s", t->c_name, paren(b, PREC_UNARY)), PREC_UNARY);
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
	/* 2 ^ x and 10 ^ x look like powers to clang -Wall
	 * (-Wxor-used-as-pow); in hex they do not. A kernel constant that
	 * is 2 or 10 (TC_ACT_SHOT) is the literal to clang: then the
	 * decimal literal after it is the one written in hex */
	if (op == OP_XOR && a.s[0] == '2' && !isdigit((unsigned char)a.s[1]))
		a.s = arena_printf("0x2%s", a.s + 1);
	else if (op == OP_XOR && a.s[0] == '1' && a.s[1] == '0' && !isdigit((unsigned char)a.s[2]))
		a.s = arena_printf("0xa%s", a.s + 2);
	else if (op == OP_XOR && is_kconst_of(lhs_tail, 2, 10) && value_tail(n->rhs)->kind == N_INT &&
		 strspn(b.s, "0123456789") == strlen(b.s))
		b.s = arena_printf("0x%" PRIx64, value_tail(n->rhs)->value);
	/* also against a constant: bpf_map_delete_elem() > 5 compares a
	 * long, where the source compares a :u64 (-ENOENT is above 5); where
	 * the result depends on the sign: a long's >> 1 shifts its sign in,
	 * its / 3 divides signed; and in any other operation, whose result
	 * is a long too, which a comparison or division further up would see
	 * signed: bpf_map_update_elem() + 1 (-Wsign-compare, seed 600000236) */
	if (helper_result_differs(value_tail(n->lhs), t) && !is_hoisted(E, n->lhs))
		a = cx(arena_printf("(%s)%s", t->c_name, paren(a, PREC_UNARY)), PREC_UNARY);
	if (helper_result_differs(value_tail(n->rhs), t) && !is_hoisted(E, n->rhs))
		b = cx(arena_printf("(%s)%s", t->c_name, paren(b, PREC_UNARY)), PREC_UNARY);
	if (n == E->overlapping) {
		/* the second of two comparisons comparisons_overlap_constant
		 * found: its variable through a cast to its own type, which
		 * clang does not take for the same operand */
		uint64_t k;
		if (constant_value(n->rhs, &k))
			a = cx(arena_printf("(%s)%s", t->c_name, paren(a, PREC_UNARY)), PREC_UNARY);
		else
			b = cx(arena_printf("(%s)%s", t->c_name, paren(b, PREC_UNARY)), PREC_UNARY);
	}
	if (op == OP_EQ || op == OP_NE) {
		uint64_t k;
		if (constant_value(n->rhs, &k) && never_equals_bitwise(n->lhs, k))
			a = cx(arena_printf("(%s)%s", t->c_name, paren(a, PREC_UNARY)), PREC_UNARY);
		else if (constant_value(n->lhs, &k) && never_equals_bitwise(n->rhs, k))
			b = cx(arena_printf("(%s)%s", t->c_name, paren(b, PREC_UNARY)), PREC_UNARY);
	}
	/* one variable on both sides as C writes them, where the source has
	 * two names for it (a match binding of a variable: (match p [w
	 * (> p w)])): its result, as constant_comparison gives for one name
	 * (clang -Wall -Wtautological-compare, seed 580006110) */
	if (binop_is_comparison(op) && strcmp(a.s, b.s) == 0 && is_c_identifier(a.s) && !has_effects(n->lhs) &&
	    !has_effects(n->rhs)) {
		E->uses_bool = true;
		return cx(op == OP_EQ || op == OP_LE || op == OP_GE ? "true" : "false", PREC_POSTFIX);
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
CExpr negate(CExpr c)
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
	add_var(E, line_of(n), c_decl(E, n->type, name), name, NULL, true, false);
	lower_stmt(E, n, (Dest){ DEST_ASSIGN, name, n->type });
	return cx(name, PREC_POSTFIX);
}


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

/* Does C compute n as an int: a literal, a kernel constant (enumerators
 * are ints), a conditional choosing between such values, or their
 * bitwise combination, all printed without a cast? */
static bool computed_as_int(const Node *n)
{
	n = value_tail(n);
	switch (n->kind) {
	case N_INT: /* -0 and -5 too: (true ? -0 : 0) >> 41 of a :u64 shifted
		     * an int (found by mutating the tests' programs) */
		return n->negative ? -n->value <= (uint64_t)INT32_MAX + 1 : n->value <= INT32_MAX;
	case N_NAME: /* BPF_F_INDEX_MASK is an unsigned long */
		return n->ref == REF_KCONST && (!n->ref_kconst || n->ref_kconst->c_size <= 4);
	case N_CAST: /* (u64 x) of a :u64 x prints as x (lower_cast) */
		return n->lhs->type && type_equal(n->cast_to, n->lhs->type) && computed_as_int(n->lhs);
	case N_NEG: /* (- 0) prints as the literal -0 (lower_value) */
		return n->lhs->kind == N_INT && !n->lhs->negative && n->lhs->value <= (uint64_t)INT32_MAX + 1;
	case N_IF:
		return computed_as_int(n->then) && computed_as_int(n->els);
	case N_BINOP: /* + - * give the literal or kernel constant on the
		       * left the source's type; / and % leave both ints */
		return (is_bitwise(n->op) || n->op == OP_DIV || n->op == OP_REM) && computed_as_int(n->lhs) &&
		       computed_as_int(n->rhs);
	case N_CALL: /* bpf/le64 K prints as K on BPF's byte order (a literal
		      * takes the conversion's type: 9ULL) */
		return n->callee_kind == CALLEE_BUILTIN && n->builtin == BI_LE && n->args.len == 1 &&
		       value_tail(n->args.items[0])->kind != N_INT && computed_as_int(n->args.items[0]);
	default:
		return false;
	}
}

/* Can evaluating n change what another operand reads? A helper called
 * with no arguments (bpf_ktime_get_ns, bpf_get_prandom_u32) has effects -
 * two calls keep their order - but writes nothing a program reads. */
static bool writes_state(const Node *n)
{
	if (n->kind == N_CALL && n->callee_kind == CALLEE_HELPER && n->args.len == 0)
		return false;
	return has_effects(n);
}

/* Is n's value, once lowered, a local nothing can change any more? */
static bool value_in_local(Emitter *E, const Node *n)
{
	/* through a match on a constant too: the clause it takes is all its
	 * C, maybe an expression (0 | 0 hoisted as a name lost its
	 * parentheses: seed 620008753) */
	for (;;) {
		if (n->kind == N_LET)
			n = n->body;
		else if (n->kind == N_DO && n->args.len > 0)
			n = n->args.items[n->args.len - 1];
		else if (n->kind == N_MATCH && constant_match_body(n))
			n = constant_match_body(n);
		else
			break;
	}
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
 * effects (a call that sets the global). An operand evaluated into a local
 * is itself statements before the expression: the rule applies to the
 * operands before it too (f(-g0, x + h(), if ...) where h sets g0 and the
 * if is statements: x + h() is hoisted, so -g0 must be). */
static bool mark_operands_to_hoist(Node *const *ops, int n, bool *hoist)
{
	bool later_effects = false, later_writes = false, later_reads = false, any = false;
	for (int i = n - 1; i >= 0; i--) {
		Node *op = ops[i];
		bool effects = has_effects(op), writes = writes_state(op), reads = reads_state(op);
		hoist[i] = op->type && op->type->kind != TY_UNIT && op->type->kind != TY_MAP &&
			   ((later_writes && (effects || reads)) || (later_effects && effects) ||
			    (later_reads && writes));
		/* C sequences neither a call nor a load against the other
		 * operands of one expression, so this holds for later
		 * operands that are plain expressions too (*p + f() where f
		 * writes *p: tests/gen/store_add_effects) */
		later_effects |= effects;
		later_writes |= writes;
		later_reads |= reads;
		any |= hoist[i];
	}
	return any;
}

/* Will keep_operand_order evaluate one of ops into a local, a statement
 * before the expression? needs_stmts() must say so: an if whose branch
 * does is no ?: (the local would be set before the condition ran:
 * tests/gen/operand_order_branch) */
static bool hoists_an_operand(Node *const *ops, int n)
{
	bool *hoist = arena_alloc(sizeof(*hoist) * (size_t)(n + 1));
	return mark_operands_to_hoist(ops, n, hoist);
}

static void keep_operand_order(Emitter *E, Node **ops, int n)
{
	bool *hoist = arena_alloc(sizeof(*hoist) * (size_t)(n + 1));
	mark_operands_to_hoist(ops, n, hoist);
	for (int i = 0; i < n; i++) {
		if (!hoist[i])
			continue;
		Node *op = ops[i];
		/* a constant C computes wider than the local's type is cut
		 * to it: __s8 tmp = -128 * -91 is -Wconstant-conversion */
		CExpr v = exact_constant(op, lower_value(E, op));
		if (is_hoisted(E, op))
			continue; /* lowered into a local of its own (context_read) */
		if (value_in_local(E, op) || is_record_construction(op)) {
			/* already an immutable local (a let's variable, the
			 * variable an if or match assigned, a record built) */
			vec_push(&E->hoisted, op);
			vec_push(&E->hoisted_as, (void *)v.s);
			continue;
		}
		const char *name = new_local(E, "tmp");
		add_var(E, line_of(op), c_decl(E, op->type, name), name, v.s, false, false);
		vec_push(&E->hoisted, op);
		vec_push(&E->hoisted_as, (void *)name);
	}
}

/* A kernel constant's C name; its header is included. */
const char *kconst_name(Emitter *E, const KernelConst *kc)
{
	const char *h = kc->header;
	if (h && strcmp(h, "linux/bpf.h") != 0) {
		bool seen = false;
		for (int i = 0; i < E->kconst_headers.len; i++)
			seen |= strcmp(E->kconst_headers.items[i], h) == 0;
		if (!seen)
			vec_push(&E->kconst_headers, (void *)h);
	}
	return kc->name;
}

/* The local keep_operand_order evaluated n into, or NULL. */
static const char *hoisted_local(Emitter *E, const Node *n)
{
	for (int i = 0; i < E->hoisted.len; i++)
		if (E->hoisted.items[i] == n)
			return E->hoisted_as.items[i];
	return NULL;
}

CExpr lower_value(Emitter *E, Node *n)
{
	const char *hoisted = hoisted_local(E, n);
	if (hoisted)
		return cx(hoisted, PREC_POSTFIX);
	if ((n->kind == N_CAST || n->kind == N_FIELD) && prints_as_packet(E, n)) {
		/* (u64 (. ctx :data)) where a pointer is wanted; (u64 data)
		 * changes nothing */
		if (n->kind == N_CAST && n->lhs->kind != N_FIELD)
			return lower_value(E, n->lhs);
		Node *f = n->kind == N_CAST ? n->lhs : n;
		CExpr m = field_value(E, f, true);
		if (f->field->c_pointer)
			return m;
		return cx(arena_printf("(void *)(long)%s", paren(m, PREC_UNARY)), PREC_UNARY);
	}
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
			if (n->ref_kconst && n->ref_kconst->c_size == 8 && n->type && is_int_type(n->type) &&
			    n->type->size == 8 && n->type->is_signed != n->ref_kconst->negative)
				/* an enumerator beyond int is an unsigned long (a
				 * long when negative): as the :i64 the source makes
				 * it, a signed comparison, not C's unsigned one */
				return cx(arena_printf("(%s)%s", n->type->c_name, kconst_name(E, n->ref_kconst)),
					  PREC_UNARY);
			if (n->ref_kconst)
				return cx(kconst_name(E, n->ref_kconst), PREC_POSTFIX);
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
		CExpr a = lower_value(E, n->lhs);
		const Node *overlapping = E->overlapping;
		if (comparisons_overlap_constant(n))
			E->overlapping = n->rhs;
		CExpr b = lower_value(E, n->rhs);
		E->overlapping = overlapping;
		/* && inside || gets parentheses (clang -Wlogical-op-parentheses) */
		const char *as = a.prec == PREC_LAND && !and ? arena_printf("(%s)", a.s) : paren(a, prec);
		const char *bs = b.prec == PREC_LAND && !and ? arena_printf("(%s)", b.s) : paren(b, prec + 1);
		return cx(arena_printf("%s %s %s", as, and ? "&&" : "||", bs), prec);
	}
	case N_NOT:
		return negate(lower_value(E, n->lhs));
	case N_MATCH:
		if (constant_match_body(n))
			return lower_value(E, constant_match_body(n));
		return value_via_local(E, n);
	case N_FOR:
	case N_SET:
		return value_via_local(E, n);
	case N_BINOP:
		return lower_binop(E, n);
	case N_NEG: {
		if (n->lhs->kind == N_INT && !n->lhs->negative)
			{
			const char *sp = source_spelling(n->lhs->span, n->lhs->value, false);
			return cx(int_literal(n->type, -n->lhs->value, true, false, false,
					      sp && sp[0] != '\'' ? arena_printf("-%s", sp) : NULL),
				  PREC_UNARY);
		}
		CExpr a = lower_value(E, n->lhs);
		/* a conditional with statements is a local of the source's
		 * type already; a let or do around a constant is not (-(let
		 * [] 722320645) compared with a __u64: -Wsign-compare) */
		if (((computed_as_int(n->lhs) && (!needs_stmts(E, n->lhs) || value_tail(n->lhs)->kind != N_IF) &&
		      (n->type->size == 8 || (n->type->size == 4 && !n->type->is_signed))) ||
		     helper_result_differs(value_tail(n->lhs), n->type)) &&
		    !is_hoisted(E, n->lhs)) {
			/* a kernel constant is an int in C: -BPF_F_USER_STACK of
			 * a :u64 is negated in the source's type, not as a
			 * negative int (-Wsign-compare against a __u64); so is
			 * the long of bpf_map_update_elem() declared :u64 */
			a = cx(arena_printf("(%s)%s", n->type->c_name, paren(a, PREC_UNARY)), PREC_UNARY);
		}
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
const char *by_value_arg(Emitter *E, Node *call, int i, char kind)
{
	Node *arg = call->args.items[i];
	if (by_value_direct(E, call, i))
		return arena_printf("&%s", var_text(E, strip_cast_to(arg, helper_by_value_type(call, i))->ref_var));
	Type *t = helper_by_value_type(call, i);
	const char *base = kind == 'k' ? "key" : kind == 'v' ? "value" : "data";
	/* a record built earlier to keep the arguments' order is passed as
	 * it is: building it again would run its fields' effects twice
	 * (tests/gen/record_key_order) */
	if (is_record_construction(arg) && hoisted_local(E, arg))
		return arena_printf("&%s", hoisted_local(E, arg));
	if (is_record_construction(arg))
		return arena_printf("&%s", record_local(E, arg, base));
	/* a context read copied for a helper goes to a stack slot of its
	 * own, never to a join: no barrier_var() (context_read) */
	const Node *read = arg;
	while (read->kind == N_CAST)
		read = read->lhs;
	bool saved = E->context_joins;
	if (barriered_context_read(E, read))
		E->context_joins = false;
	CExpr v = value_for(E, arg, t);
	E->context_joins = saved;
	const char *name = new_local(E, base);
	add_var(E, line_of(arg), c_decl(E, t, name), name, v.s, true, false);
	return arena_printf("&%s", name);
}

/* An argument of a libbpf helper: maps by address, addresses given as
 * :u64 converted where the prototype takes a pointer. */
static const char *helper_arg(Emitter *E, Node *call, int i)
{
	Node *arg = call->args.items[i];
	int param = helper_param_is_pointer(call, i);
	bool want_ptr = param == 1;
	/* (sizeof :Event), a size as the helper is given it: C's sizeof of
	 * the same struct (the kernel's records are declared in part) */
	const Type *sized = arg->kind == N_INT ? arg->sizeof_type : NULL;
	if (sized && !want_ptr && sized->c_name && !type_is_kernel(sized))
		return arena_printf("sizeof(%s)", sized->c_name);
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
		if (barriered_context_load(E, n)) {
			/* (bpf/load_u64 ctx 8), ctx->args[1]: as a member read */
			const char *member = context_member_at(E, a[0], literal_value(a[1]), w);
			if (member)
				return context_read(E, n, member, "arg");
			/* *(__u64 *)(ctx + 32): a tracepoint's field, named by
			 * its offset */
			return context_read(E, n, memory_at(E, a[0], literal_value(a[1]), w).s,
					    arena_printf("field%" PRId64, literal_value(a[1])));
		}
		return memory_at(E, a[0], literal_value(a[1]), w);
	case BI_STORE: {
		CExpr lv = memory_at(E, a[0], literal_value(a[1]), w);
		Node *v = a[2];
		/* (store p off (+ (load p off) x)) -> lvalue += x; not when x
		 * has effects (a call that stores there too): C leaves the
		 * read of the lvalue and x unsequenced, and clang evaluates x
		 * first, where the source loads first
		 * (tests/gen/store_add_effects) */
		if (v->kind == N_BINOP && !binop_is_comparison(v->op) && !divides_by_helper(v, w) &&
		    v->lhs->kind == N_CALL && v->lhs->callee_kind == CALLEE_BUILTIN &&
		    v->lhs->builtin == BI_LOAD && type_equal(v->lhs->builtin_type, w) &&
		    !has_effects(a[0]) && !has_effects(v->rhs)) {
			/* not when x has effects: C may evaluate it before it
			 * reads the lvalue, which x may write (a map update of
			 * the value p points to) */
			Node **la = (Node **)v->lhs->args.items;
			CExpr lv2 = memory_at(E, la[0], literal_value(la[1]), w);
			if (strcmp(lv.s, lv2.s) == 0) {
				CExpr r = v->rhs->kind == N_INT ? literal_operand(E, v->rhs, false, is_bitwise(v->op))
								: value_for(E, v->rhs, w);
				if (v->op == OP_SHL || v->op == OP_SHR)
					r = shift_amount(v, r);
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
		const char *wire = wire_load(E, a[0]);
		if (wire) /* a wire-order field read into host order */
			return cx(arena_printf("%s(%s)",
					       w->size == 2 ? "bpf_ntohs" : w->size == 4 ? "bpf_ntohl" : "bpf_be64_to_cpu",
					       wire),
				  PREC_POSTFIX);
		const char *fn = w->size == 2 ? "bpf_htons" : w->size == 4 ? "bpf_htonl" : "bpf_cpu_to_be64";
		return cx(arena_printf("%s(%s)", fn, exact_value(E, a[0]).s), PREC_POSTFIX);
	}
	case BI_LE: {
		/* BPF programs run in the host's byte order, which for the
		 * little-endian targets libbpf 1.1 supports is the identity */
		if (a[0]->kind == N_INT)
			/* the value has the call's width in C too: (bsl (bpf/le64
			 * 9) 53) shifts a 64-bit 9 (clang -Wshift-count-overflow) */
			return literal_operand(E, a[0], true, false);
		/* exact: a call has its C type's bits (max_value), and
		 * (bpf/le16 (- (u16 x))) is -(__u16)x, an int, cut to 16 */
		CExpr v = exact_value(E, a[0]);
		/* and the call's type: (bpf/le32 (i32 p)) is a :u32, where
		 * (__s32)p compared with a __u32 drew -Wsign-compare */
		if (a[0]->type && n->type && is_int_type(a[0]->type) && !type_equal(a[0]->type, n->type))
			return cx(arena_printf("(%s)%s", n->type->c_name, cast_operand(v)), PREC_UNARY);
		return v;
	}
	case BI_NONE:
		break;
	}
	return cx("0", PREC_POSTFIX);
}

/* k/exists?, k/read-str, k/arg (LANGUAGE.md 11; the text: emit_kernel.c) */
static CExpr lower_kernel_call(Emitter *E, Node *n)
{
	Node *chain = n->args.items[n->args.len - 1];
	E->uses_core = true;
	if (strcmp(n->name, "k/arg") == 0) {
		/* the raw tracepoint's u64 argument N as the kernel's pointer */
		Node *ctx = n->args.items[0];
		return cx(arena_printf("(%s)%s->args[%" PRIu64 "]", n->type->c_name, var_text(E, ctx->ref_var),
				       ((Node *)n->args.items[1])->value),
			  PREC_UNARY);
	}
	bool exists = strcmp(n->name, "k/exists?") == 0;
	const char *base = exists && !core_exists_reads_base(chain)
				   ? NULL
				   : lower_value(E, (Node *)core_chain_base(chain)).s;
	if (exists)
		return cx(emit_core_exists(chain, base), PREC_POSTFIX);
	/* the destination is an array field: its address, so that the macro's
	 * sizeof(*dst) is the array's size */
	const char *dst = arena_printf("&%s", paren(lower_value(E, n->args.items[0]), PREC_POSTFIX));
	return cx(emit_core_read_str(dst, chain, base), PREC_POSTFIX);
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
		if (f && f->is_entry) {
			/* The entry, called from a defn it does not reach (from
			 * one it reaches would be recursion): its C parameter is
			 * the context pointer, given even when the source has
			 * none. The call never runs; it only has to compile. */
			if (n->args.len == 0) {
				sb_puts(&sb, "NULL");
			} else {
				Node *arg = n->args.items[0];
				const Type *pointee;
				sb_puts(&sb, is_int_type(arg->type) ? address_base(E, arg, &pointee).s
								    : lower_value(E, arg).s);
			}
			break;
		}
		for (int i = 0; i < n->args.len; i++) {
			Node *arg = n->args.items[i];
			const Type *pt = f ? (i < f->nparams ? f->params[i]->type : NULL)
					   : (i < c->nparams ? c->params[i] : NULL);
			/* a pointer goes as it is to a record parameter, a map
			 * as it is to a map handle parameter, and any other
			 * pointer or map as an address to a :u64 one (of
			 * hand-written C, which has no map handles) */
			const Var *param = f && i < f->nparams ? f->params[i]->var : NULL;
			bool takes_pointer = !pt || !is_int_type(pt) ||
					     (param && (param->handle_map || param->handle_maps_differ));
			bool is_map_handle = is_var_ref(arg) && var_info(E, arg->ref_var)->map_handle;
			CExpr v;
			if (is_var_ref(arg) && var_info(E, arg->ref_var)->c_pointer && (takes_pointer || is_map_handle))
				v = cx(var_text(E, arg->ref_var), PREC_POSTFIX);
			else
				v = value_for(E, arg, pt);
			if (!takes_pointer && arg->type && (arg->type->kind == TY_PTR || arg->type->kind == TY_MAP || is_map_handle))
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
	case CALLEE_KERNEL:
		sb_free(&sb);
		return lower_kernel_call(E, n);
	case CALLEE_MAP_INCR:
		/* :unit, a statement: discard() writes it (emit_c_idioms.c) */
		sb_free(&sb);
		return cx("0", PREC_POSTFIX);
	case CALLEE_PRINTK:
		/* bpf_helpers.h's macro: the format in a stack array, then
		 * bpf_trace_printk (LANGUAGE.md 10.5) */
		keep_operand_order(E, (Node **)n->args.items, n->args.len);
		sb_printf(&sb, "bpf_printk(%s", escape_c_string(n->printk_format));
		for (int i = 0; i < n->args.len; i++)
			sb_printf(&sb, ", %s", paren(exact_value(E, n->args.items[i]), PREC_ASSIGN));
		break;
	case CALLEE_RECORD:
		/* a record value read in place, (. (Rec :f 1) :f): a local */
		sb_free(&sb);
		return cx(record_local(E, n, "record"), PREC_POSTFIX);
	case CALLEE_NONE:
		sb_printf(&sb, "%s(", n->name);
		break;
	}
	sb_putc(&sb, ')');
	CExpr r = cx(arena_strdup(sb.data), PREC_POSTFIX);
	sb_free(&sb);
	return r;
}

