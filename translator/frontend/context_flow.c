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
 * defn calls the body makes. A body with no map or pointer, no 64-bit
 * parameter, no field and no call has nothing to say, and is not walked
 * (the checker notes which have: may_hold_address).
 *
 * To report, every place the verifier might refuse is kept with where it
 * is, and the end solves the call sites of every summary again and again
 * until nothing changes (check_module, and a --check that found there may
 * be an error). --check first only decides whether there is an error to report
 * (context_flow_decide_only), from a few bytes per defn: it keeps to the
 * end only what the end has to solve, on a short list of defns
 *
 *   - a call of a defn summarised already (callees usually come first) is
 *     solved as it is met: its result in terms of the caller's parameters
 *     and ADDRESS, and an argument that is an address gives the callee's
 *     parameter one at once (FnDecl.context_carries); the call is kept,
 *     as a call site, only when an argument may hold one of the caller's
 *     parameters (the callee's parameter holds an address if the caller's
 *     does) or the result of a call kept;
 *   - a call of a defn not summarised yet is kept as one;
 *   - a place whose values come from parameters and ADDRESS only is a
 *     condition on what the defn's parameters hold at the end: which of
 *     the 32 sets of 5 parameters makes it refused, one bit each, all the
 *     defn's places or-ed into a word (FnDecl.context_refuses); one that
 *     depends on a call kept is kept;
 *
 * and the end looks only at the defns on the list and those given an
 * address or refused without one. Without a difference of two values
 * that may both be addresses, what a value may hold only grows as the
 * solution does, and any order of solving gives the same one, the least.
 * A difference turns to a number as its operands turn to addresses, and
 * the solution is then the one the repeated solving of every body gives:
 * it is read as its left-hand side, which every step of that solving
 * does if, at the end, one of its operands is no address; where both may
 * be, that is a condition like a place's (if the difference flows on to
 * where it matters, not into a helper say; of call results, it is kept
 * as a place, USE_DIFFERENCE). A place the solution refuses, or such a
 * difference that may be of two addresses, leave it undecided: check_end
 * says so and --check checks again, reporting (frontend.c). Valid
 * programs are decided at the first go, but for such a difference. */
#include <inttypes.h>
#include <string.h>

#include "vbpf2c.h"

typedef ContextSources Sources;

/* An address whatever the parameters (beside their bits: 5 at most, the
 * parser's limit). context_flow_decide_only: in FnDecl.context_result, a
 * result summarised whole; in Sources, a value that may be a difference
 * read as its left-hand side (difference()). */
enum {
	NPARAM_BITS = 5,
	PARAMS = (1u << NPARAM_BITS) - 1,
	ADDRESS = 1u << NPARAM_BITS,
	RESULT_KNOWN = 1u << 6,
	DIFFERENCE = 1u << 7,
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
	USE_NEGATION,           /* the operand of (- x) */
	USE_FAR_OFFSET,         /* x + K, x - K of a K the verifier refuses
	                         * to add to an address */
	USE_DIFFERENCE,         /* decide_only: value - other, read as value
	                         * (difference()): undecided if both may be
	                         * addresses */
} UseKind;

typedef struct Use Use;
struct Use {
	Use *next;              /* the body's next one */
	UseKind kind;
	BinOp op;               /* USE_OPERAND */
	bool right;             /* USE_OPERAND: value is the right-hand operand */
	bool is_unsigned;       /* USE_FAR_OFFSET: the constant's type */
	Span at;                /* the value */
	Sources value, other;   /* USE_OPERAND: the other operand */
	union {
		Span other_at;          /* USE_OPERAND, as recorded: the
		                         * right-hand operand */
		struct {
			const FnDecl *callee;   /* USE_EXPORTED_ARG: the defn, */
			int arg;                /* and which argument */
		};
		const Type *to;         /* USE_NARROWING (the body's nodes are
		                         * gone when the uses are looked at:
		                         * --check) */
		uint64_t offset;        /* USE_FAR_OFFSET: the constant */
	};
};

/* A defn with something left for the end to solve. */
typedef struct FnFlow FnFlow;
struct FnFlow {
	FnDecl *fn;
	Use *uses, **last_use;  /* in the order of the walk (a list: no
	                         * vector's spare room is kept to the end) */
	Vec sites;              /* CallSite*; an argument's calls come before it */
	Sources result;         /* solved: FnDecl.context_result */
};

struct ContextFlow {
	bool decide_only;       /* context_flow_decide_only */
	Vec flows;              /* FnFlow*, source order */
	Vec defprogs;           /* FnDecl*: entries (so is the module's m->entry) */
	Vec suspects;           /* decide_only: FnDecl* given an address, or
	                         * with a place refused without one */
};

ContextFlow *context_flow_begin(void)
{
	return arena_alloc(sizeof(ContextFlow));
}

void context_flow_decide_only(ContextFlow *cf)
{
	cf->decide_only = true;
}

/* The walk of one body. */
typedef struct Walk {
	ContextFlow *cf;
	FnFlow ff;
	uint32_t refuses;       /* decide_only: FnDecl.context_refuses */
	uint32_t distances;     /* decide_only: when a difference may be a distance */
	bool differences;       /* decide_only: ... or of call results (USE_DIFFERENCE) */
	bool difference_counts; /* decide_only: one may flow on (where it matters) */
} Walk;

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

/* Gives parameters of fn an address (bits); says whether that is news. */
static bool give_address(ContextFlow *cf, FnDecl *fn, uint32_t bits)
{
	if (!(bits & ~fn->context_carries))
		return false;
	if (cf->decide_only && !fn->context_carries)
		vec_push(&cf->suspects, fn);
	fn->context_carries |= (uint8_t)bits;
	return true;
}

/* Every node of the body is visited once, each child as what its parent
 * makes of it: the value that flows on (a let's body, an if's branches,
 * an operand), or one that is used up (a condition, a helper's argument,
 * a do's earlier forms), whose calls still count. node_any() cannot say
 * which a child is, so the walk is its own. */
static Sources flow(Walk *w, const Node *n);

/* The sets of parameters that hold an address (bits 0-4 of the index)
 * for which a value of these sources is one: a truth table. */
static uint32_t holds_address(uint32_t params)
{
	static const uint32_t with_param[NPARAM_BITS] = { 0xAAAAAAAA, 0xCCCCCCCC, 0xF0F0F0F0, 0xFF00FF00,
							  0xFFFF0000 };
	if (params & ADDRESS)
		return ~0u;
	uint32_t t = 0;
	for (int i = 0; i < NPARAM_BITS; i++)
		if (params & (1u << i))
			t |= with_param[i];
	return t;
}

/* When refused() refuses a place (for either operand), as a truth table. */
static uint32_t refused_when(UseKind kind, BinOp op, uint32_t value_params, uint32_t other_params)
{
	uint32_t value = holds_address(value_params), other = holds_address(other_params);
	if (kind != USE_OPERAND)
		return value;
	switch (op) {
	case OP_ADD:            /* the right-hand operand, the other one an address too */
		return value & other;
	case OP_SUB:            /* the right-hand operand, the left-hand one a number */
		return other & ~value;
	default:
		return value | other;
	}
}

static void add_kept_use(Walk *w, Use u)
{
	Use *p = arena_alloc(sizeof(*p));
	*p = u;
	*w->ff.last_use = p;
	w->ff.last_use = &p->next;
}

/* A place where the verifier wants a number, of these values: is there
 * nothing to keep of it? None where they cannot be addresses (most
 * places, and --check keeps every summary until the end); decide_only,
 * none where they come from parameters and ADDRESS only (w.refuses). */
static bool nothing_to_keep(Walk *w, UseKind kind, BinOp op, Sources value, Sources other)
{
	if (is_none(value) && is_none(other))
		return true;
	w->difference_counts |= ((value.params | other.params) & DIFFERENCE) != 0;
	if (!w->cf->decide_only || value.ncalls || other.ncalls)
		return false;
	w->refuses |= refused_when(kind, op, value.params, other.params);
	return true;
}

/* The verifier refuses to add to an address a constant of 2^29 or more
 * either way (BPF_MAX_VAR_OFF: "math between pkt pointer and
 * -9223372036854775808 is not allowed"), with either backend unless clang
 * finds the sum unused (mutation campaign of 2026-12-07). x + K, K + x,
 * x - K: a use of the address, x. */
static void far_offset(Walk *w, const Node *n, Sources lhs, Sources rhs)
{
	enum { MAX_VAR_OFF = 1 << 29 };
	uint64_t k;
	bool right = int_constant(n->rhs, &k, NULL);
	if ((n->op != OP_ADD && n->op != OP_SUB) || (!right && (n->op == OP_SUB || !int_constant(n->lhs, &k, NULL))))
		return;
	if ((int64_t)k < MAX_VAR_OFF && (int64_t)k > -MAX_VAR_OFF)
		return;
	Sources x = right ? lhs : rhs;
	if (!nothing_to_keep(w, USE_FAR_OFFSET, 0, x, none))
		add_kept_use(w, (Use){ .kind = USE_FAR_OFFSET, .op = n->op, .at = (right ? n->rhs : n->lhs)->span,
				       .value = x, .offset = k, .is_unsigned = !n->type->is_signed });
}

static intptr_t add_site(Walk *w, FnDecl *callee, int nargs, const Sources *args)
{
	CallSite *site = arena_alloc(sizeof(*site));
	site->callee = callee;
	site->nargs = nargs;
	if (args) {
		site->args = arena_alloc(sizeof(*site->args) * (size_t)(nargs + 1));
		memcpy(site->args, args, sizeof(*site->args) * (size_t)nargs);
	}
	vec_push(&w->ff.sites, site);
	return w->ff.sites.len - 1;
}

/* decide_only: a call of f, given args. Calls kept only where needed (the
 * top of this file). */
static Sources flow_call_deciding(Walk *w, FnDecl *f, int nargs, const Sources *args)
{
	bool passes_on = false, solved = true;
	for (int j = 0; j < nargs; j++) {
		if (args[j].params & ADDRESS)
			give_address(w->cf, f, 1u << j);
		passes_on |= (args[j].params & (PARAMS | DIFFERENCE)) || args[j].ncalls;
		w->difference_counts |= (args[j].params & DIFFERENCE) != 0;
		solved &= !args[j].ncalls;
	}
	solved &= (f->context_result & RESULT_KNOWN) != 0;
	intptr_t index = passes_on || !solved ? add_site(w, f, nargs, args) : 0;
	if (!solved)
		return (Sources){ .ncalls = 1, { .call = index } };
	/* as solve_results does */
	uint32_t r = f->context_result & ADDRESS;
	for (int j = 0; j < nargs; j++)
		if (f->context_result & (1u << j))
			r |= args[j].params & (PARAMS | ADDRESS);
	return (Sources){ .params = r };
}

static Sources flow_call(Walk *w, const Node *n)
{
	Sources args[8];
	bool any = false;
	for (int i = 0; i < n->args.len; i++) {
		Sources a = flow(w, n->args.items[i]);
		if (i < 8) {
			args[i] = a;
			any |= !is_none(a);
		}
	}
	FnDecl *f = n->callee_kind == CALLEE_FN ? n->callee_fn : NULL;
	/* one of no parameters has nothing to pass on */
	if (!f || f->nparams == 0)
		return none;
	int nargs = n->args.len < f->nparams ? n->args.len : f->nparams;
	if (f->exported) {
		for (int j = 0; j < nargs; j++) {
			/* a context record parameter takes the context */
			const Type *t = f->params[j]->type;
			if (t && (t->kind == TY_INT || t->kind == TY_BOOL) &&
			    !nothing_to_keep(w, USE_EXPORTED_ARG, 0, args[j], none))
				add_kept_use(w, (Use){ .kind = USE_EXPORTED_ARG,
						       .at = ((const Node *)n->args.items[j])->span, .value = args[j],
						       .callee = f, .arg = j });
		}
		/* the verifier takes its result for a number */
		return none;
	}
	if (w->cf->decide_only)
		return flow_call_deciding(w, f, nargs, args);
	/* nothing to pass on, and a callee checked already whose result is
	 * a number whatever it is given: no site to solve (--check keeps
	 * every summary until the end) */
	if (!any && f->flow && is_none(f->flow->result))
		return none;
	return (Sources){ .ncalls = 1, { .call = add_site(w, f, nargs, any ? args : NULL) } };
}

/* lhs - rhs where both may be addresses: which, the solution says.
 * decide_only: it is read as lhs, the reading of every step of the
 * solving if, with the parameters that hold an address at the end, one
 * side is never an address; else (w.distances) the solving may have read
 * it either way, and only counts if the value flows on to where it
 * matters (not into a helper, say: difference_counts). */
static Sources difference(Walk *w, Sources lhs, Sources rhs)
{
	/* two addresses whatever the parameters: their distance */
	if (lhs.params & rhs.params & ADDRESS)
		return none;
	if (w->cf->decide_only) {
		if (lhs.ncalls || rhs.ncalls) {
			add_kept_use(w, (Use){ .kind = USE_DIFFERENCE, .value = lhs, .other = rhs });
			w->differences = true;
		} else
			w->distances |= holds_address(lhs.params) & holds_address(rhs.params);
		lhs.params |= DIFFERENCE;
		return lhs;
	}
	Sources args[2] = { lhs, rhs };
	return (Sources){ .ncalls = 1, { .call = add_site(w, NULL, 2, args) } };
}

static void bind(Var *v, Sources s)
{
	if (v)
		v->context_flow = s;
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

static Sources flow_value(Walk *w, const Node *n)
{
	switch (n->kind) {
	case N_NAME:
		if (n->ref != REF_VAR || !n->ref_var)
			return none;
		return n->ref_var->is_param ? param_sources(&w->ff, n->ref_var) : n->ref_var->context_flow;
	case N_FIELD:
		flow(w, n->lhs);
		return is_packet_field(n) ? address : none;
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++) {
			Binding *b = n->bindings.items[i];
			bind(b->var, flow(w, b->init));
		}
		return flow(w, n->body);
	case N_DO: {
		Sources last = none;
		for (int i = 0; i < n->args.len; i++)
			last = flow(w, n->args.items[i]);
		return last;
	}
	case N_IF:
		flow(w, n->cond);
		return join(flow(w, n->then), flow(w, n->els));
	case N_MATCH: {
		Sources scrutinee = flow(w, n->lhs), result = none;
		for (int i = 0; i < n->clauses.len; i++) {
			MatchClause *c = n->clauses.items[i];
			if (c->pattern && c->pattern->kind == PAT_BIND)
				bind(c->pattern->var, scrutinee);
			result = join(result, flow(w, c->body));
		}
		return result;
	}
	case N_BINOP: {
		Sources lhs = flow(w, n->lhs), rhs = flow(w, n->rhs);
		if (binop_is_comparison(n->op))
			return none;
		/* one use for both operands, each looked at in
		 * check_context_flow; none where no address could be refused
		 * (a + with a number, a - of a number), as --check keeps every
		 * summary to the end */
		bool may_refuse = n->op == OP_ADD ? !is_none(lhs) && !is_none(rhs)
				  : n->op == OP_SUB ? !is_none(rhs)
						    : true;
		if (may_refuse && !nothing_to_keep(w, USE_OPERAND, n->op, lhs, rhs))
			add_kept_use(w, (Use){ .kind = USE_OPERAND, .op = n->op, .at = n->lhs->span, .value = lhs,
					       .other = rhs, .other_at = n->rhs->span });
		far_offset(w, n, lhs, rhs);
		/* address + number and address - number are addresses, the
		 * distance between two addresses is a number (number - address
		 * is refused); any other arithmetic on an address is refused,
		 * and makes a number */
		if (n->op == OP_SUB && !is_none(lhs) && !is_none(rhs))
			return difference(w, lhs, rhs);
		return n->op == OP_ADD ? join(lhs, rhs) : n->op == OP_SUB ? lhs : none;
	}
	case N_NEG: {           /* a number; of an address, refused */
		Sources s = flow(w, n->lhs);
		if (!nothing_to_keep(w, USE_NEGATION, 0, s, none))
			add_kept_use(w, (Use){ .kind = USE_NEGATION, .at = n->lhs->span, .value = s });
		return none;
	}
	case N_CAST: {
		Sources s = flow(w, n->lhs);
		const Type *from = n->lhs ? n->lhs->type : NULL;
		if (n->cast_to && n->cast_to->kind == TY_INT && from && n->cast_to->size < from->size) {
			if (!nothing_to_keep(w, USE_NARROWING, 0, s, none))
				add_kept_use(w, (Use){ .kind = USE_NARROWING, .at = n->lhs->span, .value = s,
						       .to = n->cast_to });
			return none;
		}
		return s;
	}
	case N_CALL:
		return flow_call(w, n);
	default:
		/* literals, globals, andalso/orelse/not (a :bool), set!,
		 * for-range: no address comes out, but their parts may call */
		flow(w, n->lhs);
		flow(w, n->rhs);
		flow(w, n->body);
		return none;
	}
}

static Sources flow(Walk *w, const Node *n)
{
	if (!n)
		return none;
	Sources s = flow_value(w, n);
	/* a map, a pointer: what a :u64 parameter may be given */
	return n->type && (n->type->kind == TY_PTR || n->type->kind == TY_MAP) ? address : s;
}

/* The body's differences of call results, which do not count. */
static void drop_differences(FnFlow *ff)
{
	Use **link = &ff->uses;
	while (*link)
		if ((*link)->kind == USE_DIFFERENCE)
			*link = (*link)->next;
		else
			link = &(*link)->next;
}

void context_flow_body(ContextFlow *cf, FnDecl *fn, bool may_hold_address)
{
	if (fn->prog)
		vec_push(&cf->defprogs, fn);
	if (!may_hold_address) {        /* a number, and nothing to keep */
		fn->context_result = cf->decide_only ? RESULT_KNOWN : 0;
		return;
	}
	Walk w = { .cf = cf, .ff = { .fn = fn } };
	w.ff.last_use = &w.ff.uses;
	Sources result = flow(&w, fn->body);
	if (cf->decide_only) {
		if (!result.ncalls)
			fn->context_result = (uint8_t)((result.params & (PARAMS | ADDRESS)) | RESULT_KNOWN);
		if (w.difference_counts || (result.params & DIFFERENCE))
			w.refuses |= w.distances;
		else if (w.differences)
			drop_differences(&w.ff);
		fn->context_refuses = w.refuses;
		/* refused with no parameter holding an address (else it
		 * is there already, or will be if one comes to hold one) */
		if ((w.refuses & 1) && !fn->context_carries)
			vec_push(&cf->suspects, fn);
	}
	/* kept only when there is something to solve: --check keeps every
	 * summary to the end, and most defns have none (no flow: a result
	 * that is a number, or one solved already, nothing passed on) */
	if (!w.ff.uses && !w.ff.sites.len && (cf->decide_only ? !result.ncalls : is_none(result)))
		return;
	FnFlow *ff = arena_alloc(sizeof(*ff));
	*ff = w.ff;
	ff->result = result;
	ff->last_use = NULL;
	fn->flow = ff;
	vec_push(&cf->flows, ff);
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
		/* a defn whose result is a number has none (0) */
		uint32_t returned = site->callee->context_result;
		uint32_t r = returned & ADDRESS;
		for (int j = 0; site->args && j < site->nargs; j++)
			if (returned & (1u << j))
				r |= params_of(ff, site->args[j]);
		site->result = r;
	}
	uint32_t r = params_of(ff, ff->result);
	bool changed = r != (ff->fn->context_result & ~RESULT_KNOWN);
	ff->fn->context_result = (uint8_t)r;
	return changed;
}

/* What of value s is an address: ADDRESS, or the parameters that may hold one. */
static uint32_t address_in(const FnFlow *ff, Sources s)
{
	return params_of(ff, s) & (ff->fn->context_carries | ADDRESS);
}

/* The parameters of the defns ff's calls give an address. */
static bool pass_addresses(ContextFlow *cf, const FnFlow *ff)
{
	bool changed = false;
	for (int k = 0; k < ff->sites.len; k++) {
		const CallSite *site = ff->sites.items[k];
		for (int j = 0; site->callee && site->args && j < site->nargs; j++)
			if (address_in(ff, site->args[j]))
				changed |= give_address(cf, site->callee, 1u << j);
	}
	return changed;
}

/* A program's entry with a :u64 parameter: that parameter is the context. */
bool takes_context_as_u64(const Module *m, const FnDecl *fn)
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
	if (u->kind == USE_DIFFERENCE)
		return what && address_in(ff, u->other) ? what : 0;
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
		const FnDecl *f = u->callee;
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
	case USE_DIFFERENCE:    /* decide_only: never reported */
		break;
	case USE_NEGATION:
		diag_error(u->at, "`-` cannot negate an address");
		note_holder(fn, what);
		diag_hint("the verifier lets a program add a number to an address, subtract one from it, compare "
			  "addresses and take the distance between two; clang folds a negated address into the "
			  "arithmetic around it, which the verifier then refuses (pointer arithmetic "
			  "prohibited); " ADDRESSES);
		break;
	case USE_FAR_OFFSET:
		diag_error(u->at, "`%s` of %s takes an address further than the verifier allows",
			   binop_source_name(u->op),
			   u->is_unsigned ? arena_printf("%" PRIu64, u->offset)
					  : arena_printf("%" PRId64, (int64_t)u->offset));
		note_holder(fn, what);
		diag_hint("the verifier refuses a constant of 2^29 (536870912) or more, either way, added to "
			  "or subtracted from an address; " ADDRESSES);
		break;
	case USE_NARROWING:
		diag_error(u->at, "an address cannot be cast to %s", type_str(u->to));
		note_holder(fn, what);
		diag_hint("C keeps part of a pointer with shifts or a mask, which the verifier refuses on an address "
			  "(pointer arithmetic prohibited); " ADDRESSES ": cast a value read through one, or the "
			  "distance between two");
		break;
	}
}

/* Reports the places the solution refuses (decide_only: says whether
 * there is none). */
static bool report_refused(const ContextFlow *cf)
{
	for (int i = 0; i < cf->flows.len; i++) {
		const FnFlow *ff = cf->flows.items[i];
		for (const Use *u = ff->uses; u; u = u->next) {
			for (int right = 0; right < (u->kind == USE_OPERAND ? 2 : 1); right++) {
				Use side = *u;
				if (right) {
					side = (Use){ .kind = USE_OPERAND, .op = u->op, .right = true, .at = u->other_at,
						      .value = u->other, .other = u->value };
				}
				uint32_t what = refused(ff, &side);
				if (what && cf->decide_only)
					return false;
				if (what)
					report(ff->fn, &side, what);
			}
		}
	}
	for (int i = 0; i < cf->suspects.len; i++) {
		const FnDecl *fn = cf->suspects.items[i];
		if ((fn->context_refuses >> fn->context_carries) & 1)
			return false;
	}
	return true;
}

bool check_context_flow(ContextFlow *cf, const Module *m)
{
	if (m->entry && takes_context_as_u64(m, m->entry))
		give_address(cf, m->entry, 1);
	for (int i = 0; i < cf->defprogs.len; i++)
		if (takes_context_as_u64(m, cf->defprogs.items[i]))
			give_address(cf, cf->defprogs.items[i], 1);
	/* The parameters that hold an address only grow; with them fixed,
	 * the results settle, the call graph having no cycle (recursion is
	 * an error, and this runs only on a program without one). */
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = 0; i < cf->flows.len; i++)
			changed |= solve_results(cf->flows.items[i]);
		for (int i = 0; i < cf->flows.len; i++)
			changed |= pass_addresses(cf, cf->flows.items[i]);
	}
	return report_refused(cf);
}
