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
#include <ctype.h>

#include "emit_c.h"

/* ---- packet pointers -----------------------------------------------------------
 *
 * The source holds packet addresses as :u64 ((u64 (. ctx :data))); hand C
 * holds them as `void *` and reads `*(__u16 *)(data + 12)`. A let variable
 * bound to a packet expression (a data/data_end/data_meta member, a packet
 * variable, either plus or minus an integer) is `void *` when every use
 * is one a pointer can have: the address of a load or store, a side of a
 * comparison with another packet expression, the init of another packet
 * variable, the pointer side of + or - in such a place. Anything else (an
 * argument, arithmetic with another pointer, a value stored) keeps it a
 * __u64, as before. Found by a fixed point: variables are added from
 * their inits and dropped at their first other use. */

enum { PACKET = 1, NOT_PACKET = 2 };

bool is_packet_var(const Emitter *E, const Var *v)
{
	return v && E->packet_vars.cap && ptrindex_get(&E->packet_vars, v) == PACKET;
}

static void drop_packet_var(Emitter *E, const Var *v, bool *changed)
{
	if (ptrindex_get(&E->packet_vars, v) == PACKET) {
		ptrindex_put(&E->packet_vars, v, NOT_PACKET);
		*changed = true;
	}
}

static bool is_packet_expr(const Emitter *E, const Node *n)
{
	if (!n || !n->type || !type_equal(n->type, ty_u64))
		return false;
	if (is_var_ref(n))
		return is_packet_var(E, n->ref_var);
	if (n->kind == N_CAST) /* (u64 (. ctx :data)), or a cast that changes nothing */
		return is_packet_field(n->lhs) || is_packet_expr(E, n->lhs);
	if (n->kind == N_FIELD)
		return is_packet_field(n) && n->field->c_pointer;
	if (n->kind == N_BINOP && (n->op == OP_ADD || n->op == OP_SUB)) {
		bool l = is_packet_expr(E, n->lhs), r = is_packet_expr(E, n->rhs);
		return l != r && (l || n->op == OP_ADD);
	}
	return false;
}

static void packet_uses(Emitter *E, Node *n, bool ok, bool *changed, bool record);

static void packet_uses_vec(Emitter *E, const Vec *v, bool *changed, bool record)
{
	for (int i = 0; i < v->len; i++)
		packet_uses(E, v->items[i], false, changed, record);
}

/* Walks n, whose value may be a pointer when ok; drops the packet
 * variables used otherwise, the let variables bound to something else
 * and the parameters some call passes something else; with record,
 * notes the packet expressions printed as pointers. */
static void packet_uses(Emitter *E, Node *n, bool ok, bool *changed, bool record)
{
	if (!n)
		return;
	if (ok && record && is_packet_expr(E, n))
		ptrindex_put(&E->packet_nodes, n, 1);
	switch (n->kind) {
	case N_NAME:
		if (n->ref == REF_VAR && n->ref_var && !ok)
			drop_packet_var(E, n->ref_var, changed);
		return;
	case N_BINOP:
		if ((n->op == OP_ADD || n->op == OP_SUB) && is_packet_expr(E, n)) {
			bool left = is_packet_expr(E, n->lhs);
			packet_uses(E, n->lhs, left && ok, changed, record);
			packet_uses(E, n->rhs, !left && ok, changed, record);
			return;
		}
		if ((binop_is_comparison(n->op) || n->op == OP_SUB) && is_packet_expr(E, n->lhs) &&
		    is_packet_expr(E, n->rhs)) {
			/* two members read straight from the context,
			 * (- (u64 (. ctx :data_end)) (u64 (. ctx :data))),
			 * subtract as the integers they are */
			bool members = n->op == OP_SUB && !is_var_ref(n->lhs) && n->lhs->kind != N_BINOP &&
				       !is_var_ref(n->rhs) && n->rhs->kind != N_BINOP;
			packet_uses(E, n->lhs, !members, changed, record);
			packet_uses(E, n->rhs, !members, changed, record);
			return;
		}
		packet_uses(E, n->lhs, false, changed, record);
		packet_uses(E, n->rhs, false, changed, record);
		return;
	case N_CALL:
		for (int i = 0; i < n->args.len; i++) {
			Node *arg = n->args.items[i];
			bool address = i == 0 && n->callee_kind == CALLEE_BUILTIN &&
				       (n->builtin == BI_LOAD || n->builtin == BI_STORE);
			FnDecl *f = n->callee_kind == CALLEE_FN ? n->callee_fn : NULL;
			Var *param = f && !f->is_entry && !f->exported && i < f->nparams ? f->params[i]->var : NULL;
			/* a parameter is a packet pointer when every call
			 * passes one */
			if (param && !is_packet_expr(E, arg))
				drop_packet_var(E, param, changed);
			packet_uses(E, arg, address || (param && is_packet_var(E, param)), changed, record);
		}
		return;
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++) {
			Binding *b = n->bindings.items[i];
			if (b->var && !is_packet_expr(E, b->init))
				drop_packet_var(E, b->var, changed);
			packet_uses(E, b->init, b->var && is_packet_var(E, b->var), changed, record);
		}
		packet_uses(E, n->body, false, changed, record);
		return;
	case N_MATCH:
		packet_uses(E, n->lhs, false, changed, record);
		for (int i = 0; i < n->clauses.len; i++)
			packet_uses(E, ((MatchClause *)n->clauses.items[i])->body, false, changed, record);
		return;
	case N_CAST:
		/* (u64 data): the pointer, where a pointer may be */
		packet_uses(E, n->lhs, ok && is_packet_expr(E, n) && is_packet_expr(E, n->lhs), changed, record);
		return;
	default:
		packet_uses(E, n->lhs, false, changed, record);
		packet_uses(E, n->rhs, false, changed, record);
		packet_uses(E, n->cond, false, changed, record);
		packet_uses(E, n->then, false, changed, record);
		packet_uses(E, n->els, false, changed, record);
		packet_uses(E, n->body, false, changed, record);
		if (n->kind == N_DO)
			packet_uses_vec(E, &n->args, changed, record);
		return;
	}
}

static int count_nodes(const Node *n)
{
	if (!n)
		return 0;
	int c = 1 + count_nodes(n->lhs) + count_nodes(n->rhs) + count_nodes(n->cond) + count_nodes(n->then) +
		count_nodes(n->els) + count_nodes(n->body);
	if (n->kind == N_CALL || n->kind == N_DO)
		for (int i = 0; i < n->args.len; i++)
			c += count_nodes(n->args.items[i]);
	if (n->kind == N_LET)
		for (int i = 0; i < n->bindings.len; i++)
			c += count_nodes(((Binding *)n->bindings.items[i])->init);
	if (n->kind == N_MATCH)
		for (int i = 0; i < n->clauses.len; i++)
			c += count_nodes(((MatchClause *)n->clauses.items[i])->body);
	return c;
}

static void packet_candidates(Emitter *E, const Node *n)
{
	if (!n)
		return;
	if (n->kind == N_LET)
		for (int i = 0; i < n->bindings.len; i++) {
			Binding *b = n->bindings.items[i];
			if (b->var && type_equal(b->var->type, ty_u64))
				ptrindex_put(&E->packet_vars, b->var, PACKET);
			packet_candidates(E, b->init);
		}
	packet_candidates(E, n->lhs);
	packet_candidates(E, n->rhs);
	packet_candidates(E, n->cond);
	packet_candidates(E, n->then);
	packet_candidates(E, n->els);
	packet_candidates(E, n->body);
	if (n->kind == N_CALL || n->kind == N_DO)
		for (int i = 0; i < n->args.len; i++)
			packet_candidates(E, n->args.items[i]);
	if (n->kind == N_MATCH)
		for (int i = 0; i < n->clauses.len; i++)
			packet_candidates(E, ((MatchClause *)n->clauses.items[i])->body);
}

/* Does n read a packet address from the context? */
static bool is_packet_field_node(const Node *n, const void *unused)
{
	(void)unused;
	return is_packet_field(n);
}

/* The packet variables and parameters of the whole module: the greatest
 * fixed point. Every :u64 let variable and parameter of a defn C does not
 * call starts as a packet pointer; walks drop the ones with an init, an
 * argument or a use that is not one, until nothing changes. */
static void find_packet_pointers(Emitter *E)
{
	int nvars = 0;
	for (int i = 0; i < E->fns.len; i++) {
		FnDecl *fn = E->fns.items[i];
		nvars += fn->locals.len + fn->nparams;
	}
	E->packet_vars.cap = table_cap(nvars);
	E->packet_vars.keys = arena_alloc(sizeof(*E->packet_vars.keys) * E->packet_vars.cap);
	E->packet_vars.values = arena_alloc(sizeof(*E->packet_vars.values) * E->packet_vars.cap);
	for (int i = 0; i < E->fns.len; i++) {
		FnDecl *fn = E->fns.items[i];
		E->reads_packet |= node_any(fn->body, is_packet_field_node, NULL);
		for (int k = 0; k < fn->nparams && !fn->is_entry && !fn->exported; k++) {
			Var *v = fn->params[k]->var;
			if (v && type_equal(v->type, ty_u64))
				ptrindex_put(&E->packet_vars, v, PACKET);
		}
		packet_candidates(E, fn->body);
	}
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = 0; i < E->fns.len; i++) {
			FnDecl *fn = E->fns.items[i];
			packet_uses(E, fn->body, false, &changed, false);
		}
	}
}

/* ---- which packet pointers are the packet's end ---------------------------
 *
 * A function may take the packet's address and its end in either order;
 * a bounds check it makes must hide the address, not the end, from clang
 * (rechecked_bound in emit_c_expr.c). A packet variable is the end when
 * its init is the end: (u64 (. ctx :data_end)), or another such variable;
 * a parameter, when every call passes the end. */

enum { END = 1, NOT_END = 2 };

bool is_packet_end(const Emitter *E, const Node *n)
{
	if (is_var_ref(n))
		return E->end_vars.cap && ptrindex_get(&E->end_vars, n->ref_var) == END;
	if (n->kind == N_CAST && type_equal(n->type, ty_u64))
		return is_packet_end(E, n->lhs);
	return is_packet_field(n) && strcmp(n->field->name, "data_end") == 0;
}

static void drop_end_var(Emitter *E, const Var *v, bool *changed)
{
	if (v && ptrindex_get(&E->end_vars, v) == END) {
		ptrindex_put(&E->end_vars, v, NOT_END);
		*changed = true;
	}
}

typedef struct EndWalk {
	Emitter *E;
	bool *changed;
} EndWalk;

static bool drop_non_ends(const Node *n, const void *walk)
{
	const EndWalk *w = walk;
	for (int i = 0; n->kind == N_LET && i < n->bindings.len; i++) {
		const Binding *b = n->bindings.items[i];
		if (!is_packet_end(w->E, b->init))
			drop_end_var(w->E, b->var, w->changed);
	}
	const FnDecl *f = n->kind == N_CALL && n->callee_kind == CALLEE_FN ? n->callee_fn : NULL;
	for (int i = 0; f && i < n->args.len && i < f->nparams; i++)
		if (!is_packet_end(w->E, n->args.items[i]))
			drop_end_var(w->E, f->params[i]->var, w->changed);
	return false;
}

/* The greatest fixed point, from every packet variable. */
static void find_end_pointers(Emitter *E)
{
	E->end_vars.cap = E->packet_vars.cap;
	E->end_vars.keys = arena_alloc(sizeof(*E->end_vars.keys) * E->end_vars.cap);
	E->end_vars.values = arena_alloc(sizeof(*E->end_vars.values) * E->end_vars.cap);
	for (size_t i = 0; i < E->packet_vars.cap; i++)
		if (E->packet_vars.keys[i] && E->packet_vars.values[i] == PACKET)
			ptrindex_put(&E->end_vars, E->packet_vars.keys[i], END);
	for (bool changed = true; changed;) {
		changed = false;
		EndWalk w = { E, &changed };
		for (int i = 0; i < E->fns.len; i++)
			node_any(((FnDecl *)E->fns.items[i])->body, drop_non_ends, &w);
	}
}

/* The packet expressions of one function printed as pointers. */
static void find_packet_nodes(Emitter *E, Node *body)
{
	E->packet_nodes.cap = table_cap(count_nodes(body));
	E->packet_nodes.keys = arena_alloc(sizeof(*E->packet_nodes.keys) * E->packet_nodes.cap);
	E->packet_nodes.values = arena_alloc(sizeof(*E->packet_nodes.values) * E->packet_nodes.cap);
	bool changed = false;
	packet_uses(E, body, false, &changed, true);
}

bool prints_as_packet(const Emitter *E, const Node *n)
{
	return E->packet_nodes.cap && ptrindex_get(&E->packet_nodes, n) > 0;
}

/* Does text name the C identifier name (not as part of a longer one)? */
static bool names_identifier(const char *text, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = text; p && (p = strstr(p, name)); p += len) {
		bool before = p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
		bool after = isalnum((unsigned char)p[len]) || p[len] == '_';
		if (!before && !after)
			return true;
	}
	return false;
}

/* Does the C read name anywhere in b? Any mention but the one that a
 * declaration of it or an assignment to it (`name = ...;`) writes. */
static bool block_reads(const CBlock *b, const char *name)
{
	size_t len = strlen(name);
	for (int i = 0; b && i < b->stmts.len; i++) {
		const CStmt *st = b->stmts.items[i];
		const char *t = st->text;
		if (st->kind == CS_LINE && st->is_decl && st->var_name && strcmp(st->var_name, name) == 0)
			t = st->init;
		else if (st->kind == CS_LINE && t && strncmp(t, name, len) == 0 && strncmp(t + len, " = ", 3) == 0)
			t += len + 3;
		if ((t && names_identifier(t, name)) || block_reads(st->then, name) || block_reads(st->els, name))
			return true;
		for (int k = 0; k < st->cases.len; k++)
			if (block_reads(((const CCase *)st->cases.items[k])->body, name))
				return true;
	}
	return false;
}

/* A local of b (or of a block inside it) that the C of the function
 * (root) sets but never reads: its reads were in code C does not get (a
 * match arm no value reaches), and clang -Wunused-but-set-variable
 * refuses it. `(void)name;` after its declaration is the read. */
/* `(void)name;` into b at index at: the read a variable the C never reads
 * needs (clang -Wunused-parameter, -Wunused-but-set-variable). */
static void insert_void_mark(CBlock *b, int at, const char *name, const CStmt *near)
{
	CStmt *mark = arena_alloc(sizeof(*mark));
	*mark = (CStmt){ .kind = CS_LINE, .text = arena_printf("(void)%s;", name) };
	if (near) {
		mark->src_start = near->src_start;
		mark->src_end = near->src_end;
	}
	vec_push(&b->stmts, NULL);
	memmove(&b->stmts.items[at + 1], &b->stmts.items[at], sizeof(void *) * (size_t)(b->stmts.len - at - 1));
	b->stmts.items[at] = mark;
}

static void read_unread_locals(CBlock *root, CBlock *b)
{
	for (int i = 0; b && i < b->stmts.len; i++) {
		CStmt *st = b->stmts.items[i];
		if (st->kind == CS_LINE && st->is_decl && st->var_name && !block_reads(root, st->var_name)) {
			insert_void_mark(b, ++i, st->var_name, st);
			continue;
		}
		read_unread_locals(root, st->then);
		read_unread_locals(root, st->els);
		for (int k = 0; k < st->cases.len; k++)
			read_unread_locals(root, ((CCase *)st->cases.items[k])->body);
	}
}

/* ---- declarations first ------------------------------------------------------
 *
 * C90 wants a block's declarations before its statements, and the kernel
 * builds with -Wdeclaration-after-statement. Lowering declares a variable
 * where the source binds it, so a declaration can follow a statement; this
 * pass moves it up the way a kernel engineer writes it: `__u64 *seen;` with
 * the block's declarations, `seen = ...;` where it was. A declaration that
 * follows only `(void)x;` lines, or whose initialiser is a literal, moves
 * up whole. */

static bool is_void_mark(const CStmt *s)
{
	return s->kind == CS_LINE && !s->is_decl && strncmp(s->text, "(void)", 6) == 0;
}

/* An initialiser that is a literal (7, -1, 0x0800ULL, 'a') means the same
 * anywhere in the block: the declaration moves up whole. */
static bool literal_init(const char *init)
{
	if (!init)
		return false;
	if (init[0] == '\'') {
		/* the whole initialiser, not just its start ('\r' * tmp is
		 * not a literal): one character or escape, then the quote */
		if (!init[1])
			return false;
		const char *end = strchr(init + 2 + (init[1] == '\\'), '\'');
		return end && end[1] == '\0';
	}
	const char *p = init + (init[0] == '-');
	if (!(*p >= '0' && *p <= '9'))
		return false;
	for (; *p; p++)
		if (!strchr("0123456789abcdefABCDEFxXuUlL", *p))
			return false;
	return true;
}

static void hoist_declarations(CBlock *b);

static void hoist_in_stmt(CStmt *s)
{
	if (s->then)
		hoist_declarations(s->then);
	if (s->els)
		hoist_declarations(s->els);
	for (int i = 0; i < s->cases.len; i++)
		hoist_declarations(((CCase *)s->cases.items[i])->body);
}

static void hoist_declarations(CBlock *b)
{
	if (!b)
		return;
	Vec out = { 0 };
	int decls = 0;      /* the leading declarations in out */
	bool only_marks = true; /* statements so far are (void) marks */
	for (int i = 0; i < b->stmts.len; i++) {
		CStmt *s = b->stmts.items[i];
		hoist_in_stmt(s);
		bool decl = s->kind == CS_LINE && s->is_decl;
		if (!decl) {
			only_marks &= is_void_mark(s);
			vec_push(&out, s);
			continue;
		}
		if (decls == out.len || only_marks || !s->declarator || (literal_init(s->init) && !s->is_const)) {
			/* in place, or up whole: past (void) marks, or with a
			 * literal initialiser; moved, it is no longer next to
			 * the call it was made for */
			if (decls != out.len)
				s->glued = false;
			if (decls != out.len && !only_marks) {
				/* moved above the code of earlier forms, whose
				 * comments and lines are not its own */
				s->src_start = s->src_end = 0;
				s->line = 0;
			}
			vec_push(&out, NULL);
			memmove(&out.items[decls + 1], &out.items[decls], sizeof(void *) * (size_t)(out.len - 1 - decls));
			out.items[decls++] = s;
			continue;
		}
		CStmt *d = arena_alloc(sizeof(*d));
		d->kind = CS_LINE;
		d->is_decl = true;
		d->text = arena_printf("%s;", s->declarator);
		d->declarator = s->declarator;
		d->var_name = s->var_name;
		vec_push(&out, NULL);
		memmove(&out.items[decls + 1], &out.items[decls], sizeof(void *) * (size_t)(out.len - 1 - decls));
		out.items[decls++] = d;
		if (s->init) {
			s->text = arena_printf("%s = %s;", s->var_name, s->init);
			s->is_decl = false;
			s->glued = false;
			vec_push(&out, s);
		}
	}
	b->stmts = out;
}

/* ---- functions ----------------------------------------------------------------- */

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

/* Does n branch and join again in C: a conditional, a match, a loop, or
 * a call of one of our functions (clang may inline it into a branch)? */
bool has_join(const Node *n)
{
	if (!n)
		return false;
	switch (n->kind) {
	case N_IF:
	case N_AND:
	case N_OR:
	case N_MATCH:
	case N_FOR:
		return true;
	case N_CALL:
		if (n->callee_kind == CALLEE_FN || n->callee_kind == CALLEE_MAP_INCR)
			return true;
		break;
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++)
			if (has_join(((Binding *)n->bindings.items[i])->init))
				return true;
		break;
	default:
		break;
	}
	if (n->kind == N_CALL || n->kind == N_DO)
		for (int i = 0; i < n->args.len; i++)
			if (has_join(n->args.items[i]))
				return true;
	return has_join(n->lhs) || has_join(n->rhs) || has_join(n->body);
}

/* An empty table of fn's variables' facts (var_info), in the arena. */
static void new_var_table(Emitter *E, const FnDecl *fn)
{
	int cap = 16;
	while (cap < 2 * (fn->locals.len + fn->nparams + 4))
		cap *= 2;
	E->nvars_cap = cap;
	E->vars = arena_alloc(sizeof(VarInfo) * (size_t)cap);
}

typedef struct ContextUses {
	Emitter *E;
	const Var *ctx;
	int reads;  /* member reads and loads that would go through barrier_var() */
	int other;  /* uses of ctx but by those and the packet's bounds */
	int loads;  /* other reads of memory: loads, fields through pointers,
	             * globals, calls of defns (inlined, they may load) */
} ContextUses;

static bool count_context_use(const Node *n, const void *walk)
{
	ContextUses *w = (ContextUses *)walk;
	if (barriered_context_read(w->E, n) || barriered_context_load(w->E, (Node *)n))
		w->reads++;
	else if (n->kind == N_FIELD && n->lhs && is_var_ref(n->lhs) && n->lhs->ref_var == w->ctx &&
		 is_packet_field(n))
		w->other--; /* its ctx below is no other use */
	else if ((n->kind == N_CALL && (n->callee_kind == CALLEE_FN ||
					(n->callee_kind == CALLEE_BUILTIN &&
					 (n->builtin == BI_LOAD || n->builtin == BI_STACK_LOAD)))) ||
		 (n->kind == N_FIELD && n->lhs && n->lhs->type && n->lhs->type->kind == TY_PTR) ||
		 (n->kind == N_NAME && n->ref == REF_GLOBAL))
		w->loads++;
	if (is_var_ref(n) && n->ref_var == w->ctx)
		w->other++;
	return false;
}

/* Can a context read of the entry meet another load where its branches
 * join (barriered_context_read)? Not with one read, the context used for
 * nothing else (a defn given the context may be inlined and read it too,
 * so any other use counts as many), and no other load: clang merged
 * ctx->rsi and *ptr2 of two match arms into one load through a chosen
 * pointer (tests/gen/context_read_beside_load). */
static bool context_reads_may_merge(Emitter *E, const FnDecl *fn)
{
	const Var *ctx = fn->nparams > 0 ? fn->params[0]->var : NULL;
	if (!ctx)
		return false;
	ContextUses w = { E, ctx, 0, 0, 0 };
	node_any(fn->body, count_context_use, &w);
	return w.reads + (w.other - w.reads > 0 ? 2 : 0) + (w.loads > 0) >= 2;
}

static void lower_function(Emitter *E, FnDecl *fn, Printer *P, bool reachable)
{
	E->fn = fn;
	E->barriers_explained = 0;
	/* a function other than the entry may be inlined into a branch */
	E->context_joins = !fn->is_entry || has_join(fn->body);
	new_var_table(E, fn);
	if (fn->is_entry && E->context_joins)
		E->context_joins = context_reads_may_merge(E, fn);
	E->scopes.len = 0;
	E->stack_bytes = 0;
	E->stack_u32 = E->stack_u64 = false;
	E->hoisted.len = E->hoisted_as.len = 0;

	/* the source calls the context `ctx`, which the checker reserves for
	 * us (C name ctx_): a parameter can have it back */
	const ProgramDecl *entry_prog = fn_program(E->m, fn);
	const ProgKindInfo *entry_kind = entry_prog ? entry_prog->kind : NULL;
	bool btf_args = entry_kind && entry_kind->btf_args; /* BPF_PROG defines its own ctx */
	for (int i = 0; i < fn->nparams && !btf_args; i++) {
		Var *v = fn->params[i]->var;
		if (v && strcmp(v->name, "ctx") == 0)
			var_info(E, v)->text = "ctx";
	}

	for (int i = 0; i < fn->nparams; i++) {
		Var *v = fn->params[i]->var;
		if (v && (v->handle_map || v->handle_maps_differ)) {
			var_info(E, v)->map_handle = true;
			var_info(E, v)->c_pointer = true;
			var_info(E, v)->c_type = "void *";
		}
	}

	count(E, fn->body, !fn->ret || fn->ret->kind == TY_UNIT);
	find_stack_use(E, fn->body);
	find_packet_nodes(E, fn->body);

	CBlock *saved;
	CBlock *body = enter_block(E, &saved);
	E->cur = body;
	int fn_line = (int)fn->span.line;

	/* the signature */
	const ProgramDecl *prog = entry_prog;
	const ProgKindInfo *kind = prog ? prog->kind : NULL;
	StrBuf sig = { 0 };
	Var *ctx_var = fn->nparams > 0 ? fn->params[0]->var : NULL;
	if (btf_args) {
		/* LANGUAGE.md 11.4: the kernel's arguments by BPF_PROG, whose
		 * hidden ctx parameter the body does not use */
		E->uses_tracing = true;
		sb_printf(&sig, "int BPF_PROG(%s", fn->c_name);
		add_line(E, 0, "(void)ctx;"); /* no code: no #line */
		for (int i = 0; i < fn->nparams; i++) {
			VarInfo *vi = var_info(E, fn->params[i]->var);
			sb_printf(&sig, ", %s", c_decl(E, fn->params[i]->type, vi->text));
			if (vi->uses == 0)
				add_line(E, 0, arena_printf("(void)%s;", vi->text));
		}
		sb_putc(&sig, ')');
	} else if (fn->is_entry) {
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
			add_line(E, 0, arena_printf("(void)%s;", cparam)); /* no code: no #line */
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
				  vi->map_handle || is_packet_var(E, v) ? arena_printf("void *%s", vi->text)
									: c_decl(E, t, vi->text));
			/* an exported function is a global one: the verifier
			 * checks each of its arguments at every call, but clang
			 * passes nothing in the register of an argument it finds
			 * unused in a call from this file ("R3 is not a
			 * scalar") - unused in the source, or only after it
			 * folded the code that reads it away ((> p p) never
			 * true). barrier_var() is a use no folding removes, so
			 * every parameter of an exported function this file
			 * calls goes through it (hand-written callers are
			 * compiled apart and pass every argument) */
			if (fn->exported && E->called[ptrindex_get(&E->fn_index, fn)])
				add_barrier(E, 0, vi->text, BARRIER_GLOBAL_ARG);
			else if (vi->uses == 0)
				add_line(E, 0, arena_printf("(void)%s;", vi->text));
		}
		if (fn->nparams == 0)
			sb_puts(&sig, "void");
		sb_putc(&sig, ')');
	}

	int stack_decl = -1; /* its index in the body */
	if (E->stack_bytes > 0) {
		E->stack_name = new_local(E, "stack");
		const char *decl;
		/* a slot read before any write reads 0 (checker.c,
		 * note_stack_read_unwritten) */
		const char *zero = fn->stack_read_unwritten ? " = { 0 }" : "";
		if (E->stack_u32 && E->stack_u64)
			decl = arena_printf("union {\n\t__u64 u64[%d];\n\t__u32 u32[%d];\n} %s%s;",
					    E->stack_bytes / 8, E->stack_bytes / 4, E->stack_name, zero);
		else if (E->stack_u64)
			decl = arena_printf("__u64 %s[%d]%s;", E->stack_name, E->stack_bytes / 8, zero);
		else
			decl = arena_printf("__u32 %s[%d]%s;", E->stack_name, E->stack_bytes / 4, zero);
		add_decl(E, fn_line, arena_printf("/* frame slots of the bpf/stack_* built-ins%s */\n%s",
						  fn->stack_read_unwritten ? ", read before written: zeroed" : "",
						  decl));
		stack_decl = E->cur->stmts.len - 1;
	}

	E->stack_used = false;
	lower_stmt(E, fn->body, (Dest){ DEST_RETURN, NULL, fn->ret });
	if (stack_decl >= 0 && !E->stack_used) {
		/* every use was in code C does not get (a match arm no value
		 * reaches): no array, which clang -Wunused-variable refuses */
		Vec *stmts = &E->cur->stmts;
		memmove(&stmts->items[stack_decl], &stmts->items[stack_decl + 1],
			sizeof(void *) * (size_t)(stmts->len - stack_decl - 1));
		stmts->len--;
	}
	if (fn->is_entry && !fn_returns_value(E))
		add_line(E, 0, "return 0;");
	leave_block(E, saved);
	/* a parameter the source uses only where the C writes nothing (a
	 * record field no one reads) */
	for (int i = 0; !fn->is_entry && i < fn->nparams; i++) {
		VarInfo *vi = fn->params[i]->var ? var_info(E, fn->params[i]->var) : NULL;
		if (vi && vi->uses > 0 && !block_reads(body, vi->text))
			insert_void_mark(body, 0, vi->text, NULL);
	}
	read_unread_locals(body, body);
	hoist_declarations(body);

	/* print */
	const char *sec = NULL;
	if (fn->is_entry) {
		sec = kind ? prog_section_name(kind, prog->attach) : NULL;
		if (sec)
			sec = arena_printf("SEC(%s)", escape_c_string(sec));
	}
	const char *storage = fn->is_entry || fn->exported ? "" : reachable ? "static " : "static __attribute__((unused)) ";
	int decl = ptrindex_get(&E->decl_index, fn);
	if (decl >= 0)
		put_comments(P->out, 0, &E->above[decl]);
	print_function(P, sec, arena_printf("%s%s", storage, sig.data), fn_line, body,
		       decl >= 0 ? &E->inside[decl] : NULL);
	sb_free(&sig);
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

/* The comments planned above a declaration's C (place_comments). */
static void put_decl_comments(Emitter *E, StrBuf *out, const void *payload)
{
	int d = E->above ? ptrindex_get(&E->decl_index, payload) : -1;
	if (d >= 0)
		put_comments(out, 0, &E->above[d]);
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
	put_decl_comments(E, out, r);
	sb_printf(out, "%s {\n", r->c_name);
	for (int i = 0; i < r->nfields; i++) {
		Field *f = r->fields[i];
		sb_printf(out, "\t%s", c_decl(E, f->type, f->c_member ? f->c_member : f->name));
		if (f->array_len)
			sb_printf(out, "[%d]", f->array_len);
		sb_puts(out, ";\n");
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

/* The programs a prog_array's :init names are defined after the maps:
 * declared before it. */
static void declare_init_programs(const MapDecl *md, StrBuf *out)
{
	for (int i = 0; i < md->ninit; i++) {
		const FnDecl *fn = md->init_progs[i];
		if (!fn)
			continue;
		const char *ctype = fn->prog->kind->c_context_type ? fn->prog->kind->c_context_type : "void *";
		emit_c_line(out, arena_printf("int %s(%s%sctx);", fn->c_name, ctype,
					      ctype[strlen(ctype) - 1] == '*' ? "" : " "));
	}
	sb_putc(out, '\n');
}

static void emit_map(Emitter *E, StrBuf *out, const MapDecl *md)
{
	put_decl_comments(E, out, md);
	if (md->ninit && md->init_progs && !md->is_extern)
		declare_init_programs(md, out);
	sb_printf(out, "%sstruct {\n", md->is_extern ? "extern " : "");
	sb_printf(out, "\t__uint(type, %s);\n", md->map_type ? md->map_type->c_enum : "0");
	if (md->ninit && md->init_progs) {
		/* the values: __array below */
		sb_printf(out, "\t__uint(key_size, sizeof(%s));\n", md->key ? md->key->c_name : "__u32");
	} else if (map_takes_sizes(md)) {
		sb_printf(out, "\t__uint(key_size, sizeof(%s));\n", md->key ? md->key->c_name : "__u32");
		sb_printf(out, "\t__uint(value_size, sizeof(%s));\n", md->value ? md->value->c_name : "__u32");
	} else {
		if (md->key)
			sb_printf(out, "\t__type(key, %s);\n", c_type(E, md->key));
		if (md->value)
			sb_printf(out, "\t__type(value, %s);\n", c_type(E, md->value));
	}
	sb_printf(out, "\t__uint(max_entries, %" PRIu64 ");\n", md->max_entries);
	uint32_t required = md->map_type ? md->map_type->required_flags : 0;
	if (required && md->flags == required)
		sb_printf(out, "\t__uint(map_flags, %s);\n", md->map_type->required_flags_c);
	else if (md->flags)
		sb_printf(out, "\t__uint(map_flags, %" PRIu64 ");\n", md->flags);
	if (md->pinned)
		sb_puts(out, "\t__uint(pinning, LIBBPF_PIN_BY_NAME);\n");
	if (md->ninit && md->init_progs) {
		/* libbpf fills the slots from .values at load (10.3); the
		 * values are an __array of programs, last (a flexible array) */
		sb_puts(out, "\t__array(values, int(void *));\n");
	}
	if (md->ninit && md->init_progs && !md->is_extern) {
		sb_printf(out, "} %s SEC(\".maps\") = {\n\t.values = {\n", md->c_name);
		for (int i = 0; i < md->ninit; i++)
			if (md->init_progs[i])
				sb_printf(out, "\t\t[%d] = (void *)&%s,\n", i, md->init_progs[i]->c_name);
		sb_puts(out, "\t},\n};\n\n");
		return;
	}
	sb_printf(out, "} %s SEC(\".maps\");\n\n", md->c_name);
}



/* "extern __u32 name(struct xdp_md *, __u32)": a function of another
 * object, by its types only. */
static const char *c_prototype(Emitter *E, const char *storage, const Type *ret, const char *name,
			       Type *const *params, int nparams)
{
	StrBuf sb = { 0 };
	sb_printf(&sb, "%s%s(", storage, c_decl(E, ret, name));
	for (int i = 0; i < nparams; i++) {
		/* the source gives an extern's parameters types only: the
		 * context is ctx, as everywhere, the rest are numbered */
		const Type *t = params[i];
		bool context = t && t->kind == TY_PTR && t->pointee && t->pointee->kind == TY_RECORD &&
			       t->pointee->record && t->pointee->record->is_context;
		int contexts = 0;
		for (int k = 0; k < nparams; k++)
			contexts += params[k] && params[k]->kind == TY_PTR && params[k]->pointee &&
				    params[k]->pointee->kind == TY_RECORD && params[k]->pointee->record &&
				    params[k]->pointee->record->is_context;
		const char *pname = context && contexts == 1 ? "ctx" : arena_printf("arg%d", i + 1);
		sb_printf(&sb, "%s%s", i ? ", " : "", c_decl(E, t, pname));
	}
	sb_puts(&sb, nparams ? ")" : "void)");
	const char *text = arena_strdup(sb.data);
	sb_free(&sb);
	return text;
}

static void emit_global(Emitter *E, StrBuf *out, const GlobalDecl *g)
{
	const char *decl = c_decl(E, g->type, g->c_name);
	put_decl_comments(E, out, g);
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

/* Calls n makes, in source order, to defns: f(fn, callee) for each. Not
 * those of a match clause the C drops (clause_emitted): a function called
 * only there is called nowhere in C, and a static one unmarked unused is
 * -Wunused-function (seed 532001753). */
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
			if (clause_emitted(n, i))
				for_each_call(E, ((MatchClause *)n->clauses.items[i])->body, from, order, state, f);
	for (int i = 0; i < n->args.len; i++)
		for_each_call(E, n->args.items[i], from, order, state, f);
	const Node *kids[] = { n->lhs, n->rhs, n->cond, n->then, n->els, n->body };
	for (size_t i = 0; i < sizeof(kids) / sizeof(*kids); i++)
		for_each_call(E, kids[i], from, order, state, f);
}

/* A comparison of two packet addresses: a bounds check. */
static bool is_packet_check(const Node *n, const void *emitter)
{
	const Emitter *E = emitter;
	return n->kind == N_BINOP && binop_is_comparison(n->op) && n->op != OP_EQ && n->op != OP_NE &&
	       is_packet_expr(E, n->lhs) && is_packet_expr(E, n->rhs);
}

static bool has_packet_param(const Emitter *E, const FnDecl *fn)
{
	for (int i = 0; i < fn->nparams; i++)
		if (is_packet_var(E, fn->params[i]->var))
			return true;
	return false;
}

/* Marks a callee that takes a packet address (state[i] = 1). */
static void mark_packet_callee(Emitter *E, FnDecl *fn, Vec *unused, char *state)
{
	(void)unused;
	int i = ptrindex_get(&E->fn_index, fn);
	if (i >= 0 && has_packet_param(E, fn))
		state[i] = 1;
}

/* The functions that take packet addresses from a caller that checks
 * the packet's bounds itself (or takes them from such a caller in turn).
 * Inlined there, their own bounds check repeats the caller's, and clang
 * may compute it in the register a load of the caller uses as its
 * address: the verifier then walks the repeated check's branch that
 * cannot happen, marks that register past the packet's end and refuses
 * the load (fuzz seed 520008461). Their checks go through barrier_var()
 * (rechecked_bound in emit_c_expr.c). Per fns, 1 when so. */
static char *find_rechecked(Emitter *E)
{
	char *rechecked = arena_alloc((size_t)E->fns.len + 1);
	for (int marked = 0, before = -1; marked != before;) {
		before = marked;
		for (int i = 0; i < E->fns.len; i++) {
			FnDecl *fn = E->fns.items[i];
			if (rechecked[i] || node_any(fn->body, is_packet_check, E))
				for_each_call(E, fn->body, fn, NULL, rechecked, mark_packet_callee);
		}
		marked = 0;
		for (int i = 0; i < E->fns.len; i++)
			marked += rechecked[i];
	}
	return rechecked;
}

/* ---- null tests clang merges ------------------------------------------------ */

/* Can a OP b (or the guard a < b of a loop from a to b) be, once clang
 * 14 has inlined and folded constants, a test of a 64-bit value against
 * zero: == or != (of a value and 0, or a parameter a caller passes 0;
 * (x & 4) == 4 becomes (x & 4) != 0), and unsigned > 0, <= 0, < 1, >= 1,
 * or a comparison of two values? Narrower tests are not merged with a
 * pointer's (clang merges tests of one width; measured with __u8 to
 * __u32 globals), nor were comparisons with other constants (x < 8,
 * x > 5) or signed ones (s > 0), in && and || of a lookup's test and
 * one of x, either order, through a let or inlined (docs/emit_c.md). */
static bool tests_zero_64(BinOp op, const Node *a, const Node *b)
{
	uint64_t k;
	if (!binop_is_comparison(op) || !a->type || !is_int_type(a->type) || a->type->size != 8)
		return false;
	if (op == OP_EQ || op == OP_NE)
		return true;
	if (a->type->is_signed)
		return false;
	if (constant_value(a, &k)) {
		op = comparison_mirrored(op);
	} else if (!constant_value(b, &k)) {
		return true;
	}
	return k == 0 ? op == OP_GT || op == OP_LE : k == 1 && (op == OP_LT || op == OP_GE);
}

/* Can n itself test a 64-bit value or a pointer against zero? A bare
 * null test, a comparison (tests_zero_64), a 64-bit division helper
 * (b ? a / b : 0), a match of a 64-bit value (its cases are == tests),
 * the guard of a loop, map/incr! (it tests bpf_map_update_elem's
 * result). */
static bool tests_zero(const Emitter *E, const Node *n)
{
	switch (n->kind) {
	case N_MATCH:
		if (ptrindex_get(&E->bare_null_tests, n) >= 0)
			return true;
		return n->lhs->type && is_int_type(n->lhs->type) && n->lhs->type->size == 8;
	case N_BINOP: /* a packet's bounds check never compares with 0 */
		return (tests_zero_64(n->op, n->lhs, n->rhs) && !is_packet_check(n, E)) ||
		       (divides_by_helper(n, n->type) && n->type->size == 8);
	case N_FOR:
		return tests_zero_64(OP_LT, n->lhs, n->rhs);
	case N_CALL:
		return n->callee_kind == CALLEE_MAP_INCR;
	default:
		return false;
	}
}

typedef struct ZeroTests {
	Emitter *E;
	signed char *per_fn; /* per fns: fn_zero_tests, -1 until known */
	int *tests;          /* the count so far, of the node walked */
} ZeroTests;

static int zero_tests_in(Emitter *E, signed char *per_fn, const Node *n);

/* The tests against zero in fn's body, its callees' counted at each
 * call (clang may inline them all into one body); at most 2. */
static int fn_zero_tests(Emitter *E, signed char *per_fn, FnDecl *fn)
{
	int i = ptrindex_get(&E->fn_index, fn);
	if (i < 0)
		return 0;
	if (per_fn[i] < 0)
		per_fn[i] = (signed char)zero_tests_in(E, per_fn, fn->body);
	return per_fn[i];
}

static bool count_zero_test(const Node *n, const void *walk)
{
	const ZeroTests *w = walk;
	int k = tests_zero(w->E, n);
	if (n->kind == N_CALL && n->callee_kind == CALLEE_FN && n->callee_fn)
		k += fn_zero_tests(w->E, w->per_fn, n->callee_fn);
	if (n->kind == N_FOR) /* counted twice: clang may unroll the loop */
		k += zero_tests_in(w->E, w->per_fn, n->body);
	*w->tests += k;
	return *w->tests >= 2;
}

static int zero_tests_in(Emitter *E, signed char *per_fn, const Node *n)
{
	int tests = 0;
	ZeroTests w = { E, per_fn, &tests };
	node_any(n, count_zero_test, &w);
	return tests < 2 ? tests : 2;
}

typedef struct BareTests {
	Emitter *E;
	Vec *found;
} BareTests;

static bool collect_bare_null_test(const Node *n, const void *bare_tests)
{
	const BareTests *b = bare_tests;
	if (is_bare_null_test(b->E, n))
		vec_push(b->found, (void *)n);
	return false;
}

/* Collects the bare null tests (is_bare_null_test) of every function
 * into E->bare_null_tests: each function's variables are counted as
 * lower_function counts them, in a span of the arena released after. */
static void find_bare_null_tests(Emitter *E)
{
	Vec found = { 0 };
	for (int i = 0; i < E->fns.len; i++) {
		FnDecl *fn = E->fns.items[i];
		arena_transient_begin_all();
		new_var_table(E, fn);
		count(E, fn->body, !fn->ret || fn->ret->kind == TY_UNIT);
		BareTests b = { E, &found };
		node_any(fn->body, collect_bare_null_test, &b);
		arena_transient_end();
	}
	E->vars = NULL;
	E->bare_null_tests.cap = table_cap(found.len);
	E->bare_null_tests.keys = arena_alloc(sizeof(*E->bare_null_tests.keys) * E->bare_null_tests.cap);
	E->bare_null_tests.values = arena_alloc(sizeof(*E->bare_null_tests.values) * E->bare_null_tests.cap);
	for (int i = 0; i < found.len; i++)
		ptrindex_put(&E->bare_null_tests, found.items[i], i);
}

/* Do the bare null tests go through barrier_var()? clang 14 merges two
 * tests against zero of one width, (p == NULL && x == 0), into
 * ((p | x) == 0) - from && or ||, from nested ?: or if-else choosing one
 * value, or after inlining one of them - and the verifier refuses
 * arithmetic on a pointer that may be null ("R0 pointer |= pointer
 * prohibited", fuzz seed 550005251). A pointer its clause uses stays in
 * a branch of its own, so only a bare test is merged, and only when the
 * module has another test against zero (tests_zero), or the same one
 * twice: in a function called twice, or in a loop. Counted from the
 * functions the programs start in (reached, called by none), through
 * their calls. */
static bool null_tests_merge(Emitter *E, const char *reached)
{
	find_bare_null_tests(E);
	bool any_bare = false;
	for (size_t i = 0; i < E->bare_null_tests.cap && !any_bare; i++)
		any_bare = E->bare_null_tests.keys[i] != NULL;
	if (!any_bare)
		return false;
	signed char *per_fn = arena_alloc((size_t)E->fns.len + 1);
	memset(per_fn, -1, (size_t)E->fns.len + 1);
	int tests = 0;
	for (int i = 0; i < E->fns.len && tests < 2; i++)
		if (reached[i] && !E->called[i])
			tests += fn_zero_tests(E, per_fn, E->fns.items[i]);
	return tests >= 2;
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

/* Marks a function some function of this file calls (state[i] = 1). */
static void mark_called(Emitter *E, FnDecl *fn, Vec *unused, char *state)
{
	(void)unused;
	int i = ptrindex_get(&E->fn_index, fn);
	if (i >= 0)
		state[i] = 1;
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

/* The last source line a span covers. */
static uint32_t span_last_line(Span sp)
{
	uint32_t line = sp.line;
	if (!sp.file || !sp.file->text)
		return line;
	for (uint32_t i = 0; i + 1 < sp.len && sp.offset + i < sp.file->len; i++)
		line += sp.file->text[sp.offset + i] == '\n';
	return line;
}

static const void *decl_payload(const Decl *d)
{
	switch (d->kind) {
	case D_FN:
		return d->u.fn;
	case D_MAP:
		return d->u.map;
	case D_GLOBAL:
		return d->u.global;
	case D_RECORD:
		return d->u.record->record;
	case D_EXTERN:
		return d->u.ext;
	default:
		return NULL;
	}
}

/* Does the declaration become C of its own (so its comments have a place)? */
static bool decl_emits_c(const Decl *d)
{
	switch (d->kind) {
	case D_FN:
	case D_MAP:
	case D_GLOBAL:
		return true;
	case D_RECORD:
		return d->u.record->record && !d->u.record->record->is_context;
	case D_EXTERN:
		return d->u.ext->is_c;
	default:
		return false;
	}
}

/* Gives every comment of the module its place (docs/emit_c.md,
 * "Comments"): the comments before the first declaration are the file's
 * header comment (but the block right above a first declaration that
 * becomes C belongs to it); comments between declarations go above the
 * next one that becomes C, comments inside a defn's body into the body,
 * comments inside any other declaration above it; the rest after the
 * last declaration. */
static void place_comments(Emitter *E, const Module *m)
{
	int nd = m->decls.len;
	E->above = arena_alloc(sizeof(Vec) * (size_t)(nd + 1));
	E->inside = arena_alloc(sizeof(Vec) * (size_t)(nd + 1));
	E->decl_index.cap = table_cap(nd);
	E->decl_index.keys = arena_alloc(sizeof(*E->decl_index.keys) * E->decl_index.cap);
	E->decl_index.values = arena_alloc(sizeof(*E->decl_index.values) * E->decl_index.cap);
	for (int i = 0; i < nd; i++) {
		const void *key = decl_payload(m->decls.items[i]);
		if (key)
			ptrindex_put(&E->decl_index, key, i);
	}
	const Vec *cs = &m->comments;
	int ci = 0;
	/* before the first declaration */
	uint32_t first_line = nd ? ((Decl *)m->decls.items[0])->span.line : UINT32_MAX;
	int header_end = 0;
	while (header_end < cs->len && ((Comment *)cs->items[header_end])->line < first_line)
		header_end++;
	int own = header_end;
	if (nd && decl_emits_c(m->decls.items[0])) {
		/* the run of lines touching the declaration is its own */
		uint32_t next = first_line;
		while (own > 0 && ((Comment *)cs->items[own - 1])->line + 1 == next)
			next = ((Comment *)cs->items[--own])->line;
	}
	for (; ci < own; ci++)
		vec_push(&E->header_comments, cs->items[ci]);
	int pending_from = ci; /* comments waiting for a declaration with C */
	for (int i = 0; i < nd; i++) {
		Decl *d = m->decls.items[i];
		uint32_t last = span_last_line(d->span);
		int from = ci;
		while (ci < cs->len && ((Comment *)cs->items[ci])->line <= last)
			ci++;
		if (!decl_emits_c(d))
			continue;
		for (int k = pending_from; k < ci; k++) {
			Comment *c = cs->items[k];
			bool in_body = d->kind == D_FN && k >= from && c->line > d->u.fn->span.line;
			vec_push(in_body ? &E->inside[i] : &E->above[i], c);
		}
		pending_from = ci;
	}
	for (int k = pending_from; k < cs->len; k++)
		vec_push(&E->tail_comments, cs->items[k]);
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
		}
	}
	place_comments(&E, m);
	find_packet_pointers(&E);
	find_end_pointers(&E);

	/* data first (kernel structs, records, maps, globals), functions after */
	StrBuf data = { 0 };
	Vec done_records = { 0 };
	emit_kernel_structs(m, &data);
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
			put_decl_comments(&E, &data, d->u.ext);
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
		if (((FnDecl *)E.fns.items[i])->is_entry) /* defprogs (10.3) */
			reach_fn(&E, E.fns.items[i], NULL, reached);
	for (int i = 0; i < E.fns.len; i++)
		if (((FnDecl *)E.fns.items[i])->exported)
			reach_fn(&E, E.fns.items[i], NULL, reached);
	char *called = arena_alloc((size_t)E.fns.len + 1);
	for (int i = 0; i < E.fns.len; i++) {
		FnDecl *fn = E.fns.items[i];
		for_each_call(&E, fn->body, fn, NULL, called, mark_called);
	}
	E.called = called;
	E.rechecked = find_rechecked(&E);
	E.hides_null_tests = null_tests_merge(&E, reached);
	for (int i = 0; i < E.fns.len; i++)
		visit_fn(&E, E.fns.items[i], &order, placed);
	/* The functions go straight to out, and what comes before them -
	 * the includes depend on what the functions use - is put in front
	 * at the end: the C is held once, not built apart and copied. */
	if (!out->data)
		sb_puts(out, "");
	size_t funcs_at = out->len;
	Printer P = {
		.out = out,
		.directives = !opts || opts->line_directives,
		.file = escape_c_string(E.file),
	};
	for (int i = 0; i < order.len; i++) {
		FnDecl *fn = order.items[i];
		bool reachable = reached[ptrindex_get(&E.fn_index, fn)];
		/* the function's C is in funcs once printed: what lowering
		 * it took is released for the next one, so the backend's
		 * memory is the module's and the C's, whatever the number of
		 * functions */
		arena_transient_begin_all();
		lower_function(&E, fn, &P, reachable);
		arena_transient_end();
		sb_putc(out, '\n');
	}
	put_comments(out, 0, &E.tail_comments);
	sb_printf(out, "char LICENSE[] SEC(\"license\") = %s;\n", escape_c_string(license));

	/* header and includes, now that uses are known */
	StrBuf head = { 0 };
	const char *spdx = spdx_for(license);
	if (spdx)
		sb_printf(&head, "// SPDX-License-Identifier: %s\n", spdx);
	sb_printf(&head, "// Code generated by vbpf2c from %s. DO NOT EDIT.\n", E.file);
	put_comments(&head, 0, &E.header_comments);
	sb_puts(&head, "#include <linux/bpf.h>\n");
	if (E.uses_perf_event)
		sb_puts(&head, "#include <linux/bpf_perf_event.h>\n");
	for (int i = 0; i < E.kconst_headers.len; i++)
		sb_printf(&head, "#include <%s>\n", (const char *)E.kconst_headers.items[i]);
	if (E.uses_ptrace)
		sb_puts(&head, "#include <asm/ptrace.h>\n");
	if (E.uses_bool)
		sb_puts(&head, "#include <stdbool.h>\n");
	sb_puts(&head, "#include <bpf/bpf_helpers.h>\n");
	if (E.uses_core)
		sb_puts(&head, "#include <bpf/bpf_core_read.h>\n");
	if (E.uses_tracing)
		sb_puts(&head, "#include <bpf/bpf_tracing.h>\n");
	if (E.uses_endian)
		sb_puts(&head, "#include <bpf/bpf_endian.h>\n");
	sb_putc(&head, '\n');
	if (data.data)
		sb_puts(&head, data.data);
	StrBuf helpers = { 0 };
	emit_division_helpers(&E, &helpers);
	if (helpers.data)
		sb_puts(&head, helpers.data);
	sb_insert(out, funcs_at, head.data, head.len);
	sb_free(&head);
	sb_free(&data);
	sb_free(&helpers);
}

