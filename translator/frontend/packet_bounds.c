/* packet_bounds.c - a packet access with no bounds check before it.
 *
 * The verifier lets a program read or write its packet only through an
 * address it has seen compared with data_end: a fresh read of the
 * context's data (or data_meta) is an address of range 0, and a
 * comparison such as (> (+ data 14) data_end) gives it 14 bytes in the
 * branch where it holds. An access through an address that no comparison
 * has checked is refused with either backend ("invalid access to packet,
 * off=0 size=4, R1(id=0,off=0,r=0)"): forgetting the check is the most
 * common mistake of a BPF program, and the second most common refusal of
 * both backends in the mutation campaign of 2026-12-07.
 *
 * The checker does not compute ranges as the verifier does. It reports
 * only an access the verifier surely refuses: a bpf/load_* or
 * bpf/store_* whose address comes from data or data_meta read in the
 * same defn (through let variables, casts and + or - of a number), where
 * no condition on the way to it - an if's, a cond's, a match's
 * scrutinee, the left of andalso and orelse - names data_end or calls a
 * defn (which may compare, inlined); for data_meta, which is checked
 * against data, data also counts. An address a parameter brings is
 * left to the verifier: the caller may have checked it. One error per
 * defn, the first access. */
#include "vbpf2c.h"

typedef LetScope Scope;

static bool is_member(const Node *n, const char *name)
{
	return is_packet_field(n) && strcmp(n->field->name, name) == 0;
}

/* Does n's value come from the context's data (DATA) or data_meta (META),
 * read here? */
enum { NOT_PACKET, DATA, META };

static int from_packet_start(const Node *n, const Scope *scope, int depth)
{
	const Scope *at;
	const Node *init;
	int l;
	if (!n || depth > 64)
		return NOT_PACKET;
	switch (n->kind) {
	case N_FIELD:
		return is_member(n, "data") ? DATA : is_member(n, "data_meta") ? META : NOT_PACKET;
	case N_CAST:
		return from_packet_start(n->lhs, scope, depth + 1);
	case N_BINOP:
		/* address + number, number + address, address - number */
		if (n->op != OP_ADD && n->op != OP_SUB)
			return NOT_PACKET;
		l = from_packet_start(n->lhs, scope, depth + 1);
		return l || n->op == OP_SUB ? l : from_packet_start(n->rhs, scope, depth + 1);
	case N_LET:
		return from_packet_start(n->body, scope, depth + 1); /* (its bindings: not followed) */
	case N_DO:
		return n->args.len > 0 ? from_packet_start(n->args.items[n->args.len - 1], scope, depth + 1) : NOT_PACKET;
	case N_NAME:
		init = let_scope_init(scope, n, &at);
		return init ? from_packet_start(init, at, depth + 1) : NOT_PACKET;
	default:
		return NOT_PACKET;
	}
}

/* What a condition may check: CHECKS_DATA, an address against data_end
 * (it names data_end, or calls a defn, which may compare inlined);
 * CHECKS_META, data_meta against data (it names data or data_end, or calls
 * a defn) - directly or through a let variable. */
enum { CHECKS_DATA = 1, CHECKS_META = 2 };

typedef struct MayCheck {
	const Scope *scope;
	int depth;
	unsigned found;
} MayCheck;

static bool may_check_node(const Node *n, const void *walk);

static unsigned may_check(const Node *cond, const Scope *scope, int depth)
{
	MayCheck w = { scope, depth, 0 };
	if (depth < 64)
		node_any(cond, may_check_node, &w);
	return w.found;
}

static bool may_check_node(const Node *n, const void *walk)
{
	MayCheck *w = (MayCheck *)walk;
	const Scope *at;
	if (is_member(n, "data_end") || (n->kind == N_CALL && n->callee_kind == CALLEE_FN))
		w->found |= CHECKS_DATA | CHECKS_META;
	else if (is_member(n, "data"))
		w->found |= CHECKS_META;
	const Node *init = let_scope_init(w->scope, n, &at);
	if (init)
		w->found |= may_check(init, at, w->depth + 1);
	return w->found == (CHECKS_DATA | CHECKS_META);
}

typedef struct Walk {
	bool reported;
} Walk;

static void walk(Walk *w, const Node *n, const Scope *scope, unsigned guarded);

static void walk_all(Walk *w, const Vec *v, const Scope *scope, unsigned guarded)
{
	for (int i = 0; i < v->len; i++)
		walk(w, v->items[i], scope, guarded);
}

/* A let's bindings from i on, then its body: each binding's scope link
 * on the C stack (nothing of the walk outlives it). */
static void walk_let(Walk *w, const Node *let, int i, const Scope *scope, unsigned guarded)
{
	if (i == let->bindings.len) {
		walk(w, let->body, scope, guarded);
		return;
	}
	const Binding *b = let->bindings.items[i];
	walk(w, b->init, scope, guarded);
	Scope link = { b->var, b->init, scope };
	walk_let(w, let, i + 1, b->var ? &link : scope, guarded);
}

static void walk(Walk *w, const Node *n, const Scope *scope, unsigned guarded)
{
	if (!n || w->reported)
		return;
	switch (n->kind) {
	case N_IF:
		walk(w, n->cond, scope, guarded);
		guarded |= may_check(n->cond, scope, 0);
		walk(w, n->then, scope, guarded);
		walk(w, n->els, scope, guarded);
		return;
	case N_AND:
	case N_OR:
		walk(w, n->lhs, scope, guarded);
		walk(w, n->rhs, scope, guarded | may_check(n->lhs, scope, 0));
		return;
	case N_MATCH:
		walk(w, n->lhs, scope, guarded);
		guarded |= may_check(n->lhs, scope, 0);
		for (int i = 0; i < n->clauses.len; i++)
			walk(w, ((const MatchClause *)n->clauses.items[i])->body, scope, guarded);
		return;
	case N_LET:
		walk_let(w, n, 0, scope, guarded);
		return;
	case N_CALL:
		walk_all(w, &n->args, scope, guarded);
		if (n->callee_kind == CALLEE_BUILTIN && (n->builtin == BI_LOAD || n->builtin == BI_STORE) &&
		    n->args.len > 0 && !w->reported) {
			int start = from_packet_start(n->args.items[0], scope, 0);
			if (start == NOT_PACKET || (guarded & (start == DATA ? CHECKS_DATA : CHECKS_META)))
				return;
			diag_error(n->span, "`%s` accesses the packet with no bounds check before it", n->name);
			if (start == DATA)
				diag_hint("the verifier lets a program touch its packet only where a comparison with "
					  "data_end has shown it long enough: put the access in the branch of (if (> (+ "
					  "data N) data_end) ...) where the packet has N bytes past data");
			else
				diag_hint("the verifier lets a program touch the packet's metadata only where a "
					  "comparison with data has shown it long enough: put the access in the branch of "
					  "(if (> (+ meta N) data) ...) where it has N bytes");
			w->reported = true;
		}
		return;
	case N_DO:
		walk_all(w, &n->args, scope, guarded);
		return;
	default:
		walk(w, n->lhs, scope, guarded);
		walk(w, n->rhs, scope, guarded);
		walk(w, n->cond, scope, guarded);
		walk(w, n->then, scope, guarded);
		walk(w, n->els, scope, guarded);
		walk(w, n->body, scope, guarded);
		return;
	}
}

void packet_bounds_check(const FnDecl *fn)
{
	Walk w = { false };
	walk(&w, fn->body, NULL, 0);
}
