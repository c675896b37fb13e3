/* btf_reader.h - raw BTF read where it lies (btf_reader.c).
 *
 * ktypes.c asks a kernel's BTF a handful of questions per program: a
 * struct, a function or a tracepoint by name, and the types those lead to.
 * libbpf's btf__new answers them too, but first copies and indexes all of
 * the 5 MB of vmlinux BTF, which cost a translation more time than
 * translating. This reader answers them on the bytes as they are - the
 * read-only mapping of /sys/kernel/btf/vmlinux, or the raw data of a BTF
 * libbpf read - walking the type section only as far as a question needs,
 * checking bounds as it goes. Its answers are libbpf's: the same ids, the
 * same NULLs, the same void.
 */
#ifndef VBPF2C_BTF_READER_H
#define VBPF2C_BTF_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/btf.h>

typedef struct BtfReader {
	const unsigned char *types; /* the type section */
	uint32_t types_len;
	const char *strings;        /* the string section, '\0' at both ends */
	uint32_t strings_len;
	uint32_t walked;            /* types 1 to walked are checked, */
	uint32_t walked_end;        /* and end at this offset in types */
	bool complete;              /* no more types after walked */
	uint32_t *checkpoints;      /* offset in types of every
	                             * BTF_READER_STRIDE-th type (malloc) */
} BtfReader;

/* Views size bytes of raw, host-endian BTF at data, which must stay where
 * it is until btf_reader_close. False when its header or string section
 * is not well-formed (then nothing needs closing). The types are checked
 * as lookups reach them. */
bool btf_reader_open(BtfReader *r, const void *data, size_t size);
void btf_reader_close(BtfReader *r);

/* Every type in id order: for (BtfCursor c = { 0 }; btf_reader_next(r,
 * &c);) sees c.id and c.type, a step each (btf_reader_type by id would
 * walk from a checkpoint). */
typedef struct BtfCursor {
	uint32_t id;
	uint32_t offset;
	const struct btf_type *type;
} BtfCursor;
bool btf_reader_next(BtfReader *r, BtfCursor *c);

/* As btf__type_by_id: id 0 is void (a type of kind UNKN), an id past the
 * last type NULL. */
const struct btf_type *btf_reader_type(BtfReader *r, uint32_t id);

/* As btf__name_by_offset: NULL for an offset outside the strings. */
const char *btf_reader_name(const BtfReader *r, uint32_t offset);

/* As btf__find_by_name_kind: the first type of that kind and name, 0 for
 * "void" or BTF_KIND_UNKN, a negative errno (-ENOENT) when there is none. */
int32_t btf_reader_find(BtfReader *r, const char *name, unsigned kind);

#endif
