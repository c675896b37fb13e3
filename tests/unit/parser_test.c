/* Unit tests for parser.c: the AST of every core form, the rewritings
 * (cond, threading, bpf:name), record-type placeholders, and the syntax
 * errors with their positions and recovery. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static char *captured;
static size_t captured_len;
static FILE *capture;
static SourceFile src;

/* Reads and parses text as "p.va" with diagnostics captured. */
static Module *parse(const char *text)
{
	src = source_from("p.va", text, strlen(text));
	capture = diag_capture_begin(&captured, &captured_len);
	Module *m = parse_module(&src, read_file_forms(&src));
	fflush(capture);
	return m;
}

static const char *diags(void)
{
	fflush(capture);
	return captured ? captured : "";
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

TestSuite(parser, .fini = teardown);

static Decl *decl(Module *m, int i)
{
	cr_assert(i < m->decls.len, "no declaration %d (%d in all); diagnostics:\n%s", i, m->decls.len,
		  diags());
	return m->decls.items[i];
}

/* The body of the only defn in text, which must be a single expression. */
static Node *body_of(const char *text)
{
	Module *m = parse(text);
	cr_assert_eq(diag_error_count(), 0, "%s", diags());
	Decl *d = decl(m, m->decls.len - 1);
	cr_assert_eq(d->kind, D_FN);
	Node *body = d->u.fn->body;
	cr_assert_eq(body->kind, N_DO);
	cr_assert_eq(body->args.len, 1);
	return body->args.items[0];
}

static Node *arg(Node *call, int i)
{
	cr_assert(i < call->args.len);
	return call->args.items[i];
}

Test(parser, defn_signature_and_body)
{
	Module *m = parse("(defn handler [ctx :XdpMd n :u32 f :bool] :u64\n  1\n  (g n))");
	cr_assert_eq(diag_error_count(), 0, "%s", diags());
	FnDecl *fn = decl(m, 0)->u.fn;
	cr_assert_str_eq(fn->name, "handler");
	cr_assert_eq(fn->name_span.col, 7);
	cr_assert_eq(fn->nparams, 3);
	cr_assert_str_eq(fn->params[0]->name, "ctx");
	Type *ctx = fn->params[0]->type;
	cr_assert_eq(ctx->kind, TY_RECORD, "record names are placeholders for the checker");
	cr_assert_str_eq(ctx->name, "XdpMd");
	cr_assert_null(ctx->record);
	cr_assert_eq(ctx->span.col, 20, "the placeholder knows where it was written");
	cr_assert_eq(fn->params[1]->type, ty_u32);
	cr_assert_eq(fn->params[2]->type, ty_bool);
	cr_assert_eq(fn->ret, ty_u64);
	cr_assert_eq(fn->body->kind, N_DO);
	cr_assert_eq(fn->body->args.len, 2, "several body forms become one N_DO");
	cr_assert_eq(fn->body->span.line, 2);
}

Test(parser, literals_and_names)
{
	Node *n = body_of("(defn f [] :u64 (g -5 0x10 true false x \\a))");
	cr_assert_eq(n->kind, N_CALL);
	cr_assert_eq(arg(n, 0)->kind, N_INT);
	cr_assert(arg(n, 0)->negative);
	cr_assert_eq(arg(n, 0)->value, (uint64_t)-5);
	cr_assert_eq(arg(n, 1)->value, 16);
	cr_assert_eq(arg(n, 2)->kind, N_BOOL);
	cr_assert_eq(arg(n, 2)->value, 1);
	cr_assert_eq(arg(n, 3)->value, 0);
	cr_assert_eq(arg(n, 4)->kind, N_NAME);
	cr_assert_str_eq(arg(n, 4)->name, "x");
	cr_assert_eq(arg(n, 5)->value, 97);
}

Test(parser, qualified_names_are_normalised)
{
	Node *n = body_of("(defn f [] :u64 (bpf:ktime_get_ns (bpf/get_prandom_u32)))");
	cr_assert_str_eq(n->name, "bpf/ktime_get_ns");
	cr_assert_str_eq(arg(n, 0)->name, "bpf/get_prandom_u32");
	cr_assert_eq(n->name_span.col, 18);
	cr_assert_eq(n->name_span.len, 16);
}

Test(parser, let_bindings_and_body)
{
	Node *n = body_of("(defn f [] :u64 (let [a 1 a (+ a 1)] (g a) a))");
	cr_assert_eq(n->kind, N_LET);
	cr_assert_eq(n->bindings.len, 2);
	Binding *b = n->bindings.items[1];
	cr_assert_str_eq(b->name, "a");
	cr_assert_eq(b->name_span.col, 27);
	cr_assert_eq(b->init->kind, N_BINOP);
	cr_assert_eq(n->body->kind, N_DO);
	cr_assert_eq(n->body->args.len, 2);
}

Test(parser, operators_casts_and_negation)
{
	Node *n = body_of("(defn f [x :u64] :u64 (band (bsl (- x) 2) (- (u64 (u8 x)) 1)))");
	cr_assert_eq(n->kind, N_BINOP);
	cr_assert_eq(n->op, OP_AND);
	cr_assert_eq(n->lhs->op, OP_SHL);
	cr_assert_eq(n->lhs->lhs->kind, N_NEG);
	cr_assert_eq(n->rhs->op, OP_SUB);
	Node *cast = n->rhs->lhs;
	cr_assert_eq(cast->kind, N_CAST);
	cr_assert_eq(cast->cast_to, ty_u64);
	cr_assert_eq(cast->lhs->cast_to, ty_u8);
	cr_assert_str_eq(binop_source_name(OP_DIV), "div");
	cr_assert_str_eq(binop_c_name(OP_XOR), "^");
	cr_assert(binop_is_comparison(OP_LE));
	cr_assert(!binop_is_comparison(OP_REM));
}

Test(parser, cond_becomes_nested_ifs)
{
	Node *n = body_of("(defn f [x :u64] :u64\n  (cond [(== x 1) 10]\n        [(== x 2) 20]\n        [:else 30]))");
	cr_assert_eq(n->kind, N_IF);
	cr_assert_eq(n->span.line, 2, "the outer if stands for the whole cond");
	cr_assert_eq(n->cond->op, OP_EQ);
	cr_assert_eq(n->then->value, 10);
	cr_assert_eq(n->els->kind, N_IF);
	cr_assert_eq(n->els->span.line, 3);
	cr_assert_eq(n->els->then->value, 20);
	cr_assert_eq(n->els->els->kind, N_INT);
	cr_assert_eq(n->els->els->value, 30);
}

Test(parser, threading_rewrites_to_nested_calls)
{
	Node *n = body_of("(defn f [p :R] :u64 (-> p (. :len) (g 1) h :field))");
	/* (. (h (g (. p :len) 1)) :field) */
	cr_assert_eq(n->kind, N_FIELD);
	cr_assert_str_eq(n->name, "field");
	Node *h = n->lhs;
	cr_assert_eq(h->kind, N_CALL);
	cr_assert_str_eq(h->name, "h");
	Node *g = arg(h, 0);
	cr_assert_str_eq(g->name, "g");
	cr_assert_eq(g->args.len, 2);
	cr_assert_eq(arg(g, 0)->kind, N_FIELD);
	cr_assert_str_eq(arg(g, 0)->lhs->name, "p");
	cr_assert_eq(arg(g, 1)->value, 1);

	teardown();
	n = body_of("(defn f [x :u64] :u64 (->> x (- 10) (g 1 2)))");
	/* (g 1 2 (- 10 x)) */
	cr_assert_str_eq(n->name, "g");
	cr_assert_eq(n->args.len, 3);
	Node *sub = arg(n, 2);
	cr_assert_eq(sub->op, OP_SUB);
	cr_assert_eq(sub->lhs->value, 10);
	cr_assert_str_eq(sub->rhs->name, "x");
}

Test(parser, fields_set_and_for_range)
{
	Node *n = body_of("(defn f [p :R] :unit\n  (do (set! total (. p :len))\n      (set! (. p len) 1)\n      (for-range i 0 10 (g i) (h i))))");
	cr_assert_eq(n->kind, N_DO);
	Node *set_global = arg(n, 0);
	cr_assert_eq(set_global->kind, N_SET);
	cr_assert_str_eq(set_global->name, "total");
	cr_assert_null(set_global->lhs);
	cr_assert_eq(set_global->rhs->kind, N_FIELD);
	cr_assert_eq(set_global->rhs->name_span.col, 24);
	Node *set_field = arg(n, 1);
	cr_assert_null(set_field->name);
	cr_assert_eq(set_field->lhs->kind, N_FIELD);
	cr_assert_str_eq(set_field->lhs->name, "len");
	Node *loop = arg(n, 2);
	cr_assert_eq(loop->kind, N_FOR);
	cr_assert_str_eq(loop->var_name, "i");
	cr_assert_eq(loop->lhs->value, 0);
	cr_assert_eq(loop->rhs->value, 10);
	cr_assert_eq(loop->body->kind, N_DO);
}

Test(parser, boolean_forms)
{
	Node *n = body_of("(defn f [a :bool b :bool] :bool (andalso (not a) (orelse a b)))");
	cr_assert_eq(n->kind, N_AND);
	cr_assert_eq(n->lhs->kind, N_NOT);
	cr_assert_eq(n->rhs->kind, N_OR);
}

Test(parser, match_patterns)
{
	Node *n = body_of("(defn f [x :u64] :u64\n  (match (g x)\n    [(Some p) 1]\n    [(Some _) 2]\n    [(None) 3]\n"
			  "    [-7 4]\n    [true 5]\n    [_ 6]\n    [y (g y) y]))");
	cr_assert_eq(n->kind, N_MATCH);
	cr_assert_eq(n->lhs->kind, N_CALL);
	cr_assert_eq(n->clauses.len, 7);
	PatternKind kinds[] = { PAT_SOME, PAT_SOME, PAT_NONE, PAT_INT, PAT_BOOL, PAT_WILD, PAT_BIND };
	for (int i = 0; i < 7; i++) {
		MatchClause *c = n->clauses.items[i];
		cr_assert_eq(c->pattern->kind, kinds[i], "clause %d", i);
		cr_assert_eq(c->span.line, (uint32_t)i + 3);
	}
	MatchClause *c0 = n->clauses.items[0], *c1 = n->clauses.items[1], *c3 = n->clauses.items[3];
	MatchClause *c6 = n->clauses.items[6];
	cr_assert_str_eq(c0->pattern->bind_name, "p");
	cr_assert_null(c1->pattern->bind_name, "(Some _) binds nothing");
	cr_assert(c3->pattern->negative);
	cr_assert_eq(c3->pattern->value, (uint64_t)-7);
	cr_assert_str_eq(c6->pattern->bind_name, "y");
	cr_assert_eq(c6->body->kind, N_DO);
}

Test(parser, top_level_declarations)
{
	Module *m = parse("(ns Demo)\n(import Lib :as L)\n(license \"Dual BSD/GPL\")\n"
			  "(program :kprobe \"sys_execve\")\n"
			  "(defmap counts :hash u32 :Event 1024 :pinned true :flags 1)\n"
			  "(defmap events :ringbuf 0 0 8192)\n"
			  "(defglobal total :u64)\n(defconst limit :i32 -3)\n"
			  "(deftype Event [pid :u32 inner :Inner])\n"
			  "(extern bpf:map_lookup_elem [:u64 :u64] :u64)\n"
			  "(defn f [] :unit (do))");
	cr_assert_eq(diag_error_count(), 0, "%s", diags());
	cr_assert_str_eq(m->license, "Dual BSD/GPL");
	cr_assert_eq(m->decls.len, 8, "ns, import and license are not declarations");
	cr_assert_not_null(m->program);
	cr_assert_str_eq(m->program->kind->name, "kprobe");
	cr_assert_str_eq(m->program->attach, "sys_execve");

	MapDecl *counts = decl(m, 1)->u.map;
	cr_assert_str_eq(counts->name, "counts");
	cr_assert_str_eq(counts->map_type->name, "hash");
	cr_assert_eq(counts->key, ty_u32, "bare u32 is a type in defmap");
	cr_assert_str_eq(counts->value->name, "Event");
	cr_assert_eq(counts->max_entries, 1024);
	cr_assert(counts->pinned);
	cr_assert_eq(counts->flags, 1);
	MapDecl *events = decl(m, 2)->u.map;
	cr_assert_null(events->key, "0 means none");
	cr_assert_null(events->value);

	GlobalDecl *total = decl(m, 3)->u.global;
	cr_assert(!total->is_const);
	cr_assert_null(total->init);
	GlobalDecl *limit = decl(m, 4)->u.global;
	cr_assert(limit->is_const);
	cr_assert_eq(limit->type, ty_i32);
	cr_assert(limit->init->negative);

	Record *ev = decl(m, 5)->u.record->record;
	cr_assert_str_eq(ev->name, "Event");
	cr_assert_eq(ev->nfields, 2);
	cr_assert_str_eq(ev->fields[1]->name, "inner");
	cr_assert_str_eq(ev->fields[1]->type->name, "Inner");

	ExternDecl *ext = decl(m, 6)->u.ext;
	cr_assert_str_eq(ext->ns, "bpf");
	cr_assert_str_eq(ext->name, "map_lookup_elem");
	cr_assert_eq(ext->nparams, 2);
	cr_assert_eq(ext->ret, ty_u64);

	FnDecl *fn = decl(m, 7)->u.fn;
	cr_assert_eq(fn->ret, ty_unit);
	cr_assert_eq(((Node *)fn->body->args.items[0])->args.len, 0, "(do) is empty");
}

Test(parser, type_aliases_and_rejections)
{
	Module *m = parse("(defglobal a :U32)\n(defglobal b :int)\n(defglobal c :f64)\n"
			  "(defglobal d :u128)\n(defn e [x (List :u64)] :u64 0)");
	cr_assert_eq(decl(m, 0)->u.global->type, ty_u32);
	cr_assert_eq(m->decls.len, 1);
	const char *out = diags();
	cr_assert(strstr(out, "p.va:2:14: error: type :int is not supported in BPF modules\n"), "%s", out);
	cr_assert(strstr(out, "p.va:3:14: error: type :f64 is not supported in BPF modules\n"), "%s", out);
	cr_assert(strstr(out, "p.va:4:14: error: unknown type :u128\n"), "%s", out);
	cr_assert(strstr(out, "p.va:5:12: error: type (List :u64) is not supported in BPF modules\n"), "%s", out);
	cr_assert_eq(diag_error_count(), 4);
}

Test(parser, if_without_else)
{
	parse("(defn f [x :u64] :u64\n  (if (> x 1) x))");
	cr_assert_str_eq(diags(), "p.va:2:3: error: if requires an else branch: (if cond then else)\n"
				  "  (if (> x 1) x))\n"
				  "  ^~~~~~~~~~~~~~\n"
				  "hint: BPF functions return a value on every path; use (do ...) for effects "
				  "and give the else branch a value\n");
}

Test(parser, let_errors)
{
	parse("(defn f [] :u64 (let [a 1 b] a))\n(defn g [] :u64 (let [[a b] x] a))");
	const char *out = diags();
	cr_assert(strstr(out, "p.va:1:27: error: let bindings must come in pairs: `b` has no value\n"), "%s", out);
	cr_assert(strstr(out, "p.va:2:23: error: destructuring let is not supported in BPF modules\n"), "%s", out);
	cr_assert_eq(diag_error_count(), 2);
}

Test(parser, defn_errors)
{
	Module *m = parse("(defn a [x y :u64] :u64 x)\n"
			  "(defn b [p :u64 q :u64 r :u64 s :u64 t :u64 u :u64] :u64 p)\n"
			  "(defn c [x :u64] (+ x 1))\n"
			  "(defn d ([x :u64] :u64 x))\n"
			  "(defn ok [] :u64 0)");
	const char *out = diags();
	cr_assert(strstr(out, "p.va:1:10: error: parameter `x` of `a` needs a type annotation, e.g. [x :u64]\n"), "%s", out);
	cr_assert(strstr(out, "p.va:2:9: error: function `b` has 6 parameters: BPF functions take at most 5\n"), "%s", out);
	cr_assert(strstr(out, "p.va:3:18: error: function `c` needs a return type after its parameters, e.g. :u64\n"), "%s", out);
	cr_assert(strstr(out, "p.va:4:1: error: multi-clause defn is not supported in BPF modules\n"), "%s", out);
	cr_assert_eq(diag_error_count(), 4);
	cr_assert_eq(m->decls.len, 1, "the good defn after four bad ones is kept");
	cr_assert_str_eq(decl(m, 0)->u.fn->name, "ok");
}

Test(parser, program_errors)
{
	Module *m = parse("(program :xdp)\n(program :tc)\n");
	cr_assert_str_eq(diags(), "p.va:2:1: error: only one program form allowed\n"
				  "(program :tc)\n"
				  "^~~~~~~~~~~~~\n"
				  "p.va:1:1: note: the first program form is here\n"
				  "(program :xdp)\n"
				  "^~~~~~~~~~~~~~\n");
	cr_assert_str_eq(m->program->kind->name, "xdp");
	teardown();
	parse("(program :xpd)");
	cr_assert(strstr(diags(), "p.va:1:10: error: unknown program kind :xpd\nhint: program kinds are :xdp :tc") ||
		  strstr(diags(), "p.va:1:10: error: unknown program kind :xpd\n"), "%s", diags());
	teardown();
	parse("(ns Counter :target bpf)");
	cr_assert(strstr(diags(), "p.va:1:13: error: (ns Name) takes only a module name\n"), "%s", diags());
}

Test(parser, defmap_errors)
{
	parse("(defmap a :hash :u32 :u64 0)\n(defmap b :ringbuf 0 0 1000)\n(defmap c :nope :u32 :u64 1)\n"
	      "(defmap d :hash :u32 :u64 1 :color 2)\n(defmap e :array :u32)");
	const char *out = diags();
	cr_assert(strstr(out, "p.va:1:27: error: max_entries must be a positive integer below 2^32, found `0`\n"), "%s", out);
	cr_assert(strstr(out, "p.va:2:24: error: ringbuf size 1000 must be a power-of-two multiple of the page size (4096)\n"), "%s", out);
	cr_assert(strstr(out, "p.va:3:11: error: unknown map type :nope\n"), "%s", out);
	cr_assert(strstr(out, "p.va:4:29: error: unknown defmap option :color\n"), "%s", out);
	cr_assert(strstr(out, "p.va:5:1: error: defmap is written (defmap name :type key value max-entries)\n"), "%s", out);
	cr_assert_eq(diag_error_count(), 5);
}

Test(parser, cond_errors)
{
	parse("(defn f [x :u64] :u64 (cond [(> x 1) 1]))\n(defn g [x :u64] :u64 (cond [:else 1] [x 2]))");
	const char *out = diags();
	cr_assert(strstr(out, "p.va:1:40: error: cond requires a final [:else ...] clause\n"), "%s", out);
	cr_assert(strstr(out, "p.va:2:30: error: the :else clause must be the last clause of cond\n"), "%s", out);
}

Test(parser, pattern_errors)
{
	parse("(defn f [x :u64] :u64 (match x [:ok 1] [None 2] [(Some (Some y)) 3] [\"s\" 4]))");
	const char *out = diags();
	cr_assert(strstr(out, "p.va:1:33: error: atom pattern :ok is not supported in BPF modules\n"), "%s", out);
	cr_assert(strstr(out, "p.va:1:41: error: bare `None` is not a pattern: write (None)\n"), "%s", out);
	cr_assert(strstr(out, "p.va:1:56: error: nested patterns are not supported: (Some p) binds a name or _\n"), "%s", out);
	cr_assert(strstr(out, "p.va:1:70: error: unsupported pattern `\"s\"`\n"), "%s", out);
	cr_assert_eq(diag_error_count(), 4);
}

Test(parser, expression_rejections)
{
	parse("(defn f [] :u64\n  (g 1.5 \"s\" :k [1] (fn [x] x) (Some 1) ()))");
	const char *out = diags();
	cr_assert(strstr(out, "p.va:2:6: error: floating-point literal 1.5 is not supported in BPF modules\n"), "%s", out);
	cr_assert(strstr(out, "p.va:2:10: error: string literals are not allowed here\n"), "%s", out);
	cr_assert(strstr(out, "p.va:2:14: error: keyword :k is not a value in BPF modules\n"), "%s", out);
	cr_assert(strstr(out, "p.va:2:17: error: list literals are not supported in BPF modules\n"), "%s", out);
	cr_assert(strstr(out, "p.va:2:21: error: anonymous functions are not supported in BPF modules\n"), "%s", out);
	cr_assert(strstr(out, "p.va:2:32: error: `Some` is only allowed in match patterns\n"), "%s", out);
	cr_assert(strstr(out, "p.va:2:41: error: empty form () is not an expression\n"), "%s", out);
	cr_assert_eq(diag_error_count(), 7);
}

Test(parser, sum_types_and_unsupported_forms)
{
	Module *m = parse("(deftype Shape (Circle :u64))\n(defmodule X)\n(defglobal g)\n(defglobal ok :u8 1)");
	const char *out = diags();
	cr_assert(strstr(out, "p.va:1:1: error: sum types are not supported in BPF modules\n"), "%s", out);
	cr_assert(strstr(out, "p.va:2:1: error: unsupported top-level form in BPF module: (defmodule X)\n"), "%s", out);
	cr_assert(strstr(out, "p.va:3:1: error: defglobal is written (defglobal name :type [initial-value])\n"), "%s", out);
	cr_assert_eq(m->decls.len, 1);
}

Test(parser, malformed_input_never_crashes)
{
	static const char *const inputs[] = {
		"(defn)", "(defn f)", "(defn f [])", "(defn f [] :u64)", "(defn [x] :u64 1)",
		"(defn f [:u64 x] :u64 1)", "(defn f [x] :u64 1)", "(let)", "(defn f [] :u64 (let))",
		"(defn f [] :u64 (let [x]))", "(defn f [] :u64 (match))", "(defn f [] :u64 (cond))",
		"(defn f [] :u64 (cond []))", "(defn f [] :u64 (-> ))", "(defn f [] :u64 (->> x ()))",
		"(defn f [] :u64 (. ))", "(defn f [] :u64 (set!))", "(defn f [] :u64 (for-range))",
		"(defn f [] :u64 (if))", "(defn f [] :u64 (Some))", "(program)", "(program 1 2 3 4)",
		"(defmap)", "(defmap 1 2 3 4 5)", "(deftype)", "(deftype X)", "(deftype X [a])",
		"(extern)", "(extern : [] :u64)", "(extern bpf: [] :u64)", "(ns)", "(import)",
		"(license)", "()", "[]", "1", "\"s\"", ":k", "(1 2)", "((((x))))",
		"(defn f [] :u64 (match x [(Some) 1] [(None 1) 2] [() 3]))",
		"(defglobal x :u64 (fn))", "(defconst x :u64)",
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		parse(inputs[i]);
		cr_assert_gt(diag_error_count(), 0, "no error for %s", inputs[i]);
		teardown();
	}
}

/* parse_file reads and parses form by form, recycling the S-expressions:
 * it must build the same module and print the same diagnostics. */
Test(parser, streaming_matches_reading_everything_first)
{
	static const char text[] =
		"(program :xdp)\n(defmap m :hash :u32 :u64 0)\n"
		"(defn f [x :u64] :u64 (-> x (+ 1) (g 2) :len))\n"
		"(defn bad [x y :u64] :u64 (if x 1))\n"
		"(deftype R [a :u32 b :Other])\n(program :tc)\n"
		"(defn h [r :R] :u64 (match (g r) [(Some p) (. p :a)] [(None) 0]))\n";
	Module *batch = parse(text);
	char *batch_diags = strdup(diags());
	int batch_decls = batch->decls.len;
	FnDecl *batch_f = ((Decl *)batch->decls.items[1])->u.fn;
	cr_assert_eq(((Node *)batch_f->body->args.items[0])->kind, N_FIELD);
	teardown();

	src = source_from("p.va", text, strlen(text));
	capture = diag_capture_begin(&captured, &captured_len);
	Module *stream = parse_file(&src);
	cr_assert_str_eq(diags(), batch_diags);
	cr_assert_eq(stream->decls.len, batch_decls);
	cr_assert_eq(stream->decls.len, 4);
	FnDecl *f = ((Decl *)stream->decls.items[1])->u.fn;
	Node *field = f->body->args.items[0];
	cr_assert_eq(field->kind, N_FIELD);
	cr_assert_str_eq(field->name, "len");
	cr_assert_str_eq(field->lhs->name, "g");
	cr_assert_str_eq(((Node *)field->lhs->args.items[0])->lhs->name, "x");
	Record *r = ((Decl *)stream->decls.items[2])->u.record->record;
	cr_assert_str_eq(r->fields[1]->type->name, "Other");
	cr_assert_eq(r->fields[1]->type->span.line, 5);
	free(batch_diags);
}

Test(parser, expansion_is_limited)
{
	StrBuf sb = { 0 };
	sb_puts(&sb, "(defn f [x :u64] :u64 (cond");
	for (int i = 0; i < 1000; i++)
		sb_printf(&sb, " [(== x %d) %d]", i, i);
	sb_puts(&sb, " [:else 0]))\n(defn g [x :u64] :u64 (-> x");
	for (int i = 0; i < 1001; i++)
		sb_puts(&sb, " (+ 1)");
	sb_puts(&sb, "))\n");
	parse(sb.data);
	cr_assert(strstr(diags(), "p.va:1:23: error: cond has 1001 clauses: at most 1000 are supported\n"), "%s", diags());
	cr_assert(strstr(diags(), "p.va:2:23: error: `->` has 1001 steps: at most 1000 are supported\n"), "%s", diags());
	cr_assert_eq(diag_error_count(), 2);
	sb_free(&sb);
}
