/* Unit tests for checker.c (through frontend_run, so the reader and the
 * parser build real ASTs): every rejection with its message, and the
 * annotations the backend relies on (literal types, C names, the entry,
 * call depth, helper return types). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static char *captured;
static size_t captured_len;
static SourceFile source;

static char *captured_check;
static size_t captured_check_len;

/* Runs the front end on src; diagnostics land in `captured`. Every test
 * also runs frontend_check (--check: one body at a time, two passes),
 * which must give the same verdict and the same diagnostics. */
static Module *run(const char *src)
{
	source = source_from("t.va", src, strlen(src));
	FILE *out = diag_capture_begin(&captured_check, &captured_check_len);
	bool checked = frontend_check(&source);
	diag_capture_end(out);
	out = diag_capture_begin(&captured, &captured_len);
	Module *m = frontend_run(&source);
	diag_capture_end(out);
	cr_assert_eq(checked, m != NULL, "frontend_check says %s, frontend_run %s:\n%s", checked ? "ok" : "rejected",
		     m ? "ok" : "rejected", src);
	cr_assert_str_eq(captured_check, captured, "frontend_check and frontend_run differ on:\n%s", src);
	return m;
}

static Module *accepts(const char *src)
{
	Module *m = run(src);
	cr_assert(m, "rejected:\n%s\n--- diagnostics:\n%s", src, captured);
	cr_assert_str_empty(captured, "accepted with output:\n%s", captured);
	return m;
}

/* msg must be the text of the first error: "t.va:L:C: error: msg". */
static void rejects(const char *src, const char *where, const char *msg)
{
	Module *m = run(src);
	cr_assert_null(m, "accepted:\n%s", src);
	char *want = NULL;
	cr_assert(asprintf(&want, "t.va:%s: error: %s\n", where, msg) > 0);
	cr_assert(strncmp(captured, want, strlen(want)) == 0, "source:\n%s\nwanted first line:\n%s\ngot:\n%s", src,
		  want, captured);
	free(want);
}

static int count_errors(void)
{
	int n = 0;
	for (const char *p = captured; (p = strstr(p, ": error: ")); p++)
		n++;
	return n;
}

static FnDecl *fn_named(Module *m, const char *name)
{
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_FN && strcmp(d->u.fn->name, name) == 0)
			return d->u.fn;
	}
	cr_assert_fail("no defn %s", name);
	return NULL;
}

static Node *last_of(Node *n)
{
	while (n->kind == N_DO && n->args.len)
		n = n->args.items[n->args.len - 1];
	return n;
}

static void teardown(void)
{
	free(captured);
	captured = NULL;
	free(captured_check);
	captured_check = NULL;
	arena_reset();
	diag_reset();
}

TestSuite(checker, .fini = teardown);

/* ---- literals and operators ---------------------------------------------- */

Test(checker, literal_in_let_needs_context)
{
	rejects("(defn f [] :u64 (let [x 5] x))", "1:25", "integer literal requires type context");
}

Test(checker, literal_in_cast_needs_context)
{
	rejects("(defn f [] :u64 (u64 5))", "1:22", "integer literal requires type context");
}

Test(checker, literal_takes_return_type)
{
	Module *m = accepts("(defn f [] :u16 7)");
	cr_assert_eq(last_of(fn_named(m, "f")->body)->type, ty_u16);
}

Test(checker, literal_takes_other_operand_type)
{
	Module *m = accepts("(defn f [x :u8] :bool (== 3 x))");
	Node *cmp = last_of(fn_named(m, "f")->body);
	cr_assert_eq(cmp->type, ty_bool);
	cr_assert_eq(cmp->lhs->type, ty_u8);
}

Test(checker, literal_out_of_range)
{
	rejects("(defn f [] :u8 256)", "1:16", "integer literal 256 does not fit in :u8");
	rejects("(defn f [] :u32 -1)", "1:17", "integer literal -1 does not fit in :u32");
}

Test(checker, operands_same_type)
{
	rejects("(defn f [a :u32 b :u64] :u64 (+ a b))", "1:30", "+ requires both operands to be the same type");
}

Test(checker, integer_operands)
{
	rejects("(defn f [a :bool] :bool (* a a))", "1:28", "* requires integer operands, got :bool");
	accepts("(defn f [a :bool b :bool] :bool (< a b))");
	rejects("(defn f [a :bool b :u8] :u8 (band b a))", "1:37", "band requires integer operands, got :bool");
}

Test(checker, bool_operators)
{
	rejects("(defn f [a :u8] :bool (not a))", "1:28", "`not` requires a boolean, got :u8");
	rejects("(defn f [a :u8] :bool (andalso true a))", "1:37", "andalso requires boolean operands, got :u8");
	accepts("(defn f [a :u8 b :bool] :bool (orelse (== a 1) (not b)))");
}

Test(checker, division_by_literal_zero)
{
	rejects("(defn f [a :u32] :u32 (div a 0))", "1:30", "division by zero: divisor is literal 0");
	rejects("(defn f [a :u32] :u32 (rem a 0))", "1:30", "division by zero: divisor is literal 0");
}

Test(checker, shift_by_width)
{
	rejects("(defn f [a :u32] :u32 (bsl a 32))", "1:30", "shift amount 32 exceeds type width of 32 bits");
	rejects("(defn f [a :u8] :u8 (bsr a -1))", "1:28", "shift amount -1 is negative");
	accepts("(defn f [a :u64] :u64 (bsl a 63))");
	accepts("(defn f [a :u64] :u64 (bsl a -0))");
	accepts("(defn f [a :i64] :i64 (bsl a (- 0)))");
}

Test(checker, safety_applies_in_every_function)
{
	run("(defn f [a :u32] :u32 (div a 0))\n(defn g [a :u64] :u64 (bsl a 64))");
	cr_assert_eq(count_errors(), 2, "%s", captured);
}

Test(checker, negation)
{
	rejects("(defn f [a :bool] :bool (- a))", "1:28", "negation requires an integer type, got :bool");
	Module *m = accepts("(defn f [] :i8 (- 128))");
	cr_assert_eq(last_of(fn_named(m, "f")->body)->type, ty_i8);
}

Test(checker, casts_between_integers_only)
{
	rejects("(defn f [a :bool] :u8 (u8 a))", "1:27", "type cast requires an integer type, got :bool (a cast to :u8)");
	accepts("(defn f [a :u64] :i16 (i16 a))");
}

/* ---- if, match, let, do ---------------------------------------------------- */

Test(checker, if_condition_boolean)
{
	rejects("(defn f [a :u32] :u32 (if a 1 2))", "1:27", "if condition must be boolean, got :u32");
}

Test(checker, if_branches_agree)
{
	rejects("(defn f [a :u32 b :u64] :u32 (if true a b))", "1:30", "if branches have different types");
}

Test(checker, cond_else)
{
	accepts("(defn f [a :u32] :u32 (cond [(== a 1) 10] [(== a 2) 20] [:else 0]))");
}

Test(checker, match_nullable_needs_both)
{
	rejects("(defmap m :hash :u32 :u64 4)\n(extern bpf:map_lookup_elem [:u64 :u64] :u64)\n"
		"(defn f [k :u64] :u64 (match (bpf/map_lookup_elem m k) [(Some v) (bpf/load_u64 v 0)]))",
		"3:23", "non-exhaustive match on nullable pointer: must handle both (Some v) and (None)");
}

Test(checker, match_lookup_binds_value_pointer)
{
	Module *m = accepts("(deftype Stats [hits :u64 bytes :u32])\n(defmap m :hash :u32 :Stats 4)\n"
			    "(extern bpf:map_lookup_elem [:u64 :u64] :u64)\n"
			    "(defn f [k :u64] :u32 (match (bpf/map_lookup_elem m k) [(Some s) (. s :bytes)] [(None) 0]))");
	Node *match = last_of(fn_named(m, "f")->body);
	cr_assert_eq(match->kind, N_MATCH);
	Type *t = match->lhs->type;
	cr_assert_eq(t->kind, TY_PTR);
	cr_assert(t->nullable);
	cr_assert_str_eq(t->pointee->name, "Stats");
	MatchClause *some = match->clauses.items[0];
	cr_assert_eq(some->pattern->var->type->kind, TY_PTR);
	cr_assert_not(some->pattern->var->type->nullable);
	cr_assert_eq(match->type, ty_u32);
}

Test(checker, integer_match_needs_catch_all)
{
	rejects("(defn f [a :u8] :u8 (match a [1 10] [2 20]))", "1:21",
		"non-exhaustive match on :u8: add a catch-all clause `[_ ...]`");
	accepts("(defn f [a :u8] :u8 (match a [1 10] [2 20] [_ 0]))");
	accepts("(defn f [a :u8] :u8 (match a [1 10] [other other]))");
}

Test(checker, match_clauses_agree)
{
	rejects("(defn f [a :u8 b :u16] :u8 (match a [1 a] [_ b]))", "1:46", "match clauses have different types");
}

Test(checker, pattern_must_fit_scrutinee)
{
	rejects("(defn f [a :u8] :u8 (match a [(Some x) 1] [(None) 0]))", "1:31",
		"(Some v) matches a nullable pointer, not :u8");
	rejects("(defn f [a :u8] :u8 (match a [300 1] [_ 0]))", "1:31", "pattern 300 does not fit in :u8");
	rejects("(defn f [a :bool] :u8 (match a [1 1] [_ 0]))", "1:33",
		"integer pattern cannot match a value of type :bool");
}

Test(checker, let_shadowing_gets_unique_c_names)
{
	Module *m = accepts("(defn f [x :u32] :u32 (let [x (+ x 1) x (+ x 2) my-x x] my-x))");
	FnDecl *fn = fn_named(m, "f");
	cr_assert_eq(fn->locals.len, 4);
	cr_assert_str_eq(((Var *)fn->locals.items[0])->c_name, "x");
	cr_assert_str_eq(((Var *)fn->locals.items[1])->c_name, "x_1");
	cr_assert_str_eq(((Var *)fn->locals.items[2])->c_name, "x_2");
	cr_assert_str_eq(((Var *)fn->locals.items[3])->c_name, "my_x");
	cr_assert_eq(((Var *)fn->locals.items[0])->uses, 1);
}

Test(checker, do_value_is_last)
{
	rejects("(defn f [] :u32 (do 1 2))", "1:21", "integer literal requires type context");
	accepts("(defglobal g :u32)\n(defn f [] :u32 (do (set! g 1) g))");
}

Test(checker, unbound_variable)
{
	rejects("(defn f [] :u32 y)", "1:17", "unbound variable `y`");
}

Test(checker, independent_errors_reported_together)
{
	run("(defn f [] :u32 (+ y 1))\n(defn g [a :u8] :u8 (bsl a 9))\n(defn h [] :u32 (zz))");
	cr_assert_eq(count_errors(), 3, "%s", captured);
}

Test(checker, poison_suppresses_cascades)
{
	run("(defn f [a :u32] :u32 (+ (+ nope 1) (* a 2)))");
	cr_assert_eq(count_errors(), 1, "%s", captured);
}

/* ---- functions and calls ---------------------------------------------------- */

Test(checker, unknown_function)
{
	rejects("(defn f [] :u32 (g 1))", "1:18", "unknown function `g`");
}

Test(checker, arity)
{
	rejects("(defn g [a :u32] :u32 a)\n(defn f [] :u32 (g 1 2))", "2:17", "function `g` expects 1 arguments, got 2");
}

Test(checker, argument_types)
{
	rejects("(defn g [a :u32] :u32 a)\n(defn f [b :u64] :u32 (g b))", "2:26",
		"argument type mismatch: argument 1 of `g` must be :u32, got :u64");
}

Test(checker, return_type_mismatch)
{
	rejects("(defn f [a :u64] :u32 a)", "1:23", "return type mismatch in `f`");
}

Test(checker, forward_reference)
{
	accepts("(defn f [a :u32] :u32 (g a))\n(defn g [a :u32] :u32 (+ a 1))");
}

Test(checker, too_many_params)
{
	rejects("(defn f [a :u8 b :u8 c :u8 d :u8 e :u8 g :u8] :u8 a)", "1:9",
		"function `f` has 6 parameters: BPF functions take at most 5");
}

Test(checker, direct_recursion)
{
	rejects("(defn f [a :u32] :u32 (f a))", "1:23", "recursion is not supported in BPF modules");
}

Test(checker, mutual_recursion_note_shows_cycle)
{
	run("(defn f [a :u32] :u32 (g a))\n(defn g [a :u32] :u32 (f a))");
	cr_assert_eq(count_errors(), 1, "%s", captured);
	cr_assert(strstr(captured, "recursion is not supported in BPF modules"), "%s", captured);
	cr_assert(strstr(captured, "call cycle: `f` -> `g` -> `f`"), "%s", captured);
}

static const char *chain(int n)
{
	StrBuf sb = { 0 };
	for (int i = 0; i < n; i++)
		sb_printf(&sb, "(defn f%d [a :u32] :u32 (f%d a))\n", i, i + 1);
	sb_printf(&sb, "(defn f%d [a :u32] :u32 a)\n", n);
	const char *s = arena_strdup(sb.data);
	sb_free(&sb);
	return s;
}

Test(checker, call_depth)
{
	Module *m = accepts(chain(8));
	cr_assert_eq(fn_named(m, "f0")->call_depth, 8);
	cr_assert_eq(fn_named(m, "f8")->call_depth, 0);
	rejects(chain(9), "1:7", "BPF-to-BPF call depth 9 exceeds maximum of 8");
}

Test(checker, duplicate_definitions)
{
	rejects("(defn f [] :u32 1)\n(defn f [] :u32 2)", "2:7", "`f` is defined twice");
	cr_assert(strstr(captured, "t.va:1:7: note: first definition of `f`"), "%s", captured);
	rejects("(defmap m :hash :u32 :u32 4)\n(defglobal m :u32)", "2:1", "`m` is defined twice");
	rejects("(deftype R [a :u8])\n(deftype R [b :u8])", "2:1", "record `R` is defined twice");
}

/* ---- helpers and built-ins ---------------------------------------------------- */

Test(checker, helper_must_be_declared)
{
	rejects("(defn f [] :u64 (bpf/ktime_get_ns))", "1:18", "unknown helper `bpf/ktime_get_ns`");
	cr_assert(strstr(captured, "hint: declare it with `(extern bpf:ktime_get_ns [arg-types] :ret-type)`"),
		  "%s", captured);
	accepts("(extern bpf:ktime_get_ns [] :u64)\n(defn f [] :u64 (bpf/ktime_get_ns))");
}

Test(checker, unknown_libbpf_helper)
{
	rejects("(extern bpf:no_such_thing [] :u64)", "1:1",
		"unknown helper `bpf:no_such_thing`: libbpf has no helper `bpf_no_such_thing`");
}

Test(checker, lookup_and_delete_rejected)
{
	rejects("(extern bpf:map_lookup_and_delete_elem [:u64 :u64 :u64] :u64)", "1:1",
		"`bpf:map_lookup_and_delete_elem` is not a BPF program helper");
}

Test(checker, maps_only_as_arguments)
{
	rejects("(defmap m :array :u32 :u64 1)\n(defn f [] :u64 (+ m 1))", "2:20",
		"map `m` can only be used as a helper argument or a :u64 function argument");
	accepts("(defmap m :array :u32 :u64 1)\n(defn g [mm :u64] :u64 0)\n(defn f [] :u64 (g m))");
}

Test(checker, ringbuf_reserve_gives_nullable_bytes)
{
	Module *m = accepts("(defmap rb :ringbuf 0 0 4096)\n(extern bpf:ringbuf_reserve [:u64 :u64 :u64] :u64)\n"
			    "(extern bpf:ringbuf_submit [:u64 :u64] :unit)\n"
			    "(defn f [] :u64 (match (bpf/ringbuf_reserve rb 16 0)\n"
			    "  [(Some buf) (do (bpf/store_u64 buf 0 7) (bpf/ringbuf_submit buf 0) 0)]\n"
			    "  [(None) 1]))");
	Node *match = last_of(fn_named(m, "f")->body);
	cr_assert_str_eq(type_str(match->lhs->type), "(Ptr :u8)");
	cr_assert(match->lhs->type->nullable);
}

Test(checker, load_offset_literal)
{
	rejects("(defn f [p :u64 o :u64] :u32 (bpf/load_u32 p o))", "1:46",
		"the offset of `bpf/load_u32` must be an integer literal");
	accepts("(defn f [ctx :XdpMd] :u32 (let [data (u64 (. ctx :data))]\n"
		"  (if (> (+ data 16) (u64 (. ctx :data_end))) 0 (bpf/load_u32 data 12))))");
}

/* packet_bounds.c: an access no bounds check comes before, the first of
 * a defn only; one behind a check, or through a parameter, is fine. */
Test(checker, packet_access_unchecked)
{
	rejects("(defn f [ctx :XdpMd] :u32 (bpf/load_u32 (u64 (. ctx :data)) 12))", "1:27",
		"`bpf/load_u32` accesses the packet with no bounds check before it");
	accepts("(defn f [p :u64] :u32 (bpf/load_u32 p 12))");
	accepts("(defn f [ctx :XdpMd] :u32 (let [data (u64 (. ctx :data)) end (u64 (. ctx :data_end))]\n"
		"  (if (andalso (> (. ctx :rx_queue_index) 1) (<= (+ data 4) end)) (bpf/load_u32 data 0) 0)))");
}

Test(checker, load_through_nullable_pointer)
{
	rejects("(defmap m :hash :u32 :u64 4)\n(extern bpf:map_lookup_elem [:u64 :u64] :u64)\n"
		"(defn f [k :u64] :u64 (bpf/load_u64 (bpf/map_lookup_elem m k) 0))",
		"3:37", "`bpf/load_u64` through a pointer that may be null");
}

Test(checker, stack_offsets)
{
	rejects("(defn f [] :u64 (bpf/stack_load_u64 -4))", "1:37", "stack offset -4 is out of range: use -8 to -512");
	rejects("(defn f [] :u64 (bpf/stack_load_u64 -12))", "1:37",
		"stack offset -12 is not a multiple of 8, the width of :u64");
	accepts("(defn f [] :u32 (do (bpf/stack_store_u32 -12 5) (bpf/stack_load_u32 -12)))");
}

Test(checker, byte_order)
{
	accepts("(defn f [a :u16] :u16 (bpf/be16 a))");
	rejects("(defn f [a :u32] :u16 (bpf/be16 a))", "1:33", "`bpf/be16` converts 16-bit integers, got :u32");
}

Test(checker, kernel_constants_are_literals)
{
	Module *m = accepts("(program :xdp)\n(defn f [ctx :XdpMd] :u32 XDP_PASS)");
	Node *k = last_of(fn_named(m, "f")->body);
	cr_assert_eq(k->ref, REF_KCONST);
	cr_assert_eq(k->type, ty_u32);
}

/* ---- globals and set! ---------------------------------------------------------- */

Test(checker, set_global)
{
	accepts("(defglobal n :u64 0)\n(defn f [] :unit (set! n (+ n 1)))");
	rejects("(defconst c :u32 1)\n(defn f [] :unit (set! c 2))", "2:24", "cannot assign to defconst 'c'");
	rejects("(defn f [x :u32] :unit (set! x 2))", "1:30", "set! can only be used on defglobal variables");
	rejects("(defglobal n :u32)\n(defn f [a :u64] :unit (set! n a))", "2:32", "set! type mismatch: `n` is :u32, got :u64");
}

Test(checker, for_range)
{
	Module *m = accepts("(defglobal n :u32)\n(defn f [] :unit (for-range i 0 10 (set! n (+ n (u32 i)))))");
	Node *loop = last_of(fn_named(m, "f")->body);
	cr_assert_eq(loop->var->type, ty_u64);
	cr_assert_eq(loop->type, ty_unit);
	rejects("(defn f [a :u32 b :u64] :unit (for-range i a b (do)))", "1:31",
		"for-range start and end must be the same type, got :u32 and :u64");
}

/* ---- records ------------------------------------------------------------------- */

Test(checker, record_fields)
{
	rejects("(program :xdp)\n(defn f [ctx :XdpMd] :u32 (. ctx :nope))", "2:34", "record `XdpMd` has no field `nope`");
	Module *m = accepts("(deftype Inner [a :u8 b :u32])\n(deftype Outer [x :u16 in :Inner])\n"
			    "(defn f [o :Outer] :u32 (. (. o :in) :b))");
	Param *p = fn_named(m, "f")->params[0];
	cr_assert_eq(p->type->kind, TY_PTR);
	cr_assert_eq(p->type->pointee->record->size, 12);
}

Test(checker, nested_record_is_only_a_dot_target)
{
	rejects("(deftype Inner [a :u8])\n(deftype Outer [in :Inner])\n(defn f [o :Outer] :u8 (let [i (. o :in)] 0))",
		"3:32", "field `in` is a record (:Inner): it can only be the target of another `.`");
}

Test(checker, record_name_capitalised)
{
	rejects("(deftype event [a :u8])", "1:1", "record name `event` must be capitalised");
}

Test(checker, unknown_record_type)
{
	rejects("(defn f [p :Nope] :u8 0)", "1:12", "unknown type `:Nope`");
}

Test(checker, deftype_replaces_context_record)
{
	accepts("(program :xdp)\n(deftype XdpMd [mine :u32])\n(defn f [ctx :XdpMd] :u32 (. ctx :mine))");
}

/* ---- program kinds and the entry ---------------------------------------------------- */

Test(checker, wrong_context_type)
{
	rejects("(program :xdp)\n(defn f [skb :SkBuff] :u32 0)", "2:10",
		"wrong context type for :xdp program: expected XdpMd, got SkBuff");
}

Test(checker, entry_is_first_fn_with_context)
{
	Module *m = accepts("(program :xdp)\n(defn helper [a :u32] :u32 a)\n(defn prog [ctx :XdpMd] :u32 (helper 2))");
	cr_assert_eq(m->entry, fn_named(m, "prog"));
	cr_assert(fn_named(m, "prog")->is_entry);
	cr_assert_not(fn_named(m, "helper")->is_entry);
	cr_assert_eq(fn_named(m, "prog")->call_depth, 1);
	/* the backend names the C context parameter ctx; it gives a source
	 * parameter called ctx its name back */
	cr_assert_str_eq(fn_named(m, "prog")->params[0]->var->c_name, "ctx_");
}

Test(checker, entry_defaults_to_first_fn)
{
	Module *m = accepts("(program :tracepoint \"syscalls/sys_enter_execve\")\n(defn a [ctx :u64] :u32 0)\n"
			    "(defn b [] :u32 1)");
	cr_assert_eq(m->entry, fn_named(m, "a"));
}

/* ---- C names -------------------------------------------------------------------------- */

Test(checker, c_names)
{
	Module *m = accepts("(defmap my-map :array :u32 :u64 1)\n(defglobal full? :bool)\n(defn int [] :u32 1)\n"
			    "(defn bpf_map_lookup_elem [] :u32 2)\n(defn set-it! [] :unit (do))\n(defn main [] :u32 3)");
	cr_assert_str_eq(fn_named(m, "int")->c_name, "int_");
	cr_assert_str_eq(fn_named(m, "main")->c_name, "main_", "clang rejects a static or non-int main");
	cr_assert_str_eq(fn_named(m, "bpf_map_lookup_elem")->c_name, "bpf_map_lookup_elem_");
	cr_assert_str_eq(fn_named(m, "set-it!")->c_name, "set_it_bang");
	Decl *d0 = m->decls.items[0], *d1 = m->decls.items[1];
	cr_assert_str_eq(d0->u.map->c_name, "my_map");
	cr_assert_str_eq(d1->u.global->c_name, "full_p");
}

Test(checker, c_name_collision)
{
	rejects("(defglobal a-b :u32)\n(defn a_b [] :u32 1)", "2:7",
		"`a_b` would be named `a_b` in C, which is already the C name of `a-b`");
}

Test(checker, local_avoids_file_scope_c_name)
{
	Module *m = accepts("(defglobal total :u32)\n(defn f [total :u32] :u32 total)");
	cr_assert_str_eq(fn_named(m, "f")->params[0]->var->c_name, "total_1");
}

/* ---- no cascades ------------------------------------------------------------------------ */

Test(checker, no_literal_cascade_after_failed_operand)
{
	run("(defmap m :array :u32 :u64 1)\n(defn f [] :bool (== m 0))");
	cr_assert_eq(count_errors(), 1, "%s", captured);
	run("(defn f [c :bool] :u32 (let [x (if c (nope) 1)] 0))");
	cr_assert_eq(count_errors(), 1, "%s", captured);
	run("(defn f [a :u8] :u8 (let [x (match a [0 (nope)] [_ 1])] 0))");
	cr_assert_eq(count_errors(), 1, "%s", captured);
	run("(defn f [] :unit (for-range i (nope) 10 (do)))");
	cr_assert_eq(count_errors(), 1, "%s", captured);
}

Test(checker, helper_called_without_extern_or_prefix)
{
	rejects("(defn f [] :u64 (ktime_get_ns))", "1:18", "unknown function `ktime_get_ns`");
	cr_assert(strstr(captured, "hint: `ktime_get_ns` is a BPF helper: declare it with"), "%s", captured);
}

Test(checker, c_name_scheme_for_every_special_character)
{
	Module *m = accepts("(defglobal a?b!c*d<e>f=g.h'i :u8)\n(defglobal if :u8)\n(defglobal XDP_PASS :u8)\n"
			    "(defglobal __x :u8)\n(deftype Ev [int :u8 my-field :u16])\n(defn f [e :Ev] :u16 (. e :my-field))");
	cr_assert_str_eq(((Decl *)m->decls.items[0])->u.global->c_name, "a_pb_bangc_stard_lte_gtf_eqg_doth_primei");
	cr_assert_str_eq(((Decl *)m->decls.items[1])->u.global->c_name, "if_");
	cr_assert_str_eq(((Decl *)m->decls.items[2])->u.global->c_name, "XDP_PASS_");
	cr_assert_str_eq(((Decl *)m->decls.items[3])->u.global->c_name, "__x_");
	Record *ev = ((Decl *)m->decls.items[4])->u.record->record;
	cr_assert_str_eq(ev->c_name, "struct Ev");
	cr_assert_str_eq(ev->fields[0]->c_member, "int_");
	cr_assert_str_eq(ev->fields[1]->c_member, "my_field");
	cr_assert_eq(ev->fields[1]->offset, 2);
	cr_assert_eq(ev->size, 4);
}

Test(checker, global_shadowing_kernel_constant_is_the_global)
{
	Module *m = accepts("(defglobal XDP_PASS :u32 7)\n(defn f [] :u32 XDP_PASS)");
	cr_assert_eq(last_of(fn_named(m, "f")->body)->ref, REF_GLOBAL);
}

Test(checker, every_expression_node_is_typed)
{
	Module *m = accepts("(defn f [a :u32 b :bool] :u32 (if (andalso b (> a 3)) (let [c (* a 2)] (+ c 1)) (- a)))");
	Node *iff = last_of(fn_named(m, "f")->body);
	cr_assert_eq(iff->type, ty_u32);
	cr_assert_eq(iff->cond->type, ty_bool);
	cr_assert_eq(iff->cond->rhs->rhs->type, ty_u32);
	cr_assert_eq(iff->then->type, ty_u32);
	cr_assert_eq(iff->els->type, ty_u32);
}

/* fuzzer finding: a field whose type failed had no C member name yet when
 * the next field compared against it */
Test(checker, field_after_failed_field)
{
	run("(deftype Flow [src :Nope port :u16])\n(deftype Two [a :Nope b :Nope])");
	cr_assert_eq(count_errors(), 3, "%s", captured);
}
