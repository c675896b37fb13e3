/* native_tidy.c - the IR between lowering and register allocation.
 *
 * The lowering writes what each form means, one form at a time, so it
 * leaves code the verifier would refuse or that costs instructions for
 * nothing; this pass removes it, on the whole function's control flow,
 * whatever form left it:
 *
 *   - code no path reaches: a constant condition's other arm, `(if true
 *     2 1)`, `(andalso x false)`, a condition an inlined call's literal
 *     argument decides. The verifier refuses an object with an
 *     instruction it cannot reach ("unreachable insn N").
 *   - values nobody reads: a wrap of a helper's result that is dropped
 *     would read r0 after a helper that leaves it unreadable (tail_call).
 *     A call whose result nobody reads keeps only its effect.
 *   - copies right after their value's definition (coalesce_copies).
 *   - work clang's optimiser does on the C: arithmetic on constants and
 *     jumps the operands' known bits decide (fold_constants), globals and
 *     frame slots kept in registers (forward_globals,
 *     forward_frame_slots), stores nothing reads (remove_dead_global_stores,
 *     forward_frame_slots), chains of + - * on one value remade from it
 *     (reassociate).
 *
 * Then it checks what the encoder relies on: every value read is set on
 * every path to the read, and no path runs off the function's end. A
 * function that fails is an internal error at the line that reads the
 * value, and no object is written (native.h: an object is either right
 * or not written).
 */
#include "native.h"

#include <stdlib.h>
#include <string.h>

/* How many instructions set each virtual register (calloc'd, the
 * caller frees it) and, where asked, the index of the last of them. */
static int *count_defs(const IrFunc *f, int **def_at)
{
	int n = f->nvregs + 1;
	int *defs = calloc((size_t)n, sizeof(int));
	if (def_at)
		*def_at = calloc((size_t)n, sizeof(int));
	for (int i = 0; i < f->len; i++) {
		defs[f->insns[i].dst]++;
		if (def_at)
			(*def_at)[f->insns[i].dst] = i;
	}
	return defs;
}

static void make_nop(IrInsn *in)
{
	memset(in, 0, sizeof(*in));
	in->op = IR_NOP;
	in->fn = in->c_fn = in->map = in->global = -1;
}

static void count_reads(const IrInsn *in, int *reads, int delta);

/* Does control go on to the next instruction after in? */
static bool falls_on(const IrInsn *in)
{
	return in->op != IR_JA && in->op != IR_RET;
}

static int *label_positions(const IrFunc *f)
{
	int *pos = malloc(sizeof(int) * (size_t)(f->nlabels + 1));
	for (int l = 0; l <= f->nlabels; l++)
		pos[l] = -1;
	for (int i = 0; i < f->len; i++)
		if (f->insns[i].op == IR_LABEL)
			pos[f->insns[i].label] = i;
	return pos;
}

/* Every instruction no path from the function's start reaches becomes a
 * NOP (a structural walk, as the verifier's own check_cfg: both ways of
 * every conditional jump count). */
static void remove_unreachable(IrFunc *f)
{
	if (!f->len)
		return;
	int *label_pos = label_positions(f);
	bool *reached = calloc((size_t)f->len, sizeof(bool));
	int *work = malloc(sizeof(int) * (size_t)f->len), n = 0;
	reached[0] = true;
	work[n++] = 0;
	while (n) {
		int i = work[--n];
		const IrInsn *in = &f->insns[i];
		int next[2], nnext = 0;
		if (falls_on(in) && i + 1 < f->len)
			next[nnext++] = i + 1;
		if (in->op == IR_JA || in->op == IR_JCC)
			next[nnext++] = label_pos[in->label];
		for (int k = 0; k < nnext; k++) {
			if (next[k] >= 0 && !reached[next[k]]) {
				reached[next[k]] = true;
				work[n++] = next[k];
			}
		}
	}
	for (int i = 0; i < f->len; i++)
		if (!reached[i])
			make_nop(&f->insns[i]);
	free(work);
	free(reached);
	free(label_pos);
}

/* Can the constant c stand as operand k (0: a, 1: b, 2: an argument) of
 * in? Where the encoder reads a register only (a load's or store's base,
 * a compare's left side), or where the verifier refuses an immediate 0
 * (a divisor, native_lower.c's divisor()), it cannot. */
static bool takes_constant(const IrInsn *in, int k, int64_t c)
{
	switch (in->op) {
	case IR_ALU:
		return k == 0 || !((in->alu == BPF_DIV || in->alu == BPF_MOD) && c == 0);
	case IR_MOV:
	case IR_RET:
	case IR_CALL:
		return true;
	case IR_JCC:
	case IR_STORE:
	case IR_FRAME_STORE:
		return k == 1;
	default:
		return false;
	}
}

/* A value set once, by a constant or by a copy of another value set
 * once, is that constant or value wherever it is read: the copy (an if's
 * arm that a constant condition left alone, a loop's bound) then has no
 * reader and goes with remove_dead_values. One definition that every read
 * follows (check_defined) makes the replacement exact. */
static void propagate_copies(IrFunc *f)
{
	int n = f->nvregs + 1;
	int *defs = count_defs(f, NULL);
	IrVal *source = calloc((size_t)n, sizeof(IrVal));
	bool *copy = calloc((size_t)n, sizeof(bool));
	for (int i = 0; i < f->len; i++) {
		const IrInsn *in = &f->insns[i];
		if (in->op != IR_MOV || !in->dst || defs[in->dst] != 1 || in->a.remat)
			continue;
		if (in->a.vreg && (defs[in->a.vreg] != 1 || in->a.vreg == in->dst))
			continue;
		source[in->dst] = in->a;
		copy[in->dst] = true;
	}
	for (int i = 0; i < f->len; i++) {
		IrInsn *in = &f->insns[i];
		IrVal *ops[7] = { &in->a, &in->b };
		int nops = 2;
		for (int k = 0; k < in->nargs; k++)
			ops[nops++] = &in->args[k];
		for (int k = 0; k < nops; k++) {
			IrVal *op = ops[k];
			if (!op->vreg || op->remat)
				continue;
			IrVal to = *op;
			for (int hops = 0; to.vreg && copy[to.vreg] && hops < n; hops++)
				to = source[to.vreg];
			if (to.vreg == op->vreg)
				continue;
			if (!to.vreg && !takes_constant(in, k < 2 ? k : 2, to.imm))
				continue;
			*op = (IrVal){ .vreg = to.vreg, .imm = to.imm };
		}
	}
	free(defs);
	free(source);
	free(copy);
}

/* The 64-bit result of the BPF instruction op on the constants a and b
 * (the unsigned division and remainder by 0 as BPF leaves them: 0 and
 * a), in *r; false where the instruction's result is not one constant
 * the encoder would compute alike: a shift by an amount outside 0..63
 * (its result depends on the machine). */
static bool alu_result(int op, uint64_t a, uint64_t b, uint64_t *r)
{
	switch (op) {
	case BPF_ADD: *r = a + b; return true;
	case BPF_SUB: *r = a - b; return true;
	case BPF_MUL: *r = a * b; return true;
	case BPF_DIV: *r = b ? a / b : 0; return true;
	case BPF_MOD: *r = b ? a % b : a; return true;
	case BPF_AND: *r = a & b; return true;
	case BPF_OR: *r = a | b; return true;
	case BPF_XOR: *r = a ^ b; return true;
	case BPF_NEG: *r = -a; return true;
	case BPF_LSH:
	case BPF_RSH:
	case BPF_ARSH:
		if (b > 63)
			return false;
		if (op == BPF_LSH)
			*r = a << b;
		else if (op == BPF_RSH)
			*r = a >> b;
		else   /* arithmetic: the sign bit copied in, whatever C's >> does */
			*r = (a >> b) | ((a >> 63) && b ? ~(~UINT64_C(0) >> b) : 0);
		return true;
	default:
		return false;
	}
}

/* What is known of a value's bits: those known to be 0 and those known
 * to be 1 (LLVM's known bits). A constant is known whole. */
typedef struct Bits {
	uint64_t zero, one;
} Bits;

static bool bits_whole(Bits k) { return (k.zero | k.one) == ~UINT64_C(0); }
static Bits bits_const(uint64_t c) { return (Bits){ ~c, c }; }

/* The bits a register holds below 2^width are all that can be set. */
static Bits bits_below(int width)
{
	return width > 0 && width < 64 ? (Bits){ ~UINT64_C(0) << width, 0 } : (Bits){ 0, 0 };
}

/* The smallest and largest value k allows, unsigned and signed. */
static uint64_t umin_of(Bits k) { return k.one; }
static uint64_t umax_of(Bits k) { return ~k.zero; }
static int64_t smin_of(Bits k)
{
	uint64_t sign = UINT64_C(1) << 63, free = ~(k.zero | k.one);
	return (int64_t)(k.one | (free & sign));
}
static int64_t smax_of(Bits k)
{
	uint64_t sign = UINT64_C(1) << 63, free = ~(k.zero | k.one);
	return (int64_t)((k.one | free) & ~(free & sign));
}

/* Whether the jump op goes on values known as a and b: 1 always, 0
 * never, -1 when it depends on the run (BPF_JSET: a & b != 0). */
static int jump_decided(int op, Bits a, Bits b)
{
	bool differ = (a.one & b.zero) || (a.zero & b.one);
	bool equal = bits_whole(a) && bits_whole(b) && a.one == b.one;
	switch (op) {
	case BPF_JEQ: return differ ? 0 : equal ? 1 : -1;
	case BPF_JNE: return differ ? 1 : equal ? 0 : -1;
	case BPF_JGT: return umin_of(a) > umax_of(b) ? 1 : umax_of(a) <= umin_of(b) ? 0 : -1;
	case BPF_JGE: return umin_of(a) >= umax_of(b) ? 1 : umax_of(a) < umin_of(b) ? 0 : -1;
	case BPF_JLT: return umax_of(a) < umin_of(b) ? 1 : umin_of(a) >= umax_of(b) ? 0 : -1;
	case BPF_JLE: return umax_of(a) <= umin_of(b) ? 1 : umin_of(a) > umax_of(b) ? 0 : -1;
	case BPF_JSGT: return smin_of(a) > smax_of(b) ? 1 : smax_of(a) <= smin_of(b) ? 0 : -1;
	case BPF_JSGE: return smin_of(a) >= smax_of(b) ? 1 : smax_of(a) < smin_of(b) ? 0 : -1;
	case BPF_JSLT: return smax_of(a) < smin_of(b) ? 1 : smin_of(a) >= smax_of(b) ? 0 : -1;
	case BPF_JSLE: return smax_of(a) <= smin_of(b) ? 1 : smin_of(a) > smax_of(b) ? 0 : -1;
	case BPF_JSET: return a.one & b.one ? 1 : (~a.zero & ~b.zero) == 0 ? 0 : -1;
	default: return -1;
	}
}

/* A jump comparing a value with itself. */
static int jump_on_itself(int op)
{
	switch (op) {
	case BPF_JEQ: case BPF_JGE: case BPF_JLE: case BPF_JSGE: case BPF_JSLE: return 1;
	case BPF_JNE: case BPF_JGT: case BPF_JLT: case BPF_JSGT: case BPF_JSLT: return 0;
	default: return -1;
	}
}

/* The number of leading (top) and trailing (bottom) bits set in m. */
static int leading_ones(uint64_t m)
{
	int k = 0;
	while (k < 64 && (m >> (63 - k) & 1))
		k++;
	return k;
}
static int trailing_ones(uint64_t m)
{
	int k = 0;
	while (k < 64 && (m >> k & 1))
		k++;
	return k;
}
/* The top k bits, the bottom k bits (k from 0 to 64). */
static uint64_t top_bits(int k) { return k <= 0 ? 0 : k >= 64 ? ~UINT64_C(0) : ~(~UINT64_C(0) >> k); }
static uint64_t bottom_bits(int k) { return k <= 0 ? 0 : k >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << k) - 1; }

/* The bits of a shift by an amount not known (LLVM's computeKnownBits
 * for shl, lshr and ashr by a variable): whatever the amount, at least
 * the least it can be - BPF takes it & 63, so at least its known ones
 * among the low six bits - a left shift keeps the operand's known-zero
 * low bits and adds that many; a logical right shift keeps its
 * known-zero high bits and adds that many; an arithmetic one keeps its
 * known high bits (zeros or ones: copies of the sign) and adds that
 * many: 1 >> x is 0 or 1, (x << 4) << y a multiple of 16. */
static Bits variable_shift_bits(int op, Bits a, Bits b)
{
	int least = (int)(b.one & 63);
	switch (op) {
	case BPF_LSH:
		return (Bits){ bottom_bits(trailing_ones(a.zero) + least), 0 };
	case BPF_RSH:
		return (Bits){ top_bits(leading_ones(a.zero) + least), 0 };
	case BPF_ARSH: {
		int zeros = leading_ones(a.zero), ones = leading_ones(a.one);
		return (Bits){ zeros ? top_bits(zeros + least) : 0, ones ? top_bits(ones + least) : 0 };
	}
	default:
		return (Bits){ 0, 0 };
	}
}

/* The bits of BPF's unsigned division and remainder (64-bit BPF_DIV and
 * BPF_MOD: a signed one divides magnitudes, native_lower.c; x / 0 is 0,
 * x % 0 is x), LLVM's computeKnownBits for udiv and urem where they hold
 * for BPF: a quotient is at most the largest dividend over the smallest
 * divisor, or the dividend itself where the divisor may be 0 - so
 * (div 1 g) is 0 or 1, (div (bsr g 5) x) below 8; a remainder is never
 * more than its dividend, and by a divisor known not 0 less than it, so
 * it has the leading zeros of the one with more (the divisor's only
 * where it is not 0: x % 0 is x). A divisor known 0 makes the quotient 0
 * and the remainder the dividend. */
static Bits division_bits(int op, Bits a, Bits b)
{
	if (bits_whole(b) && b.one == 0)
		return op == BPF_DIV ? bits_const(0) : a;
	if (op == BPF_DIV) {
		uint64_t most = umin_of(b) ? umax_of(a) / umin_of(b) : umax_of(a);
		return (Bits){ top_bits(leading_ones(~most)), 0 };
	}
	int zeros = leading_ones(a.zero);
	if (umin_of(b) && leading_ones(b.zero) > zeros)
		zeros = leading_ones(b.zero);
	return (Bits){ top_bits(zeros), 0 };
}

/* The bits of in's result from its operands' (a, b), where the
 * operation allows knowing some without knowing the values. With
 * verifier, only those the verifier knows too (its tnums: masks, or,
 * xor, shifts by constants, 32-bit moves, narrow loads): a mask or a
 * check left out for what only this pass knows would leave the verifier
 * a value it cannot bound (tests/gen/verifier_bounds.va). Without, also
 * those of shifts by an amount not known and of divisions and
 * remainders, which the verifier does not follow at all (it marks the
 * result unknown): fold_constants uses them
 * only to make a value all of whose bits they know a constant, which the
 * verifier then knows exactly. */
static Bits result_bits(const IrInsn *in, Bits a, Bits b, bool verifier)
{
	Bits none = { 0, 0 };
	switch (in->op) {
	case IR_MOV:
		return a;
	case IR_ZEXT32:
		return (Bits){ a.zero | ~UINT64_C(0) << 32, a.one & 0xffffffffu };
	case IR_LOAD:
	case IR_FRAME_LOAD:
		/* loads zero-extend; not a 4-byte one, which may be a
		 * context pointer the verifier widens (native_lower.c) */
		return in->size < 4 ? bits_below(in->size * 8) : none;
	case IR_ALU:
		break;
	default:
		return none;
	}
	uint64_t s = b.one;
	bool shift = bits_whole(b) && s < 64;
	switch (in->alu) {
	case BPF_AND: return (Bits){ a.zero | b.zero, a.one & b.one };
	case BPF_OR: return (Bits){ a.zero & b.zero, a.one | b.one };
	case BPF_XOR: return (Bits){ (a.zero & b.zero) | (a.one & b.one), (a.zero & b.one) | (a.one & b.zero) };
	case BPF_LSH:
		return shift ? (Bits){ a.zero << s | ((UINT64_C(1) << s) - 1), a.one << s } :
		       verifier ? none : variable_shift_bits(BPF_LSH, a, b);
	case BPF_RSH:
		return shift ? (Bits){ a.zero >> s | ~(~UINT64_C(0) >> s), a.one >> s } :
		       verifier ? none : variable_shift_bits(BPF_RSH, a, b);
	case BPF_ARSH:   /* the sign bit, known or not, copied in */
		return shift ? (Bits){ (uint64_t)((int64_t)a.zero >> s), (uint64_t)((int64_t)a.one >> s) } :
		       verifier ? none : variable_shift_bits(BPF_ARSH, a, b);
	case BPF_DIV:
	case BPF_MOD:   /* the verifier keeps no bounds through them */
		return verifier ? none : division_bits(in->alu, a, b);
	default:   /* + - *: bounds the verifier keeps as ranges: nothing
		    * known here */
		return none;
	}
}

static void make_copy(IrInsn *in, IrVal from)
{
	int dst = in->dst;
	make_nop(in);
	in->op = IR_MOV;
	in->dst = dst;
	in->a = (IrVal){ .vreg = from.vreg, .imm = from.imm };
}

/* Arithmetic on constants done here, as clang folds the C's: an
 * operation whose operands are constants (literals, or values set once
 * by one) becomes its result, a jump whose outcome the operands' known
 * bits decide (a constant, a load's width, a mask, a shift: a u16 is not
 * 4598843201546630673, x & 15 is not 31, x | 1 is not 2) a goto or
 * nothing, and an operation with a neutral constant (x + 0, x * 1, x & -1,
 * x % 0, shifts by 0, a mask keeping every bit x may have) a copy, x * 0,
 * x & 0, x / 0, 0 / x, 0 % x and 0 shifted the constant 0; a division by
 * a power of two a shift, a remainder by one a mask; a value all of whose
 * bits are known (the verifier's or not: (1 >> x) | 1, (1 / x) / 5) that
 * constant.
 * What a jump leaves unreachable then goes (remove_unreachable), and the copies and constants reach their readers
 * with propagate_copies. In the IR's order, as each value set once is set
 * before it is read (check_defined), so what is known of it holds
 * wherever it is read. Returns whether anything changed. */
static bool fold_constants(IrFunc *f)
{
	int n = f->nvregs + 1;
	int *def_at;
	int *defs = count_defs(f, &def_at);
	Bits *known = calloc((size_t)n, sizeof(Bits));
	/* what is known of each value, the verifier's knowledge or not
	 * (result_bits without verifier): a superset of known */
	Bits *exact = calloc((size_t)n, sizeof(Bits));
	bool changed = false;
	/* the lowering's bound on a register (IrVal.bits) holds wherever a
	 * value set once is read; only a load's and a 32-bit move's, not an
	 * arithmetic result's or a byte swap's: its bound on a quotient, or
	 * on a swap, may be one the verifier does not know, and a mask or a check dropped for it
	 * would leave the verifier a value it cannot bound (a cgroup_skb
	 * return of (band (div 0 x) 1): "R0 has unknown scalar value") */
	for (int i = 0; i < f->len; i++) {
		const IrInsn *in = &f->insns[i];
		const IrVal *ops[7] = { &in->a, &in->b };
		int nops = 2;
		for (int k = 0; k < in->nargs; k++)
			ops[nops++] = &in->args[k];
		for (int k = 0; k < nops; k++) {
			int v = ops[k]->remat ? 0 : ops[k]->vreg;
			IrOp by = v ? f->insns[def_at[v]].op : IR_NOP;
			if (v && defs[v] == 1 && by != IR_ALU && by != IR_END)
				known[v].zero |= bits_below(ops[k]->bits).zero;
		}
	}
	memcpy(exact, known, sizeof(Bits) * (size_t)n);
	free(def_at);
	for (int i = 0; i < f->len; i++) {
		IrInsn *in = &f->insns[i];
		Bits none = { 0, 0 };
		Bits a = in->a.remat ? none : in->a.vreg ? known[in->a.vreg] : bits_const((uint64_t)in->a.imm);
		Bits b = in->b.remat ? none : in->b.vreg ? known[in->b.vreg] : bits_const((uint64_t)in->b.imm);
		bool ka = bits_whole(a), kb = bits_whole(b);
		uint64_t r;
		switch (in->op) {
		case IR_ALU:
			if (ka && (kb || in->alu == BPF_NEG) && alu_result(in->alu, a.one, b.one, &r)) {
				make_copy(in, (IrVal){ .imm = (int64_t)r });
				changed = true;
			} else if (ka && a.one == 0 && in->alu != BPF_ADD && in->alu != BPF_SUB &&
				   in->alu != BPF_OR && in->alu != BPF_XOR) {
				/* 0 * x, 0 & x, 0 / x, 0 % x (0 % 0 is 0 too), 0 shifted */
				make_copy(in, (IrVal){ .imm = 0 });
				changed = true;
			} else if (kb && !in->a.remat) {
				uint64_t c = b.one;
				bool neutral = (c == 0 && (in->alu == BPF_ADD || in->alu == BPF_SUB ||
							   in->alu == BPF_OR || in->alu == BPF_XOR ||
							   in->alu == BPF_LSH || in->alu == BPF_RSH ||
							   in->alu == BPF_ARSH)) ||
					       (c == 1 && (in->alu == BPF_MUL || in->alu == BPF_DIV)) ||
					       (c == 0 && in->alu == BPF_MOD) ||
					       (in->alu == BPF_AND && (umax_of(a) & ~c) == 0);
				/* x / 0 is 0 and x % 0 is x in BPF (a divisor
				 * found 0 only here stays a register: the
				 * verifier refuses an immediate 0) */
				bool zero = c == 0 && (in->alu == BPF_MUL || in->alu == BPF_AND ||
						       in->alu == BPF_DIV);
				if (neutral) {
					make_copy(in, in->a);
					changed = true;
				} else if (zero) {
					make_copy(in, (IrVal){ .imm = 0 });
					changed = true;
				} else if ((in->alu == BPF_DIV || in->alu == BPF_MOD) && c && !(c & (c - 1))) {
					/* x / 2^k is x >> k, x % 2^k is x & (2^k - 1),
					 * as LLVM writes them: BPF_DIV and BPF_MOD are
					 * unsigned (a signed div or rem is a division of
					 * magnitudes here, native_lower.c), so the result
					 * is the same for every x; and the verifier knows
					 * a shift's or a mask's range, not a quotient's or
					 * a remainder's (it tracks no bounds through them:
					 * a quotient added to a packet pointer is refused).
					 * Here rather than in the lowering, because the
					 * divisor may become a constant only here: a
					 * magnitude, an inlined call's argument */
					int k = trailing_ones(~c);
					in->b = (IrVal){ .imm = in->alu == BPF_DIV ? k : (int64_t)(c - 1) };
					in->alu = in->alu == BPF_DIV ? BPF_RSH : BPF_AND;
					changed = true;
				}
			}
			break;
		case IR_ZEXT32:
			if (ka || (a.zero >> 32) == 0xffffffffu) {
				make_copy(in, ka ? (IrVal){ .imm = (int64_t)(uint32_t)a.one } : in->a);
				changed = true;
			}
			break;
		case IR_JCC: {
			int taken = in->a.vreg && in->a.vreg == in->b.vreg && !in->a.remat && !in->b.remat ?
				    jump_on_itself(in->alu) : jump_decided(in->alu, a, b);
			if (taken >= 0) {
				int label = in->label;
				make_nop(in);
				if (taken) {
					in->op = IR_JA;
					in->label = label;
				}
				changed = true;
			}
			break;
		}
		default:
			break;
		}
		if (in->dst && defs[in->dst] == 1) {
			/* the operands again: a folded instruction is a copy now */
			a = in->a.remat ? none : in->a.vreg ? known[in->a.vreg] : bits_const((uint64_t)in->a.imm);
			b = in->b.remat ? none : in->b.vreg ? known[in->b.vreg] : bits_const((uint64_t)in->b.imm);
			Bits got = result_bits(in, a, b, true);
			known[in->dst].zero |= got.zero;
			known[in->dst].one |= got.one;
			Bits ea = in->a.remat ? none : in->a.vreg ? exact[in->a.vreg] : bits_const((uint64_t)in->a.imm);
			Bits eb = in->b.remat ? none : in->b.vreg ? exact[in->b.vreg] : bits_const((uint64_t)in->b.imm);
			Bits more = result_bits(in, ea, eb, false);
			exact[in->dst].zero |= known[in->dst].zero | more.zero;
			exact[in->dst].one |= known[in->dst].one | more.one;
			/* a value all of whose bits are known is that constant
			 * ((bor (bsr 1 x) 1) is 1, as clang folds it), even
			 * where the verifier would not know them: it knows a
			 * constant */
			bool constant = in->op == IR_MOV && !in->a.vreg && !in->a.remat;
			if (bits_whole(exact[in->dst]) && !constant &&
			    (in->op == IR_ALU || in->op == IR_MOV || in->op == IR_ZEXT32)) {
				make_copy(in, (IrVal){ .imm = (int64_t)exact[in->dst].one });
				known[in->dst] = exact[in->dst];
				changed = true;
			}
		}
	}
	free(defs);
	free(known);
	free(exact);
	return changed;
}

/* What forward_globals knows of one global at a point: a value holding
 * its address, and the value it holds (size bytes), as vregs set once. */
typedef struct Known {
	int addr;
	bool has_value;
	IrVal value;
	int size;
} Known;

/* What holds on two paths: what is known alike on both. */
static void meet(Known *into, const Known *other, int nglobals)
{
	for (int g = 0; g < nglobals; g++) {
		Known *a = &into[g];
		const Known *b = &other[g];
		if (a->addr != b->addr)
			a->addr = 0;
		if (!b->has_value || a->size != b->size || a->value.vreg != b->value.vreg ||
		    (!a->value.vreg && a->value.imm != b->value.imm))
			a->has_value = false;
	}
}

/* A global's address made once and its value read once, as long as
 * nothing can have changed them: a second IR_GLOBAL of the same global
 * reads the first's register instead; a load of a global just stored or
 * loaded becomes a copy of that value (propagate_copies then reads it
 * directly), as clang keeps the C's non-volatile globals in registers.
 * Along straight code; at a label, what is known alike on every way
 * into it (the jumps from above and falling in); a loop's head knows
 * nothing. A call forgets the addresses (kept over it, they would need
 * a register calls spare); a call of a function, not of a helper, the
 * values too (a function may write any global; a helper cannot, as no
 * pointer to a global exists in the language). */
static void forward_globals(IrFunc *f)
{
	int nglobals = 0;
	for (int i = 0; i < f->len; i++)
		if (f->insns[i].op == IR_GLOBAL && f->insns[i].global >= nglobals)
			nglobals = f->insns[i].global + 1;
	if (!nglobals)
		return;
	int n = f->nvregs + 1;
	int *defs = calloc((size_t)n, sizeof(int));
	int *global_of = calloc((size_t)n, sizeof(int));   /* address of global - 1 */
	int *rename = calloc((size_t)n, sizeof(int));
	Known **at_label = calloc((size_t)f->nlabels + 1, sizeof(Known *));
	size_t bytes = sizeof(Known) * (size_t)nglobals;
	Known *known = calloc((size_t)nglobals, sizeof(Known));
	int *label_pos = label_positions(f);
	bool *loop_head = calloc((size_t)f->nlabels + 1, sizeof(bool));
	for (int i = 0; i < f->len; i++) {
		const IrInsn *in = &f->insns[i];
		defs[in->dst]++;
		if ((in->op == IR_JA || in->op == IR_JCC) && label_pos[in->label] <= i)
			loop_head[in->label] = true;
	}
	bool falls = true;
	for (int i = 0; i < f->len; i++) {
		IrInsn *in = &f->insns[i];
		/* reads of a renamed address go to the one kept */
		if (rename[in->a.vreg])
			in->a.vreg = rename[in->a.vreg];
		if (rename[in->b.vreg])
			in->b.vreg = rename[in->b.vreg];
		for (int k = 0; k < in->nargs; k++)
			if (rename[in->args[k].vreg])
				in->args[k].vreg = rename[in->args[k].vreg];
		switch (in->op) {
		case IR_LABEL: {
			const Known *from = at_label[in->label];
			if (loop_head[in->label] || (!falls && !from))
				memset(known, 0, bytes);
			else if (!falls)
				memcpy(known, from, bytes);
			else if (from)
				meet(known, from, nglobals);
			break;
		}
		case IR_JA:
		case IR_JCC:
			if (label_pos[in->label] <= i)
				break;   /* a loop's back edge: its head knows nothing */
			if (!at_label[in->label]) {
				at_label[in->label] = malloc(bytes);
				memcpy(at_label[in->label], known, bytes);
			} else {
				meet(at_label[in->label], known, nglobals);
			}
			break;
		case IR_CALL:
			for (int g = 0; g < nglobals; g++) {
				/* an address kept over a call would need a register
				 * calls spare; a value goes only if the callee may
				 * write globals: a helper cannot, no pointer to one
				 * exists in the language */
				known[g].addr = 0;
				if (in->fn >= 0 || in->c_fn >= 0)
					known[g].has_value = false;
			}
			break;
		case IR_GLOBAL: {
			Known *k = &known[in->global];
			if (k->addr && defs[in->dst] == 1) {
				rename[in->dst] = k->addr;
				make_nop(in);
			} else if (defs[in->dst] == 1) {
				k->addr = in->dst;
				global_of[in->dst] = in->global + 1;
			}
			break;
		}
		case IR_LOAD:
		case IR_STORE: {
			int g = in->a.vreg ? global_of[in->a.vreg] - 1 : -1;
			if (g < 0 || in->off != 0 || in->a.remat || in->atomic_add)
				break;
			Known *k = &known[g];
			if (in->op == IR_STORE && k->has_value && k->size == in->size &&
			    k->value.vreg == in->b.vreg && (in->b.vreg || k->value.imm == in->b.imm)) {
				make_nop(in);   /* the global holds that already */
			} else if (in->op == IR_STORE) {
				bool lasting = !in->b.remat && (!in->b.vreg || defs[in->b.vreg] == 1);
				k->has_value = lasting;
				k->value = in->b;
				k->size = in->size;
			} else if (k->has_value && k->size == in->size) {
				int dst = in->dst;
				IrVal v = k->value;
				make_nop(in);
				in->op = IR_MOV;
				in->dst = dst;
				in->a = (IrVal){ .vreg = v.vreg, .imm = v.imm };
			} else if (defs[in->dst] == 1) {
				k->has_value = true;
				k->value = (IrVal){ .vreg = in->dst };
				k->size = in->size;
			}
			break;
		}
		default:
			break;
		}
		falls = in->op != IR_JA && in->op != IR_RET && !(in->op == IR_NOP && !falls) &&
			!(in->op == IR_LINE && !falls);
	}
	for (int l = 0; l <= f->nlabels; l++)
		free(at_label[l]);
	free(at_label);
	free(loop_head);
	free(label_pos);
	free(known);
	free(rename);
	free(global_of);
	free(defs);
}

/* Does the call in run code that may read any global: a function, or
 * bpf_tail_call, whose program shares this object's globals (entry sets
 * g, tail-calls q1, which reads it: tests/gen/tail_call_global)? */
static bool call_reads_globals(const IrInsn *in)
{
	return in->op == IR_CALL && (in->fn >= 0 || in->c_fn >= 0 || in->imm == BPF_FUNC_tail_call);
}

/* A store to a global that a later store of the same bytes overwrites
 * before anything can read them goes, as clang drops the C's: along
 * straight code (a jump or return ends the search: the global may be
 * read elsewhere), past helper calls (no pointer to a global exists, so
 * a helper reads none) but not calls that run other code. */
static void remove_dead_global_stores(IrFunc *f)
{
	int n = f->nvregs + 1;
	int *defs = count_defs(f, NULL);
	int *global_of = calloc((size_t)n, sizeof(int));   /* global + 1 */
	/* what may hold a global's address another way (a copy, an
	 * offset): a base the search cannot tell from this global's */
	bool *maybe_global = calloc((size_t)n, sizeof(bool));
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = 0; i < f->len; i++) {
			const IrInsn *in = &f->insns[i];
			bool from = in->op == IR_GLOBAL ||
				    ((in->op == IR_MOV || in->op == IR_ALU) &&
				     ((in->a.vreg && maybe_global[in->a.vreg]) ||
				      (in->b.vreg && maybe_global[in->b.vreg])));
			if (in->dst && from && !maybe_global[in->dst])
				changed = maybe_global[in->dst] = true;
		}
	}
	for (int i = 0; i < f->len; i++) {
		const IrInsn *in = &f->insns[i];
		if (in->op == IR_GLOBAL && defs[in->dst] == 1)
			global_of[in->dst] = in->global + 1;
	}
	for (int i = 0; i < f->len; i++) {
		IrInsn *st = &f->insns[i];
		int g = st->op == IR_STORE && !st->atomic_add && st->a.vreg && !st->a.remat ?
			global_of[st->a.vreg] : 0;
		if (!g)
			continue;
		for (int j = i + 1; j < f->len; j++) {
			const IrInsn *in = &f->insns[j];
			if (in->op == IR_JA || in->op == IR_JCC || in->op == IR_RET || call_reads_globals(in))
				break;
			bool access = (in->op == IR_LOAD || in->op == IR_STORE) && in->a.vreg && !in->a.remat;
			if (!access || !maybe_global[in->a.vreg])
				continue;
			if (global_of[in->a.vreg] != g) {
				if (!global_of[in->a.vreg])
					break;   /* some global: maybe this one */
				continue;
			}
			if (in->op == IR_STORE && !in->atomic_add && in->off <= st->off &&
			    in->off + in->size >= st->off + st->size) {
				make_nop(st);
				break;
			}
			if (in->op == IR_LOAD || in->op == IR_STORE)
				break;   /* read, or written in part */
		}
	}
	free(maybe_global);
	free(defs);
	free(global_of);
}

/* Does in hand a frame address on (a helper's argument made in its
 * register, or such an address copied into a value)? */
static bool passes_frame_address(const IrInsn *in, int *lowest)
{
	const IrVal *ops[7] = { &in->a, &in->b };
	int nops = 2;
	bool any = false;
	for (int k = 0; k < in->nargs; k++)
		ops[nops++] = &in->args[k];
	for (int k = 0; k < nops; k++) {
		if (ops[k]->remat == REMAT_FRAME) {
			any = true;
			if (ops[k]->imm < *lowest)
				*lowest = (int)ops[k]->imm;
		}
	}
	return any;
}

/* The lowering's frame slots (the stack built-ins' areas, records,
 * by-value copies) kept in registers where it can tell what they hold,
 * as clang keeps the C's local arrays and structs in registers: a load
 * of a slot just stored reads the value stored (a narrower load of a
 * constant, its low bytes), a load of one just loaded the value loaded.
 * Along straight code, through labels only falling in; a call that is
 * given a frame address may write the frame (anything else cannot: the
 * frame's address is never a value in a register of this IR unless
 * copied there, and then loads and stores through any pointer count as
 * well). Then a store to a slot nothing in the function reads - no load
 * overlapping it, no call given an address at or below it - goes. */
typedef struct SlotValue {
	int off, size;
	IrVal value;
} SlotValue;

static void forward_frame_slots(IrFunc *f)
{
	int n = f->nvregs + 1;
	int *defs = calloc((size_t)n, sizeof(int));
	int *jumps_to = calloc((size_t)f->nlabels + 1, sizeof(int));
	bool escapes = false;   /* a frame address in a register */
	int lowest_passed = 0;   /* the lowest frame address a call is given */
	for (int i = 0; i < f->len; i++) {
		const IrInsn *in = &f->insns[i];
		defs[in->dst]++;
		if (in->op == IR_JA || in->op == IR_JCC)
			jumps_to[in->label]++;
		if (passes_frame_address(in, &lowest_passed) && in->op != IR_CALL)
			escapes = true;
	}
	SlotValue *known = malloc(sizeof(SlotValue) * (size_t)(f->len + 1));
	int nknown = 0;
	for (int i = 0; i < f->len; i++) {
		IrInsn *in = &f->insns[i];
		int lowest = 0;
		switch (in->op) {
		case IR_LABEL:
			if (jumps_to[in->label])
				nknown = 0;
			break;
		case IR_CALL:
			if (escapes || passes_frame_address(in, &lowest))
				nknown = 0;
			break;
		case IR_LOAD:
		case IR_STORE:
			if (escapes)
				nknown = 0;
			break;
		case IR_FRAME_STORE: {
			int k = 0;
			for (int j = 0; j < nknown; j++)
				if (known[j].off + known[j].size <= in->off || in->off + in->size <= known[j].off)
					known[k++] = known[j];
			nknown = k;
			if (!in->b.remat && (!in->b.vreg || defs[in->b.vreg] == 1))
				known[nknown++] = (SlotValue){ in->off, in->size,
							       (IrVal){ .vreg = in->b.vreg, .imm = in->b.imm } };
			break;
		}
		case IR_FRAME_LOAD: {
			const SlotValue *hit = NULL;
			for (int j = 0; j < nknown; j++)
				if (known[j].off == in->off && known[j].size == in->size)
					hit = &known[j];
			if (hit && (in->size == 8 || !hit->value.vreg)) {
				IrVal v = hit->value;
				if (!v.vreg && in->size < 8)
					v.imm = (int64_t)((uint64_t)v.imm & ((UINT64_C(1) << (in->size * 8)) - 1));
				make_copy(in, v);
			} else if (!hit && defs[in->dst] == 1) {
				known[nknown++] = (SlotValue){ in->off, in->size, (IrVal){ .vreg = in->dst } };
			}
			break;
		}
		default:
			break;
		}
	}
	for (int i = 0; i < f->len && !escapes; i++) {
		IrInsn *st = &f->insns[i];
		if (st->op != IR_FRAME_STORE || st->off + st->size > lowest_passed)
			continue;
		bool read = false;
		for (int j = 0; j < f->len && !read; j++) {
			const IrInsn *ld = &f->insns[j];
			read = ld->op == IR_FRAME_LOAD && ld->off < st->off + st->size && st->off < ld->off + ld->size;
		}
		if (!read)
			make_nop(st);
	}
	free(known);
	free(jumps_to);
	free(defs);
}

/* A value as leaf * mul + add (64-bit, wrapping), leaf a register set
 * once or 0 for a constant: what + - * neg and left shifts by constants
 * make of one value. */
typedef struct Linear {
	bool known;
	int leaf;
	uint64_t mul, add;
} Linear;

static Linear linear_of(const IrVal *v, const Linear *forms, const int *defs)
{
	if (v->remat)
		return (Linear){ 0 };
	if (!v->vreg)
		return (Linear){ true, 0, 0, (uint64_t)v->imm };
	if (defs[v->vreg] != 1)
		return (Linear){ 0 };
	return forms[v->vreg].known ? forms[v->vreg] : (Linear){ true, v->vreg, 1, 0 };
}

/* The form of in's result, if it is linear in one leaf. */
static Linear linear_result(const IrInsn *in, Linear a, Linear b)
{
	Linear none = { 0 };
	if (in->op == IR_MOV)
		return a;
	if (in->op != IR_ALU || !a.known)
		return none;
	if (in->alu == BPF_NEG)
		return (Linear){ true, a.leaf, -a.mul, -a.add };
	if (!b.known)
		return none;
	switch (in->alu) {
	case BPF_ADD:
	case BPF_SUB: {
		if (a.leaf && b.leaf && a.leaf != b.leaf)
			return none;
		uint64_t sign = in->alu == BPF_SUB ? ~UINT64_C(0) : 1;
		return (Linear){ true, a.leaf ? a.leaf : b.leaf, a.mul + sign * b.mul, a.add + sign * b.add };
	}
	case BPF_MUL:
		if (!b.leaf)
			return (Linear){ true, a.leaf, a.mul * b.add, a.add * b.add };
		if (!a.leaf)
			return (Linear){ true, b.leaf, b.mul * a.add, b.add * a.add };
		return none;
	case BPF_LSH:
		if (b.leaf || b.add > 63)
			return none;
		return (Linear){ true, a.leaf, a.mul << b.add, a.add << b.add };
	default:
		return none;
	}
}

/* Instruction slots leaf * mul + add takes made anew (a constant outside
 * 32 signed bits is a 64-bit load first). */
static int linear_cost(Linear l)
{
	int wide_mul = (int64_t)l.mul != (int32_t)l.mul ? 2 : 0;
	int wide_add = (int64_t)l.add != (int32_t)l.add ? 2 : 0;
	if (!l.leaf || !l.mul)
		return 1 + wide_add / 2;
	if (l.mul == 1)
		return l.add ? 1 + wide_add : 0;
	return 1 + wide_mul + (l.add ? 1 + wide_add : 0);
}

/* Sums and products of one value with constants computed from that
 * value once, as clang reassociates the C's: `(+ (* (+ g 1) 3) (* (+ g 2)
 * 4))` is g * 7 + 11. Where a chain of + - * neg and shifts, each read
 * only by the next, reads one register set once (and constants), its
 * last instruction is remade from that register when that takes fewer
 * instructions than the chain; the rest of the chain then has no reader
 * and goes (remove_dead_values). The arithmetic wraps at 64 bits as the
 * instructions do, so the value is the same. */
static void reassociate(IrFunc *f)
{
	int n = f->nvregs + 1;
	int *defs = calloc((size_t)n, sizeof(int));
	int *reads = calloc((size_t)n, sizeof(int));
	int *def_at = calloc((size_t)n, sizeof(int));
	int *chain = calloc((size_t)n, sizeof(int));   /* instructions that die with it */
	Linear *forms = calloc((size_t)n, sizeof(Linear));
	for (int i = 0; i < f->len; i++) {
		const IrInsn *in = &f->insns[i];
		defs[in->dst]++;
		def_at[in->dst] = i;
		count_reads(in, reads, 1);
	}
	for (int i = 0; i < f->len; i++) {
		const IrInsn *in = &f->insns[i];
		if (!in->dst || defs[in->dst] != 1 || (in->op != IR_ALU && in->op != IR_MOV))
			continue;
		Linear l = linear_result(in, linear_of(&in->a, forms, defs), linear_of(&in->b, forms, defs));
		if (!l.known)
			continue;
		forms[in->dst] = l;
		chain[in->dst] = in->op == IR_ALU;
		const IrVal *ops[2] = { &in->a, &in->b };
		for (int k = 0; k < 2; k++) {
			int v = ops[k]->vreg;
			if (v && !ops[k]->remat && forms[v].known && reads[v] == 1)
				chain[in->dst] += chain[v];
		}
	}
	/* the rewrites: each replaces one instruction by up to two */
	IrInsn *out = arena_alloc(sizeof(IrInsn) * (size_t)(2 * f->len + 1));   /* as ir_emit's */
	int len = 0;
	bool *remade = calloc((size_t)f->len + 1, sizeof(bool));
	for (int i = f->len - 1; i >= 0; i--) {
		IrInsn *in = &f->insns[i];
		int v = in->dst;
		if (!v || in->op != IR_ALU || defs[v] != 1 || !forms[v].known || !reads[v] ||
		    linear_cost(forms[v]) >= chain[v])
			continue;
		count_reads(in, reads, -1);
		remade[i] = true;
	}
	for (int i = 0; i < f->len; i++) {
		IrInsn *in = &f->insns[i];
		if (!remade[i]) {
			out[len++] = *in;
			continue;
		}
		Linear l = forms[in->dst];
		IrInsn base = *in;
		base.a = base.b = (IrVal){ 0 };
		if (!l.leaf || !l.mul) {
			base.op = IR_MOV;
			base.a.imm = (int64_t)l.add;
			out[len++] = base;
			continue;
		}
		IrVal scaled = { .vreg = l.leaf };
		if (l.mul != 1) {
			IrInsn mul = base;
			mul.alu = BPF_MUL;
			mul.a = scaled;
			mul.b.imm = (int64_t)l.mul;
			if (l.add) {
				mul.dst = ++f->nvregs;
				scaled = (IrVal){ .vreg = mul.dst };
			}
			out[len++] = mul;
			if (!l.add)
				continue;
		}
		if (l.add) {
			base.alu = BPF_ADD;
			base.a = scaled;
			base.b.imm = (int64_t)l.add;
		} else {
			base.op = IR_MOV;
			base.a = scaled;
		}
		out[len++] = base;
	}
	f->cap = 2 * f->len + 1;
	f->insns = out;
	f->len = len;
	free(remade);
	free(forms);
	free(chain);
	free(def_at);
	free(reads);
	free(defs);
}

/* How many low bits of operand k (0: a, 1: b) in reads (64: all of
 * them): a mask, a left shift, a 32-bit move, a byte swap and a store
 * read only the low ones. */
static int bits_read(const IrInsn *in, int k)
{
	switch (in->op) {
	case IR_ALU:
		if (k != 0 || in->b.vreg || in->b.remat)
			return 64;
		if (in->alu == BPF_AND && in->b.imm >= 0) {
			int w = 0;
			while (w < 64 && (uint64_t)in->b.imm >> w)
				w++;
			return w;
		}
		if (in->alu == BPF_LSH && in->b.imm > 0 && in->b.imm < 64)
			return 64 - (int)in->b.imm;
		return 64;
	case IR_ZEXT32:
		return 32;
	case IR_END:
		return k == 0 ? (int)in->imm : 64;
	case IR_STORE:
	case IR_FRAME_STORE:
		return k == 1 ? in->size * 8 : 64;
	default:
		return 64;
	}
}

/* Is in `a & (2^k - 1)`, a wrap to k unsigned bits (any other mask
 * changes bits below its highest)? */
static bool is_low_mask(const IrInsn *in)
{
	uint64_t m = (uint64_t)in->b.imm;
	return in->op == IR_ALU && in->alu == BPF_AND && !in->b.vreg && !in->b.remat &&
	       in->b.imm > 0 && (m & (m + 1)) == 0;
}

/* If w is a wrap to a type (native_lower.c's wrap(): a 32-bit move, a
 * low mask, or a shift left and arithmetic shift right by one amount),
 * the low bits it keeps, and in *from the value it wraps; else 0. The
 * shift pair's operand must be set once, so that it holds the same value
 * where the wrap is. defs/def_at: how often and where each register is
 * set. */
static int wrap_source(const IrFunc *f, const IrInsn *w, const int *defs, const int *def_at,
		       IrVal *from)
{
	*from = w->a;
	if (w->op == IR_ZEXT32)
		return 32;
	if (is_low_mask(w))
		return bits_read(w, 0);
	if (w->op == IR_ALU && w->alu == BPF_ARSH && !w->b.vreg && w->a.vreg && defs[w->a.vreg] == 1) {
		const IrInsn *up = &f->insns[def_at[w->a.vreg]];
		if (up->op == IR_ALU && up->alu == BPF_LSH && !up->b.vreg && up->b.imm == w->b.imm &&
		    w->b.imm > 0 && w->b.imm < 64 && (!up->a.vreg || defs[up->a.vreg] == 1)) {
			*from = up->a;
			return 64 - (int)w->b.imm;
		}
	}
	return 0;
}

/* A wrap to a type (native_lower.c's wrap(): a 32-bit move, a mask, a
 * shift left and arithmetic shift right) changes none of its operand's
 * low bits it keeps. An instruction that reads no more of its operand
 * than those (bits_read) reads the value before the wrap instead:
 * `(u8 (i8 x))` masks x, without sign-extending it first; a u32 sum
 * stored in 4 bytes needs no 32-bit move. The wrap then often has no
 * reader left (remove_dead_values). Values set once only, so the value
 * before the wrap is the same where it is read. */
static void skip_wraps(IrFunc *f)
{
	int *def_at;
	int *defs = count_defs(f, &def_at);
	for (int i = 0; i < f->len; i++) {
		IrInsn *in = &f->insns[i];
		for (int k = 0; k < 2; k++) {
			IrVal *op = k == 0 ? &in->a : &in->b;
			int want = bits_read(in, k);
			while (want < 64 && op->vreg && !op->remat && defs[op->vreg] == 1) {
				IrVal from;
				int kept = wrap_source(f, &f->insns[def_at[op->vreg]], defs, def_at, &from);
				if (!kept || want > kept || from.remat || (from.vreg && defs[from.vreg] != 1))
					break;
				*op = (IrVal){ .vreg = from.vreg, .imm = from.imm };
			}
		}
	}
	free(defs);
	free(def_at);
}

/* The low bits of a value some reader needs (LLVM's demanded bits): an
 * operation whose result's low d bits depend only on its operands' low d
 * bits (+ - * neg and or xor, a left shift by a constant, a copy) passes
 * its result's demand on to them; a mask, a 32-bit move, a byte swap and
 * a store need no more than they keep; everything else - compares,
 * divisions, right shifts, calls, returns, addresses - needs all 64. A
 * wrap (a 32-bit move, a mask, a shift pair) whose result no reader
 * needs beyond the bits it keeps is then a copy of its operand: a u32
 * sum added to another before one 32-bit move at the end. */
static void drop_undemanded_wraps(IrFunc *f)
{
	int n = f->nvregs + 1;
	int *demand = calloc((size_t)n, sizeof(int));
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = f->len - 1; i >= 0; i--) {
			const IrInsn *in = &f->insns[i];
			int d = in->dst ? demand[in->dst] : 64;
			IrVal ops[7] = { in->a, in->b };
			int need[7] = { 64, 64 }, nops = 2;
			for (int k = 0; k < in->nargs; k++) {
				ops[nops] = in->args[k];
				need[nops++] = 64;
			}
			if (in->op == IR_MOV) {
				need[0] = d;
			} else if (in->op == IR_ALU) {
				switch (in->alu) {
				case BPF_ADD: case BPF_SUB: case BPF_MUL: case BPF_NEG:
				case BPF_AND: case BPF_OR: case BPF_XOR:
					need[0] = need[1] = d;
					if (in->alu == BPF_AND && !in->b.vreg && bits_read(in, 0) < d)
						need[0] = bits_read(in, 0);
					break;
				case BPF_LSH:
					if (!in->b.vreg && in->b.imm > 0 && in->b.imm < 64)
						need[0] = d > in->b.imm ? d - (int)in->b.imm : 0;
					break;
				default:
					break;
				}
			} else if (in->op == IR_ZEXT32) {
				need[0] = d < 32 ? d : 32;
			} else {
				need[0] = bits_read(in, 0);
				need[1] = bits_read(in, 1);
			}
			for (int k = 0; k < nops; k++) {
				int v = ops[k].remat ? 0 : ops[k].vreg;
				if (v && need[k] > demand[v]) {
					demand[v] = need[k];
					changed = true;
				}
			}
		}
	}
	int *def_at;
	int *defs = count_defs(f, &def_at);
	for (int i = 0; i < f->len; i++) {
		IrInsn *w = &f->insns[i];
		if (!w->dst)
			continue;
		IrVal from;
		int kept = wrap_source(f, w, defs, def_at, &from);
		if (!kept || demand[w->dst] > kept || from.remat)
			continue;
		int dst = w->dst;
		make_nop(w);
		w->op = IR_MOV;
		w->dst = dst;
		w->a = (IrVal){ .vreg = from.vreg, .imm = from.imm };
	}
	free(defs);
	free(def_at);
	free(demand);
}

/* A conditional jump to where control goes anyway (its target comes
 * next, or only lines and labels are between) decides nothing. */
static void remove_empty_jumps(IrFunc *f)
{
	/* backwards: a jump removed may leave the one before it empty */
	for (int i = f->len - 1; i >= 0; i--) {
		IrInsn *in = &f->insns[i];
		if (in->op != IR_JCC && in->op != IR_JA)
			continue;
		for (int j = i + 1; j < f->len; j++) {
			const IrInsn *next = &f->insns[j];
			if (next->op == IR_LABEL && next->label == in->label) {
				make_nop(in);
				break;
			}
			if (next->op != IR_LINE && next->op != IR_LABEL && next->op != IR_NOP)
				break;
		}
	}
}

/* Returns of one constant share the last of them: the others jump to it
 * (one instruction instead of the constant's move and an exit), as clang
 * merges the C's returns. The last, so every such jump goes forward. */
static void merge_returns(IrFunc *f)
{
	for (int last = f->len - 1; last >= 0; last--) {
		IrInsn *ret = &f->insns[last];
		if (ret->op != IR_RET || ret->a.vreg || ret->a.remat || ret->label)
			continue;
		int64_t value = ret->a.imm;
		int target = 0;
		for (int i = 0; i < last; i++) {
			IrInsn *in = &f->insns[i];
			if (in->op != IR_RET || in->a.vreg || in->a.remat || in->a.imm != value)
				continue;
			if (!target) {
				/* a label right before the shared return: the
				 * array grows by one, instructions move up */
				target = f->nlabels++;
				ir_emit(f, IR_NOP);
				memmove(&f->insns[last + 1], &f->insns[last],
					sizeof(IrInsn) * (size_t)(f->len - 1 - last));
				make_nop(&f->insns[last]);
				f->insns[last].op = IR_LABEL;
				f->insns[last].label = target;
				f->insns[last + 1].label = -1;   /* merged: not again */
				in = &f->insns[i];   /* ir_emit may have moved the array */
			}
			make_nop(in);
			in->op = IR_JA;
			in->label = target;
		}
	}
	for (int i = 0; i < f->len; i++)
		if (f->insns[i].op == IR_RET)
			f->insns[i].label = 0;
}

/* The next instruction after i that does something (lines and NOPs
 * skipped; labels too when skip_labels); f->len when none. */
static int next_insn(const IrFunc *f, int i, bool skip_labels)
{
	for (int j = i + 1; j < f->len; j++) {
		IrOp op = f->insns[j].op;
		if (op != IR_LINE && op != IR_NOP && !(skip_labels && op == IR_LABEL))
			return j;
	}
	return f->len;
}

/* The jump taken when jcc is not (BPF_JSET has none: -1). */
static int inverse_jump(int jcc)
{
	switch (jcc) {
	case BPF_JEQ: return BPF_JNE;
	case BPF_JNE: return BPF_JEQ;
	case BPF_JGT: return BPF_JLE;
	case BPF_JLE: return BPF_JGT;
	case BPF_JGE: return BPF_JLT;
	case BPF_JLT: return BPF_JGE;
	case BPF_JSGT: return BPF_JSLE;
	case BPF_JSLE: return BPF_JSGT;
	case BPF_JSGE: return BPF_JSLT;
	case BPF_JSLT: return BPF_JSGE;
	default: return -1;
	}
}

/* `if c goto A; goto B; A:` is `if !c goto B; A:` - what a return
 * merged into a jump (merge_returns) often leaves. */
static void thread_jumps(IrFunc *f)
{
	for (int i = 0; i < f->len; i++) {
		IrInsn *in = &f->insns[i];
		if (in->op != IR_JCC || inverse_jump(in->alu) < 0)
			continue;
		int j = next_insn(f, i, false);
		if (j == f->len || f->insns[j].op != IR_JA)
			continue;
		bool lands = false;   /* is A right after the goto? */
		for (int k = j + 1; k < f->len; k++) {
			IrOp op = f->insns[k].op;
			if (op == IR_LABEL && f->insns[k].label == in->label)
				lands = true;
			if (op != IR_LINE && op != IR_NOP && op != IR_LABEL)
				break;
		}
		if (!lands)
			continue;
		in->alu = inverse_jump(in->alu);
		in->label = f->insns[j].label;
		make_nop(&f->insns[j]);
	}
}

/* An instruction whose only effect is its result. */
static bool is_pure(const IrInsn *in)
{
	switch (in->op) {
	case IR_MOV:
	case IR_ALU:
	case IR_ZEXT32:
	case IR_END:
	case IR_LOAD:
	case IR_FRAME_LOAD:
	case IR_FRAME_ADDR:
	case IR_MAP:
	case IR_GLOBAL:
		return true;
	default:
		return false;
	}
}

static void count_reads(const IrInsn *in, int *reads, int delta)
{
	reads[in->a.vreg] += delta;
	reads[in->b.vreg] += delta;
	for (int k = 0; k < in->nargs; k++)
		reads[in->args[k].vreg] += delta;
}

/* Pure instructions whose result nobody reads go, until none is left
 * (a wrap of a dropped value, then the value); a call's unread result is
 * dropped, so nothing reads r0 after it. */
static void remove_dead_values(IrFunc *f)
{
	int *reads = calloc((size_t)f->nvregs + 1, sizeof(int));
	for (int i = 0; i < f->len; i++)
		count_reads(&f->insns[i], reads, 1);
	for (bool changed = true; changed;) {
		changed = false;
		for (int i = f->len - 1; i >= 0; i--) {
			IrInsn *in = &f->insns[i];
			if (!in->dst || reads[in->dst] > 0)
				continue;
			if (is_pure(in)) {
				count_reads(in, reads, -1);
				make_nop(in);
				changed = true;
			} else if (in->op == IR_CALL) {
				in->dst = 0;
			}
		}
	}
	free(reads);
}

/* `t = a + b; d = t` where t is read nowhere else becomes `d = a + b`:
 * an if's or a match's arm, a loop's increment, a call's result copied
 * into the register that holds it afterwards. The definition and the copy
 * are next to each other (lines between them aside), so d is the same
 * everywhere but between the two. */
static void coalesce_copies(IrFunc *f)
{
	int *uses = calloc((size_t)f->nvregs + 1, sizeof(int));
	for (int i = 0; i < f->len; i++) {
		const IrInsn *in = &f->insns[i];
		uses[in->dst]++;
		count_reads(in, uses, 1);
	}
	for (int i = 1; i < f->len; i++) {
		IrInsn *copy = &f->insns[i];
		int t = copy->a.vreg;
		if (copy->op != IR_MOV || !t || copy->a.remat || t == copy->dst || uses[t] != 2)
			continue;
		int j = i - 1;
		while (j > 0 && (f->insns[j].op == IR_LINE || f->insns[j].op == IR_NOP))
			j--;
		IrInsn *def = &f->insns[j];
		if (def->dst != t || def->op == IR_PARAM)
			continue;
		def->dst = copy->dst;
		make_nop(copy);
	}
	free(uses);
}

typedef uint64_t Word;
enum { WORD_BITS = 64 };

static bool is_set(const Word *s, int v) { return s[v / WORD_BITS] >> (v % WORD_BITS) & 1; }
static void set_bit(Word *s, int v) { s[v / WORD_BITS] |= (Word)1 << (v % WORD_BITS); }

/* Is every value read set on every path that reaches the read, and does
 * every path end in a return? A forward pass in the IR's order: a value
 * is set at a label when it is set on every jump to it from above and on
 * the way falling into it. A loop's back edge adds nothing to that, since
 * the sets only grow along a path and the loop is entered from above. */
static bool check_defined(IrFunc *f)
{
	int words = f->nvregs / WORD_BITS + 1;
	size_t bytes = sizeof(Word) * (size_t)words;
	int *label_pos = label_positions(f);
	Word **at_label = calloc((size_t)f->nlabels + 1, sizeof(Word *));
	Word *cur = calloc((size_t)words, sizeof(Word));
	bool live = true;   /* control can reach the current instruction */
	bool ok = true;
	Span line = f->decl->span;
	for (int i = 0; i < f->len && ok; i++) {
		IrInsn *in = &f->insns[i];
		if (in->op == IR_LINE)
			line = in->span;
		if (in->op == IR_LABEL) {
			Word *from_above = at_label[in->label];
			if (!live && from_above)
				memcpy(cur, from_above, bytes);
			else if (from_above)
				for (int w = 0; w < words; w++)
					cur[w] &= from_above[w];
			live = live || from_above;
		}
		if (!live)
			continue;
		IrVal reads[7] = { in->a, in->b };
		int nreads = 2;
		for (int k = 0; k < in->nargs; k++)
			reads[nreads++] = in->args[k];
		for (int k = 0; k < nreads && ok; k++) {
			if (reads[k].vreg && !reads[k].remat && !is_set(cur, reads[k].vreg)) {
				diag_error(line, "native backend: internal error in %s: a value is "
					   "read before it is set (no object written)", f->name);
				ok = false;
			}
		}
		if (in->dst)
			set_bit(cur, in->dst);
		if ((in->op == IR_JA || in->op == IR_JCC) && label_pos[in->label] > i) {
			Word **s = &at_label[in->label];
			if (!*s) {
				*s = malloc(bytes);
				memcpy(*s, cur, bytes);
			} else {
				for (int w = 0; w < words; w++)
					(*s)[w] &= cur[w];
			}
		}
		if (!falls_on(in))
			live = false;
	}
	if (ok && live) {
		diag_error(line, "native backend: internal error in %s: a path runs past the "
			   "function's end (no object written)", f->name);
		ok = false;
	}
	for (int l = 0; l <= f->nlabels; l++)
		free(at_label[l]);
	free(at_label);
	free(cur);
	free(label_pos);
	return ok;
}

bool native_tidy(IrFunc *f)
{
	remove_unreachable(f);
	/* the checks first: the rewrites below rely on every read
	 * following a definition */
	if (!check_defined(f))
		return false;
	remove_empty_jumps(f);
	/* a jump folding decides leaves one way into what follows, where
	 * more of the globals is known: again until nothing folds */
	for (int round = 0; round < 8; round++) {
		forward_globals(f);
		forward_frame_slots(f);
		bool folded = false;
		do
			propagate_copies(f);
		while (fold_constants(f) && (folded = true));
		if (!folded)
			break;
		remove_unreachable(f);
		remove_empty_jumps(f);
	}
	remove_dead_global_stores(f);
	skip_wraps(f);
	drop_undemanded_wraps(f);
	propagate_copies(f);
	remove_dead_values(f);   /* so a chain's wraps left unread do not count as readers */
	reassociate(f);
	propagate_copies(f);
	remove_dead_values(f);
	/* what the values removed leave: arms with nothing in them */
	remove_empty_jumps(f);
	remove_dead_values(f);
	coalesce_copies(f);
	merge_returns(f);
	thread_jumps(f);
	return check_defined(f);
}

/* Functions only dead code called (a call in the arm of a constant
 * condition) are left out of the object, as clang leaves them out: the
 * entry, the exported functions and what their remaining code calls stay,
 * in their order. Runs after native_tidy on every function. */
void native_drop_uncalled(NativeModule *nm)
{
	bool *kept = calloc((size_t)nm->nfuncs + 1, sizeof(bool));
	int *work = malloc(sizeof(int) * (size_t)(nm->nfuncs + 1)), n = 0;
	for (int i = 0; i < nm->nfuncs; i++) {
		if (i < nm->nentries || nm->funcs[i]->decl->exported) {
			kept[i] = true;
			work[n++] = i;
		}
	}
	while (n) {
		const IrFunc *f = nm->funcs[work[--n]];
		for (int k = 0; k < f->len; k++) {
			int callee = f->insns[k].op == IR_CALL ? f->insns[k].fn : -1;
			if (callee >= 0 && !kept[callee]) {
				kept[callee] = true;
				work[n++] = callee;
			}
		}
	}
	int *index = malloc(sizeof(int) * (size_t)(nm->nfuncs + 1)), count = 0;
	for (int i = 0; i < nm->nfuncs; i++) {
		index[i] = kept[i] ? count : -1;
		if (kept[i])
			nm->funcs[count++] = nm->funcs[i];
	}
	for (int i = 0; i < count; i++) {
		IrFunc *f = nm->funcs[i];
		for (int k = 0; k < f->len; k++)
			if (f->insns[k].op == IR_CALL && f->insns[k].fn >= 0)
				f->insns[k].fn = index[f->insns[k].fn];
	}
	nm->nfuncs = count;
	/* and the c: functions only they called (an undefined symbol
	 * nothing calls would still ask the linker for a definition) */
	int *c_index = malloc(sizeof(int) * (size_t)(nm->nc_fns + 1)), ncalled = 0;
	const ExternDecl **called = arena_alloc(sizeof(*called) * (size_t)(nm->nc_fns + 1));
	for (int c = 0; c < nm->nc_fns; c++)
		c_index[c] = -1;
	for (int i = 0; i < count; i++) {
		IrFunc *f = nm->funcs[i];
		for (int k = 0; k < f->len; k++) {
			IrInsn *in = &f->insns[k];
			if (in->op != IR_CALL || in->c_fn < 0)
				continue;
			if (c_index[in->c_fn] < 0) {
				c_index[in->c_fn] = ncalled;
				called[ncalled++] = nm->c_fns[in->c_fn];
			}
			in->c_fn = c_index[in->c_fn];
		}
	}
	nm->c_fns = called;
	nm->nc_fns = ncalled;
	free(c_index);
	free(index);
	free(work);
	free(kept);
}
