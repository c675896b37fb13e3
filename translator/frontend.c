/* frontend.c - reader, parser and checker in one call.
 *
 * The checker runs only when reading and parsing reported nothing: a form
 * the parser had to skip would otherwise come back as "unbound variable" or
 * "unknown function" errors about names that are in fact declared, and the
 * first error is the one the user needs.
 *
 * Reading and parsing go one top-level form at a time (parse_file): the
 * S-expressions of a form are recycled as soon as it is parsed, so the
 * front end never holds a whole program's worth of them. */
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
