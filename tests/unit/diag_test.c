/* Unit tests for util.c and diag.c: the arena, vectors, string buffers and
 * the located-diagnostic format every other stage relies on. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static char *captured;
static size_t captured_len;
static FILE *capture;

static void capture_start(void)
{
	capture = diag_capture_begin(&captured, &captured_len);
}

static const char *capture_end(void)
{
	diag_capture_end(capture);
	return captured;
}

static Span span_at(const SourceFile *f, uint32_t offset, uint32_t len, uint32_t line, uint32_t col)
{
	return (Span){ .file = f, .offset = offset, .len = len, .line = line, .col = col };
}

Test(diag, error_prints_location_line_and_caret)
{
	SourceFile f = { .name = "p.va", .text = "(defn f []\n  (+ x 1))\n" };
	f.len = strlen(f.text);
	capture_start();
	diag_error(span_at(&f, 16, 1, 2, 6), "unbound variable `%s`", "x");
	diag_hint("did you mean `y`?");
	cr_assert_str_eq(capture_end(), "p.va:2:6: error: unbound variable `x`\n"
					"  (+ x 1))\n"
					"     ^\n"
					"hint: did you mean `y`?\n");
	cr_assert_eq(diag_error_count(), 1);
	free(captured);
	captured = NULL;
}

Test(diag, caret_follows_tabs_and_underlines_span)
{
	SourceFile f = { .name = "t.va", .text = "\t(foo bar)" };
	f.len = strlen(f.text);
	capture_start();
	diag_note(span_at(&f, 2, 3, 1, 3), "here");
	cr_assert_str_eq(capture_end(), "t.va:1:3: note: here\n\t(foo bar)\n\t ^~~\n");
	cr_assert_eq(diag_error_count(), 0, "a note is not an error");
	free(captured);
	captured = NULL;
}

Test(diag, span_is_clipped_at_end_of_line)
{
	SourceFile f = { .name = "c.va", .text = "(a\nb)" };
	f.len = strlen(f.text);
	capture_start();
	diag_error(span_at(&f, 0, 5, 1, 1), "unclosed");
	cr_assert_str_eq(capture_end(), "c.va:1:1: error: unclosed\n(a\n^~\n");
	free(captured);
	captured = NULL;
}

/* A long line is shown as a window around the caret, "..." where cut:
 * one error costs the same whatever the length of its line (issue 16). */
Test(diag, long_line_is_clipped_around_the_caret)
{
	char text[1001];
	memset(text, 'a', 1000);
	text[1000] = '\0';
	memcpy(text + 500, "(bad)", 5);
	SourceFile f = { .name = "l.va", .text = text, .len = 1000 };
	capture_start();
	diag_error(span_at(&f, 500, 5, 1, 501), "here");
	const char *out = capture_end();
	char want[512];
	snprintf(want, sizeof(want), "l.va:1:501: error: here\n...%.40s(bad)%.75s...\n%43s^~~~~\n",
		 text, text, "");
	cr_assert_str_eq(out, want);
	free(captured);
	captured = NULL;
}

Test(diag, errors_stop_after_the_limit)
{
	SourceFile f = { .name = "m.va", .text = "x" };
	f.len = 1;
	diag_set_max_errors(2);
	capture_start();
	for (int i = 0; i < 5; i++) {
		diag_error(span_at(&f, 0, 1, 1, 1), "e%d", i);
		diag_hint("h%d", i);
	}
	cr_assert_str_eq(capture_end(), "m.va:1:1: error: e0\nx\n^\nhint: h0\n"
					"m.va:1:1: error: e1\nx\n^\nhint: h1\n"
					"vbpf2c: fatal error: too many errors emitted, stopping now "
					"[-fmax-errors=2]\n");
	cr_assert_eq(diag_error_count(), 5, "every error is still counted");
	cr_assert(diag_limit_reached());
	diag_set_max_errors(20);
	free(captured);
	captured = NULL;
}

Test(diag, held_diagnostics_are_written_or_forgotten_whole)
{
	SourceFile f = { .name = "h.va", .text = "x" };
	f.len = 1;
	diag_set_max_errors(2);
	capture_start();
	diag_error(span_at(&f, 0, 1, 1, 1), "before");
	diag_hold();
	diag_error(span_at(&f, 0, 1, 1, 1), "dropped");
	diag_error(span_at(&f, 0, 1, 1, 1), "over the limit");
	cr_assert_eq(diag_error_count(), 3);
	cr_assert(diag_limit_reached());
	diag_release(false);
	cr_assert_eq(diag_error_count(), 1, "forgotten errors are not counted");
	cr_assert(!diag_limit_reached(), "nor do they count towards the limit");
	diag_hold();
	diag_error(span_at(&f, 0, 1, 1, 1), "kept");
	diag_hint("with its hint");
	diag_error(span_at(&f, 0, 1, 1, 1), "past the limit");
	diag_release(true);
	cr_assert_str_eq(capture_end(), "h.va:1:1: error: before\nx\n^\n"
					"h.va:1:1: error: kept\nx\n^\nhint: with its hint\n"
					"vbpf2c: fatal error: too many errors emitted, stopping now "
					"[-fmax-errors=2]\n");
	cr_assert_eq(diag_error_count(), 3);
	diag_set_max_errors(20);
	free(captured);
	captured = NULL;
}

Test(util, arena_strings_and_vectors)
{
	char *s = arena_printf("%s-%d", "map", 7);
	cr_assert_str_eq(s, "map-7");
	cr_assert_str_eq(arena_strndup("abcdef", 3), "abc");
	Vec v = { 0 };
	for (intptr_t i = 0; i < 100; i++)
		vec_push(&v, (void *)i);
	cr_assert_eq(v.len, 100);
	cr_assert_eq((intptr_t)v.items[99], 99);
	arena_reset();
}

Test(util, strbuf_grows)
{
	StrBuf sb = { 0 };
	for (int i = 0; i < 1000; i++)
		sb_printf(&sb, "%d,", i % 10);
	cr_assert_eq(sb.len, 2000);
	cr_assert_eq(strncmp(sb.data, "0,1,2,", 6), 0);
	sb_free(&sb);
}

/* util.c writes the common conversions itself (format_simple): every
 * one, at its limits, and the formats it leaves to vsnprintf, must come
 * out as snprintf writes them - through the arena's line buffer and past
 * it, and appended to a string buffer that has to grow. */
#define FORMATS_LIKE_SNPRINTF(...)                                        \
	do {                                                              \
		char expect[600];                                         \
		int n = snprintf(expect, sizeof(expect), __VA_ARGS__);    \
		cr_assert_str_eq(arena_printf(__VA_ARGS__), expect);      \
		StrBuf sb = { 0 };                                        \
		sb_puts(&sb, "x");                                        \
		sb_printf(&sb, __VA_ARGS__);                              \
		cr_assert_eq(sb.len, (size_t)n + 1);                      \
		cr_assert_eq(memcmp(sb.data + 1, expect, (size_t)n), 0); \
		cr_assert_eq(sb.data[sb.len], '\0');                      \
		sb_free(&sb);                                             \
	} while (0)

Test(util, formats_as_snprintf_does)
{
	char long_text[400];
	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	FORMATS_LIKE_SNPRINTF("plain text, no conversion");
	FORMATS_LIKE_SNPRINTF("%s and %s", "this", "");
	FORMATS_LIKE_SNPRINTF("[%.*s|%.*s|%.*s]", 3, "abcdef", 0, "abc", 9, "ab");
	FORMATS_LIKE_SNPRINTF("%d %d %d %d", 0, -1, INT_MAX, INT_MIN);
	FORMATS_LIKE_SNPRINTF("%u %u", 0u, UINT_MAX);
	FORMATS_LIKE_SNPRINTF("%ld %lu %lld %llu", LONG_MIN, ULONG_MAX, LLONG_MIN, ULLONG_MAX);
	FORMATS_LIKE_SNPRINTF("%zu %zd", (size_t)SIZE_MAX, (ssize_t)-5);
	FORMATS_LIKE_SNPRINTF("%c%c%% 100%%", 'x', '(');
	FORMATS_LIKE_SNPRINTF("%s%s", long_text, "tail");     /* past the 256-byte line */
	FORMATS_LIKE_SNPRINTF("%.*s!", 300, long_text);
	/* left to vsnprintf, after some arguments were read */
	FORMATS_LIKE_SNPRINTF("%s %5d|%-4s|%03o|%02X|%.2f|%x|%.40s", "w", 42, "ab", 8, 255, 1.5, 0xbeefu, long_text);
	FORMATS_LIKE_SNPRINTF("%d %.*d %s", 1, 4, 7, "after");
	FORMATS_LIKE_SNPRINTF("%lx %p", 255ul, (void *)0);
	arena_reset();
}

Test(util, strbuf_insert)
{
	StrBuf sb = { 0 };
	sb_insert(&sb, 0, "mid", 3);
	cr_assert_str_eq(sb.data, "mid");
	sb_insert(&sb, 0, "<<", 2);
	sb_insert(&sb, sb.len, ">>", 2);
	sb_insert(&sb, 2, "a\0b", 3);   /* bytes, NUL included */
	cr_assert_eq(sb.len, 10);
	cr_assert_eq(memcmp(sb.data, "<<a\0bmid>>", 11), 0, "NUL-terminated after the last insert");
	sb_free(&sb);
}
