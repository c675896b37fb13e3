/* frontend.c - reader, parser and checker in one call.
 *
 * The checker runs only when reading and parsing reported nothing: a form
 * the parser had to skip would otherwise come back as "unbound variable" or
 * "unknown function" errors about names that are in fact declared, and the
 * first error is the one the user needs.
 *
 * Reading and parsing go one top-level form at a time (parse_file): the
 * S-expressions of a form are recycled as soon as it is parsed, so the
 * front end never holds a whole program's worth of them.
 *
 * frontend_check (--check) never holds a whole program's worth of AST
 * either: a first pass parses every form, releasing each defn body once
 * its syntax is checked; the checker then checks the declarations; a
 * second pass reads the file again and parses each body into the
 * transient region, checks it while it is still in the cache and
 * releases it. The second read costs less than the memory it saves: on a
 * big program most of the time went into the kernel zeroing fresh pages
 * for an AST of some 20 bytes per source byte. */
#include "vbpf2c.h"

Module *frontend_run(const SourceFile *file)
{
	int errors = diag_error_count();
	Module *m = parse_file(file);
	if (!m || diag_error_count() != errors)
		return NULL;
	if (!check_module(m) || diag_error_count() != errors)
		return NULL;
	return m;
}

typedef struct BodyPass {
	Checker *ck;
	FnDecl **fns;           /* the first pass's defns, source order */
	int nfns, next;
} BodyPass;

/* One defn as the second pass parsed it: its body checked in place of the
 * first pass's (the declaration every call refers to), then let go. */
static void check_one_body(FnDecl *parsed, void *pass)
{
	BodyPass *bp = pass;
	if (bp->next >= bp->nfns)
		return;
	FnDecl *fn = bp->fns[bp->next++];
	fn->body = parsed->body;
	if (check_body(bp->ck, fn)) {
		arena_transient_keep();   /* the checker points into it */
		return;
	}
	fn->body = NULL;
	fn->locals = (Vec){ 0 };
	for (int i = 0; i < fn->nparams; i++)
		fn->params[i]->var = NULL;
}

bool frontend_check(const SourceFile *file)
{
	int errors = diag_error_count();
	reader_keep_names(true);
	Module *m = parse_file_declarations(file);
	bool ok = m && diag_error_count() == errors;
	if (ok) {
		BodyPass bp = { .ck = check_begin(m) };
		bp.fns = arena_alloc(sizeof(*bp.fns) * (size_t)(m->decls.len + 1));
		for (int i = 0; i < m->decls.len; i++) {
			Decl *d = m->decls.items[i];
			if (d->kind == D_FN)
				bp.fns[bp.nfns++] = d->u.fn;
		}
		parse_file_defns(file, check_one_body, &bp);
		ok = check_end(bp.ck) && diag_error_count() == errors;
	}
	reader_keep_names(false);
	return ok;
}
