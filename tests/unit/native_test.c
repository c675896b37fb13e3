/* Unit tests for the native backend (native_lower.c, native_tidy.c,
 * native_regalloc.c, native_encode.c), through frontend_run so the AST is the real, checked
 * one. Whole programs are proven in the kernel by tests/kernel.sh against
 * the clang objects; these tests pin down the encoding decisions. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "unit.h"

static char *diags;
static size_t diags_len;
static SourceFile source;

/* Lowers, allocates and encodes src; NULL when the backend refused it
 * (its diagnostics in diags). The front end must accept src. */
static NativeModule *translate(const char *src)
{
	FILE *out = diag_capture_begin(&diags, &diags_len);
	source = source_from("t.va", src, strlen(src));
	Module *m = frontend_run(&source);
	cr_assert(m, "front end rejected:\n%s", src);
	NativeModule *nm = native_build(m);
	diag_capture_end(out);
	return nm;
}

static int count_code(const NativeModule *nm, uint8_t code)
{
	int n = 0;
	for (int f = 0; f < nm->nfuncs; f++)
		for (int i = 0; i < nm->ncode[f]; i++)
			n += nm->code[f][i].code == code;
	return n;
}

static const struct bpf_insn *find_code(const NativeModule *nm, uint8_t code)
{
	for (int f = 0; f < nm->nfuncs; f++)
		for (int i = 0; i < nm->ncode[f]; i++)
			if (nm->code[f][i].code == code)
				return &nm->code[f][i];
	return NULL;
}

/* Minus 1, so the value may be any 64 bits: a u32 compared with a 33-bit
 * constant is decided where it is compiled (its known bits). */
Test(native, wide_constant_is_ld_imm64)
{
	NativeModule *nm = translate("(program :xdp)\n"
				     "(defn f [ctx :XdpMd] :u32\n"
				     "  (if (== (- (u64 (. ctx :rx_queue_index)) 1) 0x123456789) 1 2))\n");
	cr_assert(nm, "%s", diags);
	const struct bpf_insn *ld = find_code(nm, BPF_LD | BPF_DW | BPF_IMM);
	cr_assert(ld, "no LD_IMM64 for a constant outside 32 bits");
	cr_assert_eq((uint32_t)ld[0].imm, 0x23456789u);
	cr_assert_eq((uint32_t)ld[1].imm, 0x1u);
}

Test(native, unsigned_32_bit_constant_is_a_32_bit_move)
{
	NativeModule *nm = translate("(program :xdp)\n"
				     "(defn f [ctx :XdpMd] :u32\n"
				     "  (if (== (u64 (. ctx :rx_queue_index)) 0xFFFFFFFF) 1 2))\n");
	cr_assert(nm, "%s", diags);
	cr_assert_eq(count_code(nm, BPF_LD | BPF_DW | BPF_IMM), 0);
	const struct bpf_insn *mov = find_code(nm, BPF_ALU | BPF_MOV | BPF_K);
	cr_assert(mov, "no 32-bit move (which zero-extends) for 0xFFFFFFFF");
	cr_assert_eq((uint32_t)mov->imm, 0xFFFFFFFFu);
}

/* An immediate zero divisor is refused by the verifier: a divisor known
 * to be zero is never one. BPF's x / 0 = 0 and x % 0 = x (section 9)
 * are folded, whatever x: no division is left at all. */
Test(native, division_by_literal_zero_is_folded)
{
	NativeModule *nm = translate("(program :xdp)\n"
				     "(defn zero [] :u32 0)\n"
				     "(defn f [ctx :XdpMd] :u32\n"
				     "  (+ (div (. ctx :rx_queue_index) (zero)) (rem (. ctx :rx_queue_index) (zero))))\n");
	cr_assert(nm, "%s", diags);
	cr_assert_eq(count_code(nm, BPF_ALU64 | BPF_DIV | BPF_K), 0);
	cr_assert_eq(count_code(nm, BPF_ALU64 | BPF_MOD | BPF_K), 0);
	cr_assert_eq(count_code(nm, BPF_ALU64 | BPF_DIV | BPF_X), 0);
	cr_assert_eq(count_code(nm, BPF_ALU64 | BPF_MOD | BPF_X), 0);
}

/* Six values live across a helper call: four fit r6-r9, the rest are
 * spilled to the frame; none of them lives in r0-r5, which the call
 * clobbers (values that do not outlive a call may). */
Test(native, values_live_across_calls_spill_beyond_r9)
{
	NativeModule *nm = translate(
		"(program :xdp)\n"
		"(extern bpf:ktime_get_ns [] :u64)\n"
		"(defn f [ctx :XdpMd] :u32\n"
		"  (let [a (. ctx :rx_queue_index) b (. ctx :ingress_ifindex)\n"
		"        c (. ctx :egress_ifindex) d (* a b) e (* b c) g (* a c)\n"
		"        t (bpf/ktime_get_ns)]\n"
		"    (+ (+ (+ a b) (+ c d)) (+ (+ e g) (u32 t)))))\n");
	cr_assert(nm, "%s", diags);
	IrFunc *f = nm->funcs[0];
	int call = -1;
	for (int i = 0; i < f->len; i++)
		if (f->insns[i].op == IR_CALL)
			call = i;
	cr_assert_geq(call, 0, "no call");
	int spilled = 0;
	for (int v = 1; v <= f->nvregs; v++) {
		int first = -1, last = -1;
		for (int i = 0; i < f->len; i++) {
			const IrInsn *in = &f->insns[i];
			if (in->dst == v || in->a.vreg == v || in->b.vreg == v) {
				first = first < 0 ? i : first;
				last = i;
			}
		}
		if (first < call && last > call)
			cr_assert(f->reg[v] == 0 || (f->reg[v] >= 6 && f->reg[v] <= 9),
				  "v%d lives across the call in r%d", v, f->reg[v]);
		spilled += f->reg[v] == 0 && f->slot[v] < 0;
	}
	cr_assert_geq(spilled, 2, "expected spills, got %d", spilled);
	cr_assert_leq(f->frame, 512);
}

/* Six values live at once with no call among them: r1-r4 and r6-r9 hold
 * them all, nothing goes to the frame. */
Test(native, values_no_call_separates_take_caller_saved_registers)
{
	NativeModule *nm = translate(
		"(program :xdp)\n"
		"(defn f [ctx :XdpMd] :u32\n"
		"  (let [a (. ctx :rx_queue_index) b (. ctx :ingress_ifindex)\n"
		"        c (. ctx :egress_ifindex) d (* a b) e (* b c) g (* a c)]\n"
		"    (+ (+ (+ a b) (+ c d)) (+ e g))))\n");
	cr_assert(nm, "%s", diags);
	IrFunc *f = nm->funcs[0];
	for (int v = 1; v <= f->nvregs; v++)
		cr_assert(f->reg[v] != 0 || f->slot[v] == 0, "v%d spilled", v);
	cr_assert_eq(count_code(nm, BPF_STX | BPF_MEM | BPF_DW), 0, "a spill store");
}

/* A constant stored to a map value is one BPF_ST; stored to the context,
 * where the verifier refuses BPF_ST, it goes through a register. */
Test(native, constant_stores_are_immediates_except_to_the_context)
{
	NativeModule *nm = translate("(program :tc)\n"
				     "(defglobal seen :u32)\n"
				     "(defn f [skb :SkBuff] :u32\n"
				     "  (do (set! seen 7) (set! (. skb :mark) 9) 0))\n");
	cr_assert(nm, "%s", diags);
	const struct bpf_insn *st = find_code(nm, BPF_ST | BPF_MEM | BPF_W);
	cr_assert(st, "no immediate store for the global");
	cr_assert_eq(st->imm, 7);
	cr_assert_eq(count_code(nm, BPF_ST | BPF_MEM | BPF_W), 1);
	const struct bpf_insn *stx = find_code(nm, BPF_STX | BPF_MEM | BPF_W);
	cr_assert(stx, "no register store for the mark");
	cr_assert_eq(stx->off, (int16_t)offsetof(struct __sk_buff, mark));
}

/* u8 arithmetic wraps at the operation (section 9): 200 + 100 keeps its
 * low 8 bits, so the sum is masked before the comparison. */
Test(native, narrow_arithmetic_is_masked)
{
	NativeModule *nm = translate("(program :xdp)\n"
				     "(defn f [ctx :XdpMd] :u32\n"
				     "  (if (== (+ (u8 (. ctx :rx_queue_index)) 200) 44) 1 2))\n");
	cr_assert(nm, "%s", diags);
	const struct bpf_insn *and = find_code(nm, BPF_ALU64 | BPF_AND | BPF_K);
	cr_assert(and, "no mask after the u8 addition");
	cr_assert_eq(and->imm, 0xff);
}

Test(native, offset_beyond_16_bits_is_refused_before_the_backends)
{
	/* A BPF memory instruction has a signed 16-bit offset: the checker
	 * refuses larger ones, so both backends see only what they can encode
	 * (native_lower.c keeps its own check as a second line). */
	const char *src = "(program :xdp)\n"
			  "(defn f [ctx :XdpMd] :u32\n"
			  "  (bpf/load_u32 (u64 (. ctx :data)) 40000))\n";
	FILE *out = diag_capture_begin(&diags, &diags_len);
	source = source_from("t.va", src, strlen(src));
	Module *m = frontend_run(&source);
	diag_capture_end(out);
	cr_assert_null(m);
	cr_assert(strstr(diags, "t.va:3:37: error: the offset of `bpf/load_u32` is out of range: use 0 to 32767"),
		  "%s", diags);
}

/* Issue 11: (bpf/be16 0x0800) compared with a load is the load compared
 * with the swapped constant, 8; no byte swap is left to read a register
 * before the constant is in it. */
Test(native, byte_swapped_constant_is_folded)
{
	NativeModule *nm = translate(
		"(program :xdp)\n"
		"(defn entry [ctx :XdpMd] :u32\n"
		"  (let [data (u64 (. ctx :data)) data_end (u64 (. ctx :data_end))]\n"
		"    (if (> (+ data 14) data_end) 1\n"
		"      (if (== (bpf/load_u16 data 12) (bpf/be16 0x0800)) 3 4))))\n");
	cr_assert(nm, "%s", diags);
	cr_assert_eq(count_code(nm, BPF_ALU | BPF_END | BPF_TO_BE), 0);
	const struct bpf_insn *jne = find_code(nm, BPF_JMP | BPF_JNE | BPF_K);
	cr_assert(jne && jne->imm == 8, "no compare with the swapped constant 8");
}

/* Issue 11: a constant condition leaves no code for the arm that cannot
 * run (the verifier refuses an unreachable instruction): one return. */
Test(native, constant_condition_leaves_one_arm)
{
	NativeModule *nm = translate("(program :xdp)\n"
				     "(defn f [ctx :XdpMd] :u32 (if true 2 1))\n");
	cr_assert(nm, "%s", diags);
	cr_assert_eq(nm->ncode[0], 2, "expected r0 = 2; exit, got %d instructions", nm->ncode[0]);
	cr_assert_eq(nm->code[0][0].imm, 2);
}

/* Arithmetic on constants is folded, with each type's wrap (an inlined
 * call's literal arguments: 250 + 10 as :u8 is 4), and a comparison of
 * the folded values decides its if: one store of 4, no ALU instruction
 * and no conditional jump left. */
Test(native, arithmetic_on_constants_is_folded)
{
	NativeModule *nm = translate("(program :xdp)\n"
				     "(defglobal g :u8)\n"
				     "(defn add8 [x :u8 y :u8] :u8 (+ x y))\n"
				     "(defn f [ctx :XdpMd] :u32\n"
				     "  (do (set! g (add8 250 10)) (if (< (add8 1 2) 3) 1 2)))\n");
	cr_assert(nm, "%s", diags);
	for (int i = 0; i < nm->ncode[0]; i++) {
		uint8_t code = nm->code[0][i].code, cls = BPF_CLASS(code);
		bool alu = (cls == BPF_ALU64 || cls == BPF_ALU) && BPF_OP(code) != BPF_MOV;
		bool branch = cls == BPF_JMP && BPF_OP(code) != BPF_CALL && BPF_OP(code) != BPF_EXIT;
		cr_assert(!alu && !branch,
			  "instruction %d computes at run time", i);
	}
	const struct bpf_insn *st = find_code(nm, BPF_ST | BPF_MEM | BPF_B);
	cr_assert(st && st->imm == 4, "no store of (u8 (+ 250 10)) = 4");
	const struct bpf_insn *ret = find_code(nm, BPF_ALU64 | BPF_MOV | BPF_K);
	cr_assert(ret && ret->imm == 2 && ret->dst_reg == BPF_REG_0, "no return of 2");
}

/* A comparison the operands' known bits decide leaves one arm: a u16
 * load is never above 70000, a value ORed with 1 never 2, x & 15 never
 * 31 - three returns of 1, so one `r0 = 1; exit` and no jump. */
Test(native, comparison_decided_by_known_bits_leaves_one_arm)
{
	NativeModule *nm = translate("(program :xdp)\n"
				     "(defn f [ctx :XdpMd] :u32\n"
				     "  (let [x (u64 (. ctx :rx_queue_index))]\n"
				     "    (if (> (u32 (u16 x)) 70000) 2\n"
				     "      (if (== (bor x 1) 2) 3\n"
				     "        (if (!= (band x 15) 31) 1 4)))))\n");
	cr_assert(nm, "%s", diags);
	for (int i = 0; i < nm->ncode[0]; i++) {
		uint8_t code = nm->code[0][i].code;
		cr_assert(!(BPF_CLASS(code) == BPF_JMP && BPF_OP(code) != BPF_EXIT), "instruction %d jumps", i);
	}
	cr_assert_eq(nm->ncode[0], 2, "expected r0 = 1; exit, got %d instructions", nm->ncode[0]);
}

/* A store to a global overwritten before anything can read it goes: over
 * a helper call (a helper reaches no global), not over a call of a
 * function (which may read it): 1 is never stored, 2 and 3 are. */
Test(native, overwritten_global_store_goes_except_over_a_function_call)
{
	NativeModule *nm = translate("(program :xdp)\n"
				     "(defglobal g :u32)\n"
				     "(defglobal seen :u32)\n"
				     "(extern bpf:ktime_get_ns [] :u64)\n"
				     "(defn look [] :u32 (do (set! seen g) (bpf/ktime_get_ns) (set! seen g) 0))\n"
				     "(defn f [ctx :XdpMd] :u32\n"
				     "  (do (set! g 1) (bpf/ktime_get_ns) (set! g 2) (look) (look) (set! g 3) 2))\n");
	cr_assert(nm, "%s", diags);
	bool stored[4] = { false };
	for (int i = 0; i < nm->ncode[0]; i++) {
		const struct bpf_insn *in = &nm->code[0][i];
		if (in->code == (BPF_ST | BPF_MEM | BPF_W) && in->imm >= 0 && in->imm < 4)
			stored[in->imm] = true;
	}
	cr_assert(!stored[1] && stored[2] && stored[3], "stores of 1, 2, 3: %d %d %d", stored[1], stored[2],
		  stored[3]);
}

/* A chain of + and * on one value and constants is made from the value
 * once: x * 7 + 11, one multiplication and one addition. */
Test(native, sums_of_products_of_one_value_are_reassociated)
{
	NativeModule *nm = translate("(program :raw_tracepoint \"sys_enter\")\n"
				     "(defn f [ctx :u64] :u32\n"
				     "  (let [x (bpf/load_u64 ctx 0)]\n"
				     "    (u32 (+ (* (+ x 1) 3) (* (+ x 2) 4)))))\n");
	cr_assert(nm, "%s", diags);
	cr_assert_eq(count_code(nm, BPF_ALU64 | BPF_MUL | BPF_K), 1);
	const struct bpf_insn *mul = find_code(nm, BPF_ALU64 | BPF_MUL | BPF_K);
	cr_assert_eq(mul->imm, 7);
	cr_assert_eq(count_code(nm, BPF_ALU64 | BPF_ADD | BPF_K), 1);
	cr_assert_eq(find_code(nm, BPF_ALU64 | BPF_ADD | BPF_K)->imm, 11);
}

/* A stack slot just stored is read from the register stored; the load
 * of another width reads memory, and a slot nothing reads is not
 * stored: one 8-byte store, one 4-byte load, no 8-byte load. */
Test(native, frame_slot_just_stored_is_read_from_the_register)
{
	NativeModule *nm = translate("(program :raw_tracepoint \"sys_enter\")\n"
				     "(defglobal g :u64)\n"
				     "(defn f [ctx :u64] :u32\n"
				     "  (do (bpf/stack_store_u64 -8 (bpf/load_u64 ctx 0))\n"
				     "      (bpf/stack_store_u64 -16 5)\n"
				     "      (set! g (bpf/stack_load_u64 -8))\n"
				     "      (bpf/stack_load_u32 -8)))\n");
	cr_assert(nm, "%s", diags);
	int frame_stores = 0, frame_loads8 = 0, frame_loads4 = 0;
	for (int i = 0; i < nm->ncode[0]; i++) {
		const struct bpf_insn *in = &nm->code[0][i];
		bool frame = BPF_CLASS(in->code) == BPF_LDX ? in->src_reg == BPF_REG_10 : in->dst_reg == BPF_REG_10;
		if (!frame)
			continue;
		frame_stores += BPF_CLASS(in->code) == BPF_STX || BPF_CLASS(in->code) == BPF_ST;
		frame_loads8 += in->code == (BPF_LDX | BPF_MEM | BPF_DW);
		frame_loads4 += in->code == (BPF_LDX | BPF_MEM | BPF_W);
	}
	cr_assert_eq(frame_stores, 1);
	cr_assert_eq(frame_loads8, 0);
	cr_assert_eq(frame_loads4, 1);
}

/* Bits the verifier does not know stay unused: a quotient of (len & 1)
 * is at most 1, but the verifier keeps no bound for a division, so the
 * mask bounding this cgroup_skb return to 0..1 stays
 * (tests/gen/verifier_bounds.va; clang drops it, and the verifier then
 * refuses clang's object). */
Test(native, mask_of_a_quotient_stays_for_the_verifier)
{
	NativeModule *nm = translate("(program :cgroup_skb \"ingress\")\n"
				     "(defn entry [ctx :SkBuff] :u32\n"
				     "  (band (div (band (. ctx :len) 1) (. ctx :ifindex)) 1))\n");
	cr_assert(nm, "%s", diags);
	int div = -1, mask_after = 0;
	for (int i = 0; i < nm->ncode[0]; i++) {
		const struct bpf_insn *in = &nm->code[0][i];
		if (in->code == (BPF_ALU64 | BPF_DIV | BPF_X))
			div = i;
		if (div >= 0 && in->code == (BPF_ALU64 | BPF_AND | BPF_K) && in->imm == 1)
			mask_after++;
	}
	cr_assert(div >= 0, "no division");
	cr_assert_eq(mask_after, 1, "the quotient's mask was left out");
}

/* What a quotient's and a remainder's bits are (LLVM's known bits of
 * udiv and urem, for BPF's x / 0 = 0 and x % 0 = x) makes a value all of
 * whose bits they know that constant, which the verifier knows exactly:
 * (len & 7) / y is at most len & 7, (len & 15) / (y | 8) at most 1,
 * (len & 3) % y at most len & 3 (y may be 0), so or 7 it is 7; nothing
 * is divided. */
Test(native, quotient_and_remainder_bits_make_a_constant)
{
	NativeModule *nm = translate("(program :cgroup_skb \"ingress\")\n"
				     "(defn entry [ctx :SkBuff] :u32\n"
				     "  (bor (bor (div (band (. ctx :len) 7) (. ctx :ifindex))\n"
				     "            (div (band (. ctx :len) 15) (bor (. ctx :ifindex) 8)))\n"
				     "       (bor (rem (band (. ctx :len) 3) (. ctx :ifindex)) 7)))\n");
	cr_assert(nm, "%s", diags);
	cr_assert_eq(count_code(nm, BPF_ALU64 | BPF_DIV | BPF_X), 0);
	cr_assert_eq(count_code(nm, BPF_ALU64 | BPF_MOD | BPF_X), 0);
	cr_assert_eq(nm->ncode[0], 2, "not r0 = 7; exit");
	cr_assert_eq(nm->code[0][0].imm, 7);
}

/* A remainder by a divisor that may be 0 is not below the divisor:
 * len % (y & 7) is len where y & 7 is 0, so or 7 it is not 7. */
Test(native, remainder_by_a_divisor_that_may_be_zero_stays)
{
	NativeModule *nm = translate("(program :cgroup_skb \"ingress\")\n"
				     "(defglobal r :u32)\n"
				     "(defn entry [ctx :SkBuff] :u32\n"
				     "  (do (set! r (bor (rem (. ctx :len) (band (. ctx :ifindex) 7)) 7)) 1))\n");
	cr_assert(nm, "%s", diags);
	cr_assert_eq(count_code(nm, BPF_ALU64 | BPF_MOD | BPF_X), 1);
}

/* Issue 11: a dropped tail_call result is not converted to its declared
 * type: nothing reads r0 after the call (the verifier: R0 !read_ok). */
Test(native, unread_helper_result_is_not_read)
{
	NativeModule *nm = translate("(program :xdp)\n"
				     "(defmap jumps :prog_array :u32 :u32 4)\n"
				     "(extern bpf:tail_call [:XdpMd :u64 :u32] :u32)\n"
				     "(defn f [ctx :XdpMd] :u32 (do (bpf/tail_call ctx jumps 0) 2))\n");
	cr_assert(nm, "%s", diags);
	for (int i = 0; i < nm->ncode[0]; i++) {
		const struct bpf_insn *in = &nm->code[0][i];
		cr_assert(!(BPF_SRC(in->code) == BPF_X && in->src_reg == 0 &&
			    (BPF_CLASS(in->code) == BPF_ALU64 || BPF_CLASS(in->code) == BPF_ALU)),
			  "instruction %d reads r0", i);
	}
}

/* The safety net: IR that reads a value no path sets (a lowering bug)
 * is an internal error at its line, and nothing is encoded. */
Test(native, read_before_set_is_an_internal_error)
{
	NativeModule *nm = translate("(program :xdp)\n"
				     "(defn f [ctx :XdpMd] :u32 2)\n");
	cr_assert(nm, "%s", diags);
	IrFunc *f = nm->funcs[0];
	f->len = 0;
	int v = ++f->nvregs;
	ir_emit(f, IR_RET)->a = (IrVal){ .vreg = v };
	FILE *out = diag_capture_begin(&diags, &diags_len);
	bool ok = native_tidy(f);
	diag_capture_end(out);
	cr_assert_not(ok);
	cr_assert(strstr(diags, "t.va:2:1: error: native backend: internal error in f: a value is "
				"read before it is set"),
		  "%s", diags);
}

/* Three frames of 200 bytes each fit BPF's 512 alone, not as a chain of
 * BPF-to-BPF calls (f and g are called twice: not inlined): the verifier
 * would refuse the object ("combined stack size of 3 calls is 624"), so
 * the backend says where instead of writing it. */
Test(native, call_chain_over_512_bytes_is_a_located_error)
{
	NativeModule *nm = translate(
		"(program :xdp)\n"
		"(extern bpf:ktime_get_ns [] :u64)\n"
		"(defn g [x :u64] :u64\n"
		"  (do (bpf/stack_store_u64 -200 (bpf/ktime_get_ns)) (+ x (bpf/stack_load_u64 -200))))\n"
		"(defn f [x :u64] :u64\n"
		"  (do (bpf/stack_store_u64 -200 x) (+ (g (bpf/stack_load_u64 -200)) (g x))))\n"
		"(defn entry [ctx :XdpMd] :u32\n"
		"  (do (bpf/stack_store_u64 -200 (bpf/ktime_get_ns))\n"
		"      (u32 (+ (f (bpf/stack_load_u64 -200)) (f 1)))))\n");
	cr_assert_null(nm);
	cr_assert(strstr(diags, "t.va:7:1: error: native backend: the calls entry (200) -> f (200) -> "
			 "g (200) need 624 bytes of stack, more than the 512 BPF allows a chain of calls"),
		  "%s", diags);
}
