/* context_flow.c - an address given to an exported function.
 *
 * An exported defn (LANGUAGE.md 10.6) is a global C function, which the
 * kernel verifies on its own and which wants a number for an integer
 * parameter: the object of a call that passes it an address is refused
 * ("R1 is not a scalar", "Caller passes invalid args into func#1"; a map:
 * "reference type('UNKNOWN ') size cannot be determined"), with either
 * backend once the function is not inlined. The source has addresses
 * where C has pointers: the context of an entry declared [ctx :u64]
 * (LANGUAGE.md 7), the packet's data, data_end and data_meta and the
 * other pointer members of a context, read as :u64, a map, and a pointer
 * (the context record, a (Some v) binding) given to a :u64 parameter. C has
 * no cast that makes a pointer a number to the verifier, so the checker
 * refuses such an argument (docs/checker.md, Functions; make fuzz-diff
 * seed 500000153, reduced: tests/native/found/
 * c-context-as-global-argument.va).
 *
 * What may hold an address: one of the above; a let or match binding, a
 * cast, an arithmetic result, an if or match result of such a value; the
 * result of a (not exported) defn that returns an address or one of its
 * parameters given one; and a parameter of a defn that some call gives
 * one - a fixed point over the call graph. A value read through an
 * address, a comparison, a helper's result, a global and an exported
 * function's result are numbers.
 *
 * The check takes a summary of each body while it is in memory
 * (context_flow_body: the front end of --check releases a body once it is
 * checked) and solves and reports at the end (check_context_flow). A
 * summary says, for every value that matters, where it may come from:
 * an address made in the body, parameters of its defn, results of the
 * defn calls the body makes.
 */
#include <string.h>

#include "vbpf2c.h"

/* Where a value may come from. */
typedef struct ContextSources Sources;
struct ContextSources {
	uint32_t params;        /* bit i: parameter i of the defn; ADDRESS */
	int ncalls;
	const int *calls;       /* the results of these call sites (FnFlow.sites) */
};

/* A call of a defn that takes parameters. */
typedef struct CallSite {
	FnDecl *callee;
	int nargs;
	Sources *args;
	Span *arg_spans;
	uint32_t result;        /* solved: the caller's parameters its result may come from */
} CallSite;

typedef struct FnFlow FnFlow;
struct FnFlow {
	Vec sites;              /* CallSite*; an argument's calls come before it */
	Sources result;
	uint32_t result_params; /* solved: the parameters the result may come from */
	uint32_t carries;       /* solved: ADDRESS, and the parameters that may hold an address */
};

/* An address whatever the parameters (beside their bits: 5 at most) */
enum { ADDRESS = 1u << 31 };

static const Sources none, address = { .params = ADDRESS };

static Sources join(Sources a, Sources b)
{
	if (!a.ncalls && !b.ncalls)
		return (Sources){ .params = a.params | b.params };
	if (!b.ncalls)
		return (Sources){ a.params | b.params, a.ncalls, a.calls };
	if (!a.ncalls)
		return (Sources){ a.params | b.params, b.ncalls, b.calls };
	int *calls = arena_alloc(sizeof(*calls) * (size_t)(a.ncalls + b.ncalls));
	memcpy(calls, a.calls, sizeof(*calls) * (size_t)a.ncalls);
	memcpy(calls + a.ncalls, b.calls, sizeof(*calls) * (size_t)b.ncalls);
	return (Sources){ a.params | b.params, a.ncalls + b.ncalls, calls };
}

static Sources *keep(Sources s)
{
	Sources *p = arena_alloc(sizeof(*p));
	*p = s;
	return p;
}

/* Every node of the body is visited once, each child as what its parent
 * makes of it: the value that flows on (a let's body, an if's branches,
 * an operand), or one that is used up (a condition, a helper's argument,
 * a do's earlier forms), whose calls still count. node_any() cannot say
 * which a child is, so the walk is its own. */
static Sources flow(FnFlow *ff, const Node *n);

static Sources flow_call(FnFlow *ff, const Node *n)
{
	Sources *args = arena_alloc(sizeof(*args) * (size_t)(n->args.len + 1));
	for (int i = 0; i < n->args.len; i++)
		args[i] = flow(ff, n->args.items[i]);
	FnDecl *f = n->callee_kind == CALLEE_FN ? n->callee_fn : NULL;
	/* an exported defn's result is a number to the verifier, and one of
	 * no parameters has nothing to pass on */
	if (!f || f->nparams == 0)
		return none;
	CallSite *site = arena_alloc(sizeof(*site));
	site->callee = f;
	site->nargs = n->args.len < f->nparams ? n->args.len : f->nparams;
	site->args = args;
	site->arg_spans = arena_alloc(sizeof(*site->arg_spans) * (size_t)(site->nargs + 1));
	for (int i = 0; i < site->nargs; i++)
		site->arg_spans[i] = ((const Node *)n->args.items[i])->span;
	int *index = arena_alloc(sizeof(*index));
	*index = ff->sites.len;
	vec_push(&ff->sites, site);
	return f->exported ? none : (Sources){ .ncalls = 1, .calls = index };
}

static void bind(Var *v, Sources s)
{
	if (v)
		v->context_flow = s.params || s.ncalls ? keep(s) : NULL;
}

static Sources flow_value(FnFlow *ff, const Node *n)
{
	switch (n->kind) {
	case N_NAME:
		return n->ref == REF_VAR && n->ref_var && n->ref_var->context_flow ? *n->ref_var->context_flow : none;
	case N_FIELD:
		flow(ff, n->lhs);
		return is_packet_field(n) ? address : none;
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++) {
			Binding *b = n->bindings.items[i];
			bind(b->var, flow(ff, b->init));
		}
		return flow(ff, n->body);
	case N_DO: {
		Sources last = none;
		for (int i = 0; i < n->args.len; i++)
			last = flow(ff, n->args.items[i]);
		return last;
	}
	case N_IF:
		flow(ff, n->cond);
		return join(flow(ff, n->then), flow(ff, n->els));
	case N_MATCH: {
		Sources scrutinee = flow(ff, n->lhs), result = none;
		for (int i = 0; i < n->clauses.len; i++) {
			MatchClause *c = n->clauses.items[i];
			if (c->pattern && c->pattern->kind == PAT_BIND)
				bind(c->pattern->var, scrutinee);
			result = join(result, flow(ff, c->body));
		}
		return result;
	}
	case N_BINOP: {
		Sources lhs = flow(ff, n->lhs), rhs = flow(ff, n->rhs);
		/* the distance between two addresses, or between two values
		 * made from one parameter, is a number: (- data_end data) */
		bool one_param = !lhs.ncalls && !rhs.ncalls && lhs.params == rhs.params &&
				 !(lhs.params & (lhs.params - 1));
		bool distance = n->op == OP_SUB && ((lhs.params & rhs.params & ADDRESS) || one_param);
		return binop_is_comparison(n->op) || distance ? none : join(lhs, rhs);
	}
	case N_NEG:
	case N_CAST:
		return flow(ff, n->lhs);
	case N_CALL:
		return flow_call(ff, n);
	default:
		/* literals, globals, andalso/orelse/not (a :bool), set!,
		 * for-range: no address comes out, but their parts may call */
		flow(ff, n->lhs);
		flow(ff, n->rhs);
		flow(ff, n->body);
		return none;
	}
}

static Sources flow(FnFlow *ff, const Node *n)
{
	if (!n)
		return none;
	Sources s = flow_value(ff, n);
	/* a map, a pointer: what a :u64 parameter may be given */
	return n->type && (n->type->kind == TY_PTR || n->type->kind == TY_MAP) ? address : s;
}

void context_flow_body(FnDecl *fn)
{
	FnFlow *ff = arena_alloc(sizeof(*ff));
	for (int i = 0; i < fn->nparams; i++)
		bind(fn->params[i]->var, (Sources){ .params = 1u << i });
	ff->result = flow(ff, fn->body);
	for (int i = 0; i < fn->nparams; i++)
		bind(fn->params[i]->var, none);
	fn->flow = ff;
}

/* The parameters of ff's defn value s may come from (the sites' results solved). */
static uint32_t params_of(const FnFlow *ff, Sources s)
{
	uint32_t p = s.params;
	for (int i = 0; i < s.ncalls; i++)
		p |= ((const CallSite *)ff->sites.items[s.calls[i]])->result;
	return p;
}

/* Each call's result, then the defn's: from what its callee returns. */
static bool solve_results(FnFlow *ff)
{
	for (int k = 0; k < ff->sites.len; k++) {
		CallSite *site = ff->sites.items[k];
		const FnFlow *callee = site->callee->flow;
		if (!callee || site->callee->exported)
			continue;
		uint32_t r = callee->result_params & ADDRESS;
		for (int j = 0; j < site->nargs; j++)
			if (callee->result_params & (1u << j))
				r |= params_of(ff, site->args[j]);
		site->result = r;
	}
	uint32_t r = params_of(ff, ff->result);
	bool changed = r != ff->result_params;
	ff->result_params = r;
	return changed;
}

/* What of value s is an address: ADDRESS, or the parameters that may hold one. */
static uint32_t address_in(const FnFlow *ff, Sources s)
{
	return params_of(ff, s) & (ff->carries | ADDRESS);
}

/* The parameters of the defns ff's calls give an address. */
static bool pass_addresses(const FnFlow *ff)
{
	bool changed = false;
	for (int k = 0; k < ff->sites.len; k++) {
		const CallSite *site = ff->sites.items[k];
		FnFlow *callee = site->callee->flow;
		if (!callee || site->callee->exported)
			continue;
		for (int j = 0; j < site->nargs; j++)
			if (address_in(ff, site->args[j]) && !(callee->carries & (1u << j))) {
				callee->carries |= 1u << j;
				changed = true;
			}
	}
	return changed;
}

/* A program's entry with a :u64 parameter: that parameter is the context. */
static bool takes_context_as_u64(const Module *m, const FnDecl *fn)
{
	const ProgramDecl *prog = fn->prog ? fn->prog : m->program;
	const Type *t = fn->nparams ? fn->params[0]->type : NULL;
	return fn->is_entry && prog && !prog->kind->btf_args && t && type_equal(t, ty_u64);
}

static void report(const FnDecl *fn, const CallSite *site, int j, uint32_t what)
{
	const FnDecl *f = site->callee;
	const Param *p = f->params[j];
	diag_error(site->arg_spans[j], "exported `%s` cannot be given an address as its parameter `%s`", f->name,
		   p->name);
	int from = 0;
	while (from < fn->nparams && !(what & (1u << from)))
		from++;
	if (from < fn->nparams && fn->is_entry)
		diag_note(fn->params[from]->span, "`%s` is the context, an address: the entry's :u64 parameter",
			  fn->params[from]->name);
	else if (from < fn->nparams)
		diag_note(fn->params[from]->span, "`%s` of `%s` may be given an address", fn->params[from]->name,
			  fn->name);
	diag_hint("the kernel verifies an exported function on its own and wants a number for its %s parameter; "
		  "the context, the packet's data and data_end, a map and a pointer are addresses: pass a value "
		  "read through one",
		  type_str(p->type));
}

void check_context_flow(const Module *m)
{
	Vec fns = { 0 };
	for (int i = 0; i < m->decls.len; i++) {
		const Decl *d = m->decls.items[i];
		if (d->kind == D_FN && d->u.fn->flow)
			vec_push(&fns, d->u.fn);
	}
	for (int i = 0; i < fns.len; i++) {
		FnDecl *fn = fns.items[i];
		if (takes_context_as_u64(m, fn))
			fn->flow->carries = 1;
	}
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = 0; i < fns.len; i++)
			changed |= solve_results(((FnDecl *)fns.items[i])->flow);
	}
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = 0; i < fns.len; i++)
			changed |= pass_addresses(((FnDecl *)fns.items[i])->flow);
	}
	for (int i = 0; i < fns.len; i++) {
		const FnDecl *fn = fns.items[i];
		const FnFlow *ff = fn->flow;
		for (int k = 0; k < ff->sites.len; k++) {
			const CallSite *site = ff->sites.items[k];
			for (int j = 0; site->callee->exported && j < site->nargs; j++) {
				const Type *t = site->callee->params[j]->type;
				uint32_t what = address_in(ff, site->args[j]);
				/* a context record parameter takes the context */
				if (what && t && (t->kind == TY_INT || t->kind == TY_BOOL))
					report(fn, site, j, what);
			}
		}
	}
}
