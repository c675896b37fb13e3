/* elf_read.c - a BPF relocatable object, read back from memory: its
 * sections, symbols and relocations, for the disassembler (disasm.c) and
 * `vbpf2c --compare` (cmd_compare.c).
 *
 * Written against <elf.h> rather than libelf so that it stays in the
 * translator library, which the fuzzer links without libelf. Every field
 * is decoded little-endian byte by byte, so the reader works on any host,
 * and every offset, size and index is checked against the file: the input
 * may be any file the user names.
 */
#include <elf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "disasm.h"

#ifndef EM_BPF
#define EM_BPF 247
#endif

/* A little-endian field of an ELF structure at p. */
static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}
#define FIELD(p, type, member) le((p) + offsetof(type, member), sizeof(((type *)0)->member))

bool obj_is_elf(const void *data, size_t size)
{
	return size >= SELFMAG && memcmp(data, ELFMAG, SELFMAG) == 0;
}

/* Is [off, off + len) inside a file of size bytes? */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

/* The NUL-terminated string at offset off of a string table, or NULL. */
static const char *table_string(const ObjSection *strtab, uint64_t off)
{
	if (!strtab || !strtab->data || off >= strtab->size)
		return NULL;
	const char *s = (const char *)strtab->data + off;
	return memchr(s, '\0', strtab->size - off) ? s : NULL;
}

static bool fail(char *why, size_t why_size, const char *msg)
{
	snprintf(why, why_size, "%s", msg);
	return false;
}

/* llvm-objdump lists relocations by offset, keeping the file's order
 * between equal offsets: the index breaks ties so qsort is stable. */
typedef struct IndexedReloc {
	ObjReloc r;
	int index;
} IndexedReloc;

static int reloc_cmp(const void *a, const void *b)
{
	const IndexedReloc *x = a, *y = b;
	if (x->r.offset != y->r.offset)
		return x->r.offset < y->r.offset ? -1 : 1;
	return x->index - y->index;
}

static bool read_sections(const uint8_t *p, size_t size, ObjFile *obj, char *why, size_t why_size)
{
	uint64_t shoff = FIELD(p, Elf64_Ehdr, e_shoff);
	uint64_t shentsize = FIELD(p, Elf64_Ehdr, e_shentsize);
	uint64_t shnum = FIELD(p, Elf64_Ehdr, e_shnum);
	uint64_t shstrndx = FIELD(p, Elf64_Ehdr, e_shstrndx);
	if (shoff == 0)
		return fail(why, why_size, "the object has no section headers");
	if (shentsize != sizeof(Elf64_Shdr) || !in_file(shoff, sizeof(Elf64_Shdr), size))
		return fail(why, why_size, "malformed section header table");
	/* Extended numbering: the real counts live in section 0. */
	if (shnum == 0)
		shnum = FIELD(p + shoff, Elf64_Shdr, sh_size);
	if (shstrndx == SHN_XINDEX)
		shstrndx = FIELD(p + shoff, Elf64_Shdr, sh_link);
	if (shnum > (size - shoff) / sizeof(Elf64_Shdr) || shstrndx >= shnum)
		return fail(why, why_size, "malformed section header table");

	obj->nsecs = (int)shnum;
	obj->secs = arena_alloc(sizeof(ObjSection) * shnum);
	for (uint64_t i = 0; i < shnum; i++) {
		const uint8_t *sh = p + shoff + i * sizeof(Elf64_Shdr);
		ObjSection *s = &obj->secs[i];
		s->type = (uint32_t)FIELD(sh, Elf64_Shdr, sh_type);
		s->flags = FIELD(sh, Elf64_Shdr, sh_flags);
		s->addr = FIELD(sh, Elf64_Shdr, sh_addr);
		s->size = FIELD(sh, Elf64_Shdr, sh_size);
		uint64_t off = FIELD(sh, Elf64_Shdr, sh_offset);
		if (s->type != SHT_NOBITS && s->type != SHT_NULL) {
			if (!in_file(off, s->size, size))
				return fail(why, why_size, "a section lies outside the file");
			s->data = p + off;
		}
	}
	for (uint64_t i = 0; i < shnum; i++) {
		const uint8_t *sh = p + shoff + i * sizeof(Elf64_Shdr);
		const char *name = table_string(&obj->secs[shstrndx], FIELD(sh, Elf64_Shdr, sh_name));
		if (!name)
			return fail(why, why_size, "a section name lies outside the section names");
		obj->secs[i].name = name;
	}
	return true;
}

static bool read_symbols(const uint8_t *p, ObjFile *obj, char *why, size_t why_size)
{
	const uint8_t *sh = NULL;
	const ObjSection *symtab = NULL;
	uint64_t shoff = FIELD(p, Elf64_Ehdr, e_shoff);
	for (int i = 0; i < obj->nsecs && !symtab; i++) {
		if (obj->secs[i].type == SHT_SYMTAB) {
			symtab = &obj->secs[i];
			sh = p + shoff + (uint64_t)i * sizeof(Elf64_Shdr);
		}
	}
	if (!symtab) {
		obj->syms = arena_alloc(sizeof(ObjSymbol));
		obj->nsyms = 1;
		return true;
	}
	uint64_t link = FIELD(sh, Elf64_Shdr, sh_link);
	if (link >= (uint64_t)obj->nsecs)
		return fail(why, why_size, "the symbol table names no string table");
	const ObjSection *strtab = &obj->secs[link];
	uint64_t n = symtab->size / sizeof(Elf64_Sym);
	if (n == 0)
		n = 1;
	obj->nsyms = (int)n;
	obj->syms = arena_alloc(sizeof(ObjSymbol) * n);
	for (uint64_t i = 0; i < symtab->size / sizeof(Elf64_Sym); i++) {
		const uint8_t *st = symtab->data + i * sizeof(Elf64_Sym);
		ObjSymbol *sym = &obj->syms[i];
		uint64_t info = FIELD(st, Elf64_Sym, st_info);
		sym->type = (uint8_t)ELF64_ST_TYPE(info);
		sym->bind = (uint8_t)ELF64_ST_BIND(info);
		sym->shndx = (uint16_t)FIELD(st, Elf64_Sym, st_shndx);
		sym->value = FIELD(st, Elf64_Sym, st_value);
		sym->size = FIELD(st, Elf64_Sym, st_size);
		sym->name = table_string(strtab, FIELD(st, Elf64_Sym, st_name));
		if (!sym->name)
			return fail(why, why_size, "a symbol name lies outside the string table");
		if (!*sym->name && sym->type == STT_SECTION && sym->shndx < obj->nsecs)
			sym->name = obj->secs[sym->shndx].name;
	}
	return true;
}

static bool read_relocations(const uint8_t *p, ObjFile *obj, char *why, size_t why_size)
{
	uint64_t shoff = FIELD(p, Elf64_Ehdr, e_shoff);
	/* Count first, so each section gets one array. */
	int *counts = arena_alloc(sizeof(int) * (size_t)obj->nsecs);
	IndexedReloc **sorted = arena_alloc(sizeof(IndexedReloc *) * (size_t)obj->nsecs);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < obj->nsecs; i++) {
			const ObjSection *rs = &obj->secs[i];
			if (rs->type != SHT_REL && rs->type != SHT_RELA)
				continue;
			const uint8_t *sh = p + shoff + (uint64_t)i * sizeof(Elf64_Shdr);
			uint64_t target = FIELD(sh, Elf64_Shdr, sh_info);
			if (target == 0 || target >= (uint64_t)obj->nsecs)
				continue;
			bool rela = rs->type == SHT_RELA;
			size_t entsize = rela ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel);
			uint64_t n = rs->size / entsize;
			if (pass == 0) {
				if (n > (uint64_t)(INT32_MAX - counts[target]))
					return fail(why, why_size, "too many relocations");
				counts[target] += (int)n;
				continue;
			}
			ObjSection *s = &obj->secs[target];
			for (uint64_t k = 0; k < n; k++) {
				const uint8_t *e = rs->data + k * entsize;
				IndexedReloc *r = &sorted[target][s->nrelocs];
				uint64_t info = FIELD(e, Elf64_Rel, r_info);
				r->r.offset = FIELD(e, Elf64_Rel, r_offset);
				r->r.type = (uint32_t)ELF64_R_TYPE(info);
				r->r.sym = (uint32_t)ELF64_R_SYM(info);
				r->r.addend = rela ? (int64_t)FIELD(e, Elf64_Rela, r_addend) : 0;
				r->index = s->nrelocs++;
				if (r->r.sym >= (uint32_t)obj->nsyms)
					return fail(why, why_size, "a relocation names a missing symbol");
			}
		}
		for (int i = 0; pass == 0 && i < obj->nsecs; i++)
			if (counts[i])
				sorted[i] = arena_alloc(sizeof(IndexedReloc) * (size_t)counts[i]);
	}
	for (int i = 0; i < obj->nsecs; i++) {
		ObjSection *s = &obj->secs[i];
		if (!s->nrelocs)
			continue;
		qsort(sorted[i], (size_t)s->nrelocs, sizeof(IndexedReloc), reloc_cmp);
		s->relocs = arena_alloc(sizeof(ObjReloc) * (size_t)s->nrelocs);
		for (int k = 0; k < s->nrelocs; k++)
			s->relocs[k] = sorted[i][k].r;
	}
	return true;
}

bool obj_read(const void *data, size_t size, ObjFile *obj, char *why, size_t why_size)
{
	const uint8_t *p = data;
	memset(obj, 0, sizeof(*obj));
	if (!obj_is_elf(data, size) || size < sizeof(Elf64_Ehdr))
		return fail(why, why_size, "not an ELF file");
	if (p[EI_CLASS] != ELFCLASS64)
		return fail(why, why_size, "not a 64-bit ELF file");
	if (p[EI_DATA] != ELFDATA2LSB)
		return fail(why, why_size, "a big-endian object (only little-endian BPF is read)");
	if (FIELD(p, Elf64_Ehdr, e_machine) != EM_BPF)
		return fail(why, why_size, "not a BPF object (ELF machine is not EM_BPF)");
	return read_sections(p, size, obj, why, why_size) &&
	       read_symbols(p, obj, why, why_size) &&
	       read_relocations(p, obj, why, why_size);
}

/* ---- functions ---------------------------------------------------------- */

static int func_cmp(const void *a, const void *b)
{
	const ObjFunc *x = a, *y = b;
	if (x->shndx != y->shndx)
		return x->shndx - y->shndx;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return strcmp(x->name, y->name);
}

int obj_functions(const ObjFile *obj, ObjFunc **funcs)
{
	int n = 0;
	ObjFunc *f = arena_alloc(sizeof(ObjFunc) * (size_t)obj->nsyms);
	for (int i = 1; i < obj->nsyms; i++) {
		const ObjSymbol *sym = &obj->syms[i];
		if (sym->type != STT_FUNC || sym->shndx == SHN_UNDEF || sym->shndx >= obj->nsecs ||
		    !(obj->secs[sym->shndx].flags & SHF_EXECINSTR))
			continue;
		f[n].name = sym->name;
		f[n].section = obj->secs[sym->shndx].name;
		f[n].shndx = sym->shndx;
		f[n].offset = sym->value;
		f[n].insns = (int)(sym->size / 8);
		n++;
	}
	qsort(f, (size_t)n, sizeof(*f), func_cmp);
	/* A function without a size runs to the next one or its section's end. */
	for (int i = 0; i < n; i++) {
		if (f[i].insns)
			continue;
		const ObjSection *s = &obj->secs[f[i].shndx];
		uint64_t end = i + 1 < n && f[i + 1].shndx == f[i].shndx ? f[i + 1].offset : s->size;
		f[i].insns = end > f[i].offset ? (int)((end - f[i].offset) / 8) : 0;
	}
	*funcs = f;
	return n;
}
