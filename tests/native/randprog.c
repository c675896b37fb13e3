/* randprog - a random valid Vaisto BPF program for tests/native_diff.sh.
 *
 *   randprog SEED > prog.va
 *   randprog --cases SEED > prog.cases
 *
 * The same seed gives the same program. A raw tracepoint takes four u64
 * arguments (ctx-u64), feeds them through several functions of random
 * integer types - arithmetic on every width and sign, casts, shifts,
 * division and remainder by values that may be zero, comparisons, nested
 * if/match - and stores each result in the array map `out`, so the two
 * backends' objects can be compared by their map contents.
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
enum { NTYPES = sizeof(types) / sizeof(types[0]), NPARAMS = 3, NFUNCS = 4 };

static const char *const arith[] = { "+", "-", "*", "band", "bor", "bxor", "div", "rem" };
static const char *const compare[] = { "<", ">", "<=", ">=", "==", "!=" };

/* A literal of type t, printed so it fits (never 0 when nonzero). */
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

/* A parameter of the current function cast to t (params p0..p2 have the
 * types ptypes[]). */
static int ptypes[NPARAMS];

static void leaf(int t)
{
	int p = pick(NPARAMS);
	if (ptypes[p] == t)
		printf("p%d", p);
	else
		printf("(%s p%d)", types[t].name, p);
}

static void expr(int t, int depth);

static void condition(int depth)
{
	int u = pick(NTYPES);
	printf("(%s ", compare[pick(6)]);
	expr(u, depth - 1);
	printf(" ");
	expr(u, depth - 1);
	printf(")");
}

static void expr(int t, int depth)
{
	int choice = depth <= 0 ? 0 : pick(7);
	switch (choice) {
	case 0:
		leaf(t);
		break;
	case 1:
	case 2: {
		int op = pick(8);
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
	case 3:
		printf("(%s ", pick(2) ? "bsl" : "bsr");
		expr(t, depth - 1);
		printf(" %d)", pick(types[t].bits));
		break;
	case 4:
		printf("(%s ", types[t].name);
		expr(pick(NTYPES), depth - 1);
		printf(")");
		break;
	case 5:
		printf("(if ");
		condition(depth);
		printf(" ");
		expr(t, depth - 1);
		printf(" ");
		expr(t, depth - 1);
		printf(")");
		break;
	case 6:
		printf("(match ");
		expr(t, depth - 1);
		printf(" [");
		literal(t, false);
		printf(" ");
		expr(t, depth - 1);
		printf("] [_ ");
		expr(t, depth - 1);
		printf("])");
		break;
	}
}

/* One case: four arguments, small ones (zero divisors, exact results)
 * as often as large ones. It returns 0; the map holds the results. */
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
	int ret[NFUNCS], params[NFUNCS][NPARAMS];
	for (int f = 0; f < NFUNCS; f++) {
		ret[f] = pick(NTYPES);
		for (int p = 0; p < NPARAMS; p++)
			params[f][p] = pick(NTYPES);
	}
	printf("; randprog %s\n(program :raw_tracepoint \"sys_enter\")\n\n", seed);
	printf("(defmap out :array :u32 :u64 %d)\n\n", NFUNCS);
	printf("(extern bpf:map_update_elem [:u64 :u32 :u64 :u64] :u64)\n\n");
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
		printf("\n(defn f%d [", f);
		for (int p = 0; p < NPARAMS; p++) {
			ptypes[p] = params[f][p];
			printf("%sp%d :%s", p ? " " : "", p, types[ptypes[p]].name);
		}
		printf("] :%s\n  ", types[ret[f]].name);
		expr(ret[f], 4);
		printf(")\n");
	}
	return 0;
}
