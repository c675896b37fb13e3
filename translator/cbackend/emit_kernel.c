/* emit_kernel.c - the C of kernel types (LANGUAGE.md section 11).
 *
 * Two things the C backend (emit_c.c) asks for:
 *
 *   the declarations  of the kernel structs a program uses, with only the
 *                     members it reads, each struct marked
 *                     __attribute__((preserve_access_index)) so that clang
 *                     records every access as a CO-RE relocation; no
 *                     vmlinux.h. Structs are declared in first-use order,
 *                     an embedded struct before the struct that embeds it
 *                     (C needs it complete), a struct with no member read
 *                     as a forward declaration;
 *   the reads         of a `.` chain through kernel structs, as libbpf's
 *                     bpf_core_read.h macros: BPF_CORE_READ(t, real_parent,
 *                     tgid) (one argument per pointer followed, embedded
 *                     members joined with '.'), BPF_CORE_READ_BITFIELD_PROBED
 *                     for a bitfield, bpf_core_field_exists and
 *                     BPF_CORE_READ_STR_INTO.
 *
 * The chain's base (a variable, bpf_get_current_task_btf(), a k/arg) is
 * lowered by emit_c.c, which passes its text in.
 */
#include <string.h>

#include "vbpf2c.h"

/* ---- declarations ----------------------------------------------------------- */

static void declare_struct(StrBuf *out, Record *r, Vec *done)
{
	for (int i = 0; i < done->len; i++)
		if (done->items[i] == r)
			return;
	vec_push(done, r);
	/* embedded structs first: C needs them complete */
	for (int i = 0; i < r->nfields; i++) {
		Type *t = r->fields[i]->type;
		if (t && t->kind == TY_RECORD && t->record && t->record->kernel_btf_id)
			declare_struct(out, t->record, done);
	}
	if (r->nfields == 0) {
		sb_printf(out, "%s;\n\n", r->c_name);
		return;
	}
	sb_printf(out, "%s {\n", r->c_name);
	for (int i = 0; i < r->nfields; i++)
		sb_printf(out, "\t%s;\n", r->fields[i]->c_decl);
	sb_puts(out, "} __attribute__((preserve_access_index));\n\n");
}

void emit_kernel_structs(const Module *m, StrBuf *out)
{
	Vec done = { 0 };
	for (int i = 0; i < m->kernel_records.len; i++)
		declare_struct(out, m->kernel_records.items[i], &done);
}

/* ---- reads ------------------------------------------------------------------ */

bool is_kernel_member(const Node *n)
{
	return n && n->kind == N_FIELD && n->field && n->field->c_decl;
}

const Node *core_chain_base(const Node *n)
{
	while (is_kernel_member(n))
		n = n->lhs;
	return n;
}

/* The accessor arguments of the chain ending at n: "real_parent, tgid",
 * "se.vruntime"; *last_group gets where the final argument starts in that
 * text and *group_start the step that starts it. */
static const char *accessors(const Node *n, size_t *last_group, const Node **group_start)
{
	const Node *steps[64];
	int count = 0;
	for (const Node *s = n; is_kernel_member(s) && count < 64; s = s->lhs)
		steps[count++] = s;
	StrBuf sb = { 0 };
	*last_group = 0;
	*group_start = count ? steps[count - 1] : n;
	for (int i = count - 1; i >= 0; i--) {
		const Node *s = steps[i];
		/* the step before was an embedded struct: same argument */
		bool embedded = i < count - 1 && steps[i + 1]->field->type->kind == TY_RECORD;
		if (i < count - 1 && !embedded) {
			sb_puts(&sb, ", ");
			*last_group = sb.len;
			*group_start = s;
		} else if (embedded) {
			sb_putc(&sb, '.');
		}
		sb_puts(&sb, s->field->c_member);
	}
	const char *text = arena_strdup(sb.data ? sb.data : "");
	sb_free(&sb);
	return text;
}

/* The struct pointer the chain's final group is read from (base itself,
 * or a BPF_CORE_READ of the pointers before it), and that group. */
static const char *final_struct(const Node *n, const char *base, const char **group)
{
	size_t last;
	const Node *start;
	const char *acc = accessors(n, &last, &start);
	*group = acc + last;
	if (last == 0)
		return base;
	return arena_printf("BPF_CORE_READ(%s, %.*s)", base, (int)(last - 2), acc);
}

/* A bitfield behind pointers: the BPF_CORE_READ of the struct pointer
 * its final group is read from, *holder the step that reads it. clang 14
 * refuses that read nested in the bitfield read ("nested
 * builtin_preserve_access_index() not supported"), so the caller puts it
 * in a local and reads the bitfield from that (emit_core_read_bitfield).
 * NULL when the group is read from base itself. */
const char *core_bitfield_struct(const Node *n, const char *base, const Node **holder)
{
	const char *group;
	const char *s = final_struct(n, base, &group);
	size_t last;
	const Node *start;
	accessors(n, &last, &start);
	*holder = start->lhs;
	return s == base ? NULL : s;
}

/* The bitfield n read from the struct pointer s its final group is in. */
const char *emit_core_read_bitfield(const Node *n, const char *s)
{
	size_t last;
	const Node *start;
	const char *acc = accessors(n, &last, &start);
	return arena_printf("(%s)BPF_CORE_READ_BITFIELD_PROBED(%s, %s)", n->type->c_name, s, acc + last);
}

const char *emit_core_read(const Node *n, const char *base)
{
	const Field *f = n->field;
	if (f->bitfield) {
		const char *group;
		return emit_core_read_bitfield(n, final_struct(n, base, &group));
	}
	size_t last;
	const Node *start;
	return arena_printf("BPF_CORE_READ(%s, %s)", base, accessors(n, &last, &start));
}

/* The member's existence is a property of the type: behind pointers, the
 * struct the final member belongs to is named by a null pointer of its
 * type (the builtin never evaluates it). */
const char *emit_core_exists(const Node *n, const char *base)
{
	size_t last;
	const Node *start;
	const char *acc = accessors(n, &last, &start);
	if (last == 0)
		return arena_printf("bpf_core_field_exists(%s->%s)", base, acc);
	return arena_printf("bpf_core_field_exists(((%s)0)->%s)", start->lhs->type->c_name, acc + last);
}

/* Does emit_core_exists write base? Behind a pointer it names the struct
 * by a null pointer instead, and base is no use of its variable. */
bool core_exists_reads_base(const Node *n)
{
	size_t last;
	const Node *start;
	accessors(n, &last, &start);
	return last == 0;
}

const char *emit_core_read_str(const char *dst, const Node *n, const char *base)
{
	size_t last;
	const Node *start;
	return arena_printf("BPF_CORE_READ_STR_INTO(%s, %s, %s)", dst, base, accessors(n, &last, &start));
}
