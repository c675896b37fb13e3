/* object.c - open and load BPF objects, capturing what libbpf and the
 * verifier say so that a rejection can be shown at the .va line.
 *
 * The verifier log is captured through bpf_object_open_opts.kernel_log_buf
 * with kernel_log_level 0: libbpf then loads without a log (fast) and, only
 * when a program is rejected, retries it at log level 1 into our buffer.
 * Kernels since 6.4 rotate the log, so the buffer always ends with the
 * failing instruction and the complaint however long the program is.
 *
 * With verifier_stats, each program gets a small log of its own at level
 * BPF_LOG_STATS, which holds little but "processed N insns".
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "vbpf_runtime.h"

#define VERIFIER_LOG_SIZE (4u << 20)
/* The kernel's BPF_LOG_STATS (include/linux/bpf_verifier.h): statistics
 * only, a few lines whatever the program's size. */
#define VERIFIER_LOG_STATS 4
#define STATS_LOG_SIZE (16u << 10)

struct prog_stats {
	const struct bpf_program *prog;
	char *log;
};

struct vbpf_obj {
	struct bpf_object *bpf;
	char *path;
	char *log;                     /* kernel_log_buf */
	char *messages;                /* libbpf's own messages during open/load */
	size_t messages_len;
	bool have_error;
	struct vbpf_verifier_error error;
	const char *source_dir;
	FILE *diag;
	bool verbose;
	char pin_dir[64];              /* private_pins: made here, removed at close */
	bool pin_mount;                /* pin_dir is a bpffs this object mounted */
	bool verifier_stats;
	struct prog_stats *stats;      /* verifier_stats: one log per program */
	int nstats;
};

/* libbpf's print callback has no user pointer: the object being opened or
 * loaded is remembered here for the duration of the call. */
static struct vbpf_obj *capturing;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!capturing)
		return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
	if (level == LIBBPF_DEBUG && !capturing->verbose)
		return 0;
	char line[1024];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return n;
	size_t len = strlen(line);
	char *grown = realloc(capturing->messages, capturing->messages_len + len + 1);
	if (!grown)
		return -1;
	memcpy(grown + capturing->messages_len, line, len + 1);
	capturing->messages = grown;
	capturing->messages_len += len;
	if (capturing->verbose)
		fputs(line, capturing->diag);
	return n;
}

static void begin_capture(struct vbpf_obj *obj)
{
	capturing = obj;
	libbpf_set_print(capture_print);
}

static void end_capture(void)
{
	capturing = NULL;
}

static void print_messages(const struct vbpf_obj *obj)
{
	if (obj->messages && !obj->verbose)
		fputs(obj->messages, obj->diag);
}

int vbpf_kernel__probe(char *why, size_t why_size)
{
	/* r0 = 0; exit: the smallest program every kernel accepts. */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "vbpf_probe", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);
	if (fd >= 0) {
		close(fd);
		if (why_size)
			why[0] = '\0';
		return 0;
	}
	int err = errno;
	const char *reason;
	switch (err) {
	case EPERM:
	case EACCES:
		reason = geteuid() == 0
			? "bpf() refused: not permitted (a seccomp filter, LSM or "
			  "kernel.unprivileged_bpf_disabled forbids it)"
			: "bpf() refused: not permitted (run as root or with CAP_BPF and CAP_NET_ADMIN)";
		break;
	case ENOSYS:
		reason = "bpf() refused: this kernel has no bpf() system call";
		break;
	default:
		reason = NULL;
		break;
	}
	if (reason)
		snprintf(why, why_size, "%s", reason);
	else
		snprintf(why, why_size, "bpf() refused: %s", strerror(err));
	return -err;
}

/* A process killed before vbpf_obj__close (a test's time limit, SIGKILL)
 * leaves its bpffs mounted: the next object removes those of processes
 * that no longer exist. */
static void remove_dead_pin_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[1024];
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char mnt[256];
		int pid, n;
		/* id parent major:minor root mount-point ... */
		if (sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 ||
		    sscanf(mnt, "/tmp/vbpf2c-bpffs-%d-%d", &pid, &n) != 2)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (umount2(mnt, MNT_DETACH) == 0)
			rmdir(mnt);
	}
	fclose(f);
}

/* The private pin directory: vbpf2c-PID-N under /sys/fs/bpf when a bpffs
 * is mounted there. Many machines (containers, minimal VMs) mount none;
 * then a bpffs of the object's own is mounted on /tmp/vbpf2c-bpffs-PID-N
 * and unmounted at close (or by a later object, if the process died
 * first), so `:pinned` maps load there as well. Without either (not
 * root), pin_dir stays empty and libbpf reports the pinning. */
static void make_pin_dir(struct vbpf_obj *obj)
{
	static int serial;
	struct statfs fs;
	int n = serial++;

	if (statfs("/sys/fs/bpf", &fs) == 0 && fs.f_type == BPF_FS_MAGIC) {
		snprintf(obj->pin_dir, sizeof(obj->pin_dir), "/sys/fs/bpf/vbpf2c-%d-%d",
			 (int)getpid(), n);
		if (mkdir(obj->pin_dir, 0700) != 0)
			obj->pin_dir[0] = '\0';
		return;
	}
	remove_dead_pin_mounts();
	snprintf(obj->pin_dir, sizeof(obj->pin_dir), "/tmp/vbpf2c-bpffs-%d-%d", (int)getpid(), n);
	if (mkdir(obj->pin_dir, 0700) != 0) {
		obj->pin_dir[0] = '\0';
		return;
	}
	if (mount("bpf", obj->pin_dir, "bpf", 0, "mode=0700") != 0) {
		rmdir(obj->pin_dir);
		obj->pin_dir[0] = '\0';
		return;
	}
	obj->pin_mount = true;
}

/* bpf_object__open_file with our log buffer and pin directory; 0 or -errno. */
static int open_bpf(struct vbpf_obj *obj)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts,
		    .kernel_log_buf = obj->log,
		    .kernel_log_size = VERIFIER_LOG_SIZE,
		    .kernel_log_level = 0,
		    .pin_root_path = obj->pin_dir[0] ? obj->pin_dir : NULL);
	begin_capture(obj);
	obj->bpf = bpf_object__open_file(obj->path, &open_opts);
	end_capture();
	int err = libbpf_get_error(obj->bpf);
	if (err) {
		obj->bpf = NULL;
		return err;
	}
	/* A global function in .text is a subprogram for the program that
	 * calls it, which a C half linked with the object may supply (an
	 * `(export f)` file, docs/mixing.md). libbpf takes such a function
	 * for a program of no type when it is the object's only one (two
	 * are subprograms), and then refuses to load the object: a
	 * function of .text is never loaded as a program of its own. */
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj->bpf)
		if (strcmp(bpf_program__section_name(prog), ".text") == 0)
			bpf_program__set_autoload(prog, false);
	return 0;
}

struct vbpf_obj *vbpf_obj__open_file(const char *path, const struct vbpf_obj_opts *opts)
{
	struct vbpf_obj *obj = calloc(1, sizeof(*obj));
	if (!obj)
		return NULL;
	obj->diag = opts && opts->diag ? opts->diag : stderr;
	obj->verbose = opts && opts->verbose;
	obj->source_dir = opts ? opts->source_dir : NULL;
	obj->path = strdup(path);
	obj->log = calloc(1, VERIFIER_LOG_SIZE);
	if (!obj->path || !obj->log) {
		vbpf_obj__close(obj);
		errno = ENOMEM;
		return NULL;
	}

	if (opts && opts->private_pins)
		make_pin_dir(obj);
	obj->verifier_stats = opts && opts->verifier_stats;
	int err = open_bpf(obj);
	if (err) {
		fprintf(obj->diag, "%s: error: cannot open BPF object: %s\n", path, strerror(-err));
		print_messages(obj);
		vbpf_obj__close(obj);
		errno = -err;
		return NULL;
	}
	return obj;
}

/* Gives every program its own statistics log. */
static int request_stats(struct vbpf_obj *obj)
{
	struct bpf_program *prog;
	int n = 0;
	bpf_object__for_each_program(prog, obj->bpf)
		n++;
	obj->stats = calloc((size_t)n + 1, sizeof(*obj->stats));
	if (!obj->stats)
		return -ENOMEM;
	bpf_object__for_each_program(prog, obj->bpf) {
		struct prog_stats *st = &obj->stats[obj->nstats];
		st->prog = prog;
		st->log = calloc(1, STATS_LOG_SIZE);
		if (!st->log)
			return -ENOMEM;
		obj->nstats++;
		int err = bpf_program__set_log_buf(prog, st->log, STATS_LOG_SIZE);
		if (!err)
			err = bpf_program__set_log_level(prog, VERIFIER_LOG_STATS);
		if (err)
			return err;
	}
	return 0;
}

static void free_stats(struct vbpf_obj *obj)
{
	for (int i = 0; i < obj->nstats; i++)
		free(obj->stats[i].log);
	free(obj->stats);
	obj->stats = NULL;
	obj->nstats = 0;
}

int vbpf_obj__verified_insns(const struct vbpf_obj *obj, const struct bpf_program *prog)
{
	for (int i = 0; i < obj->nstats; i++)
		if (obj->stats[i].prog == prog)
			return vbpf_verifier_log__processed_insns(obj->stats[i].log);
	return -1;
}

int vbpf_obj__load(struct vbpf_obj *obj)
{
	obj->log[0] = '\0';
	if (obj->verifier_stats && !obj->stats) {
		int err = request_stats(obj);
		if (err) {
			fprintf(obj->diag, "%s: error: cannot ask for verifier statistics: %s\n",
				obj->path, strerror(-err));
			return err;
		}
	}
	begin_capture(obj);
	int err = bpf_object__load(obj->bpf);
	end_capture();
	if (!err)
		return 0;

	/* A statistics log has no complaint in it: load a fresh copy of the
	 * object with the usual log to say why, at the .va line. */
	if (obj->stats) {
		free_stats(obj);
		obj->verifier_stats = false;
		bpf_object__close(obj->bpf);
		free(obj->messages);
		obj->messages = NULL;
		obj->messages_len = 0;
		int reopen = open_bpf(obj);
		if (!reopen)
			return vbpf_obj__load(obj);
		fprintf(obj->diag, "%s: error: cannot load BPF object: %s\n", obj->path,
			strerror(-err));
		return err;
	}

	obj->have_error = obj->log[0] && vbpf_verifier_log__parse(obj->log, &obj->error) == 0;
	if (obj->have_error) {
		vbpf_verifier_error__print(&obj->error, obj->path, obj->source_dir, obj->diag);
	} else {
		fprintf(obj->diag, "%s: error: cannot load BPF object: %s\n", obj->path,
			strerror(-err));
		print_messages(obj);
		if (obj->log[0] && !vbpf_verifier_log__is_btf(obj->log))
			fprintf(obj->diag, "verifier log:\n%s", obj->log);
	}
	return err;
}

void vbpf_obj__close(struct vbpf_obj *obj)
{
	if (!obj)
		return;
	if (obj->pin_dir[0]) {
		if (obj->bpf)
			bpf_object__unpin_maps(obj->bpf, NULL);
		if (obj->pin_mount)
			umount2(obj->pin_dir, MNT_DETACH);
		rmdir(obj->pin_dir);
	}
	bpf_object__close(obj->bpf);
	free_stats(obj);
	free(obj->path);
	free(obj->log);
	free(obj->messages);
	free(obj);
}

struct bpf_object *vbpf_obj__bpf_object(const struct vbpf_obj *obj)
{
	return obj->bpf;
}

const char *vbpf_obj__verifier_log(const struct vbpf_obj *obj)
{
	return obj->log;
}

const struct vbpf_verifier_error *vbpf_obj__verifier_error(const struct vbpf_obj *obj)
{
	return obj->have_error ? &obj->error : NULL;
}

/* The C name the checker gives a source name (checker.c, mangle(): my-map
 * -> my_map, ready? -> ready_p, ...); cases files are written with source
 * names. */
static void mangle(const char *name, char *out, size_t size)
{
	static const struct {
		char c;
		const char *text;
	} spelled[] = { { '-', "_" },	 { '?', "_p" },	 { '!', "_bang" }, { '*', "_star" },	 { '<', "_lt" },
			{ '>', "_gt" },	 { '=', "_eq" }, { '.', "_dot" },  { '\'', "_prime" } };
	size_t len = 0;
	out[0] = '\0';
	if (name[0] >= '0' && name[0] <= '9')
		len += (size_t)snprintf(out, size, "v_");
	for (const char *p = name; *p && len + 1 < size; p++) {
		char c = *p;
		const char *text = NULL;
		char one[8] = { c, '\0' };
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
			snprintf(one, sizeof(one), "_x%02X", (unsigned char)c);
			for (size_t i = 0; i < sizeof(spelled) / sizeof(*spelled); i++)
				if (spelled[i].c == c)
					text = spelled[i].text;
		}
		len += (size_t)snprintf(out + len, size - len, "%s", text ? text : one);
	}
}

bool vbpf_c_name_is(const char *c_name, const char *source, bool escaped)
{
	char m[256];
	if (!escaped && strcmp(c_name, source) == 0)
		return true;
	mangle(source, m, sizeof(m));
	size_t n = strlen(m);
	/* escaped: a reserved C name, or a C library function's at file
	 * scope, has a trailing _ (after every exact name was tried: `x`
	 * and `x_` may both be there) */
	return strncmp(c_name, m, n) == 0 && (escaped ? strcmp(c_name + n, "_") == 0 : c_name[n] == '\0');
}

struct bpf_program *vbpf_obj__find_prog(const struct vbpf_obj *obj, const char *name)
{
	if (!name)
		return bpf_object__next_program(obj->bpf, NULL);
	struct bpf_program *prog;
	for (int escaped = 0; escaped < 2; escaped++)
		bpf_object__for_each_program(prog, obj->bpf)
			if (vbpf_c_name_is(bpf_program__name(prog), name, escaped))
				return prog;
	return NULL;
}

struct bpf_map *vbpf_obj__find_map(const struct vbpf_obj *obj, const char *name)
{
	struct bpf_map *map;
	for (int escaped = 0; escaped < 2; escaped++)
		bpf_object__for_each_map(map, obj->bpf)
			if (vbpf_c_name_is(bpf_map__name(map), name, escaped))
				return map;
	return NULL;
}
