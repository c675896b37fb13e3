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

void vbpf_event__print(const struct vbpf_event *event, const struct btf *btf, unsigned int type_id,
		       FILE *out)
{
	const struct btf_type *t = btf && type_id ? btf__type_by_id(btf, type_id) : NULL;
	struct btf_dump *d = NULL;
	long type_size = t ? btf__resolve_size(btf, type_id) : -1;
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

/* Structs every BPF object may carry that are never event records. */
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
	return false;
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
		if (found)
			return 0;   /* two candidates: do not guess */
		found = id;
	}
	return found;
}
