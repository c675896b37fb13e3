/* disasm.h - reading BPF objects back: the ELF reader (elf_read.c) and the
 * disassembler that prints them as llvm-objdump does (disasm.c).
 *
 * Both work on an object in memory, whichever backend wrote it, and need
 * neither libelf nor libbpf: they are part of the translator library.
 */
#ifndef VBPF2C_DISASM_H
#define VBPF2C_DISASM_H

#include "vbpf2c.h"

/* ---- ELF reader (elf_read.c) ------------------------------------------- */

typedef struct ObjReloc {
	uint64_t offset;        /* in the section it applies to */
	uint32_t type;          /* R_BPF_64_64, R_BPF_64_32, ... */
	uint32_t sym;           /* symbol index, 0 for none */
	int64_t addend;         /* SHT_RELA only; BPF objects use SHT_REL */
} ObjReloc;

typedef struct ObjSection {
	const char *name;
	uint32_t type;          /* SHT_PROGBITS, ... */
	uint64_t flags;         /* SHF_EXECINSTR marks code */
	uint64_t addr, size;
	const uint8_t *data;    /* NULL for SHT_NOBITS */
	ObjReloc *relocs;       /* of every SHT_REL/SHT_RELA section whose
	                         * sh_info names this one, sorted by offset */
	int nrelocs;
} ObjSection;

typedef struct ObjSymbol {
	const char *name;       /* a section symbol without a name gets its
	                         * section's, as llvm-objdump names it */
	uint64_t value, size;
	uint16_t shndx;
	uint8_t type, bind;     /* STT_*, STB_* */
} ObjSymbol;

typedef struct ObjFile {
	ObjSection *secs;       /* [0] is the null section */
	int nsecs;
	ObjSymbol *syms;        /* [0] is the null symbol */
	int nsyms;
} ObjFile;

/* Parses a 64-bit little-endian EM_BPF relocatable object held in data
 * (which must outlive obj: sections point into it). Arena-allocated. On a
 * malformed or foreign file returns false with a sentence in why. */
bool obj_read(const void *data, size_t size, ObjFile *obj, char *why, size_t why_size);

/* Does data start like an ELF file? */
bool obj_is_elf(const void *data, size_t size);

/* A function of the object: an STT_FUNC symbol in an executable section. */
typedef struct ObjFunc {
	const char *name;
	const char *section;
	int shndx;
	uint64_t offset;
	int insns;              /* 8-byte slots, as the kernel counts them: a
	                         * 64-bit immediate load takes two */
} ObjFunc;

/* The object's functions in section then address order; arena array. */
int obj_functions(const ObjFile *obj, ObjFunc **funcs);

/* ---- disassembler (disasm.c) ------------------------------------------- */

/* Appends what `llvm-objdump -d -r --no-show-raw-insn FILE_NAME` prints
 * for obj: the file line, every executable section, a label per symbol,
 * one line per instruction with the branch targets named, and the
 * relocations under the instructions they patch. Instructions llvm-objdump
 * 14 cannot decode print as `<unknown>`, as it does, except BPF_MOD and
 * BPF_ST, printed as later llvm versions print them (docs/native.md). */
void disasm_object(const ObjFile *obj, const char *file_name, StrBuf *out);

#endif
