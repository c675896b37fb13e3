/* cmd_compare.c - `vbpf2c --compare prog.va`: what the two backends make
 * of one program, function by function.
 *
 * main.c compiles the program with clang and with the native backend into
 * temporary objects; this file reads both back (elf_read.c), counts each
 * function's instructions in 8-byte slots as the kernel does (a 64-bit
 * immediate load is two), and, when this process may use bpf(), loads
 * both objects through the runtime with the verifier's statistics to add
 * the instructions the verifier processed per program:
 *
 *   function      section  clang  native  native/clang  verified clang  verified native
 *   start_window  .text        -      25             -               -                -
 *   over_limit_p  .text        -      50             -               -                -
 *   limit         xdp         65      25          0.38              88              156
 *   total                     65     100          1.54              88              156
 *
 * (examples/xdp_rate_limiter.va.) Functions are listed in source order.
 * "-" marks a function that is not in that object (the backend inlined
 * it), and a subprogram's verifier count: the verifier counts per program,
 * its subprograms included. Without bpf() the last two columns are left
 * out and a line says why.
 */
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "../runtime/vbpf_runtime.h"
#include "disasm.h"
#include "vbpf2c.h"

enum { CLANG, NATIVE, NBACKENDS };
static const char *const backend_names[NBACKENDS] = { "clang", "native" };

enum { ABSENT = -1, REJECTED = -2 };

/* Functions go by their symbol, the C name both backends give them, as
 * --emit=asm and the verifier's messages show them. */
typedef struct Row {
	const char *name;
	const char *section;
	int insns[NBACKENDS];    /* ABSENT when not in that object */
	int verified[NBACKENDS]; /* programs: ABSENT, REJECTED or the count */
} Row;

typedef struct Table {
	Row *rows;
	int len, cap;
} Table;

static Row *table_find(Table *t, const char *name)
{
	for (int i = 0; i < t->len; i++)
		if (strcmp(t->rows[i].name, name) == 0)
			return &t->rows[i];
	return NULL;
}

static Row *table_add(Table *t, const char *name)
{
	if (t->len == t->cap) {
		int cap = t->cap ? t->cap * 2 : 16;
		Row *rows = arena_alloc(sizeof(Row) * (size_t)cap);
		if (t->len)
			memcpy(rows, t->rows, sizeof(Row) * (size_t)t->len);
		t->rows = rows;
		t->cap = cap;
	}
	Row *r = &t->rows[t->len++];
	*r = (Row){ .name = name };
	for (int b = 0; b < NBACKENDS; b++)
		r->insns[b] = r->verified[b] = ABSENT;
	return r;
}

/* Reads path whole into the arena; NULL after saying why. */
static char *read_object(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "vbpf2c: cannot open %s\n", path);
		return NULL;
	}
	StrBuf sb = { 0 };
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		for (size_t i = 0; i < n; i++)
			sb_putc(&sb, buf[i]);
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "vbpf2c: cannot read %s\n", path);
		sb_free(&sb);
		return NULL;
	}
	char *data = arena_alloc(sb.len + 1);
	if (sb.len)
		memcpy(data, sb.data, sb.len);
	*len = sb.len;
	sb_free(&sb);
	return data;
}

/* Fills column b with the functions of the object at path. */
static bool count_functions(Table *t, int b, const char *path)
{
	size_t len;
	char *data = read_object(path, &len);
	if (!data)
		return false;
	ObjFile obj;
	char why[256];
	if (!obj_read(data, len, &obj, why, sizeof(why))) {
		fprintf(stderr, "vbpf2c: %s: %s\n", path, why);
		return false;
	}
	ObjFunc *funcs;
	int n = obj_functions(&obj, &funcs);
	for (int i = 0; i < n; i++) {
		Row *r = table_find(t, funcs[i].name);
		if (!r)
			r = table_add(t, funcs[i].name);
		if (!r->section)
			r->section = funcs[i].section;
		r->insns[b] = (r->insns[b] == ABSENT ? 0 : r->insns[b]) + funcs[i].insns;
	}
	return true;
}

/* Fills the verifier column b: loads the object with statistics. */
static void count_verified(Table *t, int b, const char *path, const char *source_dir)
{
	struct vbpf_obj_opts opts = {
		.source_dir = source_dir,
		.private_pins = true,
		.verifier_stats = true,
	};
	struct vbpf_obj *obj = vbpf_obj__open_file(path, &opts);
	if (!obj)
		return;
	bool loaded = vbpf_obj__load(obj) == 0;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, vbpf_obj__bpf_object(obj)) {
		Row *r = table_find(t, bpf_program__name(prog));
		if (r)
			r->verified[b] = loaded ? vbpf_obj__verified_insns(obj, prog) : REJECTED;
	}
	vbpf_obj__close(obj);
}

static char *directory_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? arena_strndup(path, (size_t)(slash - path) + (slash == path))
		     : arena_strdup(".");
}

/* A count for a cell: the number, "-" or "rejected". */
static const char *cell(int v)
{
	if (v == ABSENT)
		return "-";
	if (v == REJECTED)
		return "rejected";
	return arena_printf("%d", v);
}

static const char *ratio(int native, int clang)
{
	if (native < 0 || clang <= 0)
		return "-";
	return arena_printf("%.2f", (double)native / clang);
}

/* present[b]: backend b made an object (else its totals are "-"). */
static void print_table(const Table *t, const bool present[NBACKENDS], bool verifier, FILE *out)
{
	static const char *const headers[] = {
		"function", "section", "clang", "native", "native/clang",
		"verified clang", "verified native",
	};
	enum { NCOLS = sizeof(headers) / sizeof(headers[0]) };
	int ncols = verifier ? NCOLS : NCOLS - 2;
	int nrows = t->len + 1;
	const char ***cells = arena_alloc(sizeof(*cells) * (size_t)nrows);
	int totals[NBACKENDS] = { 0 }, vtotals[NBACKENDS] = { 0 };
	bool vknown[NBACKENDS] = { present[CLANG], present[NATIVE] };
	for (int i = 0; i < t->len; i++) {
		const Row *r = &t->rows[i];
		for (int b = 0; b < NBACKENDS; b++) {
			if (r->insns[b] > 0)
				totals[b] += r->insns[b];
			if (r->verified[b] >= 0)
				vtotals[b] += r->verified[b];
			else if (r->verified[b] == REJECTED)
				vknown[b] = false;
		}
	}
	for (int i = 0; i < nrows; i++) {
		const char **c = cells[i] = arena_alloc(sizeof(char *) * NCOLS);
		if (i < t->len) {
			const Row *r = &t->rows[i];
			c[0] = r->name;
			c[1] = r->section ? r->section : "-";
			c[2] = cell(r->insns[CLANG]);
			c[3] = cell(r->insns[NATIVE]);
			c[4] = ratio(r->insns[NATIVE], r->insns[CLANG]);
			c[5] = cell(r->verified[CLANG]);
			c[6] = cell(r->verified[NATIVE]);
		} else {
			c[0] = "total";
			c[1] = "";
			for (int b = 0; b < NBACKENDS; b++)
				if (!present[b])
					totals[b] = ABSENT;
			c[2] = cell(totals[CLANG]);
			c[3] = cell(totals[NATIVE]);
			c[4] = ratio(totals[NATIVE], totals[CLANG]);
			c[5] = vknown[CLANG] ? cell(vtotals[CLANG]) : "-";
			c[6] = vknown[NATIVE] ? cell(vtotals[NATIVE]) : "-";
		}
	}
	int width[NCOLS];
	for (int k = 0; k < ncols; k++) {
		width[k] = (int)strlen(headers[k]);
		for (int i = 0; i < nrows; i++)
			if ((int)strlen(cells[i][k]) > width[k])
				width[k] = (int)strlen(cells[i][k]);
	}
	/* Names left-aligned, numbers right-aligned, two spaces apart. */
	for (int i = -1; i < nrows; i++) {
		for (int k = 0; k < ncols; k++) {
			const char *text = i < 0 ? headers[k] : cells[i][k];
			bool last = k == ncols - 1;
			if (k < 2)
				fprintf(out, "%-*s  ", width[k], text);
			else
				fprintf(out, "%*s%s", width[k], text, last ? "" : "  ");
		}
		fputc('\n', out);
	}
}

int cmd_compare(const Module *m, const char *clang_object, const char *clang_missing,
		const char *native_object, FILE *out)
{
	Table t = { 0 };
	/* In source order. */
	for (int i = 0; i < m->decls.len; i++) {
		const Decl *d = m->decls.items[i];
		if (d->kind == D_FN)
			table_add(&t, d->u.fn->c_name ? d->u.fn->c_name : d->u.fn->name);
	}
	const char *objects[NBACKENDS] = { clang_object, native_object };
	int status = 0;
	for (int b = 0; b < NBACKENDS; b++)
		if (objects[b] && !count_functions(&t, b, objects[b]))
			status = 2;
	if (status)
		return status;

	/* Functions neither object has (unused, or inlined by both) say nothing. */
	Table shown = { 0 };
	for (int i = 0; i < t.len; i++) {
		if (t.rows[i].insns[CLANG] != ABSENT || t.rows[i].insns[NATIVE] != ABSENT)
			*table_add(&shown, t.rows[i].name) = t.rows[i];
	}

	char why[256];
	bool verifier = vbpf_kernel__probe(why, sizeof(why)) == 0;
	if (verifier) {
		const char *source_dir = directory_of(m->file->name);
		for (int b = 0; b < NBACKENDS; b++)
			if (objects[b])
				count_verified(&shown, b, objects[b], source_dir);
	}

	fprintf(out, "%s: instructions per function, in 8-byte slots (a 64-bit load is two)\n",
		m->file->name);
	bool present[NBACKENDS] = { clang_object != NULL, native_object != NULL };
	print_table(&shown, present, verifier, out);
	fputs("-: not in that object (the backend inlined it)", out);
	if (verifier)
		fputs("; the verifier counts per program, subprograms included", out);
	fputc('\n', out);
	if (!verifier)
		fprintf(out, "verifier counts: not measured: %s\n", why);
	for (int b = 0; b < NBACKENDS; b++)
		if (!objects[b])
			fprintf(out, "%s: no object: %s\n", backend_names[b],
				b == CLANG && clang_missing ? clang_missing
							    : "the compilation failed (see above)");
	/* A verifier rejection was printed as an error, at its .va line. */
	for (int i = 0; i < shown.len; i++)
		for (int b = 0; b < NBACKENDS; b++)
			if (shown.rows[i].verified[b] == REJECTED)
				return 1;
	return 0;
}
