/* events.c - read the records a program wrote to a ring buffer, and print
 * them typed with BTF when the caller knows the record's type. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "vbpf_runtime.h"

struct drain {
	struct vbpf_event *events;
	int count;
	int error;
};

static int collect(void *ctx, void *data, size_t size)
{
	struct drain *d = ctx;
	struct vbpf_event *grown = realloc(d->events, (size_t)(d->count + 1) * sizeof(*grown));
	void *copy = malloc(size ? size : 1);
	if (!grown || !copy) {
		free(copy);
		if (grown)
			d->events = grown;
		d->error = -ENOMEM;
		return -ENOMEM;
	}
	d->events = grown;
	memcpy(copy, data, size);
	d->events[d->count].data = copy;
	d->events[d->count].size = size;
	d->count++;
	return 0;
}

/* ---- perf event arrays ---- */

struct vbpf_perfbuf {
	struct perf_buffer *pb;
	struct drain pending;
	unsigned long long lost;
};

static void perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
	(void)cpu;
	collect(&((struct vbpf_perfbuf *)ctx)->pending, data, size);
}

static void perf_lost(void *ctx, int cpu, __u64 count)
{
	(void)cpu;
	((struct vbpf_perfbuf *)ctx)->lost += count;
}

struct vbpf_perfbuf *vbpf_perfbuf__new(const struct bpf_map *map)
{
	if (bpf_map__type(map) != BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
		errno = EINVAL;
		return NULL;
	}
	struct vbpf_perfbuf *pb = calloc(1, sizeof(*pb));
	if (!pb)
		return NULL;
	/* 8 pages per CPU: plenty for test runs and a live view. */
	pb->pb = perf_buffer__new(bpf_map__fd(map), 8, perf_sample, perf_lost, pb, NULL);
	if (!pb->pb) {
		int err = errno;
		free(pb);
		errno = err;
		return NULL;
	}
	return pb;
}

int vbpf_perfbuf__drain(struct vbpf_perfbuf *pb, struct vbpf_event **events,
			unsigned long long *lost)
{
	*events = NULL;
	int err = perf_buffer__consume(pb->pb);
	struct drain d = pb->pending;
	pb->pending = (struct drain){ NULL, 0, 0 };
	if (lost) {
		*lost = pb->lost;
		pb->lost = 0;
	}
	if (err < 0 || d.error) {
		vbpf_events__free(d.events, d.count);
		return d.error ? d.error : err;
	}
	*events = d.events;
	return d.count;
}

void vbpf_perfbuf__free(struct vbpf_perfbuf *pb)
{
	if (!pb)
		return;
	perf_buffer__free(pb->pb);
	vbpf_events__free(pb->pending.events, pb->pending.count);
	free(pb);
}

/* ---- ring buffers ---- */

int vbpf_ringbuf__drain(const struct bpf_map *map, struct vbpf_event **events)
{
	*events = NULL;
	if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF)
		return -EINVAL;
	struct drain d = { NULL, 0, 0 };
	/* The consumer position lives in the map, so a fresh ring_buffer
	 * picks up where the previous drain stopped. */
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(map), collect, &d, NULL);
	if (!rb)
		return -errno;
	int err = ring_buffer__consume(rb);
	ring_buffer__free(rb);
	if (err < 0 || d.error) {
		vbpf_events__free(d.events, d.count);
		return d.error ? d.error : err;
	}
	*events = d.events;
	return d.count;
}

void vbpf_events__free(struct vbpf_event *events, int count)
{
	for (int i = 0; i < count; i++)
		free(events[i].data);
	free(events);
}

static void print_to_file(void *ctx, const char *fmt, va_list args)
{
	vfprintf(ctx, fmt, args);
}

static const struct btf_type *skip_mods(const struct btf *btf, __u32 *id)
{
	const struct btf_type *t = btf__type_by_id(btf, *id);
	while (t && (btf_is_mod(t) || btf_is_typedef(t))) {
		*id = t->type;
		t = btf__type_by_id(btf, *id);
	}
	return t;
}

/* Text in a byte array (LANGUAGE.md 10.9: comm): a C string, printable
 * up to its NUL, which must come (bpf_probe_read_kernel_str leaves what
 * follows it as it was). */
static bool is_text(const unsigned char *p, size_t n)
{
	size_t len = 0;
	while (len < n && p[len] >= 0x20 && p[len] < 0x7f)
		len++;
	return len > 0 && len < n && p[len] == 0;
}

/* One value of a record field: integers in decimal, text as "text",
 * anything else as btf_dump prints it. false when it cannot. */
static bool print_field(const struct btf *btf, __u32 id, const unsigned char *p, FILE *out)
{
	const struct btf_type *t = skip_mods(btf, &id);
	if (t && btf_is_int(t) && t->size <= 8) {
		unsigned long long v = 0;
		for (__u32 i = t->size; i-- > 0;)
			v = v << 8 | p[i];
		if ((btf_int_encoding(t) & BTF_INT_BOOL))
			fputs(v ? "true" : "false", out);
		else if ((btf_int_encoding(t) & BTF_INT_SIGNED) && t->size < 8 && (v >> (t->size * 8 - 1)) & 1)
			fprintf(out, "%lld", (long long)(v | ~0ULL << (t->size * 8)));
		else if (btf_int_encoding(t) & BTF_INT_SIGNED)
			fprintf(out, "%lld", (long long)v);
		else
			fprintf(out, "%llu", v);
		return true;
	}
	if (t && btf_is_array(t)) {
		__u32 elem_id = btf_array(t)->type;
		const struct btf_type *elem = skip_mods(btf, &elem_id);
		size_t n = btf_array(t)->nelems;
		if (elem && btf_is_int(elem) && elem->size == 1 && is_text(p, n)) {
			fprintf(out, "\"%s\"", (const char *)p);
			return true;
		}
	}
	long size = btf__resolve_size(btf, id);
	struct btf_dump *d = size > 0 ? btf_dump__new(btf, print_to_file, out, NULL) : NULL;
	if (!d)
		return false;
	LIBBPF_OPTS(btf_dump_type_data_opts, opts, .compact = true, .emit_zeroes = true);
	int err = btf_dump__dump_type_data(d, id, p, (size_t)size, &opts);
	btf_dump__free(d);
	return err >= 0;
}

/* A record as `pid=4242 ppid=1 comm="bash"`: its fields by name. */
static bool print_fields(const struct btf *btf, const struct btf_type *t, const unsigned char *p, FILE *out)
{
	const struct btf_member *m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		if (btf_member_bitfield_size(t, (__u32)i))
			return false;
		const char *name = btf__name_by_offset(btf, m->name_off);
		fprintf(out, "%s%s=", i ? " " : "", name && *name ? name : "?");
		if (!print_field(btf, m->type, p + btf_member_bit_offset(t, (__u32)i) / 8, out))
			return false;
	}
	return true;
}

bool vbpf_btf__print_fields(const struct btf *btf, unsigned int type_id, const void *data, size_t size,
			    FILE *out)
{
	__u32 id = type_id;
	const struct btf_type *t = btf && id ? skip_mods(btf, &id) : NULL;
	long type_size = t ? btf__resolve_size(btf, id) : -1;
	if (!t || !btf_is_struct(t) || type_size <= 0 || (size_t)type_size > size)
		return false;
	/* printed to memory first, so that a field it cannot print leaves
	 * nothing behind */
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	bool ok = mem && print_fields(btf, t, data, mem);
	if (mem)
		fclose(mem);
	if (ok)
		fputs(text, out);
	free(text);
	return ok;
}

void vbpf_event__print(const struct vbpf_event *event, const struct btf *btf, unsigned int type_id,
		       FILE *out)
{
	const struct btf_type *t = btf && type_id ? btf__type_by_id(btf, type_id) : NULL;
	struct btf_dump *d = NULL;
	long type_size = t ? btf__resolve_size(btf, type_id) : -1;
	if (vbpf_btf__print_fields(btf, type_id, event->data, event->size, out))
		return;
	if (type_size > 0 && (size_t)type_size <= event->size)
		d = btf_dump__new(btf, print_to_file, out, NULL);
	if (d) {
		LIBBPF_OPTS(btf_dump_type_data_opts, opts, .compact = true, .emit_zeroes = true);
		int err = btf_dump__dump_type_data(d, type_id, event->data, (size_t)type_size,
						   &opts);
		btf_dump__free(d);
		if (err >= 0)
			return;
	}
	const unsigned char *p = event->data;
	fputc('[', out);
	for (size_t i = 0; i < event->size; i++)
		fprintf(out, i ? " %02x" : "%02x", p[i]);
	fputc(']', out);
}

/* Structs every BPF object may carry that are never event records. The
 * running kernel's BTF is loaded once and kept. */
static bool is_kernel_struct(const char *name)
{
	static const char *const names[] = {
		"xdp_md", "__sk_buff", "sk_msg_md", "bpf_sock", "bpf_sock_addr", "bpf_flow_keys",
		"pt_regs", "bpf_perf_event_data", "bpf_raw_tracepoint_args", "bpf_sock_ops",
		"bpf_sysctl", "bpf_sockopt", "sk_reuseport_md", "bpf_sk_lookup",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	/* the kernel structs a tracing program declares for CO-RE
	 * (LANGUAGE.md 11): named as in the running kernel's BTF */
	static struct btf *vmlinux;
	static bool tried;
	if (!tried) {
		tried = true;
		libbpf_print_fn_t old = libbpf_set_print(NULL);
		vmlinux = btf__load_vmlinux_btf();
		libbpf_set_print(old);
		if (libbpf_get_error(vmlinux))
			vmlinux = NULL;
	}
	return vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_STRUCT) > 0;
}

unsigned int vbpf_event__record_type(const struct btf *btf, size_t size)
{
	if (!btf)
		return 0;
	unsigned int found = 0;
	__u32 n = btf__type_cnt(btf);
	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!btf_is_struct(t) || !t->name_off)
			continue;
		const char *name = btf__name_by_offset(btf, t->name_off);
		/* A perf record comes padded to 8 bytes with its 4-byte size:
		 * a struct that fills it up to that padding is a match. */
		if (is_kernel_struct(name) || t->size > size || size - t->size >= 8 ||
		    (t->size != size && (t->size + 4 + 7) / 8 * 8 - 4 != size))
			continue;
		/* one record declared again under its name is no second
		 * candidate (the native backend writes a record's BTF once per
		 * map that uses it) */
		if (found && strcmp(btf__name_by_offset(btf, btf__type_by_id(btf, found)->name_off), name) == 0)
			continue;
		if (found)
			return 0;   /* two candidates: do not guess */
		found = id;
	}
	return found;
}

static const struct btf *event_records;

void vbpf_events__set_records(const struct btf *records)
{
	event_records = records;
}

/* The record the source sends to map (a typedef named after it), when
 * the event has its size, or that size padded as perf records are. */
static unsigned int map_record(const struct btf *records, const char *map, size_t size)
{
	int id = records && map ? btf__find_by_name_kind(records, map, BTF_KIND_TYPEDEF) : -1;
	if (id <= 0)
		return 0;
	__u32 target = btf__type_by_id(records, (__u32)id)->type;
	const struct btf_type *t = btf__type_by_id(records, target);
	if (!t || !btf_is_struct(t) || t->size > size ||
	    (t->size != size && (t->size + 4 + 7) / 8 * 8 - 4 != size))
		return 0;
	return target;
}

bool vbpf_event__print_record(const struct vbpf_event *event, const char *map, const struct btf *btf,
			      FILE *out)
{
	/* the map's own record first: two records of one size are no
	 * guess when the source says which goes where */
	unsigned int id = map_record(event_records, map, event->size);
	if (id && vbpf_btf__print_fields(event_records, id, event->data, event->size, out))
		return true;
	id = vbpf_event__record_type(btf, event->size);
	if (id && vbpf_btf__print_fields(btf, id, event->data, event->size, out))
		return true;
	id = vbpf_event__record_type(event_records, event->size);
	return id && vbpf_btf__print_fields(event_records, id, event->data, event->size, out);
}
