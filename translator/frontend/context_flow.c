/* context_flow.c - addresses where the verifier wants a number.
 *
 * The source has addresses where C has pointers: the context of an entry
 * declared [ctx :u64] (LANGUAGE.md 7), the packet's data, data_end and
 * data_meta and the other pointer members of a context, read as integers,
 * a map, and a pointer (the context record, a (Some v) binding) given to a
 * :u64 parameter. The verifier wants a number, and refuses the object of
 * either backend, where
 *
 *   - an exported defn (LANGUAGE.md 10.6), a global C function it verifies
 *     on its own, is given one for an integer parameter ("R1 is not a
 *     scalar", "Caller passes invalid args into func#1"; a map:
 *     "reference type('UNKNOWN ') size cannot be determined"; make
 *     fuzz-diff seed 500000153, reduced: tests/native/found/
 *     c-context-as-global-argument.va);
 *   - arithmetic other than an address plus or minus a number and the
 *     distance between two takes one ("R1 pointer arithmetic with *=
 *     operator prohibited", "bitwise operator &= on pointer prohibited",
 *     "pointer += pointer prohibited", "tried to subtract pointer from
 *     scalar");
 *   - a cast keeps part of one (C narrows with shifts or a mask: clang's
 *     object was refused where the native one, with a 32-bit move, loaded).
 *
 * C has no cast that makes a pointer a number to the verifier, so the
 * checker refuses those (docs/checker.md, Functions).
 *
 * What may hold an address: one of the above; a let or match binding, a
 * cast, an address plus or minus a number, an if or match result of such
 * a value; the result of a (not exported) defn that returns an address or
 * one of its parameters given one; and a parameter of a defn that some
 * call gives one - a fixed point over the call graph. A value read through
 * an address, a comparison, any other arithmetic, a helper's result, a
 * global and an exported function's result are numbers.
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
	union {                 /* the results of these call sites (FnFlow.sites): */
		const int *calls;
		intptr_t call;  /* the one, when ncalls == 1 (no allocation) */
	};
};

static int call_at(const struct ContextSources *s, int i)
{
	return s->ncalls == 1 ? (int)s->call : s->calls[i];
}

/* A call of a defn that takes parameters, or (callee NULL) a difference
 * of two values that may both be addresses: args[0] - args[1]. */
typedef struct CallSite {
	FnDecl *callee;
	int nargs;
	Sources *args;          /* NULL when no argument may be an address */
	uint32_t result;        /* solved: the caller's parameters its result may come from */
} CallSite;

/* A place where the verifier wants a number, in the order of the walk. */
typedef enum UseKind {
	USE_EXPORTED_ARG,       /* an argument of an exported defn's integer parameter */
	USE_OPERAND,            /* an operand of arithmetic */
	USE_NARROWING,          /* the operand of a cast to fewer bits */
} UseKind;

typedef struct Use Use;
struct Use {
	Use *next;              /* the body's next one */
	UseKind kind;
	BinOp op;               /* USE_OPERAND */
	bool right;             /* USE_OPERAND: value is the right-hand operand */
	Span at;                /* the value */
	Sources value, other;   /* USE_OPERAND: the other operand */
	union {
		Span other_at;          /* USE_OPERAND, as recorded: the
		                         * right-hand operand */
		struct {
			const CallSite *site;   /* USE_EXPORTED_ARG: the call, */
			int arg;                /* and which argument */
		};
		const Type *to;         /* USE_NARROWING (the body's nodes are
		                         * gone when the uses are looked at:
		                         * --check) */
	};
};

typedef struct FnFlow FnFlow;
struct FnFlow {
	const FnDecl *fn;
	Use *uses, **last_use;  /* in the order of the walk (a list: no
	                         * vector's spare room is kept to the end) */
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
	if (!b.ncalls) {
		a.params |= b.params;
		return a;
	}
	if (!a.ncalls) {
		b.params |= a.params;
		return b;
	}
	int *calls = arena_alloc(sizeof(*calls) * (size_t)(a.ncalls + b.ncalls));
	for (int i = 0; i < a.ncalls; i++)
		calls[i] = call_at(&a, i);
	for (int i = 0; i < b.ncalls; i++)
		calls[a.ncalls + i] = call_at(&b, i);
	return (Sources){ a.params | b.params, a.ncalls + b.ncalls, { .calls = calls } };
}

static bool is_none(Sources s)
{
	return !s.params && !s.ncalls;
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

/* A use of a value that may be an address (NULL for one that cannot:
 * most values, and --check keeps every summary until the end). */
static Use *add_use(FnFlow *ff, UseKind kind, const Node *value, Sources s)
{
	if (is_none(s))
		return NULL;
	Use *u = arena_alloc(sizeof(*u));
	u->kind = kind;
	u->at = value->span;
	u->value = s;
	*ff->last_use = u;
	ff->last_use = &u->next;
	return u;
}

static Sources flow_call(FnFlow *ff, const Node *n)
{
	Sources args[8];
	bool any = false;
	for (int i = 0; i < n->args.len; i++) {
		Sources a = flow(ff, n->args.items[i]);
		if (i < 8) {
			args[i] = a;
			any |= !is_none(a);
		}
	}
	FnDecl *f = n->callee_kind == CALLEE_FN ? n->callee_fn : NULL;
	/* an exported defn's result is a number to the verifier, and one of
	 * no parameters has nothing to pass on */
	if (!f || f->nparams == 0)
		return none;
	/* nothing to pass on, and a callee checked already whose result is
	 * a number whatever it is given: no site to solve (--check keeps
	 * every summary until the end) */
	if (!any && f->flow && is_none(f->flow->result))
		return none;
	CallSite *site = arena_alloc(sizeof(*site));
	site->callee = f;
	site->nargs = n->args.len < f->nparams ? n->args.len : f->nparams;
	if (any) {
		site->args = arena_alloc(sizeof(*site->args) * (size_t)(site->nargs + 1));
		memcpy(site->args, args, sizeof(*site->args) * (size_t)site->nargs);
	}
	intptr_t index = ff->sites.len;
	vec_push(&ff->sites, site);
	for (int j = 0; f->exported && j < site->nargs; j++) {
		/* a context record parameter takes the context */
		const Type *t = f->params[j]->type;
		Use *u = t && (t->kind == TY_INT || t->kind == TY_BOOL)
				 ? add_use(ff, USE_EXPORTED_ARG, n->args.items[j], args[j])
				 : NULL;
		if (u) {
			u->site = site;
			u->arg = j;
		}
	}
	return f->exported ? none : (Sources){ .ncalls = 1, { .call = index } };
}

/* lhs - rhs where both may be addresses: which, the solution says. */
static Sources difference(FnFlow *ff, Sources lhs, Sources rhs)
{
	CallSite *site = arena_alloc(sizeof(*site));
	site->nargs = 2;
	site->args = arena_alloc(sizeof(*site->args) * 2);
	site->args[0] = lhs;
	site->args[1] = rhs;
	intptr_t index = ff->sites.len;
	vec_push(&ff->sites, site);
	return (Sources){ .ncalls = 1, { .call = index } };
}

static void bind(Var *v, Sources s)
{
	if (v)
		v->context_flow = is_none(s) ? NULL : keep(s);
}

/* A parameter of the body's defn: itself (bit i); none when it is no
 * 64-bit integer, which no call can give an address (a narrowing cast
 * of one is refused, and a number). */
static Sources param_sources(const FnFlow *ff, const Var *v)
{
	for (int i = 0; i < ff->fn->nparams; i++)
		if (ff->fn->params[i]->var == v)
			return v->type && v->type->kind == TY_INT && v->type->size == 8 ? (Sources){ .params = 1u << i }
											 : none;
	return none;
}

static Sources flow_value(FnFlow *ff, const Node *n)
{
	switch (n->kind) {
	case N_NAME:
		if (n->ref != REF_VAR || !n->ref_var)
			return none;
		if (n->ref_var->is_param)
			return param_sources(ff, n->ref_var);
		return n->ref_var->context_flow ? *n->ref_var->context_flow : none;
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
		if (binop_is_comparison(n->op))
			return none;
		/* one use for both operands, each looked at in
		 * check_context_flow; none where no address could be refused
		 * (a + with a number, a - of a number), as --check keeps every
		 * summary to the end */
		bool may_refuse = n->op == OP_ADD ? !is_none(lhs) && !is_none(rhs)
				  : n->op == OP_SUB ? !is_none(rhs)
						    : true;
		Use *u = may_refuse ? add_use(ff, USE_OPERAND, n->lhs, join(lhs, rhs)) : NULL;
		if (u) {
			u->value = lhs;
			u->other = rhs;
			u->other_at = n->rhs->span;
			u->op = n->op;
		}
		/* address + number and address - number are addresses, the
		 * distance between two addresses is a number (number - address
		 * is refused); any other arithmetic on an address is refused,
		 * and makes a number */
		if (n->op == OP_SUB && !is_none(lhs) && !is_none(rhs))
			return difference(ff, lhs, rhs);
		return n->op == OP_ADD ? join(lhs, rhs) : n->op == OP_SUB ? lhs : none;
	}
	case N_NEG:             /* a number, even of an address */
		flow(ff, n->lhs);
		return none;
	case N_CAST: {
		Sources s = flow(ff, n->lhs);
		const Type *from = n->lhs ? n->lhs->type : NULL;
		if (n->cast_to && n->cast_to->kind == TY_INT && from && n->cast_to->size < from->size) {
			Use *u = add_use(ff, USE_NARROWING, n->lhs, s);
			if (u)
				u->to = n->cast_to;
			return none;
		}
		return s;
	}
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
	FnFlow walk = { .fn = fn };
	walk.last_use = &walk.uses;
	walk.result = flow(&walk, fn->body);
	/* kept only when there is something to solve: --check keeps every
	 * summary to the end, and most defns have none (no flow: a result
	 * that is a number, nothing passed on) */
	if (!walk.uses && !walk.sites.len && is_none(walk.result))
		return;
	FnFlow *ff = arena_alloc(sizeof(*ff));
	*ff = walk;
	ff->last_use = NULL;
	fn->flow = ff;
}

/* The parameters of ff's defn value s may come from (the sites' results solved). */
static uint32_t params_of(const FnFlow *ff, Sources s)
{
	uint32_t p = s.params;
	for (int i = 0; i < s.ncalls; i++)
		p |= ((const CallSite *)ff->sites.items[call_at(&s, i)])->result;
	return p;
}

static uint32_t address_in(const FnFlow *ff, Sources s);

/* Each call's result, then the defn's: from what its callee returns; a
 * difference is a number when both sides are addresses (with what is
 * known so far of the parameters that hold one). */
static bool solve_results(FnFlow *ff)
{
	for (int k = 0; k < ff->sites.len; k++) {
		CallSite *site = ff->sites.items[k];
		if (!site->callee) {
			bool distance = address_in(ff, site->args[0]) && address_in(ff, site->args[1]);
			site->result = distance ? 0 : params_of(ff, site->args[0]);
			continue;
		}
		const FnFlow *callee = site->callee->flow;
		if (!callee || site->callee->exported)
			continue;
		uint32_t r = callee->result_params & ADDRESS;
		for (int j = 0; site->args && j < site->nargs; j++)
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
		FnFlow *callee = site->callee ? site->callee->flow : NULL;
		if (!callee || site->callee->exported)
			continue;
		for (int j = 0; site->args && j < site->nargs; j++)
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

/* Where the address came in: the parameter of fn that may hold it. */
static void note_holder(const FnDecl *fn, uint32_t what)
{
	int from = 0;
	while (from < fn->nparams && !(what & (1u << from)))
		from++;
	if (from < fn->nparams && fn->is_entry)
		diag_note(fn->params[from]->span, "`%s` is the context, an address: the entry's :u64 parameter",
			  fn->params[from]->name);
	else if (from < fn->nparams)
		diag_note(fn->params[from]->span, "`%s` of `%s` may be given an address", fn->params[from]->name,
			  fn->name);
}

#define ADDRESSES "the context, the packet's data and data_end, a map and a pointer are addresses"

/* Does the verifier refuse u, made in ff's defn, for an address? */
static uint32_t refused(const FnFlow *ff, const Use *u)
{
	uint32_t what = address_in(ff, u->value);
	if (!what || u->kind != USE_OPERAND)
		return what;
	uint32_t other = address_in(ff, u->other);
	switch (u->op) {
	case OP_ADD:            /* address + number, in either order */
		return u->right && other ? what : 0;
	case OP_SUB:            /* address - number */
		return u->right && !other ? what : 0;
	default:
		return what;
	}
}

static void report(const FnDecl *fn, const Use *u, uint32_t what)
{
	switch (u->kind) {
	case USE_EXPORTED_ARG: {
		const FnDecl *f = u->site->callee;
		const Param *p = f->params[u->arg];
		diag_error(u->at, "exported `%s` cannot be given an address as its parameter `%s`", f->name, p->name);
		note_holder(fn, what);
		diag_hint("the kernel verifies an exported function on its own and wants a number for its %s "
			  "parameter; " ADDRESSES ": pass a value read through one",
			  type_str(p->type));
		break;
	}
	case USE_OPERAND: {
		const char *op = binop_source_name(u->op);
		if (u->op == OP_ADD)
			diag_error(u->at, "`+` cannot add two addresses");
		else if (u->op == OP_SUB)
			diag_error(u->at, "`-` cannot subtract an address from a number");
		else
			diag_error(u->at, "`%s` cannot take an address as an operand", op);
		note_holder(fn, what);
		diag_hint("the verifier lets a program add a number to an address, subtract one from it, compare "
			  "addresses and take the distance between two, and refuses any other arithmetic on one "
			  "(pointer arithmetic prohibited); " ADDRESSES);
		break;
	}
	case USE_NARROWING:
		diag_error(u->at, "an address cannot be cast to %s", type_str(u->to));
		note_holder(fn, what);
		diag_hint("C keeps part of a pointer with shifts or a mask, which the verifier refuses on an address "
			  "(pointer arithmetic prohibited); " ADDRESSES ": cast a value read through one, or the "
			  "distance between two");
		break;
	}
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
	/* The parameters that hold an address only grow; with them fixed,
	 * the results settle, the call graph having no cycle (recursion is
	 * an error, and this runs only on a program without one). */
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = 0; i < fns.len; i++)
			changed |= solve_results(((FnDecl *)fns.items[i])->flow);
		for (int i = 0; i < fns.len; i++)
			changed |= pass_addresses(((FnDecl *)fns.items[i])->flow);
	}
	for (int i = 0; i < fns.len; i++) {
		const FnDecl *fn = fns.items[i];
		const FnFlow *ff = fn->flow;
		for (const Use *u = ff->uses; u; u = u->next) {
			for (int right = 0; right < (u->kind == USE_OPERAND ? 2 : 1); right++) {
				Use side = *u;
				if (right) {
					side = (Use){ .kind = USE_OPERAND, .op = u->op, .right = true, .at = u->other_at,
						      .value = u->other, .other = u->value };
				}
				uint32_t what = refused(ff, &side);
				if (what)
					report(fn, &side, what);
			}
		}
	}
}
