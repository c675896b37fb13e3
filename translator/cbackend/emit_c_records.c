/* emit_c_records.c - the C backend's record values (LANGUAGE.md 10.4).
 *
 * A record value is always a named local, built the one way that makes
 * its padding zero:
 *
 *	struct Flow key;
 *
 *	__builtin_memset(&key, 0, sizeof(key));
 *	key.saddr = saddr;
 *	key.proto = 6;
 *
 * `struct Flow key = { .saddr = saddr }` is not enough: C leaves padding
 * unspecified, and clang 14 does not zero it when it initialises the
 * members one by one, so a record used as a hash key would hash its stack
 * garbage (tests/gen/record_values.cases proves the memset way: two keys
 * built apart find one entry). Fields not named stay zero. */
#include "emit_c.h"

void lower_record_fill(Emitter *E, Node *n, const char *name)
{
	const RecordInit *in = n->record_init;
	int line = line_of(n);
	add_line(E, line, arena_printf("__builtin_memset(&%s, 0, sizeof(%s));", name, name));
	for (int i = 0; i < in->n; i++) {
		const Field *f = in->fields[i];
		CExpr v = value_for(E, n->args.items[i], f->type);
		/* a #line only where the source moves to another line */
		int at = line_of(n->args.items[i]);
		add_line(E, at == line ? 0 : at,
			 arena_printf("%s.%s = %s;", name, f->c_member ? f->c_member : f->name, paren(v, PREC_ASSIGN)));
		line = at;
	}
}

const char *record_local(Emitter *E, Node *n, const char *base)
{
	const char *name = new_local(E, base);
	add_var(E, line_of(n), c_decl(E, n->type, name), name, NULL, false, false);
	lower_record_fill(E, n, name);
	return name;
}

bool is_record_construction(const Node *n)
{
	return n && n->kind == N_CALL && n->callee_kind == CALLEE_RECORD;
}
