/* map_dump.c - print map entries with their BTF types, the way bpftool
 * map dump does, through libbpf's btf_dump__dump_type_data. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "vbpf_runtime.h"

static bool is_percpu(enum bpf_map_type type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

size_t vbpf_map__user_value_size(const struct bpf_map *map)
{
	size_t size = bpf_map__value_size(map);
	if (!is_percpu(bpf_map__type(map)))
		return size;
	int cpus = libbpf_num_possible_cpus();
	return ((size + 7) & ~(size_t)7) * (size_t)(cpus > 0 ? cpus : 1);
}

static void print_to_file(void *ctx, const char *fmt, va_list args)
{
	vfprintf(ctx, fmt, args);
}

static void print_hex(const void *data, size_t size, FILE *out)
{
	const unsigned char *p = data;
	fputc('[', out);
	for (size_t i = 0; i < size; i++)
		fprintf(out, i ? " %02x" : "%02x", p[i]);
	fputc(']', out);
}

void vbpf_map__print_typed(const struct bpf_map *map, const struct btf *btf, bool is_key,
			   const void *data, size_t size, FILE *out)
{
	__u32 type_id = is_key ? bpf_map__btf_key_type_id(map) : bpf_map__btf_value_type_id(map);
	/* a record by its field names: pid=4242 comm="bash" */
	if (vbpf_btf__print_fields(btf, type_id, data, size, out))
		return;
	struct btf_dump *d = btf && type_id ? btf_dump__new(btf, print_to_file, out, NULL) : NULL;
	if (!d) {
		print_hex(data, size, out);
		return;
	}
	LIBBPF_OPTS(btf_dump_type_data_opts, opts, .compact = true, .skip_names = true,
		    .emit_zeroes = true);
	if (btf_dump__dump_type_data(d, type_id, data, size, &opts) < 0)
		print_hex(data, size, out);
	btf_dump__free(d);
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static const char *type_name(const struct btf *btf, __u32 id)
{
	if (!btf || !id)
		return "-";
	const struct btf_type *t = btf__type_by_id(btf, id);
	while (t && btf_is_mod(t)) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (!t)
		return "?";
	const char *name = btf__name_by_offset(btf, t->name_off);
	return name && name[0] ? name : btf_is_struct(t) ? "struct" : "?";
}

int vbpf_map__dump(const struct bpf_map *map, const struct btf *btf, FILE *out, unsigned flags)
{
	enum bpf_map_type type = bpf_map__type(map);
	size_t key_size = bpf_map__key_size(map);
	size_t value_size = bpf_map__value_size(map);
	fprintf(out, "%s (%s, %s -> %s, %u entries):\n", bpf_map__name(map),
		libbpf_bpf_map_type_str(type), type_name(btf, bpf_map__btf_key_type_id(map)),
		type_name(btf, bpf_map__btf_value_type_id(map)), bpf_map__max_entries(map));
	if (type == BPF_MAP_TYPE_RINGBUF) {
		/* Printing the records consumes them. */
		struct vbpf_event *events;
		int n = vbpf_ringbuf__drain(map, &events);
		for (int i = 0; i < n; i++) {
			fputs("  event: ", out);
			if (!vbpf_event__print_record(&events[i], bpf_map__name(map), btf, out))
				vbpf_event__print(&events[i], btf, 0, out);
			fputc('\n', out);
		}
		if (n > 0)
			vbpf_events__free(events, n);
		if (n == 0)
			fputs("  (no events)\n", out);
		return n < 0 ? n : 0;
	}
	if (!key_size || type == BPF_MAP_TYPE_PERF_EVENT_ARRAY || type == BPF_MAP_TYPE_PROG_ARRAY)
		return 0;

	size_t user_size = vbpf_map__user_value_size(map);
	size_t stride = is_percpu(type) ? (value_size + 7) & ~(size_t)7 : value_size;
	unsigned char *key = calloc(1, key_size), *next = calloc(1, key_size);
	unsigned char *value = calloc(1, user_size);
	int err = 0, count = 0, printed = 0;
	if (!key || !next || !value) {
		err = -ENOMEM;
		goto out;
	}
	for (void *cur = NULL; bpf_map__get_next_key(map, cur, next, key_size) == 0; cur = key) {
		memcpy(key, next, key_size);
		if (bpf_map__lookup_elem(map, key, key_size, value, user_size, 0))
			continue;
		count++;
		if ((flags & VBPF_DUMP_SKIP_ZERO) && all_zero(value, user_size))
			continue;
		printed++;
		/* .bss/.data/.rodata: one entry, the section's variables. */
		if (bpf_map__is_internal(map)) {
			fputs("  ", out);
		} else {
			fputs("  [", out);
			vbpf_map__print_typed(map, btf, true, key, key_size, out);
			fputs("] = ", out);
		}
		for (size_t off = 0; off < user_size; off += stride) {
			if (off)
				fputs(", ", out);
			vbpf_map__print_typed(map, btf, false, value + off, value_size, out);
		}
		fputc('\n', out);
	}
	if (count == 0)
		fputs("  (empty)\n", out);
	else if (printed == 0)
		fprintf(out, "  (all %d entries zero)\n", count);
out:
	free(key);
	free(next);
	free(value);
	return err;
}
