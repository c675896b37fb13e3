/* test_driver.c - run a cases file against a loaded object and say, one
 * line per case, what passed and what did not:
 *
 *   PASS load (1 program, 1 map)
 *   PASS ipv4_udp
 *   FAIL ipv4_tcp: returned 2, expected 1
 *   FAIL counted: pkt_count[0] = 2, expected 3
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "vbpf_runtime.h"

/* The process the last `trigger` started: what `trigger-pid` stands for. */
static int trigger_pid;

/* A literal with `trigger-pid` bound; *buf (free it) holds its bytes. */
static struct vbpf_literal bound(const struct vbpf_literal *lit, uint8_t **buf)
{
	struct vbpf_literal out;
	*buf = lit->nbytes ? malloc(lit->nbytes) : NULL;
	if (lit->nbytes && !*buf)
		return *lit;
	vbpf_literal__bind_trigger_pid(lit, trigger_pid, &out, *buf);
	return out;
}

/* Why a case failed, accumulated as "a; b". */
struct verdict {
	char text[2048];
	size_t len;
	bool failed;
};

__attribute__((format(printf, 2, 3)))
static void fail(struct verdict *v, const char *fmt, ...)
{
	va_list ap;
	if (v->len && v->len + 2 < sizeof(v->text))
		v->len += (size_t)snprintf(v->text + v->len, sizeof(v->text) - v->len, "; ");
	va_start(ap, fmt);
	if (v->len < sizeof(v->text))
		v->len += (size_t)vsnprintf(v->text + v->len, sizeof(v->text) - v->len, fmt, ap);
	va_end(ap);
	if (v->len >= sizeof(v->text))
		v->len = sizeof(v->text) - 1;
	v->failed = true;
}

/* Prints a typed value into a string (btf_dump writes to a FILE). */
static void typed_string(const struct bpf_map *map, const struct btf *btf, bool is_key,
			 const void *data, size_t size, char *out, size_t out_size)
{
	FILE *f = fmemopen(out, out_size, "w");
	if (!f) {
		snprintf(out, out_size, "?");
		return;
	}
	vbpf_map__print_typed(map, btf, is_key, data, size, f);
	fclose(f);
	out[out_size - 1] = '\0';
}

static const struct btf_type *resolve(const struct btf *btf, __u32 id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(btf, t->type);
	return t;
}

/* A defglobal/defconst: its place in the .bss/.data/.rodata map. The
 * value is read and written through the map (key 0) rather than libbpf's
 * mmap: libbpf 1.1 maps the kernel's memory only for skeletons. */
struct global_ref {
	struct bpf_map *map;
	size_t offset, size;
	bool read_only;
	bool is_signed;
};

static bool find_global_named(const struct vbpf_obj *obj, const char *name, bool escaped, struct global_ref *ref);

/* the global the checker named name in C, or escaped that name */
static bool find_global(const struct vbpf_obj *obj, const char *name, struct global_ref *ref)
{
	return find_global_named(obj, name, false, ref) || find_global_named(obj, name, true, ref);
}

static bool find_global_named(const struct vbpf_obj *obj, const char *name, bool escaped, struct global_ref *ref)
{
	struct bpf_object *bpf = vbpf_obj__bpf_object(obj);
	const struct btf *btf = bpf_object__btf(bpf);
	struct bpf_map *map;
	if (!btf)
		return false;
	bpf_object__for_each_map(map, bpf) {
		if (!bpf_map__is_internal(map))
			continue;
		const struct btf_type *sec = btf__type_by_id(btf, bpf_map__btf_value_type_id(map));
		if (!sec || !btf_is_datasec(sec))
			continue;
		const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
		for (int k = 0; k < btf_vlen(sec); k++, vs++) {
			const struct btf_type *var = btf__type_by_id(btf, vs->type);
			const char *var_name = btf__name_by_offset(btf, var->name_off);
			if (!vbpf_c_name_is(var_name, name, escaped))
				continue;
			if (vs->offset + vs->size > bpf_map__value_size(map))
				return false;
			const struct btf_type *type = resolve(btf, var->type);
			ref->map = map;
			ref->offset = vs->offset;
			ref->size = vs->size;
			ref->read_only = strstr(bpf_map__name(map), ".rodata") != NULL;
			ref->is_signed = type && btf_is_int(type) &&
					 (btf_int_encoding(type) & BTF_INT_SIGNED);
			return true;
		}
	}
	return false;
}

static void describe_lit(const struct vbpf_literal *lit, char *out, size_t size)
{
	if (!lit->is_bytes) {
		if (lit->negative)
			snprintf(out, size, "%lld", (long long)lit->value);
		else
			snprintf(out, size, "%llu", (unsigned long long)lit->value);
		return;
	}
	size_t len = (size_t)snprintf(out, size, "[");
	for (size_t i = 0; i < lit->nbytes && len + 4 < size; i++)
		len += (size_t)snprintf(out + len, size - len, i ? " %02x" : "%02x", lit->bytes[i]);
	snprintf(out + len, size - len, "]");
}

static uint64_t le_value(const unsigned char *p, size_t size)
{
	uint64_t v = 0;
	for (size_t i = size; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void global_step(struct vbpf_obj *obj, const struct vbpf_step *s, struct verdict *v)
{
	struct global_ref ref;
	char why[160], want[128];
	if (!find_global(obj, s->global, &ref)) {
		fail(v, "line %d: no global `%s` in the object", s->line, s->global);
		return;
	}
	unsigned char bytes[256];
	uint8_t *buf;
	struct vbpf_literal value = bound(&s->value, &buf);
	int bad = ref.size > sizeof(bytes) || vbpf_literal__encode(&value, bytes, ref.size, why, sizeof(why));
	free(buf);
	if (bad) {
		fail(v, "line %d: global `%s`: %s", s->line, s->global,
		     ref.size > sizeof(bytes) ? "too large" : why);
		return;
	}
	size_t section_size = bpf_map__value_size(ref.map);
	unsigned char *section = calloc(1, section_size);
	const __u32 zero = 0;
	if (!section || bpf_map__lookup_elem(ref.map, &zero, sizeof(zero), section,
					     section_size, 0)) {
		fail(v, "cannot read the section holding `%s`: %s", s->global, strerror(errno));
		free(section);
		return;
	}
	unsigned char *data = section + ref.offset;
	if (s->kind == VBPF_STEP_SET) {
		memcpy(data, bytes, ref.size);
		if (ref.read_only)
			fail(v, "line %d: `%s` is a defconst, read-only once loaded", s->line,
			     s->global);
		else if (bpf_map__update_elem(ref.map, &zero, sizeof(zero), section, section_size,
					      BPF_ANY))
			fail(v, "line %d: cannot set `%s`: %s", s->line, s->global, strerror(errno));
		free(section);
		return;
	}
	if (memcmp(data, bytes, ref.size) != 0) {
		describe_lit(&s->value, want, sizeof(want));
		uint64_t got = le_value(data, ref.size < 8 ? ref.size : 8);
		if (ref.is_signed && ref.size < 8 && (got >> (ref.size * 8 - 1)) & 1)
			got |= UINT64_MAX << (ref.size * 8);
		if (ref.is_signed)
			fail(v, "%s = %lld, expected %s", s->global, (long long)got, want);
		else
			fail(v, "%s = %llu, expected %s", s->global, (unsigned long long)got, want);
	}
	free(section);
}

static bool is_percpu(const struct bpf_map *map)
{
	return vbpf_map__user_value_size(map) != bpf_map__value_size(map) ||
	       bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_HASH ||
	       bpf_map__type(map) == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* Perf event arrays of the object, opened before the first case so that
 * the program's output has somewhere to go. */
#define MAX_PERF_MAPS 16
static struct {
	const struct bpf_map *map;
	struct vbpf_perfbuf *pb;
} perf_readers[MAX_PERF_MAPS];
static int nperf_readers;

static void open_perf_readers(struct vbpf_obj *obj)
{
	struct bpf_map *map;
	bpf_object__for_each_map(map, vbpf_obj__bpf_object(obj)) {
		if (bpf_map__type(map) != BPF_MAP_TYPE_PERF_EVENT_ARRAY ||
		    nperf_readers == MAX_PERF_MAPS)
			continue;
		struct vbpf_perfbuf *pb = vbpf_perfbuf__new(map);
		if (pb) {
			perf_readers[nperf_readers].map = map;
			perf_readers[nperf_readers++].pb = pb;
		}
	}
}

static void close_perf_readers(void)
{
	for (int i = 0; i < nperf_readers; i++)
		vbpf_perfbuf__free(perf_readers[i].pb);
	nperf_readers = 0;
}

static int drain_events(struct bpf_map *map, struct vbpf_event **events)
{
	if (bpf_map__type(map) != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
		return vbpf_ringbuf__drain(map, events);
	for (int i = 0; i < nperf_readers; i++)
		if (perf_readers[i].map == map)
			return vbpf_perfbuf__drain(perf_readers[i].pb, events, NULL);
	return -ENODEV;
}

/* An event in a message: its bytes, as a case writes them, and its
 * fields when its record is known. */
static void print_event(const struct vbpf_event *event, const struct bpf_map *map, const struct btf *btf,
			FILE *f)
{
	vbpf_event__print(event, btf, 0, f);
	char *fields = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&fields, &len);
	bool ok = mem && vbpf_event__print_record(event, bpf_map__name(map), btf, mem);
	if (mem)
		fclose(mem);
	if (ok)
		fprintf(f, " {%s}", fields);
	free(fields);
}

/* The records written to a ring buffer or perf event array since the
 * last check. */
static void events_step(struct bpf_map *map, const struct btf *btf, const struct vbpf_step *s,
			struct verdict *v)
{
	struct vbpf_event *events;
	int n = drain_events(map, &events);
	if (n < 0) {
		fail(v, "line %d: cannot read the events of `%s`: %s", s->line, s->map,
		     strerror(-n));
		return;
	}
	if (s->kind == VBPF_STEP_EXPECT_EVENTS && (uint64_t)n != s->value.value)
		fail(v, "%s: %d events, expected %llu", s->map, n,
		     (unsigned long long)s->value.value);
	if (s->kind == VBPF_STEP_EXPECT_EVENT) {
		/* each listed record among those that arrived, whatever else
		 * did (other processes trigger a tracing program too) */
		for (int k = 0; k < s->nrecords; k++) {
			uint8_t *buf;
			struct vbpf_literal want = bound(&s->records[k], &buf);
			bool found = false;
			for (int i = 0; i < n && !found; i++)
				found = events[i].size == want.nbytes &&
					memcmp(events[i].data, want.bytes, want.nbytes) == 0;
			if (!found) {
				/* what did arrive, the first few, to compare by eye */
				char expected[512], got[1024];
				describe_lit(&want, expected, sizeof(expected));
				FILE *f = fmemopen(got, sizeof(got), "w");
				for (int i = 0; f && i < n && i < 3; i++) {
					fputs(i ? ", " : " (", f);
					print_event(&events[i], map, btf, f);
				}
				if (f) {
					fputs(n > 3 ? ", ...)" : n ? ")" : "", f);
					fclose(f);
				}
				got[sizeof(got) - 1] = '\0';
				fail(v, "%s: no event %s among the %d that arrived%s", s->map, expected, n, f ? got : "");
			}
			free(buf);
		}
		vbpf_events__free(events, n);
		return;
	}
	for (int i = 0; i < s->nrecords && i < n; i++) {
		const struct vbpf_literal *want = &s->records[i];
		if (events[i].size == want->nbytes && memcmp(events[i].data, want->bytes,
							    want->nbytes) == 0)
			continue;
		char got[512], expected[512];
		FILE *f = fmemopen(got, sizeof(got), "w");
		if (f) {
			print_event(&events[i], map, btf, f);
			fclose(f);
		}
		got[sizeof(got) - 1] = '\0';
		describe_lit(want, expected, sizeof(expected));
		fail(v, "%s event %d = %s, expected %s", s->map, i + 1, f ? got : "?", expected);
	}
	vbpf_events__free(events, n);
}

/* Performs one set/delete/expect; failures go into v. */
static void run_step(struct vbpf_obj *obj, const struct vbpf_step *s, struct verdict *v)
{
	if (s->global) {
		global_step(obj, s, v);
		return;
	}
	struct bpf_map *map = vbpf_obj__find_map(obj, s->map);
	if (!map) {
		fail(v, "line %d: no map `%s` in the object", s->line, s->map);
		return;
	}
	if (s->kind == VBPF_STEP_EXPECT_EVENTS || s->kind == VBPF_STEP_EXPECT_EVENT) {
		events_step(map, bpf_object__btf(vbpf_obj__bpf_object(obj)), s, v);
		return;
	}
	const struct btf *btf = bpf_object__btf(vbpf_obj__bpf_object(obj));
	size_t key_size = bpf_map__key_size(map), value_size = bpf_map__value_size(map);
	size_t user_size = vbpf_map__user_value_size(map);
	unsigned char *key = calloc(1, key_size ? key_size : 1);
	unsigned char *want = calloc(1, user_size), *got = calloc(1, user_size);
	char why[160], shown_key[256], shown[256], expected[128];
	uint8_t *key_buf = NULL, *value_buf = NULL; /* freed at out: set before any goto */
	if (!key || !want || !got) {
		fail(v, "out of memory");
		goto out;
	}
	struct vbpf_literal key_lit = bound(&s->key, &key_buf), value_lit = bound(&s->value, &value_buf);
	if (vbpf_literal__encode(&key_lit, key, key_size, why, sizeof(why))) {
		fail(v, "line %d: key of `%s`: %s", s->line, s->map, why);
		goto out;
	}
	typed_string(map, btf, true, key, key_size, shown_key, sizeof(shown_key));
	bool percpu = is_percpu(map);
	size_t stride = user_size / (percpu ? (size_t)libbpf_num_possible_cpus() : 1);
	bool sum_cpus = percpu && !value_lit.is_bytes;

	switch (s->kind) {
	case VBPF_STEP_SET:
		/* Per-CPU maps: the same value on every CPU. */
		for (size_t off = 0; off < user_size; off += stride)
			if (vbpf_literal__encode(&value_lit, want + off, value_size, why,
						 sizeof(why))) {
				fail(v, "line %d: value of `%s`: %s", s->line, s->map, why);
				goto out;
			}
		if (bpf_map__update_elem(map, key, key_size, want, user_size, BPF_ANY))
			fail(v, "line %d: cannot set %s[%s]: %s", s->line, s->map, shown_key,
			     strerror(errno));
		break;
	case VBPF_STEP_DELETE:
		if (bpf_map__delete_elem(map, key, key_size, 0) && errno != ENOENT)
			fail(v, "line %d: cannot delete %s[%s]: %s", s->line, s->map, shown_key,
			     strerror(errno));
		break;
	case VBPF_STEP_EXPECT_ABSENT:
		if (bpf_map__lookup_elem(map, key, key_size, got, user_size, 0) == 0) {
			typed_string(map, btf, false, got, value_size, shown, sizeof(shown));
			fail(v, "%s[%s] = %s, expected absent", s->map, shown_key, shown);
		}
		break;
	case VBPF_STEP_EXPECT_EVENTS:
	case VBPF_STEP_EXPECT_EVENT:
		break;
	case VBPF_STEP_EXPECT:
		if (vbpf_literal__encode(&value_lit, want, value_size, why, sizeof(why))) {
			fail(v, "line %d: value of `%s`: %s", s->line, s->map, why);
			goto out;
		}
		describe_lit(&value_lit, expected, sizeof(expected));
		if (bpf_map__lookup_elem(map, key, key_size, got, user_size, 0)) {
			fail(v, "%s[%s] absent, expected %s", s->map, shown_key, expected);
			goto out;
		}
		if (sum_cpus) {
			/* Integers in per-CPU maps: the total over all CPUs. */
			uint64_t total = 0;
			for (size_t off = 0; off < user_size; off += stride)
				total += le_value(got + off, value_size < 8 ? value_size : 8);
			if (total != le_value(want, value_size < 8 ? value_size : 8))
				fail(v, "%s[%s] = %llu (sum over CPUs), expected %s", s->map,
				     shown_key, (unsigned long long)total, expected);
		} else if (memcmp(got, want, value_size) != 0) {
			typed_string(map, btf, false, got, value_size, shown, sizeof(shown));
			fail(v, "%s[%s] = %s, expected %s", s->map, shown_key, shown, expected);
		}
		break;
	}
out:
	free(key);
	free(want);
	free(got);
	free(key_buf);
	free(value_buf);
}

static const char *errno_name(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case 524: return "ENOTSUPP";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOSPC: return "ENOSPC";
	case EFAULT: return "EFAULT";
	case E2BIG: return "E2BIG";
	case ENOENT: return "ENOENT";
	default: return strerror(e);
	}
}

/* The packet after the run against packet-out: the first difference. */
static void check_packet_out(const struct vbpf_case *c, const uint8_t *got, size_t got_size,
			     struct verdict *v)
{
	if (!got) {
		fail(v, "packet-out given but the case sends no packet");
		return;
	}
	size_t n = got_size < c->packet_out_size ? got_size : c->packet_out_size;
	for (size_t i = 0; i < n; i++)
		if (got[i] != c->packet_out[i]) {
			fail(v, "packet byte %zu is %02x after the run, expected %02x", i, got[i],
			     c->packet_out[i]);
			return;
		}
	if (got_size != c->packet_out_size)
		fail(v, "packet is %zu bytes after the run, expected %zu", got_size,
		     c->packet_out_size);
}

/* trigger CMD ARG...: attaches every program of the object, runs the
 * command and waits for it, detaches. The kernel events the command
 * causes (an exec, its system calls) run the programs for real. */
static void run_trigger(struct vbpf_obj *obj, char **argv, struct verdict *v)
{
	struct bpf_link *links[64];
	int nlinks = 0;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, vbpf_obj__bpf_object(obj)) {
		if (!bpf_program__autoload(prog))
			continue; /* not loaded (object.c) */
		struct bpf_link *link = nlinks < 64 ? bpf_program__attach(prog) : NULL;
		if (!link) {
			fail(v, "cannot attach `%s` (%s): %s", bpf_program__name(prog),
			     bpf_program__section_name(prog), nlinks < 64 ? strerror(errno) : "too many programs");
			goto detach;
		}
		links[nlinks++] = link;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		fail(v, "cannot start `%s`: %s", argv[0], strerror(errno));
		goto detach;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	trigger_pid = (int)pid;
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail(v, "trigger `%s` %s %d", argv[0], WIFEXITED(status) ? "exited with" : "died of signal",
		     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
detach:
	while (nlinks > 0)
		bpf_link__destroy(links[--nlinks]);
}


static void dump_maps(struct vbpf_obj *obj, FILE *out)
{
	const struct btf *btf = bpf_object__btf(vbpf_obj__bpf_object(obj));
	struct bpf_map *map;
	bpf_object__for_each_map(map, vbpf_obj__bpf_object(obj))
		vbpf_map__dump(map, btf, out, VBPF_DUMP_SKIP_ZERO);
}

/* What --dump shows of one run: its return value (or why it failed) and
 * the packet after it, every byte. */
static void dump_run(int err, const struct vbpf_run_result *result, const uint8_t *packet,
		     FILE *out)
{
	if (err) {
		fprintf(out, "run failed: %s\n", errno_name(-err));
		return;
	}
	fprintf(out, "returned %u\n", result->retval);
	if (!packet)
		return;
	fprintf(out, "packet after (%u bytes):", result->data_size_out);
	for (__u32 i = 0; i < result->data_size_out; i++)
		fprintf(out, "%s%02x", i % 32 ? " " : "\n  ", packet[i]);
	fputc('\n', out);
}

static void run_case(struct vbpf_obj *obj, const struct vbpf_case *c, struct verdict *v,
		     FILE *dump)
{
	for (int i = 0; i < c->nbefore; i++)
		run_step(obj, &c->before[i], v);
	if (c->trigger)
		run_trigger(obj, c->trigger, v);
	if (c->run) {
		struct bpf_program *prog = vbpf_obj__find_prog(obj, c->program);
		if (!prog) {
			fail(v, "no program `%s` in the object", c->program ? c->program : "");
			return;
		}
		/* Room for XDP programs that grow the packet. */
		size_t out_size = c->packet_size + 4096;
		void *out = c->packet_size ? malloc(out_size) : NULL;
		struct vbpf_run_opts opts = {
			.data = c->packet, .data_size = c->packet_size,
			.ctx = c->ctx, .ctx_size = c->ctx_size,
			.repeat = c->repeat,
			.data_out = out, .data_out_size = out ? out_size : 0,
		};
		struct vbpf_run_result result;
		int err = vbpf_prog__test_run(prog, &opts, &result);
		if (dump)
			dump_run(err, &result, out, dump);
		if (!err && c->has_packet_out)
			check_packet_out(c, out, result.data_size_out, v);
		free(out);
		if (c->has_errno) {
			if (!err)
				fail(v, "ran and returned %u, expected the run to fail with %s",
				     result.retval, errno_name(c->expect_errno));
			else if (-err != c->expect_errno)
				fail(v, "run failed with %s, expected %s", errno_name(-err),
				     errno_name(c->expect_errno));
		} else if (err) {
			fail(v, "BPF_PROG_TEST_RUN failed: %s (%s)", strerror(-err), errno_name(-err));
			return;
		} else if (!c->any_return && result.retval != (uint32_t)c->expect_return) {
			fail(v, "returned %u, expected %u", result.retval,
			     (uint32_t)c->expect_return);
		}
	}
	for (int i = 0; i < c->nafter; i++)
		run_step(obj, &c->after[i], v);
	if (dump && c->run)
		dump_maps(obj, dump);
}

void vbpf_test__run_cases(struct vbpf_obj *obj, const struct vbpf_cases *cases, FILE *out,
			  bool dump_each_run, struct vbpf_test_stats *stats)
{
	struct verdict setup = { .len = 0 };
	open_perf_readers(obj);
	for (int i = 0; i < cases->nsetup; i++)
		run_step(obj, &cases->setup[i], &setup);
	if (setup.failed) {
		fprintf(out, "FAIL setup: %s\n", setup.text);
		stats->failed++;
	}
	for (int i = 0; i < cases->ncases; i++) {
		const struct vbpf_case *c = &cases->cases[i];
		struct verdict v = { .len = 0 };
		if (dump_each_run && c->run)
			fprintf(out, "run %s: ", c->name);
		run_case(obj, c, &v, dump_each_run ? out : NULL);
		if (v.failed) {
			fprintf(out, "FAIL %s: %s\n", c->name, v.text);
			stats->failed++;
		} else {
			fprintf(out, "PASS %s\n", c->name);
			stats->passed++;
		}
	}
	close_perf_readers();
}

struct vbpf_test_stats vbpf_test__run_object(const char *object_path,
					     const struct vbpf_test_opts *opts)
{
	struct vbpf_test_stats stats = { 0, 0, 0 };
	const char *name = opts->name ? opts->name : object_path;
	FILE *out = opts->out ? opts->out : stdout;
	FILE *diag = opts->diag ? opts->diag : stderr;
	struct vbpf_cases *cases = NULL;
	if (opts->cases_path) {
		cases = vbpf_cases__parse_file(opts->cases_path, diag);
		if (!cases) {
			fprintf(out, "FAIL cases: %s does not parse\n", opts->cases_path);
			stats.failed++;
			return stats;
		}
	}

	char why[256];
	if (vbpf_kernel__probe(why, sizeof(why))) {
		fprintf(out, "SKIP %s: %s\n", name, why);
		stats.skipped += cases ? cases->ncases + 1 : 1;
		vbpf_cases__free(cases);
		return stats;
	}

	/* Case lines and diagnostics then appear in the order they happen. */
	fflush(out);
	struct vbpf_obj_opts obj_opts = {
		.source_dir = opts->source_dir,
		.diag = diag,
		.private_pins = true,
	};
	struct vbpf_obj *obj = vbpf_obj__open_file(object_path, &obj_opts);
	if (!obj) {
		fprintf(out, "FAIL load: cannot open %s\n", object_path);
		stats.failed++;
		vbpf_cases__free(cases);
		return stats;
	}
	int err = vbpf_obj__load(obj);
	if (err && cases && cases->load_may_fail == -err) {
		fprintf(out, "SKIP load: this kernel refuses to load %s: %s (the cases allow it: load-may-fail)\n",
			name, strerror(-err));
		stats.skipped += 1 + cases->ncases;
		goto out;
	}
	if (err) {
		fprintf(out, "FAIL load: the verifier rejected %s\n", name);
		stats.failed++;
		if (cases)
			stats.skipped += cases->ncases;
		goto out;
	}
	int nprogs = 0, nmaps = 0;
	struct bpf_program *prog;
	struct bpf_map *map;
	bpf_object__for_each_program(prog, vbpf_obj__bpf_object(obj))
		nprogs += bpf_program__autoload(prog);
	bpf_object__for_each_map(map, vbpf_obj__bpf_object(obj))
		nmaps++;
	fprintf(out, "PASS load (%d program%s, %d map%s)\n", nprogs, nprogs == 1 ? "" : "s",
		nmaps, nmaps == 1 ? "" : "s");
	stats.passed++;
	if (cases)
		vbpf_test__run_cases(obj, cases, out, opts->dump_maps, &stats);
	if (opts->dump_maps)
		dump_maps(obj, out);
out:
	vbpf_obj__close(obj);
	vbpf_cases__free(cases);
	return stats;
}
