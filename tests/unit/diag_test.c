/* Unit tests for util.c and diag.c: the arena, vectors, string buffers and
 * the located-diagnostic format every other stage relies on. */
#include <criterion/criterion.h>
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
}

Test(diag, span_is_clipped_at_end_of_line)
{
	SourceFile f = { .name = "c.va", .text = "(a\nb)" };
	f.len = strlen(f.text);
	capture_start();
	diag_error(span_at(&f, 0, 5, 1, 1), "unclosed");
	cr_assert_str_eq(capture_end(), "c.va:1:1: error: unclosed\n(a\n^~\n");
	free(captured);
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
