/* Unit tests for btf_reader.c: its answers against libbpf's on the same
 * bytes - a BTF written here with a type of every kind, and the running
 * kernel's where it can be read - and reading damaged BTF right before a
 * page no one may read, so that a read past the data is a crash. */
#include <criterion/criterion.h>
#include <errno.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "btf_reader.h"
#include "unit.h"

/* One type of every kind libbpf 1.1 writes, vlen > 0 where there is one. */
static struct btf *every_kind(void)
{
	struct btf *b = btf__new_empty();
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	btf__add_float(b, "double", 8);
	int ptr = btf__add_ptr(b, u32);
	btf__add_array(b, u32, chr, 16);
	btf__add_struct(b, "pair", 8);
	btf__add_field(b, "a", u32, 0, 0);
	btf__add_field(b, "b", u32, 32, 0);
	btf__add_union(b, "either", 4);
	btf__add_field(b, "a", u32, 0, 0);
	btf__add_enum(b, "colour", 4);
	btf__add_enum_value(b, "RED", 0);
	btf__add_enum_value(b, "GREEN", 1);
	btf__add_enum64(b, "wide", 8, false);
	btf__add_enum64_value(b, "BIG", 1ULL << 40);
	btf__add_fwd(b, "pair", BTF_FWD_STRUCT);
	int td = btf__add_typedef(b, "u32_t", u32);
	btf__add_volatile(b, td);
	btf__add_const(b, td);
	btf__add_restrict(b, ptr);
	btf__add_type_tag(b, "user", ptr);
	int proto = btf__add_func_proto(b, u32);
	btf__add_func_param(b, "x", u32);
	btf__add_func_param(b, "y", ptr);
	int fn = btf__add_func(b, "pair_sum", BTF_FUNC_GLOBAL, proto);
	btf__add_decl_tag(b, "hot", fn, -1);
	int var = btf__add_var(b, "counter", BTF_VAR_GLOBAL_ALLOCATED, u32);
	btf__add_datasec(b, ".data", 4);
	btf__add_datasec_var_info(b, var, 0, 4);
	/* a second struct of a name already used: find gives the first */
	btf__add_struct(b, "pair", 0);
	return b;
}

/* Every type of r is libbpf's, byte for byte, by id and in id order; and
 * names are found where libbpf finds them. */
static void same_as_libbpf(BtfReader *r, const struct btf *b)
{
	__u32 n = btf__type_cnt(b);
	BtfCursor c = { 0 };
	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *want = btf__type_by_id(b, id);
		cr_assert(btf_reader_next(r, &c), "the cursor stops before type %u", id);
		cr_assert_eq(c.id, id);
		cr_assert_eq(memcmp(c.type, want, sizeof(*want)), 0, "type %u differs", id);
		const struct btf_type *by_id = btf_reader_type(r, id);
		cr_assert_eq(by_id, c.type, "type %u by id is not the cursor's", id);
		cr_assert_str_eq(btf_reader_name(r, by_id->name_off), btf__name_by_offset(b, want->name_off));
		if (btf_is_composite(want))
			cr_assert_eq(memcmp(btf_members(by_id), btf_members(want), btf_vlen(want) * sizeof(struct btf_member)),
				     0, "members of %u differ", id);
	}
	cr_assert_not(btf_reader_next(r, &c), "a type after the last");
	cr_assert_null(btf_reader_type(r, n));
	const struct btf_type *v = btf_reader_type(r, 0);
	cr_assert(v && BTF_INFO_KIND(v->info) == BTF_KIND_UNKN, "id 0 is void");
	cr_assert_null(btf_reader_name(r, r->strings_len));
}

static void finds_as_libbpf(BtfReader *r, const struct btf *b, const char *name, unsigned kind)
{
	__s32 want = btf__find_by_name_kind(b, name, kind);
	cr_assert_eq(btf_reader_find(r, name, kind), want < 0 ? -ENOENT : want, "%s of kind %u", name, kind);
}

Test(btf_reader, every_kind_as_libbpf_reads_it)
{
	struct btf *b = every_kind();
	__u32 size;
	const void *raw = btf__raw_data(b, &size);
	BtfReader r;
	cr_assert(btf_reader_open(&r, raw, size));
	/* a name first: the walk it does is the one the ids then use */
	finds_as_libbpf(&r, b, "pair", BTF_KIND_STRUCT);
	same_as_libbpf(&r, b);
	finds_as_libbpf(&r, b, "pair", BTF_KIND_FWD);
	finds_as_libbpf(&r, b, "pair_sum", BTF_KIND_FUNC);
	finds_as_libbpf(&r, b, "u32_t", BTF_KIND_TYPEDEF);
	finds_as_libbpf(&r, b, "pair", BTF_KIND_UNION);
	finds_as_libbpf(&r, b, "void", BTF_KIND_STRUCT);
	finds_as_libbpf(&r, b, "", BTF_KIND_PTR);
	finds_as_libbpf(&r, b, "nothing", BTF_KIND_STRUCT);
	btf_reader_close(&r);
	btf__free(b);
}

Test(btf_reader, the_running_kernels_as_libbpf_reads_it)
{
	struct btf *b = btf__parse("/sys/kernel/btf/vmlinux", NULL);
	if (libbpf_get_error(b))
		cr_skip_test("/sys/kernel/btf/vmlinux cannot be read here");
	__u32 size;
	const void *raw = btf__raw_data(b, &size);
	BtfReader r;
	cr_assert(btf_reader_open(&r, raw, size));
	finds_as_libbpf(&r, b, "task_struct", BTF_KIND_STRUCT);
	finds_as_libbpf(&r, b, "tcp_v4_connect", BTF_KIND_FUNC);
	finds_as_libbpf(&r, b, "btf_trace_sched_process_exec", BTF_KIND_TYPEDEF);
	finds_as_libbpf(&r, b, "task_strct", BTF_KIND_STRUCT);
	same_as_libbpf(&r, b);
	btf_reader_close(&r);
	btf__free(b);
}

/* size bytes of data copied to the end of a page that a page no one may
 * read follows. */
static unsigned char *before_guard(const void *data, size_t size, void **map, size_t *map_len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t pages = (size + page - 1) / page + 1;
	*map_len = pages * page;
	*map = mmap(NULL, *map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(*map, MAP_FAILED);
	cr_assert_eq(mprotect((char *)*map + (pages - 1) * page, page, PROT_NONE), 0);
	/* 4-aligned, as the type section must be */
	unsigned char *at = (unsigned char *)*map + (pages - 1) * page - ((size + 3) & ~(size_t)3);
	memcpy(at, data, size);
	return at;
}

/* Whatever the reader says of it, it reads nothing outside it. */
static void read_all_of(const unsigned char *data, size_t size)
{
	BtfReader r;
	if (!btf_reader_open(&r, data, size))
		return;
	uint32_t last = 0;
	for (BtfCursor c = { 0 }; btf_reader_next(&r, &c);) {
		last = c.id;
		const char *name = btf_reader_name(&r, c.type->name_off);
		if (name)
			(void)strlen(name);
	}
	for (uint32_t id = 0; id <= last + 1; id++)
		(void)btf_reader_type(&r, id);
	(void)btf_reader_find(&r, "pair", BTF_KIND_STRUCT);
	(void)btf_reader_find(&r, "nothing", BTF_KIND_FUNC);
	btf_reader_close(&r);
}

Test(btf_reader, damaged_btf_is_never_read_past)
{
	struct btf *b = every_kind();
	__u32 size;
	const unsigned char *raw = btf__raw_data(b, &size);
	unsigned char *copy = malloc(size);
	/* cut short anywhere */
	for (size_t len = 0; len <= size; len++) {
		void *map;
		size_t map_len;
		read_all_of(before_guard(raw, len, &map, &map_len), len);
		munmap(map, map_len);
	}
	/* any one byte changed: header fields, kinds, vlens, name offsets */
	for (size_t i = 0; i < size; i++) {
		for (int v = 0; v < 3; v++) {
			static const unsigned char values[] = { 0x00, 0x7f, 0xff };
			memcpy(copy, raw, size);
			copy[i] = values[v];
			void *map;
			size_t map_len;
			read_all_of(before_guard(copy, size, &map, &map_len), size);
			munmap(map, map_len);
		}
	}
	free(copy);
	btf__free(b);
}

Test(btf_reader, refuses_what_is_not_btf)
{
	BtfReader r;
	static const char text[] = "not BTF at all, and long enough for a header";
	cr_assert_not(btf_reader_open(&r, text, sizeof(text)));
	cr_assert_not(btf_reader_open(&r, NULL, 0));
	struct btf *b = every_kind();
	__u32 size;
	const unsigned char *raw = btf__raw_data(b, &size);
	cr_assert_not(btf_reader_open(&r, raw, sizeof(struct btf_header) - 1));
	/* the string section must start and end with '\0' */
	unsigned char *copy = malloc(size);
	memcpy(copy, raw, size);
	copy[size - 1] = 'x';
	cr_assert_not(btf_reader_open(&r, copy, size));
	free(copy);
	btf__free(b);
}
