/* Unit tests for reader.c: every rule of LANGUAGE.md section 1, the exact
 * spans, the error messages with their positions, and recovery. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static char *captured;
static size_t captured_len;
static FILE *capture;
static SourceFile src;

/* Reads text as "t.va" with diagnostics captured. */
static Vec read_text_len(const char *text, size_t len)
{
	src = source_from("t.va", text, len);
	capture = diag_capture_begin(&captured, &captured_len);
	Vec forms = read_file_forms(&src);
	fflush(capture);
	return forms;
}

static Vec read_text(const char *text)
{
	return read_text_len(text, strlen(text));
}

static const char *diags(void)
{
	fflush(capture);
	return captured;
}

static void teardown(void)
{
	if (capture) {
		diag_capture_end(capture);
		capture = NULL;
	}
	free(captured);
	captured = NULL;
	arena_reset();
}

TestSuite(reader, .fini = teardown);

static Sexp *only_form(Vec forms)
{
	cr_assert_eq(forms.len, 1, "expected one form, got %d", forms.len);
	return forms.items[0];
}

Test(reader, decimal_hex_and_negative_integers)
{
	Sexp *l = only_form(read_text("(123 -5 0x1F 0xff 0 -0 18446744073709551615 -9223372036854775808)"));
	cr_assert_eq(l->kind, SX_LIST);
	cr_assert_eq(l->nitems, 8);
	for (int i = 0; i < l->nitems; i++)
		cr_assert_eq(l->items[i]->kind, SX_INT, "item %d", i);
	cr_assert_eq(l->items[0]->value, 123);
	cr_assert(!l->items[0]->negative);
	cr_assert_eq(l->items[1]->value, (uint64_t)-5);
	cr_assert(l->items[1]->negative);
	cr_assert_eq(l->items[2]->value, 31);
	cr_assert_eq(l->items[3]->value, 255);
	cr_assert_eq(l->items[6]->value, UINT64_MAX);
	cr_assert_eq(l->items[7]->value, (uint64_t)1 << 63);
	cr_assert(l->items[7]->negative);
	cr_assert_eq(diag_error_count(), 0);
}

Test(reader, character_literals)
{
	Sexp *l = only_form(read_text("(\\a \\newline \\space \\tab \\return \\null \\( \\;)"));
	uint64_t want[] = { 97, 10, 32, 9, 13, 0, '(', ';' };
	cr_assert_eq(l->nitems, 8);
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(l->items[i]->kind, SX_INT, "item %d", i);
		cr_assert_eq(l->items[i]->value, want[i], "item %d", i);
	}
	cr_assert_eq(diag_error_count(), 0);
}

Test(reader, number_lookalikes_are_names)
{
	Sexp *l = only_form(read_text("(0XFF 1_000 0b101 0x -0x1F 0x1G 1e5 1. .5 -)"));
	const char *want[] = { "0XFF", "1_000", "0b101", "0x", "-0x1F", "0x1G", "1e5", "1.", ".5", "-" };
	cr_assert_eq(l->nitems, 10);
	for (int i = 0; i < 10; i++) {
		cr_assert_eq(l->items[i]->kind, SX_SYMBOL, "item %d", i);
		cr_assert_str_eq(l->items[i]->text, want[i]);
	}
	cr_assert_eq(diag_error_count(), 0);
}

Test(reader, floats_are_lexed_for_the_parser_to_reject)
{
	Sexp *l = only_form(read_text("(1.5 -2.25 3.0e8)"));
	for (int i = 0; i < 3; i++)
		cr_assert_eq(l->items[i]->kind, SX_FLOAT, "item %d", i);
	cr_assert_str_eq(l->items[1]->text, "-2.25");
	cr_assert_eq(diag_error_count(), 0);
}

Test(reader, keywords_symbols_and_booleans)
{
	Sexp *l = only_form(read_text("(:u64 :XdpMd :rx_queue_index my-map full? set! a.b x' "
				      "bpf/name bpf:name true <= ->>)"));
	cr_assert_eq(l->items[0]->kind, SX_KEYWORD);
	cr_assert_str_eq(l->items[0]->text, "u64");
	cr_assert_str_eq(l->items[1]->text, "XdpMd");
	cr_assert_str_eq(l->items[2]->text, "rx_queue_index");
	const char *names[] = { "my-map", "full?", "set!", "a.b", "x'", "bpf/name", "bpf:name",
				"true", "<=", "->>" };
	for (int i = 0; i < 10; i++) {
		cr_assert_eq(l->items[3 + i]->kind, SX_SYMBOL, "item %d", 3 + i);
		cr_assert_str_eq(l->items[3 + i]->text, names[i]);
	}
}

Test(reader, names_are_interned)
{
	Sexp *l = only_form(read_text("(foo :foo foo (foo))"));
	cr_assert_eq(l->items[0]->text, l->items[2]->text, "one copy per spelling");
	cr_assert_eq(l->items[0]->text, l->items[1]->text, "keyword text shares the name");
	cr_assert_eq(l->items[3]->items[0]->text, l->items[0]->text);
}

Test(reader, string_escapes_are_decoded)
{
	Sexp *l = only_form(read_text("(\"a\\\\b\\\"c\\nd\\te\\rf\" \"plain\" \"\")"));
	cr_assert_eq(l->items[0]->kind, SX_STRING);
	cr_assert_str_eq(l->items[0]->text, "a\\b\"c\nd\te\rf");
	cr_assert_str_eq(l->items[1]->text, "plain");
	cr_assert_str_eq(l->items[2]->text, "");
	cr_assert_eq(l->items[0]->span.len, 18, "the span covers the quotes and the escapes");
}

Test(reader, spans_are_exact)
{
	Vec forms = read_text("; header\n(defn f\n  [x :u64])\n[a]");
	cr_assert_eq(forms.len, 2);
	Sexp *defn = forms.items[0];
	cr_assert_eq(defn->span.line, 2);
	cr_assert_eq(defn->span.col, 1);
	cr_assert_eq(defn->span.offset, 9);
	cr_assert_eq(defn->span.len, 19, "from '(' to ')' across the line break");
	Sexp *vec = defn->items[2];
	cr_assert_eq(vec->kind, SX_VECTOR);
	cr_assert_eq(vec->span.line, 3);
	cr_assert_eq(vec->span.col, 3);
	cr_assert_eq(vec->span.len, 8);
	Sexp *kw = vec->items[1];
	cr_assert_eq(kw->span.line, 3);
	cr_assert_eq(kw->span.col, 6);
	cr_assert_eq(kw->span.len, 4, "the colon is part of the span");
	Sexp *second = forms.items[1];
	cr_assert_eq(second->span.line, 4);
	cr_assert_eq(second->span.col, 1);
}

Test(reader, crlf_and_tabs_are_whitespace)
{
	Vec forms = read_text("(a\r\n\tb)\r\n(c)");
	cr_assert_eq(forms.len, 2);
	Sexp *b = ((Sexp *)forms.items[0])->items[1];
	cr_assert_str_eq(b->text, "b");
	cr_assert_eq(b->span.line, 2);
	cr_assert_eq(b->span.col, 2);
	cr_assert_eq(diag_error_count(), 0);
}

Test(reader, a_comment_is_a_comment)
{
	Vec forms = read_text("; (program :tc)\n(a) ; (b [ {\n;(c)");
	cr_assert_eq(forms.len, 1);
	cr_assert_str_eq(((Sexp *)forms.items[0])->items[0]->text, "a");
	cr_assert_eq(diag_error_count(), 0);
}

Test(reader, comma_is_an_error_and_is_skipped)
{
	Sexp *l = only_form(read_text("[x :u64, y :u64]"));
	cr_assert_str_eq(diags(), "t.va:1:8: error: commas are not allowed here: separate elements "
				  "with spaces\n[x :u64, y :u64]\n       ^\n");
	cr_assert_eq(l->nitems, 4, "the rest of the vector is read as if the comma were a space");
	cr_assert_eq(diag_error_count(), 1);
}

Test(reader, braces_are_rejected_and_the_form_dropped)
{
	Vec forms = read_text("(f {a 1})\n(g #{1})\n(h #(x))\n(ok)");
	cr_assert_eq(forms.len, 1, "only the form without a rejected group survives");
	cr_assert_str_eq(((Sexp *)forms.items[0])->items[0]->text, "ok");
	cr_assert_eq(diag_error_count(), 3);
	const char *out = diags();
	cr_assert(strstr(out, "t.va:1:4: error: map literals `{...}` are not supported in BPF modules"), "%s", out);
	cr_assert(strstr(out, "t.va:2:4: error: set literals `#{...}` are not supported in BPF modules"), "%s", out);
	cr_assert(strstr(out, "t.va:3:4: error: anonymous functions are not supported in BPF modules"), "%s", out);
}

Test(reader, mismatched_closer_points_at_it_with_a_note_at_the_opener)
{
	Vec forms = read_text("(defn f [x :u64) :u64 x)\n(next)");
	cr_assert_str_eq(diags(), "t.va:1:16: error: mismatched closing delimiter: expected ']', found ')'\n"
				  "(defn f [x :u64) :u64 x)\n"
				  "               ^\n"
				  "t.va:1:9: note: to match this '['\n"
				  "(defn f [x :u64) :u64 x)\n"
				  "        ^\n");
	cr_assert_eq(forms.len, 2, "the wrong bracket closes the vector; the rest reads normally");
	cr_assert_eq(((Sexp *)forms.items[0])->nitems, 5);
}

Test(reader, extra_closer_matching_nothing_is_skipped)
{
	Vec forms = read_text("(+ x 1])\n(next)");
	cr_assert_eq(diag_error_count(), 1);
	cr_assert(strstr(diags(), "t.va:1:7: error: mismatched closing delimiter: expected ')', found ']'"));
	cr_assert(strstr(diags(), "t.va:1:1: note: to match this '('"));
	cr_assert_eq(forms.len, 2);
	cr_assert_eq(((Sexp *)forms.items[0])->nitems, 3);
}

Test(reader, stray_closer_at_top_level)
{
	Vec forms = read_text("(a))\n]\n(b)");
	cr_assert_eq(forms.len, 2);
	cr_assert_eq(diag_error_count(), 2);
	cr_assert(strstr(diags(), "t.va:1:4: error: unexpected ')' with no matching '('"));
	cr_assert(strstr(diags(), "t.va:2:1: error: unexpected ']' with no matching '['"));
}

Test(reader, unclosed_form_reported_at_end_of_file)
{
	Vec forms = read_text("(ok)\n(defn f []\n  (g 1)\n");
	cr_assert_str_eq(diags(), "t.va:3:8: error: expected ')' before end of file\n"
				  "  (g 1)\n"
				  "       ^\n"
				  "t.va:2:1: note: to match this '('\n"
				  "(defn f []\n"
				  "^\n");
	cr_assert_eq(forms.len, 1, "the unfinished form is dropped");
}

Test(reader, integer_overflow)
{
	read_text("(18446744073709551616 -9223372036854775809 0x10000000000000000 0xFFFFFFFFFFFFFFFF)");
	cr_assert_eq(diag_error_count(), 3);
	const char *out = diags();
	cr_assert(strstr(out, "t.va:1:2: error: integer literal 18446744073709551616 does not fit in 64 bits"));
	cr_assert(strstr(out, "t.va:1:23: error: integer literal -9223372036854775809 does not fit in 64 bits"));
	cr_assert(strstr(out, "t.va:1:44: error: integer literal 0x10000000000000000 does not fit in 64 bits"));
}

Test(reader, bad_escape_and_unterminated_string)
{
	read_text("(a \"x\\qy\")");
	cr_assert_eq(diag_error_count(), 1);
	cr_assert(strstr(diags(), "t.va:1:6: error: unknown escape sequence `\\q` in string\n"), "%s", diags());
	teardown();
	Vec forms = read_text("(program :kprobe \"sys_execve)\n(defn f [] :u64 0)\n");
	cr_assert_str_eq(diags(), "t.va:1:18: error: unterminated string literal\n"
				  "(program :kprobe \"sys_execve)\n"
				  "                 ^\n");
	cr_assert_eq(forms.len, 0);
}

Test(reader, unknown_character_literal)
{
	Sexp *l = only_form(read_text("(\\nul \\))"));
	cr_assert(strstr(diags(), "t.va:1:2: error: unknown character literal `\\nul`"), "%s", diags());
	cr_assert_eq(diag_error_count(), 1);
	cr_assert_eq(l->nitems, 2);
	cr_assert_eq(l->items[1]->value, ')', "\\) is the character ')'");
}

Test(reader, empty_keyword)
{
	Vec forms = read_text("(f : x)\n(g)");
	cr_assert(strstr(diags(), "t.va:1:4: error: expected a keyword name after ':'"));
	cr_assert_eq(forms.len, 1);
}

Test(reader, nesting_is_limited_not_a_stack_overflow)
{
	size_t n = 200000;
	char *text = malloc(2 * n + 1);
	memset(text, '(', n);
	memset(text + n, ')', n);
	text[2 * n] = '\0';
	Vec forms = read_text(text);
	cr_assert_eq(diag_error_count(), 1);
	cr_assert(strstr(diags(), "error: forms nested more than 256 deep"));
	cr_assert_eq(forms.len, 0);
	free(text);
}

Test(reader, control_bytes_and_non_ascii)
{
	static const char text[] = "(a \0 b)\n(caf\xc3\xa9)\n; \xff\xfe in a comment\n(\"\xff\")";
	Vec forms = read_text_len(text, sizeof(text) - 1);
	cr_assert_eq(forms.len, 3);
	cr_assert_eq(diag_error_count(), 2);
	cr_assert(strstr(diags(), "t.va:1:4: error: invalid character 0x00 in source"));
	cr_assert(strstr(diags(), "t.va:2:2: error: names must be ASCII"));
}

Test(reader, any_bytes_never_crash)
{
	/* A deterministic soup of the bytes that matter to the scanner. */
	static const char alphabet[] = "()[]{}#\"\\;,:-0x19.5aZ_ \n\t\r\0\xff";
	char buf[513];
	unsigned state = 12345;
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(state % sizeof(buf));
		for (size_t i = 0; i < len; i++) {
			state = state * 1103515245u + 12345u;
			buf[i] = alphabet[(state >> 16) % (sizeof(alphabet) - 1)];
		}
		buf[len] = '\0';
		read_text_len(buf, len);
		teardown();
	}
}

static void count_form(Sexp *form, void *n)
{
	(void)form;
	++*(int *)n;
}

/* The reader keeps every ; comment for the C backend: its line, whether
 * code precedes it, its text without the ;s, one space and trailing
 * blanks; a ; inside a string or a \; character is not one. */
Test(reader, comments_are_kept_with_their_place)
{
	const char *text = ";; header\n"
			   "(program :xdp) ; trailing  \n"
			   "  ;   indented\n"
			   "(defn f [ctx :XdpMd] :u32 (do \"a;b\" \\; 2))\n"
			   ";\n";
	SourceFile s = source_from("t.va", text, strlen(text));
	Vec comments = { 0 };
	int forms = 0;
	read_file_each_with_comments(&s, count_form, &forms, &comments);
	cr_assert_eq(forms, 2);
	cr_assert_eq(comments.len, 4);
	Comment **c = (Comment **)comments.items;
	cr_assert_str_eq(c[0]->text, "header");
	cr_assert(!c[0]->trailing);
	cr_assert_eq(c[0]->line, 1);
	cr_assert_str_eq(c[1]->text, "trailing");
	cr_assert(c[1]->trailing);
	cr_assert_eq(c[1]->line, 2);
	cr_assert_eq(c[1]->col, 16);
	cr_assert_str_eq(c[2]->text, "  indented");
	cr_assert(!c[2]->trailing);
	cr_assert_str_eq(c[3]->text, "");
	cr_assert_eq(c[3]->line, 5);
	cr_assert_eq(c[3]->offset, strlen(text) - 2);
}

/* name_hash of the same bytes, taken byte by byte (an arena copy is no
 * interned text: it has no NUL before it in the name region). */
static uint32_t hash_of_copy(const char *s)
{
	char *copy = arena_strdup(s);
	return name_hash(copy);
}

Test(reader, interned_names_carry_their_hash)
{
	/* names and keywords (whose hash leaves out the ':'), new and
	 * repeated, one made of one byte, and "k/Foo" whose suffix "Foo"
	 * is no interned text though it lies in the region */
	Sexp *l = only_form(read_text("(entry :u32 x k/Foo entry :u32 :k/Bar x)"));
	cr_assert_eq(l->nitems, 8);
	for (int i = 0; i < l->nitems; i++) {
		const char *text = l->items[i]->text;
		cr_assert(name_region.size && (uintptr_t)text - name_region.lo < name_region.size,
			  "item %d is not in the name region", i);
		cr_assert_eq(name_hash(text), hash_of_copy(text), "item %d (%s)", i, text);
	}
	cr_assert_eq(l->items[0]->text, l->items[4]->text);  /* interned once */
	const char *suffix = l->items[3]->text + 2;
	cr_assert_str_eq(suffix, "Foo");
	cr_assert_eq(name_hash(suffix), hash_of_copy("Foo"));
	cr_assert_eq(name_hash(l->items[6]->text + 2), hash_of_copy("Bar"));
}

Test(reader, names_past_the_region_hash_alike)
{
	/* more new names than the region was sized for (a sixth of the text
	 * and 4 KiB): the rest are interned in the arena, and hash alike */
	StrBuf text = { 0 };
	sb_puts(&text, "(");
	for (int i = 0; i < 2000; i++)
		sb_printf(&text, "a_fairly_long_name_number_%d ", i);
	sb_puts(&text, ")");
	Sexp *l = only_form(read_text_len(text.data, text.len));
	cr_assert_eq(l->nitems, 2000);
	int outside = 0;
	for (int i = 0; i < l->nitems; i++) {
		const char *name = l->items[i]->text;
		outside += (uintptr_t)name - name_region.lo >= name_region.size;
		cr_assert_eq(name_hash(name), hash_of_copy(name), "item %d (%s)", i, name);
	}
	cr_assert_gt(outside, 0, "every name fitted: the test no longer goes past the region");
	sb_free(&text);
}
