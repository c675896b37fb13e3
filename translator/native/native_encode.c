/* native_encode.c - allocated IR to BPF instructions.
 *
 * Allocated values sit in r1-r4, r6-r9 or in frame slots
 * (native_regalloc.c); r0 and r5 are scratch here: a spilled operand is
 * loaded into one of them, a spilled result is computed in r0 and stored.
 * Call arguments and parameters are parallel moves between registers
 * (a cycle goes through r0). Constants that fit a
 * signed 32-bit immediate are immediates; others that fit 32 unsigned bits
 * are a 32-bit move (which zero-extends); the rest are LD_IMM64.
 *
 * Jumps are resolved once a function is complete; an offset beyond the
 * 16 bits the instruction has is an error, never a wrong jump.
 */
#include "native.h"

#include <stdlib.h>
#include <string.h>

enum { R0 = 0, R1 = 1, R5 = 5, R10 = 10 };

typedef struct Enc {
	NativeModule *nm;
	IrFunc *f;
	int fi;
	struct bpf_insn *out;
	int len, cap;
	int *label_pos;
	Vec fixups;     /* Fixup* */
	int in_r0;      /* vreg a call just left in r0 for the return after it */
	Vec calls;      /* CallSite*: what check_registers needs of each call */
} Enc;

typedef struct CallSite {
	int insn;
	int nargs;      /* r1..r(nargs) are read */
	bool sets_r0;   /* false for a helper the kernel lets return nothing */
} CallSite;

typedef struct Fixup {
	int insn, label;
} Fixup;

static struct bpf_insn *put(Enc *E, uint8_t code, int dst, int src, int16_t off, int32_t imm)
{
	if (E->len == E->cap) {
		E->cap = E->cap ? E->cap * 2 : 128;
		struct bpf_insn *grown = arena_alloc(sizeof(*grown) * (size_t)E->cap);
		if (E->len)
			memcpy(grown, E->out, sizeof(*grown) * (size_t)E->len);
		E->out = grown;
	}
	struct bpf_insn *in = &E->out[E->len++];
	in->code = code;
	in->dst_reg = (uint8_t)dst;
	in->src_reg = (uint8_t)src;
	in->off = off;
	in->imm = imm;
	return in;
}

static bool fits_s32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

static void load_const(Enc *E, int r, int64_t v)
{
	if (fits_s32(v)) {
		put(E, BPF_ALU64 | BPF_MOV | BPF_K, r, 0, 0, (int32_t)v);
	} else if (v >= 0 && v <= (int64_t)UINT32_MAX) {
		put(E, BPF_ALU | BPF_MOV | BPF_K, r, 0, 0, (int32_t)(uint32_t)v);
	} else {
		put(E, BPF_LD | BPF_DW | BPF_IMM, r, 0, 0, (int32_t)(uint32_t)v);
		put(E, 0, 0, 0, 0, (int32_t)(uint32_t)((uint64_t)v >> 32));
	}
}

static void mov_reg(Enc *E, int dst, int src)
{
	if (dst != src)
		put(E, BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}

static int bpf_size(int bytes)
{
	switch (bytes) {
	case 1: return BPF_B;
	case 2: return BPF_H;
	case 4: return BPF_W;
	default: return BPF_DW;
	}
}

/* Does v live in a register (r0 included), and which. */
static bool has_reg(Enc *E, int v) { return E->f->reg[v] != 0; }
static int reg_of(Enc *E, int v) { return E->f->reg[v] == REG_R0 ? R0 : E->f->reg[v]; }

static void add_reloc(Enc *E, int fn, int c_fn, int map, int global);

/* v into register r (no-op when it is there already). */
static void place(Enc *E, IrVal v, int r)
{
	if (v.remat == REMAT_MAP) {
		put(E, BPF_LD | BPF_DW | BPF_IMM, r, BPF_PSEUDO_MAP_FD, 0, 0);
		put(E, 0, 0, 0, 0, 0);
		add_reloc(E, -1, -1, (int)v.imm, -1);
	} else if (v.remat == REMAT_FRAME) {
		mov_reg(E, r, R10);
		put(E, BPF_ALU64 | BPF_ADD | BPF_K, r, 0, 0, (int32_t)v.imm);
	} else if (!v.vreg)
		load_const(E, r, v.imm);
	else if (has_reg(E, v.vreg))
		mov_reg(E, r, reg_of(E, v.vreg));
	else
		put(E, BPF_LDX | BPF_MEM | BPF_DW, r, R10, (int16_t)E->f->slot[v.vreg], 0);
}

/* A register holding v: its own, or scratch loaded with it. */
static int operand(Enc *E, IrVal v, int scratch)
{
	if (v.vreg && has_reg(E, v.vreg))
		return reg_of(E, v.vreg);
	place(E, v, scratch);
	return scratch;
}

/* Where a result is computed: its register, or r0 to be stored. */
static int result_reg(Enc *E, int dst)
{
	return dst && has_reg(E, dst) ? reg_of(E, dst) : R0;
}

static void store_result(Enc *E, int dst, int r)
{
	if (!dst || (!has_reg(E, dst) && !E->f->slot[dst]))
		return;   /* none, or never read (native_regalloc.c) */
	if (has_reg(E, dst))
		mov_reg(E, reg_of(E, dst), r);
	else
		put(E, BPF_STX | BPF_MEM | BPF_DW, R10, r, (int16_t)E->f->slot[dst], 0);
}

static void encode_alu(Enc *E, IrInsn *in)
{
	int rd = result_reg(E, in->dst);
	/* b in the result's register would be overwritten by a: work in r0 */
	if (in->b.vreg && in->b.vreg != in->a.vreg && has_reg(E, in->b.vreg) && reg_of(E, in->b.vreg) == rd)
		rd = R0;
	place(E, in->a, rd);
	if (in->alu == BPF_NEG) {
		put(E, BPF_ALU64 | BPF_NEG, rd, 0, 0, 0);
	} else if (!in->b.vreg && fits_s32(in->b.imm)) {
		put(E, BPF_ALU64 | (uint8_t)in->alu | BPF_K, rd, 0, 0, (int32_t)in->b.imm);
	} else {
		int rb = operand(E, in->b, rd == R0 ? R5 : R0);
		put(E, BPF_ALU64 | (uint8_t)in->alu | BPF_X, rd, rb, 0, 0);
	}
	store_result(E, in->dst, rd);
}

static void jump_to(Enc *E, int label)
{
	Fixup *fx = arena_alloc(sizeof(*fx));
	fx->insn = E->len - 1;
	fx->label = label;
	vec_push(&E->fixups, fx);
}

static void add_reloc(Enc *E, int fn, int c_fn, int map, int global)
{
	NativeReloc *r = arena_alloc(sizeof(*r));
	r->insn = E->len - (fn >= 0 || c_fn >= 0 ? 1 : 2);  /* a call, or an LD_IMM64 */
	r->fn = fn;
	r->c_fn = c_fn;
	r->map = map;
	r->global = global;
	vec_push(&E->nm->relocs[E->fi], r);
}

/* The moves dst[i] <- src[i] between registers at once: a move goes
 * when no other still reads its destination; a cycle is broken through
 * r0, free before a call and at a function's start. */
static void parallel_move(Enc *E, int *dst, int *src, int n)
{
	bool done[5] = { false };
	for (int left = n; left > 0;) {
		bool moved = false;
		for (int i = 0; i < n; i++) {
			if (done[i])
				continue;
			bool read = false;
			for (int j = 0; j < n; j++)
				read |= !done[j] && j != i && src[j] == dst[i];
			if (read)
				continue;
			mov_reg(E, dst[i], src[i]);
			done[i] = moved = true;
			left--;
		}
		if (moved)
			continue;
		for (int i = 0; i < n; i++) {
			if (done[i])
				continue;
			/* every destination left is read: park one source */
			int parked = src[i];
			mov_reg(E, R0, parked);
			for (int j = 0; j < n; j++)
				if (!done[j] && src[j] == parked)
					src[j] = R0;
			break;
		}
	}
}

/* A call's arguments into r1-r5: register to register first (as one
 * parallel move), then constants, frame slots and addresses, which read
 * no argument register. */
static void place_args(Enc *E, const IrVal *args, int nargs)
{
	int dst[5], src[5], n = 0;
	for (int i = 0; i < nargs; i++) {
		if (args[i].remat == REMAT_NONE && args[i].vreg && has_reg(E, args[i].vreg)) {
			dst[n] = R1 + i;
			src[n++] = reg_of(E, args[i].vreg);
		}
	}
	parallel_move(E, dst, src, n);
	for (int i = 0; i < nargs; i++)
		if (!(args[i].remat == REMAT_NONE && args[i].vreg && has_reg(E, args[i].vreg)))
			place(E, args[i], R1 + i);
}

/* The parameters from r1-r5 to their homes: spilled ones stored first,
 * while every argument register still holds its own, then the rest as
 * one parallel move. */
static void encode_params(Enc *E, const IrInsn *first)
{
	const IrInsn *end = E->f->insns + E->f->len;
	int dst[5], src[5], n = 0;
	for (const IrInsn *in = first; in < end && in->op == IR_PARAM; in++) {
		if (!has_reg(E, in->dst))
			store_result(E, in->dst, R1 + (int)in->imm);
	}
	for (const IrInsn *in = first; in < end && in->op == IR_PARAM; in++) {
		if (in->dst && has_reg(E, in->dst)) {
			dst[n] = reg_of(E, in->dst);
			src[n++] = R1 + (int)in->imm;
		}
	}
	parallel_move(E, dst, src, n);
}

/* A store of a constant as one instruction, `*(u32 *)(base + off) = imm`:
 * the low bytes of the sign-extended 32-bit immediate are stored, so any
 * constant does below 8 bytes, one that fits 32 signed bits at 8. */
static bool store_imm(Enc *E, int base, const IrInsn *in)
{
	if (in->b.vreg || in->b.remat || (in->size == 8 && !fits_s32(in->b.imm)))
		return false;
	put(E, BPF_ST | BPF_MEM | (uint8_t)bpf_size(in->size), base, 0, (int16_t)in->off,
	    (int32_t)(uint32_t)(uint64_t)in->b.imm);
	return true;
}

/* Does control reach label from in without an instruction between (only
 * lines and labels)? Then a jump there is none. */
static bool falls_through(const IrFunc *f, const IrInsn *in, int label)
{
	for (const IrInsn *next = in + 1; next < f->insns + f->len; next++) {
		if (next->op == IR_LABEL && next->label == label)
			return true;
		if (next->op != IR_LINE && next->op != IR_LABEL && next->op != IR_NOP)
			return false;
	}
	return false;
}

/* Is the next instruction that does something `return v`? */
static bool returns_next(const IrFunc *f, const IrInsn *in, int v)
{
	for (const IrInsn *next = in + 1; next < f->insns + f->len; next++) {
		if (next->op == IR_LINE || next->op == IR_NOP)
			continue;
		return next->op == IR_RET && next->a.vreg == v && !next->a.remat;
	}
	return false;
}

/* Helpers after which the verifier lets no one read r0: those libbpf
 * declares void, and the few it declares long whose kernel side returns
 * nothing (RET_VOID). */
static bool helper_returns_nothing(int id)
{
	if (id == 12 /* tail_call */ || id == 93 /* spin_lock */ || id == 94 /* spin_unlock */)
		return true;
	int count;
	const HelperInfo *h = helper_table(&count);
	for (int i = 0; i < count; i++)
		if (h[i].id == id)
			return strncmp(h[i].c_decl, "void ", 5) == 0 && h[i].c_decl[5] != '*';
	return false;
}

static void encode(Enc *E, IrInsn *in)
{
	int rd;
	switch (in->op) {
	case IR_MOV:
		rd = result_reg(E, in->dst);
		place(E, in->a, rd);
		store_result(E, in->dst, rd);
		break;
	case IR_ALU:
		encode_alu(E, in);
		break;
	case IR_ZEXT32:
		rd = result_reg(E, in->dst);
		place(E, in->a, rd);
		put(E, BPF_ALU | BPF_MOV | BPF_X, rd, rd, 0, 0);
		store_result(E, in->dst, rd);
		break;
	case IR_END:
		rd = result_reg(E, in->dst);
		place(E, in->a, rd);
		put(E, BPF_ALU | BPF_END | BPF_TO_BE, rd, 0, 0, (int32_t)in->imm);
		store_result(E, in->dst, rd);
		break;
	case IR_LOAD: {
		int base = operand(E, in->a, R5);
		rd = result_reg(E, in->dst);
		put(E, BPF_LDX | BPF_MEM | (uint8_t)bpf_size(in->size), rd, base, (int16_t)in->off, 0);
		store_result(E, in->dst, rd);
		break;
	}
	case IR_STORE: {
		int base = operand(E, in->a, R0);
		if (in->atomic_add) {
			int v = operand(E, in->b, R5);
			put(E, BPF_STX | BPF_ATOMIC | (uint8_t)bpf_size(in->size), base, v, (int16_t)in->off, BPF_ADD);
			break;
		}
		if (in->not_ctx && store_imm(E, base, in))
			break;
		int v = operand(E, in->b, R5);
		put(E, BPF_STX | BPF_MEM | (uint8_t)bpf_size(in->size), base, v, (int16_t)in->off, 0);
		break;
	}
	case IR_FRAME_STORE: {
		if (store_imm(E, R10, in))
			break;
		int v = operand(E, in->b, R0);
		put(E, BPF_STX | BPF_MEM | (uint8_t)bpf_size(in->size), R10, v, (int16_t)in->off, 0);
		break;
	}
	case IR_FRAME_LOAD:
		rd = result_reg(E, in->dst);
		put(E, BPF_LDX | BPF_MEM | (uint8_t)bpf_size(in->size), rd, R10, (int16_t)in->off, 0);
		store_result(E, in->dst, rd);
		break;
	case IR_FRAME_ADDR:
		rd = result_reg(E, in->dst);
		mov_reg(E, rd, R10);
		put(E, BPF_ALU64 | BPF_ADD | BPF_K, rd, 0, 0, in->off);
		store_result(E, in->dst, rd);
		break;
	case IR_MAP:
		rd = result_reg(E, in->dst);
		put(E, BPF_LD | BPF_DW | BPF_IMM, rd, BPF_PSEUDO_MAP_FD, 0, 0);
		put(E, 0, 0, 0, 0, 0);
		add_reloc(E, -1, -1, in->map, -1);
		store_result(E, in->dst, rd);
		break;
	case IR_GLOBAL:
		rd = result_reg(E, in->dst);
		put(E, BPF_LD | BPF_DW | BPF_IMM, rd, 0, 0, 0);
		put(E, 0, 0, 0, 0, 0);
		add_reloc(E, -1, -1, -1, in->global);
		store_result(E, in->dst, rd);
		break;
	case IR_PARAM:
		/* all of them at once, at the first (native_lower.c puts them
		 * first): parameter 0 may belong where parameter 1 arrives */
		if (in == E->f->insns || in[-1].op != IR_PARAM)
			encode_params(E, in);
		break;
	case IR_CALL:
		place_args(E, in->args, in->nargs);
		if (in->fn >= 0 || in->c_fn >= 0) {
			put(E, BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, -1);
			add_reloc(E, in->fn, in->c_fn, -1, -1);
		} else {
			put(E, BPF_JMP | BPF_CALL, 0, 0, 0, (int32_t)in->imm);
		}
		CallSite *cs = arena_alloc(sizeof(*cs));
		cs->insn = E->len - 1;
		cs->nargs = in->nargs;
		cs->sets_r0 = in->fn >= 0 || in->c_fn >= 0 || !helper_returns_nothing((int)in->imm);
		vec_push(&E->calls, cs);
		/* a call's result returned at once stays in r0 (structured
		 * code: nothing after the return reads it) */
		if (in->dst && returns_next(E->f, in, in->dst))
			E->in_r0 = in->dst;
		else
			store_result(E, in->dst, R0);
		break;
	case IR_JA:
		if (!falls_through(E->f, in, in->label)) {
			put(E, BPF_JMP | BPF_JA, 0, 0, 0, 0);
			jump_to(E, in->label);
		}
		break;
	case IR_JCC: {
		int ra = operand(E, in->a, R0);
		if (!in->b.vreg && fits_s32(in->b.imm)) {
			put(E, BPF_JMP | (uint8_t)in->alu | BPF_K, ra, 0, 0, (int32_t)in->b.imm);
		} else {
			int rb = operand(E, in->b, R5);
			put(E, BPF_JMP | (uint8_t)in->alu | BPF_X, ra, rb, 0, 0);
		}
		jump_to(E, in->label);
		break;
	}
	case IR_LABEL:
		E->label_pos[in->label] = E->len;
		break;
	case IR_RET:
		if (!(in->a.vreg && in->a.vreg == E->in_r0))
			place(E, in->a, R0);
		E->in_r0 = 0;
		put(E, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		break;
	case IR_NOP:
		break;
	case IR_LINE: {
		Vec *lines = &E->nm->lines[E->fi];
		NativeLine *last = lines->len ? lines->items[lines->len - 1] : NULL;
		/* line_info offsets must increase: the latest line wins */
		if (last && last->insn == E->len) {
			last->span = in->span;
		} else {
			NativeLine *l = arena_alloc(sizeof(*l));
			l->insn = E->len;
			l->span = in->span;
			vec_push(lines, l);
		}
		break;
	}
	}
}

/* The .va line instruction i came from. */
static Span line_of(const Enc *E, int i)
{
	Span at = E->f->decl->span;
	const Vec *lines = &E->nm->lines[E->fi];
	for (int k = 0; k < lines->len; k++) {
		const NativeLine *l = lines->items[k];
		if (l->insn > i)
			break;
		at = l->span;
	}
	return at;
}

/* What the verifier would refuse of this function's code for reasons of
 * our own making, checked before an object is written: an instruction no
 * path reaches, a jump outside the function, a path running off its end,
 * a register read that no path to it has set (the kernel's "R2
 * !read_ok"). A forward pass to a fixed point of the registers set on
 * every path to each instruction. */
static bool check_registers(Enc *E)
{
	enum { R10_BIT = 1 << R10, CLOBBERED = 0x3f /* r0-r5 */ };
	const struct bpf_insn *code = E->out;
	int n = E->len;
	uint16_t *set = calloc((size_t)n + 1, sizeof(uint16_t));
	bool *seen = calloc((size_t)n + 1, sizeof(bool));
	bool *queued = calloc((size_t)n + 1, sizeof(bool));
	int *work = malloc(sizeof(int) * (size_t)(n + 1)), nwork = 0;
	const CallSite **call_at = calloc((size_t)n + 1, sizeof(*call_at));
	for (int k = 0; k < E->calls.len; k++) {
		const CallSite *cs = E->calls.items[k];
		call_at[cs->insn] = cs;
	}
	int nparams = E->f->decl->nparams;
	if (E->f->decl->is_entry)
		nparams = 1;   /* the context */
	uint16_t entry = R10_BIT;
	for (int r = 1; r <= nparams && r <= 5; r++)
		entry |= (uint16_t)(1 << r);
	const char *problem = NULL;
	int bad = 0, bad_reg = 0;
	if (n) {
		set[0] = entry;
		seen[0] = queued[0] = true;
		work[nwork++] = 0;
	}
	/* pass 0 finds the fixed point; pass 1 checks every read against it */
	for (int pass = 0; pass < 2 && !problem; pass++) {
		if (pass == 1)   /* in order, so the first bad read is reported */
			for (int i = n - 1; i >= 0; i--)
				if (seen[i])
					work[nwork++] = i;
		while (nwork && !problem) {
			int i = work[--nwork];
			queued[i] = false;
			const struct bpf_insn *in = &code[i];
			uint16_t s = set[i], reads = 0, writes = 0;
			int cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
			bool x = BPF_SRC(in->code) == BPF_X;
			int next[2], nnext = 0;
			bool falls = true;
			if (cls == BPF_ALU || cls == BPF_ALU64) {
				if (op == BPF_MOV)
					reads = x ? 1 << in->src_reg : 0;
				else
					reads = (uint16_t)(1 << in->dst_reg | (x && op != BPF_NEG && op != BPF_END ?
									 1 << in->src_reg : 0));
				writes = (uint16_t)(1 << in->dst_reg);
			} else if (cls == BPF_LDX) {
				reads = (uint16_t)(1 << in->src_reg);
				writes = (uint16_t)(1 << in->dst_reg);
			} else if (cls == BPF_ST) {
				reads = (uint16_t)(1 << in->dst_reg);
			} else if (cls == BPF_STX) {
				reads = (uint16_t)(1 << in->dst_reg | 1 << in->src_reg);
			} else if (cls == BPF_LD && in->code == (BPF_LD | BPF_DW | BPF_IMM)) {
				writes = (uint16_t)(1 << in->dst_reg);
				falls = false;
				next[nnext++] = i + 2;
			} else if (cls == BPF_JMP && op == BPF_CALL) {
				const CallSite *cs = call_at[i];
				for (int r = 1; cs && r <= cs->nargs; r++)
					reads |= (uint16_t)(1 << r);
				s &= (uint16_t)~CLOBBERED;
				if (!cs || cs->sets_r0)
					s |= 1;
			} else if (cls == BPF_JMP && op == BPF_EXIT) {
				reads = 1;
				falls = false;
			} else if (cls == BPF_JMP && op == BPF_JA) {
				falls = false;
				next[nnext++] = i + 1 + in->off;
			} else if (cls == BPF_JMP) {
				reads = (uint16_t)(1 << in->dst_reg | (x ? 1 << in->src_reg : 0));
				next[nnext++] = i + 1 + in->off;
			} else {
				problem = "an instruction it does not know";
				bad = i;
				break;
			}
			if (falls)
				next[nnext++] = i + 1;
			if (pass == 1 && (reads & ~set[i])) {
				for (bad_reg = 0; !((reads & ~set[i]) >> bad_reg & 1); bad_reg++)
					;
				problem = "reads r%d before any path sets it";
				bad = i;
				break;
			}
			if (pass == 1)
				continue;
			uint16_t out = (uint16_t)(s | writes);
			for (int k = 0; k < nnext; k++) {
				int t = next[k];
				if (t < 0 || t >= n) {
					problem = t == n ? "runs past the function's end" :
							   "jumps outside the function";
					bad = i;
					break;
				}
				if (!seen[t] || (set[t] & out) != set[t]) {
					set[t] = seen[t] ? set[t] & out : out;
					seen[t] = true;
					if (!queued[t]) {
						queued[t] = true;
						work[nwork++] = t;
					}
				}
			}
		}
	}
	for (int i = 0; i < n && !problem; i++) {
		if (!seen[i] && !(i > 0 && code[i - 1].code == (BPF_LD | BPF_DW | BPF_IMM) && seen[i - 1])) {
			problem = "cannot be reached";
			bad = i;
		}
	}
	if (problem)
		diag_error(line_of(E, bad), "native backend: internal error in %s: instruction %d %s "
			   "(no object written)", E->f->name, bad, arena_printf(problem, bad_reg));
	free(set);
	free(seen);
	free(work);
	free(queued);
	free(call_at);
	return !problem;
}

static bool encode_function(NativeModule *nm, int fi)
{
	IrFunc *f = nm->funcs[fi];
	Enc E = { .nm = nm, .f = f, .fi = fi };
	E.label_pos = arena_alloc(sizeof(int) * (size_t)(f->nlabels + 1));
	for (int i = 0; i < f->len; i++)
		encode(&E, &f->insns[i]);
	for (int i = 0; i < E.fixups.len; i++) {
		Fixup *fx = E.fixups.items[i];
		int64_t off = (int64_t)E.label_pos[fx->label] - (fx->insn + 1);
		if (off < INT16_MIN || off > INT16_MAX) {
			diag_error(f->decl->span, "native backend: a jump in %s spans %lld instructions, "
				   "more than BPF's 16-bit offsets reach", f->decl->name, (long long)off);
			return false;
		}
		E.out[fx->insn].off = (int16_t)off;
	}
	/* a line recorded after the last instruction marks nothing */
	Vec *lines = &nm->lines[fi];
	if (lines->len && ((NativeLine *)lines->items[lines->len - 1])->insn >= E.len)
		lines->len--;
	nm->code[fi] = E.out;
	nm->ncode[fi] = E.len;
	return check_registers(&E);
}

bool native_encode(NativeModule *nm)
{
	nm->code = arena_alloc(sizeof(*nm->code) * (size_t)nm->nfuncs);
	nm->ncode = arena_alloc(sizeof(int) * (size_t)nm->nfuncs);
	nm->relocs = arena_alloc(sizeof(Vec) * (size_t)nm->nfuncs);
	nm->lines = arena_alloc(sizeof(Vec) * (size_t)nm->nfuncs);
	for (int i = 0; i < nm->nfuncs; i++)
		if (!encode_function(nm, i))
			return false;
	return true;
}

NativeModule *native_build(const Module *m)
{
	NativeModule *nm = native_lower(m);
	if (!nm)
		return NULL;
	for (int i = 0; i < nm->nfuncs; i++)
		if (!native_tidy(nm->funcs[i]))
			return NULL;
	native_drop_uncalled(nm);
	for (int i = 0; i < nm->nfuncs; i++)
		if (!native_regalloc(nm->funcs[i]))
			return NULL;
	if (!native_check_call_chains(nm))
		return NULL;
	return native_encode(nm) ? nm : NULL;
}

bool native_compile(const Module *m, const char *license, const char *path)
{
	NativeModule *nm = native_build(m);
	return nm && native_write_elf(nm, license, path);
}
