/* randprog - a random valid Vaisto BPF program for tests/native_diff.sh.
 *
 *   randprog SEED > prog.va
 *   randprog --cases SEED > prog.cases
 *
 * The same seed gives the same program. A raw tracepoint takes four u64
 * arguments (ctx-u64) and feeds them through several functions of random
 * integer types, which may call the functions after them. The program
 * uses what issue 5 lists: arithmetic and negation on every width and
 * sign, casts, shifts by constant and variable amounts, division and
 * remainder by values that may be zero, comparisons combined with
 * andalso/orelse/not, nested if, cond and match (integer, bool, name
 * patterns), let, for-range loops (constant and run-time bounds, summing
 * into a global or storing into a map), map updates and lookups,
 * globals in .bss/.data/.rodata read and written. Each function's result
 * goes into the array map `out`; `table` and the globals hold the rest,
 * so the two backends' objects can be compared by their map contents.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static int pick(int n) { return (int)(next() % (uint32_t)n); }

static const struct {
	const char *name;
	int bits;
	int is_signed;
} types[] = {
	{ "u8", 8, 0 }, { "u16", 16, 0 }, { "u32", 32, 0 }, { "u64", 64, 0 },
	{ "i8", 8, 1 }, { "i16", 16, 1 }, { "i32", 32, 1 }, { "i64", 64, 1 },
};
enum {
	NTYPES = sizeof(types) / sizeof(types[0]),
	NPARAMS = 3,
	NFUNCS = 4,
	NGLOBALS = 4,   /* g0 g1 in .bss, g2 in .data, g3 a defconst */
	MAX_SCOPE = 64,
};

static const char *const arith[] = { "+", "-", "*", "band", "bor", "bxor", "div", "rem" };
static const char *const compare[] = { "<", ">", "<=", ">=", "==", "!=" };

/* A literal of type t (never 0 when nonzero). */
static void literal(int t, bool nonzero)
{
	int bits = types[t].bits;
	uint64_t v = ((uint64_t)next() << 32 | next());
	if (pick(3) == 0)
		v &= 7;               /* small values: zero divisors, exact results */
	if (nonzero && (v & 0xff) == 0)
		v |= 1;
	if (types[t].is_signed) {
		int64_t s = (int64_t)(v << (64 - bits)) >> (64 - bits);
		printf("%lld", (long long)s);
	} else {
		printf("%llu", (unsigned long long)(bits == 64 ? v : v & ((UINT64_C(1) << bits) - 1)));
	}
}

/* The integer names in scope: parameters, let and match bindings, loop
 * variables and the globals. */
static struct {
	char name[16];
	int type;
} scope[MAX_SCOPE];
static int nscope, nfresh;
static int gtypes[NGLOBALS];

/* A fresh name ("v7"), not yet in scope. */
static const char *fresh(const char *prefix)
{
	static char names[4096][8];
	char *name = names[nfresh % 4096];
	snprintf(name, sizeof(names[0]), "%s%d", prefix, nfresh);
	nfresh++;
	return name;
}

static void bind(const char *name, int t)
{
	snprintf(scope[nscope].name, sizeof(scope[nscope].name), "%s", name);
	scope[nscope++].type = t;
}

/* The function being written, the calls it makes so far, and the types
 * of every function. The verifier follows every call anew, so a few
 * calls of functions that make a few calls multiply into more
 * instructions than it will follow (clang's code fails first). */
static int cur, ncalls, rets[NFUNCS], params[NFUNCS][NPARAMS];
enum { MAX_CALLS = 2 };
/* Loop bodies are straight-line code without calls: clang rewrites some
 * loops with branches in their bodies into ones the verifier gives up on
 * ("the sequence of 8193 jumps is too complex"), and a call in a loop
 * can reach more loops, multiplying the rounds the verifier follows. */
static bool in_loop;

static void leaf(int t)
{
	int s = pick(nscope);
	if (scope[s].type == t)
		printf("%s", scope[s].name);
	else
		printf("(%s %s)", types[t].name, scope[s].name);
}

static void expr(int t, int depth);

static void condition(int depth)
{
	int choice = depth <= 1 ? 0 : pick(6);
	switch (choice) {
	case 3:
	case 4:
		printf("(%s ", choice == 3 ? "andalso" : "orelse");
		condition(depth - 1);
		printf(" ");
		condition(depth - 1);
		printf(")");
		break;
	case 5:
		printf("(not ");
		condition(depth - 1);
		printf(")");
		break;
	default: {
		int u = pick(NTYPES);
		printf("(%s ", compare[pick(6)]);
		expr(u, depth - 1);
		printf(" ");
		if (pick(4) == 0)
			literal(u, false);
		else
			expr(u, depth - 1);
		printf(")");
	}
	}
}

/* A call of a later function (no recursion) as a value of type t. */
static void call(int t, int depth)
{
	int f = cur + 1 + pick(NFUNCS - cur - 1);
	if (rets[f] != t)
		printf("(%s ", types[t].name);
	printf("(f%d", f);
	for (int p = 0; p < NPARAMS; p++) {
		printf(" ");
		expr(params[f][p], depth - 1);
	}
	printf(rets[f] != t ? "))" : ")");
}

static void match(int t, int depth)
{
	int u = pick(NTYPES), saved = nscope;
	printf("(match ");
	expr(u, depth - 1);
	for (int n = 1 + pick(3); n > 0; n--) {
		printf(" [");
		literal(u, false);
		printf(" ");
		expr(t, depth - 1);
		printf("]");
	}
	if (pick(2)) {
		printf(" [_ ");
	} else {
		const char *name = fresh("w");
		bind(name, u);
		printf(" [%s ", name);
	}
	expr(t, depth - 1);
	printf("])");
	nscope = saved;
}

/* A form from its template: %c is a condition, %e an expression of type
 * t one level shallower, the rest is written as it is. */
static void form(const char *template, int t, int depth)
{
	for (const char *p = template; *p; p++) {
		if (p[0] == '%' && p[1] == 'c')
			condition(depth);
		else if (p[0] == '%' && p[1] == 'e')
			expr(t, depth - 1);
		else
			putchar(*p);
		p += p[0] == '%';
	}
}

static void expr(int t, int depth)
{
	int choice = depth <= 0 ? 0 : pick(in_loop ? 7 : 16);
	int bits = types[t].bits;
	switch (choice) {
	case 0:
		leaf(t);
		break;
	case 1:
	case 2:
	case 3: {
		int op = pick(8);
		if (in_loop && op >= 6)
			op = pick(6);   /* division has branches too */
		printf("(%s ", arith[op]);
		expr(t, depth - 1);
		printf(" ");
		if (pick(3) == 0)
			literal(t, op >= 6);   /* the checker refuses x / 0 */
		else
			expr(t, depth - 1);
		printf(")");
		break;
	}
	case 4:
		printf("(%s ", pick(2) ? "bsl" : "bsr");
		expr(t, depth - 1);
		if (pick(2)) {
			printf(" %d)", pick(bits));
		} else {
			/* a run-time amount below the width: C's shifts
			 * are undefined beyond it */
			printf(" (band ");
			expr(t, depth - 1);
			printf(" %d))", bits - 1);
		}
		break;
	case 5:
		printf("(%s ", types[t].name);
		expr(pick(NTYPES), depth - 1);
		printf(")");
		break;
	case 6:
		form("(- %e)", t, depth);
		break;
	case 7:
		form("(if %c %e %e)", t, depth);
		break;
	case 8:
		form("(cond [%c %e] [%c %e] [:else %e])", t, depth);
		break;
	case 9:
		match(t, depth);
		break;
	case 10:
		form("(match %c [true %e] [false %e])", t, depth);
		break;
	case 11: {
		int u = pick(NTYPES), saved = nscope;
		const char *name = fresh("v");
		printf("(let [%s ", name);
		expr(u, depth - 1);
		bind(name, u);
		printf("] ");
		expr(t, depth - 1);
		printf(")");
		nscope = saved;
		break;
	}
	case 12:
		if (cur < NFUNCS - 1 && !in_loop && ncalls < MAX_CALLS) {
			ncalls++;
			call(t, depth);
			break;
		}
		/* fall through */
	case 13:
		/* a lookup: the value stored, or a default when absent; every
		 * pointer is called p, so nested lookups shadow each other */
		printf("(match (bpf/map_lookup_elem table ");
		expr(2, depth - 1);
		printf(") [(Some p) (%s (bpf/load_u64 p 0))] [(None) ", types[t].name);
		expr(t, depth - 1);
		printf("])");
		break;
	default:
		leaf(t);
		break;
	}
}

/* A for-range loop of at most 7 rounds, so the verifier can follow
 * every one: a constant start and a run-time end, or the other way round
 * (a literal bound needs the other to give it a type). The start is not
 * negative: from -1 to a run-time end clang may count the rounds down in
 * 32 bits, a loop the verifier cannot bound. The body sums the variable
 * into a global (the shape both backends write in closed form), sets a
 * global from it, or stores into the table. */
static void loop(int depth)
{
	int t = pick(NTYPES), saved = nscope;
	const char *var = fresh("i");
	int body = pick(3);
	/* clang sums a 64-bit (or a sign-extended 32-bit) variable in
	 * closed form with a 128-bit multiplication, which BPF has not */
	if (body == 0 && (types[t].bits == 64 || t == 6))
		t = (int[]){ 0, 1, 2, 4, 5 }[pick(5)];
	printf("(for-range %s ", var);
	if (pick(3) == 0) {
		printf("(band ");
		leaf(t);
		printf(" 3) %d", pick(7));
	} else {
		printf("%d (band ", pick(3));
		expr(t, depth - 1);
		printf(" 7)");
	}
	bind(var, t);
	in_loop = true;
	int g = pick(NGLOBALS - 1);
	switch (body) {
	case 0:
		printf(" (set! g%d (+ g%d (%s %s))))", g, g, types[gtypes[g]].name, var);
		break;
	case 1:
		printf(" (set! g%d ", g);
		expr(gtypes[g], depth - 1);
		printf("))");
		break;
	default:
		/* a key computed from the variable: the C would pass the
		 * variable's own address, &i, and clang's loop over a
		 * variable in memory is one the verifier cannot follow */
		printf(" (bpf/map_update_elem table (+ (u32 %s) 1) ", var);
		expr(3, depth - 1);
		printf(" 0))");
		break;
	}
	in_loop = false;
	nscope = saved;
}

/* What a function does before its value: set a global, update the
 * table, run a loop. */
static void statement(int depth)
{
	switch (pick(3)) {
	case 0: {
		int g = pick(NGLOBALS - 1);
		printf("(set! g%d ", g);
		expr(gtypes[g], depth);
		printf(")");
		break;
	}
	case 1:
		printf("(bpf/map_update_elem table ");
		expr(2, depth - 1);
		printf(" ");
		expr(3, depth - 1);
		printf(" 0)");
		break;
	default:
		loop(depth);
		break;
	}
}

/* One case: four arguments, small ones (zero divisors, exact results)
 * as often as large ones. It returns 0; the maps hold the results. */
static void cases(void)
{
	printf("case inputs\n  ctx-u64");
	for (int i = 0; i < 4; i++) {
		uint64_t v = (uint64_t)next() << 32 | next();
		if (pick(2))
			v = (uint64_t)(int64_t)(pick(9) - 4);
		printf(" %llu", (unsigned long long)v);
	}
	printf("\n  return 0\n");
}

int main(int argc, char **argv)
{
	bool want_cases = argc == 3 && strcmp(argv[1], "--cases") == 0;
	if (argc != 2 && !want_cases) {
		fprintf(stderr, "usage: randprog [--cases] SEED\n");
		return 2;
	}
	const char *seed = argv[argc - 1];
	rng = strtoull(seed, NULL, 0) * 0x9E3779B97F4A7C15ull + 1;
	if (want_cases) {
		rng ^= 0x5DEECE66Dull;
		cases();
		return 0;
	}
	for (int f = 0; f < NFUNCS; f++) {
		rets[f] = pick(NTYPES);
		for (int p = 0; p < NPARAMS; p++)
			params[f][p] = pick(NTYPES);
	}
	printf("; randprog %s\n(program :raw_tracepoint \"sys_enter\")\n\n", seed);
	printf("(defmap out :array :u32 :u64 %d)\n", NFUNCS);
	printf("(defmap table :hash :u32 :u64 16)\n\n");
	for (int g = 0; g < NGLOBALS; g++) {
		gtypes[g] = pick(NTYPES);
		if (g < 2) {
			printf("(defglobal g%d :%s)\n", g, types[gtypes[g]].name);
		} else {
			printf("(%s g%d :%s ", g == 2 ? "defglobal" : "defconst", g, types[gtypes[g]].name);
			literal(gtypes[g], true);
			printf(")\n");
		}
	}
	printf("\n(extern bpf:map_update_elem [:u64 :u32 :u64 :u64] :u64)\n");
	printf("(extern bpf:map_lookup_elem [:u64 :u32] :u64)\n\n");
	printf("(defn entry [ctx :u64] :u32\n");
	printf("  (let [a (bpf/load_u64 ctx 0) b (bpf/load_u64 ctx 8)\n");
	printf("        c (bpf/load_u64 ctx 16) d (bpf/load_u64 ctx 24)]\n    (do");
	static const char inputs[] = "abcd";
	for (int f = 0; f < NFUNCS; f++) {
		printf("\n        (put %d (u64 (f%d", f, f);
		for (int p = 0; p < NPARAMS; p++)
			printf(" (%s %c)", types[params[f][p]].name, inputs[pick(4)]);
		printf(")))");
	}
	printf("\n        0)))\n\n");
	printf("(defn put [slot :u32 v :u64] :unit\n");
	printf("  (do (bpf/map_update_elem out slot v 0) (do)))\n");
	for (int f = 0; f < NFUNCS; f++) {
		cur = f;
		ncalls = 0;
		nscope = 0;
		for (int g = 0; g < NGLOBALS; g++) {
			snprintf(scope[nscope].name, sizeof(scope[nscope].name), "g%d", g);
			scope[nscope++].type = gtypes[g];
		}
		printf("\n(defn f%d [", f);
		for (int p = 0; p < NPARAMS; p++) {
			/* parameters are picked twice as often as globals */
			for (int twice = 0; twice < 2; twice++) {
				snprintf(scope[nscope].name, sizeof(scope[nscope].name), "p%d", p);
				scope[nscope++].type = params[f][p];
			}
			printf("%sp%d :%s", p ? " " : "", p, types[params[f][p]].name);
		}
		printf("] :%s\n  (do", types[rets[f]].name);
		for (int n = pick(3); n > 0; n--) {
			printf("\n    ");
			statement(3);
		}
		printf("\n    ");
		expr(rets[f], 4);
		printf("))\n");
	}
	return 0;
}
