/* emit_c_stmt.c - the C backend's statements (see emit_c.h): let, do,
 * if, cond, match, for-range, set! and the value a form delivers (returned,
 * assigned or dropped), as a tree of CStmt that emit_c_print.c prints. */
#include <ctype.h>

#include "emit_c.h"

/* ---- statements ---------------------------------------------------------------- */

bool fn_returns_value(Emitter *E)
{
	return E->fn->ret && E->fn->ret->kind != TY_UNIT;
}

/* The value of n delivered to d as one statement. */
/* Can n's value come from one of our defns returning __u32 (directly or
 * as an arm of an if)? The entry returns int, and hand C would give that
 * defn an int result; here the conversion is written out. */
static bool returns_our_u32(const Node *n)
{
	n = value_tail(n);
	if (n->kind == N_IF)
		return returns_our_u32(n->then) || returns_our_u32(n->els);
	return n->kind == N_CALL && n->callee_kind == CALLEE_FN;
}

/* Is every value body can return a constant, but `read`? Then a return
 * of read meets no other load where the returns join. */
static bool other_tails_constant(const Node *body, const Node *read)
{
	if (!body)
		return true;
	switch (body->kind) {
	case N_LET:
		return other_tails_constant(body->body, read);
	case N_DO:
		return !body->args.len || other_tails_constant(body->args.items[body->args.len - 1], read);
	case N_IF:
		return other_tails_constant(body->then, read) && other_tails_constant(body->els, read);
	case N_MATCH:
		for (int i = 0; i < body->clauses.len; i++)
			if (!other_tails_constant(((MatchClause *)body->clauses.items[i])->body, read))
				return false;
		return true;
	case N_INT:
	case N_BOOL:
		return true;
	case N_NAME:
		return body->ref == REF_KCONST;
	default:
		return body == read;
	}
}

static void deliver(Emitter *E, Node *n, Dest d)
{
	switch (d.kind) {
	case DEST_DISCARD:
		break;
	case DEST_RETURN: {
		CExpr v;
		/* a context read returned where every other return is a
		 * constant: no barrier_var() (emit_c_expr.c context_read) */
		bool saved_joins = E->context_joins;
		if (barriered_context_read(E, n) && E->fn->is_entry && other_tails_constant(E->fn->body, n))
			E->context_joins = false;
		if (E->fn->is_entry) {
			/* the entry returns int: the value of one of our defns
			 * converts visibly (-Wsign-conversion), and a narrowing
			 * to __u32 narrows to int instead */
			v = exact_constant(n, exact_value(E, n));
			bool literal = value_tail(n)->kind == N_INT ||
				       (value_tail(n)->kind == N_NAME && value_tail(n)->ref == REF_KCONST);
			if (!literal && n->type && is_int_type(n->type) && !n->type->is_signed && n->type->size == 4) {
				if (v.prec == PREC_UNARY && strncmp(v.s, "(__u32)", 7) == 0)
					v = cx(arena_printf("(int)%s", v.s + 7), PREC_UNARY);
				else if (returns_our_u32(n))
					v = cx(arena_printf("(int)%s", cast_operand(v)), PREC_UNARY);
			}
			/* a constant too wide for int: (int) */
			if (strncmp(v.s, "(int)", 5) != 0)
				v = narrow_constant(n, v, ty_i32, "int");
		} else
			v = value_for(E, n, E->fn->ret);
		E->context_joins = saved_joins;
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
		if (n->callee_kind == CALLEE_MAP_INCR) {
			lower_map_incr(E, n);
			return;
		}
		if ((n->callee_kind == CALLEE_BUILTIN && n->builtin != BI_STORE && n->builtin != BI_STACK_STORE) ||
		    n->callee_kind == CALLEE_RECORD) {
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
bool block_empty(const CBlock *b)
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

/* The line an if statement maps to: its condition's, which for a cond
 * clause is the clause's line (the N_IF of a first clause has the cond
 * form's). */
static int if_line(const Node *n)
{
	return n->kind == N_IF && n->cond ? line_of(n->cond) : line_of(n);
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
		CStmt *s = add_stmt(E, CS_IF, if_line(n), cond.s);
		s->then = tb;
		E->cur = saved_cur;
		if (els)
			lower_stmt(E, els, d);
		return;
	}
	CBlock *eb = branch(E, els, d);
	emit_if(E, if_line(n), cond, tb, eb);
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
		add_var(E, line_of(n->lhs), c_decl(E, binding->type, binding->c_name), binding->c_name, v.s, false,
			false);
		*declared = true;
		return cx(binding->c_name, PREC_POSTFIX);
	}
	return in_source_type(E, n->lhs, exact_value(E, n->lhs));
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
	if (E->hides_null_tests && ptrindex_get(&E->bare_null_tests, n) >= 0) {
		/* the test, not the pointer, goes through barrier_var(): a
		 * hidden pointer is still one clang can or (emit_c.c
		 * null_tests_merge) */
		const char *found = new_local(E, "found");
		add_var(E, line_of(n), c_decl(E, ty_bool, found), found,
			arena_printf("%s != NULL", paren(p, PREC_EQ + 1)), false, false);
		add_barrier(E, line_of(n), found, BARRIER_NULL_TEST);
		p = cx(found, PREC_POSTFIX);
	}
	lower_if(E, n, p, yes ? yes->body : NULL, no ? no->body : NULL, d);
}

/* An integer pattern as written: 0x800, '\n', XDP_DROP. */
static const char *pattern_literal(Emitter *E, const Type *t, const Pattern *p)
{
	if (p->kconst)
		return kconst_name(E, p->kconst);
	return int_literal(t, p->value, p->negative, false, false, source_spelling(p->span, p->value, p->negative));
}

/* The constant a case of a switch on a value of type t gives, where it
 * is the case's own label: [1 1]. clang 14 gives the switch's value
 * there instead, and where the value is narrower than 64 bits it may
 * compare one extension of it and give another, a register the verifier
 * never linked to the one compared; it knows then only the type's range,
 * and refuses the exit of a kind that keeps its return value in a range
 * ("R0 has smin=-32768 smax=32767 should have been in [0, 1]"; seed
 * 570009795). The constant goes through barrier_var(). */
static Node *value_is_label(const Type *t, MatchClause *c, Dest d)
{
	Node *value = (Node *)value_tail(c->body); /* c's own node */
	uint64_t k;
	if (d.kind == DEST_DISCARD || t->size == 8 || !constant_value(value, &k) || has_effects(value))
		return NULL;
	uint64_t mask = (UINT64_C(1) << (8 * t->size)) - 1;
	return (k & mask) == (c->pattern->value & mask) ? value : NULL;
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
	/* a constant scrutinee: the clause it takes, alone */
	int taken = constant_match_clause(n);
	if (taken >= 0) {
		MatchClause *c = n->clauses.items[taken];
		if (c == deflt && bind && var_info(E, bind)->uses > 0) {
			bool declared;
			alias(E, bind, scrutinee(E, n, bind, &declared));
		}
		lower_stmt(E, c->body, d);
		return;
	}
	bool clause_effects = false;
	for (int i = 0; i < n->clauses.len; i++)
		clause_effects |= clause_emitted(n, i) && has_effects(((MatchClause *)n->clauses.items[i])->body);
	if (d.kind == DEST_DISCARD && !clause_effects) {
		discard(E, n->lhs);
		return;
	}
	if (cases.len == 0 && !(bind && var_info(E, bind)->uses > 0)) {
		/* only a catch-all that does not read the value: the
		 * scrutinee still runs first, for its effects */
		discard(E, n->lhs);
		if (deflt)
			lower_stmt(E, deflt->body, d);
		return;
	}
	bool declared;
	CExpr x = scrutinee(E, n, bind, &declared);
	if (bind)
		alias(E, bind, x);
	Type *t = n->lhs->type;
	bool flatten = d.kind == DEST_RETURN && fn_returns_value(E);

	if (cases.len == 0) {
		/* the catch-all reads the declared binding */
		if (deflt)
			lower_stmt(E, deflt->body, d);
		return;
	}
	if (cases.len == 1) {
		MatchClause *c = cases.items[0];
		CExpr lit = cx(pattern_literal(E, t, c->pattern), PREC_POSTFIX);
		if (never_equals_bitwise(value_tail(n->lhs), c->pattern->value))
			x = cx(arena_printf("(%s)%s", t->c_name, paren(x, PREC_UNARY)), PREC_UNARY);
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
		Node *label = i < cases.len ? value_is_label(t, c, d) : NULL;
		if (label)
			hide_from_optimiser(E, label, "label", BARRIER_CASE_LABEL);
		lower_stmt(E, c->body, d);
		if (!flatten)
			add_line(E, 0, "break;");
		leave_block(E, saved);
		if (i == cases.len && !flatten && b->stmts.len == 1)
			break; /* an empty default */
		CCase *cc = arena_alloc(sizeof(*cc));
		cc->label = i < cases.len ? arena_printf("case %s:", pattern_literal(E, t, c->pattern)) : "default:";
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

static bool makes_calls(const Node *n, int depth);

/* Is n itself such a call (depth: how deep in callees' bodies)? */
static bool is_making_call(const Node *n, const void *depth)
{
	if (n->kind != N_CALL)
		return false;
	switch (n->callee_kind) {
	case CALLEE_HELPER:
	case CALLEE_C:
	case CALLEE_MAP_INCR:
	case CALLEE_PRINTK:
		return true;
	case CALLEE_FN:
		return n->callee_fn && makes_calls(n->callee_fn->body, *(const int *)depth + 1);
	default:
		return false;
	}
}

/* Does evaluating n call anything - a helper, a map operation, printk, a
 * hand-written C function, or a function of the file that does? */
static bool makes_calls(const Node *n, int depth)
{
	if (n && depth > 64)
		return true;
	return node_any(n, is_making_call, &depth);
}

/* Is n a value the verifier knows exactly: a constant, or a defconst
 * (read from the frozen .rodata), through casts? */
static bool exact_to_verifier(const Node *n)
{
	n = value_tail(n);
	while (n->kind == N_CAST)
		n = value_tail(n->lhs);
	return is_constant_expr(n) || (n->kind == N_NAME && n->ref == REF_GLOBAL && n->ref_global->is_const);
}

/* The x of an end (band x K), through casts, that the verifier does not
 * know exactly; else NULL. */
static Node *masked_loop_end(Node *end)
{
	while (end->kind == N_CAST)
		end = end->lhs;
	if (end->kind != N_BINOP || end->op != OP_AND)
		return NULL;
	Node *x = end->rhs->kind == N_INT ? end->lhs : end->lhs->kind == N_INT ? end->rhs : NULL;
	return x && !exact_to_verifier(x) ? x : NULL;
}

/* Does n read the variable v? */
static bool reads_var(const Node *n, const void *v)
{
	return is_var_ref(n) && n->ref_var == v;
}

/* Does n read the global g? */
static bool reads_global(const Node *n, const void *g)
{
	return n->kind == N_NAME && n->ref == REF_GLOBAL && n->ref_global == g;
}

/* Is n a (set! g (... g ... counter ...)) of a 64-bit global g? */
static bool sums_into_64_bits(const Node *n, const void *counter)
{
	return n->kind == N_SET && !n->lhs && n->ref_global && n->ref_global->type->size == 8 &&
	       node_any(n->rhs, reads_global, n->ref_global) && node_any(n->rhs, reads_var, counter);
}

/* Does the loop body add (or otherwise fold) its counter into a 64-bit
 * global? */
static bool sums_counter(const Node *body, const Var *counter)
{
	return node_any(body, sums_into_64_bits, counter);
}

/* Does clang know that n, through casts, is even: (band x K), (* x K)
 * with an even K, or (<< x K)? */
static bool known_even(const Node *n)
{
	while (n->kind == N_CAST)
		n = n->lhs;
	if (n->kind != N_BINOP)
		return false;
	const Node *k = n->rhs->kind == N_INT ? n->rhs : n->op != OP_SHL && n->lhs->kind == N_INT ? n->lhs : NULL;
	if (!k)
		return false;
	switch (n->op) {
	case OP_AND:
	case OP_MUL:
		return (k->value & 1) == 0;
	case OP_SHL:
		return k->value != 0;
	default:
		return false;
	}
}

static void lower_for(Emitter *E, Node *n)
{
	Var *v = n->var;
	Type *t = v ? v->type : n->lhs->type;
	const char *i = v ? var_text(E, v) : "i";
	if (v)
		var_info(E, v)->loop_counter = true;
	CExpr start = value_for(E, n->lhs, t);
	/* (for-range i 0 (band p 7) ...): the mask is the bound the verifier
	 * walks the loop to. clang 14 drops it where it can prove it
	 * redundant, also from what it learns by inlining the function into
	 * its caller (p a quotient there, (x >> 5) / y, at most 7), and the
	 * verifier, which knows no quotient's range, walks on ("BPF program
	 * is too large"; seed 531000927). x goes through barrier_var(), as
	 * a masked quotient does (emit_c_expr.c masked_unranged); not when
	 * the start has effects, which run first. */
	Node *masked = masked_loop_end(n->rhs);
	if (masked && !is_hoisted(E, masked) && !has_effects(n->lhs))
		hide_from_optimiser(E, masked, "bound", BARRIER_MASK);
	CExpr end;
	if (stable_bound(n->rhs, n->body)) {
		end = exact_value(E, n->rhs);
	} else {
		CExpr e = value_for(E, n->rhs, t);
		const char *name = new_local(E, "end");
		add_var(E, line_of(n->rhs), c_decl(E, t, name), name, e.s, true, true);
		end = cx(name, PREC_POSTFIX);
	}
	/* An 8- or 16-bit counter is a 32-bit one in C, of the same
	 * signedness. clang 14 keeps a narrow counter in a wider register
	 * and masks a copy of it for the exit test; the verifier, which
	 * never links the copy to the counter, sees the counter's range move
	 * up each round and walks on (for (__u16 i = (__u16)g; i < 4; i++):
	 * "BPF program is too large", seed 620004433). The values are the
	 * same: i < end of the counter's type, i + 1 never wraps, and C
	 * promotes a narrow value read anyway. */
	const Type *ct = t->size >= 4 ? t : t->is_signed ? ty_i32 : ty_u32;
	CStmt *s = add_stmt(E, CS_FOR, line_of(n),
			    arena_printf("%s = %s; %s < %s; %s++", c_decl(E, ct, i), start.s, i,
					 paren(end, PREC_REL + 1), i));
	s->then = branch(E, n->body, (Dest){ DEST_DISCARD, NULL, NULL });
	/* clang 14 rewrites the exit test i < end as i != end once it can
	 * count the rounds (LLVM's linear function test replacement), and
	 * the verifier cannot bound that loop when end's known bits skip
	 * values the counter passes: (bor x 1) is odd, i != 2 is known true
	 * and teaches it nothing, and it walks on past end's largest value
	 * ("BPF program is too large"; the native backend keeps i < end).
	 * The counter through barrier_var() after the body cannot be
	 * counted, so the test stays as written. Only in a loop that calls
	 * something, which clang never removes: a loop it can sum in closed
	 * form (total += i) it removes, and the verifier never sees it
	 * (tests/gen/control's sum_to). Nor when the verifier knows end
	 * exactly: i != 8 ends where i < 8 does. */
	bool keep_exit_test = makes_calls(n->body, 0) && !exact_to_verifier(n->rhs);
	/* clang 14 also replaces a loop that adds its counter into a 64-bit
	 * variable by the closed form, n * (n - 1) / 2 and the like, which
	 * it computes in 65 bits where the counter has 64, or where it knows
	 * the end is even (a 32-bit counter): BPF can only do that by a call
	 * of __multi3, which it does not have ("A call to built-in function
	 * '__multi3' is not supported"; seed 271530125). Such a loop with an
	 * end the verifier cannot bound never loads either way; one it can
	 * bound loads with the counter through barrier_var(). Where clang
	 * sums in 64 bits (tests/gen/control's sum_to), the loop it removes
	 * is one the verifier could not walk, so the sum stays clang's. */
	bool keep_loop = v && !is_constant_expr(n->rhs) && sums_counter(n->body, v) &&
			 (t->size == 8 || known_even(n->rhs));
	if (keep_exit_test || keep_loop) {
		CBlock *saved = E->cur;
		E->cur = s->then;
		add_barrier(E, 0, i, keep_loop ? BARRIER_LOOP_SUM : BARRIER_LOOP_COUNTER);
		E->cur = saved;
	}
}

/* May evaluating n set the global g, itself or through the functions it
 * calls? (Hand-written C may set anything.) */
static bool may_set_global(const Node *n, const GlobalDecl *g, int depth)
{
	if (!n)
		return false;
	if (depth > 64)
		return true;  /* no deeper call chain loads; stay safe */
	switch (n->kind) {
	case N_SET:
		if (!n->lhs && n->ref_global == g)
			return true;
		break;
	case N_CALL:
		if (n->callee_kind == CALLEE_C ||
		    (n->callee_kind == CALLEE_FN && may_set_global(n->callee_fn->body, g, depth + 1)))
			return true;
		/* the arguments, like a do's items */
		__attribute__((fallthrough));
	case N_DO:
		for (int i = 0; i < n->args.len; i++)
			if (may_set_global(n->args.items[i], g, depth))
				return true;
		break;
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++)
			if (may_set_global(((Binding *)n->bindings.items[i])->init, g, depth))
				return true;
		break;
	case N_MATCH:
		for (int i = 0; i < n->clauses.len; i++)
			if (may_set_global(((MatchClause *)n->clauses.items[i])->body, g, depth))
				return true;
		break;
	default:
		break;
	}
	return may_set_global(n->lhs, g, depth) || may_set_global(n->rhs, g, depth) ||
	       may_set_global(n->cond, g, depth) || may_set_global(n->then, g, depth) ||
	       may_set_global(n->els, g, depth) || may_set_global(n->body, g, depth);
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
	/* (set! g (+ g x)) -> g += x; not when x may set g (a call of a
	 * function that does): clang evaluates the right of g ^= f() before
	 * it reads g, where the source reads g first */
	if (v->kind == N_BINOP && !binop_is_comparison(v->op) &&
	    !(n->lhs ? has_effects(v->rhs) : may_set_global(v->rhs, n->ref_global, 0)) &&
	    !divides_by_helper(v, t) && !wraps_unsigned(v->op, t)) {
		bool same = false;
		if (!n->lhs && v->lhs->kind == N_NAME && v->lhs->ref == REF_GLOBAL)
			same = v->lhs->ref_global == n->ref_global;
		else if (n->lhs && v->lhs->kind == N_FIELD && !has_effects(n->lhs))
			same = strcmp(field_value(E, v->lhs, true).s, target) == 0;
		/* not g |= g, nor g &= (u8 (i32 g)) of a :u8 g, which prints as
		 * g: clang -Wall's -Wself-assign */
		if (same && !needs_stmts(E, v->rhs)) {
			CExpr r = v->rhs->kind == N_INT ? literal_operand(E, v->rhs, false, is_bitwise(v->op))
							: value_for(E, v->rhs, t);
			if (v->op == OP_SHL || v->op == OP_SHR)
				r = shift_amount(v, r);
			if (strcmp(r.s, target) != 0) {
				add_line(E, line_of(n), arena_printf("%s %s= %s;", target, binop_c_name(v->op), r.s));
				return;
			}
		}
	}
	CExpr val = value_for(E, v, t);
	/* (set! g g) changes nothing; C's g = g; is refused by clang -Wall
	 * (-Wself-assign) */
	if (strcmp(val.s, target) == 0)
		return;
	add_line(E, line_of(n), arena_printf("%s = %s;", target, paren(val, PREC_ASSIGN)));
}

/* The C type a variable is declared with: its own, or the copy type of
 * VarInfo.copy_type. */
Type *var_decl_type(Emitter *E, const Var *v)
{
	VarInfo *vi = var_info(E, v);
	return vi->let_bound && vi->copy_type && !vi->other_use ? vi->copy_type : v->type;
}

/* Is v's value certainly used wherever n is evaluated - outside every
 * arm of an if, match, andalso or orelse in n, and outside loop bodies -
 * where clang cannot find the use dead: v passed straight to a helper,
 * or compared, in a condition, with a value its type can hold (not with
 * a literal out of its range, a comparison clang folds). A use clang
 * drops does not keep the load where it is (context_read_stays). */
static bool used_in_condition(const Node *cond, const Var *v);

static bool value_used(const Node *n, const Var *v)
{
	if (!n)
		return false;
	switch (n->kind) {
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++)
			if (value_used(((Binding *)n->bindings.items[i])->init, v))
				return true;
		return value_used(n->body, v);
	case N_CALL:
		for (int i = 0; i < n->args.len; i++) {
			const Node *arg = n->args.items[i];
			while (arg->kind == N_CAST)
				arg = arg->lhs;
			if (n->callee_kind == CALLEE_HELPER && is_var_ref(arg) && arg->ref_var == v)
				return true;
			if (value_used(arg, v))
				return true;
		}
		return false;
	case N_DO:
		for (int i = 0; i < n->args.len; i++)
			if (value_used(n->args.items[i], v))
				return true;
		return false;
	case N_IF:
		return used_in_condition(n->cond, v) || value_used(n->cond, v);
	case N_MATCH:
		return value_used(n->lhs, v);
	default:
		return false;
	}
}

/* Does the condition cond certainly compare v: v itself, or a comparison
 * of v with a non-literal or a literal of v's range, or the first operand
 * of an andalso/orelse (always evaluated) that does? */
static bool used_in_condition(const Node *cond, const Var *v)
{
	if (cond->kind == N_AND || cond->kind == N_OR || cond->kind == N_NOT)
		return used_in_condition(cond->lhs, v);
	if (cond->kind != N_BINOP || !binop_is_comparison(cond->op))
		return false;
	for (int side = 0; side < 2; side++) {
		const Node *mine = side ? cond->rhs : cond->lhs, *other = side ? cond->lhs : cond->rhs;
		if (is_var_ref(mine) && mine->ref_var == v &&
		    (other->kind != N_INT || (v->type && int_fits(v->type, other->value, other->negative))))
			return true;
	}
	return false;
}

/* The context reads of a let's initialiser need no barrier_var() in the
 * entry's own block when the initialiser does not branch and the let
 * uses its variable on every path, where clang cannot drop the use: a load with a use
 * in a block every path runs is never sunk into an arm, where clang could
 * merge it with a sibling arm's load (context_read); the entry is never
 * inlined into a caller's arm. socket_filter_ip's
 * `ethertype = bpf_htons(skb->protocol)`, passed straight to count(). */
static bool context_read_stays(const Emitter *E, const Var *v)
{
	const Node *let = E->lowering_let;
	if (!E->fn->is_entry || E->scopes.len != 1 || !let)
		return false;
	bool after = false;
	for (int i = 0; i < let->bindings.len; i++) {
		Binding *b = let->bindings.items[i];
		if (after && value_used(b->init, v))
			return true;
		after |= b->var == v;
	}
	return value_used(let->body, v);
}

/* A let binding: a declaration, or nothing when the variable is unused
 * (its initialiser's effects, if any, still happen). */
static void lower_binding_form(Emitter *E, Binding *b);

void lower_binding(Emitter *E, Binding *b)
{
	uint32_t saved_start = E->form_start, saved_end = E->form_end;
	if (b->init) {
		E->form_start = b->name_span.file ? b->name_span.offset : b->init->span.offset;
		E->form_end = b->init->span.offset + b->init->span.len;
	}
	lower_binding_form(E, b);
	E->form_start = saved_start;
	E->form_end = saved_end;
}

static void lower_binding_form(Emitter *E, Binding *b)
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
		add_var(E, line, c_decl(E, type, name), name, NULL, true, false);
		lower_stmt(E, init, (Dest){ DEST_ASSIGN, name, type });
		return;
	}
	if (is_packet_var(E, v)) {
		add_var(E, line, arena_printf("void *%s", name), name, lower_value(E, init).s, false, false);
		return;
	}
	if (is_record_construction(init)) {
		add_var(E, line, c_decl(E, type, name), name, NULL, false, false);
		lower_record_fill(E, init, name);
		return;
	}
	if (E->context_joins && !has_join(init) && context_read_stays(E, v)) {
		bool saved = E->context_joins;
		E->context_joins = false;
		CExpr val = value_for(E, init, type);
		E->context_joins = saved;
		add_var(E, line, c_decl(E, type, name), name, val.s, false, false);
		return;
	}
	if ((barriered_context_read(E, init) || barriered_context_load(E, init)) && type_equal(type, init->type)) {
		/* the variable itself goes through barrier_var()
		 * (emit_c_expr.c context_read), not a copy of it */
		E->context_joins = false;
		CExpr val = value_for(E, init, type);
		E->context_joins = true;
		add_var(E, line, c_decl(E, type, name), name, val.s, false, false);
		add_barrier(E, line, name, BARRIER_CONTEXT_READ);
		return;
	}
	CExpr val = value_for(E, init, type);
	add_var(E, line, c_decl(E, type, name), name, val.s, false, false);
}

/* Does n's source fit on one line? */
static bool one_line(const Node *n)
{
	const SourceFile *f = n->span.file;
	if (!f || !f->text || n->span.offset + n->span.len > f->len)
		return false;
	return memchr(f->text + n->span.offset, '\n', n->span.len) == NULL;
}

static void lower_stmt_form(Emitter *E, Node *n, Dest d);

/* The condition of an if statement in the function's own block. A
 * context read in a comparison there goes only to the comparison and
 * the branch, never to a join where clang could merge it with another
 * load: no barrier_var() (emit_c_expr.c context_read), as hand-written C
 * reads `if (skb->protocol != bpf_htons(0x0800))`. Not inside a branch
 * (clang may turn a nested if into a select, whose value does join), nor
 * when the condition itself branches. */
static CExpr branch_condition(Emitter *E, Node *cond)
{
	if (E->scopes.len != 1 || cond->kind != N_BINOP || !binop_is_comparison(cond->op) || has_join(cond))
		return lower_value(E, cond);
	bool saved = E->context_joins;
	E->context_joins = false;
	CExpr c = lower_value(E, cond);
	E->context_joins = saved;
	return c;
}

/* Lowers n into statements that remember where n ends in the source: a
 * comment inside n goes above them (print_function). */
/* Is &name, the address of the variable name, somewhere in block b? */
static bool takes_address(const CBlock *b, const char *name)
{
	size_t len = strlen(name);
	for (int i = 0; b && i < b->stmts.len; i++) {
		const CStmt *s = b->stmts.items[i];
		for (const char *t = s->text; t && (t = strchr(t, '&')); t++)
			if (strncmp(t + 1, name, len) == 0 && !isalnum((unsigned char)t[1 + len]) && t[1 + len] != '_')
				return true;
		if (takes_address(s->then, name) || takes_address(s->els, name))
			return true;
		for (int j = 0; j < s->cases.len; j++)
			if (takes_address(((CCase *)s->cases.items[j])->body, name))
				return true;
	}
	return false;
}

/* Does block b declare, outside its inner blocks, a variable whose
 * address it takes: a by-value copy for a helper, a record? Such a
 * variable lives in the frame, not in a register. */
static bool declares_frame_variable(const CBlock *b)
{
	for (int i = 0; i < b->stmts.len; i++) {
		const CStmt *s = b->stmts.items[i];
		if (s->kind == CS_LINE && s->is_decl && s->var_name && takes_address(b, s->var_name))
			return true;
	}
	return false;
}

/* A do: its items in order, the last one's value to d. When two or more
 * items declare variables living in the frame (each map call's key and
 * value copies, records), each of them is a block { ... } of its own:
 * clang 14 gives every variable alive at once a slot of its own, and a
 * variable of a function's outermost block is alive in all of it, so a
 * function of many map calls had a frame as large as all their copies,
 * and a chain of calls went past the verifier's 512 bytes ("combined
 * stack size of 4 calls is 528") where the native backend, which gives a
 * call's copies back after it, fits. Ended at the block's end, the copies
 * of one item share the slots of the next one's. The last such item is a
 * block too, as a kernel engineer writes a run of alike statements
 * alike: its value goes to a return, to a variable declared before the
 * do, or nowhere, all from inside the block. A block's names are its own
 * (scope_block_items): sibling blocks each declare `value` and `entry`,
 * and none shadows a name of an enclosing block. An item with no frame
 * variable stays flat: a block would free no slot. */
static void lower_do(Emitter *E, Node *n, Dest d)
{
	int len = n->args.len;
	CBlock **items = arena_alloc(sizeof(*items) * (size_t)(len ? len : 1));
	bool *in_frame = arena_alloc(sizeof(*in_frame) * (size_t)(len ? len : 1));
	NameMark *marks = arena_alloc(sizeof(*marks) * (size_t)(len + 1));
	int blocks = 0;
	for (int i = 0; i < len; i++) {
		/* not enter_block(): the item is in the enclosing block as far
		 * as lowering goes (branch_condition), and so are its names
		 * until it is known to be a block */
		marks[i] = name_mark(E);
		CBlock *saved = E->cur;
		E->cur = items[i] = arena_alloc(sizeof(CBlock));
		lower_stmt(E, n->args.items[i], i + 1 < len ? (Dest){ DEST_DISCARD, NULL, NULL } : d);
		E->cur = saved;
		in_frame[i] = declares_frame_variable(items[i]);
		blocks += in_frame[i];
	}
	marks[len] = name_mark(E);
	if (blocks >= 2)
		scope_block_items(E, items, in_frame, marks, len);
	for (int i = 0; i < len; i++) {
		if (blocks >= 2 && in_frame[i]) {
			add_stmt(E, CS_BLOCK, 0, NULL)->then = items[i];
			continue;
		}
		for (int j = 0; j < items[i]->stmts.len; j++)
			vec_push(&E->cur->stmts, items[i]->stmts.items[j]);
	}
}

void lower_stmt(Emitter *E, Node *n, Dest d)
{
	uint32_t saved_start = E->form_start, saved_end = E->form_end;
	if (n) {
		E->form_start = n->span.offset;
		E->form_end = n->span.offset + n->span.len;
	}
	lower_stmt_form(E, n, d);
	E->form_start = saved_start;
	E->form_end = saved_end;
}

static void lower_stmt_form(Emitter *E, Node *n, Dest d)
{
	if (!n)
		return;
	/* a function returning nothing: its tail is a statement like any */
	if (d.kind == DEST_RETURN && !fn_returns_value(E))
		d.kind = DEST_DISCARD;
	switch (n->kind) {
	case N_LET: {
		const Node *saved_let = E->lowering_let;
		E->lowering_let = n;
		for (int i = 0; i < n->bindings.len; i++)
			lower_binding(E, n->bindings.items[i]);
		E->lowering_let = saved_let;
		lower_stmt(E, n->body, d);
		return;
	}
	case N_DO:
		lower_do(E, n, d);
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
		lower_if(E, n, branch_condition(E, n->cond), n->then, n->els, d);
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

