/* cmd_events.c - the records a program sends as events, for `vbpf2c test`
 * and `vbpf2c run` to print them by field names (LANGUAGE.md 10.4).
 *
 * clang writes no BTF for the type of a local variable, and a ring buffer
 * or perf event array has no value type, so a record the program only
 * builds and sends is missing from its object's BTF. The source has it:
 * this builds a BTF of the records given as ringbuf_output /
 * perf_event_output data or reserved with (sizeof :Rec), which the
 * runtime's event printer falls back on (vbpf_events__set_records). */
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "vbpf2c.h"

Module *cmd_read_module(const char *source, StrBuf *text)
{
	FILE *f = fopen(source, "rb");
	if (!f)
		return NULL;
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf) - 1, f)) > 0) {
		buf[n] = '\0';
		sb_puts(text, buf);
	}
	fclose(f);
	if (!text->data)
		return NULL;
	SourceFile *file = arena_alloc(sizeof(*file));
	file->name = source;
	file->text = text->data;
	file->len = text->len;
	FILE *quiet = fopen("/dev/null", "w");
	diag_set_output(quiet);
	Module *m = frontend_run(file);
	diag_set_output(stderr);
	diag_reset();
	if (quiet)
		fclose(quiet);
	return m;
}

/* The record n sends, or NULL; *map, the map it goes to when the call
 * names one (NULL: a map handle parameter). */
static Record *event_record(const Node *n, const char **map)
{
	*map = NULL;
	if (n->kind != N_CALL || n->callee_kind != CALLEE_HELPER || !n->callee_extern)
		return NULL;
	const char *h = n->callee_extern->name;
	int data = strcmp(h, "ringbuf_output") == 0 ? 1 : strcmp(h, "perf_event_output") == 0 ? 3 : -1;
	int map_arg = strcmp(h, "perf_event_output") == 0 ? 1 : 0;
	if (map_arg < n->args.len) {
		const Node *m = n->args.items[map_arg];
		if (m->kind == N_NAME && m->ref_map)
			*map = m->ref_map->name;
	}
	if (data >= 0 && data < n->args.len) {
		const Node *arg = n->args.items[data];
		if (arg->type && arg->type->kind == TY_RECORD)
			return arg->type->record;
	}
	if (strcmp(h, "ringbuf_reserve") == 0 && n->type && n->type->kind == TY_PTR && n->type->pointee &&
	    n->type->pointee->kind == TY_RECORD)
		return n->type->pointee->record;
	return NULL;
}

/* The records sent, each once, and what each named map receives: one
 * record, or several (then none is its own). */
typedef struct {
	Vec records;       /* Record * */
	Vec maps;          /* const char * */
	Vec map_records;   /* Record *, NULL: more than one */
} Events;

static void add_event(Events *ev, Record *r, const char *map)
{
	bool seen = false;
	for (int i = 0; i < ev->records.len; i++)
		seen |= ev->records.items[i] == r;
	if (!seen)
		vec_push(&ev->records, r);
	if (!map)
		return;
	for (int i = 0; i < ev->maps.len; i++)
		if (strcmp(ev->maps.items[i], map) == 0) {
			if (ev->map_records.items[i] != r)
				ev->map_records.items[i] = NULL;
			return;
		}
	vec_push(&ev->maps, (void *)map);
	vec_push(&ev->map_records, r);
}

static void find_events(const Node *n, Events *ev)
{
	if (!n)
		return;
	const char *map;
	Record *r = event_record(n, &map);
	if (r && !r->is_context && !r->kernel_btf_id)
		add_event(ev, r, map);
	const Node *kids[] = { n->lhs, n->rhs, n->cond, n->then, n->els, n->body };
	for (size_t i = 0; i < sizeof(kids) / sizeof(*kids); i++)
		find_events(kids[i], ev);
	for (int i = 0; i < n->args.len; i++)
		find_events(n->args.items[i], ev);
	if (n->kind == N_LET)
		for (int i = 0; i < n->bindings.len; i++)
			find_events(((Binding *)n->bindings.items[i])->init, ev);
	if (n->kind == N_MATCH)
		for (int i = 0; i < n->clauses.len; i++)
			find_events(((MatchClause *)n->clauses.items[i])->body, ev);
}

static int add_type(struct btf *btf, const Type *t);

static int add_record(struct btf *btf, const Record *r)
{
	int *ids = calloc((size_t)r->nfields + 1, sizeof(int));
	if (!ids)
		return -1;
	for (int i = 0; i < r->nfields; i++) {
		const Field *f = r->fields[i];
		ids[i] = add_type(btf, f->type);
		if (ids[i] > 0 && f->array_len) {
			int index = btf__add_int(btf, "unsigned int", 4, 0);
			ids[i] = index > 0 ? btf__add_array(btf, index, ids[i], f->array_len) : -1;
		}
	}
	int id = btf__add_struct(btf, r->name, (__u32)r->size);
	for (int i = 0; i < r->nfields && id > 0; i++)
		if (ids[i] <= 0 || btf__add_field(btf, r->fields[i]->name, ids[i], (__u32)r->fields[i]->offset * 8, 0))
			id = -1;
	free(ids);
	return id;
}

static int add_type(struct btf *btf, const Type *t)
{
	if (!t)
		return -1;
	if (t->kind == TY_BOOL)
		return btf__add_int(btf, "bool", 1, BTF_INT_BOOL);
	if (t->kind == TY_INT)
		return btf__add_int(btf, t->c_name, t->size, t->is_signed ? BTF_INT_SIGNED : 0);
	if (t->kind == TY_RECORD && t->record)
		return add_record(btf, t->record);
	return -1;
}

struct btf *cmd_event_records(const char *source)
{
	StrBuf text = { 0 };
	Module *m = cmd_read_module(source, &text);
	Events ev = { 0 };
	for (int i = 0; m && i < m->decls.len; i++) {
		const Decl *d = m->decls.items[i];
		if (d->kind == D_FN)
			find_events(d->u.fn->body, &ev);
	}
	struct btf *btf = ev.records.len ? btf__new_empty() : NULL;
	int *ids = btf ? calloc((size_t)ev.records.len, sizeof(int)) : NULL;
	for (int i = 0; btf && i < ev.records.len; i++)
		if (!ids || (ids[i] = add_record(btf, ev.records.items[i])) <= 0) {
			btf__free(btf);
			btf = NULL;
		}
	/* typedef MAP -> its record: which record a map's events are when
	 * two records have one size (vbpf_event__print_record) */
	for (int i = 0; btf && i < ev.maps.len; i++)
		for (int j = 0; ev.map_records.items[i] && j < ev.records.len; j++)
			if (ev.records.items[j] == ev.map_records.items[i])
				btf__add_typedef(btf, ev.maps.items[i], ids[j]);
	free(ids);
	sb_free(&text);
	arena_reset();
	return btf;
}
