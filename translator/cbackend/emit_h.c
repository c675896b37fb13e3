/* emit_h.c - the header a program shares with hand-written C (LANGUAGE.md
 * §10.1, 10.2, 10.6): `vbpf2c --emit=h prog.va > prog.h`, or -H FILE.
 *
 *   - record structs, with the layout of the generated C (the text comes
 *     from emit_c.c, so the two cannot drift apart), and a static
 *     assertion of each one's size (_Static_assert in C, static_assert in
 *     C++);
 *   - NAME_key_t and NAME_value_t for every map with a key or a value, so
 *     user space reads maps with the program's own types;
 *   - for BPF C only (inside #ifdef __bpf__): extern declarations of the
 *     maps the program defines, prototypes of its exported defns, and
 *     prototypes of the c: functions it expects hand-written C to define,
 *     so the compiler checks the definitions against what the program
 *     calls.
 *
 * One file that compiles in BPF C and in user-space C and C++ (extern
 * "C"): outside __bpf__ it needs nothing but <linux/types.h> (and
 * <stdbool.h> for :bool in C). Included after vmlinux.h it includes no
 * UAPI header at all (vmlinux.h defines __VMLINUX_H__ and every type
 * they would): the way libbpf programs mix the two.
 */
#include <ctype.h>
#include <string.h>

#include "vbpf2c.h"

/* FLOWS_VA_H for "dir/flows.va": the base name, upper-cased, every
 * character C does not allow in a macro name replaced by '_'. */
static const char *guard_name(const char *file)
{
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	StrBuf sb = { 0 };
	if (!isalpha((unsigned char)base[0]))
		sb_puts(&sb, "VBPF_");
	for (const char *p = base; *p; p++)
		sb_putc(&sb, isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_');
	sb_puts(&sb, "_H");
	const char *guard = arena_strdup(sb.data);
	sb_free(&sb);
	return guard;
}

/* The C name a hand-written caller sees for parameter p: the source name
 * after mangling, except the context, which keeps its name as in the
 * generated definition. */
static FnDecl with_param_names(const FnDecl *fn)
{
	FnDecl copy = *fn;
	copy.params = arena_alloc(sizeof(*copy.params) * (size_t)(fn->nparams + 1));
	for (int i = 0; i < fn->nparams; i++) {
		Param *p = arena_alloc(sizeof(*p));
		*p = *fn->params[i];
		if (strcmp(p->name, "ctx") == 0)
			p->var = NULL;  /* emit_c_prototype falls back to the source name */
		copy.params[i] = p;
	}
	return copy;
}

void emit_h(const Module *m, const EmitOptions *opts, StrBuf *out)
{
	const char *file = opts && opts->source_name ? opts->source_name : m->file ? m->file->name : "input.va";
	bool uses_bool = false;

	/* types: for BPF C and user space */
	StrBuf types = { 0 };
	emit_c_records(m, &types, &uses_bool);
	/* The layout the program was compiled with, checked wherever the header
	 * is included: a user-space ABI that aligns __u64 to 4 (i386) gets an
	 * error instead of reading maps through a different struct. */
	bool any_record = false;
	StrBuf asserts = { 0 }, c_asserts = { 0 };
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		const Record *r = d->kind == D_RECORD ? d->u.record->record : NULL;
		if (!r || r->is_context)
			continue;
		emit_c_line(&asserts, arena_printf("static_assert(sizeof(%s) == %d, \"%s as in %s\");", r->c_name,
						   r->size, r->c_name, file));
		emit_c_line(&c_asserts, arena_printf("_Static_assert(sizeof(%s) == %d, \"%s as in %s\");",
						     r->c_name, r->size, r->c_name, file));
		any_record = true;
	}
	if (any_record)
		/* C11's keyword is _Static_assert (static_assert only with
		 * <assert.h>), C++11's static_assert */
		sb_printf(&types, "#ifdef __cplusplus\n%s#else\n%s#endif\n\n", asserts.data, c_asserts.data);
	sb_free(&asserts);
	sb_free(&c_asserts);
	bool any_typedef = false;
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind != D_MAP)
			continue;
		const MapDecl *md = d->u.map;
		if (md->key)
			sb_printf(&types, "typedef %s %s_key_t;\n", emit_c_type_name(md->key, &uses_bool), md->c_name);
		if (md->value)
			sb_printf(&types, "typedef %s %s_value_t;\n", emit_c_type_name(md->value, &uses_bool),
				  md->c_name);
		any_typedef |= md->key || md->value;
	}
	if (any_typedef)
		sb_putc(&types, '\n');

	/* BPF C only: maps, exported functions, expected C functions */
	StrBuf bpf = { 0 };
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_MAP && !d->u.map->is_extern)
			emit_c_map_declaration(m, d->u.map, &bpf);
	}
	StrBuf exported = { 0 }, expected = { 0 };
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_FN && d->u.fn->exported) {
			FnDecl named = with_param_names(d->u.fn);
			emit_c_line(&exported, arena_printf("%s;", emit_c_prototype(&named, NULL, &uses_bool)));
		} else if (d->kind == D_EXTERN && d->u.ext->is_c) {
			emit_c_line(&expected, arena_printf("%s;", emit_c_prototype(NULL, d->u.ext, &uses_bool)));
		}
	}
	if (exported.data)
		sb_printf(&bpf, "/* exported by %s */\n%s\n", file, exported.data);
	if (expected.data)
		sb_printf(&bpf, "/* called by %s, defined in hand-written C */\n%s\n", file, expected.data);
	sb_free(&exported);
	sb_free(&expected);
	StrBuf extern_maps = { 0 };
	for (int i = 0; i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_MAP && d->u.map->is_extern)
			sb_printf(&extern_maps, "%s%s", extern_maps.data ? ", " : "", d->u.map->c_name);
	}
	if (extern_maps.data)
		sb_printf(&bpf, "/* maps %s declares :extern, for hand-written C to define: %s */\n\n", file,
			  extern_maps.data);
	sb_free(&extern_maps);

	const char *guard = guard_name(file);
	sb_printf(out, "/* Code generated by vbpf2c from %s. DO NOT EDIT. */\n", file);
	sb_printf(out, "#ifndef %s\n#define %s\n\n", guard, guard);
	/* vmlinux.h (bpftool btf dump ... format c, guarded by
	 * __VMLINUX_H__) has every UAPI type already: including the UAPI
	 * headers after it would redefine them */
	sb_puts(out, "#ifndef __VMLINUX_H__\n#include <linux/types.h>\n#endif\n");
	if (uses_bool)
		sb_puts(out, "#ifndef __cplusplus\n#include <stdbool.h>\n#endif\n");
	sb_puts(out, "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
	if (types.data)
		sb_puts(out, types.data);
	if (bpf.data) {
		sb_puts(out, "#ifdef __bpf__\n#ifndef __VMLINUX_H__\n#include <linux/bpf.h>\n#endif\n"
			     "#include <bpf/bpf_helpers.h>\n\n");
		sb_puts(out, bpf.data);
		sb_puts(out, "#endif /* __bpf__ */\n\n");
	}
	sb_puts(out, "#ifdef __cplusplus\n}\n#endif\n\n");
	sb_printf(out, "#endif /* %s */\n", guard);
	sb_free(&types);
	sb_free(&bpf);
}
