/* parser.c - S-expressions to the AST (LANGUAGE.md sections 3, 4 and 6).
 *
 * Recursive descent over the reader's trees, one function per form with
 * its grammar in a comment above it (Lua's lparser.c style). Notation:
 * '(' and '[' are lists and vectors, NAME a symbol, KW a keyword, {x} zero
 * or more, [x] optional.
 *
 * What is decided here and what is left to the checker: the parser checks
 * the shape of every form (arity, which elements are names, types,
 * vectors), the spelling of types, program kinds and map types, and the
 * defmap numbers. Names, scopes and types of expressions are the
 * checker's. Record type names become placeholders (see vbpf2c.h).
 *
 * Recovery: an error inside a top-level form is reported, the rest of that
 * form is still parsed (so two mistakes in one defn are both reported),
 * and the form is left out of the module. The caller should not run the
 * checker after syntax errors: references to a left-out defn would only
 * produce follow-on errors. */
#include <ctype.h>
#include <string.h>

#include "vbpf2c.h"

enum { MAX_PARAMS = 5, RINGBUF_PAGE_SIZE = 4096 };

/* cond and the threading macros nest one level per clause or step once
 * expanded; the reader limits written nesting to 256, and this keeps the
 * expanded trees within what the recursive checker and emitter handle. */
enum { MAX_EXPANSION = 1000 };

typedef struct Parser {
	const SourceFile *file;
	Module *m;
	Span first_program;     /* where the first (program ...) was */
	bool seen_program;
	Span first_license;
	bool seen_license;
	bool drop_bodies;       /* parse_file_declarations: parse each defn
	                         * body for its errors, then let it go */
} Parser;

static Node *parse_expr(Parser *p, Sexp *s);

/* The reader's vocabulary (reader_set_vocabulary): the special forms,
 * then the top-level forms; a Sexp's word says which one it is. */
static void set_vocabulary(void);
/* The BinOp of vocabulary word i, or -1 (set_vocabulary fills it). */
enum { MAX_VOCABULARY = 96 };
static signed char word_binop[MAX_VOCABULARY];

/* ---- small helpers ---------------------------------------------------- */

static Node *new_node(NodeKind kind, Span span)
{
	Node *n = arena_alloc_transient(sizeof(*n));
	n->kind = kind;
	n->span = span;
	return n;
}

static bool is_symbol(const Sexp *s, const char *text)
{
	return s && s->kind == SX_SYMBOL && !strcmp(s->text, text);
}

/* Is text "true" or "false"? Asked of every name, so the first byte
 * settles it for almost all of them without a strcmp. */
static bool is_bool_name(const char *text)
{
	return (text[0] == 't' && !strcmp(text, "true")) || (text[0] == 'f' && !strcmp(text, "false"));
}

static bool is_keyword(const Sexp *s, const char *text)
{
	return s && s->kind == SX_KEYWORD && !strcmp(s->text, text);
}

/* A short rendering of s for messages: `foo`, `:u64`, `(List :u64)`.
 * Long or deep forms are cut with "...". */
static void render_into(StrBuf *sb, const Sexp *s, int depth)
{
	switch (s->kind) {
	case SX_INT:
		if (s->negative)
			sb_printf(sb, "-%llu", (unsigned long long)(0 - s->value));
		else
			sb_printf(sb, "%llu", (unsigned long long)s->value);
		return;
	case SX_FLOAT:
	case SX_SYMBOL:
		sb_printf(sb, "%.40s%s", s->text, strlen(s->text) > 40 ? "..." : "");
		return;
	case SX_KEYWORD:
		sb_printf(sb, ":%.40s%s", s->text, strlen(s->text) > 40 ? "..." : "");
		return;
	case SX_STRING:
		sb_putc(sb, '"');
		for (size_t i = 0; s->text[i] && i < 24; i++) {
			unsigned char c = (unsigned char)s->text[i];
			if (c == '\n' || c == '\t' || c == '\r' || c == '"' || c == '\\')
				sb_printf(sb, "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : c);
			else
				sb_putc(sb, c < 0x20 || c == 0x7f ? '?' : (char)c);
		}
		sb_puts(sb, strlen(s->text) > 24 ? "...\"" : "\"");
		return;
	case SX_LIST:
	case SX_VECTOR:
		break;
	}
	bool list = s->kind == SX_LIST;
	sb_putc(sb, list ? '(' : '[');
	if (depth >= 2 && s->nitems) {
		sb_puts(sb, "...");
	} else {
		for (int i = 0; i < s->nitems; i++) {
			if (i)
				sb_putc(sb, ' ');
			if (i == 4 || sb->len > 60) {
				sb_puts(sb, "...");
				break;
			}
			render_into(sb, s->items[i], depth + 1);
		}
	}
	sb_putc(sb, list ? ')' : ']');
}

static const char *render(const Sexp *s)
{
	StrBuf sb = { 0 };
	render_into(&sb, s, 0);
	const char *text = arena_strndup(sb.data, sb.len);
	sb_free(&sb);
	return text;
}

/* The span just past the end of a list's last element, for "missing X"
 * errors: it points at the closing delimiter. */
static Span closing_span(const Sexp *list)
{
	Span s = list->span;
	s.offset = list->span.offset + list->span.len - 1;
	s.len = 1;
	/* Lists may span lines: recompute line and column of the closer. */
	const char *text = list->span.file->text;
	uint32_t line = list->span.line;
	uint32_t line_start = list->span.offset - (list->span.col - 1);
	for (uint32_t i = list->span.offset; i < s.offset; i++) {
		if (text[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	}
	s.line = line;
	s.col = s.offset - line_start + 1;
	return s;
}

/* A name that can be bound or declared: a symbol other than true/false. */
static const char *expect_name(const Sexp *s, const char *what)
{
	if (s->kind == SX_SYMBOL && !is_bool_name(s->text))
		return s->text;
	diag_error(s->span, "expected %s, found `%s`", what, render(s));
	return NULL;
}

/* bpf:name and bpf/name are one qualified name; store "bpf/name". */
static const char *normalise_qualified(const char *name)
{
	const char *colon = strchr(name, ':');
	if (!colon || colon == name || !colon[1] || strchr(name, '/'))
		return name;
	char *copy = arena_strdup(name);
	copy[colon - name] = '/';
	return copy;
}

/* ---- types ------------------------------------------------------------ */

enum {
	TYPE_ALLOW_UNIT = 1,   /* return types */
	TYPE_ALLOW_BARE = 2,   /* defmap key/value: u32 as well as :u32 */
};

/* Types of other Vaisto dialects, rejected by name (LANGUAGE.md 2, 8). */
static const char *const unsupported_types[] = {
	"int", "float", "num", "string", "any", "f64", "f32", "atom", "list", "map",
	"tuple", "binary", "char", "pid", "fun",
};

/* type = KW   (':u32', ':U32', ':bool', ':unit', ':RecordName') */
static Type *parse_type(Sexp *s, int flags)
{
	if (s->kind == SX_LIST) {
		diag_error(s->span, "type %s is not supported in BPF modules", render(s));
		diag_hint("BPF types are :u8 ... :u64, :i8 ... :i64, :bool and records "
			  "declared with deftype");
		return NULL;
	}
	bool bare = s->kind == SX_SYMBOL && (flags & TYPE_ALLOW_BARE);
	if (s->kind != SX_KEYWORD && !bare) {
		diag_error(s->span, "expected a type like :u64, found `%s`", render(s));
		return NULL;
	}
	const char *name = s->text;
	Type *t = type_int_by_name(name);
	if (t)
		return t;
	if (!strcmp(name, "bool"))
		return ty_bool;
	if (!strcmp(name, "unit")) {
		if (flags & TYPE_ALLOW_UNIT)
			return ty_unit;
		diag_error(s->span, "type :unit is only allowed as a return type");
		return NULL;
	}
	/* :k/NAME, a kernel struct (LANGUAGE.md 11): resolved by the checker */
	if ((name[0] >= 'A' && name[0] <= 'Z') || (strncmp(name, "k/", 2) == 0 && name[2])) {
		t = arena_alloc(sizeof(*t));
		t->kind = TY_RECORD;
		t->name = name;
		t->span = s->span;
		return t;
	}
	/* (none of these is a record's name: all lower case) */
	for (size_t i = 0; i < sizeof(unsupported_types) / sizeof(unsupported_types[0]); i++) {
		if (!strcmp(name, unsupported_types[i])) {
			diag_error(s->span, "type :%s is not supported in BPF modules", name);
			diag_hint("BPF types are :u8 ... :u64, :i8 ... :i64, :bool and records "
				  "declared with deftype");
			return NULL;
		}
	}
	diag_error(s->span, "unknown type :%s", name);
	diag_hint("BPF types are :u8 ... :u64, :i8 ... :i64, :bool and records declared "
		  "with deftype");
	return NULL;
}

/* field-type = type | '[' type INT ']'   (an array field, LANGUAGE.md 10.9:
 * [:u8 16]; integer elements, 1 ... 4096 of them) */
static Type *parse_array_type(Sexp *s, int *len)
{
	*len = 0;
	if (s->kind != SX_VECTOR)
		return parse_type(s, 0);
	if (s->nitems != 2 || s->items[1]->kind != SX_INT) {
		diag_error(s->span, "an array field is written [:u8 16]: an element type and a length");
		return NULL;
	}
	Type *t = parse_type(s->items[0], 0);
	Sexp *n = s->items[1];
	if (t && t->kind != TY_INT) {
		diag_error(s->items[0]->span, "array elements must be integers, not %s", render(s->items[0]));
		return NULL;
	}
	if (n->negative || n->value == 0 || n->value > 4096) {
		diag_error(n->span, "an array field has 1 ... 4096 elements, not %s", render(n));
		return NULL;
	}
	*len = (int)n->value;
	return t;
}

/* ---- expressions ------------------------------------------------------ */

/* body = expr {expr}: one node, or an N_DO of several. */
static Node *parse_body(Parser *p, Sexp *form, int from, const char *what)
{
	if (from >= form->nitems) {
		diag_error(closing_span(form), "%s needs a body", what);
		return NULL;
	}
	if (from == form->nitems - 1)
		return parse_expr(p, form->items[from]);
	Node *n = new_node(N_DO, span_join(form->items[from]->span,
					   form->items[form->nitems - 1]->span));
	bool ok = true;
	for (int i = from; i < form->nitems; i++) {
		Node *item = parse_expr(p, form->items[i]);
		ok &= item != NULL;
		vec_push(&n->args, item);
	}
	return ok ? n : NULL;
}

/* Parses every element from `from` on into args; false if any failed. */
static bool parse_args(Parser *p, Sexp *form, int from, Vec *args)
{
	bool ok = true;
	for (int i = from; i < form->nitems; i++) {
		Node *arg = parse_expr(p, form->items[i]);
		ok &= arg != NULL;
		vec_push(args, arg);
	}
	return ok;
}

/* Checks that form has exactly `want` operands after its head. */
static bool expect_operands(Sexp *form, int want, const char *shape)
{
	int got = form->nitems - 1;
	if (got == want)
		return true;
	diag_error(form->span, "`%s` takes exactly %d operand%s, got %d", form->items[0]->text,
		   want, want == 1 ? "" : "s", got);
	if (shape)
		diag_hint("write %s", shape);
	return false;
}

/* let = '(' 'let' '[' {NAME expr} ']' body ')' */
static Node *parse_let(Parser *p, Sexp *form)
{
	if (form->nitems < 2 || form->items[1]->kind != SX_VECTOR) {
		diag_error(form->nitems < 2 ? closing_span(form) : form->items[1]->span,
			   "let needs a binding vector: (let [name value ...] body ...)");
		return NULL;
	}
	Sexp *vec = form->items[1];
	Node *n = new_node(N_LET, form->span);
	bool ok = true;
	for (int i = 0; i < vec->nitems; i += 2) {
		Sexp *name = vec->items[i];
		if (name->kind == SX_VECTOR || name->kind == SX_LIST) {
			diag_error(name->span, "destructuring let is not supported in BPF modules");
			ok = false;
		} else if (!expect_name(name, "a name to bind in let")) {
			ok = false;
		}
		if (i + 1 == vec->nitems) {
			diag_error(name->span, "let bindings must come in pairs: `%s` has no value",
				   render(name));
			ok = false;
			break;
		}
		Binding *b = arena_alloc_transient(sizeof(*b));
		b->name = name->text;
		b->name_span = name->span;
		b->init = parse_expr(p, vec->items[i + 1]);
		ok &= b->init != NULL;
		vec_push(&n->bindings, b);
	}
	n->body = parse_body(p, form, 2, "let");
	return ok && n->body ? n : NULL;
}

/* do = '(' 'do' {expr} ')' */
static Node *parse_do(Parser *p, Sexp *form)
{
	Node *n = new_node(N_DO, form->span);
	return parse_args(p, form, 1, &n->args) ? n : NULL;
}

/* if = '(' 'if' expr expr expr ')' */
static Node *parse_if(Parser *p, Sexp *form)
{
	if (form->nitems == 3) {
		diag_error(form->span, "if requires an else branch: (if cond then else)");
		diag_hint("BPF functions return a value on every path; use (do ...) for effects "
			  "and give the else branch a value");
		return NULL;
	}
	if (form->nitems != 4) {
		diag_error(form->span, "if takes a condition and two branches, got %d expression%s",
			   form->nitems - 1, form->nitems == 2 ? "" : "s");
		return NULL;
	}
	Node *n = new_node(N_IF, form->span);
	n->cond = parse_expr(p, form->items[1]);
	n->then = parse_expr(p, form->items[2]);
	n->els = parse_expr(p, form->items[3]);
	return n->cond && n->then && n->els ? n : NULL;
}

/* cond = '(' 'cond' {'[' expr body ']'} '[' ':else' body ']' ')'
 * becomes (if t1 b1 (if t2 b2 ... else-body)). */
static Node *parse_cond(Parser *p, Sexp *form)
{
	bool ok = true;
	Sexp *else_clause = NULL;
	if (form->nitems - 1 > MAX_EXPANSION) {
		diag_error(form->span, "cond has %d clauses: at most %d are supported",
			   form->nitems - 1, MAX_EXPANSION);
		diag_hint("use match, or split the cond with helper functions");
		return NULL;
	}
	for (int i = 1; i < form->nitems; i++) {
		Sexp *c = form->items[i];
		if (c->kind != SX_VECTOR) {
			diag_error(c->span, "cond clauses are written [test body ...], found `%s`",
				   render(c));
			return NULL;
		}
		if (c->nitems < 2) {
			diag_error(c->span, "cond clause needs a test and a body");
			ok = false;
			continue;
		}
		if (is_keyword(c->items[0], "else")) {
			if (i != form->nitems - 1) {
				diag_error(c->items[0]->span,
					   "the :else clause must be the last clause of cond");
				ok = false;
			}
			else_clause = c;
		}
	}
	if (!ok)
		return NULL;
	if (!else_clause) {
		diag_error(form->nitems > 1 ? closing_span(form) : form->span,
			   "cond requires a final [:else ...] clause");
		return NULL;
	}
	Node *result = parse_body(p, else_clause, 1, "cond clause");
	ok = result != NULL;
	for (int i = form->nitems - 2; i >= 1; i--) {
		Sexp *c = form->items[i];
		Node *n = new_node(N_IF, c->span);
		n->cond = parse_expr(p, c->items[0]);
		n->then = parse_body(p, c, 1, "cond clause");
		n->els = result;
		ok &= n->cond && n->then;
		result = n;
	}
	/* The outermost if stands for the whole cond. */
	if (result && result->kind == N_IF && form->nitems > 2)
		result->span = form->span;
	return ok ? result : NULL;
}

/* andalso = '(' 'andalso' expr expr ')'   orelse likewise */
static Node *parse_andor(Parser *p, Sexp *form)
{
	bool is_and = is_symbol(form->items[0], "andalso");
	if (!expect_operands(form, 2, is_and ? "(andalso a b)" : "(orelse a b)"))
		return NULL;
	Node *n = new_node(is_and ? N_AND : N_OR, form->span);
	n->lhs = parse_expr(p, form->items[1]);
	n->rhs = parse_expr(p, form->items[2]);
	return n->lhs && n->rhs ? n : NULL;
}

/* not = '(' 'not' expr ')' */
static Node *parse_not(Parser *p, Sexp *form)
{
	if (!expect_operands(form, 1, "(not b)"))
		return NULL;
	Node *n = new_node(N_NOT, form->span);
	n->lhs = parse_expr(p, form->items[1]);
	return n->lhs ? n : NULL;
}

/* pattern = '(' 'Some' (NAME | '_') ')' | '(' 'None' ')' | INT | 'true' | 'false'
 *         | '_' | NAME */
static Pattern *parse_pattern(Sexp *s)
{
	Pattern *pat = arena_alloc_transient(sizeof(*pat));
	pat->span = s->span;
	switch (s->kind) {
	case SX_INT:
		pat->kind = PAT_INT;
		pat->value = s->value;
		pat->negative = s->negative;
		return pat;
	case SX_SYMBOL:
		if (is_bool_name(s->text)) {
			pat->kind = PAT_BOOL;
			pat->value = s->text[0] == 't';
		} else if (!strcmp(s->text, "_")) {
			pat->kind = PAT_WILD;
		} else if (!strcmp(s->text, "None") || !strcmp(s->text, "Some")) {
			diag_error(s->span, "bare `%s` is not a pattern: write %s", s->text,
				   s->text[0] == 'N' ? "(None)" : "(Some name)");
			return NULL;
		} else {
			pat->kind = PAT_BIND;
			pat->bind_name = s->text;
		}
		return pat;
	case SX_KEYWORD:
		diag_error(s->span, "atom pattern :%s is not supported in BPF modules", s->text);
		diag_hint("patterns are (Some p), (None), integers, true, false, _ and names");
		return NULL;
	case SX_LIST:
		if (is_symbol(s->nitems ? s->items[0] : NULL, "None")) {
			if (s->nitems != 1) {
				diag_error(s->span, "(None) takes no arguments");
				return NULL;
			}
			pat->kind = PAT_NONE;
			return pat;
		}
		if (is_symbol(s->nitems ? s->items[0] : NULL, "Some")) {
			if (s->nitems != 2) {
				diag_error(s->span, "(Some p) takes exactly one name or _, got %d",
					   s->nitems - 1);
				return NULL;
			}
			Sexp *inner = s->items[1];
			if (inner->kind != SX_SYMBOL || !strcmp(inner->text, "true") ||
			    !strcmp(inner->text, "false")) {
				diag_error(inner->span,
					   "nested patterns are not supported: (Some p) binds a name or _");
				return NULL;
			}
			pat->kind = PAT_SOME;
			pat->bind_name = strcmp(inner->text, "_") ? inner->text : NULL;
			return pat;
		}
		break;
	default:
		break;
	}
	diag_error(s->span, "unsupported pattern `%s`", render(s));
	diag_hint("patterns are (Some p), (None), integers, true, false, _ and names");
	return NULL;
}

/* match = '(' 'match' expr clause {clause} ')'
 * clause = '[' pattern body ']' */
static Node *parse_match(Parser *p, Sexp *form)
{
	if (form->nitems < 2) {
		diag_error(form->span, "match needs a value and at least one clause");
		return NULL;
	}
	Node *n = new_node(N_MATCH, form->span);
	n->lhs = parse_expr(p, form->items[1]);
	bool ok = n->lhs != NULL;
	if (form->nitems == 2) {
		diag_error(closing_span(form), "match needs at least one clause [pattern body]");
		return NULL;
	}
	for (int i = 2; i < form->nitems; i++) {
		Sexp *c = form->items[i];
		if (c->kind != SX_VECTOR) {
			diag_error(c->span, "match clauses are written [pattern body ...], found `%s`",
				   render(c));
			ok = false;
			continue;
		}
		if (c->nitems < 2) {
			diag_error(c->span, "match clause needs a pattern and a body");
			ok = false;
			continue;
		}
		MatchClause *mc = arena_alloc_transient(sizeof(*mc));
		mc->span = c->span;
		mc->pattern = parse_pattern(c->items[0]);
		mc->body = parse_body(p, c, 1, "match clause");
		ok &= mc->pattern && mc->body;
		vec_push(&n->clauses, mc);
	}
	return ok ? n : NULL;
}

/* Binary operators, indexed by BinOp: source name, C operator, and
 * whether the result is :bool (LANGUAGE.md section 4). */
static const struct {
	const char *name, *c_name;
	bool comparison;
} binops[] = {
	[OP_ADD] = { "+", "+", false },     [OP_SUB] = { "-", "-", false },
	[OP_MUL] = { "*", "*", false },     [OP_DIV] = { "div", "/", false },
	[OP_REM] = { "rem", "%", false },   [OP_AND] = { "band", "&", false },
	[OP_OR] = { "bor", "|", false },    [OP_XOR] = { "bxor", "^", false },
	[OP_SHL] = { "bsl", "<<", false },  [OP_SHR] = { "bsr", ">>", false },
	[OP_EQ] = { "==", "==", true },     [OP_NE] = { "!=", "!=", true },
	[OP_LT] = { "<", "<", true },       [OP_GT] = { ">", ">", true },
	[OP_LE] = { "<=", "<=", true },     [OP_GE] = { ">=", ">=", true },
};

const char *binop_source_name(BinOp op)
{
	return binops[op].name;
}

const char *binop_c_name(BinOp op)
{
	return binops[op].c_name;
}

bool binop_is_comparison(BinOp op)
{
	return binops[op].comparison;
}

bool node_any(const Node *n, bool (*pred)(const Node *n, const void *ctx), const void *ctx)
{
	if (!n)
		return false;
	if (pred(n, ctx))
		return true;
	const Node *kids[] = { n->lhs, n->rhs, n->cond, n->then, n->els, n->body };
	for (size_t i = 0; i < sizeof(kids) / sizeof(*kids); i++)
		if (node_any(kids[i], pred, ctx))
			return true;
	for (int i = 0; i < n->args.len; i++)
		if (node_any(n->args.items[i], pred, ctx))
			return true;
	for (int i = 0; n->kind == N_LET && i < n->bindings.len; i++)
		if (node_any(((Binding *)n->bindings.items[i])->init, pred, ctx))
			return true;
	for (int i = 0; n->kind == N_MATCH && i < n->clauses.len; i++)
		if (node_any(((MatchClause *)n->clauses.items[i])->body, pred, ctx))
			return true;
	return false;
}

/* binop = '(' OP expr expr ')'   neg = '(' '-' expr ')' */
static Node *parse_binop(Parser *p, Sexp *form)
{
	const char *name = form->items[0]->text;
	if (!strcmp(name, "-") && form->nitems == 2) {
		Node *n = new_node(N_NEG, form->span);
		n->lhs = parse_expr(p, form->items[1]);
		return n->lhs ? n : NULL;
	}
	if (form->nitems != 3) {
		if (!strcmp(name, "-"))
			diag_error(form->span, "`-` takes one or two operands, got %d",
				   form->nitems - 1);
		else
			diag_error(form->span, "`%s` takes exactly two operands, got %d", name,
				   form->nitems - 1);
		return NULL;
	}
	Node *n = new_node(N_BINOP, form->span);
	int word = form->items[0]->word;
	if (word >= 2 && word_binop[word - 2] >= 0) {
		n->op = (BinOp)word_binop[word - 2];
	} else {
		for (size_t i = 0; i < sizeof(binops) / sizeof(binops[0]); i++) {
			if (!strcmp(binops[i].name, name)) {
				n->op = (BinOp)i;
				break;
			}
		}
	}
	n->lhs = parse_expr(p, form->items[1]);
	n->rhs = parse_expr(p, form->items[2]);
	return n->lhs && n->rhs ? n : NULL;
}

/* cast = '(' ('u8' | ... | 'i64') expr ')' */
static Node *parse_cast(Parser *p, Sexp *form)
{
	if (!expect_operands(form, 1, NULL))
		return NULL;
	Node *n = new_node(N_CAST, form->span);
	n->cast_to = type_int_by_name(form->items[0]->text);
	n->lhs = parse_expr(p, form->items[1]);
	return n->lhs ? n : NULL;
}

/* The fields of a chain from form->items[from] on, applied to base:
 * (. t :a :b) is (. (. t :a) :b). */
static Node *parse_field_chain(Sexp *form, int from, Node *base)
{
	Node *n = base;
	bool dot = from == 2;  /* (. base ...): the last step is the form */
	for (int i = from; i < form->nitems && n; i++) {
		Sexp *f = form->items[i];
		if (dot && f->kind == SX_INT && i + 1 == form->nitems && i > from) {
			/* (. p :comm 3): element 3 of an array field (LANGUAGE.md 10.9) */
			Node *index = new_node(N_INT, f->span);
			index->value = f->value;
			index->negative = f->negative;
			n->rhs = index;
			n->span = form->span;
			return n;
		}
		if (f->kind != SX_KEYWORD && f->kind != SX_SYMBOL) {
			diag_error(f->span, "expected a field name like :len, found `%s`", render(f));
			return NULL;
		}
		Span at = dot && i + 1 == form->nitems ? form->span : span_join(form->items[from - 1]->span, f->span);
		Node *step = new_node(N_FIELD, at);
		step->lhs = n;
		step->name = f->text;
		step->name_span = f->span;
		n = step;
	}
	return n;
}

/* field = '(' '.' expr (KW | NAME) {KW | NAME} [INT] ')'
 * (a chain: nested records, kernel types; INT: an array field's element) */
static Node *parse_field(Parser *p, Sexp *form)
{
	if (form->nitems < 3) {
		expect_operands(form, 2, "(. record :field)");
		return NULL;
	}
	Node *base = parse_expr(p, form->items[1]);
	return base ? parse_field_chain(form, 2, base) : NULL;
}

/* The CO-RE forms of LANGUAGE.md 11, calls whose field operands are
 * written as `.` chains so the checker resolves them like reads:
 *   (k/exists? t :f ...)          args: (. t :f ...)
 *   (k/read-str dst t :f ...)     args: dst, (. t :f ...)
 *   (k/arg ctx N :k/NAME)         args: ctx, N; builtin_type: the type */
static Node *parse_kernel_form(Parser *p, Sexp *form)
{
	const char *name = form->items[0]->text;
	bool read_str = strcmp(name, "k/read-str") == 0;
	bool arg = strcmp(name, "k/arg") == 0;
	int want = read_str ? 4 : arg ? 4 : 3;
	if (form->nitems < want || (arg && form->nitems != want)) {
		diag_error(form->span, "%s is written %s", name,
			   read_str ? "(k/read-str (. e :field) task :comm)"
			   : arg    ? "(k/arg ctx N :k/NAME)"
				    : "(k/exists? task :field)");
		return NULL;
	}
	Node *n = new_node(N_CALL, form->span);
	n->name = name;
	n->name_span = form->items[0]->span;
	if (arg) {
		Node *ctx = parse_expr(p, form->items[1]), *index = parse_expr(p, form->items[2]);
		n->builtin_type = parse_type(form->items[3], 0);
		if (!ctx || !index || !n->builtin_type)
			return NULL;
		vec_push(&n->args, ctx);
		vec_push(&n->args, index);
		return n;
	}
	if (read_str) {
		Node *dst = parse_expr(p, form->items[1]);
		if (!dst)
			return NULL;
		vec_push(&n->args, dst);
	}
	int base_at = read_str ? 2 : 1;
	Node *base = parse_expr(p, form->items[base_at]);
	Node *chain = base ? parse_field_chain(form, base_at + 1, base) : NULL;
	if (!chain)
		return NULL;
	vec_push(&n->args, chain);
	return n;
}

/* set = '(' 'set!' (NAME | '(' '.' expr field ')') expr ')' */
static Node *parse_set(Parser *p, Sexp *form)
{
	if (!expect_operands(form, 2, "(set! global value)"))
		return NULL;
	Sexp *target = form->items[1];
	Node *n = new_node(N_SET, form->span);
	bool ok = true;
	if (target->kind == SX_LIST && target->nitems && is_symbol(target->items[0], ".")) {
		n->lhs = parse_field(p, target);
		ok = n->lhs != NULL;
	} else if (expect_name(target, "a global name or (. p :field) to assign")) {
		n->name = target->text;
		n->name_span = target->span;
	} else {
		ok = false;
	}
	n->rhs = parse_expr(p, form->items[2]);
	return ok && n->rhs ? n : NULL;
}

/* for = '(' 'for-range' NAME expr expr body ')' */
static Node *parse_for(Parser *p, Sexp *form)
{
	if (form->nitems < 5) {
		diag_error(form->span, "for-range is written (for-range i start end body ...)");
		return NULL;
	}
	Node *n = new_node(N_FOR, form->span);
	bool ok = true;
	if (expect_name(form->items[1], "a loop variable name")) {
		n->var_name = form->items[1]->text;
		n->name_span = form->items[1]->span;
	} else {
		ok = false;
	}
	n->lhs = parse_expr(p, form->items[2]);
	n->rhs = parse_expr(p, form->items[3]);
	n->body = parse_body(p, form, 4, "for-range");
	return ok && n->lhs && n->rhs && n->body ? n : NULL;
}

/* A list made of head's elements with x inserted at index `at`. */
static Sexp *sexp_insert(Sexp *list, int at, Sexp *x)
{
	Sexp *s = arena_alloc_transient(sizeof(*s));
	*s = *list;
	s->nitems = list->nitems + 1;
	s->items = arena_alloc_transient(sizeof(*s->items) * (size_t)s->nitems);
	for (int i = 0, j = 0; i < s->nitems; i++)
		s->items[i] = i == at ? x : list->items[j++];
	return s;
}

/* thread = '(' ('->' | '->>') expr {step} ')'
 * step = '(' f args ')' | NAME | KW
 * (-> x (f a)) is (f x a); (->> x (f a)) is (f a x); a bare name f is
 * (f x); a keyword :k, and (. :k), are the field access (. x :k). The
 * rewriting happens on S-expressions, so every rewritten call keeps the
 * span of the step it came from. */
static Node *parse_thread(Parser *p, Sexp *form)
{
	bool last = is_symbol(form->items[0], "->>");
	if (form->nitems < 2) {
		diag_error(form->span, "`%s` needs a value to thread", form->items[0]->text);
		return NULL;
	}
	if (form->nitems - 2 > MAX_EXPANSION) {
		diag_error(form->span, "`%s` has %d steps: at most %d are supported",
			   form->items[0]->text, form->nitems - 2, MAX_EXPANSION);
		return NULL;
	}
	Sexp *acc = form->items[1];
	for (int i = 2; i < form->nitems; i++) {
		Sexp *step = form->items[i];
		Sexp *wrap;
		switch (step->kind) {
		case SX_LIST:
			if (step->nitems == 0)
				goto bad_step;
			if (is_symbol(step->items[0], "."))
				acc = sexp_insert(step, 1, acc);
			else
				acc = sexp_insert(step, last ? step->nitems : 1, acc);
			break;
		case SX_SYMBOL:
		case SX_KEYWORD:
			wrap = arena_alloc_transient(sizeof(*wrap));
			wrap->kind = SX_LIST;
			wrap->span = step->span;
			if (step->kind == SX_SYMBOL) {
				wrap->nitems = 1;
				wrap->items = arena_alloc_transient(sizeof(*wrap->items));
				wrap->items[0] = step;
			} else {
				Sexp *dot = arena_alloc_transient(sizeof(*dot));
				dot->kind = SX_SYMBOL;
				dot->span = step->span;
				dot->text = ".";
				wrap->nitems = 2;
				wrap->items = arena_alloc_transient(sizeof(*wrap->items) * 2);
				wrap->items[0] = dot;
				wrap->items[1] = step;
			}
			acc = sexp_insert(wrap, 1, acc);
			break;
		default:
		bad_step:
			diag_error(step->span, "`%s` steps are calls like (f a), names or :fields, found `%s`",
				   form->items[0]->text, render(step));
			return NULL;
		}
	}
	return parse_expr(p, acc);
}

static Node *parse_fn_literal(Parser *p, Sexp *form)
{
	(void)p;
	diag_error(form->span, "anonymous functions are not supported in BPF modules");
	diag_hint("define a named function with defn");
	return NULL;
}

static Node *parse_constructor_call(Parser *p, Sexp *form)
{
	(void)p;
	diag_error(form->span, "`%s` is only allowed in match patterns",
		   render(form->items[0]));
	return NULL;
}

typedef Node *(*FormParser)(Parser *p, Sexp *form);

/* The special forms, by the symbol at their head. */
static const struct SpecialForm {
	const char *name;
	FormParser parse;
} special_forms[] = {
	{ "let", parse_let },       { "do", parse_do },
	{ "if", parse_if },         { "cond", parse_cond },
	{ "andalso", parse_andor }, { "orelse", parse_andor },
	{ "not", parse_not },       { "match", parse_match },
	{ ".", parse_field },       { "set!", parse_set },
	{ "for-range", parse_for }, { "->", parse_thread },
	{ "->>", parse_thread },    { "fn", parse_fn_literal },
	{ "lambda", parse_fn_literal }, { "fn*", parse_fn_literal },
	{ "Some", parse_constructor_call }, { "None", parse_constructor_call },
	{ "u8", parse_cast },  { "u16", parse_cast }, { "u32", parse_cast },
	{ "u64", parse_cast }, { "i8", parse_cast },  { "i16", parse_cast },
	{ "i32", parse_cast }, { "i64", parse_cast },
	{ "+", parse_binop },  { "-", parse_binop },   { "*", parse_binop },
	{ "div", parse_binop }, { "rem", parse_binop }, { "band", parse_binop },
	{ "bor", parse_binop }, { "bxor", parse_binop }, { "bsl", parse_binop },
	{ "bsr", parse_binop }, { "==", parse_binop },  { "!=", parse_binop },
	{ "<", parse_binop },  { ">", parse_binop },   { "<=", parse_binop },
	{ ">=", parse_binop },
	{ "k/exists?", parse_kernel_form }, { "k/read-str", parse_kernel_form },
	{ "k/arg", parse_kernel_form },
};

/* every list whose head the reader does not know (a Sexp the parser made) */
static NameIndex special_form_index = NAME_INDEX(special_forms);

static FormParser find_special_form(const char *name)
{
	const struct SpecialForm *f = name_index_get(&special_form_index, name);
	return f ? f->parse : NULL;
}

enum { NSPECIAL = sizeof(special_forms) / sizeof(special_forms[0]) };

/* find_special_form of a list's head, by its word when the reader knows
 * it. */
static FormParser special_form_of(const Sexp *head)
{
	if (head->word == 1)
		return NULL;
	if (head->word >= 2)
		return head->word - 2 < NSPECIAL ? special_forms[head->word - 2].parse : NULL;
	return find_special_form(head->text);
}

/* (Event :pid p :ts t): a record value, LANGUAGE.md 10.4. A call of
 * callee kind CALLEE_RECORD once checked; the field names in record_init,
 * their values in args. */
static Node *parse_record_value(Parser *p, Sexp *s)
{
	Node *n = new_node(N_CALL, s->span);
	n->name = s->items[0]->text;
	n->name_span = s->items[0]->span;
	RecordInit *ri = arena_alloc_transient(sizeof(*ri));
	int max = s->nitems / 2;
	ri->names = arena_alloc_transient(sizeof(*ri->names) * (size_t)(max + 1));
	ri->spans = arena_alloc_transient(sizeof(*ri->spans) * (size_t)(max + 1));
	n->record_init = ri;
	bool ok = true;
	for (int i = 1; i < s->nitems; i += 2) {
		Sexp *key = s->items[i];
		if (key->kind != SX_KEYWORD) {
			diag_error(key->span, "expected a field name like :%s, found `%s`", "pid", render(key));
			diag_hint("a record value is written (%s :field value ...)", n->name);
			return NULL;
		}
		if (i + 1 >= s->nitems) {
			diag_error(key->span, "field :%s has no value", key->text);
			return NULL;
		}
		Node *v = parse_expr(p, s->items[i + 1]);
		ok &= v != NULL;
		ri->names[ri->n] = key->text;
		ri->spans[ri->n] = key->span;
		ri->n++;
		vec_push(&n->args, v);
	}
	return ok ? n : NULL;
}

/* (sizeof :Event): a literal once the checker knows the layout. */
static Node *parse_sizeof(Sexp *s)
{
	if (s->nitems != 2) {
		expect_operands(s, 1, "(sizeof :Record)");
		return NULL;
	}
	Node *n = new_node(N_CALL, s->span);
	n->name = "sizeof";
	n->name_span = s->items[0]->span;
	n->builtin_type = parse_type(s->items[1], 0);
	return n->builtin_type ? n : NULL;
}

/* call = '(' NAME {expr} ')'   NAME: f, bpf/helper or bpf:helper */
static Node *parse_list(Parser *p, Sexp *s)
{
	if (s->nitems == 0) {
		diag_error(s->span, "empty form () is not an expression");
		diag_hint("use (do) for a :unit value");
		return NULL;
	}
	Sexp *head = s->items[0];
	if (head->kind == SX_LIST && head->nitems && head->items[0]->kind == SX_SYMBOL &&
	    special_form_of(head->items[0]) == parse_fn_literal)
		return parse_fn_literal(p, head);
	if (head->kind != SX_SYMBOL) {
		if (head->kind == SX_KEYWORD)
			diag_error(head->span, "keyword :%s cannot be called", head->text);
		else
			diag_error(head->span, "expected a function name, found `%s`", render(head));
		return NULL;
	}
	FormParser special = special_form_of(head);
	if (special)
		return special(p, s);
	/* LANGUAGE.md 10.5: the one place a string is an operand */
	if (s->nitems >= 2 && s->items[1]->kind == SX_STRING && strcmp(head->text, "printk") == 0) {
		Node *n = new_node(N_CALL, s->span);
		n->name = "printk";
		n->name_span = s->items[1]->span; /* the format: where its errors point */
		n->callee_kind = CALLEE_PRINTK;
		n->printk_format = s->items[1]->text;
		return parse_args(p, s, 2, &n->args) ? n : NULL;
	}
	/* extensions (LANGUAGE.md 10.4): a keyword operand is no core call */
	if (s->nitems >= 2 && s->items[1]->kind == SX_KEYWORD) {
		if (isupper((unsigned char)head->text[0]))
			return parse_record_value(p, s);
		if (strcmp(head->text, "sizeof") == 0)
			return parse_sizeof(s);
	}
	Node *n = new_node(N_CALL, s->span);
	n->name = normalise_qualified(head->text);
	n->name_span = head->span;
	return parse_args(p, s, 1, &n->args) ? n : NULL;
}

/* expr = INT | 'true' | 'false' | NAME | '(' ... ')' */
static Node *parse_expr(Parser *p, Sexp *s)
{
	Node *n;
	switch (s->kind) {
	case SX_INT:
		n = new_node(N_INT, s->span);
		n->value = s->value;
		n->negative = s->negative;
		return n;
	case SX_SYMBOL:
		if (is_bool_name(s->text)) {
			n = new_node(N_BOOL, s->span);
			n->value = s->text[0] == 't';
			return n;
		}
		n = new_node(N_NAME, s->span);
		n->name = s->text;
		n->name_span = s->span;
		return n;
	case SX_LIST:
		return parse_list(p, s);
	case SX_FLOAT:
		diag_error(s->span, "floating-point literal %s is not supported in BPF modules",
			   s->text);
		diag_hint("BPF has no floating point; use integers");
		return NULL;
	case SX_STRING:
		diag_error(s->span, "string literals are not allowed here");
		diag_hint("strings appear only as a program attach point and in (license \"...\")");
		return NULL;
	case SX_KEYWORD:
		diag_error(s->span, "keyword :%s is not a value in BPF modules", s->text);
		return NULL;
	case SX_VECTOR:
		diag_error(s->span, "list literals are not supported in BPF modules");
		return NULL;
	}
	return NULL;
}

/* ---- top-level forms -------------------------------------------------- */

static Decl *new_decl(DeclKind kind, Sexp *form)
{
	Decl *d = arena_alloc_transient(sizeof(*d));
	d->kind = kind;
	d->span = form->span;
	return d;
}

/* program = '(' 'program' KW [STRING] ')' */
static ProgramDecl *parse_kind_attach(Sexp *form, int at, bool has_attach);

static Decl *parse_program(Parser *p, Sexp *form)
{
	if (p->seen_program) {
		diag_error(form->span, "only one program form allowed");
		diag_note(p->first_program, "the first program form is here");
		return NULL;
	}
	p->seen_program = true;
	p->first_program = form->span;
	if (form->nitems < 2 || form->nitems > 3) {
		diag_error(form->span, "program is written (program :kind) or (program :kind \"attach\")");
		return NULL;
	}
	ProgramDecl *pd = parse_kind_attach(form, 1, form->nitems == 3);
	if (!pd)
		return NULL;
	Decl *d = new_decl(D_PROGRAM, form);
	d->u.program = pd;
	return d;
}

/* :KIND at form->items[at], and the attach string after it when
 * has_attach: a (program ...) or a (defprog ...). */
static ProgramDecl *parse_kind_attach(Sexp *form, int at, bool has_attach)
{
	Sexp *kind = form->items[at];
	if (kind->kind != SX_KEYWORD) {
		diag_error(kind->span, "expected a program kind like :xdp, found `%s`", render(kind));
		return NULL;
	}
	const ProgKindInfo *info = prog_kind_by_name(kind->text);
	if (!info) {
		diag_error(kind->span, "unknown program kind :%s", kind->text);
		StrBuf kinds = { 0 };
		for (int k = PK_NONE + 1; k < PK_COUNT; k++)
			sb_printf(&kinds, "%s:%s", k > PK_NONE + 1 ? " " : "",
				  prog_kind_info((ProgKind)k)->name);
		diag_hint("program kinds are %s", kinds.data ? kinds.data : "");
		sb_free(&kinds);
		return NULL;
	}
	ProgramDecl *pd = arena_alloc(sizeof(*pd));
	pd->kind = info;
	pd->span = form->span;
	if (has_attach) {
		Sexp *attach = form->items[at + 1];
		if (attach->kind != SX_STRING) {
			diag_error(attach->span, "the attach point must be a string, found `%s`",
				   render(attach));
			return NULL;
		}
		pd->attach = attach->text;
	} else if (info->attach_required) {
		/* an attach string each kind takes */
		static const struct { ProgKind kind; const char *attach; } examples[] = {
			{ PK_LSM, "file_open" }, { PK_TP_BTF, "sched_process_exec" },
			{ PK_FENTRY, "tcp_v4_connect" }, { PK_FEXIT, "tcp_v4_connect" },
		};
		const char *example = "connect4";
		for (size_t i = 0; i < sizeof(examples) / sizeof(*examples); i++)
			if (examples[i].kind == info->kind)
				example = examples[i].attach;
		diag_error(form->span, "program kind :%s needs an attach string", info->name);
		diag_hint("for example (program :%s \"%s\")", info->name, example);
		return NULL;
	}
	return pd;
}

static Decl *parse_defn(Parser *p, Sexp *form);

/* defprog = '(' 'defprog' NAME :KIND ["attach"] [param :type ...] :ret body ... ')'
 * (LANGUAGE.md 10.3): a defn that is a program of its own, with its own
 * section. Parsed as the defn it would be without the kind and attach. */
static Decl *parse_defprog(Parser *p, Sexp *form)
{
	if (form->nitems < 3 || form->items[2]->kind != SX_KEYWORD) {
		diag_error(form->span, "defprog is written (defprog name :kind [\"attach\"] [ctx :Context] :ret-type body ...)");
		return NULL;
	}
	bool has_attach = form->nitems > 3 && form->items[3]->kind == SX_STRING;
	ProgramDecl *pd = parse_kind_attach(form, 2, has_attach);
	if (!pd)
		return NULL;
	int skip = has_attach ? 2 : 1;
	Sexp defn = *form;
	defn.nitems = form->nitems - skip;
	defn.items = arena_alloc(sizeof(*defn.items) * (size_t)defn.nitems);
	defn.items[0] = form->items[0];
	defn.items[1] = form->items[1];
	for (int i = 2; i < defn.nitems; i++)
		defn.items[i] = form->items[i + skip];
	Decl *d = parse_defn(p, &defn);
	if (!d)
		return NULL;
	d->u.fn->prog = pd;
	d->u.fn->span = form->span;
	d->span = form->span;
	return d;
}

/* map-type = type | '0' */
static bool parse_map_slot(Sexp *s, Type **out)
{
	*out = NULL;
	if (s->kind == SX_INT) {
		if (s->value == 0 && !s->negative)
			return true;
		diag_error(s->span, "expected a type or 0 (none), found `%s`", render(s));
		return false;
	}
	*out = parse_type(s, TYPE_ALLOW_BARE);
	return *out != NULL;
}

/* A true/false option value. */
static bool parse_flag(Sexp *opt, Sexp *value, bool *out)
{
	if (is_symbol(value, "true") || is_symbol(value, "false")) {
		*out = value->text[0] == 't';
		return true;
	}
	diag_error(value->span, "option :%s takes true or false, found `%s`", opt->text,
		   render(value));
	return false;
}

/* defmap = '(' 'defmap' NAME KW map-type map-type INT {KW value} ')' */
static Decl *parse_defmap(Parser *p, Sexp *form)
{
	(void)p;
	if (form->nitems < 6) {
		diag_error(form->span, "defmap is written (defmap name :type key value max-entries)");
		return NULL;
	}
	MapDecl *md = arena_alloc(sizeof(*md));
	md->span = form->span;
	bool ok = true;
	if ((md->name = expect_name(form->items[1], "a map name")) == NULL)
		ok = false;
	Sexp *type = form->items[2];
	if (type->kind != SX_KEYWORD) {
		diag_error(type->span, "expected a map type like :hash, found `%s`", render(type));
		ok = false;
	} else if ((md->map_type = map_type_by_name(type->text)) == NULL) {
		diag_error(type->span, "unknown map type :%s", type->text);
		ok = false;
	}
	ok &= parse_map_slot(form->items[3], &md->key);
	ok &= parse_map_slot(form->items[4], &md->value);
	md->key_span = form->items[3]->span;
	md->value_span = form->items[4]->span;
	if (ok && md->map_type) {
		bool ringbuf = !strcmp(md->map_type->name, "ringbuf");
		if (ringbuf && (md->key || md->value)) {
			diag_error(form->items[md->key ? 3 : 4]->span,
				   "ringbuf maps have no key or value type: write 0");
			ok = false;
		}
		if (md->map_type->needs_key && !md->key) {
			diag_error(form->items[3]->span, "map type :%s needs a key type, not 0",
				   md->map_type->name);
			ok = false;
		}
		if (md->map_type->needs_value && !md->value) {
			diag_error(form->items[4]->span, "map type :%s needs a value type, not 0",
				   md->map_type->name);
			ok = false;
		}
	}
	Sexp *max = form->items[5];
	if (max->kind != SX_INT || max->negative || max->value == 0 || max->value > UINT32_MAX) {
		diag_error(max->span, "max_entries must be a positive integer below 2^32, found `%s`",
			   render(max));
		ok = false;
	} else {
		md->max_entries = max->value;
		if (md->map_type && !strcmp(md->map_type->name, "ringbuf") &&
		    (max->value % RINGBUF_PAGE_SIZE || (max->value & (max->value - 1)))) {
			/* The kernel's ringbuf_map_alloc() rejects any other size. */
			diag_error(max->span,
				   "ringbuf size %llu must be a power-of-two multiple of the page size (%d)",
				   (unsigned long long)max->value, RINGBUF_PAGE_SIZE);
			ok = false;
		}
	}
	for (int i = 6; i < form->nitems; i += 2) {
		Sexp *opt = form->items[i];
		if (opt->kind != SX_KEYWORD) {
			diag_error(opt->span, "expected a defmap option like :pinned, found `%s`",
				   render(opt));
			ok = false;
			break;
		}
		if (i + 1 == form->nitems) {
			diag_error(opt->span, "option :%s needs a value", opt->text);
			ok = false;
			break;
		}
		Sexp *value = form->items[i + 1];
		if (!strcmp(opt->text, "pinned")) {
			ok &= parse_flag(opt, value, &md->pinned);
		} else if (!strcmp(opt->text, "extern")) {
			ok &= parse_flag(opt, value, &md->is_extern);
		} else if (!strcmp(opt->text, "init")) {
			/* :init [prog_a prog_b] (LANGUAGE.md 10.3) */
			if (value->kind != SX_VECTOR) {
				diag_error(value->span, "option :init takes a vector of program names, e.g. [prog_a prog_b]");
				ok = false;
				continue;
			}
			md->init_names = arena_alloc(sizeof(*md->init_names) * (size_t)(value->nitems + 1));
			md->init_spans = arena_alloc(sizeof(*md->init_spans) * (size_t)(value->nitems + 1));
			for (int k = 0; k < value->nitems; k++) {
				const char *name = expect_name(value->items[k], "a program name");
				ok &= name != NULL;
				md->init_names[md->ninit] = name;
				md->init_spans[md->ninit++] = value->items[k]->span;
			}
		} else if (!strcmp(opt->text, "flags")) {
			if (value->kind != SX_INT || value->negative || value->value > UINT32_MAX) {
				diag_error(value->span, "option :flags takes an unsigned 32-bit integer");
				ok = false;
			}
			md->flags = value->value;
		} else {
			diag_error(opt->span, "unknown defmap option :%s", opt->text);
			diag_hint("the options are :pinned true, :flags N, :extern true and :init [prog ...]");
			ok = false;
		}
	}
	if (!ok)
		return NULL;
	if (md->map_type)
		md->flags |= md->map_type->required_flags;
	Decl *d = new_decl(D_MAP, form);
	d->u.map = md;
	return d;
}

/* defglobal = '(' 'defglobal' NAME type [expr] ')'
 * defconst  = '(' 'defconst' NAME type expr ')' */
static Decl *parse_defglobal(Parser *p, Sexp *form)
{
	bool is_const = is_symbol(form->items[0], "defconst");
	if (is_const ? form->nitems != 4 : form->nitems < 3 || form->nitems > 4) {
		diag_error(form->span, is_const ? "defconst is written (defconst name :type value)"
						: "defglobal is written (defglobal name :type [initial-value])");
		return NULL;
	}
	GlobalDecl *g = arena_alloc(sizeof(*g));
	g->span = form->span;
	g->is_const = is_const;
	g->name = expect_name(form->items[1], is_const ? "a constant name" : "a global name");
	g->type = parse_type(form->items[2], 0);
	bool ok = g->name && g->type;
	if (form->nitems == 4) {
		g->init = parse_expr(p, form->items[3]);
		ok &= g->init != NULL;
	}
	if (!ok)
		return NULL;
	Decl *d = new_decl(D_GLOBAL, form);
	d->u.global = g;
	return d;
}

/* deftype = '(' 'deftype' NAME '[' {NAME type} ']' ')' */
static Decl *parse_deftype(Parser *p, Sexp *form)
{
	(void)p;
	for (int i = 2; i < form->nitems; i++) {
		if (form->items[i]->kind == SX_LIST || is_symbol(form->items[i], "|")) {
			diag_error(form->span, "sum types are not supported in BPF modules");
			diag_hint("declare a record: (deftype Name [field :type ...])");
			return NULL;
		}
	}
	if (form->nitems != 3 || form->items[2]->kind != SX_VECTOR) {
		diag_error(form->span, "deftype is written (deftype Name [field :type ...])");
		return NULL;
	}
	const char *name = expect_name(form->items[1], "a record name");
	Sexp *vec = form->items[2];
	bool ok = name != NULL;
	Record *r = arena_alloc(sizeof(*r));
	r->name = name;
	r->span = form->items[1]->span;
	if (vec->nitems == 0) {
		diag_error(vec->span, "record `%s` has no fields", name ? name : "?");
		ok = false;
	}
	r->fields = arena_alloc(sizeof(*r->fields) * (size_t)(vec->nitems / 2 + 1));
	for (int i = 0; i < vec->nitems; i += 2) {
		Sexp *fname = vec->items[i];
		if (!expect_name(fname, "a field name")) {
			ok = false;
			continue;
		}
		if (i + 1 == vec->nitems || vec->items[i + 1]->kind == SX_SYMBOL) {
			diag_error(fname->span, "field `%s` needs a type, e.g. [%s :u64]", fname->text,
				   fname->text);
			ok = false;
			i--;    /* resynchronise on the next name */
			continue;
		}
		Field *f = arena_alloc(sizeof(*f));
		f->name = fname->text;
		f->span = fname->span;
		f->type = parse_array_type(vec->items[i + 1], &f->array_len);
		ok &= f->type != NULL;
		for (int j = 0; j < r->nfields; j++) {
			if (!strcmp(r->fields[j]->name, f->name)) {
				diag_error(f->span, "duplicate field `%s` in record `%s`", f->name,
					   name ? name : "?");
				diag_note(r->fields[j]->span, "`%s` was declared here", f->name);
				ok = false;
			}
		}
		r->fields[r->nfields++] = f;
	}
	if (!ok)
		return NULL;
	RecordDecl *rd = arena_alloc(sizeof(*rd));
	rd->record = r;
	rd->span = form->span;
	Decl *d = new_decl(D_RECORD, form);
	d->u.record = rd;
	return d;
}

/* extern = '(' 'extern' NS ':' NAME '[' {type} ']' type ')' */
static Decl *parse_extern(Parser *p, Sexp *form)
{
	(void)p;
	if (form->nitems != 4 || form->items[2]->kind != SX_VECTOR) {
		diag_error(form->span, "extern is written (extern bpf:helper [:arg-type ...] :ret-type)");
		return NULL;
	}
	Sexp *qname = form->items[1];
	ExternDecl *e = arena_alloc(sizeof(*e));
	e->span = form->span;
	bool ok = true;
	const char *sep = qname->kind == SX_SYMBOL ? strpbrk(qname->text, ":/") : NULL;
	if (!sep || sep == qname->text || !sep[1]) {
		diag_error(qname->span, "expected a qualified helper name like bpf:map_lookup_elem, "
			   "found `%s`", render(qname));
		ok = false;
	} else {
		e->ns = arena_strndup(qname->text, (size_t)(sep - qname->text));
		e->name = sep + 1;
	}
	Sexp *vec = form->items[2];
	e->nparams = vec->nitems;
	e->params = arena_alloc(sizeof(*e->params) * (size_t)(vec->nitems + 1));
	for (int i = 0; i < vec->nitems; i++) {
		e->params[i] = parse_type(vec->items[i], 0);
		ok &= e->params[i] != NULL;
	}
	e->ret = parse_type(form->items[3], TYPE_ALLOW_UNIT);
	ok &= e->ret != NULL;
	if (!ok)
		return NULL;
	Decl *d = new_decl(D_EXTERN, form);
	d->u.ext = e;
	return d;
}

/* defn = '(' 'defn' NAME '[' {NAME type} ']' type expr {expr} ')' */
static Decl *parse_defn(Parser *p, Sexp *form)
{
	if (form->nitems < 2) {
		diag_error(form->span, "defn is written (defn name [param :type ...] :ret-type body ...)");
		return NULL;
	}
	const char *name = expect_name(form->items[1], "a function name");
	if (!name)
		return NULL;
	if (form->nitems < 3 || form->items[2]->kind != SX_VECTOR) {
		Sexp *at = form->nitems < 3 ? NULL : form->items[2];
		if (at && at->kind == SX_LIST) {
			diag_error(form->span, "multi-clause defn is not supported in BPF modules");
			diag_hint("write one clause: (defn %s [param :type ...] :ret-type body ...)", name);
		} else {
			diag_error(at ? at->span : closing_span(form),
				   "expected a parameter vector [param :type ...] after `%s`", name);
		}
		return NULL;
	}
	FnDecl *fn = arena_alloc_transient(sizeof(*fn));
	fn->name = name;
	fn->span = form->span;
	fn->name_span = form->items[1]->span;
	Sexp *vec = form->items[2];
	bool ok = true;
	/* each parameter takes two elements, a name and a type */
	fn->params = arena_alloc_transient(sizeof(*fn->params) * (size_t)(vec->nitems / 2 + 1));
	for (int i = 0; i < vec->nitems; i += 2) {
		Sexp *pname = vec->items[i];
		if (!expect_name(pname, "a parameter name")) {
			ok = false;
			continue;
		}
		Sexp *ptype = i + 1 < vec->nitems ? vec->items[i + 1] : NULL;
		if (!ptype || ptype->kind == SX_SYMBOL) {
			diag_error(pname->span, "parameter `%s` of `%s` needs a type annotation, "
				   "e.g. [%s :u64]", pname->text, name, pname->text);
			ok = false;
			i--;    /* the next element is the next parameter's name */
			continue;
		}
		Param *prm = arena_alloc_transient(sizeof(*prm));
		prm->name = pname->text;
		prm->span = pname->span;
		prm->type = parse_type(ptype, 0);
		ok &= prm->type != NULL;
		fn->params[fn->nparams++] = prm;
	}
	if (fn->nparams > MAX_PARAMS) {
		diag_error(vec->span, "function `%s` has %d parameters: BPF functions take at most %d",
			   name, fn->nparams, MAX_PARAMS);
		diag_hint("BPF passes arguments in registers r1-r5; group values in a record");
		ok = false;
	}
	if (form->nitems < 4 || (form->items[3]->kind != SX_KEYWORD &&
				 form->items[3]->kind != SX_LIST)) {
		diag_error(form->nitems < 4 ? closing_span(form) : form->items[3]->span,
			   "function `%s` needs a return type after its parameters, e.g. :u64", name);
		return NULL;
	}
	if (form->items[3]->kind == SX_LIST) {
		/* (defn f [x :u64] (+ x 1)): the body where the type belongs. */
		Sexp *l = form->items[3];
		if (l->nitems && l->items[0]->kind == SX_SYMBOL &&
		    l->items[0]->text[0] >= 'A' && l->items[0]->text[0] <= 'Z') {
			parse_type(l, TYPE_ALLOW_UNIT);
		} else {
			diag_error(l->span, "function `%s` needs a return type after its parameters, "
				   "e.g. :u64", name);
		}
		return NULL;
	}
	fn->ret = parse_type(form->items[3], TYPE_ALLOW_UNIT);
	ok &= fn->ret != NULL;
	if (form->skipped == SKIPPED_BODY) {
		/* the reader skipped the body: a later pass parses it */
		Decl *d = ok ? new_decl(D_FN, form) : NULL;
		if (d)
			d->u.fn = fn;
		return d;
	}
	if (form->nitems < 5) {
		diag_error(closing_span(form), "function `%s` has no body", name);
		return NULL;
	}
	if (p->drop_bodies)
		arena_transient_begin();
	fn->body = new_node(N_DO, span_join(form->items[4]->span,
					    form->items[form->nitems - 1]->span));
	ok &= parse_args(p, form, 4, &fn->body->args);
	if (p->drop_bodies) {
		fn->body = NULL;
		arena_transient_end();
	}
	if (!ok)
		return NULL;
	Decl *d = new_decl(D_FN, form);
	d->u.fn = fn;
	return d;
}

/* ns = '(' 'ns' NAME ')'   accepted and ignored */
static Decl *parse_ns(Parser *p, Sexp *form)
{
	(void)p;
	if (form->nitems < 2) {
		diag_error(form->span, "ns is written (ns Name)");
		return NULL;
	}
	if (!expect_name(form->items[1], "a module name"))
		return NULL;
	if (form->nitems > 2) {
		diag_error(form->items[2]->span, "(ns Name) takes only a module name");
		diag_hint("BPF modules take no ns options; write (ns %s)", form->items[1]->text);
	}
	return NULL;
}

/* import = '(' 'import' NAME [':as' NAME] ')'   accepted and ignored */
static Decl *parse_import(Parser *p, Sexp *form)
{
	(void)p;
	bool ok = form->nitems == 2 || (form->nitems == 4 && is_keyword(form->items[2], "as") &&
					 form->items[3]->kind == SX_SYMBOL);
	if (ok && form->items[1]->kind == SX_SYMBOL)
		return NULL;
	diag_error(form->span, "import is written (import Module) or (import Module :as Alias)");
	return NULL;
}

/* license = '(' 'license' STRING ')'   extension 10.1 */
static Decl *parse_license(Parser *p, Sexp *form)
{
	if (form->nitems != 2 || form->items[1]->kind != SX_STRING) {
		diag_error(form->span, "license is written (license \"GPL\")");
		return NULL;
	}
	if (p->seen_license) {
		diag_error(form->span, "only one license form allowed");
		diag_note(p->first_license, "the first license form is here");
		return NULL;
	}
	p->seen_license = true;
	p->first_license = form->span;
	p->m->license = form->items[1]->text;
	return NULL;
}

/* export = '(' 'export' NAME {NAME} ')'   extension 10.6: the checker
 * makes each named defn a global C function */
static Decl *parse_export(Parser *p, Sexp *form)
{
	(void)p;
	if (form->nitems < 2) {
		diag_error(form->span, "export is written (export function-name ...)");
		return NULL;
	}
	ExportDecl *x = arena_alloc(sizeof(*x));
	x->names = arena_alloc(sizeof(*x->names) * (size_t)form->nitems);
	x->spans = arena_alloc(sizeof(*x->spans) * (size_t)form->nitems);
	bool ok = true;
	for (int i = 1; i < form->nitems; i++) {
		const char *name = expect_name(form->items[i], "the name of a defn to export");
		ok &= name != NULL;
		x->names[x->nnames] = name;
		x->spans[x->nnames++] = form->items[i]->span;
	}
	if (!ok)
		return NULL;
	Decl *d = new_decl(D_EXPORT, form);
	d->u.export = x;
	return d;
}

typedef Decl *(*TopParser)(Parser *p, Sexp *form);

static const struct {
	const char *name;
	TopParser parse;
} toplevel_forms[] = {
	{ "program", parse_program },     { "defmap", parse_defmap },
	{ "defglobal", parse_defglobal }, { "defconst", parse_defglobal },
	{ "deftype", parse_deftype },     { "extern", parse_extern },
	{ "defn", parse_defn },           { "defprog", parse_defprog },           { "ns", parse_ns },
	{ "import", parse_import },       { "license", parse_license },
	{ "export", parse_export },
};

enum { NTOPLEVEL = sizeof(toplevel_forms) / sizeof(toplevel_forms[0]) };

static const char *vocabulary[NSPECIAL + NTOPLEVEL];

static void set_vocabulary(void)
{
	_Static_assert(NSPECIAL + NTOPLEVEL <= MAX_VOCABULARY, "vocabulary too long");
	if (!vocabulary[0]) {
		for (int i = 0; i < NSPECIAL; i++) {
			vocabulary[i] = special_forms[i].name;
			word_binop[i] = -1;
			for (size_t op = 0; op < sizeof(binops) / sizeof(binops[0]); op++)
				if (special_forms[i].parse == parse_binop && !strcmp(binops[op].name, vocabulary[i]))
					word_binop[i] = (signed char)op;
		}
		for (int i = 0; i < NTOPLEVEL; i++) {
			vocabulary[NSPECIAL + i] = toplevel_forms[i].name;
			word_binop[NSPECIAL + i] = -1;
		}
	}
	reader_set_vocabulary(vocabulary, NSPECIAL + NTOPLEVEL, NSPECIAL);
}

/* Which top-level form head is: its index in toplevel_forms, or -1. */
static int toplevel_form_of(const Sexp *head)
{
	if (head->word >= 2)
		return head->word - 2 >= NSPECIAL ? head->word - 2 - NSPECIAL : -1;
	if (head->word == 1)
		return -1;
	for (int i = 0; i < NTOPLEVEL; i++)
		if (!strcmp(toplevel_forms[i].name, head->text))
			return i;
	return -1;
}

/* The Sexp.word of `defn` */
static uint8_t defn_word(void)
{
	for (int i = 0;; i++)
		if (toplevel_forms[i].parse == parse_defn)
			return (uint8_t)(2 + NSPECIAL + i);
}

static Decl *parse_toplevel(Parser *p, Sexp *form)
{
	if (form->kind == SX_LIST && form->nitems && form->items[0]->kind == SX_SYMBOL) {
		const char *head = form->items[0]->text;
		int top = toplevel_form_of(form->items[0]);
		if (top >= 0)
			return toplevel_forms[top].parse(p, form);
		if (!strcmp(head, "fn") || !strcmp(head, "lambda")) {
			diag_error(form->span, "anonymous functions are not supported in BPF modules");
			return NULL;
		}
	}
	diag_error(form->span, "unsupported top-level form in BPF module: %s", render(form));
	return NULL;
}

/* One top-level form into the module, unless it had a syntax error. */
static void parse_form(Sexp *form, void *parser)
{
	Parser *p = parser;
	int errors = diag_error_count();
	Decl *d = parse_toplevel(p, form);
	if (!d || diag_error_count() != errors)
		return;
	if (d->kind == D_PROGRAM)
		p->m->program = d->u.program;
	else if (d->kind == D_RECORD)
		vec_push(&p->m->records, d);
	vec_push(&p->m->decls, d);
}

static Module *new_module(const SourceFile *file)
{
	Module *m = arena_alloc(sizeof(*m));
	m->file = file;
	m->license = "GPL";
	return m;
}

Module *parse_module(const SourceFile *file, Vec forms)
{
	Parser p = { .file = file, .m = new_module(file) };
	for (int i = 0; i < forms.len; i++)
		parse_form(forms.items[i], &p);
	return p.m;
}

Module *parse_file(const SourceFile *file)
{
	set_vocabulary();
	Parser p = { .file = file, .m = new_module(file) };
	read_file_each_with_comments(file, parse_form, &p, &p.m->comments);
	return p.m;
}

Module *parse_file_declarations(const SourceFile *file, bool skim_bodies)
{
	set_vocabulary();
	Parser p = { .file = file, .m = new_module(file), .drop_bodies = true };
	/* room for a declaration per 128 source bytes (bench/gen_large.sh
	 * has one per 148), which --check keeps to the end: doubling from 4
	 * left behind arrays as big as the last (1 MB at 10 MB) */
	int room = (int)(file->len / 128) + 4;
	p.m->decls = (Vec){ .items = arena_alloc(sizeof(void *) * (size_t)room), .cap = room };
	if (skim_bodies)
		read_file_each_skimming(file, parse_form, &p, defn_word(), SKIP_BODIES);
	else
		read_file_each(file, parse_form, &p);
	return p.m;
}

typedef struct DefnPass {
	Parser parser;
	void (*each)(FnDecl *fn, void *ctx);
	void *ctx;
	int errors;             /* diag_error_count() after the last each() */
	bool failed;            /* reading or parsing reported an error */
} DefnPass;

static bool is_defn_form(const Sexp *form)
{
	if (form->kind != SX_LIST || !form->nitems || form->items[0]->kind != SX_SYMBOL)
		return false;
	int top = toplevel_form_of(form->items[0]);
	return top >= 0 && (toplevel_forms[top].parse == parse_defn || toplevel_forms[top].parse == parse_defprog);
}

static void parse_defn_form(Sexp *form, void *pass)
{
	DefnPass *dp = pass;
	dp->failed |= diag_error_count() != dp->errors;
	if (dp->failed || !is_defn_form(form))
		return;
	arena_transient_begin();
	FnDecl *fn = NULL;
	if (form->skipped == SKIPPED_HEADER && form->nitems < 2) {
		/* (defn) with no body, which the first pass would have refused:
		 * it guessed a body's end wrong and never saw this one
		 * (read_file_each_skimming), so the exact path reads it */
		dp->failed = true;
	} else if (form->skipped == SKIPPED_HEADER) {
		/* (defn body ...): the first pass parsed the rest */
		fn = arena_alloc_transient(sizeof(*fn));
		fn->span = form->span;  /* where the declarations pass must have found it */
		fn->body = new_node(N_DO, span_join(form->items[1]->span, form->items[form->nitems - 1]->span));
		if (!parse_args(&dp->parser, form, 1, &fn->body->args))
			fn = NULL;
	} else {
		Decl *d = parse_toplevel(&dp->parser, form);
		fn = d && d->kind == D_FN ? d->u.fn : NULL;
	}
	dp->failed |= diag_error_count() != dp->errors;
	if (!dp->failed && fn) {
		dp->each(fn, dp->ctx);
		dp->errors = diag_error_count();
	}
	arena_transient_end();
}

bool parse_file_defns(const SourceFile *file, bool skip_headers, void (*each)(FnDecl *fn, void *ctx),
		      void *ctx)
{
	set_vocabulary();
	DefnPass dp = { .parser = { .file = file, .m = new_module(file) }, .each = each, .ctx = ctx,
			.errors = diag_error_count() };
	if (skip_headers)
		read_file_each_skimming(file, parse_defn_form, &dp, defn_word(), SKIP_HEADERS);
	else
		read_file_each(file, parse_defn_form, &dp);
	return !dp.failed && diag_error_count() == dp.errors;
}
