/* unit.h - what the stage tests share: diagnostics captured into a string
 * while a stage runs, and a source file over a string. */
#ifndef VBPF2C_UNIT_H
#define VBPF2C_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbpf2c.h"

/* Sends diagnostics to a fresh memory stream (*text, *len) with the error
 * count at zero; *text holds what was written once the stream is flushed
 * or closed by diag_capture_end. */
/* *text is the previous capture (or NULL): freed here, so a test that
 * captures twice leaks nothing (make sanitize runs LeakSanitizer). */
static inline FILE *diag_capture_begin(char **text, size_t *len)
{
	free(*text);
	*text = NULL;
	FILE *out = open_memstream(text, len);
	diag_set_output(out);
	diag_reset();
	return out;
}

static inline void diag_capture_end(FILE *out)
{
	fclose(out);
	diag_set_output(NULL);
}

static inline SourceFile source_from(const char *name, const char *text, size_t len)
{
	return (SourceFile){ .name = name, .text = text, .len = len };
}

#endif
