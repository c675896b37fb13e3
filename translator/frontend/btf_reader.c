/* btf_reader.c - raw BTF read where it lies (see btf_reader.h).
 *
 * The layout (the kernel's Documentation/bpf/btf.rst): a header giving
 * the offsets and lengths of the type and string sections after it; the
 * type section is a sequence of struct btf_type, each followed by data
 * whose size depends on its kind and vlen (members, parameters,
 * enumerators...), the first being type id 1; names are offsets into the
 * string section.
 *
 * Types differ in size, so finding id N means walking from a known
 * offset. The reader walks the section once, lazily - only as far as a
 * lookup needs, since the types a program asks for are mostly near the
 * start - checking that every type and what follows it lies inside the
 * section, so nothing reads past it, and keeps the offset of every
 * BTF_READER_STRIDE-th type: a lookup by id walks at most STRIDE - 1
 * types from there. A lookup by name walks the section as libbpf's does,
 * type after type; a program asks for a few names, and a walk reads only
 * the bytes it steps on, where a copy would write every page.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "btf_reader.h"
#include "vbpf2c.h"

enum { BTF_READER_STRIDE = 64 };

/* What btf__type_by_id(btf, 0) gives: void, of kind UNKN. */
static const struct btf_type void_type;

/* Kinds as bits of a mask, to compute a type's size without a branch or
 * a table load: walking the types is a chain of (load the header, add its
 * size), and its links are what a lookup costs. */
#define KIND_BIT(k) (1u << BTF_KIND_##k)
/* followed by one 4-byte word: the INT encoding, the VAR linkage, the
 * DECL_TAG component index */
static const uint32_t one_word = KIND_BIT(INT) | KIND_BIT(VAR) | KIND_BIT(DECL_TAG);
/* vlen entries of 8 bytes: enumerators, parameters */
static const uint32_t vlen_8 = KIND_BIT(ENUM) | KIND_BIT(FUNC_PROTO);
/* vlen entries of 12 bytes: members, 64-bit enumerators, section variables */
static const uint32_t vlen_12 = KIND_BIT(STRUCT) | KIND_BIT(UNION) | KIND_BIT(ENUM64) | KIND_BIT(DATASEC);
/* every kind libbpf 1.1 knows (a FUNC's vlen is its linkage, not a count) */
static const uint32_t known_kinds = one_word | vlen_8 | vlen_12 | KIND_BIT(ARRAY) | KIND_BIT(FWD) |
				    KIND_BIT(CONST) | KIND_BIT(VOLATILE) | KIND_BIT(RESTRICT) | KIND_BIT(PTR) |
				    KIND_BIT(TYPEDEF) | KIND_BIT(FUNC) | KIND_BIT(FLOAT) | KIND_BIT(TYPE_TAG);

static_assert(sizeof(struct btf_enum) == 8 && sizeof(struct btf_param) == 8 &&
		      sizeof(struct btf_member) == 12 && sizeof(struct btf_enum64) == 12 &&
		      sizeof(struct btf_var_secinfo) == 12 && sizeof(struct btf_array) == 12 &&
		      sizeof(struct btf_var) == 4 && sizeof(struct btf_decl_tag) == 4,
	      "the sizes the masks stand for");

/* The bytes a type of this header takes, what follows it included, for a
 * kind in known_kinds. */
static inline __attribute__((always_inline)) size_t type_size(const struct btf_type *t)
{
	uint32_t bit = 1u << BTF_INFO_KIND(t->info);
	size_t vlen = BTF_INFO_VLEN(t->info);
	return sizeof(struct btf_type) + 4 * !!(bit & one_word) + 12 * !!(bit & KIND_BIT(ARRAY)) +
	       vlen * (8 * !!(bit & vlen_8) + 12 * !!(bit & vlen_12));
}

static bool kind_known(const struct btf_type *t)
{
	return (known_kinds >> BTF_INFO_KIND(t->info)) & 1;
}

static const struct btf_type *type_at(const BtfReader *r, size_t offset)
{
	return (const struct btf_type *)(const void *)(r->types + offset);
}

/* The header's sections inside the size bytes at data, as libbpf checks
 * them (btf_parse_hdr, btf_parse_str_sec). */
static bool find_sections(BtfReader *r, const unsigned char *data, size_t size)
{
	struct btf_header hdr;
	if (size < sizeof(hdr))
		return false;
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.magic != BTF_MAGIC || hdr.version != BTF_VERSION || hdr.hdr_len < sizeof(hdr) ||
	    hdr.hdr_len > size)
		return false;
	/* a longer header than this one knows: the rest must be zero */
	for (size_t i = sizeof(hdr); i < hdr.hdr_len; i++)
		if (data[i])
			return false;
	uint64_t meta = size - hdr.hdr_len;
	if ((uint64_t)hdr.type_off + hdr.type_len > meta || (uint64_t)hdr.str_off + hdr.str_len > meta ||
	    hdr.type_off % 4 != 0)
		return false;
	r->types = data + hdr.hdr_len + hdr.type_off;
	r->types_len = hdr.type_len;
	r->strings = (const char *)data + hdr.hdr_len + hdr.str_off;
	r->strings_len = hdr.str_len;
	/* struct btf_type is read in place: it must be aligned */
	if ((uintptr_t)r->types % _Alignof(struct btf_type) != 0)
		return false;
	return r->strings_len > 0 && r->strings[0] == '\0' && r->strings[r->strings_len - 1] == '\0';
}

bool btf_reader_open(BtfReader *r, const void *data, size_t size)
{
	memset(r, 0, sizeof(*r));
	if (!data || !find_sections(r, data, size))
		return false;
	/* every type takes at least a header: room for the most there can be */
	size_t most = r->types_len / sizeof(struct btf_type) / BTF_READER_STRIDE + 1;
	r->checkpoints = malloc(most * sizeof(*r->checkpoints));
	if (!r->checkpoints) {
		fputs("vbpf2c: out of memory\n", stderr);
		exit(2);
	}
	return true;
}

void btf_reader_close(BtfReader *r)
{
	free(r->checkpoints);
	memset(r, 0, sizeof(*r));
}

/* Checks the type after the last one checked: true when it lies inside
 * the section and is of a kind libbpf knows. A type that does not is
 * taken for the end of the section (libbpf would refuse the whole BTF;
 * the kernel checks its own before it lets anyone read it). */
static bool walk_one(BtfReader *r)
{
	if (r->complete)
		return false;
	size_t left = r->types_len - r->walked_end;
	const struct btf_type *t = type_at(r, r->walked_end);
	size_t size = left < sizeof(*t) || !kind_known(t) ? 0 : type_size(t);
	if (size == 0 || size > left) {
		r->complete = true;
		return false;
	}
	if (r->walked % BTF_READER_STRIDE == 0)
		r->checkpoints[r->walked / BTF_READER_STRIDE] = r->walked_end;
	r->walked++;
	r->walked_end += (uint32_t)size;
	return true;
}

bool btf_reader_next(BtfReader *r, BtfCursor *c)
{
	if (c->type)
		c->offset += (uint32_t)type_size(c->type);
	if (c->id == r->walked && !walk_one(r))
		return false;
	c->id++;
	c->type = type_at(r, c->offset);
	return true;
}

const struct btf_type *btf_reader_type(BtfReader *r, uint32_t id)
{
	if (id == 0)
		return &void_type;
	while (id > r->walked)
		if (!walk_one(r))
			return NULL;
	uint32_t index = id - 1;
	size_t offset = r->checkpoints[index / BTF_READER_STRIDE];
	for (uint32_t i = 0; i < index % BTF_READER_STRIDE; i++)
		offset += type_size(type_at(r, offset));
	return type_at(r, offset);
}

const char *btf_reader_name(const BtfReader *r, uint32_t offset)
{
	return offset < r->strings_len ? r->strings + offset : NULL;
}

int32_t btf_reader_find(BtfReader *r, const char *name, unsigned kind)
{
	if (kind == BTF_KIND_UNKN || strcmp(name, "void") == 0)
		return 0;
	for (BtfCursor c = { 0 }; btf_reader_next(r, &c);) {
		if (BTF_INFO_KIND(c.type->info) != kind)
			continue;
		/* most names differ in the first byte: no call for those */
		const char *type_name = btf_reader_name(r, c.type->name_off);
		if (type_name && type_name[0] == name[0] && strcmp(type_name, name) == 0)
			return (int32_t)c.id;
	}
	return -ENOENT;
}
