/* emit_c_wrap.c - breaking a statement longer than 80 columns the way
 * clang-format 14 breaks it with the kernel's .clang-format, so that the
 * output is a fixed point of clang-format (docs/emit_c.md, "`#line` and
 * layout"); emit_c_print.c prints the statements. */
#include <ctype.h>

#include "emit_c.h"

/* ---- line breaking ----------------------------------------------------------
 *
 * The output must be a fixed point of clang-format with the kernel's
 * .clang-format (80 columns, tabs of 8, operands aligned). For the shapes
 * the emitter produces, clang-format 14 breaks a long statement like this,
 * and so do we (docs/emit_c.md has the list with its golden tests):
 *   - a binary-operator chain: after the lowest-precedence top-level
 *     operator (before a "<<"), packing greedily, continuation lines
 *     aligned with the expression's start (after "return ", "if (",
 *     "x = "), or after the "=" one indent (8 columns) deeper; an operand
 *     too long for any line broken inside where clang-format lets it
 *     (append_operands);
 *   - a call: arguments packed greedily, aligned after the "(", an
 *     argument too long for any line broken inside (append_args);
 *   - a conditional chain: see "conditional chains" below;
 *   - then one break after a call's "(" or an operator, where
 *     clang-format's penalties prefer it (see "one break" below).
 * Anything else is left long (clang-format would then rewrap it; the
 * golden tests would say so; tests/format_random.sh counts it in random
 * programs). */

static const struct {
	const char *text;
	int prec;
} c_binops[] = {
	{ " || ", PREC_LOR }, { " && ", PREC_LAND }, { " | ", PREC_BOR },   { " ^ ", PREC_BXOR },
	{ " & ", PREC_BAND }, { " == ", PREC_EQ },   { " != ", PREC_EQ },   { " <= ", PREC_REL },
	{ " >= ", PREC_REL }, { " < ", PREC_REL },   { " > ", PREC_REL },   { " << ", PREC_SHIFT },
	{ " >> ", PREC_SHIFT }, { " + ", PREC_ADD }, { " - ", PREC_ADD },   { " * ", PREC_MUL },
	{ " / ", PREC_MUL },  { " % ", PREC_MUL },
};

/* Splits expr after each top-level operator of its lowest precedence,
 * but before a "<<" (clang-format breaks before it, as before a stream
 * operator). Returns the number of pieces (0: nothing to split at);
 * pieces keep their operator. */
static int split_expr(const char *expr, Vec *pieces)
{
	int lowest = 1000;
	int depth = 0;
	size_t n = strlen(expr);
	for (size_t i = 0; i < n; i++) {
		char c = expr[i];
		if (c == '(' || c == '[')
			depth++;
		else if (c == ')' || c == ']')
			depth--;
		else if (depth == 0 && c == ' ')
			for (size_t k = 0; k < sizeof(c_binops) / sizeof(*c_binops); k++)
				if (strncmp(expr + i, c_binops[k].text, strlen(c_binops[k].text)) == 0 &&
				    c_binops[k].prec < lowest)
					lowest = c_binops[k].prec;
		if (depth == 0 && (c == '?' || c == '"'))
			return 0; /* ternaries and strings: left alone */
	}
	if (lowest == 1000)
		return 0;
	size_t start = 0;
	depth = 0;
	for (size_t i = 0; i < n; i++) {
		char c = expr[i];
		if (c == '(' || c == '[')
			depth++;
		else if (c == ')' || c == ']')
			depth--;
		else if (depth == 0 && c == ' ') {
			for (size_t k = 0; k < sizeof(c_binops) / sizeof(*c_binops); k++) {
				size_t len = strlen(c_binops[k].text);
				if (c_binops[k].prec != lowest || strncmp(expr + i, c_binops[k].text, len) != 0)
					continue;
				if (strcmp(c_binops[k].text, " << ") == 0) {
					/* the next piece starts with the operator */
					vec_push(pieces, arena_strndup(expr + start, i - start));
					start = i + 1;
				} else {
					/* piece ends with the operator, without the space after it */
					vec_push(pieces, arena_strndup(expr + start, i + len - 1 - start));
					start = i + len;
				}
				i += len - 1;
				break;
			}
		}
	}
	vec_push(pieces, arena_strdup(expr + start));
	return pieces->len;
}

/* The arguments of a call "name(a, b, c)": pieces "name(a," "b," "c)". */
static int split_call(const char *expr, Vec *pieces)
{
	const char *open = strchr(expr, '(');
	size_t n = strlen(expr);
	if (!open || expr[n - 1] != ')')
		return 0;
	for (const char *p = expr; p < open; p++)
		if (*p == ' ' || *p == '*' || *p == '&' || *p == '(')
			return 0;
	int depth = 0;
	size_t start = 0;
	for (size_t i = (size_t)(open - expr); i < n; i++) {
		char c = expr[i];
		if (c == '(' || c == '[')
			depth++;
		else if (c == ')' || c == ']') {
			if (--depth == 0 && i != n - 1)
				return 0; /* not one call */
		} else if (depth == 1 && c == ',' && expr[i + 1] == ' ') {
			vec_push(pieces, arena_strndup(expr + start, i + 1 - start));
			start = i + 2;
		}
	}
	vec_push(pieces, arena_strdup(expr + start));
	return pieces->len;
}

/* The length of the casts and unary operators in front of expr's
 * operand: "(__u32)-(__s16)" in "(__u32)-(__s16)f(x)". */
static size_t prefix_len(const char *expr)
{
	size_t at = 0;
	for (;;) {
		if (expr[at] == '!' || expr[at] == '-' || expr[at] == '~') {
			at++;
			continue;
		}
		if (expr[at] != '(' || expr[at + 1] == '(')
			return at;
		/* a cast "(T)" - no parenthesis inside - when an operand
		 * follows its ")" */
		const char *close = strchr(expr + at, ')');
		const char *open = strchr(expr + at + 1, '(');
		char next = close ? close[1] : '\0';
		if (!next || (open && open < close) ||
		    !(strchr("(!-~_", next) || (next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z')))
			return at;
		at = (size_t)(close + 1 - expr);
	}
}

/* For "(inner)" behind any casts and unary operators - "(T)(inner)",
 * "!(inner)", "(T)-(U)(inner)" - the offset of inner, else 0. */
static size_t wrapped_inner(const char *expr)
{
	size_t n = strlen(expr), at = prefix_len(expr);
	if (n < 3 || expr[n - 1] != ')' || expr[at] != '(')
		return 0;
	/* the "(" at `at` must close at the very end */
	int depth = 0;
	for (size_t i = at; i < n; i++) {
		if (expr[i] == '(')
			depth++;
		else if (expr[i] == ')' && --depth == 0 && i != n - 1)
			return 0;
	}
	return at + 1;
}

/* Pads from column `from` to column `to` as clang-format does with
 * UseTab: Always: spaces when the gap ends before the next tab stop (or is
 * one space), else a tab to that stop, tabs, then spaces. */
static void put_gap(StrBuf *out, int from, int to)
{
	int n = to - from;
	int first_tab = 8 - from % 8;
	if (n < first_tab || n == 1) {
		for (; n > 0; n--)
			sb_putc(out, ' ');
		return;
	}
	sb_putc(out, '\t');
	for (n -= first_tab; n >= 8; n -= 8)
		sb_putc(out, '\t');
	for (; n > 0; n--)
		sb_putc(out, ' ');
}

static void put_indent(StrBuf *out, int col)
{
	put_gap(out, 0, col);
}

/* The column where line's text starts (tabs to 8). */
static int indent_width(const char *line)
{
	int col = 0;
	for (; *line == '\t' || *line == ' '; line++)
		col = *line == '\t' ? (col / 8 + 1) * 8 : col + 1;
	return col;
}

/* Whether text holds a chained conditional, "c1 ? v1 : c2 ? v2 : v3" (two
 * "?" at one level of parentheses): clang-format breaks after each of its
 * ":" whenever the statement does not fit on one line (mustBreak,
 * IsChainedConditional), so text cannot stay on one line. */
static bool holds_chained_conditional(const char *text)
{
	int depth = 0, questions[32] = { 0 };
	for (; *text; text++) {
		if (*text == '\'' || *text == '"')
			return false; /* literals: left alone */
		if ((*text == '(' || *text == '[') && depth < 31)
			questions[++depth] = 0;
		else if ((*text == ')' || *text == ']') && depth > 0)
			depth--;
		else if (*text == '?' && ++questions[depth] == 2)
			return true;
	}
	return false;
}

/* The columns piece takes on its line with t after it; more than a line
 * when it holds a chained conditional, which breaks wherever it goes. */
static int piece_width(const char *piece, const char *t)
{
	if (holds_chained_conditional(piece))
		return COLUMN_LIMIT + 1;
	return (int)strlen(piece) + (int)strlen(t);
}

/* Prints text, a statement laid out on lines lines, and counts them in
 * the #line numbering. */
static void print_laid_out(Printer *P, const char *text, int lines)
{
	sb_printf(P->out, "%s\n", text);
	if (P->line)
		P->line += lines;
}

/* Appends pieces to sb greedily from column *col, continuation lines at
 * column cont_col, then tail; *col becomes the column after tail and
 * *lines counts the lines begun. Returns whether every line fits. */
static bool pack_greedy(StrBuf *sb, int *col, int cont_col, const Vec *pieces, const char *tail, int *lines)
{
	bool fits = true;
	for (int i = 0; i < pieces->len; i++) {
		const char *piece = pieces->items[i];
		int len = (int)strlen(piece) + (i + 1 == pieces->len ? (int)strlen(tail) : 0);
		if (i > 0 && *col + 1 + len > COLUMN_LIMIT) {
			sb_putc(sb, '\n');
			put_indent(sb, cont_col);
			*col = cont_col;
			(*lines)++;
		} else if (i > 0) {
			sb_putc(sb, ' ');
			(*col)++;
		}
		sb_puts(sb, piece);
		*col += (int)strlen(piece);
		if (*col + (i + 1 == pieces->len ? (int)strlen(tail) : 0) > COLUMN_LIMIT ||
		    holds_chained_conditional(piece))
			fits = false;
	}
	sb_puts(sb, tail);
	*col += (int)strlen(tail);
	return fits;
}

/* Every append_* here tries a layout into a scratch buffer of its own,
 * from column c and line count l copied from *col and *lines: when it
 * fits, the scratch text is appended to sb and c, l become *col, *lines;
 * either way the scratch buffer is freed. Returns fits. (fits is an
 * argument, not the attempt itself, so the attempt has set c and l
 * before they are read.) */
static bool keep_if_fits(StrBuf *sb, int *col, int *lines, StrBuf *scratch, int c, int l, bool fits)
{
	if (fits) {
		sb_puts(sb, scratch->data ? scratch->data : "");
		*col = c;
		*lines = l;
	}
	sb_free(scratch);
	return fits;
}

/* pack_greedy, but a "<<" chain (pieces "a", "<< b", "<< c") that does not
 * fit on one line keeps its first "<<" on the first line and aligns the
 * other lines with it where that fits, else breaks before the first "<<"
 * too (clang-format's FirstLessLess, and PenaltyBreakFirstLessLess 0 in
 * the kernel style). */
static bool pack_into(StrBuf *sb, int *col, int cont_col, const Vec *pieces, const char *tail, int *lines)
{
	int one_line = *col + (int)strlen(tail);
	for (int i = 0; i < pieces->len; i++)
		one_line += (int)strlen(pieces->items[i]) + (i > 0);
	if (pieces->len < 2 || strncmp(pieces->items[1], "<< ", 3) != 0 || one_line <= COLUMN_LIMIT)
		return pack_greedy(sb, col, cont_col, pieces, tail, lines);
	const char *first = pieces->items[0];
	Vec rest = { 0 };
	vec_push(&rest, arena_printf("%s %s", first, (const char *)pieces->items[1]));
	for (int i = 2; i < pieces->len; i++)
		vec_push(&rest, pieces->items[i]);
	StrBuf aligned = { 0 };
	int c = *col, l = *lines;
	bool fits = pack_greedy(&aligned, &c, *col + (int)strlen(first) + 1, &rest, tail, &l);
	if (keep_if_fits(sb, col, lines, &aligned, c, l, fits))
		return true;
	sb_puts(sb, first);
	fits = *col + (int)strlen(first) <= COLUMN_LIMIT;
	sb_putc(sb, '\n');
	put_indent(sb, cont_col);
	*col = cont_col;
	(*lines)++;
	rest.len = 0;
	for (int i = 1; i < pieces->len; i++)
		vec_push(&rest, pieces->items[i]);
	return pack_greedy(sb, col, cont_col, &rest, tail, lines) && fits;
}

/* Packs pieces greedily (pack_into): the first line starts at column
 * first_col after head, continuation lines at column cont_col. Fails
 * (returns false, writing nothing) when some line would not fit. */
static bool pack(Printer *P, const char *head, int first_col, int cont_col, Vec *pieces, const char *tail,
		 bool dry)
{
	StrBuf sb = { 0 };
	int col = first_col, lines = 1;
	sb_puts(&sb, head);
	bool fits = pack_into(&sb, &col, cont_col, pieces, tail, &lines);
	if (fits && !dry) {
		print_laid_out(P, sb.data, lines);
	}
	sb_free(&sb);
	return fits;
}

/* The arguments of operand, a call f(a, b) behind any casts and unary
 * operators, (__u64)-f(a, b) (split_call's pieces, what is in front of
 * f's "(" leading the first); returns the column of f's "(" in operand,
 * 0 when operand is no call. */
static int split_cast_call(const char *operand, Vec *args)
{
	size_t k = prefix_len(operand);
	const char *call = operand + k;
	if (split_call(call, args) < 1)
		return 0;
	args->items[0] = arena_printf("%.*s%s", (int)k, operand, (const char *)args->items[0]);
	return (int)k + (int)(strchr(call, '(') - call);
}

static bool append_call(StrBuf *sb, int *col, const char *operand, const char *tail, int *lines);
static bool append_conditional(StrBuf *sb, int *col, const char *expr, const char *tail, int *lines);

/* Appends arg - a piece of split_call, ending with its "," or the call's
 * ")" - then tail, broken inside as clang-format breaks an argument too
 * long for any line: a call's arguments aligned after its "(", a binary
 * chain's operands packed 8 columns deeper than its start - aligned with
 * it inside a parenthesised operand (clang-format's SkipFirstExtraIndent
 * right after a "(") - a conditional chain as a statement's
 * (append_conditional). False, appending nothing, when that does not
 * fit. */
static bool append_broken_arg(StrBuf *sb, int *col, const char *arg, const char *tail, int *lines, bool inside)
{
	size_t n = strlen(arg);
	const char *core = arena_strndup(arg, n - 1);
	const char *rest = arena_printf("%c%s", arg[n - 1], tail);
	StrBuf call = { 0 }, chain = { 0 };
	int c = *col, l = *lines;
	bool fits = append_call(&call, &c, core, rest, &l);
	if (keep_if_fits(sb, col, lines, &call, c, l, fits))
		return true;
	Vec ops = { 0 };
	c = *col;
	l = *lines;
	fits = split_expr(core, &ops) > 1 ? pack_into(&chain, &c, inside ? *col : *col + 8, &ops, rest, &l)
					  : append_conditional(&chain, &c, core, rest, &l);
	return keep_if_fits(sb, col, lines, &chain, c, l, fits);
}

/* Appends a call's arguments (split_call's pieces; what leads the call,
 * "f(", in front of the first, spans *col to align) at column *col,
 * continuation lines at column align, then tail, as clang-format 14
 * packs them (BinPackArguments): greedily; an argument too long for its
 * line on a line of its own, broken inside (append_broken_arg) where it
 * does not fit there either - the last one on the line of the one before
 * it where it can - and the argument after a broken one on a new line.
 * False, appending nothing, when that does not fit. */
static bool append_args(StrBuf *sb, int *col, int align, const Vec *args, const char *tail, int *lines)
{
	StrBuf out = { 0 };
	int c = *col, l = *lines;
	bool fits = true, new_line = false;
	for (int i = 0; i < args->len && fits; i++) {
		const char *arg = args->items[i];
		const char *t = i + 1 == args->len ? tail : "";
		int len = piece_width(arg, t);
		if (i == 0 || (!new_line && c + 1 + len <= COLUMN_LIMIT)) {
			if (i == 0 && c + len > COLUMN_LIMIT) {
				/* what leads the call ("f(") then the first argument
				 * broken */
				int lead = align - c;
				sb_printf(&out, "%.*s", lead, arg);
				c = align;
				/* a parenthesised operand, "(T)(a + b)", is no call */
				char name = lead > 1 ? arg[lead - 2] : ' ';
				bool operand = !isalnum((unsigned char)name) && name != '_';
				fits = append_broken_arg(&out, &c, arg + lead, t, &l, args->len == 1 && operand);
				new_line = true;
				continue;
			}
			sb_printf(&out, "%s%s%s", i ? " " : "", arg, t);
			c += len + (i > 0);
			continue;
		}
		if (!new_line && i + 1 == args->len && align + len > COLUMN_LIMIT) {
			/* unless that takes more lines than on a line of its own */
			StrBuf here = { 0 }, own = { 0 };
			int hc = c + 1, hl = l, oc = align, ol = l + 1;
			sb_putc(&here, ' ');
			bool here_fits = append_broken_arg(&here, &hc, arg, t, &hl, false);
			bool own_fits = append_broken_arg(&own, &oc, arg, t, &ol, false);
			sb_free(&own);
			if (keep_if_fits(&out, &c, &l, &here, hc, hl, here_fits && (!own_fits || hl <= ol)))
				continue;
		}
		sb_putc(&out, '\n');
		put_indent(&out, align);
		c = align;
		l++;
		new_line = c + len > COLUMN_LIMIT;
		if (new_line) {
			fits = append_broken_arg(&out, &c, arg, t, &l, false);
		} else {
			sb_printf(&out, "%s%s", arg, t);
			c += len;
		}
	}
	return keep_if_fits(sb, col, lines, &out, c, l, fits);
}

/* Appends operand, a call or a cast one, at column *col, then tail, its
 * arguments aligned after its "(" (append_args). False, appending
 * nothing, when that does not fit. */
static bool append_call(StrBuf *sb, int *col, const char *operand, const char *tail, int *lines)
{
	Vec args = { 0 };
	int open = split_cast_call(operand, &args);
	return open && append_args(sb, col, *col + open + 1, &args, tail, lines);
}

static int layout_penalty(const char *text, int indent);

/* A statement whose expression is a call or a cast one, in the layout of
 * fewest lines of clang-format's three: the arguments aligned after the
 * "(", or (an assignment) that after the "=" at column break_col, or the
 * arguments after the "(" at column break_col; on a tie the one after the
 * "=", then the aligned one (PenaltyBreakAssignment 10 against
 * PenaltyBreakBeforeFirstCallParameter 30), but the aligned one first
 * where only the call's own arguments break in it, which is what
 * clang-format does for the shapes seen; but the one of least penalty
 * (layout_penalty) where there is no conditional, whose breaks that does
 * not weigh as clang-format does. False, writing nothing, when none
 * fits. */
static bool print_call(Printer *P, const char *lead, int col, int break_col, bool is_assign, const char *expr,
		       const char *tail)
{
	StrBuf layout[3] = { { 0 } };
	int lines[3] = { 1, 2, 2 };
	bool fits[3] = { false, false, false };
	int c = col;
	sb_puts(&layout[0], lead);
	fits[0] = append_call(&layout[0], &c, expr, tail, &lines[0]);
	if (is_assign) {
		sb_printf(&layout[1], "%.*s\n", (int)strlen(lead) - 1, lead);
		put_indent(&layout[1], break_col);
		c = break_col;
		fits[1] = append_call(&layout[1], &c, expr, tail, &lines[1]);
	}
	/* a break after the "(" only for a call's: after a cast's ")" or a
	 * unary operator the "(" opens a parenthesised operand, which
	 * clang-format keeps on the "("'s line */
	Vec args = { 0 };
	int open = split_cast_call(expr, &args);
	bool named = open && (isalnum((unsigned char)expr[open - 1]) || expr[open - 1] == '_');
	if (named && col + open + 1 <= COLUMN_LIMIT) {
		sb_printf(&layout[2], "%s%.*s\n", lead, open + 1, expr);
		put_indent(&layout[2], break_col);
		args.items[0] = arena_strdup((const char *)args.items[0] + open + 1);
		c = break_col;
		fits[2] = append_args(&layout[2], &c, break_col, &args, tail, &lines[2]);
	}
	/* on a tie, the aligned layout rather than the one after the "="
	 * when only the call's own arguments break there: every line after
	 * the first starts at the "(" */
	bool flat = open > 0;
	for (const char *nl = strchr(layout[0].data, '\n'); nl && flat; nl = strchr(nl + 1, '\n'))
		flat = indent_width(nl + 1) == col + open + 1;
	int best = -1;
	static const int preference[2][3] = { { 1, 0, 2 }, { 0, 1, 2 } };
	for (int k = 0; k < 3; k++) {
		int i = preference[flat][k];
		if (fits[i] && (best < 0 || lines[i] < lines[best] ||
				(lines[i] == lines[best] && !strchr(expr, '?') &&
				 layout_penalty(layout[i].data, 0) < layout_penalty(layout[best].data, 0))))
			best = i;
	}
	if (best >= 0)
		print_laid_out(P, layout[best].data, lines[best]);
	for (int i = 0; i < 3; i++)
		sb_free(&layout[i]);
	return best >= 0;
}

static bool append_operands(StrBuf *sb, int *col, int cont_col, const Vec *ops, const char *tail, int *lines);

/* Appends operand piece (its operator after it) at column *col, then
 * tail, broken inside: a call's arguments aligned after its "("
 * (append_call); behind casts or unary operators too, a parenthesised
 * conditional chain from the column after its "(" (append_conditional),
 * and, unless no_chains, a parenthesised operator chain aligned after its
 * "(" (append_operands) or an operator chain of a higher precedence,
 * continued 8 columns deeper. False, appending nothing, when that does
 * not fit. */
static bool append_broken_operand(StrBuf *sb, int *col, const char *piece, const char *tail, int *lines,
				  bool no_chains)
{
	const char *space = strrchr(piece, ' ');
	const char *operand = piece;
	if (space && space[-1] == ')') {
		operand = arena_strndup(piece, (size_t)(space - piece));
		tail = arena_printf("%s%s", space, tail);
	}
	if (append_call(sb, col, operand, tail, lines))
		return true;
	size_t inner = wrapped_inner(operand);
	if (!inner) {
		/* a chain of a higher precedence: continued 8 columns deeper */
		Vec ops = { 0 };
		return !no_chains && split_expr(operand, &ops) > 1 &&
		       append_operands(sb, col, *col + 8, &ops, tail, lines);
	}
	const char *in = arena_strndup(operand + inner, strlen(operand) - inner - 1);
	const char *in_tail = arena_printf(")%s", tail);
	Vec ops = { 0 };
	StrBuf out = { 0 };
	int c = *col + (int)inner, l = *lines;
	sb_printf(&out, "%.*s", (int)inner, operand);
	bool fits = append_conditional(&out, &c, in, in_tail, &l);
	if (!fits && !no_chains)
		fits = split_expr(in, &ops) > 1 ? append_operands(&out, &c, c, &ops, in_tail, &l)
						: append_broken_operand(&out, &c, in, in_tail, &l, false);
	return keep_if_fits(sb, col, lines, &out, c, l, fits);
}

/* Appends piece, an operand of a "<<" chain ("<< b" but for the first),
 * at column *col, then tail, broken inside (append_broken_operand) after
 * its "<< ". False when that does not fit. */
static bool append_broken_shift_operand(StrBuf *sb, int *col, const char *piece, const char *tail, int *lines)
{
	int skip = strncmp(piece, "<< ", 3) == 0 ? 3 : 0;
	sb_printf(sb, "%.*s", skip, piece);
	*col += skip;
	return append_broken_operand(sb, col, piece + skip, tail, lines, false);
}

/* One layout of append_shift_operands: with first_stays, the first "<<"
 * stays on the first line, its operand broken there, and the other lines
 * align with it (clang-format's FirstLessLess); else a break before the
 * first "<<" too, continuation lines at cont_col. */
static bool layout_shift_operands(StrBuf *out, int *col, int cont_col, const Vec *ops, const char *tail,
				  int *lines, bool first_stays)
{
	bool fits = true, line_ends = false;
	for (int i = 0; i < ops->len && fits; i++) {
		const char *piece = ops->items[i];
		const char *t = i + 1 == ops->len ? tail : "";
		int len = (int)strlen(piece) + (int)strlen(t);
		if (i == 1 && first_stays && !line_ends) {
			sb_putc(out, ' ');
			cont_col = ++*col;
			if (*col + len > COLUMN_LIMIT) {
				fits = append_broken_shift_operand(out, col, piece, t, lines);
				line_ends = true;
			} else {
				sb_printf(out, "%s%s", piece, t);
				*col += len;
			}
			continue;
		}
		/* the second operand here is after a break before it */
		if (i > 1 && !line_ends && *col + 1 + len <= COLUMN_LIMIT) {
			sb_printf(out, " %s%s", piece, t);
			*col += 1 + len;
			continue;
		}
		if (i > 0) {
			sb_putc(out, '\n');
			put_indent(out, cont_col);
			*col = cont_col;
			(*lines)++;
		}
		line_ends = *col + len > COLUMN_LIMIT;
		if (line_ends) {
			fits = append_broken_shift_operand(out, col, piece, t, lines);
		} else {
			sb_printf(out, "%s%s", piece, t);
			*col += len;
		}
	}
	return fits;
}

/* Appends a "<<" chain (pieces "a", "<< b", "<< c") with an operand too
 * long for any line at column *col, continuation lines at cont_col, then
 * tail, in the layout of fewer lines of layout_shift_operands' two (on a
 * tie, the first "<<" on the first line): the "<<"s packed greedily, an
 * operand too long for its line broken inside, and the "<<" after a
 * broken operand on a new line (clang-format's mustBreak before a "<<"
 * once a parameter broke). False, appending nothing, when neither fits. */
static bool append_shift_operands(StrBuf *sb, int *col, int cont_col, const Vec *ops, const char *tail,
				  int *lines)
{
	StrBuf stays = { 0 }, breaks = { 0 };
	int stays_col = *col, stays_lines = *lines, breaks_col = *col, breaks_lines = *lines;
	bool stays_fits = layout_shift_operands(&stays, &stays_col, cont_col, ops, tail, &stays_lines, true);
	bool breaks_fits = layout_shift_operands(&breaks, &breaks_col, cont_col, ops, tail, &breaks_lines, false);
	if (stays_fits && breaks_fits && breaks_lines < stays_lines)
		stays_fits = false;
	if (keep_if_fits(sb, col, lines, &stays, stays_col, stays_lines, stays_fits)) {
		sb_free(&breaks);
		return true;
	}
	return keep_if_fits(sb, col, lines, &breaks, breaks_col, breaks_lines, breaks_fits);
}

/* Appends a binary chain with an operand too long for any line at column
 * *col, continuation lines at cont_col, then tail: operands packed
 * greedily, one too long broken inside (append_broken_operand) where
 * clang-format lets an operand break (NoLineBreakInOperand): the first
 * operand, one that starts a line, or the second of only two, a call or
 * a parenthesised conditional too long for a line of its own; the operand
 * after it starts a line, unless it follows a comparison. False,
 * appending nothing, when that does not fit. */
static bool append_operands(StrBuf *sb, int *col, int cont_col, const Vec *ops, const char *tail, int *lines)
{
	if (strncmp(ops->items[1], "<< ", 3) == 0) {
		StrBuf packed = { 0 };
		int c = *col, l = *lines;
		bool fits = pack_into(&packed, &c, cont_col, ops, tail, &l);
		return keep_if_fits(sb, col, lines, &packed, c, l, fits) ||
		       append_shift_operands(sb, col, cont_col, ops, tail, lines);
	}
	StrBuf out = { 0 };
	int cur = *col, l = *lines;
	bool fits = true, line_ends = false;
	for (int i = 0; i < ops->len && fits; i++) {
		const char *piece = ops->items[i];
		const char *t = i + 1 == ops->len ? tail : "";
		int len = piece_width(piece, t);
		if (i > 0 && !line_ends && cur + 1 + len <= COLUMN_LIMIT) {
			sb_printf(&out, " %s%s", piece, t);
			cur += 1 + len;
			continue;
		}
		if (i > 0 && !line_ends && ops->len == 2 && cont_col + len > COLUMN_LIMIT) {
			/* the second of two, a call or a conditional too long
			 * for a line of its own: broken on the first operand's
			 * line */
			int c = cur + 1, hl = l;
			StrBuf here = { 0 };
			sb_putc(&here, ' ');
			bool here_fits = append_broken_operand(&here, &c, piece, t, &hl, true);
			if (keep_if_fits(&out, &cur, &l, &here, c, hl, here_fits))
				break;
		}
		if (i > 0) {
			sb_putc(&out, '\n');
			put_indent(&out, cont_col);
			cur = cont_col;
			l++;
		}
		line_ends = false;
		if (cur + len <= COLUMN_LIMIT) {
			sb_printf(&out, "%s%s", piece, t);
			cur += len;
		} else {
			/* an operand after a comparison may follow a broken one
			 * on its line (it is no NoLineBreakInOperand operand) */
			const char *op = strrchr(piece, ' ');
			fits = append_broken_operand(&out, &cur, piece, t, &l, false);
			line_ends = !op || !strchr("=!<>", op[1]) || strcmp(op, " >>") == 0 || strcmp(op, " <<") == 0;
		}
	}
	return keep_if_fits(sb, col, lines, &out, cur, l, fits);
}

/* append_operands as a statement's expression at column col after lead.
 * Fails, writing nothing, when that does not fit. */
static bool pack_operands(Printer *P, const char *lead, int col, const Vec *ops, const char *tail)
{
	StrBuf sb = { 0 };
	int cur = col, lines = 1;
	sb_puts(&sb, lead);
	bool fits = append_operands(&sb, &cur, col, ops, tail, &lines);
	if (fits) {
		print_laid_out(P, sb.data, lines);
	}
	sb_free(&sb);
	return fits;
}

/* ---- conditional chains ----
 *
 * "c1 ? v1 : c2 ? v2 : last" that does not fit on its line. clang-format
 * 14 (BreakBeforeTernaryOperators: false) ends each line after a "?" or a
 * ":" and chooses, for each conditional, "c ? v :" on one line or "c ?"
 * with v on the next; it takes the layout with the fewest lines that
 * fits. Each condition starts at the expression's column; a value after a
 * break goes at the column of the last value that stayed on its "?"'s line
 * (8 deeper than the expression before there is one), and so does the last
 * operand. Then it aligns the "?"s of consecutive one-line conditionals,
 * and the last operand with them as if it stood 2 columns left of where it
 * is, in runs that stay within 80 columns (WhitespaceManager's
 * alignChainedConditionals and AlignTokens). Only operands that fit on
 * their lines are handled. */

/* Where the top-level "?" or ":" (c) of expr is, from `from` on, skipping
 * parentheses, literals and the ":" of a nested unparenthesised
 * conditional; -1 when there is none. */
static long find_conditional_op(const char *expr, size_t from, char c)
{
	int depth = 0, nested = 0;
	for (size_t i = from; expr[i]; i++) {
		char ch = expr[i];
		if (ch == '\'' || ch == '"') {
			for (i++; expr[i] && expr[i] != ch; i++)
				if (expr[i] == '\\' && expr[i + 1])
					i++;
			if (!expr[i])
				return -1;
		} else if (ch == '(' || ch == '[') {
			depth++;
		} else if (ch == ')' || ch == ']') {
			depth--;
		} else if (depth == 0 && ch == '?') {
			if (c == '?')
				return (long)i;
			nested++;
		} else if (depth == 0 && ch == ':' && c == ':' && nested-- == 0) {
			return (long)i;
		}
	}
	return -1;
}

/* Splits a conditional chain into its conditions and values (pieces
 * without the surrounding spaces) and its last operand. Returns the number
 * of conditionals, 0 when expr is none. */
static int split_conditional(const char *expr, Vec *conds, Vec *values, const char **last)
{
	size_t at = 0;
	for (;;) {
		long q = find_conditional_op(expr, at, '?');
		long colon = q < 0 ? -1 : find_conditional_op(expr, (size_t)q + 1, ':');
		if (q < 0 || colon < 0 || q < (long)at + 1 || expr[q - 1] != ' ' || expr[q + 1] != ' ' ||
		    expr[colon - 1] != ' ' || expr[colon + 1] != ' ')
			break;
		vec_push(conds, arena_strndup(expr + at, (size_t)q - 1 - at));
		vec_push(values, arena_strndup(expr + q + 2, (size_t)(colon - q - 3)));
		at = (size_t)colon + 2;
	}
	*last = expr + at;
	return conds->len;
}

/* One line of a conditional chain: at column col, left then, at column
 * right_col, right; aligned (align_at >= 0) by the column align_at, which
 * is right_col less `virtual_shift`. */
typedef struct {
	int col;
	const char *left;
	const char *right;
	int right_col;
	int virtual_shift;
} CondLine;

/* Shifts the aligned tokens of lines [from, to) to the column of the
 * rightmost one. */
static void align_cond_lines(CondLine *lines, int from, int to, int column)
{
	for (int i = from; i < to; i++) {
		int shift = column - (lines[i].right_col - lines[i].virtual_shift);
		lines[i].right_col += shift;
		if (!*lines[i].left)
			lines[i].col = lines[i].right_col;
	}
}

/* AlignTokens over the lines: a run of consecutive lines with an aligned
 * token is aligned while every token can reach the run's column within 80
 * columns; a line without one ends the run. */
static void align_conditionals(CondLine *lines, int n)
{
	int start = -1, min_col = 0, max_col = 0;
	for (int i = 0; i <= n; i++) {
		bool matches = i < n && lines[i].right;
		int at = matches ? lines[i].right_col - lines[i].virtual_shift : 0;
		int limit = matches ? COLUMN_LIMIT - (int)strlen(lines[i].right) : 0;
		if (start >= 0 && (!matches || at > max_col || limit < min_col)) {
			align_cond_lines(lines, start, i, min_col);
			start = -1;
		}
		if (!matches)
			continue;
		if (start < 0) {
			start = i;
			min_col = at;
			max_col = limit;
		}
		min_col = at > min_col ? at : min_col;
		max_col = limit < max_col ? limit : max_col;
	}
}

/* Lays the chain out with the conditionals whose bit is set in `broken`
 * split after their "?"; returns the number of lines, 0 when one does not
 * fit. */
static int layout_conditional(int col, const Vec *conds, const Vec *values, const char *last, const char *tail,
			      unsigned broken, CondLine *lines)
{
	int n = 0, value_col = 0;
	for (int i = 0; i < conds->len; i++) {
		const char *cond = conds->items[i];
		if (broken & (1u << i)) {
			lines[n++] = (CondLine){ col, arena_printf("%s ?", cond), NULL, 0, 0 };
			int at = value_col ? value_col : col + 8;
			lines[n++] = (CondLine){ at, arena_printf("%s :", (const char *)values->items[i]), NULL, 0, 0 };
		} else {
			int q = col + (int)strlen(cond) + 1;
			lines[n++] = (CondLine){ col, cond, arena_printf("? %s :", (const char *)values->items[i]), q, 0 };
			value_col = q + 2;
		}
	}
	int at = value_col ? value_col : col + 8;
	lines[n++] = (CondLine){ at, "", arena_printf("%s%s", last, tail), at, 2 };
	for (int i = 0; i < n; i++) {
		int end = lines[i].right ? lines[i].right_col + (int)strlen(lines[i].right)
					 : lines[i].col + (int)strlen(lines[i].left);
		if (end > COLUMN_LIMIT)
			return 0;
	}
	return n;
}

/* Appends the laid out lines, the first where the text stands, the
 * others at their columns. */
static void render_conditional(StrBuf *out, const CondLine *lines, int count)
{
	for (int i = 0; i < count; i++) {
		if (i > 0) {
			sb_putc(out, '\n');
			put_indent(out, lines[i].col);
		}
		sb_puts(out, lines[i].left);
		if (lines[i].right) {
			if (*lines[i].left)
				put_gap(out, lines[i].col + (int)strlen(lines[i].left), lines[i].right_col);
			sb_puts(out, lines[i].right);
		}
	}
}

/* Appends the conditional chain expr at column *col, then tail, in the
 * layout with the fewest breaks after a "?" (an argument's: no "=" to
 * break after). False, appending nothing, when none fits. */
static bool append_conditional(StrBuf *sb, int *col, const char *expr, const char *tail, int *lines)
{
	Vec conds = { 0 }, values = { 0 };
	const char *last;
	int n = split_conditional(expr, &conds, &values, &last);
	if (n == 0 || n > 12)
		return false;
	CondLine *laid = arena_alloc(sizeof(CondLine) * (size_t)(2 * n + 1));
	int count = 0;
	for (int k = 0; k <= n && !count; k++)
		for (unsigned broken = 0; broken < 1u << n && !count; broken++)
			if (__builtin_popcount(broken) == k)
				count = layout_conditional(*col, &conds, &values, last, tail, broken, laid);
	if (!count)
		return false;
	align_conditionals(laid, count);
	render_conditional(sb, laid, count);
	*col = laid[count - 1].right_col + (int)strlen(laid[count - 1].right);
	*lines += count - 1;
	return true;
}

/* Prints the conditional chain expr at column col after lead; false,
 * writing nothing, when no layout fits. assign_col is the column of the
 * expression on a line of its own after a statement's "=" (0: not an
 * assignment). clang-format's penalties order the layouts: every
 * conditional on one line; the whole expression on one line after the "="
 * (left to the caller: fits_after_assign); then by the number of breaks
 * after a "?", a break after the "=" counting as a little more than one. */
static bool print_conditional(Printer *P, const char *lead, int col, const char *expr, const char *tail,
			      int assign_col, bool fits_after_assign)
{
	Vec conds = { 0 }, values = { 0 };
	const char *last;
	int n = split_conditional(expr, &conds, &values, &last);
	if (n == 0 || n > 12)
		return false;
	CondLine *lines = arena_alloc(sizeof(CondLine) * (size_t)(2 * n + 1));
	int count = layout_conditional(col, &conds, &values, last, tail, 0, lines);
	bool after_assign = false;
	/* k = 2 * (breaks after a "?") + (a break after the "="), 0 done */
	for (int k = 1; k <= 2 * n + 2 && !count && !fits_after_assign; k++) {
		after_assign = k % 2 == 0;
		if (after_assign && !assign_col)
			continue;
		int breaks = after_assign ? k / 2 - 1 : (k + 1) / 2;
		for (unsigned broken = 0; broken < 1u << n && !count; broken++)
			if (__builtin_popcount(broken) == breaks)
				count = layout_conditional(after_assign ? assign_col : col, &conds, &values, last, tail,
							   broken, lines);
	}
	if (!count)
		return false;
	align_conditionals(lines, count);
	if (after_assign) {
		/* lead without its last space */
		sb_printf(P->out, "%.*s\n", (int)strlen(lead) - 1, lead);
		put_indent(P->out, lines[0].col);
	} else {
		sb_puts(P->out, lead);
	}
	render_conditional(P->out, lines, count);
	sb_putc(P->out, '\n');
	if (P->line)
		P->line += count + after_assign;
	return true;
}

/* Finds where the expression of a statement starts: after "return ",
 * "if (", "else if (", "switch (", or a top-level assignment operator;
 * *tail_len gets the length of what follows the expression (";" or ")"
 * or ") {"). */
static size_t expr_start(const char *text, size_t *tail_len, bool *is_assign)
{
	size_t n = strlen(text);
	*is_assign = false;
	*tail_len = 0;
	if (n && text[n - 1] == ';')
		*tail_len = 1;
	if (strncmp(text, "return ", 7) == 0)
		return 7;
	if (strncmp(text, "if (", 4) == 0 || strncmp(text, "} else if (", 11) == 0 ||
	    strncmp(text, "else if (", 9) == 0 || strncmp(text, "switch (", 8) == 0) {
		*tail_len = text[n - 1] == '{' ? 3 : 1;
		return strchr(text, '(') - text + 1;
	}
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		if (c == '(' || c == '[')
			depth++;
		else if (c == ')' || c == ']')
			depth--;
		else if (depth == 0 && c == '=' && i > 0 && text[i + 1] == ' ' &&
			 (text[i - 1] == ' ' || (i > 1 && text[i - 2] == ' ' && strchr("+-*/%&|^", text[i - 1])) ||
			  (i > 2 && text[i - 3] == ' ' && (text[i - 1] == '<' || text[i - 1] == '>')))) {
			*is_assign = true;
			return i + 2;
		}
	}
	return 0;
}

/* A statement's text in three: what comes before its expression (head,
 * "x = ", "if ("), the expression, and what follows it (tail, ";"). */
typedef struct Statement {
	const char *head, *expr, *tail;
	size_t start; /* the expression's offset in the text */
	bool is_assign;
} Statement;

static Statement split_statement(const char *text)
{
	Statement st;
	size_t tail_len;
	st.start = expr_start(text, &tail_len, &st.is_assign);
	size_t n = strlen(text);
	st.head = arena_strndup(text, st.start);
	st.expr = arena_strndup(text + st.start, n - st.start - tail_len);
	st.tail = text + n - tail_len;
	return st;
}

/* Prints lead, whose last line ends at column col (lines lines in all),
 * then the operand expr broken inside (append_broken_operand), then tail;
 * false, writing nothing, when that does not fit. */
static bool print_broken_operand(Printer *P, const char *lead, int col, int lines, const char *expr,
				 const char *tail)
{
	StrBuf sb = { 0 };
	sb_puts(&sb, lead);
	bool fits = append_broken_operand(&sb, &col, expr, tail, &lines, false);
	if (fits) {
		print_laid_out(P, sb.data, lines);
	}
	sb_free(&sb);
	return fits;
}

/* Whether a statement's head (expr_start) opens an if's condition, which
 * clang-format treats as a call's second argument (a switch's not): a
 * call's arguments after a break after its "(" go 8 columns deeper than
 * the condition, not than the statement. */
static bool is_if_condition(const char *head)
{
	return strncmp(head, "if (", 4) == 0 || strncmp(head, "} else if (", 11) == 0 ||
	       strncmp(head, "else if (", 9) == 0;
}

/* "extern __u32 f(struct xdp_md *, __u32)": a declaration, which breaks
 * like a signature, not like a call: a type, then a name and a list. */
static bool is_prototype(const char *expr)
{
	const char *open = strchr(expr, '(');
	const char *space = strchr(expr, ' ');
	return open && space && space < open && strncmp(expr, "return ", 7) != 0;
}

/* ---- one break, where clang-format's penalties prefer it ----
 *
 * clang-format 14 chooses among layouts by penalty (its optimizing line
 * formatter), not by lines: one break after the "(" of a call nested in
 * an operand or argument, "found = bpf_map_lookup_elem(\n&m, &k) != NULL",
 * or after an operator inside parentheses, "a + (b -\nc)", can cost less
 * than two elsewhere. The layouts above are tried first; then a layout of
 * one break replaces theirs where clang-format's penalties (as estimated
 * by layout_penalty) make it cheaper. */

/* clang-format's prec::Level of the binary operator op (len bytes): the
 * C precedence of c_binops, one more from shifts on (its prec::Spaceship
 * comes between), PREC_ASSIGN for an assignment; 0 when op is none. */
static int operator_precedence(const char *op, size_t len)
{
	for (size_t k = 0; k < sizeof(c_binops) / sizeof(*c_binops); k++)
		if (strlen(c_binops[k].text) == len + 2 && strncmp(op, c_binops[k].text + 1, len) == 0)
			return c_binops[k].prec + (c_binops[k].prec >= PREC_SHIFT);
	bool assignment = len >= 1 && op[len - 1] == '=';
	for (size_t i = 0; i + 1 < len && assignment; i++)
		assignment = strchr("+-*/%&|^<>", op[i]) != NULL;
	return assignment && len <= 3 ? PREC_ASSIGN : 0;
}

/* clang-format's penalty for a statement laid out as text (its lines
 * after the first start with their indentation) at column indent, as
 * ContinuationIndenter and TokenAnnotator::splitPenalty count it for the
 * breaks this file makes: per break 20 for each parenthesis open around
 * it, plus 1 after a "," or before a "<<", 19 or 30 after a call's "(" of
 * one or more arguments, 3 after a "?" or ":", 10 after an assignment,
 * the operator's precedence after a binary one; 15 for the first break
 * inside each parenthesis and operator level; 100 for each column past
 * 80. */
static int layout_penalty(const char *text, int indent)
{
	int penalty = 0, depth = 0, col = indent;
	int open_at[64] = { -1 };
	int seen[64], nseen = 0;
	const char *line_start = text;
	for (const char *c = text;; c++) {
		if (*c == '\n' || !*c) {
			if (col > COLUMN_LIMIT)
				penalty += 100 * (col - COLUMN_LIMIT);
		}
		if (!*c)
			return penalty;
		if (*c == '(' || *c == '[') {
			if (depth < 63)
				open_at[++depth] = (int)(c - text);
		} else if ((*c == ')' || *c == ']') && depth > 0) {
			depth--;
		}
		if (*c != '\n') {
			col = *c == '\t' ? (col / 8 + 1) * 8 : col + 1;
			continue;
		}
		/* the break: what ends this line, what starts the next */
		const char *end = c;
		while (end > line_start && end[-1] == ' ')
			end--;
		const char *word = end;
		while (word > line_start && word[-1] != ' ' && word[-1] != '\t')
			word--;
		const char *next = c + 1;
		while (*next == '\t' || *next == ' ')
			next++;
		int split, level;
		if (strncmp(next, "<< ", 3) == 0) {
			split = 1, level = PREC_SHIFT + 1;
		} else if (end[-1] == '(') {
			/* one argument unless a "," at its level follows */
			int d = 0;
			bool several = false;
			for (const char *a = c; *a && d >= 0 && !several; a++) {
				if (*a == '(' || *a == '[')
					d++;
				else if (*a == ')' || *a == ']')
					d--;
				else if (*a == ',' && d == 0)
					several = true;
			}
			split = several ? 30 : 19, level = 0;
		} else if (end[-1] == ',') {
			split = 1, level = PREC_COMMA;
		} else if (end - word == 1 && (*word == '?' || *word == ':')) {
			split = PREC_COND, level = PREC_COND;
		} else {
			level = operator_precedence(word, (size_t)(end - word));
			split = level == PREC_ASSIGN ? 10 : level ? level : 3;
		}
		penalty += split + 20 * (1 + depth);
		int key = (depth ? open_at[depth] : -1) * 32 + level;
		bool first = true;
		for (int k = 0; k < nseen && first; k++)
			first = seen[k] != key;
		if (first && nseen < 64) {
			seen[nseen++] = key;
			penalty += 15;
		}
		line_start = c + 1;
		col = 0;
	}
}

/* The level of the separator at expr[i] - a ", " or a " op " - and its
 * length with its spaces (*len): PREC_COMMA, PREC_COND for ":", 0 for
 * "?", else the operator's (operator_precedence); -1 when there is
 * none. */
static int separator_at(const char *expr, size_t i, size_t *len)
{
	if (expr[i] == ',' && expr[i + 1] == ' ') {
		*len = 2;
		return PREC_COMMA;
	}
	if (expr[i] != ' ')
		return -1;
	size_t k = i + 1;
	while (expr[k] && strchr("|&^=!<>+-*/%?:", expr[k]))
		k++;
	if (k == i + 1 || expr[k] != ' ')
		return -1;
	*len = k - i + 1;
	if (k - i - 1 == 1 && (expr[i + 1] == '?' || expr[i + 1] == ':'))
		return expr[i + 1] == '?' ? 0 : PREC_COND;
	int level = operator_precedence(expr + i + 1, k - i - 1);
	return level ? level : -1;
}

/* How many separators of the given level stand at the top level of
 * expr[from, to). */
static int count_separators(const char *expr, size_t from, size_t to, int level)
{
	int count = 0, depth = 0;
	for (size_t i = from; i < to; i++) {
		size_t len;
		if (expr[i] == '(' || expr[i] == '[')
			depth++;
		else if (expr[i] == ')' || expr[i] == ']')
			depth--;
		else if (depth == 0 && separator_at(expr, i, &len) == level)
			count++, i += len - 1;
	}
	return count;
}

/* Where the parenthesis opened at expr[open] closes (strlen(expr) when it
 * does not). */
static size_t closing_paren(const char *expr, size_t open)
{
	int depth = 0;
	size_t i = open;
	for (; expr[i]; i++) {
		if (expr[i] == '(' || expr[i] == '[')
			depth++;
		else if ((expr[i] == ')' || expr[i] == ']') && --depth == 0)
			break;
	}
	return i;
}

/* A separator passed at a level of one_break_layout, still enclosing
 * what follows (none of a lower precedence came after it). */
typedef struct {
	int level;      /* separator_at's */
	int separators; /* how many of its level the level holds */
	int operand;    /* the column of the operand after it */
} Separator;

/* One parenthesis level of one_break_layout: its text, its column, the
 * LastSpace it inherits, and the separators passed that still enclose
 * what follows, innermost last. */
typedef struct {
	size_t from, to;
	int col;
	int inherited;
	Separator enclosing[16];
	int n;
} OperandLevel;

/* A level from expr[from, to), at column col: a list of arguments or a
 * chain of operators starts clang-format's fake parenthesis there, which
 * moves the LastSpace inherited to col when that is further right. */
static OperandLevel operand_level(const char *expr, size_t from, size_t to, int inherited, int col)
{
	OperandLevel lv = { from, to, col, inherited, { { 0 } }, 0 };
	for (int level = PREC_COMMA; level <= PREC_MUL + 1; level++)
		if (level != PREC_ASSIGN && level != PREC_COND && count_separators(expr, from, to, level) > 0)
			lv.inherited = col > inherited ? col : inherited;
	return lv;
}

/* clang-format's LastSpace at lv: the operand after the innermost
 * separator, else what the level inherits. */
static int last_space(const OperandLevel *lv)
{
	return lv->n ? lv->enclosing[lv->n - 1].operand : lv->inherited;
}

/* Passes a separator of the given level at lv: it closes the chains of
 * the same or a higher precedence. */
static void pass_separator(OperandLevel *lv, const char *expr, int level, int operand)
{
	while (lv->n && lv->enclosing[lv->n - 1].level >= level)
		lv->n--;
	if (lv->n < 16)
		lv->enclosing[lv->n++] =
			(Separator){ level, count_separators(expr, lv->from, lv->to, level), operand };
}

/* Whether a break may come inside the operand after separator s on its
 * line: clang-format's NoLineBreakInOperand forbids it after a "," or a
 * binary operator, but an assignment or a relational one, that is not
 * the only one of two operands, and always after a ":". */
static bool operand_may_break(const Separator *s)
{
	return s->level <= 0 || s->level == PREC_ASSIGN || s->level == PREC_REL ||
	       (s->level != PREC_COND && s->separators == 1);
}

/* Whether every separator enclosing the operands of levels [0, depth]
 * lets a break come inside them, those of level depth only below the
 * precedence `below`. */
static bool levels_may_break(const OperandLevel *lv, int depth, int below)
{
	for (int d = 0; d <= depth; d++)
		for (int k = 0; k < lv[d].n; k++)
			if ((d < depth || lv[d].enclosing[k].level < below) && !operand_may_break(&lv[d].enclosing[k]))
				return false;
	return true;
}

/* Whether what follows a break, expr from `from` on, makes clang-format
 * break again: a separator of a precedence below `below` at the break's
 * level, or any at a level around it, but a comparison or an assignment
 * (mustBreak once a parameter broke: BreakBeforeParameter). */
static bool breaks_again(const char *expr, size_t from, int below)
{
	int depth = 0;
	for (size_t i = from; expr[i]; i++) {
		size_t len;
		if (expr[i] == '(' || expr[i] == '[') {
			depth++;
		} else if (expr[i] == ')' || expr[i] == ']') {
			if (depth-- == 0)
				depth = 0, below = 1000; /* a level around it */
		} else if (depth == 0) {
			int level = separator_at(expr, i, &len);
			if (level >= 0 && level < below && level != PREC_ASSIGN && level != PREC_EQ && level != PREC_REL)
				return true;
		}
	}
	return false;
}

/* Keeps expr broken after expr[at - 1], the rest from expr[resume] on
 * then tail on a line at column second, in *best when it fits and costs
 * less. */
static void consider_break(const char **best, int *best_penalty, const char *expr, size_t at, size_t resume,
			   const char *tail, int col, int second)
{
	const char *rest = arena_printf("%s%s", expr + resume, tail);
	if (col + (int)at > COLUMN_LIMIT || second + (int)strlen(rest) > COLUMN_LIMIT)
		return;
	StrBuf sb = { 0 };
	sb_printf(&sb, "%.*s\n", (int)at, expr);
	put_indent(&sb, second);
	sb_puts(&sb, rest);
	const char *laid = arena_strdup(sb.data);
	sb_free(&sb);
	int penalty = layout_penalty(laid, col);
	if (!*best || penalty < *best_penalty) {
		*best = laid;
		*best_penalty = penalty;
	}
}

/* The layouts with one break in expr, a statement's expression starting
 * at column col, then tail: after the "(" of a call, the rest at
 * clang-format's continuation column (LastSpace + 8: the start of the
 * innermost operand or argument around the call, else base_col), or
 * after a binary operator, the rest aligned with the start of its chain.
 * NULL when none gives two lines that fit where clang-format may break
 * and breaks no more; else the one of least penalty, from expr on. */
static const char *one_break_layout(const char *expr, const char *tail, int col, int base_col)
{
	enum { MAX_DEPTH = 32 };
	OperandLevel lv[MAX_DEPTH];
	int depth = 0;
	size_t n = strlen(expr);
	const char *best = NULL;
	int best_penalty = 0;
	if (holds_chained_conditional(expr))
		return NULL; /* it breaks after each ":" */
	lv[0] = operand_level(expr, 0, n, base_col - 8, col);
	for (size_t i = 0; i < n; i++) {
		char c = expr[i];
		int here = col + (int)i;
		size_t len;
		if (c == '\'' || c == '"')
			return NULL; /* literals: left alone */
		if (c == ')' || c == ']') {
			depth -= depth > 0;
			continue;
		}
		if (c != '(' && c != '[') {
			int level = separator_at(expr, i, &len);
			if (level < 0)
				continue;
			if (level == PREC_ASSIGN && depth == 0) {
				i += len - 1;
				continue;
			}
			/* after a binary operator but "<<" (broken before) */
			if (level >= PREC_LOR && strncmp(expr + i, " << ", 4) != 0 &&
			    levels_may_break(lv, depth, level) && !breaks_again(expr, i + len, level)) {
				OperandLevel chain = lv[depth];
				while (chain.n && chain.enclosing[chain.n - 1].level >= level)
					chain.n--;
				/* aligned with the chain's start, but 8 columns deeper
				 * than it after an operator or a "," (clang-format's
				 * SkipFirstExtraIndent only right after a "(") */
				bool listed = count_separators(expr, lv[depth].from, lv[depth].to, PREC_COMMA) > 0;
				int second = chain.n ? chain.enclosing[chain.n - 1].operand + 8
						     : lv[depth].col + (listed ? 8 : 0);
				consider_break(&best, &best_penalty, expr, i + len - 1, i + len, tail, col, second);
			}
			pass_separator(&lv[depth], expr, level, here + (int)len);
			i += len - 1;
			continue;
		}
		if (depth + 1 >= MAX_DEPTH)
			return NULL;
		bool may = levels_may_break(lv, depth, 1000);
		size_t close = closing_paren(expr, i);
		int around = last_space(&lv[depth]);
		depth++;
		lv[depth] = operand_level(expr, i + 1, close, around, here + 1);
		bool call = c == '(' && i > 0 && (isalnum((unsigned char)expr[i - 1]) || expr[i - 1] == '_');
		if (call && may && !breaks_again(expr, close + 1, 1000))
			consider_break(&best, &best_penalty, expr, i + 1, i + 1, tail, col, around + 8);
	}
	return best;
}

/* Breaks text as print_text does, with the layouts above but those of
 * one_break_layout. */
static void print_wrapped(Printer *P, const char *text)
{
	int indent = P->depth * 8;
	if (indent + (int)strlen(text) > COLUMN_LIMIT && !strchr(text, '\n')) {
		Statement st = split_statement(text);
		size_t start = st.start, tail_len = strlen(st.tail);
		bool is_assign = st.is_assign;
		const char *head = st.head, *expr = st.expr, *tail = st.tail;
		Vec ops = { 0 }, args = { 0 };
		int nops = split_expr(expr, &ops);
		size_t inner = nops > 1 ? 0 : wrapped_inner(expr);
		if (inner) {
			/* (__u32)(a + b): break inside the parentheses, aligned
			 * after the "(" */
			Vec inner_ops = { 0 };
			const char *in = arena_strndup(expr + inner, strlen(expr) - inner - 1);
			if (split_expr(in, &inner_ops) > 1) {
				StrBuf lead = { 0 };
				for (int i = 0; i < P->depth; i++)
					sb_putc(&lead, '\t');
				sb_printf(&lead, "%s%.*s", head, (int)inner, expr);
				int c0 = indent + (int)start + (int)inner;
				const char *t = arena_printf(")%s", tail);
				bool ok = pack_operands(P, lead.data, c0, &inner_ops, t);
				sb_free(&lead);
				if (ok)
					return;
			}
		}
		int nargs = nops ? 0 : split_call(expr, &args);
		StrBuf lead = { 0 };
		for (int i = 0; i < P->depth; i++)
			sb_putc(&lead, '\t');
		sb_puts(&lead, head);
		const char *lead_s = lead.data;
		int col = indent + (int)start;
		bool done = false;
		bool fits_after_assign = is_assign && indent + 8 + (int)strlen(expr) + (int)tail_len <= COLUMN_LIMIT;
		/* a break after a call's "(": one indent deeper than the
		 * statement, but 8 columns deeper than an if's condition */
		int break_col = is_if_condition(head) ? col + 8 : indent + 8;
		if (nops == 0 &&
		    print_conditional(P, lead_s, col, expr, tail, is_assign ? indent + 8 : 0, fits_after_assign)) {
			sb_free(&lead);
			return;
		}
		if (nops > 1) {
			/* an arithmetic chain (+ - * / %) rather breaks after the
			 * "=" than at an operator */
			const char *op = strrchr(ops.items[0], ' ');
			bool arithmetic = op && op[1] && strchr("+-*/%", op[1]) && !op[2];
			if (!(arithmetic && fits_after_assign) && pack(P, lead_s, col, col, &ops, tail, true)) {
				done = pack(P, lead_s, col, col, &ops, tail, false);
			} else if (is_assign) {
				/* "x =" then the expression one indent deeper */
				const char *h = arena_printf("%.*s\n", (int)(strlen(lead_s) - 1), lead_s);
				StrBuf sb = { 0 };
				sb_puts(&sb, h);
				put_indent(&sb, indent + 8);
				if (pack(P, sb.data, indent + 8, indent + 8, &ops, tail, true)) {
					done = pack(P, sb.data, indent + 8, indent + 8, &ops, tail, false);
					if (done && P->line)
						P->line++;
				}
				sb_free(&sb);
			}
		} else if (nops == 0 && start == 0 && (tail_len == 0 || is_prototype(expr)) && strchr(expr, '(') &&
			   strchr(expr, ' ') &&
			   strchr(expr, ' ') < strchr(expr, '(') && expr[strlen(expr) - 1] == ')') {
			/* a function signature: parameters aligned after the "(" that
			 * opens them, the one matching the final ")" */
			int depth = 0;
			const char *o = expr + strlen(expr) - 1;
			for (; o > expr; o--) {
				if (*o == ')')
					depth++;
				else if (*o == '(' && --depth == 0)
					break;
			}
			const char *name_start = o;
			while (name_start > expr && name_start[-1] != ' ' && name_start[-1] != '*')
				name_start--;
			Vec params = { 0 };
			split_call(name_start, &params);
			if (params.len > 1) {
				/* the first piece gets the whole head */
				params.items[0] = arena_printf("%.*s%s", (int)(name_start - expr), expr,
							       (const char *)params.items[0]);
				done = pack(P, lead_s, col, indent + (int)(o + 1 - expr), &params, tail, false);
			}
		} else if (nargs >= 1) {
			if (is_assign && indent + 8 + (int)strlen(expr) + (int)tail_len <= COLUMN_LIMIT) {
				sb_printf(P->out, "%.*s\n", (int)(strlen(lead_s) - 1), lead_s);
				put_indent(P->out, indent + 8);
				sb_printf(P->out, "%s%s\n", expr, tail);
				if (P->line)
					P->line += 2;
				done = true;
			} else {
				done = print_call(P, lead_s, col, break_col, is_assign, expr, tail);
			}
		}
		if (!done && nops <= 1 && is_assign && indent + 8 + (int)strlen(expr) + (int)tail_len <= COLUMN_LIMIT) {
			/* one operand that is no plain call, (__u32)f(a, b):
			 * clang-format breaks after the "=" when that fits */
			sb_printf(P->out, "%.*s\n", (int)(strlen(lead_s) - 1), lead_s);
			put_indent(P->out, indent + 8);
			sb_printf(P->out, "%s%s\n", expr, tail);
			if (P->line)
				P->line += 2;
			done = true;
		}
		if (!done && nops <= 1 && strchr("(!-~", expr[0])) {
			/* (__u64)f(a, b) that does not fit after the "=" either
			 * (deep in a block): clang-format aligns the arguments
			 * after f's "(" */
			done = print_call(P, lead_s, col, break_col, is_assign, expr, tail);
			/* (__s32)(-f(a, b)): broken inside the parentheses */
			if (!done)
				done = print_broken_operand(P, lead_s, col, 1, expr, tail);
		}
		if (!done && nops <= 1 && is_assign && strchr("(!-~", expr[0])) {
			/* (__u32)(f(a, b) << 3) that breaks inside on the "="'s
			 * line neither: after the "=", broken inside there */
			StrBuf sb = { 0 };
			sb_printf(&sb, "%.*s\n", (int)(strlen(lead_s) - 1), lead_s);
			put_indent(&sb, indent + 8);
			done = print_broken_operand(P, sb.data, indent + 8, 2, expr, tail);
			sb_free(&sb);
		}
		if (!done && nops > 1) {
			/* tmp + (__u64)f(a, b): f's arguments aligned after its
			 * "(" */
			done = pack_operands(P, lead_s, col, &ops, tail);
			if (!done && is_assign) {
				StrBuf sb = { 0 };
				sb_printf(&sb, "%.*s\n", (int)(strlen(lead_s) - 1), lead_s);
				put_indent(&sb, indent + 8);
				done = pack_operands(P, sb.data, indent + 8, &ops, tail);
				if (done && P->line)
					P->line++;
				sb_free(&sb);
			}
		}
		sb_free(&lead);
		if (done)
			return;
	}
	print_raw_line(P, text);
}

/* text, the statement print_wrapped printed as wrapped (its lines, each
 * with its newline), laid out instead with one break inside its
 * expression (one_break_layout), when clang-format would find that
 * cheaper; NULL when not. */
static const char *cheaper_one_break(const Printer *P, const char *text, const char *wrapped)
{
	int indent = P->depth * 8;
	Statement st = split_statement(text);
	if ((st.start == 0 && is_prototype(st.expr)) || strncmp(st.head, "switch (", 8) == 0)
		return NULL;
	int col = indent + (int)st.start;
	const char *laid = one_break_layout(st.expr, st.tail, col, is_if_condition(st.head) ? col + 8 : indent + 8);
	if (!laid)
		return NULL;
	StrBuf sb = { 0 };
	for (int i = 0; i < P->depth; i++)
		sb_putc(&sb, '\t');
	sb_printf(&sb, "%s%s", st.head, laid);
	const char *candidate = arena_strdup(sb.data);
	sb_free(&sb);
	const char *current = arena_strndup(wrapped, strlen(wrapped) - 1);
	return layout_penalty(candidate, 0) < layout_penalty(current, 0) ? candidate : NULL;
}

void print_text(Printer *P, const char *text)
{
	if (P->depth * 8 + (int)strlen(text) <= COLUMN_LIMIT || strchr(text, '\n')) {
		print_raw_line(P, text);
		return;
	}
	StrBuf *out = P->out;
	StrBuf wrapped = { 0 };
	long line = P->line;
	P->out = &wrapped;
	print_wrapped(P, text);
	P->out = out;
	const char *cheaper = cheaper_one_break(P, text, wrapped.data);
	if (cheaper) {
		sb_printf(out, "%s\n", cheaper);
		if (line)
			P->line = line + 2;
	} else {
		sb_puts(out, wrapped.data);
	}
	sb_free(&wrapped);
}
