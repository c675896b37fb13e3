/* map_idioms.c - the map idioms of LANGUAGE.md 10.7, where both backends
 * and the checker can see them.
 *
 * map/get, map/put! and map/del! are one helper call each: the checker
 * turns them into that call (map_idiom_extern), so the by-value key and
 * value arguments of section 5, the C and the bytecode are those of the
 * helper, written by the code that already writes helpers. map/incr! is a
 * small algorithm (lookup, atomic add in place, insert when absent, one
 * retry when the insert loses a race) that the C backend writes out
 * (emit_c_idioms.c) and the native backend lowers (native_lower.c). */
#include <string.h>

#include "vbpf2c.h"

static const MapIdiom map_idioms[] = {
	{ "map/get", "map_lookup_elem", 2, MI_GET, 2 },
	{ "map/put!", "map_update_elem", 3, MI_PUT, 4 },
	{ "map/del!", "map_delete_elem", 2, MI_DEL, 2 },
	{ "map/incr!", NULL, 3, MI_INCR, 0 },
};

const MapIdiom *map_idiom_by_name(const char *name)
{
	/* every call is looked up here: most are no idiom's */
	if (strncmp(name, "map/", 4) != 0)
		return NULL;
	for (size_t i = 0; i < sizeof(map_idioms) / sizeof(*map_idioms); i++)
		if (strcmp(map_idioms[i].name, name) == 0)
			return &map_idioms[i];
	return NULL;
}

/* The helper declaration the idiom stands for: what an `(extern bpf:...)`
 * would declare, with the map's own key and value types, so that the
 * helper's by-value arguments (tables.c) get copies of exactly those. */
ExternDecl *map_idiom_extern(const MapIdiom *mi, const MapDecl *map, Span at)
{
	ExternDecl *e = arena_alloc(sizeof(*e));
	e->ns = "bpf";
	e->name = mi->helper;
	e->span = at;
	e->helper = helper_by_name(mi->helper);
	e->nparams = mi->helper_nargs;
	e->params = arena_alloc(sizeof(*e->params) * 4);
	e->params[0] = ty_u64;
	e->params[1] = map->key;
	if (mi->kind == MI_PUT) {
		e->params[2] = map->value;
		e->params[3] = ty_u64;
	}
	e->ret = mi->kind == MI_GET ? ty_u64 : ty_i64;
	return e;
}
