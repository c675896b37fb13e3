/* native.h - the native backend: checked AST -> BPF bytecode -> ELF object,
 * without clang (DESIGN.md, "The native backend").
 *
 *   native_lower.c    typed AST -> IR on unlimited 64-bit virtual registers
 *   native_tidy.c     IR to IR: unreachable code and unread values removed,
 *                     copies coalesced, every read checked to be set
 *   native_regalloc.c linear-scan allocation of virtual registers to r6-r9,
 *                     spilling the rest to the frame
 *   native_encode.c   IR + allocation -> struct bpf_insn, jumps resolved
 *   native_elf.c      the relocatable object: sections, .BTF, .BTF.ext,
 *                     symbols, relocations (libelf + libbpf's BTF writer)
 *
 * Values are kept canonical in their 64-bit registers: every integer of
 * type T holds T's value zero- or sign-extended to 64 bits. So narrow
 * arithmetic wraps at every operation (LANGUAGE.md section 9: the result
 * the C backend gets by narrowing where high bits matter), widening casts
 * cost nothing and comparisons are plain 64-bit compares.
 */
#ifndef VBPF2C_NATIVE_H
#define VBPF2C_NATIVE_H

#include "vbpf2c.h"

#include <linux/bpf.h>

typedef enum IrOp {
	IR_MOV,         /* dst = a */
	IR_ALU,         /* dst = a <alu> b (64-bit); alu is BPF_ADD... */
	IR_ZEXT32,      /* dst = (u32)a: a 32-bit move */
	IR_END,         /* dst = byte swap of a to big endian, imm bits */
	IR_LOAD,        /* dst = *(size *)(a + off) */
	IR_STORE,       /* *(size *)(a + off) = b */
	IR_FRAME_STORE, /* *(size *)(r10 + off) = b */
	IR_FRAME_LOAD,  /* dst = *(size *)(r10 + off) */
	IR_FRAME_ADDR,  /* dst = r10 + off */
	IR_MAP,         /* dst = &map (LD_IMM64 pseudo map fd) */
	IR_GLOBAL,      /* dst = &global (LD_IMM64, libbpf makes it a map value) */
	IR_PARAM,       /* dst = argument register imm (0-based) */
	IR_CALL,        /* helper imm or function fn; args; dst = r0 if dst */
	IR_JA,          /* goto label */
	IR_JCC,         /* if (a <jcc> b) goto label; jcc is BPF_JEQ... */
	IR_LABEL,       /* label */
	IR_RET,         /* return a */
	IR_LINE,        /* the following instructions come from span */
	IR_NOP,         /* nothing (a copy coalesced away) */
} IrOp;

/* An operand: a virtual register (vreg > 0) or a 64-bit constant. A
 * helper's argument may also be an address made right in its argument
 * register (remat): a map's (imm = map index) or a frame slot's
 * (imm = r10 offset), which then occupies no register before the call. */
enum { REMAT_NONE, REMAT_MAP, REMAT_FRAME };
typedef struct IrVal {
	int vreg;
	int remat;
	int64_t imm;
	int bits;       /* a register's value is known below 2^bits (0:
	                 * nothing known), so a wrap to a type at least
	                 * that wide costs nothing (native_lower.c) */
} IrVal;

typedef struct IrInsn {
	IrOp op;
	int alu;        /* IR_ALU: BPF_ADD..; IR_JCC: BPF_JEQ.. */
	int dst;        /* vreg, 0 for none */
	IrVal a, b;
	int size;       /* IR_LOAD/STORE/FRAME_STORE: bytes */
	bool not_ctx;   /* IR_STORE: the base is not the context, so a
	                 * constant may be an immediate (BPF_ST), which the
	                 * verifier refuses for context stores */
	bool atomic_add; /* IR_STORE: lock *(size *)(a + off) += b (a map
	                  * value, never a global: map/incr!, LANGUAGE.md 10.7) */
	int off;        /* memory offset */
	int label;
	int64_t imm;
	int map;        /* IR_MAP: index into NativeModule.maps */
	int global;     /* IR_GLOBAL: index into NativeModule.globals */
	int fn;         /* IR_CALL: function index, or -1 for a helper */
	int c_fn;       /* IR_CALL: index into NativeModule.c_fns, or -1 */
	IrVal args[5];
	int nargs;
	Span span;      /* IR_LINE */
} IrInsn;

enum { REG_R0 = 11 };   /* IrFunc.reg's r0: 0 there means no register */

typedef struct IrFunc {
	FnDecl *decl;
	const char *name;
	IrInsn *insns;
	int len, cap;
	int nvregs;     /* vregs are 1..nvregs */
	int nlabels;
	int frame;      /* bytes of the frame the lowering used (copies) */
	/* register allocation: reg[v] is r1..r4 or r6..r9, REG_R0 for a
	 * call's result kept in r0, or 0 with slot[v] (a negative r10
	 * offset) for a spilled vreg */
	int *reg, *slot;
} IrFunc;

typedef struct NativeModule {
	const Module *m;
	IrFunc **funcs;          /* [0..nentries-1] are the entries: the
	                          * program's, or every defprog's (10.3) */
	int nentries;
	int nfuncs;
	bool has_entry;          /* false for a file without (program) or
	                          * defprog: every function then goes to .text */
	MapDecl **maps;          /* :extern ones too: undefined symbols */
	int nmaps;
	/* functions of hand-written C the program calls (extern c:): undefined
	 * symbols the static linker resolves */
	const ExternDecl **c_fns;
	int nc_fns;
	/* globals: section (GLOBAL_BSS...), offset in it, initial value */
	GlobalDecl **globals;
	int nglobals;
	int *global_sec, *global_off;
	int64_t *global_init;
	int sec_size[3];
	/* encoded code per function, filled by native_encode */
	struct bpf_insn **code;
	int *ncode;
	/* per function: calls (insn index, function index), map loads
	 * (insn index, map index) and lines (insn index, span) */
	Vec *relocs;             /* NativeReloc* */
	Vec *lines;              /* NativeLine* */
} NativeModule;

typedef struct NativeReloc {
	int insn;
	int fn;                  /* call target, or -1 */
	int c_fn;                /* call to a c: function, or -1 */
	int map;                 /* map load, or -1 */
	int global;              /* global's address, or -1 */
} NativeReloc;

/* Where globals live, as clang places the C backend's: zero-initialised
 * in .bss, initialised in .data, defconst (const volatile) in .rodata. */
enum { GLOBAL_BSS, GLOBAL_DATA, GLOBAL_RODATA };

typedef struct NativeLine {
	int insn;
	Span span;
} NativeLine;

/* native_lower.c: lowers every function reachable from the entry. Reports
 * "native backend does not support X yet" and returns NULL for what it
 * cannot translate. */
NativeModule *native_lower(const Module *m);
/* Appends an instruction. The pointer is good until the next ir_emit:
 * compute every operand (which may emit) before calling it. */
IrInsn *ir_emit(IrFunc *f, IrOp op);

/* native_tidy.c: false after reporting an internal error. */
bool native_tidy(IrFunc *f);
void native_drop_uncalled(NativeModule *nm);

/* native_regalloc.c */
bool native_regalloc(IrFunc *f);
/* false, after saying where, when a chain of calls needs more than the
 * verifier's 512 bytes of stack in all (run after native_regalloc) */
bool native_check_call_chains(const NativeModule *nm);

/* native_encode.c: fills nm->code, relocs and lines. */
bool native_encode(NativeModule *nm);

/* native_elf.c: writes the object; false after reporting why. */
bool native_write_elf(NativeModule *nm, const char *license, const char *path);

/* Lowered, tidied, allocated and encoded: the object's contents, or NULL
 * after reporting why. */
NativeModule *native_build(const Module *m);

/* The whole backend: native_build, then write. */
bool native_compile(const Module *m, const char *license, const char *path);

#endif
