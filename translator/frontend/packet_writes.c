/* packet_writes.c - a program that may only read the packet never writes it.
 *
 * The kernel lets a :cgroup_skb or :flow_dissector program read the packet
 * directly and refuses every store into it ("cannot write into packet"),
 * where :xdp, :tc, :sk_skb and :sk_msg may write it. A store is
 * `(bpf/store_uN addr off v)` with an address that may be the packet's:
 * the context's data, data_end or data_meta, plus or minus something,
 * through lets, casts, conditionals and matches, the parameters of the
 * functions it is passed to and the results of the functions that return
 * it. A function shared by programs of both sorts may write the packet of
 * the one that may (seed 610004998: a :tc and a :cgroup_skb defprog
 * calling one function with their packets).
 *
 * --check holds one defn body at a time, so each body is summarised while
 * it is there (packet_summarise, from check_body): where its result, the
 * arguments of its calls and the addresses of its stores may come from -
 * the packet, its own parameters, other functions' results. check_end
 * then solves those summaries for each program (packet_writes_check): the
 * least fixed point of "parameter i may be a packet address" over the
 * functions the program reaches, and an error at each store into the
 * packet in one of them.
 *
 * context_flow.c follows the same values over the whole module to find
 * addresses where the verifier wants a number; it was written at the same
 * time. One pass, with a packet bit beside its address bit and solved per
 * program, would serve both. */
#include <stdint.h>
#include <string.h>

#include "vbpf2c.h"

/* Where a value may come from, as far as being a packet address goes. */
typedef struct Sources {
	bool packet;            /* a context's packet member */
	uint32_t params;        /* bit i: parameter i of the function */
	Vec results;            /* FnDecl*: what these functions return */
} Sources;

typedef struct CallFlow {
	FnDecl *callee;
	Sources args[8];
} CallFlow;

typedef struct StoreFlow {
	Span span;              /* the store's: its body may be gone (--check) */
	const char *name;       /* bpf/store_u32 */
	Sources address;
	bool reported;          /* by an earlier program */
} StoreFlow;

struct PacketSummary {
	FnDecl *fn;
	Sources result;
	Vec calls;              /* CallFlow* */
	Vec stores;             /* StoreFlow* */
	/* packet_writes_check, for one program at a time */
	int seen;               /* the program's number when it reaches fn */
	uint32_t packet_params;
	bool returns_packet;
};

typedef struct VarSources {
	const Var *var;
	Sources from;
} VarSources;

typedef struct Summariser {
	PacketSummary *s;
	Vec vars;               /* VarSources*: the lets and bindings so far */
} Summariser;

static void merge(Sources *into, const Sources *from)
{
	into->packet |= from->packet;
	into->params |= from->params;
	for (int i = 0; i < from->results.len; i++)
		vec_push(&into->results, from->results.items[i]);
}

static const Sources *var_sources(const Summariser *S, const Var *v)
{
	for (int i = S->vars.len - 1; i >= 0; i--)
		if (((VarSources *)S->vars.items[i])->var == v)
			return &((VarSources *)S->vars.items[i])->from;
	return NULL;
}

static void bind_var(Summariser *S, const Var *v, const Sources *from)
{
	VarSources *b = arena_alloc(sizeof(*b));
	b->var = v;
	merge(&b->from, from);
	vec_push(&S->vars, b);
}

static void walk(Summariser *S, const Node *n);

/* Where the value of n may come from. Only + and - carry an address: a
 * mask, a product or a comparison of one is no address to store at. */
static Sources value_sources(Summariser *S, const Node *n)
{
	Sources out = { 0 };
	if (!n)
		return out;
	switch (n->kind) {
	case N_FIELD:
		out.packet = is_packet_field(n);
		break;
	case N_NAME:
		if (n->ref == REF_VAR && n->ref_var) {
			const Sources *v = var_sources(S, n->ref_var);
			if (v)
				merge(&out, v);
			for (int i = 0; i < S->s->fn->nparams && i < 32; i++)
				if (S->s->fn->params[i]->var == n->ref_var)
					out.params |= UINT32_C(1) << i;
		}
		break;
	case N_CAST:
		return value_sources(S, n->lhs);
	case N_BINOP:
		if (n->op == OP_ADD) {
			out = value_sources(S, n->lhs);
			Sources r = value_sources(S, n->rhs);
			merge(&out, &r);
		} else if (n->op == OP_SUB) {
			out = value_sources(S, n->lhs);
		}
		break;
	case N_IF: {
		out = value_sources(S, n->then);
		Sources e = value_sources(S, n->els);
		merge(&out, &e);
		break;
	}
	case N_LET:
	case N_FOR:
		return value_sources(S, n->body);
	case N_DO:
		return n->args.len ? value_sources(S, n->args.items[n->args.len - 1]) : out;
	case N_MATCH:
		for (int i = 0; i < n->clauses.len; i++) {
			Sources c = value_sources(S, ((MatchClause *)n->clauses.items[i])->body);
			merge(&out, &c);
		}
		break;
	case N_CALL:
		if (n->callee_kind == CALLEE_FN && n->callee_fn)
			vec_push(&out.results, n->callee_fn);
		break;
	default:
		break;
	}
	return out;
}

/* Every node of n, in the order it runs, binding lets and match names
 * before the code that reads them. */
static void walk(Summariser *S, const Node *n)
{
	if (!n)
		return;
	switch (n->kind) {
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++) {
			Binding *b = n->bindings.items[i];
			walk(S, b->init);
			if (b->var) {
				Sources from = value_sources(S, b->init);
				bind_var(S, b->var, &from);
			}
		}
		walk(S, n->body);
		return;
	case N_MATCH: {
		walk(S, n->lhs);
		Sources scrutinee = value_sources(S, n->lhs);
		for (int i = 0; i < n->clauses.len; i++) {
			MatchClause *c = n->clauses.items[i];
			if (c->pattern->kind == PAT_BIND && c->pattern->var)
				bind_var(S, c->pattern->var, &scrutinee);
			walk(S, c->body);
		}
		return;
	}
	case N_CALL:
		for (int i = 0; i < n->args.len; i++)
			walk(S, n->args.items[i]);
		if (n->callee_kind == CALLEE_FN && n->callee_fn) {
			CallFlow *c = arena_alloc(sizeof(*c));
			c->callee = n->callee_fn;
			for (int i = 0; i < n->args.len && i < 8; i++)
				c->args[i] = value_sources(S, n->args.items[i]);
			vec_push(&S->s->calls, c);
		} else if (n->callee_kind == CALLEE_BUILTIN && n->builtin == BI_STORE && n->args.len > 0) {
			StoreFlow *st = arena_alloc(sizeof(*st));
			st->span = n->span;
			st->name = arena_strdup(n->name);
			st->address = value_sources(S, n->args.items[0]);
			vec_push(&S->s->stores, st);
		}
		return;
	case N_DO:
		for (int i = 0; i < n->args.len; i++)
			walk(S, n->args.items[i]);
		return;
	default:
		break;
	}
	walk(S, n->lhs);
	walk(S, n->rhs);
	walk(S, n->cond);
	walk(S, n->then);
	walk(S, n->els);
	walk(S, n->body);
}

void packet_summarise(FnDecl *fn)
{
	PacketSummary *s = arena_alloc(sizeof(*s));
	s->fn = fn;
	Summariser S = { .s = s };
	walk(&S, fn->body);
	s->result = value_sources(&S, fn->body);
	fn->packet_summary = s;
}

static PacketSummary *summary_of(const FnDecl *fn)
{
	return fn ? fn->packet_summary : NULL;
}

/* May a value from these sources, in s's function, be a packet address? */
static bool may_be_packet(const PacketSummary *s, const Sources *from)
{
	if (from->packet || (from->params & s->packet_params))
		return true;
	for (int i = 0; i < from->results.len; i++) {
		const PacketSummary *r = summary_of(from->results.items[i]);
		if (r && r->returns_packet)
			return true;
	}
	return false;
}

/* Marks what program number `program` reaches from s. */
static void reach(PacketSummary *s, int program)
{
	if (!s || s->seen == program)
		return;
	s->seen = program;
	s->packet_params = 0;
	s->returns_packet = false;
	for (int i = 0; i < s->calls.len; i++)
		reach(summary_of(((CallFlow *)s->calls.items[i])->callee), program);
}

bool packet_read_only(const ProgKindInfo *kind)
{
	return kind && (kind->kind == PK_CGROUP_SKB || kind->kind == PK_FLOW_DISSECTOR);
}

void packet_writes_check(Module *m, Vec *fns)
{
	Vec summaries = { 0 };
	for (int i = 0; i < fns->len; i++)
		if (((FnDecl *)fns->items[i])->packet_summary)
			vec_push(&summaries, ((FnDecl *)fns->items[i])->packet_summary);
	int program = 0;
	for (int e = 0; e < summaries.len; e++) {
		PacketSummary *entry = summaries.items[e];
		const ProgramDecl *prog = fn_program(m, entry->fn);
		if (!prog || !packet_read_only(prog->kind))
			continue;
		reach(entry, ++program);
		for (bool changed = true; changed;) {
			changed = false;
			for (int i = 0; i < summaries.len; i++) {
				PacketSummary *s = summaries.items[i];
				if (s->seen != program)
					continue;
				if (!s->returns_packet && may_be_packet(s, &s->result))
					s->returns_packet = changed = true;
				for (int c = 0; c < s->calls.len; c++) {
					CallFlow *call = s->calls.items[c];
					PacketSummary *callee = summary_of(call->callee);
					for (int a = 0; callee && a < call->callee->nparams && a < 8; a++) {
						uint32_t bit = UINT32_C(1) << a;
						if (!(callee->packet_params & bit) &&
						    may_be_packet(s, &call->args[a])) {
							callee->packet_params |= bit;
							changed = true;
						}
					}
				}
			}
		}
		for (int i = 0; i < summaries.len; i++) {
			PacketSummary *s = summaries.items[i];
			for (int k = 0; s->seen == program && k < s->stores.len; k++) {
				StoreFlow *st = s->stores.items[k];
				if (st->reported || !may_be_packet(s, &st->address))
					continue;
				st->reported = true;
				diag_error(st->span, "`%s` writes the packet, which a :%s program may only read",
					   st->name, prog->kind->name);
				if (s != entry)
					diag_note(entry->fn->name_span.file ? entry->fn->name_span : entry->fn->span,
						  "the :%s program `%s` reaches `%s`", prog->kind->name, entry->fn->name,
						  s->fn->name);
			}
		}
	}
}
