/* diag.c - diagnostics in the form compilers have taught people to read:
 *
 *   prog.va:12:9: error: unbound variable `x`
 *      (+ x 1)
 *         ^
 *   hint: ...
 *
 * The source line is printed as written; the caret line copies the tabs of
 * the source line so the caret stays under the span whatever the tab width. */
#include <string.h>

#include "vbpf2c.h"

static FILE *diag_out;
static int error_count;

void diag_set_output(FILE *out)
{
	diag_out = out;
}

int diag_error_count(void)
{
	return error_count;
}

void diag_reset(void)
{
	error_count = 0;
}

static FILE *out_stream(void)
{
	return diag_out ? diag_out : stderr;
}

/* Prints the line holding at.offset and a caret line under the span,
 * clipped to the end of that line. */
static void print_source_line(FILE *out, Span at)
{
	const SourceFile *f = at.file;
	if (!f || !f->text || at.offset > f->len)
		return;
	size_t begin = at.offset;
	while (begin > 0 && f->text[begin - 1] != '\n')
		begin--;
	size_t end = at.offset;
	while (end < f->len && f->text[end] != '\n' && f->text[end] != '\0')
		end++;
	size_t line_len = end - begin;
	if (line_len && f->text[end - 1] == '\r')
		line_len--;
	fprintf(out, "%.*s\n", (int)line_len, f->text + begin);

	for (size_t i = begin; i < at.offset && i < begin + line_len; i++)
		fputc(f->text[i] == '\t' ? '\t' : ' ', out);
	fputc('^', out);
	size_t span_end = at.offset + (at.len ? at.len : 1);
	if (span_end > begin + line_len)
		span_end = begin + line_len;
	for (size_t i = at.offset + 1; i < span_end; i++)
		fputc('~', out);
	fputc('\n', out);
}

static void vreport(Span at, const char *severity, const char *fmt, va_list ap)
{
	FILE *out = out_stream();
	if (at.file)
		fprintf(out, "%s:%u:%u: %s: ", at.file->name, at.line, at.col, severity);
	else
		fprintf(out, "vbpf2c: %s: ", severity);
	vfprintf(out, fmt, ap);
	fputc('\n', out);
	if (at.file)
		print_source_line(out, at);
}

void diag_error(Span at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(at, "error", fmt, ap);
	va_end(ap);
	error_count++;
}

void diag_note(Span at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(at, "note", fmt, ap);
	va_end(ap);
}

void diag_hint(const char *fmt, ...)
{
	FILE *out = out_stream();
	va_list ap;
	va_start(ap, fmt);
	fputs("hint: ", out);
	vfprintf(out, fmt, ap);
	fputc('\n', out);
	va_end(ap);
}

Span span_join(Span a, Span b)
{
	Span s = a;
	if (b.offset + b.len > a.offset)
		s.len = b.offset + b.len - a.offset;
	return s;
}
