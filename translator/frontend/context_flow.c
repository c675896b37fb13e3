/* context_flow.c - the context, an address, given to an exported function.
 *
 * An entry declared with a :u64 parameter takes the kind's C context
 * pointer (LANGUAGE.md 7): to the verifier that value is an address, not a
 * number. An exported defn (LANGUAGE.md 10.6) is a global C function,
 * which the kernel verifies on its own and which wants a number for an
 * integer parameter: the clang object of a call that passes it the
 * context is refused ("R4 is not a scalar", "Caller passes invalid args
 * into func#1"), where the native backend, which inlines the call, loads.
 * C has no cast that makes the pointer a number to the verifier, so the
 * checker refuses the argument (docs/checker.md, Functions; make
 * fuzz-diff seed 500000153, reduced: tests/native/found/
 * c-context-as-global-argument.va).
 *
 * What may carry the context: the entry's :u64 parameter; a let or match
 * binding, a cast, an arithmetic result, an if or match result of such a
 * value; the result of a (not exported) defn that may return one of its
 * parameters given such a value; and a parameter of a defn that some call
 * passes such a value - a fixed point over the call graph. A value read
 * through the context, a helper's result, a global and an exported
 * function's result are numbers.
 *
 * The check takes a summary of each body while it is in memory
 * (context_flow_body: the front end of --check releases a body once it is
 * checked) and solves and reports at the end (check_context_flow). A
 * summary says, for every value that matters, where it may come from:
 * which parameters of its defn, and which results of defn calls made in
 * that defn's body.
 */
#include <string.h>

#include "vbpf2c.h"

/* Where a value may come from. */
typedef struct ContextSources Sources;
struct ContextSources {
	uint32_t params;        /* bit i: parameter i of the defn */
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
	uint32_t carries;       /* solved: the parameters that may hold the context */
};

static const Sources none;

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

static Sources flow(FnFlow *ff, const Node *n)
{
	if (!n)
		return none;
	switch (n->kind) {
	case N_NAME:
		return n->ref == REF_VAR && n->ref_var && n->ref_var->context_flow ? *n->ref_var->context_flow : none;
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
		Sources both = join(flow(ff, n->lhs), flow(ff, n->rhs));
		return binop_is_comparison(n->op) ? none : both;
	}
	case N_NEG:
	case N_CAST:
		return flow(ff, n->lhs);
	case N_CALL:
		return flow_call(ff, n);
	default:
		/* literals, globals, maps, andalso/orelse/not (a :bool), a
		 * field read, set!, for-range: no address comes out, but
		 * their parts may call */
		flow(ff, n->lhs);
		flow(ff, n->rhs);
		flow(ff, n->body);
		return none;
	}
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
		uint32_t r = 0;
		for (int j = 0; callee && !site->callee->exported && j < site->nargs; j++)
			if (callee->result_params & (1u << j))
				r |= params_of(ff, site->args[j]);
		site->result = r;
	}
	uint32_t r = params_of(ff, ff->result);
	bool changed = r != ff->result_params;
	ff->result_params = r;
	return changed;
}

/* The parameters of the defns ff's calls give the context to. */
static bool pass_context(const FnFlow *ff)
{
	bool changed = false;
	for (int k = 0; k < ff->sites.len && ff->carries; k++) {
		const CallSite *site = ff->sites.items[k];
		FnFlow *callee = site->callee->flow;
		if (!callee || site->callee->exported)
			continue;
		for (int j = 0; j < site->nargs; j++)
			if ((params_of(ff, site->args[j]) & ff->carries) && !(callee->carries & (1u << j))) {
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

static void report(const FnDecl *fn, const CallSite *site, int j, uint32_t params)
{
	const FnDecl *f = site->callee;
	const Param *p = f->params[j];
	diag_error(site->arg_spans[j], "exported `%s` cannot be given the context as its parameter `%s`", f->name,
		   p->name);
	int from = 0;
	while (!(params & (1u << from)))
		from++;
	const Param *holder = fn->params[from];
	if (fn->is_entry)
		diag_note(holder->span, "`%s` is the context, an address: the entry's :u64 parameter", holder->name);
	else
		diag_note(holder->span, "`%s` of `%s` may be given the context, an address", holder->name, fn->name);
	diag_hint("the kernel verifies an exported function on its own and wants a number for its %s parameter; "
		  "pass a value read through the context instead, such as (bpf/load_u64 %s 0)",
		  type_str(p->type), holder->name);
}

void check_context_flow(const Module *m)
{
	Vec fns = { 0 };
	for (int i = 0; i < m->decls.len; i++) {
		const Decl *d = m->decls.items[i];
		if (d->kind == D_FN && d->u.fn->flow)
			vec_push(&fns, d->u.fn);
	}
	bool any = false;
	for (int i = 0; i < fns.len; i++) {
		FnDecl *fn = fns.items[i];
		if (takes_context_as_u64(m, fn)) {
			fn->flow->carries = 1;
			any = true;
		}
	}
	if (!any)
		return;
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = 0; i < fns.len; i++)
			changed |= solve_results(((FnDecl *)fns.items[i])->flow);
	}
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = 0; i < fns.len; i++)
			changed |= pass_context(((FnDecl *)fns.items[i])->flow);
	}
	for (int i = 0; i < fns.len; i++) {
		const FnDecl *fn = fns.items[i];
		const FnFlow *ff = fn->flow;
		for (int k = 0; k < ff->sites.len && ff->carries; k++) {
			const CallSite *site = ff->sites.items[k];
			for (int j = 0; site->callee->exported && j < site->nargs; j++) {
				uint32_t params = params_of(ff, site->args[j]) & ff->carries;
				if (params)
					report(fn, site, j, params);
			}
		}
	}
}
