/* emit_c_print.c - printing the statement tree (see emit_c.h) in kernel
 * style, a clang-format fixed point: braces, blank lines after
 * declarations, the #line directives that map the C to the .va, and the
 * source's comments (docs/emit_c.md); emit_c_wrap.c breaks the lines. */
#include "emit_c.h"


/* Prints text at the current depth; text may hold several lines (the
 * stack scratch union), each indented. */
void print_raw_line(Printer *P, const char *text)
{
	for (;;) {
		const char *nl = strchr(text, '\n');
		for (int i = 0; i < P->depth; i++)
			sb_putc(P->out, '\t');
		sb_printf(P->out, "%.*s\n", nl ? (int)(nl - text) : (int)strlen(text), text);
		if (P->line)
			P->line++;
		if (!nl)
			return;
		text = nl + 1;
	}
}

/* ---- comments --------------------------------------------------------------
 *
 * The source's `;` comments go into the C where a reader looks for them
 * (docs/emit_c.md, "Comments"): a comment on its own line(s) above the C
 * of the form that follows it, a trailing comment after the statement
 * its line produced. They are only ever added as lines or line ends: the
 * statements are the same with and without them. */

/* Would text break a block comment? A "*" "/" in it closes the comment
 * early; a "/" "*" (examples/ *.va without the space) is one clang -Wall
 * refuses inside one (-Wcomment). Such text goes into // comments. */
static bool breaks_block_comment(const char *text)
{
	return strstr(text, "*/") || strstr(text, "/*");
}

/* "/" "*" text "*" "/", or a // comment when the text would break a block
 * comment. */
static const char *line_comment(const Comment *c)
{
	return arena_printf("//%s%s", *c->text ? " " : "", c->text);
}

static const char *comment_text(const Comment *c)
{
	if (breaks_block_comment(c->text))
		return line_comment(c);
	return arena_printf("/* %s */", c->text);
}

/* Writes comments as block comments at depth tabs: each run of comments
 * on consecutive source lines is one comment, `/" "* text *" "/` for one
 * line, the kernel's multi-line style for more; a trailing comment moved
 * above its statement stays a comment of its own. Returns the lines
 * written. */
int put_comments(StrBuf *out, int depth, const Vec *list)
{
	int lines = 0;
	for (int i = 0; i < list->len;) {
		int j = i + 1;
		const Comment *first = list->items[i];
		bool slashes = breaks_block_comment(first->text);
		while (j < list->len && !first->trailing && !((const Comment *)list->items[j])->trailing &&
		       ((const Comment *)list->items[j])->line == ((const Comment *)list->items[j - 1])->line + 1) {
			slashes |= breaks_block_comment(((const Comment *)list->items[j])->text);
			j++;
		}
		if (j - i == 1 || slashes) {
			/* a run that cannot be one block comment is // lines, all
			 * of it */
			for (int k = i; k < j; k++, lines++) {
				for (int t = 0; t < depth; t++)
					sb_putc(out, '\t');
				sb_printf(out, "%s\n", slashes ? line_comment(list->items[k]) : comment_text(list->items[k]));
			}
		} else {
			for (int t = 0; t < depth; t++)
				sb_putc(out, '\t');
			sb_puts(out, "/*\n");
			for (int k = i; k < j; k++) {
				const Comment *c = list->items[k];
				for (int t = 0; t < depth; t++)
					sb_putc(out, '\t');
				sb_printf(out, " *%s%s\n", *c->text ? " " : "", c->text);
			}
			for (int t = 0; t < depth; t++)
				sb_putc(out, '\t');
			sb_puts(out, " */\n");
			lines += j - i + 2;
		}
		i = j;
	}
	return lines;
}

/* Columns the last line of text takes (tabs to 8). */
static int last_line_width(const char *text, size_t len)
{
	size_t start = len;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	int col = 0;
	for (size_t i = start; i < len; i++)
		col = text[i] == '\t' ? (col / 8 + 1) * 8 : col + 1;
	return col;
}

/* One output line produced by source line `line`: the comments planned
 * above it, a #line directive when the line numbering does not already
 * say so, the text, and a trailing comment when one was planned and fits
 * in 80 columns (otherwise it goes above). */
static void print_line(Printer *P, int line, const char *text)
{
	int call = P->call++;
	if (P->record) {
		vec_push(P->record, (void *)(intptr_t)line);
		vec_push(P->record_start, (void *)(uintptr_t)P->src_start);
		vec_push(P->record_end, (void *)(uintptr_t)P->src_end);
	}
	Vec *before = P->before && call < P->ncalls ? &P->before[call] : NULL;
	const Comment *trailing = P->trailing && call < P->ncalls ? P->trailing[call] : NULL;
	StrBuf body = { 0 };
	long saved_line = P->line;
	StrBuf *saved_out = P->out;
	if (trailing) {
		/* the statement first, to see whether the comment fits after it */
		P->out = &body;
		P->line = 0;
		print_text(P, text);
		P->out = saved_out;
		P->line = saved_line;
		const char *c = comment_text(trailing);
		if (last_line_width(body.data, body.len - 1) + 1 + (int)strlen(c) > COLUMN_LIMIT) {
			Vec one = { 0 };
			if (before)
				for (int i = 0; i < before->len; i++)
					vec_push(&one, before->items[i]);
			vec_push(&one, (void *)trailing);
			before = arena_alloc(sizeof(*before));
			*before = one;
			trailing = NULL;
		}
	}
	StrBuf comments = { 0 };
	int k = before && before->len ? put_comments(&comments, P->depth, before) : 0;
	if (P->directives && line > 0 && line != (P->line ? P->line + k : 0)) {
		/* the directive goes above the comments (clang-format indents a
		 * comment above a directive like the line before it), numbered
		 * so that the statement gets its line */
		if (line - k >= 1) {
			sb_printf(P->out, "#line %d %s\n", line - k, P->file);
		} else {
			if (comments.data)
				sb_puts(P->out, comments.data);
			sb_free(&comments);
			k = 0;
			sb_printf(P->out, "#line %d %s\n", line, P->file);
		}
		P->line = line - k;
	}
	if (comments.data)
		sb_puts(P->out, comments.data);
	sb_free(&comments);
	if (P->line)
		P->line += k;
	if (trailing) {
		body.data[body.len - 1] = '\0';
		sb_printf(P->out, "%s %s\n", body.data, comment_text(trailing));
		for (size_t i = 0; i < body.len; i++)
			if (body.data[i] == '\n' && P->line)
				P->line++;
		if (P->line)
			P->line++;
	} else {
		print_text(P, text);
	}
	sb_free(&body);
}

static void print_block(Printer *P, const CBlock *b);

/* Can block b be an unbraced body: one plain statement, not a
 * declaration? */
static bool bare_ok(const CBlock *b)
{
	if (!b || b->stmts.len != 1)
		return false;
	const CStmt *s = b->stmts.items[0];
	return s->kind == CS_LINE && !s->is_decl;
}

static void print_stmt(Printer *P, const CStmt *s);

/* Prints an if / else if / else chain, braces on every branch or none
 * (kernel style), none only when each branch is one plain statement. */
static void print_if_chain(Printer *P, const CStmt *s, bool braces)
{
	const CStmt *cur = s;
	const char *kw = "if";
	for (;;) {
		P->src_start = cur->src_start;
		P->src_end = cur->src_end;
		if (braces) {
			if (cur == s)
				print_line(P, cur->line, arena_printf("if (%s) {", cur->text));
			else
				print_line(P, cur->line, arena_printf("} else if (%s) {", cur->text));
		} else {
			print_line(P, cur->line, arena_printf("%s (%s)", kw, cur->text));
		}
		P->depth++;
		print_block(P, cur->then);
		P->depth--;
		const CBlock *els = cur->els;
		if (!els) {
			if (braces)
				print_raw_line(P, "}");
			return;
		}
		if (els->stmts.len == 1 && ((CStmt *)els->stmts.items[0])->kind == CS_IF) {
			cur = els->stmts.items[0];
			kw = "else if";
			continue;
		}
		print_raw_line(P, braces ? "} else {" : "else");
		P->depth++;
		print_block(P, els);
		P->depth--;
		if (braces)
			print_raw_line(P, "}");
		return;
	}
}

static bool chain_bare_ok(const CStmt *s)
{
	for (const CStmt *cur = s;;) {
		if (!bare_ok(cur->then))
			return false;
		if (!cur->els)
			return true;
		if (cur->els->stmts.len == 1 && ((CStmt *)cur->els->stmts.items[0])->kind == CS_IF) {
			cur = cur->els->stmts.items[0];
			continue;
		}
		return bare_ok(cur->els);
	}
}

/* A one-statement body goes without braces whether or not a #line lands
 * inside it: the C's shape never depends on the directives (--no-line
 * output is the default output without them). */
static void print_body(Printer *P, const char *head, int line, const CBlock *b)
{
	if (bare_ok(b)) {
		print_line(P, line, head);
		P->depth++;
		print_block(P, b);
		P->depth--;
		return;
	}
	print_line(P, line, arena_printf("%s {", head));
	P->depth++;
	print_block(P, b);
	P->depth--;
	print_raw_line(P, "}");
}

static void print_stmt(Printer *P, const CStmt *s)
{
	P->src_start = s->src_start;
	P->src_end = s->src_end;
	switch (s->kind) {
	case CS_LINE:
		print_line(P, s->line, s->text);
		return;
	case CS_IF:
		print_if_chain(P, s, !chain_bare_ok(s));
		return;
	case CS_FOR:
		if (block_empty(s->then)) {
			print_line(P, s->line, arena_printf("for (%s)", s->text));
			P->depth++;
			print_raw_line(P, ";");
			P->depth--;
			return;
		}
		print_body(P, arena_printf("for (%s)", s->text), s->line, s->then);
		return;
	case CS_BLOCK:
		print_raw_line(P, "{");
		P->depth++;
		print_block(P, s->then);
		P->depth--;
		print_raw_line(P, "}");
		return;
	case CS_SWITCH:
		print_line(P, s->line, arena_printf("switch (%s) {", s->text));
		for (int i = 0; i < s->cases.len; i++) {
			CCase *c = s->cases.items[i];
			/* a case's declarations need their own scope: without braces
			 * they would belong to the whole switch */
			bool block = false;
			for (int j = 0; j < c->body->stmts.len; j++)
				block |= ((CStmt *)c->body->stmts.items[j])->is_decl;
			print_raw_line(P, block ? arena_printf("%s {", c->label) : c->label);
			P->depth++;
			print_block(P, c->body);
			P->depth--;
			if (block)
				print_raw_line(P, "}");
		}
		print_raw_line(P, "}");
		return;
	}
}

static void print_block(Printer *P, const CBlock *b)
{
	bool after_decl = false;
	for (int i = 0; b && i < b->stmts.len; i++) {
		const CStmt *s = b->stmts.items[i];
		bool decl = s->kind == CS_LINE && s->is_decl;
		const CStmt *prev = i > 0 ? b->stmts.items[i - 1] : NULL;
		/* a copy made for a call's by-value argument stays with the
		 * call: both come from one source form */
		bool same_form = prev && prev->glued && after_decl && !decl;
		if (i > 0 && after_decl != decl && !same_form) {
			/* a blank line ends the declarations */
			sb_putc(P->out, '\n');
			if (P->line)
				P->line++;
		}
		after_decl = decl;
		print_stmt(P, s);
	}
}

static void print_function_once(Printer *P, const char *sec, const char *head, int fn_line, const CBlock *body,
				const Vec *at_end)
{
	if (sec)
		print_raw_line(P, sec);
	P->line = 0;
	P->src_start = P->src_end = 0;
	print_line(P, fn_line, head);
	print_raw_line(P, "{");
	P->depth = 1;
	print_block(P, body);
	if (at_end && at_end->len)
		put_comments(P->out, P->depth, at_end);
	P->depth = 0;
	print_raw_line(P, "}");
}

/* A function with the comments of its body (docs/emit_c.md, "Comments").
 * A first printing, thrown away, records the .va line of every statement
 * printed; then each comment finds its statement: a trailing comment the
 * last statement of its line, any other comment (or a trailing one whose
 * line produced no statement) the first statement after it when that
 * one's form starts after the comment, inside the innermost form holding
 * the comment, else the statement of that innermost form, above it; what
 * is left goes at the end of the body. */
void print_function(Printer *P, const char *sec, const char *head, int fn_line, const CBlock *body,
			   const Vec *comments)
{
	if (!comments || comments->len == 0) {
		print_function_once(P, sec, head, fn_line, body, NULL);
		return;
	}
	Vec lines = { 0 }, starts = { 0 }, ends = { 0 };
	StrBuf scratch = { 0 };
	Printer t = *P;
	t.out = &scratch;
	t.record = &lines;
	t.record_start = &starts;
	t.record_end = &ends;
	t.call = 0;
	print_function_once(&t, sec, head, fn_line, body, NULL);
	sb_free(&scratch);

	int n = lines.len;
	Vec *before = arena_alloc(sizeof(Vec) * (size_t)(n + 1));
	const Comment **trailing = arena_alloc(sizeof(Comment *) * (size_t)(n + 1));
	Vec at_end = { 0 };
	for (int i = 0; i < comments->len; i++) {
		const Comment *c = comments->items[i];
		int target = -1;
		/* call 0 is the signature: its comments went above the function */
		for (int k = 1; c->trailing && k < n; k++)
			if ((intptr_t)lines.items[k] == (intptr_t)c->line && !trailing[k])
				target = k;
		if (target > 0) {
			trailing[target] = c;
			continue;
		}
		/* the innermost statement whose form holds the comment ... */
		int holder = -1, next = -1;
		for (int k = 1; k < n; k++) {
			intptr_t line = (intptr_t)lines.items[k];
			uintptr_t end = (uintptr_t)ends.items[k];
			if (line > 0 && line <= (intptr_t)c->line && end > c->offset &&
			    (holder < 0 || end < (uintptr_t)ends.items[holder]))
				holder = k;
		}
		/* ... and the first one after it */
		for (int k = 1; k < n && next < 0; k++)
			if ((intptr_t)lines.items[k] >= (intptr_t)c->line)
				next = k;
		/* the one after it, when its form starts after the comment and
		 * inside the holder's (a comment above a clause, a binding) */
		uintptr_t next_start = next > 0 ? (uintptr_t)starts.items[next] : 0;
		if (next > 0 && next_start >= c->offset &&
		    (holder < 0 || next_start < (uintptr_t)ends.items[holder]))
			target = next;
		else
			target = holder > 0 ? holder : next;
		vec_push(target > 0 ? &before[target] : &at_end, (void *)c);
	}
	P->call = 0;
	P->before = before;
	P->trailing = trailing;
	P->ncalls = n;
	print_function_once(P, sec, head, fn_line, body, &at_end);
	P->before = NULL;
	P->trailing = NULL;
	P->ncalls = 0;
}

