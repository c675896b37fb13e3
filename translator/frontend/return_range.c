/* return_range.c - an entry's return value against the range its kind allows.
 *
 * The verifier refuses a cgroup program unless it can prove, on every path
 * to the exit, that the value returned is within what the kind allows:
 * 0 or 1 (drop or pass), 0 to 3 for cgroup_skb/egress and cgroup/bind4,6
 * (with the congestion bit), exactly 1 for the recvmsg, getpeername and
 * getsockname hooks (return_ranges in tables.c, measured on this kernel).
 * It reports "At program exit the register R0 has unknown scalar value
 * should have been in [0, 1]" for the object of either backend.
 *
 * The checker cannot know all the verifier knows, so it reports only what
 * the verifier surely refuses: a path whose value is a literal out of the
 * range, or a value the verifier knows no bound of - a field of the
 * context, a load through an address (bpf/load_*), most helpers'
 * results, a global no set! writes (clang and the native backend forward
 * a value just stored), such a value plus, minus, or-ed or xor-ed with a
 * constant, or and-ed with one that lets more than the range through, a
 * constant expression - through let, do, if, cond, match and casts, and through the
 * result of a defn (its summary). Other arithmetic, parameters and the
 * stack built-ins, which the verifier may bound, are left to it. A path
 * counts only where the verifier cannot decide the conditions that lead
 * to it (undecidable), and an if whose condition is a literal has one.
 *
 * Every body is summarised while it is in memory (the front end of
 * --check releases a body once it is checked); the entry is known, and
 * the globals' set! all seen, only at the end (return_range_check). */
#include <inttypes.h>

#include "vbpf2c.h"

/* A value on a path to the function's result that the verifier cannot
 * bound, or a literal. */
typedef struct ReturnLeaf {
	Span at;
	enum { LEAF_LITERAL, LEAF_FIELD, LEAF_LOAD, LEAF_GLOBAL, LEAF_HELPER, LEAF_COMPUTED, LEAF_MASKED,
	       LEAF_CALL } kind;
	uint64_t value;         /* LEAF_LITERAL: as C's int return has it;
	                         * LEAF_MASKED: the largest value the mask lets through */
	int bits;               /* the others: the width of what is read */
	const GlobalDecl *global;       /* LEAF_GLOBAL */
	const FnDecl *callee;           /* LEAF_CALL: its summary's leaves */
	const char *helper;             /* LEAF_HELPER: its name */
} ReturnLeaf;

struct ReturnSummary {
	Vec leaves;             /* ReturnLeaf* */
};

typedef LetScope Scope;

static void add_leaf(ReturnSummary **s, ReturnLeaf leaf)
{
	if (!*s)
		*s = arena_alloc(sizeof(**s));
	ReturnLeaf *l = arena_alloc(sizeof(*l));
	*l = leaf;
	vec_push(&(*s)->leaves, l);
}

static int int_bits(const Type *t)
{
	return t && type_is_int(t) ? t->size * 8 : 64;
}

static bool is_context_record(const Node *p)
{
	const Type *t = p ? p->type : NULL;
	if (t && t->kind == TY_PTR)
		t = t->pointee;
	return t && t->kind == TY_RECORD && t->record && t->record->is_context;
}

/* Does the verifier know no bound of what this helper call returns? It
 * bounds a few (do_refine_retval_range): the processor's number by the
 * number of processors, a string's or a stack's length by the size given. */
static bool unbounded_result(const Node *call)
{
	static const char *const bounded[] = {
		"get_smp_processor_id", "get_stack", "get_task_stack", "probe_read_str",
		"probe_read_kernel_str", "probe_read_user_str",
	};
	const ExternDecl *e = call->callee_extern;
	if (!e || !e->helper || e->helper->returns_pointer || e->helper->returns_nothing || !type_is_int(call->type))
		return false;
	for (size_t i = 0; i < sizeof(bounded) / sizeof(bounded[0]); i++)
		if (strcmp(e->helper->name, bounded[i]) == 0)
			return false;
	return true;
}

static bool names_var(const Node *n, const void *var)
{
	return n->kind == N_NAME && n->ref == REF_VAR && n->ref_var == var;
}

/* Is n, through let variables, casts and a let's or do's value, what the
 * verifier knows nothing of: a field of the context, memory through an
 * address, a helper's result? Not arithmetic on one: (bsr (band x 1) 31)
 * is 0. Not a parameter, which may be a caller's constant, nor a global,
 * which may be a value just stored. */
static bool unknown_value(const Node *n, const Scope *scope, int depth)
{
	if (!n || depth > 64)
		return false;
	switch (n->kind) {
	case N_FIELD:
		return n->field && !n->field->c_pointer && is_context_record(n->lhs);
	case N_CALL:
		return n->callee_kind == CALLEE_HELPER || (n->callee_kind == CALLEE_BUILTIN && n->builtin == BI_LOAD);
	case N_CAST:
		return unknown_value(n->lhs, scope, depth + 1);
	case N_DO:
		return n->args.len > 0 && unknown_value(n->args.items[n->args.len - 1], scope, depth + 1);
	case N_NAME: {
		const Scope *at;
		const Node *init = let_scope_init(scope, n, &at);
		return init && unknown_value(init, at, depth + 1);
	}
	default:
		return false;
	}
}

/* Can the verifier not decide cond, so that it goes both ways: a
 * comparison of such a value, or a combination of only such comparisons?
 * (andalso a b) of a b it decides may never be true. */
static bool undecidable(const Node *cond, const Scope *scope, int depth)
{
	if (!cond || depth > 64)
		return false;
	switch (cond->kind) {
	case N_BINOP:
		return binop_is_comparison(cond->op) &&
		       (unknown_value(cond->lhs, scope, depth + 1) || unknown_value(cond->rhs, scope, depth + 1));
	case N_AND:
	case N_OR:
		return undecidable(cond->lhs, scope, depth + 1) && undecidable(cond->rhs, scope, depth + 1);
	case N_NOT:
		return undecidable(cond->lhs, scope, depth + 1);
	case N_NAME: {
		const Scope *at;
		const Node *init = let_scope_init(scope, cond, &at);
		return init && undecidable(init, at, depth + 1);
	}
	default:
		return false;
	}
}

/* The conditions on the way to a value: an if's, a match's scrutinee. */
typedef struct Guard {
	const Node *cond;
	const Scope *scope;
	const struct Guard *up;
} Guard;

/* May a and b be the same read? Of the same member, or as wide a load:
 * clang loads once what is read twice, and (if (== x 0) x 1) returns 0. */
static bool same_read(const Node *a, const void *b_)
{
	const Node *b = b_;
	if (a == b)     /* a let variable's one helper call */
		return true;
	if (a->kind != b->kind)
		return false;
	if (a->kind == N_FIELD)
		return a->field == b->field;
	return a->kind == N_CALL && a->callee_kind == CALLEE_BUILTIN && a->builtin == BI_LOAD &&
	       b->callee_kind == CALLEE_BUILTIN && b->builtin == BI_LOAD && type_equal(a->type, b->type);
}

/* Does cond, or a let variable's init it names, make a read like n? */
static bool mentions(const Node *cond, const Scope *scope, const Node *n, int depth)
{
	if (node_any(cond, same_read, n))
		return true;
	for (const Scope *b = scope; b && depth < 64; b = b->up)
		if (node_any(cond, names_var, b->var) && mentions(b->init, b->up, n, depth + 1))
			return true;
	return false;
}

/* Is the value read by n compared on the way to it? Then the verifier may
 * know it there. */
static bool guarded_by(const Guard *guards, const Node *n)
{
	for (const Guard *g = guards; g; g = g->up)
		if (mentions(g->cond, g->scope, n, 0))
			return true;
	return false;
}

static void summarise_let(ReturnSummary **s, const Node *let, int i, const Scope *scope, const Guard *guards,
			  int depth);

static void summarise(ReturnSummary **s, const Node *n, const Scope *scope, const Guard *guards, int depth)
{
	if (!n || depth > 64)
		return;
	uint64_t constant;
	if (n->kind != N_INT && n->type && type_is_int(n->type) && int_constant(n, &constant, NULL)) {
		/* (+ 1 2), TC_ACT_REDIRECT: both backends fold it */
		add_leaf(s, (ReturnLeaf){ .at = n->span, .kind = LEAF_LITERAL, .value = constant });
		return;
	}
	switch (n->kind) {
	case N_INT:
		add_leaf(s, (ReturnLeaf){ .at = n->span, .kind = LEAF_LITERAL,
					  .value = n->type ? int_wrap(n->type, n->value) : n->value });
		return;
	case N_NAME: {
		const Scope *at;
		const Node *init = let_scope_init(scope, n, &at);
		if (init) {
			summarise(s, init, at, guards, depth + 1);
			return;
		}
		if (n->ref == REF_GLOBAL && n->ref_global && !n->ref_global->is_const)
			add_leaf(s, (ReturnLeaf){ .at = n->span, .kind = LEAF_GLOBAL,
						  .bits = int_bits(n->type), .global = n->ref_global });
		return;
	}
	case N_FIELD:
		/* a member of the context, read from memory the verifier
		 * knows nothing of (not a pointer member: data, data_end) */
		if (n->field && !n->field->c_pointer && is_context_record(n->lhs) && type_is_int(n->type) &&
		    !guarded_by(guards, n))
			add_leaf(s, (ReturnLeaf){ .at = n->span, .kind = LEAF_FIELD, .bits = int_bits(n->type) });
		return;
	case N_CALL:
		if (n->callee_kind == CALLEE_BUILTIN && n->builtin == BI_LOAD && !guarded_by(guards, n))
			add_leaf(s, (ReturnLeaf){ .at = n->span, .kind = LEAF_LOAD, .bits = int_bits(n->type) });
		else if (n->callee_kind == CALLEE_HELPER && unbounded_result(n) && !guarded_by(guards, n))
			add_leaf(s, (ReturnLeaf){ .at = n->span, .kind = LEAF_HELPER, .bits = int_bits(n->type),
						  .helper = n->callee_extern->helper->name });
		else if (n->callee_kind == CALLEE_FN && n->callee_fn && n->callee_fn->returns)
			add_leaf(s, (ReturnLeaf){ .at = n->span, .kind = LEAF_CALL, .callee = n->callee_fn });
		return;
	case N_CAST:
		/* a cast wraps a literal, and leaves a value the verifier
		 * cannot bound unbounded: even (u8 x) may be 255 */
		if (type_is_int(n->type)) {
			ReturnSummary *inner = NULL;
			summarise(&inner, n->lhs, scope, guards, depth + 1);
			for (int i = 0; inner && i < inner->leaves.len; i++) {
				ReturnLeaf l = *(ReturnLeaf *)inner->leaves.items[i];
				if (l.kind == LEAF_LITERAL)
					l.value = int_wrap(n->type, l.value);
				else if (l.bits > int_bits(n->type))
					l.bits = int_bits(n->type);
				add_leaf(s, l);
			}
		}
		return;
	case N_BINOP: {
		/* x + K, x - K, x | K, x ^ K of an x the verifier knows no
		 * bound of, of 8 bits or more: no bound either, as many values
		 * as x. x & K: anything up to K's bits within x's width, which
		 * the verifier knows - (band x 1) fits 0 or 1, (band x 7) does
		 * not. (bsr x 31) and the rest are left to it. */
		uint64_t k;
		const Node *x = int_constant(n->rhs, &k, NULL) ? n->lhs : int_constant(n->lhs, &k, NULL) ? n->rhs : NULL;
		if (!x || !(n->op == OP_ADD || n->op == OP_SUB || n->op == OP_OR || n->op == OP_XOR || n->op == OP_AND))
			return;
		ReturnSummary *inner = NULL;
		summarise(&inner, x, scope, guards, depth + 1);
		for (int i = 0; inner && i < inner->leaves.len; i++) {
			const ReturnLeaf *l = inner->leaves.items[i];
			if (l->kind != LEAF_FIELD && l->kind != LEAF_LOAD && l->kind != LEAF_HELPER &&
			    l->kind != LEAF_COMPUTED)
				continue;
			if (n->op != OP_AND)
				add_leaf(s, (ReturnLeaf){ .at = n->span, .kind = LEAF_COMPUTED, .bits = l->bits });
			else
				add_leaf(s, (ReturnLeaf){ .at = n->span, .kind = LEAF_MASKED, .bits = l->bits,
							  .value = l->bits < 64 ? k & ((UINT64_C(1) << l->bits) - 1) : k });
			return;
		}
		return;
	}
	case N_LET:
		summarise_let(s, n, 0, scope, guards, depth + 1);
		return;
	case N_DO:
		if (n->args.len > 0)
			summarise(s, n->args.items[n->args.len - 1], scope, guards, depth + 1);
		return;
	case N_IF:
		/* both ways only where the verifier cannot decide: (if true 1
		 * 5) has one, and so may (if (> p 5) 0 3) of a parameter p
		 * some call gives 10 */
		if (n->cond && n->cond->kind == N_BOOL)
			summarise(s, n->cond->value ? n->then : n->els, scope, guards, depth + 1);
		else if (undecidable(n->cond, scope, 0)) {
			Guard g = { n->cond, scope, guards };
			summarise(s, n->then, scope, &g, depth + 1);
			summarise(s, n->els, scope, &g, depth + 1);
		}
		return;
	case N_MATCH: {
		Guard g = { n->lhs, scope, guards };
		for (int i = 0; unknown_value(n->lhs, scope, 0) && i < n->clauses.len; i++)
			summarise(s, ((const MatchClause *)n->clauses.items[i])->body, scope, &g, depth + 1);
		return;
	}
	default:
		return;
	}
}

/* A let's body with its bindings from i on in scope: each link on the C
 * stack, as nothing of the walk but the leaves outlives it. */
static void summarise_let(ReturnSummary **s, const Node *let, int i, const Scope *scope, const Guard *guards,
			  int depth)
{
	if (i == let->bindings.len) {
		summarise(s, let->body, scope, guards, depth);
		return;
	}
	const Binding *b = let->bindings.items[i];
	Scope link = { b->var, b->init, scope };
	summarise_let(s, let, i + 1, b->var ? &link : scope, guards, depth);
}

void return_range_summarise(FnDecl *fn)
{
	fn->returns = NULL;
	if (fn->ret && type_is_int(fn->ret))
		summarise(&fn->returns, fn->body, NULL, NULL, 0);
}

void return_range_note_set(GlobalDecl *g)
{
	g->assigned = true;
}

/* The first leaf of fn's summary the verifier surely refuses, or NULL:
 * a leaf of fn itself, which for a call is the call; *inner, the leaf in
 * the callee's (or its callee's) body, and *via the defn it is in. */
static const ReturnLeaf *refused_leaf(const FnDecl *fn, const ReturnRange *r, const ReturnLeaf **inner,
				      const FnDecl **via, int depth)
{
	for (int i = 0; fn->returns && depth < 64 && i < fn->returns->leaves.len; i++) {
		const ReturnLeaf *l = fn->returns->leaves.items[i];
		*inner = l;
		*via = fn;
		switch (l->kind) {
		case LEAF_LITERAL:
			if (l->value < r->lo || l->value > r->hi)
				return l;
			break;
		case LEAF_GLOBAL:
			if (!l->global->assigned)
				return l;
			break;
		case LEAF_MASKED: /* 0 to value, each possible */
			if (l->value > r->hi || r->lo > 0)
				return l;
			break;
		case LEAF_FIELD:
		case LEAF_LOAD:
		case LEAF_HELPER:
		case LEAF_COMPUTED:
			/* 8 bits or more the verifier knows nothing of: past 3 */
			return l;
		case LEAF_CALL:
			/* the recursion leaves *inner and *via at the deepest */
			if (refused_leaf(l->callee, r, inner, via, depth + 1))
				return l;
			break;
		}
	}
	return NULL;
}

static const char *allowed_text(const ReturnRange *r)
{
	if (r->lo == r->hi)
		return arena_printf("%" PRIu64, r->lo);
	if (r->hi == r->lo + 1)
		return arena_printf("%" PRIu64 " or %" PRIu64, r->lo, r->hi);
	return arena_printf("%" PRIu64 " to %" PRIu64, r->lo, r->hi);
}

static const char *leaf_text(const ReturnLeaf *l)
{
	switch (l->kind) {
	case LEAF_LITERAL:
		return arena_printf("returns %" PRIu64, l->value);
	case LEAF_FIELD:
		return arena_printf("returns a %d-bit field of the context, which the verifier knows no bound of",
				    l->bits);
	case LEAF_LOAD:
		return arena_printf("returns a %d-bit value loaded from memory, which the verifier knows no bound of",
				    l->bits);
	case LEAF_GLOBAL:
		return arena_printf("returns the global `%s`, which user space may set to anything", l->global->name);
	case LEAF_HELPER:
		return arena_printf("returns what `bpf/%s` returns, which the verifier knows no bound of", l->helper);
	case LEAF_COMPUTED:
		return "returns a value computed from one the verifier knows no bound of";
	case LEAF_MASKED:
		return arena_printf("masks a value the verifier knows no bound of, which leaves it anything from 0 "
				    "to %" PRIu64,
				    l->value);
	default:
		return "";
	}
}

void return_range_check(const FnDecl *entry, const ProgKindInfo *kind, const char *attach)
{
	const ReturnRange *r = prog_return_range(kind, attach);
	if (!r || !entry)
		return;
	const ReturnLeaf *inner;
	const FnDecl *via;
	const ReturnLeaf *l = refused_leaf(entry, r, &inner, &via, 0);
	if (!l)
		return;
	const char *section = prog_section_name(kind, attach);
	if (l == inner) {
		diag_error(l->at, "a %s program must return %s; this %s", section, allowed_text(r), leaf_text(l));
	} else {
		diag_error(l->at, "a %s program must return %s; this call of `%s` may not", section,
			   allowed_text(r), l->callee->name);
		diag_note(inner->at, "`%s` %s", via->name, leaf_text(inner));
	}
	/* the masks here are 1 and 3, all the bits of hi */
	if (r->lo == r->hi)
		diag_hint("the verifier refuses the object otherwise: return %" PRIu64 " on every path", r->lo);
	else
		diag_hint("the verifier refuses the object otherwise: bound the value on every path, as "
			  "(if (> v 0) 1 0) or (band v %" PRIu64 ") do",
			  r->hi);
}
