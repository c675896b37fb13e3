/* emit_c_idioms.c - the C backend's map idioms (LANGUAGE.md 10.7) that
 * are more than one helper call: (map/incr! m k n), written the way a
 * libbpf author writes a counter:
 *
 *	__u64 *entry = bpf_map_lookup_elem(&m, &key);
 *
 *	if (entry) {
 *		__sync_fetch_and_add(entry, value);
 *	} else if (bpf_map_update_elem(&m, &key, &value, BPF_NOEXIST)) {
 *		entry = bpf_map_lookup_elem(&m, &key);
 *		if (entry)
 *			__sync_fetch_and_add(entry, value);
 *	}
 *
 * One lookup in the common case, the add atomic in place (other CPUs count
 * into the same entry), the insert only when the key is absent, and when
 * that insert fails because another CPU inserted first, one more lookup
 * finds its entry: bounded, nothing for the verifier to doubt. An insert
 * that fails for another reason (a full map) finds no entry and counts
 * nothing, as a failed bpf_map_update_elem would. */
#include "emit_c.h"

static CStmt *add_if(Emitter *E, int line, const char *cond, CBlock *then, CBlock *els)
{
	CStmt *s = add_stmt(E, CS_IF, line, cond);
	s->then = then;
	s->els = els;
	return s;
}

static CBlock *block_of_line(Emitter *E, const char *text)
{
	CBlock *saved;
	CBlock *b = enter_block(E, &saved);
	add_line(E, 0, text);
	leave_block(E, saved);
	return b;
}

static void lower_map_incr_form(Emitter *E, Node *n);

void lower_map_incr(Emitter *E, Node *n)
{
	/* its statements come from this form: comments before it stay
	 * before it (lower_stmt does the same for the forms it lowers) */
	uint32_t saved_start = E->form_start, saved_end = E->form_end;
	E->form_start = n->span.offset;
	E->form_end = n->span.offset + n->span.len;
	lower_map_incr_form(E, n);
	E->form_start = saved_start;
	E->form_end = saved_end;
}

static void lower_map_incr_form(Emitter *E, Node *n)
{
	Node *m = n->args.items[0];
	Node *k = n->args.items[1];
	const MapDecl *md = m->ref_map;
	int line = line_of(n);
	const char *map = lower_value(E, m).s;
	/* the key's address, then the amount, evaluated once each in source
	 * order; the amount is a variable because the insert takes its
	 * address */
	const char *key = k->type && k->type->kind == TY_PTR ? lower_value(E, k).s : by_value_arg(E, n, 1, 'k');
	const char *value = by_value_arg(E, n, 2, 'v');
	const char *entry = new_local(E, "entry");
	const char *lookup = arena_printf("bpf_map_lookup_elem(%s, %s)", map, key);
	const char *add = arena_printf("__sync_fetch_and_add(%s, %s);", entry, value + 1);
	/* clang 14 turns an atomic add of a constant 0 into an atomic or,
	 * which it cannot select for 32 bits without -mcpu=v3 ("Unsupported
	 * atomic operations", a crash): an amount it might fold to 0 goes
	 * through libbpf's barrier_var first (tests/gen/map_incr_zero) */
	Node *amount = n->args.items[2];
	if (md->value->size == 4 && !(amount->kind == N_INT && amount->value != 0))
		add_barrier(E, line, value + 1, BARRIER_ATOMIC_ZERO);
	add_var(E, line, c_decl(E, type_ptr(md->value, false), entry), entry, lookup, false, false);

	CBlock *saved;
	CBlock *retry = enter_block(E, &saved);
	/* one source form: one #line, above it */
	add_line(E, 0, arena_printf("%s = %s;", entry, lookup));
	add_if(E, 0, entry, block_of_line(E, add), NULL);
	leave_block(E, saved);

	CBlock *els = enter_block(E, &saved);
	add_if(E, 0, arena_printf("bpf_map_update_elem(%s, %s, %s, BPF_NOEXIST)", map, key, value), retry, NULL);
	leave_block(E, saved);
	add_if(E, line, entry, block_of_line(E, add), els);
}
