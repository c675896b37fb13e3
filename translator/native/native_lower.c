/* native_lower.c - the checked AST to the native backend's IR.
 *
 * Every expression becomes an IrVal: a constant, or a virtual register
 * holding the value canonically (native.h). Conditions lower to jumps
 * directly, values of comparisons to 0/1. Variables are immutable in the
 * language (set! only writes globals and fields), so a let binding simply
 * names the value its initialiser produced; only a for-range variable gets
 * a register of its own.
 *
 * Where this file meets a construct it cannot translate it says so at the
 * construct ("native backend does not support X yet") and the whole
 * translation fails: an object is either right or not written.
 */
#include "native.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct VarVal {
	const Var *var;
	IrVal val;
} VarVal;

typedef struct Lower {
	NativeModule *nm;
	IrFunc *f;
	Vec vars;         /* VarVal* */
	Vec fns;          /* FnDecl*, index = function index */
	bool failed;
	uint32_t line;    /* line of the last IR_LINE */
	int stack_end;    /* r10 offset just past the current function's
	                   * stack built-in area (emit_c.md: slot off is
	                   * the area's byte size + off) */
	int frame_top;    /* bytes of the frame in use now: slots are taken
	                   * and given back last-in first-out (frame_slot),
	                   * f->frame keeps the most ever in use */
} Lower;

/* What a call or an inlined body gives back when it ends: the frame in
 * use before it, and the stack built-ins' area. */
typedef struct FrameMark {
	int top, stack_end;
} FrameMark;

static FrameMark frame_mark(const Lower *L);
static void leave_frame(Lower *L, FrameMark mark);

static void unsupported(Lower *L, Span at, const char *what)
{
	if (!L->failed)
		diag_error(at, "native backend does not support %s yet", what);
	L->failed = true;
}

IrInsn *ir_emit(IrFunc *f, IrOp op)
{
	if (f->len == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		IrInsn *grown = arena_alloc(sizeof(*grown) * (size_t)f->cap);
		if (f->len)
			memcpy(grown, f->insns, sizeof(*grown) * (size_t)f->len);
		f->insns = grown;
	}
	IrInsn *in = &f->insns[f->len++];
	memset(in, 0, sizeof(*in));
	in->op = op;
	in->fn = -1;
	in->c_fn = -1;
	in->map = -1;
	in->global = -1;
	return in;
}

static int new_vreg(Lower *L) { return ++L->f->nvregs; }

/* The c: function's index in nm->c_fns, added at its first call. */
static int c_fn_index(Lower *L, const ExternDecl *e)
{
	NativeModule *nm = L->nm;
	for (int i = 0; i < nm->nc_fns; i++)
		if (nm->c_fns[i] == e)
			return i;
	const ExternDecl **grown = arena_alloc(sizeof(*grown) * (size_t)(nm->nc_fns + 1));
	if (nm->nc_fns)
		memcpy(grown, nm->c_fns, sizeof(*grown) * (size_t)nm->nc_fns);
	grown[nm->nc_fns] = e;
	nm->c_fns = grown;
	return nm->nc_fns++;
}
static int new_label(Lower *L) { return L->f->nlabels++; }
static IrVal imm(int64_t v) { return (IrVal){ .vreg = 0, .imm = v }; }
static IrVal reg(int v) { return (IrVal){ .vreg = v }; }

static void label(Lower *L, int l) { ir_emit(L->f, IR_LABEL)->label = l; }
static void jump(Lower *L, int l) { ir_emit(L->f, IR_JA)->label = l; }

static void mov(Lower *L, int dst, IrVal a)
{
	IrInsn *in = ir_emit(L->f, IR_MOV);
	in->dst = dst;
	in->a = a;
}

/* How many low bits v may have set: 64 when nothing is known. */
static int width_of(IrVal v)
{
	if (v.vreg)
		return v.bits ? v.bits : 64;
	if (v.imm < 0)
		return 64;
	int bits = 0;
	while (bits < 64 && (uint64_t)v.imm >> bits)
		bits++;
	return bits;
}

/* The width of a op b's result from its operands' (width_of), where
 * the operation allows a bound: and, or, xor, logical shifts by a
 * constant, +, * and unsigned division of values below 2^63. */
static int result_width(int op, IrVal a, IrVal b)
{
	int wa = width_of(a), wb = width_of(b), w = 64;
	switch (op) {
	case BPF_AND: w = wa < wb ? wa : wb; break;
	case BPF_OR:
	case BPF_XOR: w = wa > wb ? wa : wb; break;
	case BPF_RSH: w = !b.vreg && b.imm >= 0 && b.imm < 64 ? wa - (int)b.imm : 64; break;
	case BPF_LSH: w = !b.vreg && b.imm >= 0 && b.imm < 64 ? wa + (int)b.imm : 64; break;
	case BPF_ADD: w = (wa > wb ? wa : wb) + 1; break;
	case BPF_MUL: w = wa + wb; break;
	case BPF_DIV:
	case BPF_MOD: w = wa; break;
	}
	return w < 1 ? 1 : w < 63 ? w : 0;
}

static IrVal alu(Lower *L, int op, IrVal a, IrVal b)
{
	IrInsn *in = ir_emit(L->f, IR_ALU);
	in->alu = op;
	in->dst = new_vreg(L);
	in->a = a;
	in->b = b;
	IrVal r = reg(in->dst);
	r.bits = result_width(op, a, b);
	return r;
}

static void jcc(Lower *L, int op, IrVal a, IrVal b, int l)
{
	IrInsn *in = ir_emit(L->f, IR_JCC);
	in->alu = op;
	in->a = a;
	in->b = b;
	in->label = l;
}

/* A register holding v (constants are moved into a fresh one). */
static IrVal in_reg(Lower *L, IrVal v)
{
	if (v.vreg)
		return v;
	int d = new_vreg(L);
	mov(L, d, v);
	return reg(d);
}

static int64_t wrap_const(int64_t v, const Type *t)
{
	int bits = t->size * 8;
	if (bits >= 64)
		return v;
	uint64_t mask = (UINT64_C(1) << bits) - 1;
	uint64_t u = (uint64_t)v & mask;
	if (t->is_signed && (u >> (bits - 1)))
		u |= ~mask;
	return (int64_t)u;
}

/* BPF's `be` byte swap of a constant, done here: the low size bytes of
 * v reversed, zero-extended (what `rX = be16 rX` leaves on the
 * little-endian hosts BPF runs on). */
static int64_t byte_swap_const(int64_t v, int size)
{
	uint64_t u = (uint64_t)v, swapped = 0;
	for (int i = 0; i < size; i++)
		swapped |= ((u >> (8 * i)) & 0xff) << (8 * (size - 1 - i));
	return (int64_t)swapped;
}

/* `be` of the register v's low size bytes. */
static IrVal byte_swap_reg(Lower *L, IrVal v, int size)
{
	IrInsn *in = ir_emit(L->f, IR_END);
	in->dst = new_vreg(L);
	in->a = v;
	in->imm = size * 8;
	IrVal r = reg(in->dst);
	r.bits = size < 8 ? size * 8 : 0;   /* the swap zero-extends */
	return r;
}

/* v made canonical for the integer type t: zero- or sign-extended from
 * t's width (native.h). */
static IrVal wrap(Lower *L, IrVal v, const Type *t)
{
	if (!t || t->kind != TY_INT || t->size >= 8)
		return v;
	if (!v.vreg)
		return imm(wrap_const(v.imm, t));
	int bits = t->size * 8;
	/* known to be below 2^bits (2^(bits-1) for a signed type): the
	 * value already reads as t */
	if (v.bits && v.bits <= bits - t->is_signed)
		return v;
	if (!t->is_signed && bits == 32) {
		IrInsn *in = ir_emit(L->f, IR_ZEXT32);
		in->dst = new_vreg(L);
		in->a = v;
		IrVal r = reg(in->dst);
		r.bits = 32;
		return r;
	}
	if (!t->is_signed)
		return alu(L, BPF_AND, v, imm((INT64_C(1) << bits) - 1));
	IrVal up = alu(L, BPF_LSH, v, imm(64 - bits));
	return alu(L, BPF_ARSH, up, imm(64 - bits));
}

/* Does a canonical value of type from already read as canonical to? */
static bool cast_is_free(const Type *from, const Type *to)
{
	if (to->kind != TY_INT || to->size >= 8)
		return true;
	if (!from || from->kind == TY_BOOL)
		return from != NULL;
	if (from->kind != TY_INT)
		return false;
	if (from->size == to->size && from->is_signed == to->is_signed)
		return true;
	return from->size < to->size && (!from->is_signed || to->is_signed);
}

static void set_var(Lower *L, const Var *var, IrVal v)
{
	VarVal *vv = arena_alloc(sizeof(*vv));
	vv->var = var;
	vv->val = v;
	vec_push(&L->vars, vv);
}

/* The value the name n (a variable) names; a variable this file never
 * bound is a form it does not know, never a silent 0. */
static IrVal var_val(Lower *L, const Node *n)
{
	for (int i = L->vars.len - 1; i >= 0; i--) {
		VarVal *vv = L->vars.items[i];
		if (vv->var == n->ref_var)
			return vv->val;
	}
	unsupported(L, n->span, "this kind of variable");
	return imm(0);
}

static int fn_index(Lower *L, FnDecl *fn)
{
	for (int i = 0; i < L->fns.len; i++)
		if (L->fns.items[i] == fn)
			return i;
	vec_push(&L->fns, fn);
	return L->fns.len - 1;
}

static int map_index(Lower *L, const MapDecl *map)
{
	for (int i = 0; i < L->nm->nmaps; i++)
		if (L->nm->maps[i] == map)
			return i;
	return -1;
}

/* g's index in nm->globals; -1 after reporting, for a global add_global
 * refused (it reported that already). */
static int global_index(Lower *L, const GlobalDecl *g, Span at)
{
	for (int i = 0; i < L->nm->nglobals; i++)
		if (L->nm->globals[i] == g)
			return i;
	unsupported(L, at, "this global");
	return -1;
}

static IrVal global_addr(Lower *L, int g)
{
	IrInsn *in = ir_emit(L->f, IR_GLOBAL);
	in->dst = new_vreg(L);
	in->global = g;
	return reg(in->dst);
}

static IrVal lower(Lower *L, Node *n);

static IrVal copy_record(Lower *L, IrVal from, const Type *t);
static bool is_record_slot(IrVal v);

/* A let's bindings: each name names its initialiser's value. */
static void bind_let(Lower *L, Node *n)
{
	for (int i = 0; i < n->bindings.len; i++) {
		Binding *b = n->bindings.items[i];
		IrVal v = lower(L, b->init);
		/* (let [b a] ...) of a record: b is a copy, not a's slot */
		if (b->var && b->init->kind == N_NAME && is_record_slot(v) && b->init->type &&
		    b->init->type->kind == TY_RECORD)
			v = copy_record(L, v, b->init->type);
		if (b->var)
			set_var(L, b->var, v);
	}
}

static void branch(Lower *L, Node *n, bool when, int target);
static bool goes_inline(Lower *L, const Node *n);
static FrameMark bind_arguments(Lower *L, Node *n);

/* A 0/1 value from the jumps of a condition. */
static IrVal bool_value(Lower *L, Node *n)
{
	int d = new_vreg(L), done = new_label(L);
	mov(L, d, imm(1));
	branch(L, n, true, done);
	mov(L, d, imm(0));
	label(L, done);
	return reg(d);
}

static int jump_op(BinOp op, bool is_signed)
{
	switch (op) {
	case OP_EQ: return BPF_JEQ;
	case OP_NE: return BPF_JNE;
	case OP_LT: return is_signed ? BPF_JSLT : BPF_JLT;
	case OP_GT: return is_signed ? BPF_JSGT : BPF_JGT;
	case OP_LE: return is_signed ? BPF_JSLE : BPF_JLE;
	case OP_GE: return is_signed ? BPF_JSGE : BPF_JGE;
	default: return BPF_JEQ;
	}
}

/* Is n a byte swap, (bpf/be16 x) ...? */
static bool is_byte_swap(const Node *n)
{
	return n->kind == N_CALL && n->callee_kind == CALLEE_BUILTIN && n->builtin == BI_BE &&
	       n->builtin_type && n->args.len == 1;
}

/* (== (bpf/be16 x) K) compares x with K swapped instead, where the swap
 * costs nothing (as the C backend writes x == bpf_htons(K) for clang to
 * fold): a swap is a bijection on its width, so == and != mean the same.
 * When one side is a swap and the other a constant of the swap's width,
 * *a and *b get the comparison's operands in their order, true;
 * otherwise nothing is lowered, false. */
static bool swapped_comparison(Lower *L, Node *n, IrVal *a, IrVal *b)
{
	if (n->op != OP_EQ && n->op != OP_NE)
		return false;
	bool swap_left = is_byte_swap(n->lhs);
	Node *swap = swap_left ? n->lhs : n->rhs, *other = swap_left ? n->rhs : n->lhs;
	if (!is_byte_swap(swap) || is_byte_swap(other))
		return false;
	int size = swap->builtin_type->size;
	/* the other side is lowered first only when it is first in the
	 * source; a constant has no effects, so its order cannot matter */
	if (!swap_left && other->kind != N_INT)
		return false;
	IrVal x = lower(L, swap->args.items[0]);
	IrVal k = lower(L, other);
	if (k.vreg || (size < 8 && (uint64_t)k.imm >> (size * 8))) {
		/* not a constant of the swap's width: swap at run time */
		IrVal swapped = x.vreg ? byte_swap_reg(L, x, size) : imm(byte_swap_const(x.imm, size));
		*a = swap_left ? swapped : k;
		*b = swap_left ? k : swapped;
		return true;
	}
	*a = swap_left ? x : imm(byte_swap_const(k.imm, size));
	*b = swap_left ? imm(byte_swap_const(k.imm, size)) : x;
	return true;
}

/* Jumps to target when n evaluates to `when`; falls through otherwise. */
static void branch(Lower *L, Node *n, bool when, int target)
{
	switch (n->kind) {
	case N_BOOL:
		if ((n->value != 0) == when)
			jump(L, target);
		return;
	case N_NOT:
		branch(L, n->lhs, !when, target);
		return;
	case N_DO:
		if (n->args.len == 0)
			break;
		for (int i = 0; i + 1 < n->args.len; i++)
			lower(L, n->args.items[i]);
		branch(L, n->args.items[n->args.len - 1], when, target);
		return;
	case N_LET:
		bind_let(L, n);
		branch(L, n->body, when, target);
		return;
	case N_AND:
	case N_OR: {
		/* (and a b) jumps on false as soon as a is false; on true
		 * only when both are. (or a b) is the mirror image. */
		bool short_value = n->kind == N_OR;
		if (when == short_value) {
			branch(L, n->lhs, when, target);
			branch(L, n->rhs, when, target);
		} else {
			int skip = new_label(L);
			branch(L, n->lhs, short_value, skip);
			branch(L, n->rhs, when, target);
			label(L, skip);
		}
		return;
	}
	case N_CALL:
		if (goes_inline(L, n)) {
			/* (if (tcp? proto) ...): the body's jumps, not a 0/1
			 * tested again */
			int vars = L->vars.len;
			FrameMark saved = bind_arguments(L, n);
			branch(L, n->callee_fn->body, when, target);
			leave_frame(L, saved);
			L->vars.len = vars;
			return;
		}
		break;
	case N_BINOP:
		if (binop_is_comparison(n->op)) {
			const Type *t = n->lhs->type;
			bool is_signed = t && t->kind == TY_INT && t->is_signed;
			IrVal a, b;
			if (!swapped_comparison(L, n, &a, &b)) {
				a = lower(L, n->lhs);
				b = lower(L, n->rhs);
			}
			BinOp op = when ? n->op : comparison_negated(n->op);
			if (!a.vreg && !b.vreg) {
				if (comparison_holds(op, is_signed, (uint64_t)a.imm, (uint64_t)b.imm))
					jump(L, target);
				return;
			}
			if (!a.vreg) {
				IrVal t2 = a;
				a = b;
				b = t2;
				op = comparison_mirrored(op);
			}
			jcc(L, jump_op(op, is_signed), a, b, target);
			return;
		}
		break;
	default:
		break;
	}
	IrVal v = lower(L, n);
	if (!v.vreg) {
		if ((v.imm != 0) == when)
			jump(L, target);
		return;
	}
	jcc(L, when ? BPF_JNE : BPF_JEQ, v, imm(0), target);
}

/* BPF leaves x / 0 = 0 and x % 0 = x to run time only for a register
 * divisor; an immediate 0 is refused by the verifier. */
static IrVal divisor(Lower *L, IrVal b)
{
	return !b.vreg && b.imm == 0 ? in_reg(L, b) : b;
}

static IrVal negate(Lower *L, IrVal v)
{
	return alu(L, BPF_NEG, v, imm(0));
}

/* |v| for a signed canonical v: the same register, negated when below 0. */
static IrVal magnitude(Lower *L, IrVal v)
{
	int d = new_vreg(L), done = new_label(L);
	mov(L, d, v);
	jcc(L, BPF_JSGE, reg(d), imm(0), done);
	IrInsn *in = ir_emit(L->f, IR_ALU);
	in->alu = BPF_NEG;
	in->dst = d;
	in->a = reg(d);
	label(L, done);
	return reg(d);
}

/* Signed div/rem as the C backend's sdiv/srem helpers compute them: the
 * magnitudes divided unsigned, the sign restored (C truncates toward
 * zero); x / 0 is 0 and x % 0 is x, as for the BPF instructions. */
static IrVal signed_division(Lower *L, BinOp op, IrVal a, IrVal b, const Type *t)
{
	if (!a.vreg && !b.vreg && b.imm != 0 && !(a.imm == INT64_MIN && b.imm == -1))
		return wrap(L, imm(op == OP_DIV ? a.imm / b.imm : a.imm % b.imm), t);
	a = in_reg(L, a);
	IrVal ua = magnitude(L, a), ub;
	if (!b.vreg && b.imm != 0) {
		/* a constant's magnitude is a constant: a division by a power
		 * of two is then a shift, a remainder a mask (fold_constants),
		 * as clang makes the C's sdiv/srem of a constant */
		ub = imm((int64_t)(b.imm < 0 ? 0 - (uint64_t)b.imm : (uint64_t)b.imm));
	} else {
		b = in_reg(L, b);
		ub = magnitude(L, b);
	}
	IrVal r = alu(L, op == OP_DIV ? BPF_DIV : BPF_MOD, ua, ub);
	int d = new_vreg(L), done = new_label(L);
	mov(L, d, r);
	/* the quotient is negative when the signs differ, the remainder
	 * when the dividend is negative */
	IrVal sign = op == OP_DIV ? alu(L, BPF_XOR, a, b) : a;
	jcc(L, BPF_JSGE, sign, imm(0), done);
	IrInsn *in = ir_emit(L->f, IR_ALU);
	in->alu = BPF_NEG;
	in->dst = d;
	in->a = reg(d);
	label(L, done);
	return wrap(L, reg(d), t);
}

static IrVal lower_binop(Lower *L, Node *n)
{
	if (binop_is_comparison(n->op))
		return bool_value(L, n);
	const Type *t = n->type;
	bool is_signed = t && t->kind == TY_INT && t->is_signed;
	IrVal a = lower(L, n->lhs), b = lower(L, n->rhs);
	if ((n->op == OP_DIV || n->op == OP_REM) && is_signed)
		return signed_division(L, n->op, a, b, t);
	static const int alu_ops[] = {
		[OP_ADD] = BPF_ADD, [OP_SUB] = BPF_SUB, [OP_MUL] = BPF_MUL, [OP_DIV] = BPF_DIV,
		[OP_REM] = BPF_MOD, [OP_AND] = BPF_AND, [OP_OR] = BPF_OR, [OP_XOR] = BPF_XOR,
		[OP_SHL] = BPF_LSH, [OP_SHR] = BPF_RSH,
	};
	int op = alu_ops[n->op];
	if (n->op == OP_SHR && is_signed)
		op = BPF_ARSH;
	if (op == BPF_DIV || op == BPF_MOD)
		b = divisor(L, b);
	/* an amount that is not a constant shifts modulo the operation's
	 * width, 32 for the types narrower than 64 bits (docs/emit_c.md,
	 * "Integer semantics"): this 64-bit shift would take a :u32's 40
	 * modulo 64, and the verifier refuses an immediate amount past the
	 * width. native_tidy drops the mask where the amount's known bits
	 * fit, and folds it into an amount it finds constant */
	if (n->op == OP_SHL || n->op == OP_SHR) {
		int64_t mask = t->size == 8 ? 63 : 31;
		if (b.vreg)
			b = alu(L, BPF_AND, b, imm(mask));
		else
			b.imm &= mask; /* an inlined defn's constant */
	}
	IrVal r = alu(L, op, a, b);
	/* and/or/xor of canonical values and right shifts of them stay
	 * canonical; the rest may carry past the type's width */
	bool may_carry = n->op == OP_ADD || n->op == OP_SUB || n->op == OP_MUL || n->op == OP_SHL;
	return may_carry ? wrap(L, r, t) : r;
}

/* The memory width a field is read with: context pointers (data,
 * data_end) are 32-bit members the verifier turns into pointers. */
static int field_size(const Field *f)
{
	return f->c_pointer ? 4 : f->type->size;
}

static IrVal load(Lower *L, IrVal base, int off, const Type *t, int size)
{
	IrVal a = in_reg(L, base);   /* before the load: it may emit a move */
	IrInsn *in = ir_emit(L->f, IR_LOAD);
	in->dst = new_vreg(L);
	in->a = a;
	in->off = off;
	in->size = size;
	if (t->kind == TY_INT && t->is_signed)
		return wrap(L, reg(in->dst), t);
	IrVal r = reg(in->dst);
	/* loads zero-extend; not so a context pointer's 32-bit member, which
	 * the verifier turns into a 64-bit pointer (field_size) */
	if (t->kind == TY_INT && size == t->size && size < 8)
		r.bits = size * 8;
	return r;
}

/* A store; not_ctx when base cannot be the context, where the verifier
 * refuses a constant stored as an immediate (native.h). */
static void store(Lower *L, IrVal base, int off, int size, IrVal v, bool not_ctx)
{
	IrVal a = in_reg(L, base);   /* before the store: it may emit a move */
	IrInsn *in = ir_emit(L->f, IR_STORE);
	in->a = a;
	in->b = v;
	in->off = off;
	in->size = size;
	in->not_ctx = not_ctx;
}

/* ---- record values (LANGUAGE.md 10.4) --------------------------------------
 *
 * A record value lives in a frame slot of its own, and its value here is
 * the slot's address as a helper argument takes it (REMAT_FRAME): given
 * by value to a helper, it is passed as it is. It is zeroed whole first,
 * padding included, as the C backend does (emit_c_records.c). */

static void frame_store(Lower *L, int off, int size, IrVal v)
{
	IrInsn *st = ir_emit(L->f, IR_FRAME_STORE);
	st->off = off;
	st->size = size;
	st->b = v;
}

static int frame_slot(Lower *L, int size);

/* The fields' values come first, then the slot: the slots a field takes
 * while it is computed (a record passed to map/put! in it) are given
 * back before, not stacked on top of this one's. */
static IrVal lower_record_value(Lower *L, Node *n)
{
	const RecordInit *in = n->record_init;
	int size = (n->type->size + 7) & ~7;
	IrVal *values = arena_alloc(sizeof(*values) * (size_t)(in->n ? in->n : 1));
	for (int i = 0; i < in->n; i++)
		values[i] = lower(L, n->args.items[i]);
	int off = frame_slot(L, size);
	for (int k = 0; k < size; k += 8)
		frame_store(L, off + k, 8, imm(0));
	for (int i = 0; i < in->n; i++)
		frame_store(L, off + in->fields[i]->offset, in->fields[i]->type->size, values[i]);
	return (IrVal){ .remat = REMAT_FRAME, .imm = off };
}

/* A record variable bound to another: a copy of its own. */
static IrVal copy_record(Lower *L, IrVal from, const Type *t)
{
	int size = (t->size + 7) & ~7;
	int off = frame_slot(L, size);
	for (int k = 0; k < size; k += 8) {
		IrInsn *ld = ir_emit(L->f, IR_FRAME_LOAD);
		ld->dst = new_vreg(L);
		ld->off = (int)from.imm + k;
		ld->size = 8;
		frame_store(L, off + k, 8, reg(ld->dst));
	}
	return (IrVal){ .remat = REMAT_FRAME, .imm = off };
}

static bool is_record_slot(IrVal v)
{
	return v.remat == REMAT_FRAME && !v.vreg;
}

/* (. e :f) of a record value */
static IrVal frame_field(Lower *L, IrVal slot, const Field *f)
{
	IrInsn *ld = ir_emit(L->f, IR_FRAME_LOAD);
	ld->dst = new_vreg(L);
	ld->off = (int)slot.imm + f->offset;
	ld->size = f->type->size;
	if (f->type->kind == TY_INT && f->type->is_signed)
		return wrap(L, reg(ld->dst), f->type);
	IrVal r = reg(ld->dst);
	if (f->type->kind == TY_INT && f->type->size < 8)
		r.bits = f->type->size * 8;
	return r;
}

static bool memory_width_ok(Lower *L, Node *n, int size, int64_t off)
{
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		unsupported(L, n->span, "memory accesses of this width");
		return false;
	}
	if (off < INT16_MIN || off > INT16_MAX) {
		unsupported(L, n->span, "offsets outside -32768..32767");
		return false;
	}
	return true;
}

/* A frame slot of size bytes, 8-aligned: its r10 offset. It is given
 * back by leave_frame: a helper's by-value copies die with the call, an
 * inlined body's stack built-in area with the body, so the slots of
 * calls and bodies one after another overlap, as clang's allocas do
 * (the verifier allows 512 bytes for a whole chain of calls). */
static int frame_slot(Lower *L, int size)
{
	L->frame_top += (size + 7) & ~7;
	if (L->frame_top > L->f->frame)
		L->f->frame = L->frame_top;
	return -L->frame_top;
}

static FrameMark frame_mark(const Lower *L)
{
	return (FrameMark){ L->frame_top, L->stack_end };
}

static void leave_frame(Lower *L, FrameMark mark)
{
	L->frame_top = mark.top;
	L->stack_end = mark.stack_end;
}

/* The frame slots a form takes while it is computed - its lets'
 * records, the copies of map/incr!, printk's format - are given back
 * when its value is known (leave_frame), unless that value is a slot's
 * address (a record): nothing else outlives the form, its variables are
 * out of scope. The slots of forms one after another overlap, as the
 * copies of helper calls do; without it a function of a few records in
 * lets passed 512 bytes along a chain of calls that clang's objects fit
 * in (seed 510003531). */
static bool gives_frame_back(const Node *n, IrVal v)
{
	return v.remat != REMAT_FRAME && !(n->type && n->type->kind == TY_RECORD);
}

/* Functions called once whose bodies have fewer nodes than INLINE_LIMIT
 * are inlined, and any function smaller than INLINE_ALWAYS that calls
 * nothing, roughly as clang inlines the C backend's static functions (a
 * helper call's argument set-up costs less in a function of its own than
 * repeated at every site, with only r6-r9 to keep values in). */
enum { INLINE_LIMIT = 400, INLINE_ALWAYS = 16 };

static void count_calls(const Node *n, const FnDecl *fn, int *count)
{
	if (!n)
		return;
	if (n->kind == N_CALL && n->callee_kind == CALLEE_FN && n->callee_fn == fn)
		++*count;
	const Node *kids[] = { n->lhs, n->rhs, n->cond, n->then, n->els, n->body };
	for (size_t i = 0; i < sizeof(kids) / sizeof(*kids); i++)
		count_calls(kids[i], fn, count);
	for (int i = 0; i < n->args.len; i++)
		count_calls(n->args.items[i], fn, count);
	for (int i = 0; n->kind == N_LET && i < n->bindings.len; i++)
		count_calls(((Binding *)n->bindings.items[i])->init, fn, count);
	for (int i = 0; n->kind == N_MATCH && i < n->clauses.len; i++)
		count_calls(((MatchClause *)n->clauses.items[i])->body, fn, count);
}

static bool is_call(const Node *n, const void *unused)
{
	(void)unused;
	return n->kind == N_CALL && n->callee_kind != CALLEE_BUILTIN;
}

static bool has_calls(const Node *n)
{
	return node_any(n, is_call, NULL);
}

static bool is_u64_var(const Node *n)
{
	return n->kind == N_NAME && n->ref == REF_VAR && n->ref_var && n->type && type_equal(n->type, ty_u64);
}

/* (> pkt data_end): two :u64 variables ordered, one of them a parameter
 * of fn itself, not an address computed from it. */
static bool compares_param(const Node *n, const void *fn_decl)
{
	const FnDecl *fn = fn_decl;
	if (n->kind != N_BINOP || !binop_is_comparison(n->op) || n->op == OP_EQ || n->op == OP_NE ||
	    !is_u64_var(n->lhs) || !is_u64_var(n->rhs))
		return false;
	for (int i = 0; i < fn->nparams; i++)
		if (n->lhs->ref_var == fn->params[i]->var || n->rhs->ref_var == fn->params[i]->var)
			return true;
	return false;
}

/* Calls to fn anywhere in the module. */
static int call_sites(Lower *L, const FnDecl *fn)
{
	int count = 0;
	const Module *m = L->nm->m;
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_FN)
			count_calls(d->u.fn->body, fn, &count);
	}
	return count;
}

/* Nodes in n, counting no further than limit. */
static int node_size(const Node *n, int limit)
{
	if (!n)
		return 0;
	int size = 1;
	const Node *kids[] = { n->lhs, n->rhs, n->cond, n->then, n->els, n->body };
	for (size_t i = 0; i < sizeof(kids) / sizeof(*kids) && size < limit; i++)
		size += node_size(kids[i], limit - size);
	for (int i = 0; i < n->args.len && size < limit; i++)
		size += node_size(n->args.items[i], limit - size);
	for (int i = 0; n->kind == N_LET && i < n->bindings.len && size < limit; i++)
		size += node_size(((Binding *)n->bindings.items[i])->init, limit - size);
	for (int i = 0; n->kind == N_MATCH && i < n->clauses.len && size < limit; i++)
		size += node_size(((MatchClause *)n->clauses.items[i])->body, limit - size);
	return size;
}

/* The value fn's body gives, converted to its return type. */
static IrVal returned(Lower *L, const FnDecl *fn, const Node *body, IrVal v)
{
	if (!fn->ret || fn->ret->kind == TY_UNIT)
		return imm(0);
	return body && cast_is_free(body->type, fn->ret) ? v : wrap(L, v, fn->ret);
}

/* Bytes below the area's end the stack built-ins in n reach (calls to
 * other functions have areas of their own). */
static int stack_depth(const Node *n)
{
	if (!n)
		return 0;
	int depth = 0;
	if (n->kind == N_CALL && (n->builtin == BI_STACK_LOAD || n->builtin == BI_STACK_STORE) &&
	    n->args.len > 0) {
		int64_t off = (int64_t)((Node *)n->args.items[0])->value;
		if (off < 0 && -off <= 512)
			depth = (int)-off;
	}
	const Node *kids[] = { n->lhs, n->rhs, n->cond, n->then, n->els, n->body };
	for (size_t i = 0; i < sizeof(kids) / sizeof(*kids); i++) {
		int d = stack_depth(kids[i]);
		depth = d > depth ? d : depth;
	}
	for (int i = 0; i < n->args.len; i++) {
		int d = stack_depth(n->args.items[i]);
		depth = d > depth ? d : depth;
	}
	for (int i = 0; n->kind == N_LET && i < n->bindings.len; i++) {
		int d = stack_depth(((Binding *)n->bindings.items[i])->init);
		depth = d > depth ? d : depth;
	}
	for (int i = 0; n->kind == N_MATCH && i < n->clauses.len; i++) {
		int d = stack_depth(((MatchClause *)n->clauses.items[i])->body);
		depth = d > depth ? d : depth;
	}
	return depth;
}

static int frame_slot(Lower *L, int size);

/* Gives fn's body (a function, or an inlined copy) its own area for the
 * stack built-ins, as the C backend's per-function array; returns what
 * leave_frame needs to give it back. */
static FrameMark enter_stack_area(Lower *L, const FnDecl *fn)
{
	FrameMark saved = frame_mark(L);
	int depth = (stack_depth(fn->body) + 7) & ~7;
	if (depth)
		L->stack_end = frame_slot(L, depth) + depth;
	/* a slot read before any write reads 0, as in C (checker.c,
	 * note_stack_read_unwritten) */
	for (int off = 8; depth && fn->stack_read_unwritten && off <= depth; off += 8) {
		IrInsn *in = ir_emit(L->f, IR_FRAME_STORE);
		in->off = L->stack_end - off;
		in->size = 8;
		in->b = imm(0);
	}
	return saved;
}

/* fn's body lowered in place: its parameters name the arguments'
 * values (language variables are immutable, native_lower.c's header). */
static IrVal inline_call(Lower *L, FnDecl *fn, IrVal *args)
{
	int vars = L->vars.len;
	for (int i = 0; i < fn->nparams; i++)
		if (fn->params[i]->var)
			set_var(L, fn->params[i]->var, args[i]);
	FrameMark saved = enter_stack_area(L, fn);
	IrVal v = returned(L, fn, fn->body, lower(L, fn->body));
	leave_frame(L, saved);
	L->vars.len = vars;   /* this copy's names end with it */
	return v;
}

/* Is n a call lower_call inlines? */
static bool goes_inline(Lower *L, const Node *n)
{
	if (n->kind != N_CALL || n->callee_kind != CALLEE_FN || !n->callee_fn)
		return false;
	const FnDecl *fn = n->callee_fn;
	/* A parameter compared as it is - a bounds check of a packet
	 * address the caller passes, (> pkt data_end) - would compare the
	 * caller's own register inlined: the verifier marks it past the
	 * packet's end on the branch where the check fails, even one that
	 * cannot happen after the caller's check, and refuses the caller's
	 * later loads through it (tests/gen/packet_recheck_inlined). Called,
	 * the function compares its copy. */
	if (node_any(fn->body, compares_param, fn))
		return false;
	int limit = call_sites(L, fn) == 1 ? INLINE_LIMIT : has_calls(fn->body) ? 0 : INLINE_ALWAYS;
	return node_size(fn->body, INLINE_LIMIT) < limit;
}

/* The arguments of a call to one of our functions, each converted to
 * its parameter's type, bound to the parameters as inline_call does; the
 * previous stack area's end, for the caller to restore (with vars.len).
 * Every argument is lowered before any is bound: an argument may inline
 * another copy of the same function, whose binding of a parameter would
 * otherwise stand in for this one's ((f (g) (f x)), tests/gen/inline.va). */
static FrameMark bind_arguments(Lower *L, Node *n)
{
	FnDecl *fn = n->callee_fn;
	IrVal args[5];
	int nargs = 0;
	for (int i = 0; i < n->args.len && i < fn->nparams && i < 5; i++) {
		Node *arg = n->args.items[i];
		IrVal v = lower(L, arg);
		if (!cast_is_free(arg->type, fn->params[i]->type))
			v = wrap(L, v, fn->params[i]->type);
		args[nargs++] = v;
	}
	for (int i = 0; i < nargs; i++)
		if (fn->params[i]->var)
			set_var(L, fn->params[i]->var, args[i]);
	return enter_stack_area(L, fn);
}

/* A helper call of libbpf's name; its result, or imm(0). */
static IrVal call_helper(Lower *L, const char *name, const IrVal *args, int nargs)
{
	IrInsn *in = ir_emit(L->f, IR_CALL);
	memcpy(in->args, args, sizeof(*args) * (size_t)nargs);
	in->nargs = nargs;
	in->imm = helper_by_name(name)->id;
	in->dst = new_vreg(L);
	return reg(in->dst);
}

static void atomic_add(Lower *L, IrVal ptr, IrVal v, int size)
{
	IrInsn *in = ir_emit(L->f, IR_STORE);
	in->a = ptr;
	in->b = in_reg(L, v);
	in->size = size;
	in->not_ctx = true;
	in->atomic_add = true;
}

/* (printk "fmt" a b), LANGUAGE.md 10.5: bpf_trace_printk(fmt, size, a, b).
 * libbpf's bpf_printk keeps the format in .rodata; the helper takes any
 * readable memory, so here it is built in a frame slot, 8 bytes a store,
 * NUL-terminated (the kernel parses it at run time and wants the NUL
 * within size). */
static IrVal lower_printk(Lower *L, Node *n)
{
	const char *fmt = n->printk_format;
	size_t len = strlen(fmt) + 1;
	size_t size = (len + 7) & ~(size_t)7;
	if (size > 256) {
		unsupported(L, n->span, "printk formats over 255 bytes");
		return imm(0);
	}
	IrVal args[5];
	int nargs = n->args.len;
	for (int i = 0; i < nargs; i++)
		args[2 + i] = lower(L, n->args.items[i]);
	int off = frame_slot(L, (int)size);
	for (size_t k = 0; k < size; k += 8) {
		uint64_t word = 0;
		for (size_t j = 0; j < 8 && k + j < len; j++)
			word |= (uint64_t)(unsigned char)fmt[k + j] << (8 * j);
		frame_store(L, off + (int)k, 8, imm((int64_t)word));
	}
	args[0] = (IrVal){ .remat = REMAT_FRAME, .imm = off };
	args[1] = imm((int64_t)len);
	call_helper(L, "trace_printk", args, 2 + nargs);
	return imm(0);
}

/* (map/incr! m k n), LANGUAGE.md 10.7, as the C backend writes it
 * (emit_c_idioms.c): a lookup and an atomic add in place; when the key
 * is absent, an insert with BPF_NOEXIST, and when that fails (another CPU
 * inserted first), one more lookup and add. */
static IrVal lower_map_incr(Lower *L, Node *n)
{
	Node **a = (Node **)n->args.items;
	const MapDecl *md = a[0]->ref_map;
	Type *kt = md->key, *vt = md->value;
	if (map_index(L, md) < 0 || !kt) {
		unsupported(L, n->span, "map/incr! on this map");
		return imm(0);
	}
	IrVal key;
	if (a[1]->type && a[1]->type->kind == TY_PTR) {
		key = in_reg(L, lower(L, a[1]));
	} else if (a[1]->type && a[1]->type->kind == TY_RECORD) {
		key = lower(L, a[1]); /* a record value: its slot (10.4) */
	} else {
		IrVal k = lower(L, a[1]);
		int off = frame_slot(L, kt->size);
		IrInsn *st = ir_emit(L->f, IR_FRAME_STORE);
		st->off = off;
		st->size = kt->size;
		st->b = k;
		key = (IrVal){ .remat = REMAT_FRAME, .imm = off };
	}
	IrVal amount = in_reg(L, lower(L, a[2]));
	int value_off = frame_slot(L, vt->size);
	IrInsn *st = ir_emit(L->f, IR_FRAME_STORE);
	st->off = value_off;
	st->size = vt->size;
	st->b = amount;
	IrVal map = { .remat = REMAT_MAP, .imm = map_index(L, md) };
	IrVal lookup_args[2] = { map, key };
	IrVal insert_args[4] = { map, key, { .remat = REMAT_FRAME, .imm = value_off }, imm(BPF_NOEXIST) };
	int insert = new_label(L), done = new_label(L);
	IrVal entry = call_helper(L, "map_lookup_elem", lookup_args, 2);
	jcc(L, BPF_JEQ, entry, imm(0), insert);
	atomic_add(L, entry, amount, vt->size);
	jump(L, done);
	label(L, insert);
	IrVal failed = call_helper(L, "map_update_elem", insert_args, 4);
	jcc(L, BPF_JEQ, failed, imm(0), done);
	entry = call_helper(L, "map_lookup_elem", lookup_args, 2);
	jcc(L, BPF_JEQ, entry, imm(0), done);
	atomic_add(L, entry, amount, vt->size);
	label(L, done);
	return imm(0);
}

static IrVal lower_call(Lower *L, Node *n)
{
	Node **a = (Node **)n->args.items;
	if (n->callee_kind == CALLEE_MAP_INCR)
		return lower_map_incr(L, n);
	if (n->callee_kind == CALLEE_RECORD)
		return lower_record_value(L, n);
	if (n->callee_kind == CALLEE_PRINTK)
		return lower_printk(L, n);
	if (n->callee_kind == CALLEE_BUILTIN) {
		const Type *w = n->builtin_type;
		switch (n->builtin) {
		case BI_LOAD: {
			IrVal base = lower(L, a[0]);
			if (!memory_width_ok(L, n, w->size, (int64_t)a[1]->value))
				return imm(0);
			return load(L, base, (int)(int64_t)a[1]->value, w, w->size);
		}
		case BI_STORE: {
			IrVal base = lower(L, a[0]);
			IrVal v = lower(L, a[2]);
			if (memory_width_ok(L, n, w->size, (int64_t)a[1]->value))
				store(L, base, (int)(int64_t)a[1]->value, w->size, v, false);
			return imm(0);
		}
		case BI_BE: {
			IrVal v = lower(L, a[0]);
			return v.vreg ? byte_swap_reg(L, v, w->size) : imm(byte_swap_const(v.imm, w->size));
		}
		case BI_LE:
			/* the identity on the little-endian hosts BPF runs on */
			return wrap(L, lower(L, a[0]), w);
		case BI_STACK_LOAD: {
			IrInsn *in = ir_emit(L->f, IR_FRAME_LOAD);
			in->dst = new_vreg(L);
			in->off = L->stack_end + (int)(int64_t)a[0]->value;
			in->size = w->size;
			return w->is_signed ? wrap(L, reg(in->dst), w) : reg(in->dst);
		}
		case BI_STACK_STORE: {
			IrVal v = lower(L, a[1]);
			IrInsn *in = ir_emit(L->f, IR_FRAME_STORE);
			in->off = L->stack_end + (int)(int64_t)a[0]->value;
			in->size = w->size;
			in->b = v;
			return imm(0);
		}
		default:
			unsupported(L, n->span, "this built-in");
			return imm(0);
		}
	}

	FrameMark copies = frame_mark(L);   /* the by-value copies' slots */
	IrVal args[5];
	int nargs = n->args.len;
	if (nargs > 5) {
		unsupported(L, n->span, "calls with more than 5 arguments");
		return imm(0);
	}
	for (int i = 0; i < nargs; i++) {
		Node *arg = a[i];
		Type *copy = n->callee_kind == CALLEE_HELPER ? helper_by_value_type(n, i) : NULL;
		if (copy && arg->type && arg->type->kind == TY_RECORD) {
			/* a record value: its slot's address (10.4) */
			args[i] = lower(L, arg);
			if (!is_record_slot(args[i])) {
				unsupported(L, arg->span, "this record argument");
				return imm(0);
			}
		} else if (copy && !(arg->type && arg->type->kind == TY_PTR)) {
			if (copy->kind != TY_INT && copy->kind != TY_BOOL) {
				unsupported(L, arg->span, "by-value arguments of record type");
				return imm(0);
			}
			IrVal v = lower(L, arg);
			int off = frame_slot(L, copy->size);
			IrInsn *st = ir_emit(L->f, IR_FRAME_STORE);
			st->off = off;
			st->size = copy->size;
			st->b = v;
			args[i] = (IrVal){ .remat = REMAT_FRAME, .imm = off };
		} else if (n->callee_kind == CALLEE_HELPER && arg->kind == N_NAME &&
			   arg->ref == REF_MAP && map_index(L, arg->ref_map) >= 0) {
			args[i] = (IrVal){ .remat = REMAT_MAP, .imm = map_index(L, arg->ref_map) };
		} else {
			args[i] = lower(L, arg);
		}
	}
	if (n->callee_kind == CALLEE_FN && n->callee_fn) {
		FnDecl *fn = n->callee_fn;
		for (int i = 0; i < nargs && i < fn->nparams; i++)
			if (!cast_is_free(a[i]->type, fn->params[i]->type))
				args[i] = wrap(L, args[i], fn->params[i]->type);
		if (goes_inline(L, n))
			return inline_call(L, fn, args);
	}
	IrInsn *in = ir_emit(L->f, IR_CALL);
	memcpy(in->args, args, sizeof(args));
	in->nargs = nargs;
	leave_frame(L, copies);   /* the helper has read them */
	Type *ret;
	if (n->callee_kind == CALLEE_FN) {
		in->fn = fn_index(L, n->callee_fn);
		ret = n->callee_fn->ret;
	} else if (n->callee_kind == CALLEE_HELPER && n->callee_extern && n->callee_extern->helper) {
		in->imm = n->callee_extern->helper->id;
		ret = n->callee_extern->ret;
	} else if (n->callee_kind == CALLEE_C && n->callee_extern) {
		in->c_fn = c_fn_index(L, n->callee_extern);
		ret = n->callee_extern->ret;
	} else {
		unsupported(L, n->span, "this kind of call");
		return imm(0);
	}
	if (!ret || ret->kind == TY_UNIT)
		return imm(0);
	in->dst = new_vreg(L);
	/* C converts the helper's long to the declared type */
	/* a helper's or C function's result is converted to the declared type
	 * (C does; a defn's is already canonical) */
	return n->callee_kind != CALLEE_FN ? wrap(L, reg(in->dst), ret) : reg(in->dst);
}

static void lower_into(Lower *L, Node *n, int d);
static void note_line(Lower *L, const Node *n);

/* An if whose value goes to d (0: none): each arm writes d itself. */
static void lower_if_into(Lower *L, Node *n, int d)
{
	int els = new_label(L), done = new_label(L);
	branch(L, n->cond, false, els);
	lower_into(L, n->then, d);
	jump(L, done);
	label(L, els);
	if (n->els)
		lower_into(L, n->els, d);
	label(L, done);
}

static void match_pattern(Lower *L, Pattern *p, IrVal s, int next, bool last);

/* A match on a bool with a true/false clause first and a second clause
 * for the other value (or any): an if, whose condition jumps instead
 * of making 0/1 and comparing it. The second clause's name, if any, is
 * bound to the value it then has. Its first clause's value, or -1. */
static int bool_match_first(const Node *n)
{
	if (n->clauses.len != 2 || !n->lhs->type || n->lhs->type->kind != TY_BOOL)
		return -1;
	const Pattern *p0 = ((MatchClause *)n->clauses.items[0])->pattern;
	const Pattern *p1 = ((MatchClause *)n->clauses.items[1])->pattern;
	if (p0->kind != PAT_BOOL)
		return -1;
	bool other = p1->kind == PAT_WILD || p1->kind == PAT_BIND ||
		     (p1->kind == PAT_BOOL && (p1->value != 0) != (p0->value != 0));
	return other ? p0->value != 0 : -1;
}

/* The second clause of a bool match: its name names the other value. */
static MatchClause *bool_match_second(Lower *L, const Node *n, int first)
{
	MatchClause *c = n->clauses.items[1];
	if (c->pattern->kind == PAT_BIND && c->pattern->var)
		set_var(L, c->pattern->var, imm(!first));
	return c;
}

static void lower_match_into(Lower *L, Node *n, int d)
{
	int first = bool_match_first(n);
	if (first >= 0) {
		int second = new_label(L), done = new_label(L);
		branch(L, n->lhs, !first, second);
		lower_into(L, ((MatchClause *)n->clauses.items[0])->body, d);
		jump(L, done);
		label(L, second);
		lower_into(L, bool_match_second(L, n, first)->body, d);
		label(L, done);
		return;
	}
	int done = new_label(L);
	IrVal s = in_reg(L, lower(L, n->lhs));
	for (int i = 0; i < n->clauses.len; i++) {
		MatchClause *c = n->clauses.items[i];
		int next = new_label(L);
		match_pattern(L, c->pattern, s, next, i == n->clauses.len - 1);
		lower_into(L, c->body, d);
		jump(L, done);
		label(L, next);
	}
	label(L, done);
}

/* n's value into the register d (0: n's value is not wanted). An if or
 * a match - a cond too, nested ifs - writes d in each arm, so a nested
 * one as an arm's value costs no copy at each join; let and do pass it
 * on to their last form. */
static void lower_form_into(Lower *L, Node *n, int d);

static void lower_into(Lower *L, Node *n, int d)
{
	FrameMark mark = frame_mark(L);
	lower_form_into(L, n, d);
	if (n && gives_frame_back(n, imm(0)))
		leave_frame(L, mark);
}

static void lower_form_into(Lower *L, Node *n, int d)
{
	if (L->failed || !n)
		return;
	note_line(L, n);
	switch (n->kind) {
	case N_IF:
		lower_if_into(L, n, d);
		return;
	case N_MATCH:
		lower_match_into(L, n, d);
		return;
	case N_LET:
		bind_let(L, n);
		lower_into(L, n->body, d);
		return;
	case N_DO:
		if (n->args.len == 0)
			break;
		for (int i = 0; i + 1 < n->args.len; i++)
			lower(L, n->args.items[i]);
		lower_into(L, n->args.items[n->args.len - 1], d);
		return;
	default:
		break;
	}
	IrVal v = lower(L, n);
	if (d)
		mov(L, d, v);
}

static IrVal lower_if(Lower *L, Node *n)
{
	bool has_value = n->type && n->type->kind != TY_UNIT;
	int d = has_value ? new_vreg(L) : 0;
	lower_if_into(L, n, d);
	return d ? reg(d) : imm(0);
}

static IrVal lower_match(Lower *L, Node *n)
{
	bool has_value = n->type && n->type->kind != TY_UNIT;
	int d = has_value ? new_vreg(L) : 0;
	lower_match_into(L, n, d);
	return d ? reg(d) : imm(0);
}

/* Jumps to next unless s matches p; binds p's name to s. */
static void match_pattern(Lower *L, Pattern *p, IrVal s, int next, bool last)
{
	/* the checker made the match exhaustive, so the last clause matches
	 * whatever reaches it: testing it again would leave the verifier a
	 * path that matches nothing */
	switch (p->kind) {
	case PAT_SOME:
		if (!last)
			jcc(L, BPF_JEQ, s, imm(0), next);
		if (p->var)
			set_var(L, p->var, s);
		break;
	case PAT_NONE:
		if (!last)
			jcc(L, BPF_JNE, s, imm(0), next);
		break;
	case PAT_INT:
	case PAT_BOOL:
		if (!last)
			jcc(L, BPF_JNE, s, imm((int64_t)p->value), next);
		break;
	case PAT_BIND:
		if (p->var)
			set_var(L, p->var, s);
		break;
	case PAT_WILD:
		break;
	}
}

/* The global a for-range body `(set! g (+ g x))` adds x to, when x is the
 * loop variable read as g's type without a conversion (i, or a widening
 * cast of it); else NULL. */
static const GlobalDecl *summed_global(const Node *n)
{
	const Node *body = n->body;
	while (body && body->kind == N_DO && body->args.len == 1)
		body = body->args.items[0];
	if (!n->var || !body || body->kind != N_SET || body->lhs || body->ref != REF_GLOBAL)
		return NULL;
	const GlobalDecl *g = body->ref_global;
	const Node *v = body->rhs;
	if (!g || !g->type || g->type->kind != TY_INT || v->kind != N_BINOP || v->op != OP_ADD)
		return NULL;
	const Node *acc = v->lhs, *x = v->rhs;
	if (acc->kind != N_NAME || acc->ref != REF_GLOBAL || acc->ref_global != g) {
		acc = v->rhs;
		x = v->lhs;
	}
	if (acc->kind != N_NAME || acc->ref != REF_GLOBAL || acc->ref_global != g)
		return NULL;
	const Node *inner = x->kind == N_CAST ? x->lhs : x;
	if (inner->kind != N_NAME || inner->ref != REF_VAR || inner->ref_var != n->var ||
	    !cast_is_free(n->var->type, g->type))
		return NULL;
	return g;
}

/* (for-range i a b (set! g (+ g i))) in closed form: g += the sum of
 * a..b-1, count * a + count * (count - 1) / 2 with count = b - a, in
 * 64-bit arithmetic wrapped to g's type - as clang's induction variable
 * simplification writes the C backend's loop. A loop whose bound is
 * known only at run time is one the verifier cannot follow to its end
 * (tests/gen/control.va), so both backends must do without it. */
static void lower_sum_loop(Lower *L, Node *n, const GlobalDecl *g, IrVal start, IrVal end)
{
	const Type *t = n->var->type;
	int done = new_label(L);
	start = in_reg(L, start);
	jcc(L, t->is_signed ? BPF_JSGE : BPF_JGE, start, end, done);
	IrVal count = alu(L, BPF_SUB, in_reg(L, end), start);
	IrVal less = alu(L, BPF_ADD, count, imm(-1));
	/* count * (count - 1) / 2 without the product overflowing first:
	 * (count >> 1) * (count - 1) + (count & 1) * ((count - 1) >> 1) */
	IrVal tri = alu(L, BPF_ADD, alu(L, BPF_MUL, alu(L, BPF_RSH, count, imm(1)), less),
			alu(L, BPF_MUL, alu(L, BPF_AND, count, imm(1)), alu(L, BPF_RSH, less, imm(1))));
	IrVal sum = alu(L, BPF_ADD, alu(L, BPF_MUL, count, start), tri);
	int gi = global_index(L, g, n->span);
	if (gi < 0)
		return;
	IrVal old = load(L, global_addr(L, gi), 0, g->type, g->type->size);
	store(L, global_addr(L, gi), 0, g->type->size, wrap(L, alu(L, BPF_ADD, old, sum), g->type),
	      true);
	label(L, done);
}

/* Does evaluating n do anything but compute a value: store (a global, a
 * field, memory), call (a helper, a function, printk, map/incr!)? Loads
 * do not: a load left out changes nothing the program computes. A loop
 * does what its start, end and body do: it ends, as i < end and end is
 * a value of i's type. */
static bool has_effects(const Node *n)
{
	if (!n)
		return false;
	switch (n->kind) {
	case N_INT:
	case N_BOOL:
	case N_NAME:
		return false;
	case N_LET:
		for (int i = 0; i < n->bindings.len; i++)
			if (has_effects(((Binding *)n->bindings.items[i])->init))
				return true;
		return has_effects(n->body);
	case N_DO:
		for (int i = 0; i < n->args.len; i++)
			if (has_effects(n->args.items[i]))
				return true;
		return false;
	case N_IF:
		return has_effects(n->cond) || has_effects(n->then) || has_effects(n->els);
	case N_MATCH:
		if (has_effects(n->lhs))
			return true;
		for (int i = 0; i < n->clauses.len; i++)
			if (has_effects(((MatchClause *)n->clauses.items[i])->body))
				return true;
		return false;
	case N_AND:
	case N_OR:
	case N_NOT:
	case N_BINOP:
	case N_NEG:
	case N_CAST:
	case N_FIELD:
		return has_effects(n->lhs) || has_effects(n->rhs);
	case N_CALL:
		if ((n->callee_kind == CALLEE_BUILTIN && n->builtin != BI_STORE &&
		     n->builtin != BI_STACK_STORE) || n->callee_kind == CALLEE_RECORD) {
			for (int i = 0; i < n->args.len; i++)
				if (has_effects(n->args.items[i]))
					return true;
			return false;
		}
		return true;
	case N_FOR:
		return has_effects(n->lhs) || has_effects(n->rhs) || has_effects(n->body);
	default:
		return true;
	}
}

static IrVal lower_for(Lower *L, Node *n)
{
	const Type *t = n->var ? n->var->type : n->lhs->type;
	bool is_signed = t && t->kind == TY_INT && t->is_signed;
	int i = new_vreg(L);
	mov(L, i, lower(L, n->lhs));
	IrVal end = lower(L, n->rhs);
	if (end.vreg) {
		/* computed once, in a register of its own */
		int e = new_vreg(L);
		mov(L, e, end);
		end = reg(e);
	}
	const GlobalDecl *g = summed_global(n);
	if (g) {
		lower_sum_loop(L, n, g, reg(i), end);
		return imm(0);
	}
	/* a body that does nothing (the loop's value is discarded): no
	 * loop, its start and end computed all the same, as clang deletes
	 * the C backend's loop. Kept, a loop to an end known only at run
	 * time is one the verifier cannot follow to its end ("the sequence
	 * of 8193 jumps is too complex") */
	if (!has_effects(n->body))
		return imm(0);
	if (n->var)
		set_var(L, n->var, reg(i));
	int head = new_label(L), exit = new_label(L);
	label(L, head);
	jcc(L, is_signed ? BPF_JSGE : BPF_JGE, reg(i), end, exit);
	lower(L, n->body);
	/* i < end, and end is a value of i's type, so i + 1 cannot leave
	 * the type: no wrap, which would also cost the verifier the loop's
	 * progress (i + 1 masked with 0xff reads as 0..3 again, not 1..3) */
	IrVal next = alu(L, BPF_ADD, reg(i), imm(1));
	mov(L, i, next);
	jump(L, head);
	label(L, exit);
	return imm(0);
}

static IrVal lower_name(Lower *L, Node *n)
{
	switch (n->ref) {
	case REF_VAR:
		return var_val(L, n);
	case REF_MAP: {
		int m = map_index(L, n->ref_map);
		if (m < 0) {
			unsupported(L, n->span, "this map");
			return imm(0);
		}
		IrInsn *in = ir_emit(L->f, IR_MAP);
		in->dst = new_vreg(L);
		in->map = m;
		return reg(in->dst);
	}
	case REF_KCONST:
		return imm((int64_t)n->ref_kconst->value);
	case REF_GLOBAL: {
		int g = global_index(L, n->ref_global, n->span);
		if (g < 0)
			return imm(0);
		return load(L, global_addr(L, g), 0, n->ref_global->type, n->ref_global->type->size);
	}
	default:
		unsupported(L, n->span, "this name");
		return imm(0);
	}
}

/* An IR_LINE for n when it starts a new source line. */
static void note_line(Lower *L, const Node *n)
{
	if (n->span.line && n->span.line != L->line) {
		L->line = n->span.line;
		ir_emit(L->f, IR_LINE)->span = n->span;
	}
}

static IrVal lower_form(Lower *L, Node *n);

static IrVal lower(Lower *L, Node *n)
{
	FrameMark mark = frame_mark(L);
	IrVal v = lower_form(L, n);
	if (n && gives_frame_back(n, v))
		leave_frame(L, mark);
	return v;
}

static IrVal lower_form(Lower *L, Node *n)
{
	if (L->failed || !n)
		return imm(0);
	note_line(L, n);
	switch (n->kind) {
	case N_INT:
		return imm((int64_t)n->value);
	case N_BOOL:
		return imm(n->value != 0);
	case N_NAME:
		return lower_name(L, n);
	case N_LET:
		bind_let(L, n);
		return lower(L, n->body);
	case N_DO: {
		IrVal v = imm(0);
		for (int i = 0; i < n->args.len; i++)
			v = lower(L, n->args.items[i]);
		return v;
	}
	case N_IF:
		return lower_if(L, n);
	case N_AND:
	case N_OR:
	case N_NOT:
		return bool_value(L, n);
	case N_MATCH:
		return lower_match(L, n);
	case N_BINOP:
		return lower_binop(L, n);
	case N_NEG:
		return wrap(L, negate(L, lower(L, n->lhs)), n->type);
	case N_CAST: {
		IrVal v = lower(L, n->lhs);
		if (!n->cast_to || (n->cast_to->kind != TY_INT && n->cast_to->kind != TY_BOOL)) {
			unsupported(L, n->span, "casts to this type");
			return v;
		}
		return cast_is_free(n->lhs->type, n->cast_to) ? v : wrap(L, v, n->cast_to);
	}
	case N_FIELD: {
		Field *f = n->field;
		if (!f || !(f->type->kind == TY_INT || f->type->kind == TY_BOOL)) {
			unsupported(L, n->span, "fields of this type");
			return imm(0);
		}
		IrVal base = lower(L, n->lhs);
		if (n->lhs->type && n->lhs->type->kind == TY_RECORD && is_record_slot(base))
			return frame_field(L, base, f);
		if (!memory_width_ok(L, n, field_size(f), f->offset))
			return imm(0);
		return load(L, base, f->offset, f->type, field_size(f));
	}
	case N_CALL:
		return lower_call(L, n);
	case N_SET: {
		if (!n->lhs && n->ref == REF_GLOBAL && n->ref_global) {
			int g = global_index(L, n->ref_global, n->span);
			IrVal v = lower(L, n->rhs);
			if (g < 0)
				return imm(0);
			store(L, global_addr(L, g), 0, n->ref_global->type->size, v, true);
			return imm(0);
		}
		if (!n->lhs || n->lhs->kind != N_FIELD || !n->lhs->field) {
			unsupported(L, n->span, "this set!");
			return imm(0);
		}
		Field *f = n->lhs->field;
		IrVal base = lower(L, n->lhs->lhs);
		IrVal v = lower(L, n->rhs);
		if (n->lhs->lhs->type && n->lhs->lhs->type->kind == TY_RECORD && is_record_slot(base)) {
			frame_store(L, (int)base.imm + f->offset, f->type->size, v);
			return imm(0);
		}
		if (memory_width_ok(L, n, field_size(f), f->offset))
			store(L, base, f->offset, field_size(f), v,
			      n->lhs->lhs->type && n->lhs->lhs->type->kind == TY_PTR &&
				      n->lhs->lhs->type->pointee->record &&
				      !n->lhs->lhs->type->pointee->record->is_context);
		return imm(0);
	}
	case N_FOR:
		return lower_for(L, n);
	}
	unsupported(L, n->span, "this form");
	return imm(0);
}

/* n as the value fn returns: each arm of a tail if or match returns
 * by itself, without first meeting the others at a join. */
static void lower_tail(Lower *L, FnDecl *fn, Node *n)
{
	if (L->failed)
		return;
	switch (n ? n->kind : N_INT) {
	case N_DO:
		for (int i = 0; i + 1 < n->args.len; i++)
			lower(L, n->args.items[i]);
		if (n->args.len) {
			lower_tail(L, fn, n->args.items[n->args.len - 1]);
			return;
		}
		break;
	case N_LET:
		bind_let(L, n);
		lower_tail(L, fn, n->body);
		return;
	case N_IF: {
		int els = new_label(L);
		branch(L, n->cond, false, els);
		lower_tail(L, fn, n->then);
		label(L, els);
		lower_tail(L, fn, n->els);
		return;
	}
	case N_MATCH: {
		int first = bool_match_first(n);
		if (first >= 0) {
			int second = new_label(L);
			branch(L, n->lhs, !first, second);
			lower_tail(L, fn, ((MatchClause *)n->clauses.items[0])->body);
			label(L, second);
			lower_tail(L, fn, bool_match_second(L, n, first)->body);
			return;
		}
		IrVal s = in_reg(L, lower(L, n->lhs));
		for (int i = 0; i < n->clauses.len; i++) {
			MatchClause *c = n->clauses.items[i];
			int next = new_label(L);
			match_pattern(L, c->pattern, s, next, i == n->clauses.len - 1);
			lower_tail(L, fn, c->body);
			label(L, next);
		}
		return;
	}
	case N_CALL:
		if (goes_inline(L, n) && type_equal(n->callee_fn->ret, fn->ret)) {
			/* the callee's tail is this function's: each of its arms
			 * returns by itself too */
			int vars = L->vars.len;
			FrameMark saved = bind_arguments(L, n);
			lower_tail(L, n->callee_fn, n->callee_fn->body);
			leave_frame(L, saved);
			L->vars.len = vars;
			return;
		}
		break;
	default:
		break;
	}
	/* the value first: returned() may emit a wrap, which must come
	 * before the return, not after it */
	IrVal v = returned(L, fn, n, lower(L, n));
	ir_emit(L->f, IR_RET)->a = v;
}

static IrFunc *lower_function(Lower *L, FnDecl *fn)
{
	IrFunc *f = arena_alloc(sizeof(*f));
	f->decl = fn;
	f->name = fn->c_name ? fn->c_name : fn->name;
	L->f = f;
	L->line = 0;
	L->vars.len = 0;
	ir_emit(f, IR_LINE)->span = fn->span;
	L->line = fn->span.line;
	if (fn->nparams > 5)
		unsupported(L, fn->span, "functions with more than 5 parameters");
	/* the parameters first, one after the other: the encoder moves
	 * them out of r1-r5 at once (native_encode.c) */
	int first = f->nvregs + 1;
	for (int i = 0; i < fn->nparams && i < 5; i++) {
		IrInsn *in = ir_emit(f, IR_PARAM);
		in->dst = new_vreg(L);
		in->imm = i;
	}
	for (int i = 0; i < fn->nparams && i < 5; i++) {
		if (fn->params[i]->var)
			set_var(L, fn->params[i]->var, reg(first + i));
		if (fn->is_entry && fn_program(L->nm->m, fn)->kind->kind == PK_FLOW_DISSECTOR) {
			/* the parameter is the keys: skb->flow_keys, as in the C */
			IrVal keys = load(L, reg(first + i), offsetof(struct __sk_buff, flow_keys),
					  ty_u64, 8);
			if (fn->params[i]->var)
				set_var(L, fn->params[i]->var, keys);
		}
	}
	L->stack_end = 0;
	L->frame_top = 0;
	enter_stack_area(L, fn);
	lower_tail(L, fn, fn->body);
	return f;
}

/* Places g in its section (native.h) at its natural alignment. */
static void add_global(Lower *L, GlobalDecl *g)
{
	NativeModule *nm = L->nm;
	Node *init = g->init;
	int64_t value = 0;
	if (!g->type || (g->type->kind != TY_INT && g->type->kind != TY_BOOL)) {
		unsupported(L, g->span, "globals of this type");
		return;
	}
	if (init && (init->kind == N_INT || init->kind == N_BOOL))
		value = init->kind == N_BOOL ? init->value != 0 : (int64_t)init->value;
	else if (init && init->kind == N_NAME && init->ref == REF_KCONST)
		value = (int64_t)init->ref_kconst->value;
	else if (init) {
		unsupported(L, init->span, "this global initialiser");
		return;
	}
	int sec = g->is_const ? GLOBAL_RODATA : value ? GLOBAL_DATA : GLOBAL_BSS;
	int align = g->type->align ? g->type->align : g->type->size;
	int off = (nm->sec_size[sec] + align - 1) / align * align;
	int i = nm->nglobals++;
	nm->globals[i] = g;
	nm->global_sec[i] = sec;
	nm->global_off[i] = off;
	nm->global_init[i] = value;
	nm->sec_size[sec] = off + g->type->size;
}

NativeModule *native_lower(const Module *m)
{
	NativeModule *nm = arena_alloc(sizeof(*nm));
	nm->m = m;
	Lower L = { .nm = nm };
	if (m->native_refused_at.file) {
		diag_error(m->native_refused_at, "%s are not supported by the native backend", m->native_refused_what);
		return NULL;
	}
	nm->maps = arena_alloc(sizeof(MapDecl *) * (size_t)(m->decls.len + 1));
	size_t n = (size_t)(m->decls.len + 1);
	nm->globals = arena_alloc(sizeof(GlobalDecl *) * n);
	nm->global_sec = arena_alloc(sizeof(int) * n);
	nm->global_off = arena_alloc(sizeof(int) * n);
	nm->global_init = arena_alloc(sizeof(int64_t) * n);
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_GLOBAL) {
			add_global(&L, d->u.global);
		} else if (d->kind == D_MAP) {
			nm->maps[nm->nmaps++] = d->u.map;
		}
	}
	/* without a (program) form there is no entry: the object holds the
	 * maps, globals and exported functions, as clang's does (it drops
	 * the unused static functions) */
	nm->has_entry = m->entry != NULL;
	if (m->entry)
		fn_index(&L, m->entry);
	/* several programs (defprog, 10.3): each an entry of its own */
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_FN && d->u.fn->prog && d->u.fn->is_entry)
			fn_index(&L, d->u.fn);
	}
	nm->nentries = L.fns.len;
	/* exported defns are global functions, lowered whether or not the
	 * entry calls them: hand-written C may */
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_FN && d->u.fn->exported)
			fn_index(&L, d->u.fn);
	}
	Vec funcs = { 0 };
	for (int i = 0; i < L.fns.len && !L.failed; i++)
		vec_push(&funcs, lower_function(&L, L.fns.items[i]));
	if (L.failed)
		return NULL;
	nm->funcs = (IrFunc **)funcs.items;
	nm->nfuncs = funcs.len;
	return nm;
}
