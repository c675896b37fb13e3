/* fuzz_frontend.c - libFuzzer target over the whole front end (reader,
 * parser, checker): any input must end in a module or in diagnostics,
 * never in a crash, a sanitizer report, a hang or unbounded memory.
 *
 *   make fuzz FUZZ_SECONDS=600
 *
 * Each input goes through frontend_run and then frontend_check (--check),
 * which must find the same number of errors.
 *
 * Each input is copied into a NUL-terminated buffer of its own (the
 * reader relies on the terminator; a fresh allocation lets ASan catch any
 * read past it), diagnostics are formatted into /dev/null so their
 * printing code is exercised too, and the arena and error count are reset
 * so one input cannot influence the next.
 */
#include <stdlib.h>
#include <string.h>

#include "vbpf2c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *diag_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!diag_sink) {
		diag_sink = fopen("/dev/null", "w");
		if (!diag_sink)
			abort();
		diag_set_output(diag_sink);
	}

	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	SourceFile file = { .name = "fuzz.va", .text = text, .len = size };

	Module *m = frontend_run(&file);
	/* The contract of frontend_run: a module exactly when no error. */
	if ((m != NULL) != (diag_error_count() == 0))
		abort();
	int errors = diag_error_count();

	/* --check's front end (one body at a time, in the transient region
	 * that ASan sees poisoned once released) says the same. */
	arena_reset();
	diag_reset();
	bool checked = frontend_check(&file);
	if (checked != (m != NULL) || diag_error_count() != errors)
		abort();

	arena_reset();
	diag_reset();
	free(text);
	return 0;
}
