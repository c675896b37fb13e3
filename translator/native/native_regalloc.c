/* native_regalloc.c - virtual registers to BPF registers and frame slots.
 *
 * Linear scan (Poletto and Sarkar) over the IR's linear order. Eight
 * registers are handed out: r1-r4, which helper and function calls
 * clobber, to values no call separates from their uses, and r6-r9, which
 * survive calls, to any value. r0 and r5 stay the encoder's scratch
 * registers (a spilled operand, a result computed before it is stored, a
 * cycle of argument moves): r5 is only an argument of five-argument
 * calls, which are rare. A value that finds no register lives in an
 * 8-byte frame slot for its whole life (a slot whose earlier values all
 * ended before this one starts is taken again); when the registers run out, the
 * value whose reads are sparsest over its life is the one spilled (the
 * fewest reloads), at equal density the one ending last.
 *
 * Last, a call's result stays in r0 when nothing in its life needs r0
 * (keep_results_in_r0).
 *
 * Intervals run from a value's first to its last appearance. Lowering
 * writes structured code whose every definition precedes its uses in that
 * order, so this covers every path except the back edge of a loop: a value
 * live into a loop (start before the loop head, a use inside) is stretched
 * to the loop's closing jump.
 */
#include "native.h"

#include <stdlib.h>
#include <string.h>

/* The registers in the order they are tried: those calls clobber first,
 * keeping r6-r9 for the values that must outlive a call. */
static const int regs[] = { 1, 2, 3, 4, 6, 7, 8, 9 };
enum { NREGS = sizeof(regs) / sizeof(regs[0]), FIRST_SAVED = 4, MAX_FRAME = 512 };

static void touch(int *start, int *end, int v, int pos)
{
	if (v <= 0)
		return;
	if (start[v] < 0 || pos < start[v])
		start[v] = pos;
	if (pos > end[v])
		end[v] = pos;
}

static int compare_by_start(const void *a, const void *b, void *starts)
{
	const int *start = starts;
	int x = *(const int *)a, y = *(const int *)b;
	return start[x] != start[y] ? start[x] - start[y] : x - y;
}

/* Stretches intervals live around each loop's back edge, until stable
 * (nested loops). */
static void stretch_over_loops(IrFunc *f, int *start, int *end)
{
	int *label_pos = calloc((size_t)f->nlabels + 1, sizeof(int));
	for (int i = 0; i < f->len; i++)
		if (f->insns[i].op == IR_LABEL)
			label_pos[f->insns[i].label] = i;
	bool changed = true;
	while (changed) {
		changed = false;
		for (int j = 0; j < f->len; j++) {
			IrInsn *in = &f->insns[j];
			if (in->op != IR_JA && in->op != IR_JCC)
				continue;
			int head = label_pos[in->label];
			if (head > j)
				continue;
			for (int v = 1; v <= f->nvregs; v++) {
				if (start[v] >= 0 && start[v] < head && end[v] >= head && end[v] < j) {
					end[v] = j;
					changed = true;
				}
			}
		}
	}
	free(label_pos);
}

/* A free register among regs[from..] for the value defined at pos (NREGS
 * when none is free). When it is an ALU result, the register of its first
 * operand suits it best (the operation then works in place) and its second
 * operand's the least (the encoder would have to go through r0); a
 * parameter is best left where it arrives. */
static int pick_register(const IrFunc *f, const int *holder, int pos, int from, int end)
{
	const IrInsn *def = &f->insns[pos];
	int prefer = 0, avoid = 0;
	if (def->op == IR_ALU || def->op == IR_MOV || def->op == IR_ZEXT32 || def->op == IR_END) {
		prefer = def->a.vreg ? f->reg[def->a.vreg] : 0;
		avoid = def->op == IR_ALU && def->b.vreg ? f->reg[def->b.vreg] : 0;
	} else if (def->op == IR_PARAM) {
		prefer = 1 + (int)def->imm;
	}
	/* a value that ends as a call's argument is best made where the
	 * call wants it (a call's result so goes from r0 straight there) */
	const IrInsn *last = &f->insns[end];
	for (int i = 0; !prefer && last->op == IR_CALL && i < last->nargs; i++)
		if (last->args[i].vreg == def->dst && !last->args[i].remat)
			prefer = 1 + i;
	for (int k = from; k < NREGS; k++)
		if (regs[k] == prefer && !holder[k])
			return k;
	int fallback = NREGS;
	for (int k = from; k < NREGS; k++) {
		if (holder[k])
			continue;
		if (regs[k] != avoid)
			return k;
		fallback = k;
	}
	return fallback;
}

static bool fits_s32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* Does the encoder use r0 as scratch for in, given the allocation
 * (native_encode.c: a result with no register is computed in r0; an ALU
 * whose second operand sits in its result's register works in r0; a
 * store's base, a spilled stored value and a compare's left side not in
 * a register go through r0; calls and parameters move through it)? */
static bool uses_r0(const IrFunc *f, const IrInsn *in)
{
	const int *reg = f->reg;
	if (in->op == IR_CALL || in->op == IR_PARAM)
		return true;
	if (in->dst && !reg[in->dst])
		return true;
	switch (in->op) {
	case IR_ALU:
		if (in->b.vreg && in->b.vreg != in->a.vreg && reg[in->b.vreg] == reg[in->dst])
			return true;
		return in->alu != BPF_NEG && !(in->b.vreg ? reg[in->b.vreg] : fits_s32(in->b.imm)) &&
		       !in->b.remat;
	case IR_STORE:
		return !in->a.vreg || !reg[in->a.vreg] || in->a.remat;
	case IR_FRAME_STORE:
		return in->b.remat || (in->b.vreg ? !reg[in->b.vreg] : in->size == 8 && !fits_s32(in->b.imm));
	case IR_JCC:
		return !in->a.vreg || !reg[in->a.vreg] || in->a.remat;
	default:
		return false;
	}
}

/* A call's result, or a value a return reads last, whose life holds no
 * instruction that needs r0 otherwise (no call in it either) lives in r0:
 * where the call left it (`if r0 == 0` after a map lookup, as clang
 * writes it), or where the return wants it (no copy before the exit). A
 * return of another value in between is no conflict: it ends its path.
 * The lives given r0 do not meet (a value read where the next one is
 * made could be overwritten before it is read). */
static void keep_results_in_r0(IrFunc *f, const int *start, const int *end, const int *order,
			       int count)
{
	bool *param = calloc((size_t)f->nvregs + 1, sizeof(bool));
	for (int i = 0; i < f->len; i++)
		if (f->insns[i].op == IR_PARAM)
			param[f->insns[i].dst] = true;
	int last_end = -1;
	for (int k = 0; k < count; k++) {
		int v = order[k];   /* by start */
		if (!f->reg[v] || param[v] || start[v] <= last_end)
			continue;
		const IrInsn *first = &f->insns[start[v]], *last = &f->insns[end[v]];
		bool from_call = first->op == IR_CALL && first->dst == v;
		bool to_return = last->op == IR_RET && last->a.vreg == v && !last->a.remat;
		if (!from_call && !to_return)
			continue;
		bool free = !uses_r0(f, first) || from_call;
		for (int j = start[v] + 1; j <= end[v] && free; j++)
			free = !uses_r0(f, &f->insns[j]);
		if (free) {
			f->reg[v] = REG_R0;
			last_end = end[v];
		}
	}
	free(param);
}

/* Are a's reads sparser over its life than b's (fewer per instruction;
 * at equal density, the one ending later)? */
static bool sparser(int a, int b, const int *uses, const int *start, const int *end)
{
	long da = (long)uses[a] * (end[b] - start[b] + 1), db = (long)uses[b] * (end[a] - start[a] + 1);
	return da != db ? da < db : end[a] > end[b];
}

/* Spill slots, each with the last position any value kept in it is
 * live: a value may have a slot whose values all ended before it starts
 * (values are spilled for their whole interval, and handed out in order
 * of start, so no earlier value of the slot is live again later). */
typedef struct SpillSlots {
	int *last_end;
	int n;
	int frame;   /* the frame's bytes: the lowering's, then the slots */
} SpillSlots;

static int spill_slot(SpillSlots *s, int start, int end)
{
	int k = 0;
	while (k < s->n && s->last_end[k] >= start)
		k++;
	if (k == s->n) {
		s->n++;
		s->frame += 8;
	}
	if (end > s->last_end[k])
		s->last_end[k] = end;
	return -(s->frame - 8 * (s->n - 1 - k));
}

bool native_regalloc(IrFunc *f)
{
	int n = f->nvregs + 1;
	int *start = malloc(sizeof(int) * (size_t)n), *end = malloc(sizeof(int) * (size_t)n);
	for (int v = 0; v < n; v++)
		start[v] = -1, end[v] = -1;
	for (int i = 0; i < f->len; i++) {
		IrInsn *in = &f->insns[i];
		touch(start, end, in->dst, i);
		touch(start, end, in->a.vreg, i);
		touch(start, end, in->b.vreg, i);
		for (int k = 0; k < in->nargs; k++)
			touch(start, end, in->args[k].vreg, i);
	}
	stretch_over_loops(f, start, end);

	/* a value nobody reads (a call's result dropped, like the r0 of a
	 * helper that returns void) gets no home: nothing stores it */
	bool *read = calloc((size_t)n, sizeof(bool));
	int *uses = calloc((size_t)n, sizeof(int));
	for (int i = 0; i < f->len; i++) {
		IrInsn *in = &f->insns[i];
		read[in->a.vreg] = read[in->b.vreg] = true;
		uses[in->a.vreg]++;
		uses[in->b.vreg]++;
		uses[in->dst]++;
		for (int k = 0; k < in->nargs; k++) {
			read[in->args[k].vreg] = true;
			uses[in->args[k].vreg]++;
		}
	}
	/* calls before each position: a value lives across a call when one
	 * sits strictly inside its interval (its arguments end there, its
	 * result starts there) */
	int *calls = malloc(sizeof(int) * (size_t)(f->len + 1));
	calls[0] = 0;
	for (int i = 0; i < f->len; i++)
		calls[i + 1] = calls[i] + (f->insns[i].op == IR_CALL);
	int *order = malloc(sizeof(int) * (size_t)n), count = 0;
	for (int v = 1; v < n; v++)
		if (start[v] >= 0 && read[v])
			order[count++] = v;
	free(read);
	qsort_r(order, (size_t)count, sizeof(int), compare_by_start, start);

	f->reg = arena_alloc(sizeof(int) * (size_t)n);
	f->slot = arena_alloc(sizeof(int) * (size_t)n);
	int holder[NREGS] = { 0 };   /* vreg in regs[k], 0 when free */
	SpillSlots spills = { calloc((size_t)count + 1, sizeof(int)), 0, (f->frame + 7) & ~7 };
	for (int i = 0; i < count; i++) {
		int v = order[i];
		/* a value whose last use is here may hand its register to the
		 * value defined here: the encoder reads operands first */
		for (int k = 0; k < NREGS; k++)
			if (holder[k] && end[holder[k]] <= start[v])
				holder[k] = 0;
		bool crosses = calls[end[v]] - calls[start[v] + 1] > 0;
		int from = crosses ? FIRST_SAVED : 0;
		int k = pick_register(f, holder, start[v], from, end[v]);
		if (k == NREGS) {
			/* the value whose reads are sparsest over its life costs
			 * the fewest reloads in the frame */
			int victim = from;
			for (int j = from + 1; j < NREGS; j++)
				if (sparser(holder[j], holder[victim], uses, start, end))
					victim = j;
			if (sparser(holder[victim], v, uses, start, end)) {
				int spilled = holder[victim];
				f->reg[spilled] = 0;
				f->slot[spilled] = spill_slot(&spills, start[spilled], end[spilled]);
				k = victim;
			} else {
				f->slot[v] = spill_slot(&spills, start[v], end[v]);
				continue;
			}
		}
		holder[k] = v;
		f->reg[v] = regs[k];
	}
	keep_results_in_r0(f, start, end, order, count);
	free(uses);
	free(calls);
	free(order);
	free(start);
	free(end);
	free(spills.last_end);
	f->frame = spills.frame;
	if (f->frame > MAX_FRAME) {
		diag_error(f->decl->span, "native backend: function %s needs %d bytes of stack, "
			   "more than BPF's %d", f->decl->name, f->frame, MAX_FRAME);
		return false;
	}
	return true;
}

/* The deepest chain of BPF-to-BPF calls from function fi: its bytes
 * (each frame rounded up to 16, as the verifier counts them for a JIT)
 * in depth[fi], the callee it goes on to in next[fi] (-1: none).
 * Functions call only functions defined after them, never themselves
 * (LANGUAGE.md), so the recursion ends. */
static int chain_depth(const NativeModule *nm, int fi, int *depth, int *next)
{
	if (depth[fi] >= 0)
		return depth[fi];
	const IrFunc *f = nm->funcs[fi];
	int deepest = 0;
	next[fi] = -1;
	for (int k = 0; k < f->len; k++) {
		int callee = f->insns[k].op == IR_CALL ? f->insns[k].fn : -1;
		if (callee >= 0 && callee != fi) {
			int d = chain_depth(nm, callee, depth, next);
			if (d > deepest)
				deepest = d, next[fi] = callee;
		}
	}
	return depth[fi] = ((f->frame + 15) & ~15) + deepest;
}

bool native_check_call_chains(const NativeModule *nm)
{
	int *depth = malloc(sizeof(int) * (size_t)(nm->nfuncs + 1));
	int *next = malloc(sizeof(int) * (size_t)(nm->nfuncs + 1));
	for (int i = 0; i < nm->nfuncs; i++)
		depth[i] = -1;
	bool ok = true;
	for (int i = 0; i < nm->nfuncs && ok; i++) {
		if (chain_depth(nm, i, depth, next) <= MAX_FRAME)
			continue;
		/* the verifier refuses the object ("combined stack size of N
		 * calls is N. Too large"): say so at the chain's first function */
		char chain[512] = "";
		size_t used = 0;
		for (int c = i; c >= 0 && used < sizeof(chain); c = next[c])
			used += (size_t)snprintf(chain + used, sizeof(chain) - used, "%s%s (%d)",
						 c == i ? "" : " -> ", nm->funcs[c]->decl->name,
						 nm->funcs[c]->frame);
		diag_error(nm->funcs[i]->decl->span, "native backend: the calls %s need %d bytes of "
			   "stack, more than the %d BPF allows a chain of calls", chain, depth[i], MAX_FRAME);
		ok = false;
	}
	free(depth);
	free(next);
	return ok;
}
