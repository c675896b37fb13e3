/* disasm.c - BPF instructions as llvm-objdump prints them.
 *
 * `vbpf2c --emit=asm` shows either backend's object in the syntax of
 * `llvm-objdump -d -r --no-show-raw-insn` (llvm 14, the version the
 * Makefile installs), so the clang and the native object read side by
 * side, and tests/asm.sh compares the two tools byte for byte.
 *
 * Two halves:
 *   decoding   one instruction -> text, as llvm 14's BPF decoder and
 *              printer do: which encodings decode (the opcode, and the
 *              fields an encoding pins: a register number above r11, an
 *              exit with an immediate, a byte swap of width 8 are
 *              `<unknown>`), and the asm strings of BPFInstrInfo.td.
 *   layout     llvm-objdump around it: executable sections, one label per
 *              symbol (the last name at an address), runs of zero bytes
 *              as "...", branch targets named after the nearest symbol,
 *              relocations under the instruction they patch.
 *
 * Two instructions llvm 14 does not know but the kernel runs are printed
 * the way later llvm versions print them: BPF_MOD ("r1 %= r2", which the
 * native backend emits for unsigned remainders) and BPF_ST ("*(u32 *)(r10
 * - 4) = 7"). llvm-objdump 14 prints `<unknown>` for both; the test accepts
 * exactly these lines there.
 */
#include <elf.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "disasm.h"

#ifndef R_BPF_64_32
#define R_BPF_64_32 10
#endif

/* ---- decoding ----------------------------------------------------------- */

/* The fields of one 8-byte instruction slot. */
typedef struct Slot {
	uint8_t code, dst, src;
	int16_t off;
	int32_t imm;
} Slot;

/* llvm numbers BPF registers r0-r11; a field above that does not decode. */
enum { MAX_REG = 11 };

/* Arithmetic: BPF_OP -> operator. llvm 14 has no BPF_MOD (ext: printed
 * as later llvm does); BPF_NEG and BPF_END have their own syntax. */
static const struct {
	uint8_t op;
	const char *text;
	bool ext;
} alu_ops[] = {
	{ BPF_ADD, "+=", false }, { BPF_SUB, "-=", false },   { BPF_MUL, "*=", false },
	{ BPF_DIV, "/=", false }, { BPF_OR, "|=", false },    { BPF_AND, "&=", false },
	{ BPF_LSH, "<<=", false }, { BPF_RSH, ">>=", false }, { BPF_XOR, "^=", false },
	{ BPF_MOV, "=", false },  { BPF_ARSH, "s>>=", false }, { BPF_MOD, "%=", true },
};

/* Conditional jumps: BPF_OP -> comparison. llvm 14 has no BPF_JSET. */
static const struct {
	uint8_t op;
	const char *text;
} jmp_ops[] = {
	{ BPF_JEQ, "==" },  { BPF_JNE, "!=" },  { BPF_JGT, ">" },   { BPF_JGE, ">=" },
	{ BPF_JLT, "<" },   { BPF_JLE, "<=" },  { BPF_JSGT, "s>" }, { BPF_JSGE, "s>=" },
	{ BPF_JSLT, "s<" }, { BPF_JSLE, "s<=" },
};

/* Atomic read-modify-writes of 64 bits, by the immediate's low byte:
 * the first entry whose masked byte matches wins (llvm's decoder prefers
 * the fetching forms, which pin all eight bits, to the plain ones, which
 * pin the operation's four). %m is the memory operand, %s the source
 * register. 32-bit atomics other than add exist only in llvm's alu32 mode,
 * which llvm-objdump does not use. */
static const struct {
	uint8_t mask, value;
	const char *text;
} atomic64_ops[] = {
	{ 0xff, BPF_ADD | BPF_FETCH, "%s = atomic_fetch_add((u64 *)(%m), %s)" },
	{ 0xff, BPF_OR | BPF_FETCH, "%s = atomic_fetch_or((u64 *)(%m), %s)" },
	{ 0xff, BPF_AND | BPF_FETCH, "%s = atomic_fetch_and((u64 *)(%m), %s)" },
	{ 0xff, BPF_XOR | BPF_FETCH, "%s = atomic_fetch_xor((u64 *)(%m), %s)" },
	{ 0xff, BPF_XCHG, "%s = xchg_64(%m, %s)" },
	{ 0xff, BPF_CMPXCHG, "r0 = cmpxchg_64(%m, r0, %s)" },
	{ 0xf0, BPF_ADD, "lock *(u64 *)(%m) += %s" },
	{ 0xf0, BPF_OR, "lock *(u64 *)(%m) |= %s" },
	{ 0xf0, BPF_AND, "lock *(u64 *)(%m) &= %s" },
	{ 0xf0, BPF_XOR, "lock *(u64 *)(%m) ^= %s" },
};

/* BPF_SIZE -> the type in a memory operand. */
static const char *size_name(uint8_t code)
{
	switch (BPF_SIZE(code)) {
	case BPF_W:
		return "u32";
	case BPF_H:
		return "u16";
	case BPF_B:
		return "u8";
	default:
		return "u64";
	}
}

static Slot slot_at(const uint8_t *p)
{
	Slot s;
	s.code = p[0];
	s.dst = p[1] & 0x0f;
	s.src = p[1] >> 4;
	s.off = (int16_t)(uint16_t)(p[2] | p[3] << 8);
	s.imm = (int32_t)((uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
			  (uint32_t)p[7] << 24);
	return s;
}

/* A decoded instruction. */
typedef struct Decoded {
	char text[128];
	int size;            /* bytes: 8, or 16 for a 64-bit immediate load */
	bool branch;         /* a jump: target printed after the text */
	int16_t branch_off;
} Decoded;

/* Expands a template: %d/%s registers dst/src as rN, %D/%S as wN, %i the
 * immediate, %m the memory operand based on dst ("r1 - 8"), %M based on
 * src, %z the access size, %j the jump offset ("+3", "-8"), %o the
 * operator op ("+=", "s>", "be16"). */
static void expand(Decoded *d, const char *tmpl, const Slot *s, const char *op)
{
	char *out = d->text, *end = d->text + sizeof(d->text);
	for (const char *t = tmpl; *t && out < end - 1; t++) {
		if (*t != '%') {
			*out++ = *t;
			continue;
		}
		size_t room = (size_t)(end - out);
		int n = 0;
		int off = s->off;
		switch (*++t) {
		case 'd':
			n = snprintf(out, room, "r%d", s->dst);
			break;
		case 's':
			n = snprintf(out, room, "r%d", s->src);
			break;
		case 'D':
			n = snprintf(out, room, "w%d", s->dst);
			break;
		case 'S':
			n = snprintf(out, room, "w%d", s->src);
			break;
		case 'i':
			n = snprintf(out, room, "%" PRId32, s->imm);
			break;
		case 'm':
		case 'M':
			n = snprintf(out, room, "r%d %c %d", *t == 'm' ? s->dst : s->src,
				     off < 0 ? '-' : '+', off < 0 ? -off : off);
			break;
		case 'z':
			n = snprintf(out, room, "%s", size_name(s->code));
			break;
		case 'j':
			n = snprintf(out, room, "%s%d", off >= 0 ? "+" : "", off);
			break;
		case 'o':
			n = snprintf(out, room, "%s", op);
			break;
		default:
			n = 0;
			break;
		}
		out += n > 0 && (size_t)n < room ? n : 0;
	}
	*out = '\0';
}

static bool reg_ok(int r)
{
	return r <= MAX_REG;
}

static bool decode_alu(const Slot *s, Decoded *d)
{
	bool is64 = BPF_CLASS(s->code) == BPF_ALU64;
	bool reg = BPF_SRC(s->code) == BPF_X;
	uint8_t op = BPF_OP(s->code);
	/* NEG and END name dst only; BPF_X is END's "to big endian" bit. */
	if (!reg_ok(s->dst) || (reg && op != BPF_END && !reg_ok(s->src)))
		return false;
	if (op == BPF_NEG) {
		if (reg)
			return false;
		expand(d, is64 ? "%d = -%d" : "%D = -%D", s, NULL);
		return true;
	}
	if (op == BPF_END) {
		/* Only the ALU class: BPF_ALU64 | BPF_END is cpu v4's bswap. */
		if (is64 || (s->imm != 16 && s->imm != 32 && s->imm != 64))
			return false;
		char op_text[8];
		snprintf(op_text, sizeof(op_text), "%s%" PRId32, reg ? "be" : "le", s->imm);
		expand(d, "%d = %o %d", s, op_text);
		return true;
	}
	for (size_t i = 0; i < sizeof(alu_ops) / sizeof(alu_ops[0]); i++) {
		if (alu_ops[i].op != op)
			continue;
		/* BPF_MOD with an offset is cpu v4's signed remainder. */
		if (alu_ops[i].ext && s->off != 0)
			return false;
		const char *tmpl = !reg ? (is64 ? "%d %o %i" : "%D %o %i")
					: (is64 ? "%d %o %s" : "%D %o %S");
		expand(d, tmpl, s, alu_ops[i].text);
		return true;
	}
	return false;
}

static bool decode_jmp(const Slot *s, Decoded *d)
{
	bool is32 = BPF_CLASS(s->code) == BPF_JMP32;
	bool reg = BPF_SRC(s->code) == BPF_X;
	uint8_t op = BPF_OP(s->code);
	if (s->code == (BPF_JMP | BPF_JA)) {
		expand(d, "goto %j", s, NULL);
		d->branch = true;
		return true;
	}
	if (s->code == (BPF_JMP | BPF_CALL)) {
		expand(d, "call %i", s, NULL);
		return true;
	}
	if (s->code == (BPF_JMP | BPF_CALL | BPF_X)) {
		/* llvm 14 reads callx's register from the immediate. */
		if (s->imm < 0 || s->imm > MAX_REG)
			return false;
		snprintf(d->text, sizeof(d->text), "callx r%" PRId32, s->imm);
		return true;
	}
	if (s->code == (BPF_JMP | BPF_EXIT)) {
		if (s->imm != 0)
			return false;
		expand(d, "exit", s, NULL);
		return true;
	}
	if (!reg_ok(s->dst) || (reg && !reg_ok(s->src)))
		return false;
	for (size_t i = 0; i < sizeof(jmp_ops) / sizeof(jmp_ops[0]); i++) {
		if (jmp_ops[i].op != op)
			continue;
		const char *tmpl = !reg ? (is32 ? "if %D %o %i goto %j" : "if %d %o %i goto %j")
					: (is32 ? "if %D %o %S goto %j" : "if %d %o %s goto %j");
		expand(d, tmpl, s, jmp_ops[i].text);
		d->branch = true;
		return true;
	}
	return false;
}

static bool decode_load_store(const Slot *s, Decoded *d)
{
	uint8_t mode = BPF_MODE(s->code);
	switch (BPF_CLASS(s->code)) {
	case BPF_LDX:
		if (mode != BPF_MEM || !reg_ok(s->dst) || !reg_ok(s->src))
			return false;
		expand(d, "%d = *(%z *)(%M)", s, NULL);
		return true;
	case BPF_ST:
		/* ext: llvm 14 has no store of an immediate. */
		if (mode != BPF_MEM || !reg_ok(s->dst) || s->src != 0)
			return false;
		expand(d, "*(%z *)(%m) = %i", s, NULL);
		return true;
	case BPF_STX:
		if (!reg_ok(s->dst) || !reg_ok(s->src))
			return false;
		if (mode == BPF_MEM) {
			expand(d, "*(%z *)(%m) = %s", s, NULL);
			return true;
		}
		if (mode != BPF_ATOMIC)
			return false;
		if (BPF_SIZE(s->code) == BPF_W) {
			if ((s->imm & 0xf0) != BPF_ADD)
				return false;
			expand(d, "lock *(u32 *)(%m) += %s", s, NULL);
			return true;
		}
		if (BPF_SIZE(s->code) != BPF_DW)
			return false;
		for (size_t i = 0; i < sizeof(atomic64_ops) / sizeof(atomic64_ops[0]); i++) {
			if ((s->imm & atomic64_ops[i].mask) == atomic64_ops[i].value) {
				expand(d, atomic64_ops[i].text, s, NULL);
				return true;
			}
		}
		return false;
	default: /* BPF_LD: the legacy packet loads; LD_IMM64 is decoded apart */
		if (BPF_SIZE(s->code) == BPF_DW)
			return false;
		if (mode == BPF_ABS) {
			expand(d, "r0 = *(%z *)skb[%i]", s, NULL);
			return true;
		}
		if (mode == BPF_IND && reg_ok(s->src)) {
			expand(d, "r0 = *(%z *)skb[%s]", s, NULL);
			return true;
		}
		return false;
	}
}

/* Decodes the instruction at p, avail bytes before the section's end.
 * false: llvm-objdump's `<unknown>`; d->size is still set (8, or 0 when
 * fewer bytes are left than the instruction needs). */
static bool decode(const uint8_t *p, uint64_t avail, Decoded *d)
{
	memset(d, 0, sizeof(*d));
	if (avail < 8)
		return false;
	d->size = 8;
	Slot s = slot_at(p);
	if (s.code == (BPF_LD | BPF_IMM | BPF_DW)) {
		if (s.off != 0 || !reg_ok(s.dst))
			return false;
		if (avail < 16) {
			d->size = 0;
			return false;
		}
		d->size = 16;
		/* llvm 14 merges the second slot's immediate into the value of
		 * `r = imm ll` only; ld_pseudo shows the first's, unsigned. */
		uint64_t hi = (uint32_t)slot_at(p + 8).imm;
		int64_t value = (int64_t)(hi << 32 | (uint32_t)s.imm);
		if (s.src == 0)
			snprintf(d->text, sizeof(d->text), "r%d = %" PRId64 " ll", s.dst, value);
		else
			snprintf(d->text, sizeof(d->text), "ld_pseudo\tr%d, %d, %" PRIu32, s.dst,
				 s.src, (uint32_t)s.imm);
		return true;
	}
	switch (BPF_CLASS(s.code)) {
	case BPF_ALU:
	case BPF_ALU64:
		return decode_alu(&s, d);
	case BPF_JMP:
	case BPF_JMP32:
		if (decode_jmp(&s, d)) {
			d->branch_off = s.off;
			return true;
		}
		return false;
	default:
		return decode_load_store(&s, d);
	}
}

/* ---- layout -------------------------------------------------------------- */

/* A label of a section: llvm-objdump's view of the symbol table. */
typedef struct Label {
	uint64_t addr;
	const char *name;
} Label;

static int label_cmp(const void *a, const void *b)
{
	const Label *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The section's labels sorted by address then name: every named symbol
 * defined in it except section symbols, and the section's own name at its
 * start when no symbol is there. */
static Label *section_labels(const ObjFile *obj, int shndx, int *count)
{
	const ObjSection *sec = &obj->secs[shndx];
	Label *labels = arena_alloc(sizeof(Label) * (size_t)(obj->nsyms + 1));
	int n = 0;
	for (int i = 1; i < obj->nsyms; i++) {
		const ObjSymbol *sym = &obj->syms[i];
		if (sym->shndx != shndx || sym->type == STT_SECTION || !*sym->name)
			continue;
		labels[n].addr = sym->value;
		labels[n].name = sym->name;
		n++;
	}
	qsort(labels, (size_t)n, sizeof(Label), label_cmp);
	if (n == 0 || labels[0].addr != sec->addr) {
		memmove(labels + 1, labels, sizeof(Label) * (size_t)n);
		labels[0].addr = sec->addr;
		labels[0].name = sec->name;
		n++;
	}
	*count = n;
	return labels;
}

static const char *reloc_type_name(uint32_t type)
{
	static const char *const names[] = {
		[0] = "R_BPF_NONE",         [1] = "R_BPF_64_64",
		[2] = "R_BPF_64_ABS64",     [3] = "R_BPF_64_ABS32",
		[4] = "R_BPF_64_NODYLD32",  [R_BPF_64_32] = "R_BPF_64_32",
	};
	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "Unknown";
}

static void print_reloc(const ObjFile *obj, const ObjSection *sec, const ObjReloc *r, StrBuf *out)
{
	sb_printf(out, "\t\t%016" PRIx64 ":  %s\t", sec->addr + r->offset, reloc_type_name(r->type));
	if (r->sym == 0)
		sb_puts(out, "*ABS*");
	else
		sb_puts(out, obj->syms[r->sym].name);
	if (r->addend)
		sb_printf(out, "%c0x%" PRIx64, r->addend < 0 ? '-' : '+',
			  r->addend < 0 ? -(uint64_t)r->addend : (uint64_t)r->addend);
	sb_putc(out, '\n');
}

/* Zero bytes llvm-objdump skips at the start of buf: a run of at least 8,
 * in multiples of 4. */
static uint64_t skippable_zeroes(const uint8_t *buf, uint64_t len)
{
	uint64_t n = 0;
	while (n < len && !buf[n])
		n++;
	return n < 8 ? 0 : n & ~(uint64_t)3;
}

static void disasm_section(const ObjFile *obj, int shndx, StrBuf *out)
{
	const ObjSection *sec = &obj->secs[shndx];
	int nlabels;
	Label *labels = section_labels(obj, shndx, &nlabels);
	int rel = 0;

	sb_printf(out, "\nDisassembly of section %s:\n", sec->name);
	for (int li = 0; li < nlabels; li++) {
		uint64_t start = labels[li].addr, end = sec->addr + sec->size;
		if (start < sec->addr)
			continue;
		if (li + 1 < nlabels && labels[li + 1].addr < end)
			end = labels[li + 1].addr;
		/* Of several labels at one address, only the last has a range. */
		if (start >= end)
			continue;
		sb_printf(out, "\n%016" PRIx64 " <%s>:\n", start, labels[li].name);
		start -= sec->addr;
		end -= sec->addr;
		for (uint64_t index = start; index < end;) {
			uint64_t max = end - index;
			if (rel < sec->nrelocs && sec->relocs[rel].offset - index < max)
				max = sec->relocs[rel].offset - index;
			uint64_t zeroes = skippable_zeroes(sec->data + index, max);
			if (zeroes) {
				sb_puts(out, "\t\t...\n");
				index += zeroes;
				continue;
			}

			Decoded d;
			bool ok = decode(sec->data + index, sec->size - index, &d);
			uint64_t size = d.size ? (uint64_t)d.size : 1;
			uint64_t addr = sec->addr + index;
			sb_printf(out, "%8" PRId64 ":\t%s", (int64_t)addr / 8, ok ? d.text : "<unknown>");
			if (ok && d.branch) {
				/* The target, named after the last label at or before it
				 * (addresses wrap as llvm's uint64_t arithmetic does). */
				uint64_t target = addr + 8 + (uint64_t)(int64_t)d.branch_off * 8;
				int k = nlabels;
				while (k > 0 && labels[k - 1].addr > target)
					k--;
				if (k > 0) {
					sb_printf(out, " <%s", labels[k - 1].name);
					if (target != labels[k - 1].addr)
						sb_printf(out, "+0x%" PRIx64, target - labels[k - 1].addr);
					sb_putc(out, '>');
				}
			}
			sb_putc(out, '\n');
			for (; rel < sec->nrelocs && sec->relocs[rel].offset < index + size; rel++)
				print_reloc(obj, sec, &sec->relocs[rel], out);
			index += size;
		}
	}
}

void disasm_object(const ObjFile *obj, const char *file_name, StrBuf *out)
{
	sb_printf(out, "\n%s:\tfile format elf64-bpf\n", file_name);
	for (int i = 1; i < obj->nsecs; i++) {
		const ObjSection *sec = &obj->secs[i];
		if ((sec->flags & SHF_EXECINSTR) && sec->data && sec->size > 0)
			disasm_section(obj, i, out);
	}
}
