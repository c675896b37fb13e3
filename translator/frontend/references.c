/* references.c - a tail call while the program holds a reference, and a
 * reference dropped as soon as it is acquired.
 *
 * bpf/ringbuf_reserve and the socket lookups (sk_lookup_tcp,
 * sk_lookup_udp, skc_lookup_tcp) return a reference that the program must
 * give back (ringbuf_submit or ringbuf_discard, sk_release) before it
 * ends. A tail call that succeeds ends the program, so the verifier
 * refuses one while a reference is held ("Unreleased reference", "tail_call
 * would lead to reference leak"), whatever the backend: neither can
 * release the reference for the program, which still uses it when the
 * tail call fails and execution goes on. The checker reports that call
 * (docs/checker.md, Helpers; make fuzz-diff seed 500002909).
 *
 * A reference is followed from the (Some v) clause of a match on the
 * acquiring call itself - the way the language makes it non-null - to the
 * release call given v. The walk goes in evaluation order; where paths
 * join (the branches of an if, the clauses of a match) the reference
 * counts as released when one path released it, so a program is refused
 * only for a tail call that runs with the reference held on the path that
 * reaches it. A reference given to a defn counts as released there (it
 * may be). Not followed: a reference matched through a let variable, and
 * tail calls inside the defns a clause calls.
 *
 * An acquiring call in a do, not its last form, throws the reference away
 * where it is made: that is reported too (the same seed, reduced). */
#include <string.h>

#include "vbpf2c.h"

enum { MAX_HELD = 8 };   /* nested reservations followed at once */

typedef struct Held {
	int n;
	const Var *var[MAX_HELD];   /* the (Some v) binding */
	Span acquired[MAX_HELD];    /* the acquiring call */
	bool socket[MAX_HELD];      /* a socket, else a ring-buffer record */
	bool released[MAX_HELD];
} Held;

static const char *helper_of(const Node *n)
{
	if (n->kind != N_CALL || n->callee_kind != CALLEE_HELPER || !n->callee_extern)
		return NULL;
	return n->callee_extern->helper ? n->callee_extern->helper->name : n->callee_extern->name;
}

static bool is_socket_lookup(const char *h)
{
	return !strcmp(h, "sk_lookup_tcp") || !strcmp(h, "sk_lookup_udp") || !strcmp(h, "skc_lookup_tcp");
}

static bool is_release(const char *h)
{
	return !strcmp(h, "ringbuf_submit") || !strcmp(h, "ringbuf_discard") || !strcmp(h, "sk_release");
}

static bool acquires(const char *h)
{
	return h && (!strcmp(h, "ringbuf_reserve") || is_socket_lookup(h));
}

/* An acquiring call whose value a do throws away: nothing can release
 * the reference, and the verifier refuses the program when it ends. */
static void check_not_dropped(const Node *item)
{
	const char *h = helper_of(item);
	if (!acquires(h))
		return;
	bool socket = is_socket_lookup(h);
	diag_error(item->span, "the %s bpf/%s returns is dropped", socket ? "socket" : "ring-buffer record", h);
	diag_hint("the verifier refuses a program that ends holding it (Unreleased reference): match the result "
		  "and %s it in (Some v)",
		  socket ? "release (bpf/sk_release)" : "submit or discard");
}

static void scan(const Node *n, Held *held);

static void scan_call(const Node *n, Held *held)
{
	for (int i = 0; i < n->args.len; i++)
		scan(n->args.items[i], held);
	const char *h = helper_of(n);
	/* a defn (or C function) given the reference may release it: the
	 * verifier follows it there, this walk does not */
	bool passes_on = n->callee_kind == CALLEE_FN || n->callee_kind == CALLEE_C;
	if ((h && is_release(h)) || passes_on) {
		for (int k = 0; k < (passes_on ? n->args.len : n->args.len > 0); k++) {
			const Node *a = n->args.items[k];
			while (a->kind == N_CAST)
				a = a->lhs;
			for (int i = 0; i < held->n; i++)
				if (a->kind == N_NAME && a->ref == REF_VAR && a->ref_var == held->var[i])
					held->released[i] = true;
		}
		return;
	}
	if (!h)
		return;
	if (strcmp(h, "tail_call") != 0)
		return;
	for (int i = held->n - 1; i >= 0; i--) {
		if (held->released[i])
			continue;
		const char *what = held->socket[i] ? "a socket" : "a ring-buffer record";
		diag_error(n->span, "tail call while `%s` holds %s", held->var[i]->name, what);
		diag_note(held->acquired[i], "`%s` acquired here", held->var[i]->name);
		diag_hint("a tail call that succeeds ends the program, so the verifier refuses it while a reference "
			  "is held (Unreleased reference): %s `%s` before the tail call",
			  held->socket[i] ? "release (bpf/sk_release)" : "submit or discard", held->var[i]->name);
		return;
	}
}

/* A path's reference counts as released after a join when one path released it. */
static void join(Held *into, const Held *path)
{
	for (int i = 0; i < into->n; i++)
		into->released[i] |= path->released[i];
}

static void scan_match(const Node *n, Held *held)
{
	scan(n->lhs, held);
	const char *h = helper_of(n->lhs);
	bool acquiring = acquires(h);
	Held after = *held;
	for (int i = 0; i < n->clauses.len; i++) {
		const MatchClause *c = n->clauses.items[i];
		Held path = *held;
		if (acquiring && c->pattern->kind == PAT_SOME && c->pattern->var && path.n < MAX_HELD) {
			path.var[path.n] = c->pattern->var;
			path.acquired[path.n] = n->lhs->span;
			path.socket[path.n] = is_socket_lookup(h);
			path.released[path.n] = false;
			path.n++;
		}
		scan(c->body, &path);
		path.n = held->n;   /* the clause's own reference ends with it */
		join(&after, &path);
	}
	*held = after;
}

static void scan(const Node *n, Held *held)
{
	if (!n)
		return;
	switch (n->kind) {
	case N_CALL:
		scan_call(n, held);
		return;
	case N_MATCH:
		scan_match(n, held);
		return;
	case N_IF: {
		scan(n->cond, held);
		Held other = *held;
		scan(n->then, held);
		scan(n->els, &other);
		join(held, &other);
		return;
	}
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++)
			scan(((const Binding *)n->bindings.items[i])->init, held);
		scan(n->body, held);
		return;
	case N_DO:
		for (int i = 0; i < n->args.len; i++) {
			const Node *item = n->args.items[i];
			scan(item, held);
			if (i + 1 < n->args.len)
				check_not_dropped(item);
		}
		return;
	default:
		/* the rest evaluate lhs, then rhs, then a loop's body */
		scan(n->lhs, held);
		scan(n->rhs, held);
		scan(n->body, held);
		return;
	}
}

bool helper_acquires_reference(const ExternDecl *e)
{
	return acquires(e->helper ? e->helper->name : e->name);
}

void check_tail_calls_release(const Node *body)
{
	Held held = { 0 };
	scan(body, &held);
}
