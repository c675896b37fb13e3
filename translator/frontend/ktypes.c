/* ktypes.c - kernel types read from BTF (LANGUAGE.md section 11).
 *
 * The checker asks this module what `:k/NAME` is and what type each member
 * read through CO-RE has; the C emitter prints, from what was asked, the
 * declarations of exactly the structs and members the program uses. Nothing
 * here parses a header: the kernel's BTF (/sys/kernel/btf/vmlinux, or the
 * file given with --btf) is read once, and asked through btf_reader.c
 * (libbpf's BTF API reads it where the reader cannot map it).
 *
 * A kernel struct is a Record with kernel_btf_id set; its fields are the
 * members used so far, in first-use order, each with the C declaration the
 * emitter writes (typedefs and enums resolved to fixed-width integers, so
 * no kernel typedef has to be declared). Members of anonymous structs and
 * unions are declared directly in the outer struct: libbpf matches a CO-RE
 * field access by name through the target's anonymous members, so the
 * flattened local declaration relocates like the kernel's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "btf_reader.h"
#include "vbpf2c.h"

static const char *btf_path;     /* NULL: the running kernel's */
/* The BTF, read once; it outlives arena_reset. kernel_btf reads either
 * vmlinux_map or the raw data of libbpf_btf. */
static BtfReader kernel_btf;
static bool kernel_btf_read;
static void *vmlinux_map;
static size_t vmlinux_map_len;
static struct btf *libbpf_btf;
static char btf_error[256];      /* why reading it failed, once it has */

static void release_btf(void)
{
	btf_reader_close(&kernel_btf);
	kernel_btf_read = false;
	if (vmlinux_map)
		munmap(vmlinux_map, vmlinux_map_len);
	vmlinux_map = NULL;
	btf__free(libbpf_btf);
	libbpf_btf = NULL;
}

void ktypes_set_btf_path(const char *path)
{
	btf_path = path;
	release_btf(); /* the next kernel type reads the new one */
	btf_error[0] = '\0';
}

static const char *btf_shown_path(void)
{
	return btf_path ? btf_path : "/sys/kernel/btf/vmlinux";
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

/* The running kernel's BTF, read in place (btf_reader.c) from a read-only
 * private mapping of /sys/kernel/btf/vmlinux where the kernel allows one
 * (6.16 and later): no copy, and only the pages a lookup steps on are
 * read. Copying its 5 MB into fresh pages (btf__new) cost more than the
 * rest of a translation. False: read it as libbpf does. */
static bool map_vmlinux_btf(void)
{
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	void *data = MAP_FAILED;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (data == MAP_FAILED)
		return false;
	if (!btf_reader_open(&kernel_btf, data, (size_t)st.st_size)) {
		munmap(data, (size_t)st.st_size);
		return false;
	}
	vmlinux_map = data;
	vmlinux_map_len = (size_t)st.st_size;
	return true;
}

/* BTF libbpf read (a --btf file, raw or ELF; the running kernel's where
 * it cannot be mapped), read through its raw data in this machine's byte
 * order. 0, or a negative errno. */
static int read_libbpf_btf(struct btf *btf)
{
	int err = libbpf_get_error(btf);
	if (err || !btf)
		return err ? err : -EINVAL;
	libbpf_btf = btf;
	btf__set_endianness(btf, __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? BTF_LITTLE_ENDIAN : BTF_BIG_ENDIAN);
	__u32 size;
	const void *raw = btf__raw_data(btf, &size);
	if (!raw)
		return -ENOMEM;
	return btf_reader_open(&kernel_btf, raw, size) ? 0 : -EINVAL;
}

/* The BTF, read at the first use. When it cannot be read, the first use
 * in each translation says why; the others stay silent. */
static BtfReader *load_btf(Module *m, Span at)
{
	if (!kernel_btf_read && !btf_error[0]) {
		/* libbpf's own messages would repeat ours, unlocated */
		libbpf_print_fn_t old = libbpf_set_print(quiet);
		int err = 0;
		if (btf_path)
			err = read_libbpf_btf(btf__parse(btf_path, NULL));
		else if (!map_vmlinux_btf())
			err = read_libbpf_btf(btf__load_vmlinux_btf());
		libbpf_set_print(old);
		if (err) {
			release_btf();
			libbpf_strerror(err, btf_error, sizeof(btf_error));
		} else {
			kernel_btf_read = true;
		}
	}
	if (!kernel_btf_read && !m->kernel_btf_reported) {
		m->kernel_btf_reported = true;
		diag_error(at, "cannot read the kernel's BTF from %s: %s", btf_shown_path(), btf_error);
		diag_hint("kernel types need BTF: a kernel built with CONFIG_DEBUG_INFO_BTF, or --btf FILE");
	}
	return kernel_btf_read ? &kernel_btf : NULL;
}

/* ---- did you mean --------------------------------------------------------- */

static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	int row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j];
			int best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The three closest names seen by offer(), closest first. */
typedef struct Nearest {
	const char *name[3];
	int dist[3];
	int limit;
} Nearest;

static void nearest_init(Nearest *n, const char *wanted)
{
	memset(n, 0, sizeof(*n));
	int len = (int)strlen(wanted);
	n->limit = len / 3 > 2 ? len / 3 : 2;
}

static void nearest_offer(Nearest *n, const char *wanted, const char *name)
{
	if (!name || !*name)
		return;
	int d = edit_distance(wanted, name);
	/* a name that contains the wanted one is near too ("pid" in "tgid") */
	if (d > n->limit && !strstr(name, wanted))
		return;
	for (int i = 0; i < 3; i++) {
		if (n->name[i] && strcmp(n->name[i], name) == 0)
			return;
		if (!n->name[i] || d < n->dist[i]) {
			for (int j = 2; j > i; j--) {
				n->name[j] = n->name[j - 1];
				n->dist[j] = n->dist[j - 1];
			}
			n->name[i] = name;
			n->dist[i] = d;
			return;
		}
	}
}

/* "`a`, `b` or `c`", or NULL when nothing was near */
static const char *nearest_text(const Nearest *n)
{
	int count = 0;
	while (count < 3 && n->name[count])
		count++;
	if (!count)
		return NULL;
	const char *s = arena_printf("`%s`", n->name[0]);
	for (int i = 1; i < count; i++)
		s = arena_printf("%s%s`%s`", s, i == count - 1 ? " or " : ", ", n->name[i]);
	return s;
}

/* ---- types ------------------------------------------------------------------ */

/* Past typedefs, const, volatile, restrict and type tags. */
static __u32 skip_mods(BtfReader *btf, __u32 id, const struct btf_type **out)
{
	const struct btf_type *t = btf_reader_type(btf, id);
	while (t && (btf_is_typedef(t) || btf_is_mod(t) || btf_is_type_tag(t))) {
		id = t->type;
		t = btf_reader_type(btf, id);
	}
	*out = t;
	return id;
}

static const char *btf_name(BtfReader *btf, const struct btf_type *t)
{
	const char *s = t ? btf_reader_name(btf, t->name_off) : NULL;
	return s ? s : "";
}

/* The structs <linux/bpf.h> defines (build/uapi_structs.gen.h). */
static const char *const uapi_structs[] = {
#include "uapi_structs.gen.h"
};

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

Record *ktypes_struct(Module *m, const char *name, Span at)
{
	for (int i = 0; i < m->kernel_records.len; i++) {
		Record *r = m->kernel_records.items[i];
		if (strcmp(r->name + 2, name) == 0)
			return r;
	}
	module_refuse_native(m, at, "kernel types (CO-RE relocations)");
	BtfReader *btf = load_btf(m, at);
	if (!btf)
		return NULL;
	__s32 id = btf_reader_find(btf, name, BTF_KIND_STRUCT);
	if (id <= 0) {
		diag_error(at, "unknown kernel struct `%s` in %s", name, btf_shown_path());
		Nearest near;
		nearest_init(&near, name);
		for (BtfCursor c = { 0 }; btf_reader_next(btf, &c);)
			if (btf_is_struct(c.type))
				nearest_offer(&near, name, btf_name(btf, c.type));
		const char *text = nearest_text(&near);
		if (text)
			diag_hint("did you mean %s?", text);
		return NULL;
	}
	/* the C includes <linux/bpf.h>, which defines it already */
	if (bsearch(&name, uapi_structs, sizeof(uapi_structs) / sizeof(*uapi_structs), sizeof(*uapi_structs),
		    compare_names)) {
		diag_error(at, "kernel struct `%s` cannot be a kernel type: <linux/bpf.h>, which the C includes, "
			   "defines it", name);
		diag_hint("the context records (XdpMd, SkBuff, BpfSock, ...) read these structs");
		return NULL;
	}
	const struct btf_type *t = btf_reader_type(btf, id);
	Record *r = arena_alloc(sizeof(*r));
	r->name = arena_printf("k/%s", name);
	r->c_name = arena_printf("struct %s", name);
	r->size = (int)t->size;
	r->align = 8;
	r->read_only = true;
	r->kernel_btf_id = id;
	vec_push(&m->kernel_records, r);
	return r;
}

bool type_is_kernel(const Type *t)
{
	if (t && t->kind == TY_PTR)
		t = t->pointee;
	return t && t->kind == TY_RECORD && t->record && t->record->kernel_btf_id > 0;
}

/* The fixed-width integer of a BTF int or enum. */
static Type *int_of(const struct btf_type *t)
{
	bool is_signed;
	if (btf_is_int(t))
		is_signed = (btf_int_encoding(t) & BTF_INT_SIGNED) != 0;
	else
		is_signed = btf_kflag(t); /* enums: kflag marks signed values */
	switch (t->size) {
	case 1: return is_signed ? ty_i8 : ty_u8;
	case 2: return is_signed ? ty_i16 : ty_u16;
	case 4: return is_signed ? ty_i32 : ty_u32;
	case 8: return is_signed ? ty_i64 : ty_u64;
	}
	return NULL;
}

/* The type and C declaration of a value of BTF type id named name (a member
 * or a parameter); NULL with *why set when the language has no such type. */
static Type *value_type(Module *m, BtfReader *btf, __u32 id, const char *name, const char **c_decl,
			int *array_len, const char **why, Span at)
{
	const struct btf_type *t;
	skip_mods(btf, id, &t);
	*array_len = 0;
	if (!t) {
		*why = "of no type";
		return NULL;
	}
	if (btf_is_int(t) || btf_is_any_enum(t)) {
		Type *it = int_of(t);
		if (!it) {
			*why = "an integer wider than 64 bits";
			return NULL;
		}
		*c_decl = arena_printf("%s %s", it->c_name, name);
		return it;
	}
	if (btf_is_ptr(t)) {
		const struct btf_type *target;
		skip_mods(btf, t->type, &target);
		/* a struct declared only (BTF_KIND_FWD, kflag 0) is found by name */
		bool fwd_struct = target && btf_is_fwd(target) && !btf_kflag(target);
		if (target && (btf_is_struct(target) || fwd_struct) && *btf_name(btf, target)) {
			Record *r = ktypes_struct(m, btf_name(btf, target), at);
			if (!r)
				return NULL;
			*c_decl = arena_printf("struct %s *%s", btf_name(btf, target), name);
			return type_ptr(type_record(r), false);
		}
		*why = "a pointer to something other than a named struct";
		return NULL;
	}
	if (btf_is_struct(t) && *btf_name(btf, t)) {
		Record *r = ktypes_struct(m, btf_name(btf, t), at);
		if (!r)
			return NULL;
		*c_decl = arena_printf("struct %s %s", btf_name(btf, t), name);
		return type_record(r);
	}
	if (btf_is_array(t)) {
		const struct btf_array *a = btf_array(t);
		const struct btf_type *elem;
		skip_mods(btf, a->type, &elem);
		if (elem && btf_is_int(elem) && elem->size == 1) {
			*array_len = (int)a->nelems;
			*c_decl = arena_printf("char %s[%u]", name, a->nelems);
			return ty_u8;
		}
		*why = "an array other than char[N]";
		return NULL;
	}
	*why = btf_is_union(t) ? "a union" : "of a kind vaisto cannot read";
	return NULL;
}

/* Finds member name in composite type t, descending into anonymous struct
 * and union members; offers every name seen to near. */
static const struct btf_member *find_member(BtfReader *btf, const struct btf_type *t, const char *name,
					    Nearest *near, const struct btf_type **owner, int *index)
{
	const struct btf_member *mem = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, mem++) {
		const char *mname = btf_reader_name(btf, mem->name_off);
		if (mname && *mname) {
			if (strcmp(mname, name) == 0) {
				*owner = t;
				*index = i;
				return mem;
			}
			nearest_offer(near, name, mname);
			continue;
		}
		const struct btf_type *inner;
		skip_mods(btf, mem->type, &inner);
		if (inner && btf_is_composite(inner)) {
			const struct btf_member *found = find_member(btf, inner, name, near, owner, index);
			if (found)
				return found;
		}
	}
	return NULL;
}

Field *ktypes_member(Module *m, Record *r, const char *name, Span at)
{
	for (int i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i]->name, name) == 0)
			return r->fields[i];
	BtfReader *btf = load_btf(m, at);
	if (!btf)
		return NULL;
	const struct btf_type *t = btf_reader_type(btf, (__u32)r->kernel_btf_id);
	Nearest near;
	nearest_init(&near, name);
	const struct btf_type *owner = NULL;
	int index = 0;
	const struct btf_member *mem = find_member(btf, t, name, &near, &owner, &index);
	if (!mem) {
		diag_error(at, "kernel struct `%s` has no member `%s`", r->name + 2, name);
		const char *text = nearest_text(&near);
		if (text)
			diag_hint("did you mean %s?", text);
		return NULL;
	}
	const char *c_decl = NULL, *why = NULL;
	int array_len = 0;
	Type *ft = value_type(m, btf, mem->type, name, &c_decl, &array_len, &why, at);
	if (!ft) {
		if (why)
			diag_error(at, "member `%s` of kernel struct `%s` is %s", name, r->name + 2, why);
		return NULL;
	}
	Field *f = arena_alloc(sizeof(*f));
	f->name = name;
	f->c_member = name;
	f->type = ft;
	f->offset = (int)(btf_member_bit_offset(owner, (__u32)index) / 8);
	f->array_len = array_len;
	__u32 bits = btf_member_bitfield_size(owner, (__u32)index);
	if (bits) {
		f->bitfield = true;
		f->c_decl = arena_printf("%s : %u", c_decl, bits);
	} else {
		f->c_decl = c_decl;
	}
	Field **grown = arena_alloc(sizeof(*grown) * (size_t)(r->nfields + 1));
	if (r->nfields)
		memcpy(grown, r->fields, sizeof(*grown) * (size_t)r->nfields);
	grown[r->nfields++] = f;
	r->fields = grown;
	return f;
}

/* Parameter i of a prototype, named name (arg<i> when unnamed). */
static Field *prototype_field(Module *m, BtfReader *btf, const char *name, __u32 type_id, int i, Span at)
{
	Field *f = arena_alloc(sizeof(*f));
	f->name = name && *name ? arena_strdup(name) : arena_printf("arg%d", i);
	const char *why = NULL;
	int array_len;
	f->type = value_type(m, btf, type_id, f->name, &f->c_decl, &array_len, &why, at);
	/* the kernel's spelling, for messages: "pid_t", "int", else the C */
	const struct btf_type *pt = btf_reader_type(btf, type_id);
	if (pt && (btf_is_typedef(pt) || btf_is_int(pt)) && *btf_name(btf, pt))
		f->c_member = arena_strdup(btf_name(btf, pt));
	else if (f->type)
		f->c_member = f->type->c_name;
	if (!f->type && why)
		f->c_decl = why;  /* no type: a parameter the entry cannot take */
	return f;
}

int ktypes_prototype(Module *m, const char *func, bool tp_btf, bool with_return, int want, Field ***params,
		     Span at)
{
	BtfReader *btf = load_btf(m, at);
	if (!btf)
		return -1;
	const char *what = tp_btf ? "tracepoint" : "kernel function";
	const char *lookup = tp_btf ? arena_printf("btf_trace_%s", func) : func;
	__s32 id = btf_reader_find(btf, lookup, tp_btf ? BTF_KIND_TYPEDEF : BTF_KIND_FUNC);
	const struct btf_type *t = id > 0 ? btf_reader_type(btf, (__u32)id) : NULL;
	if (t && tp_btf) {
		skip_mods(btf, t->type, &t); /* typedef -> pointer */
		if (t && btf_is_ptr(t))
			skip_mods(btf, t->type, &t);
	} else if (t) {
		t = btf_reader_type(btf, t->type);
	}
	if (!t || !btf_is_func_proto(t)) {
		diag_error(at, "unknown %s `%s` in %s", what, func, btf_shown_path());
		Nearest near;
		nearest_init(&near, func);
		for (BtfCursor c = { 0 }; btf_reader_next(btf, &c);) {
			if (tp_btf ? btf_is_typedef(c.type) : btf_is_func(c.type)) {
				const char *cn = btf_name(btf, c.type);
				if (!tp_btf)
					nearest_offer(&near, func, cn);
				else if (strncmp(cn, "btf_trace_", 10) == 0)
					nearest_offer(&near, func, cn + 10);
			}
		}
		if (near.name[0])
			diag_hint("did you mean `%s`?", near.name[0]);
		return -1;
	}
	/* a tracepoint's first parameter is the tracepoint's own data */
	int skip = tp_btf ? 1 : 0;
	int n = btf_vlen(t) - skip;
	if (n < 0)
		n = 0;
	/* fexit: the function's return value after its parameters */
	bool ret = with_return && t->type != 0;
	Field **out = arena_alloc(sizeof(*out) * (size_t)(n + 2));
	const struct btf_param *p = btf_params(t) + skip;
	for (int i = 0; i < n && i < want; i++, p++)
		out[i] = prototype_field(m, btf, btf_reader_name(btf, p->name_off), p->type, i, at);
	if (ret && want > n)
		out[n] = prototype_field(m, btf, KTYPES_RETURN_VALUE, t->type, n, at);
	*params = out;
	return n + ret;
}
