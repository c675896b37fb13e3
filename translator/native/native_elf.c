/* native_elf.c - the native backend's relocatable object.
 *
 * The same shape clang gives the C backend's object, as libbpf 1.1 reads
 * it: the entry in its SEC() section, the other functions in .text
 * (called with BPF-to-BPF calls through R_BPF_64_32 relocations against
 * their symbols), BTF-defined maps in .maps (a BTF struct of pointer
 * members per map, a VAR each and a DATASEC; map loads are LD_IMM64 with an
 * R_BPF_64_64 relocation against the map's symbol), `license`, and .BTF
 * built with libbpf's writer API plus .BTF.ext with func_info and
 * line_info, so verifier logs and `bpftool prog dump xlated linum` show
 * .va lines.
 */
#include "native.h"

#include <bpf/btf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef R_BPF_64_64
#define R_BPF_64_64 1
#endif
#ifndef R_BPF_64_ABS64
#define R_BPF_64_ABS64 2 /* data: a .maps slot's program (libbpf, clang) */
#endif
#ifndef R_BPF_64_32
#define R_BPF_64_32 10
#endif

typedef struct Writer {
	NativeModule *nm;
	struct btf *btf;
	int int_ids[2][9];       /* [signed][size] */
	int typedef_ids[2][9];   /* __u8... over them */
	int bool_id;
	int *fn_type;            /* BTF FUNC id per function */
	int map_struct_size;
	StrBuf strtab;           /* ELF section and symbol names */
	bool failed;
} Writer;

static const char *const int_names[2][9] = {
	{ [1] = "unsigned char", [2] = "unsigned short", [4] = "unsigned int",
	  [8] = "unsigned long long" },
	{ [1] = "signed char", [2] = "short", [4] = "int", [8] = "long long" },
};

static int btf_int(Writer *W, int size, bool is_signed)
{
	int *id = &W->int_ids[is_signed][size];
	if (!*id)
		*id = btf__add_int(W->btf, int_names[is_signed][size], (size_t)size,
				   is_signed ? BTF_INT_SIGNED : 0);
	return *id;
}

/* The BTF type of t (0: void). */
static int btf_type(Writer *W, const Type *t)
{
	if (!t)
		return 0;
	switch (t->kind) {
	case TY_INT: {
		/* the C names the types __u32, __s8...: BTF says so too */
		int *id = &W->typedef_ids[t->is_signed][t->size];
		if (!*id)
			*id = btf__add_typedef(W->btf, arena_printf("__%c%d", t->is_signed ? 's' : 'u',
								     t->size * 8),
					       btf_int(W, t->size, t->is_signed));
		return *id;
	}
	case TY_BOOL:
		if (!W->bool_id)
			W->bool_id = btf__add_int(W->btf, "_Bool", 1, BTF_INT_BOOL);
		return W->bool_id;
	case TY_PTR:
		return btf__add_ptr(W->btf, btf_type(W, t->pointee));
	case TY_RECORD: {
		Record *r = t->record;
		int field_ids[64];
		if (!r || r->nfields > 64) {
			W->failed = true;
			return 0;
		}
		for (int i = 0; i < r->nfields; i++)
			field_ids[i] = btf_type(W, r->fields[i]->type);
		const char *name = r->c_name && strncmp(r->c_name, "struct ", 7) == 0 ?
					   r->c_name + 7 : r->name;
		int id = btf__add_struct(W->btf, name, (uint32_t)r->size);
		for (int i = 0; i < r->nfields; i++)
			btf__add_field(W->btf, r->fields[i]->name, field_ids[i],
				       (uint32_t)r->fields[i]->offset * 8, 0);
		return id;
	}
	default:
		return 0;
	}
}

/* `int (*name)[value]`: how __uint(name, value) reaches BTF. */
static int btf_uint_member(Writer *W, uint32_t value)
{
	int i = btf_int(W, 4, true);
	return btf__add_ptr(W->btf, btf__add_array(W->btf, i, i, value));
}

/* The members emit_c.c's struct for the map has, in its order: sizes for
 * the map types whose kernel side refuses BTF keys and values, else the
 * key and value types. Returns the struct's BTF id; *size its bytes. */
static int btf_map(Writer *W, const MapDecl *map, int map_type, int *size)
{
	const char *e = map->map_type->c_enum;
	bool sizes = strcmp(e, "BPF_MAP_TYPE_PROG_ARRAY") == 0 ||
		     strcmp(e, "BPF_MAP_TYPE_PERF_EVENT_ARRAY") == 0;
	bool init = map->ninit && map->init_progs;
	const char *names[7];
	int types[7], n = 0;
	names[n] = "type", types[n++] = btf_uint_member(W, (uint32_t)map_type);
	if (init) {
		names[n] = "key_size";
		types[n++] = btf_uint_member(W, map->key ? (uint32_t)map->key->size : 4);
	} else if (sizes) {
		names[n] = "key_size";
		types[n++] = btf_uint_member(W, map->key ? (uint32_t)map->key->size : 4);
		names[n] = "value_size";
		types[n++] = btf_uint_member(W, map->value ? (uint32_t)map->value->size : 4);
	} else {
		if (map->key)
			names[n] = "key", types[n++] = btf__add_ptr(W->btf, btf_type(W, map->key));
		if (map->value)
			names[n] = "value", types[n++] = btf__add_ptr(W->btf, btf_type(W, map->value));
	}
	names[n] = "max_entries", types[n++] = btf_uint_member(W, (uint32_t)map->max_entries);
	if (map->flags)
		names[n] = "map_flags", types[n++] = btf_uint_member(W, (uint32_t)map->flags);
	if (map->pinned)
		names[n] = "pinning", types[n++] = btf_uint_member(W, 1 /* LIBBPF_PIN_BY_NAME */);
	int struct_size = 8 * n;
	if (init) {
		/* __array(values, int(void *)): a flexible array of pointers
		 * to programs, last; its slots are the initialiser's (10.3) */
		int proto = btf__add_func_proto(W->btf, btf_int(W, 4, true));
		btf__add_func_param(W->btf, NULL, btf__add_ptr(W->btf, 0));
		names[n] = "values";
		types[n++] = btf__add_array(W->btf, btf_int(W, 4, false), btf__add_ptr(W->btf, proto), 0);
	}
	*size = struct_size + (init ? 8 * map->ninit : 0);
	int id = btf__add_struct(W->btf, NULL, (uint32_t)struct_size);
	for (int i = 0; i < n; i++)
		btf__add_field(W->btf, names[i], types[i], (uint32_t)(64 * i), 0);
	return id;
}

/* BPF_MAP_TYPE_* by the enum name the tables give. */
static int map_type_number(const char *c_enum)
{
	static const struct {
		const char *name;
		int value;
	} types[] = {
		{ "BPF_MAP_TYPE_HASH", BPF_MAP_TYPE_HASH },
		{ "BPF_MAP_TYPE_ARRAY", BPF_MAP_TYPE_ARRAY },
		{ "BPF_MAP_TYPE_PROG_ARRAY", BPF_MAP_TYPE_PROG_ARRAY },
		{ "BPF_MAP_TYPE_PERF_EVENT_ARRAY", BPF_MAP_TYPE_PERF_EVENT_ARRAY },
		{ "BPF_MAP_TYPE_PERCPU_HASH", BPF_MAP_TYPE_PERCPU_HASH },
		{ "BPF_MAP_TYPE_PERCPU_ARRAY", BPF_MAP_TYPE_PERCPU_ARRAY },
		{ "BPF_MAP_TYPE_STACK_TRACE", BPF_MAP_TYPE_STACK_TRACE },
		{ "BPF_MAP_TYPE_LRU_HASH", BPF_MAP_TYPE_LRU_HASH },
		{ "BPF_MAP_TYPE_LRU_PERCPU_HASH", BPF_MAP_TYPE_LRU_PERCPU_HASH },
		{ "BPF_MAP_TYPE_LPM_TRIE", BPF_MAP_TYPE_LPM_TRIE },
		{ "BPF_MAP_TYPE_QUEUE", BPF_MAP_TYPE_QUEUE },
		{ "BPF_MAP_TYPE_STACK", BPF_MAP_TYPE_STACK },
		{ "BPF_MAP_TYPE_RINGBUF", BPF_MAP_TYPE_RINGBUF },
		{ "BPF_MAP_TYPE_DEVMAP", BPF_MAP_TYPE_DEVMAP },
		{ "BPF_MAP_TYPE_CPUMAP", BPF_MAP_TYPE_CPUMAP },
		{ "BPF_MAP_TYPE_XSKMAP", BPF_MAP_TYPE_XSKMAP },
		{ "BPF_MAP_TYPE_SOCKMAP", BPF_MAP_TYPE_SOCKMAP },
		{ "BPF_MAP_TYPE_SOCKHASH", BPF_MAP_TYPE_SOCKHASH },
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++)
		if (strcmp(types[i].name, c_enum) == 0)
			return types[i].value;
	return -1;
}

static int btf_function(Writer *W, IrFunc *f, bool entry)
{
	FnDecl *fn = f->decl;
	int ret = entry ? btf_int(W, 4, true) : btf_type(W, fn->ret);
	/* every type first: btf__add_func_param appends to the type added
	 * last, which must be the FUNC_PROTO */
	int nparams = entry ? 1 : fn->nparams;
	int *params = arena_alloc(sizeof(int) * (size_t)(nparams + 1));
	for (int i = 0; i < nparams; i++)
		params[i] = entry ? btf__add_ptr(W->btf, 0) /* the context, whatever its name */
				  : btf_type(W, fn->params[i]->type);
	int proto = btf__add_func_proto(W->btf, ret);
	for (int i = 0; i < nparams; i++)
		btf__add_func_param(W->btf, entry ? "ctx" : fn->params[i]->name, params[i]);
	bool global = entry || fn->exported;
	return btf__add_func(W->btf, f->name, global ? BTF_FUNC_GLOBAL : BTF_FUNC_STATIC, proto);
}

/* A function of hand-written C: FUNC with linkage extern, as clang
 * declares one, for the linker to match with the definition. */
static int btf_c_function(Writer *W, const ExternDecl *e)
{
	int ret = btf_type(W, e->ret);
	int *params = arena_alloc(sizeof(int) * (size_t)(e->nparams + 1));
	for (int i = 0; i < e->nparams; i++)
		params[i] = btf_type(W, e->params[i]);
	int proto = btf__add_func_proto(W->btf, ret);
	for (int i = 0; i < e->nparams; i++)
		btf__add_func_param(W->btf, "", params[i]);
	return btf__add_func(W->btf, e->name, BTF_FUNC_EXTERN, proto);
}

/* The text of the source line span starts on. */
static const char *line_text(Span s)
{
	if (!s.file || !s.file->text || s.offset > s.file->len)
		return "";
	const char *text = s.file->text;
	size_t b = s.offset, e = s.offset;
	while (b > 0 && text[b - 1] != '\n')
		b--;
	while (e < s.file->len && text[e] != '\n')
		e++;
	return arena_strndup(text + b, e - b);
}

static void put_u32(StrBuf *sb, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		sb_putc(sb, (char)(v >> (8 * i)));
}

/* The code sections: the entry alone in its SEC() section, the other
 * functions in .text; each holds nm->funcs[first..last-1], function f at
 * instruction text_off[f] of it. A file without (program) has only
 * .text, or no code at all. */
typedef struct CodeSec {
	const char *name;
	int first, last;
	int idx;      /* ELF section index */
} CodeSec;

static int code_sections(const NativeModule *nm, const char *const *prog_secs, CodeSec *out)
{
	int n = 0, text_first = nm->nentries;
	for (int i = 0; i < nm->nentries; i++)
		out[n++] = (CodeSec){ .name = prog_secs[i], .first = i, .last = i + 1 };
	if (nm->nfuncs > text_first)
		out[n++] = (CodeSec){ .name = ".text", .first = text_first, .last = nm->nfuncs };
	return n;
}

/* .BTF.ext: func_info and line_info of each code section, functions at
 * their offsets in it. */
static void btf_ext(Writer *W, const CodeSec *code, int ncode, int *text_off, StrBuf *out)
{
	NativeModule *nm = W->nm;
	StrBuf fi = { 0 }, li = { 0 };
	put_u32(&fi, 8);
	put_u32(&li, 16);
	for (int s = 0; s < ncode; s++) {
		int first = code[s].first, last = code[s].last;
		int sec_name = btf__add_str(W->btf, code[s].name);
		put_u32(&fi, (uint32_t)sec_name);
		put_u32(&fi, (uint32_t)(last - first));
		int nlines = 0;
		for (int f = first; f < last; f++) {
			put_u32(&fi, (uint32_t)text_off[f] * 8);
			put_u32(&fi, (uint32_t)W->fn_type[f]);
			nlines += nm->lines[f].len;
		}
		put_u32(&li, (uint32_t)sec_name);
		put_u32(&li, (uint32_t)nlines);
		for (int f = first; f < last; f++) {
			for (int i = 0; i < nm->lines[f].len; i++) {
				NativeLine *l = nm->lines[f].items[i];
				const char *file = l->span.file ? l->span.file->name : "";
				put_u32(&li, (uint32_t)(text_off[f] + l->insn) * 8);
				put_u32(&li, (uint32_t)btf__add_str(W->btf, file));
				put_u32(&li, (uint32_t)btf__add_str(W->btf, line_text(l->span)));
				put_u32(&li, (l->span.line << 10) | (l->span.col & 0x3ff));
			}
		}
	}
	sb_putc(out, (char)0x9f);
	sb_putc(out, (char)0xeb);
	sb_putc(out, 1);    /* version */
	sb_putc(out, 0);    /* flags */
	put_u32(out, 24);   /* header length */
	put_u32(out, 0);
	put_u32(out, (uint32_t)fi.len);
	put_u32(out, (uint32_t)fi.len);
	put_u32(out, (uint32_t)li.len);
	for (size_t i = 0; i < fi.len; i++)
		sb_putc(out, fi.data[i]);
	for (size_t i = 0; i < li.len; i++)
		sb_putc(out, li.data[i]);
	sb_free(&fi);
	sb_free(&li);
}

static uint32_t name_of(Writer *W, const char *s)
{
	uint32_t off = (uint32_t)W->strtab.len;
	sb_puts(&W->strtab, s);
	sb_putc(&W->strtab, '\0');
	return off;
}

typedef struct Section {
	const char *name;
	uint32_t type;
	uint64_t flags;
	const void *data;
	size_t size;
	uint32_t link, info;
	uint64_t entsize;
	Elf_Scn *scn;
} Section;

static int add_section(Section *secs, int *n, Section s)
{
	secs[*n] = s;
	return ++*n;  /* ELF index: section 0 is the null one */
}

bool native_write_elf(NativeModule *nm, const char *license, const char *path)
{
	const Module *m = nm->m;
	const char **sec_names = arena_alloc(sizeof(char *) * (size_t)(nm->nentries + 1));
	for (int i = 0; i < nm->nentries; i++) {
		const ProgramDecl *prog = fn_program(m, nm->funcs[i]->decl);
		sec_names[i] = prog ? prog_section_name(prog->kind, prog->attach) : NULL;
		if (!sec_names[i]) {
			diag_error(prog ? prog->span : nm->funcs[i]->decl->span,
				   "native backend: no section name for this program");
			return false;
		}
	}
	CodeSec *code = arena_alloc(sizeof(CodeSec) * (size_t)(nm->nentries + 1));
	int ncode = code_sections(nm, sec_names, code);
	Writer W = { .nm = nm };
	W.btf = btf__new_empty();
	if (!W.btf) {
		fprintf(stderr, "vbpf2c: error: cannot create BTF: %s\n", strerror(errno));
		return false;
	}
	sb_putc(&W.strtab, '\0');

	/* code: each section's functions one after another */
	int *text_off = arena_alloc(sizeof(int) * (size_t)(nm->nfuncs + 1));
	struct bpf_insn **sec_code = arena_alloc(sizeof(*sec_code) * (size_t)(ncode + 1));
	size_t *sec_bytes = arena_alloc(sizeof(*sec_bytes) * (size_t)(ncode + 1));
	for (int s = 0; s < ncode; s++) {
		int len = 0;
		for (int f = code[s].first; f < code[s].last; f++) {
			text_off[f] = len;
			len += nm->ncode[f];
		}
		sec_code[s] = arena_alloc(sizeof(struct bpf_insn) * (size_t)(len + 1));
		for (int f = code[s].first; f < code[s].last; f++)
			memcpy(sec_code[s] + text_off[f], nm->code[f],
			       sizeof(struct bpf_insn) * (size_t)nm->ncode[f]);
		sec_bytes[s] = sizeof(struct bpf_insn) * (size_t)len;
	}

	W.fn_type = arena_alloc(sizeof(int) * (size_t)(nm->nfuncs + 1));
	for (int f = 0; f < nm->nfuncs; f++)
		W.fn_type[f] = btf_function(&W, nm->funcs[f], f < nm->nentries);
	for (int i = 0; i < nm->nc_fns; i++)
		btf_c_function(&W, nm->c_fns[i]);

	/* maps: a struct per map, laid out one after another in .maps */
	int maps_size = 0;
	int *map_off = arena_alloc(sizeof(int) * (size_t)(nm->nmaps + 1));
	int *map_var = arena_alloc(sizeof(int) * (size_t)(nm->nmaps + 1));
	int *map_size = arena_alloc(sizeof(int) * (size_t)(nm->nmaps + 1));
	for (int i = 0; i < nm->nmaps; i++) {
		MapDecl *map = nm->maps[i];
		int type = map_type_number(map->map_type->c_enum);
		if (type < 0) {
			diag_error(map->span, "native backend does not support %s maps yet",
				   map->map_type->name);
			btf__free(W.btf);
			return false;
		}
		int st = btf_map(&W, map, type, &map_size[i]);
		/* an :extern map is declared here and placed by the linker, at
		 * offset 0 as clang describes it */
		map_var[i] = btf__add_var(W.btf, map->c_name,
					  map->is_extern ? BTF_VAR_GLOBAL_EXTERN : BTF_VAR_GLOBAL_ALLOCATED, st);
		map_off[i] = map->is_extern ? 0 : maps_size;
		if (!map->is_extern)
			maps_size += map_size[i];
	}
	if (nm->nmaps) {
		btf__add_datasec(W.btf, ".maps", (uint32_t)maps_size);
		for (int i = 0; i < nm->nmaps; i++)
			btf__add_datasec_var_info(W.btf, map_var[i], (uint32_t)map_off[i],
						  (uint32_t)map_size[i]);
	}
	/* globals: a VAR each and a DATASEC per section, as libbpf needs to
	 * make the .bss/.data/.rodata maps and `vbpf2c test` to find them */
	static const char *const global_sec_name[3] = { ".bss", ".data", ".rodata" };
	for (int sec = 0; sec < 3; sec++) {
		if (!nm->sec_size[sec])
			continue;
		int *vars = arena_alloc(sizeof(int) * (size_t)(nm->nglobals + 1));
		for (int i = 0; i < nm->nglobals; i++)
			if (nm->global_sec[i] == sec)
				vars[i] = btf__add_var(W.btf, nm->globals[i]->c_name, BTF_VAR_GLOBAL_ALLOCATED,
						       btf_type(&W, nm->globals[i]->type));
		btf__add_datasec(W.btf, global_sec_name[sec], (uint32_t)nm->sec_size[sec]);
		for (int i = 0; i < nm->nglobals; i++)
			if (nm->global_sec[i] == sec)
				btf__add_datasec_var_info(W.btf, vars[i], (uint32_t)nm->global_off[i],
							  (uint32_t)nm->globals[i]->type->size);
	}
	/* the license, as clang describes it: libbpf's linker wants BTF for
	 * every global symbol */
	uint32_t license_size = (uint32_t)strlen(license) + 1;
	int license_char = btf__add_int(W.btf, "char", 1, BTF_INT_SIGNED);
	int license_array = btf__add_array(W.btf, btf_int(&W, 4, true), license_char, license_size);
	int license_var = btf__add_var(W.btf, "LICENSE", BTF_VAR_GLOBAL_ALLOCATED, license_array);
	btf__add_datasec(W.btf, "license", license_size);
	btf__add_datasec_var_info(W.btf, license_var, 0, license_size);

	StrBuf ext = { 0 };
	if (ncode)
		btf_ext(&W, code, ncode, text_off, &ext);
	uint32_t btf_size = 0;
	const void *btf_data = btf__raw_data(W.btf, &btf_size);
	if (W.failed || !btf_data) {
		Span at = { .file = m->file, .line = 1, .col = 1 };
		if (m->entry)
			at = m->entry->span;
		else if (m->decls.len)
			at = ((Decl *)m->decls.items[0])->span;
		diag_error(at, "native backend: cannot build the BTF of this program");
		btf__free(W.btf);
		sb_free(&ext);
		return false;
	}

	/* sections; indexes are fixed by the order they are added in: the
	 * code sections and their relocations, and at most 12 others */
	Section *secs = arena_alloc(sizeof(Section) * (size_t)(2 * ncode + 12));
	int nsecs = 0;
	int strtab_idx = add_section(secs, &nsecs, (Section){ .name = ".strtab", .type = SHT_STRTAB });
	for (int s = 0; s < ncode; s++)
		code[s].idx = add_section(secs, &nsecs, (Section){
			.name = code[s].name, .type = SHT_PROGBITS, .flags = SHF_ALLOC | SHF_EXECINSTR,
			.data = sec_code[s], .size = sec_bytes[s] });
	/* the section of each function */
	int *fn_sec = arena_alloc(sizeof(int) * (size_t)(nm->nfuncs + 1));
	for (int s = 0; s < ncode; s++)
		for (int f = code[s].first; f < code[s].last; f++)
			fn_sec[f] = code[s].idx;
	int maps_idx = 0;
	char *maps_data = arena_alloc((size_t)maps_size + 1);
	if (nm->nmaps)
		maps_idx = add_section(secs, &nsecs, (Section){
			.name = ".maps", .type = SHT_PROGBITS, .flags = SHF_ALLOC | SHF_WRITE,
			.data = maps_data, .size = (size_t)maps_size });
	int global_idx[3] = { 0 };
	for (int sec = 0; sec < 3; sec++) {
		if (!nm->sec_size[sec])
			continue;
		unsigned char *bytes = arena_alloc((size_t)nm->sec_size[sec]);
		for (int i = 0; i < nm->nglobals; i++)
			if (nm->global_sec[i] == sec)
				for (int b = 0; b < nm->globals[i]->type->size; b++)
					bytes[nm->global_off[i] + b] =
						(unsigned char)((uint64_t)nm->global_init[i] >> (8 * b));
		global_idx[sec] = add_section(secs, &nsecs, (Section){
			.name = global_sec_name[sec],
			.type = sec == GLOBAL_BSS ? SHT_NOBITS : SHT_PROGBITS,
			.flags = SHF_ALLOC | (sec == GLOBAL_RODATA ? 0 : SHF_WRITE),
			.data = sec == GLOBAL_BSS ? NULL : bytes, .size = (size_t)nm->sec_size[sec] });
	}
	int license_idx = add_section(secs, &nsecs, (Section){
		.name = "license", .type = SHT_PROGBITS, .flags = SHF_ALLOC | SHF_WRITE,
		.data = license, .size = strlen(license) + 1 });
	add_section(secs, &nsecs, (Section){ .name = ".BTF", .type = SHT_PROGBITS,
					     .data = btf_data, .size = btf_size });
	if (ncode)
		add_section(secs, &nsecs, (Section){ .name = ".BTF.ext", .type = SHT_PROGBITS,
						     .data = ext.data, .size = ext.len });

	/* symbols: locals (the .text functions) first, then globals */
	int nsyms = 1 + nm->nfuncs + nm->nmaps + nm->nc_fns + nm->nglobals + 1;
	Elf64_Sym *syms = arena_alloc(sizeof(*syms) * (size_t)nsyms);
	int *fn_sym = arena_alloc(sizeof(int) * (size_t)nm->nfuncs);
	int *map_sym = arena_alloc(sizeof(int) * (size_t)(nm->nmaps + 1));
	int ns = 1;
	/* ELF wants every local symbol before the first global: the static
	 * functions, then the entry and the exported ones */
	int first_global = 0;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			first_global = ns;
		for (int f = 0; f < nm->nfuncs; f++) {
			bool global = f < nm->nentries || nm->funcs[f]->decl->exported;
			if (global != (pass == 1))
				continue;
			fn_sym[f] = ns;
			syms[ns++] = (Elf64_Sym){ .st_name = name_of(&W, nm->funcs[f]->name),
						  .st_info = ELF64_ST_INFO(global ? STB_GLOBAL : STB_LOCAL, STT_FUNC),
						  .st_shndx = (uint16_t)fn_sec[f],
						  .st_value = (uint64_t)text_off[f] * 8,
						  .st_size = (uint64_t)nm->ncode[f] * 8 };
		}
	}
	for (int i = 0; i < nm->nmaps; i++) {
		bool ext = nm->maps[i]->is_extern;
		map_sym[i] = ns;
		syms[ns++] = (Elf64_Sym){ .st_name = name_of(&W, nm->maps[i]->c_name),
					  .st_info = ELF64_ST_INFO(STB_GLOBAL, ext ? STT_NOTYPE : STT_OBJECT),
					  .st_shndx = ext ? SHN_UNDEF : (uint16_t)maps_idx,
					  .st_value = ext ? 0 : (uint64_t)map_off[i],
					  .st_size = ext ? 0 : (uint64_t)map_size[i] };
	}
	int *c_fn_sym = arena_alloc(sizeof(int) * (size_t)(nm->nc_fns + 1));
	for (int i = 0; i < nm->nc_fns; i++) {
		c_fn_sym[i] = ns;
		syms[ns++] = (Elf64_Sym){ .st_name = name_of(&W, nm->c_fns[i]->name),
					  .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_NOTYPE),
					  .st_shndx = SHN_UNDEF };
	}
	int *global_sym = arena_alloc(sizeof(int) * (size_t)(nm->nglobals + 1));
	for (int i = 0; i < nm->nglobals; i++) {
		global_sym[i] = ns;
		syms[ns++] = (Elf64_Sym){ .st_name = name_of(&W, nm->globals[i]->c_name),
					  .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT),
					  .st_shndx = (uint16_t)global_idx[nm->global_sec[i]],
					  .st_value = (uint64_t)nm->global_off[i],
					  .st_size = (uint64_t)nm->globals[i]->type->size };
	}
	syms[ns++] = (Elf64_Sym){ .st_name = name_of(&W, "LICENSE"),
				  .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT),
				  .st_shndx = (uint16_t)license_idx,
				  .st_size = strlen(license) + 1 };
	bool map_relocs = false;
	for (int i = 0; i < nm->nmaps; i++)
		map_relocs |= nm->maps[i]->ninit && nm->maps[i]->init_progs && !nm->maps[i]->is_extern;
	int symtab_idx = nsecs + 1 + ncode + map_relocs;

	/* relocations per code section */
	for (int s = 0; s < ncode; s++) {
		Vec rels = { 0 };
		for (int f = code[s].first; f < code[s].last; f++) {
			for (int i = 0; i < nm->relocs[f].len; i++) {
				NativeReloc *r = nm->relocs[f].items[i];
				Elf64_Rel *rel = arena_alloc(sizeof(*rel));
				rel->r_offset = (uint64_t)(text_off[f] + r->insn) * 8;
				rel->r_info = r->fn >= 0   ? ELF64_R_INFO(fn_sym[r->fn], R_BPF_64_32) :
					      r->c_fn >= 0 ? ELF64_R_INFO(c_fn_sym[r->c_fn], R_BPF_64_32) :
					      r->map >= 0 ? ELF64_R_INFO(map_sym[r->map], R_BPF_64_64) :
							    ELF64_R_INFO(global_sym[r->global], R_BPF_64_64);
				vec_push(&rels, rel);
			}
		}
		Elf64_Rel *data = arena_alloc(sizeof(*data) * (size_t)(rels.len + 1));
		for (int i = 0; i < rels.len; i++)
			data[i] = *(Elf64_Rel *)rels.items[i];
		add_section(secs, &nsecs, (Section){
			/* SHF_INFO_LINK as clang sets it: libbpf's linker only
			 * merges sections whose flags agree */
			.name = arena_printf(".rel%s", code[s].name), .type = SHT_REL, .flags = SHF_INFO_LINK,
			.data = data, .size = sizeof(*data) * (size_t)rels.len,
			.link = (uint32_t)symtab_idx, .info = (uint32_t)code[s].idx,
			.entsize = sizeof(Elf64_Rel) });
	}
	if (map_relocs) {
		/* a prog_array's :init: a relocation per slot, against the
		 * program's symbol, at the slot in the map's `values` (10.3) */
		Vec rels = { 0 };
		for (int i = 0; i < nm->nmaps; i++) {
			const MapDecl *map = nm->maps[i];
			if (!map->ninit || !map->init_progs || map->is_extern)
				continue;
			int values = map_off[i] + map_size[i] - 8 * map->ninit;
			for (int k = 0; k < map->ninit; k++) {
				int f = 0;
				while (f < nm->nfuncs && nm->funcs[f]->decl != map->init_progs[k])
					f++;
				if (f == nm->nfuncs)
					continue;
				Elf64_Rel *rel = arena_alloc(sizeof(*rel));
				rel->r_offset = (uint64_t)(values + 8 * k);
				rel->r_info = ELF64_R_INFO(fn_sym[f], R_BPF_64_ABS64);
				vec_push(&rels, rel);
			}
		}
		Elf64_Rel *data = arena_alloc(sizeof(*data) * (size_t)(rels.len + 1));
		for (int i = 0; i < rels.len; i++)
			data[i] = *(Elf64_Rel *)rels.items[i];
		add_section(secs, &nsecs, (Section){
			.name = ".rel.maps", .type = SHT_REL, .flags = SHF_INFO_LINK,
			.data = data, .size = sizeof(*data) * (size_t)rels.len,
			.link = (uint32_t)symtab_idx, .info = (uint32_t)maps_idx,
			.entsize = sizeof(Elf64_Rel) });
	}
	add_section(secs, &nsecs, (Section){ .name = ".symtab", .type = SHT_SYMTAB,
					     .data = syms, .size = sizeof(*syms) * (size_t)ns,
					     .link = (uint32_t)strtab_idx, .info = (uint32_t)first_global,
					     .entsize = sizeof(Elf64_Sym) });
	uint32_t *sh_names = arena_alloc(sizeof(uint32_t) * (size_t)nsecs);
	for (int i = 0; i < nsecs; i++)
		sh_names[i] = name_of(&W, secs[i].name);
	secs[strtab_idx - 1].data = W.strtab.data;
	secs[strtab_idx - 1].size = W.strtab.len;

	bool ok = false;
	int fd = -1;
	Elf *elf = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "vbpf2c: error: cannot write %s: %s\n", path, strerror(errno));
		goto out;
	}
	elf = elf_begin(fd, ELF_C_WRITE, NULL);
	Elf64_Ehdr *eh = elf ? elf64_newehdr(elf) : NULL;
	if (!eh)
		goto out;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_REL;
	eh->e_machine = EM_BPF;
	eh->e_version = EV_CURRENT;
	eh->e_shstrndx = (uint16_t)strtab_idx;
	for (int i = 0; i < nsecs; i++) {
		Elf_Scn *scn = elf_newscn(elf);
		Elf64_Shdr *sh = scn ? elf64_getshdr(scn) : NULL;
		Elf_Data *d = scn ? elf_newdata(scn) : NULL;
		if (!sh || !d)
			goto out;
		d->d_buf = (void *)secs[i].data;
		d->d_size = secs[i].size;
		d->d_type = ELF_T_BYTE;
		d->d_align = secs[i].type == SHT_STRTAB ? 1 : 8;
		sh->sh_name = sh_names[i];
		sh->sh_type = secs[i].type;
		sh->sh_flags = secs[i].flags;
		sh->sh_link = secs[i].link;
		sh->sh_info = secs[i].info;
		sh->sh_entsize = secs[i].entsize;
		sh->sh_addralign = d->d_align;
	}
	ok = elf_update(elf, ELF_C_WRITE) >= 0;
out:
	if (!ok && fd >= 0)
		fprintf(stderr, "vbpf2c: error: cannot write %s: %s\n", path, elf_errmsg(-1));
	if (elf)
		elf_end(elf);
	if (fd >= 0) {
		close(fd);
		if (!ok)
			unlink(path);
	}
	btf__free(W.btf);
	sb_free(&ext);
	sb_free(&W.strtab);
	return ok;
}
