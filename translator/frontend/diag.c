/* diag.c - diagnostics in the form compilers have taught people to read:
 *
 *   prog.va:12:9: error: unbound variable `x`
 *      (+ x 1)
 *         ^
 *   hint: ...
 *
 * The source line is printed as written; the caret line copies the tabs of
 * the source line so the caret stays under the span whatever the tab width.
 * A long line is shown clipped to a window around the caret, with "..."
 * where it was cut (as clang does), so that one error costs the same
 * whatever the length of its line.
 *
 * Each diagnostic is formatted whole and written with one fwrite: stderr is
 * unbuffered, and character-at-a-time output would cost a system call per
 * byte and interleave with clang's messages. After max_errors errors the
 * rest are counted but not printed. */
#include <string.h>

#include "vbpf2c.h"

static FILE *diag_out;
static int error_count;
static int max_errors = 20;
static bool over_limit;    /* the limit was passed: print nothing more */

/* Lines longer than this are clipped to a window of LINE_WINDOW bytes
 * that starts CARET_LEAD bytes before the caret. */
enum { LINE_SHOWN_MAX = 160, LINE_WINDOW = 120, CARET_LEAD = 40 };

void diag_set_output(FILE *out)
{
	diag_out = out;
}

int diag_error_count(void)
{
	return error_count;
}

void diag_set_max_errors(int n)
{
	max_errors = n < 0 ? 0 : n;
}

bool diag_limit_reached(void)
{
	return over_limit;
}

void diag_reset(void)
{
	error_count = 0;
	over_limit = false;
}

/* diag_hold: what is reported waits here, and the state to go back to. */
static struct {
	bool on;
	StrBuf text;
	int error_count;
	bool over_limit;
} held;

void diag_hold(void)
{
	held.on = true;
	held.text.len = 0;
	held.error_count = error_count;
	held.over_limit = over_limit;
}

static FILE *out_stream(void)
{
	return diag_out ? diag_out : stderr;
}

static void flush_to_output(StrBuf *sb)
{
	if (held.on) {
		if (sb->len)
			sb_insert(&held.text, held.text.len, sb->data, sb->len);
	} else if (sb->len) {
		fwrite(sb->data, 1, sb->len, out_stream());
	}
	sb_free(sb);
}

void diag_release(bool keep)
{
	held.on = false;
	if (keep) {
		flush_to_output(&held.text);
	} else {
		sb_free(&held.text);
		error_count = held.error_count;
		over_limit = held.over_limit;
	}
}

/* A UTF-8 continuation byte: a window never starts or ends on one. */
static bool utf8_continuation(char c)
{
	return ((unsigned char)c & 0xC0) == 0x80;
}

/* Appends the line holding at.offset and a caret line under the span,
 * clipped to the end of that line (and to the window of a long line). */
static void put_source_line(StrBuf *sb, Span at)
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
	size_t line_end = begin + line_len;
	size_t caret = at.offset < line_end ? at.offset : line_end;

	size_t shown_begin = begin, shown_end = line_end;
	if (line_len > LINE_SHOWN_MAX) {
		shown_begin = caret > begin + CARET_LEAD ? caret - CARET_LEAD : begin;
		if (line_end - shown_begin < LINE_WINDOW)
			shown_begin = line_end - LINE_WINDOW;
		shown_end = shown_begin + LINE_WINDOW;
		while (shown_begin > begin && utf8_continuation(f->text[shown_begin]))
			shown_begin--;
		while (shown_end < line_end && utf8_continuation(f->text[shown_end]))
			shown_end++;
	}
	bool cut_left = shown_begin > begin, cut_right = shown_end < line_end;
	if (cut_left)
		sb_puts(sb, "...");
	sb_printf(sb, "%.*s", (int)(shown_end - shown_begin), f->text + shown_begin);
	sb_puts(sb, cut_right ? "...\n" : "\n");

	if (cut_left)
		sb_puts(sb, "   ");
	for (size_t i = shown_begin; i < caret; i++)
		sb_putc(sb, f->text[i] == '\t' ? '\t' : ' ');
	sb_putc(sb, '^');
	size_t span_end = at.offset + (at.len ? at.len : 1);
	if (span_end > shown_end)
		span_end = shown_end;
	for (size_t i = at.offset + 1; i < span_end; i++)
		sb_putc(sb, '~');
	sb_putc(sb, '\n');
}

static void vreport(Span at, const char *severity, const char *fmt, va_list ap)
{
	StrBuf sb = { 0 };
	if (at.file)
		sb_printf(&sb, "%s:%u:%u: %s: ", at.file->name, at.line, at.col, severity);
	else
		sb_printf(&sb, "vbpf2c: %s: ", severity);
	sb_vprintf(&sb, fmt, ap);
	sb_putc(&sb, '\n');
	if (at.file)
		put_source_line(&sb, at);
	flush_to_output(&sb);
}

void diag_error(Span at, const char *fmt, ...)
{
	error_count++;
	if (over_limit)
		return;
	if (max_errors && error_count > max_errors) {
		over_limit = true;
		StrBuf sb = { 0 };
		sb_printf(&sb, "vbpf2c: fatal error: too many errors emitted, stopping now [-fmax-errors=%d]\n",
			  max_errors);
		flush_to_output(&sb);
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vreport(at, "error", fmt, ap);
	va_end(ap);
}

void diag_note(Span at, const char *fmt, ...)
{
	if (over_limit)
		return;
	va_list ap;
	va_start(ap, fmt);
	vreport(at, "note", fmt, ap);
	va_end(ap);
}

void diag_hint(const char *fmt, ...)
{
	if (over_limit)
		return;
	StrBuf sb = { 0 };
	va_list ap;
	va_start(ap, fmt);
	sb_puts(&sb, "hint: ");
	sb_vprintf(&sb, fmt, ap);
	sb_putc(&sb, '\n');
	va_end(ap);
	flush_to_output(&sb);
}

Span span_join(Span a, Span b)
{
	Span s = a;
	if (b.offset + b.len > a.offset)
		s.len = b.offset + b.len - a.offset;
	return s;
}
