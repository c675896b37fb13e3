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
 * either, and reads each part of a defn once. A first pass reads the
 * declarations and skips defn bodies without reading them (the reader
 * takes a body to end before the next line that begins a top-level form,
 * or else matches its brackets); the checker checks the declarations; a
 * second pass reads the file again, skipping the defn headers the first
 * read, and parses each body into the transient region, checks it while
 * it is still in the cache and releases it.
 *
 * Where a body ends was only a guess: the second pass, which reads every
 * body, finds each defn form where the first found it (their spans), or
 * gives up as below - then what the first pass declared after a wrong
 * guess may not be the file's (a body with a line that begins like a
 * top-level form, say in a string).
 *
 * That order can only give check_module's diagnostics when the program
 * has no syntax error: a syntax error in a body would come after the
 * checker's errors about earlier ones, where parse_file reports every
 * syntax error and checks nothing. So the streaming check holds its
 * diagnostics (diag_hold) and, at the first error that is not the
 * checker's, gives up: the exact path then parses every form, bodies
 * included, before it checks anything (as frontend_run does, one body in
 * memory at a time). Valid programs, and programs whose only errors are
 * the checker's, never take it, unless a body fooled the guess.
 *
 * The first go also only decides whether the address check
 * (context_flow.c) has an error to report, which it does from a few
 * bytes per defn; when it may, the held diagnostics are dropped and the
 * same two passes run again, reporting it. */
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
	bool misread;           /* a defn is not where the first pass found it */
} BodyPass;

/* Names are mostly used near where they are defined (a helper just above
 * its callers), and the second pass meets each defn's name for the first
 * time since the declarations pass, long after: its slots in the reader's
 * and the checker's tables had left the cache, and waiting for them was
 * most of the time spent on those lookups. So while the bodies are read,
 * the names of the defns a few ahead are fetched, in stages (the defn,
 * then its name, then the slots), each a few defns ahead of the next. */
static void prefetch_names_ahead(BodyPass *bp)
{
	enum { STEP = 4 };
	int at = bp->next;
	if (at + 3 * STEP < bp->nfns)
		__builtin_prefetch(bp->fns[at + 3 * STEP]);
	if (at + 2 * STEP < bp->nfns)
		__builtin_prefetch(bp->fns[at + 2 * STEP]->name);
	if (at + STEP < bp->nfns) {
		const char *name = bp->fns[at + STEP]->name;
		reader_prefetch_name(name);
		check_prefetch_name(bp->ck, name);
	}
}

/* One defn as the second pass parsed it: its body checked in place of the
 * first pass's (the declaration every call refers to), then let go. */
static void check_one_body(FnDecl *parsed, void *pass)
{
	BodyPass *bp = pass;
	/* The first pass guesses where a body ends (read_file_each_skimming);
	 * a defn this pass reads elsewhere, or one too many, means it guessed
	 * wrong, and what it declared after is not the file's. */
	bp->misread |= bp->next >= bp->nfns || parsed->span.offset != bp->fns[bp->next]->span.offset ||
		       parsed->span.len != bp->fns[bp->next]->span.len;
	if (bp->misread)
		return;
	prefetch_names_ahead(bp);
	FnDecl *fn = bp->fns[bp->next++];
	fn->body = parsed->body;
	/* its locals in the transient region too (vec_push grows a vector
	 * where its elements are): they go with the body */
	enum { FIRST_LOCALS = 8 };
	fn->locals = (Vec){ .items = arena_alloc_transient(sizeof(void *) * FIRST_LOCALS), .cap = FIRST_LOCALS };
	if (check_body(bp->ck, fn)) {
		arena_transient_keep();   /* the checker points into it */
		return;
	}
	fn->body = NULL;
	fn->locals = (Vec){ 0 };
	for (int i = 0; i < fn->nparams; i++)
		fn->params[i]->var = NULL;
}

/* UNDECIDED: the address check may have an error to report
 * (check_undecided). */
enum Verdict { ACCEPTED, REJECTED, GAVE_UP, UNDECIDED };

/* The declarations, then the bodies. skim: the first pass skips the
 * bodies it can, and an error in reading or parsing makes it give up
 * (the diagnostics would not be in check_module's order). decide: the
 * address check only decides (check_decide_only). */
static enum Verdict check_in_two_passes(const SourceFile *file, bool skim, bool decide)
{
	int errors = diag_error_count();
	reader_keep_names(true);
	Module *m = parse_file_declarations(file, skim);
	enum Verdict v = m && diag_error_count() == errors ? ACCEPTED : skim ? GAVE_UP : REJECTED;
	if (v == ACCEPTED) {
		BodyPass bp = { .ck = check_begin(m) };
		if (decide)
			check_decide_only(bp.ck);
		bp.fns = arena_alloc(sizeof(*bp.fns) * (size_t)(m->decls.len + 1));
		for (int i = 0; i < m->decls.len; i++) {
			Decl *d = m->decls.items[i];
			if (d->kind == D_FN)
				bp.fns[bp.nfns++] = d->u.fn;
		}
		if (!parse_file_defns(file, skim, check_one_body, &bp) || bp.misread || bp.next != bp.nfns)
			v = GAVE_UP;   /* only after a skimmed first pass */
		else if (!check_end(bp.ck) || diag_error_count() != errors)
			v = check_undecided(bp.ck) ? UNDECIDED : REJECTED;
	}
	reader_keep_names(false);
	return v;
}

/* What --check allocates and keeps, per source byte: about 5 (the
 * declarations and the checker's tables; bench/README.md). */
enum { CHECK_BYTES_PER_SOURCE_BYTE = 4 };

bool frontend_check(const SourceFile *file)
{
	arena_expect(file->len * CHECK_BYTES_PER_SOURCE_BYTE);
	diag_hold();
	enum Verdict v = check_in_two_passes(file, true, true);
	diag_release(v == ACCEPTED || v == REJECTED);
	if (v == UNDECIDED) {
		/* the same passes (no syntax error), reporting */
		diag_hold();
		v = check_in_two_passes(file, true, false);
		diag_release(v != GAVE_UP);
	}
	if (v == GAVE_UP)
		v = check_in_two_passes(file, false, false);
	return v == ACCEPTED;
}
