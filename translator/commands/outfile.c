/* outfile.c - output files that are written whole or not at all, the
 * temporaries behind them, and the child processes that write some of
 * them: what a compiler driver owes the file system.
 *
 * Every output of a run is staged first - written in full to a temporary -
 * and committed only when all of them are ready (outfile_commit_all):
 *
 *   - a regular file, or a path that does not exist yet, is staged beside
 *     itself (".NAME.XXXXXX" in the same directory) and renamed into
 *     place, so it is replaced atomically and never left half written;
 *   - anything else that exists - a device (/dev/null), a FIFO, a
 *     symbolic link (/dev/stdout), "-" for standard output - has its bytes
 *     written into it, as cc does: renaming over /dev/null would replace
 *     the device with a regular file. Bytes the caller holds in memory
 *     (the C, a header: outfile_stage_data) wait there; an object a tool
 *     writes is staged in $TMPDIR.
 *
 * The write-through outputs are committed before the renames, so a failing
 * device (-H /dev/full: ENOSPC) leaves every regular file untouched.
 *
 * SIGINT, SIGTERM, SIGHUP and SIGPIPE (cleanup_on_signals: a closed
 * stderr pipe must not leave temporaries either) forward the signal to the
 * child that runs (clang, a linked vbpf2c), wait for it - so it cannot
 * write a file after we are gone - remove every registered temporary, and
 * die of the signal. The handler touches only the registry below, with
 * async-signal-safe calls.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disasm.h"
#include "vbpf2c.h"

extern char **environ;

/* ---- temporaries and the child, for the signal handler ------------------ */

/* Removed slots are set to NULL rather than compacted, so the handler
 * never sees a half-moved array. */
enum { MAX_TEMPS = 32 };
static char *volatile temp_paths[MAX_TEMPS];
static volatile sig_atomic_t child_pid;

static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
enum { NFATAL = sizeof(fatal_signals) / sizeof(fatal_signals[0]) };

void temp_register(const char *path)
{
	for (int i = 0; i < MAX_TEMPS; i++) {
		if (!temp_paths[i]) {
			char *copy = strdup(path);
			if (!copy)
				return;
			temp_paths[i] = copy;
			return;
		}
	}
}

void temp_unregister(const char *path)
{
	for (int i = MAX_TEMPS - 1; i >= 0; i--) {
		char *p = temp_paths[i];
		if (p && strcmp(p, path) == 0) {
			temp_paths[i] = NULL;
			free(p);
			return;
		}
	}
}

void temp_remove(const char *path)
{
	if (unlink(path) != 0 && errno == EISDIR)
		rmdir(path);
	temp_unregister(path);
}

/* Latest first: a directory is registered before the files in it. */
static void remove_all_temps(void)
{
	for (int i = MAX_TEMPS - 1; i >= 0; i--) {
		const char *p = temp_paths[i];
		if (p && unlink(p) != 0 && errno == EISDIR)
			rmdir(p);
	}
}

static void on_fatal_signal(int sig)
{
	pid_t child = child_pid;
	if (child > 0) {
		kill(child, sig);
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	remove_all_temps();
	signal(sig, SIG_DFL);
	raise(sig);
}

void cleanup_on_signals(void)
{
	for (int i = 0; i < NFATAL; i++)
		signal(fatal_signals[i], on_fatal_signal);
}

/* Writes input into the child's end of its standard input, then closes
 * it. A socket rather than a pipe: send(MSG_NOSIGNAL) gets EPIPE, not our
 * SIGPIPE handler, when the child quits without reading it all (its exit
 * status then says what happened). */
static void feed_child(int fd, const char *const *input, const size_t *len, int nparts)
{
	for (int i = 0; i < nparts; i++) {
		const char *p = input[i];
		size_t left = len[i];
		while (left > 0) {
			ssize_t n = send(fd, p, left, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				goto done;
			p += n;
			left -= (size_t)n;
		}
	}
done:
	close(fd);
}

int spawn_and_wait(const char *path, char **argv, bool search_path)
{
	return spawn_feed_and_wait(path, argv, search_path, NULL, NULL, 0);
}

int spawn_feed_and_wait(const char *path, char **argv, bool search_path, const char *const *input,
			const size_t *len, int nparts)
{
	int sv[2] = { -1, -1 };
	if (input && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		fprintf(stderr, "vbpf2c: cannot run %s: %s\n", argv[0], strerror(errno));
		return -1;
	}
	/* The signals stay blocked from before the child exists until its
	 * pid is recorded, so the handler never misses it; the child gets
	 * the mask we had. */
	sigset_t fatal, old;
	sigemptyset(&fatal);
	for (int i = 0; i < NFATAL; i++)
		sigaddset(&fatal, fatal_signals[i]);
	sigprocmask(SIG_BLOCK, &fatal, &old);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &old);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	if (input)
		posix_spawn_file_actions_adddup2(&actions, sv[1], STDIN_FILENO);
	pid_t pid;
	int err = search_path ? posix_spawnp(&pid, path, &actions, &attr, argv, environ)
			      : posix_spawn(&pid, path, &actions, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	if (err == 0)
		child_pid = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (input)
		close(sv[1]);
	if (err != 0) {
		if (input)
			close(sv[0]);
		fprintf(stderr, "vbpf2c: cannot run %s: %s\n", argv[0], strerror(err));
		if (err == ENOENT && search_path)
			fputs("hint: install clang (apt-get install clang), or name it with "
			      "--clang=PATH or $CLANG\n",
			      stderr);
		return -1;
	}
	if (input)
		feed_child(sv[0], input, len, nparts);
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "vbpf2c: waiting for %s: %s\n", argv[0], strerror(errno));
			child_pid = 0;
			return -1;
		}
	}
	child_pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	fprintf(stderr, "vbpf2c: %s was killed by signal %d\n", argv[0], WTERMSIG(status));
	return -1;
}

/* ---- staged outputs -------------------------------------------------------- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	StrBuf sb = { 0 };
	sb_puts(&sb, "vbpf2c: ");
	sb_vprintf(&sb, fmt, ap);
	sb_putc(&sb, '\n');
	fwrite(sb.data, 1, sb.len, stderr);
	sb_free(&sb);
	va_end(ap);
}

static const char *shown_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "standard output" : path;
}

int outfile_stage(OutFile *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	struct stat st;
	o->write_through = strcmp(path, "-") == 0 || (lstat(path, &st) == 0 && !S_ISREG(st.st_mode));
	char *staged;
	if (o->write_through) {
		const char *tmpdir = getenv("TMPDIR");
		if (!tmpdir || !*tmpdir)
			tmpdir = "/tmp";
		if (asprintf(&staged, "%s/vbpf2c-out-XXXXXX", tmpdir) < 0)
			staged = NULL;
	} else {
		const char *slash = strrchr(path, '/');
		const char *base = slash ? slash + 1 : path;
		if (asprintf(&staged, "%.*s.%s.XXXXXX", (int)(base - path), path, base) < 0)
			staged = NULL;
	}
	if (!staged) {
		say("out of memory");
		return -1;
	}
	int fd = mkstemp(staged);
	if (fd < 0) {
		say("cannot write %s: %s", shown_name(path), strerror(errno));
		free(staged);
		return -1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	temp_register(staged);
	o->staged = staged;
	return fd;
}

bool outfile_stage_data(OutFile *o, const char *path, const char *data, size_t len)
{
	/* A write-through output of bytes already in memory needs no copy in
	 * $TMPDIR: they are written into it at the commit, from here. */
	struct stat st;
	if (strcmp(path, "-") == 0 || (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))) {
		memset(o, 0, sizeof(*o));
		o->path = path;
		o->write_through = true;
		o->data = data;
		o->len = len;
		return true;
	}
	int fd = outfile_stage(o, path);
	if (fd < 0)
		return false;
	if (!write_all(fd, data, len) || close(fd) != 0) {
		say("cannot write %s: %s", shown_name(path), strerror(errno));
		outfile_discard(o);
		return false;
	}
	return true;
}

void outfile_discard(OutFile *o)
{
	if (o->staged) {
		temp_remove(o->staged);
		free(o->staged);
		o->staged = NULL;
	}
}

bool outfile_check_object(OutFile *o, const char *tool)
{
	SourceFile bytes;
	char why[256];
	bool ok = false;
	if (!read_whole_file(o->staged, &bytes, why, sizeof(why))) {
		/* said why */
	} else {
		ObjFile obj;
		const unsigned char *p = (const unsigned char *)bytes.text;
		if (!obj_read(bytes.text, bytes.len, &obj, why, sizeof(why)))
			;
		else if (p[16] != ET_REL || p[17] != 0)
			snprintf(why, sizeof(why), "not a relocatable object (ELF type %u)", p[16] | p[17] << 8);
		else
			ok = true;
		free((char *)bytes.text);
	}
	if (!ok)
		say("%s did not write a BPF object for %s: %s; %s is left as it was", tool,
		    shown_name(o->path), bytes.len == 0 ? "the file is empty" : why, shown_name(o->path));
	return ok;
}

/* Copies the staged bytes into o->path: a device, a FIFO, the file a
 * symbolic link names, or standard output. */
static bool write_through(const OutFile *o)
{
	bool to_stdout = strcmp(o->path, "-") == 0;
	int in = o->data ? -1 : open(o->staged, O_RDONLY | O_CLOEXEC);
	int out = to_stdout ? STDOUT_FILENO : open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	bool ok = (o->data || in >= 0) && out >= 0;
	if (ok && o->data)
		ok = write_all(out, o->data, o->len);
	char buf[65536];
	while (ok && !o->data) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ok = n == 0;
			break;
		}
		ok = write_all(out, buf, (size_t)n);
	}
	if (!to_stdout && out >= 0 && close(out) != 0)
		ok = false;
	if (!ok)
		say("cannot write %s: %s", shown_name(o->path), strerror(errno));
	if (in >= 0)
		close(in);
	return ok;
}

static mode_t creation_mode(void)
{
	mode_t mask = umask(0);
	umask(mask);
	return 0666 & ~mask;
}

bool outfile_commit_all(OutFile *outs, int n)
{
	bool ok = true;
	for (int i = 0; ok && i < n; i++)
		if ((outs[i].staged || outs[i].data) && outs[i].write_through)
			ok = write_through(&outs[i]);
	/* mkstemp creates 0600: give the file what open(O_CREAT, 0666) would */
	for (int i = 0; ok && i < n; i++) {
		OutFile *o = &outs[i];
		if (!o->staged || o->write_through)
			continue;
		if (chmod(o->staged, creation_mode()) != 0 || rename(o->staged, o->path) != 0) {
			say("cannot write %s: %s", o->path, strerror(errno));
			ok = false;
			break;
		}
		temp_unregister(o->staged);
		free(o->staged);
		o->staged = NULL;
	}
	for (int i = 0; i < n; i++)
		outfile_discard(&outs[i]);
	return ok;
}

/* ---- an output that is an input ------------------------------------------- */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Do paths a and b name the same file? The same inode when both exist;
 * else the same name in the same directory (two outputs that do not exist
 * yet: `-o x.c -H ./x.c`). */
static bool same_path(const char *a, const char *b)
{
	struct stat sa, sb;
	bool ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
	if (ea || eb)
		return ea && eb && same_file(&sa, &sb);
	const char *base_a = strrchr(a, '/'), *base_b = strrchr(b, '/');
	base_a = base_a ? base_a + 1 : a;
	base_b = base_b ? base_b + 1 : b;
	if (strcmp(base_a, base_b) != 0)
		return false;
	char *dir_a = strndup(a, (size_t)(base_a - a)), *dir_b = strndup(b, (size_t)(base_b - b));
	bool same = dir_a && dir_b && stat(*dir_a ? dir_a : ".", &sa) == 0 &&
		    stat(*dir_b ? dir_b : ".", &sb) == 0 && same_file(&sa, &sb);
	free(dir_a);
	free(dir_b);
	return same;
}

bool outputs_spare_inputs(const char *const *inputs, int ninputs, const char *const *outputs,
			  int noutputs)
{
	for (int o = 0; o < noutputs; o++) {
		if (!outputs[o] || strcmp(outputs[o], "-") == 0)
			continue;
		for (int p = 0; p < o; p++) {
			if (outputs[p] && strcmp(outputs[p], "-") != 0 && same_path(outputs[p], outputs[o])) {
				say("output files '%s' and '%s' are the same file", outputs[p], outputs[o]);
				return false;
			}
		}
		/* Only regular files: `vbpf2c - -o /dev/null < /dev/null` is fine. */
		struct stat out;
		if (stat(outputs[o], &out) != 0 || !S_ISREG(out.st_mode))
			continue;
		for (int i = 0; i < ninputs; i++) {
			struct stat in;
			bool is_stdin = strcmp(inputs[i], "-") == 0;
			if ((is_stdin ? fstat(STDIN_FILENO, &in) : stat(inputs[i], &in)) != 0)
				continue;
			if (same_file(&in, &out)) {
				say("output file '%s' is the input file '%s': refusing to overwrite it",
				    outputs[o], is_stdin ? "<stdin>" : inputs[i]);
				return false;
			}
		}
	}
	return true;
}

/* ---- small file helpers ------------------------------------------------------ */

bool write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		data += n;
		len -= (size_t)n;
	}
	return true;
}

bool read_whole_file(const char *path, SourceFile *file, char *why, size_t why_size)
{
	memset(file, 0, sizeof(*file));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_size, "%s", strerror(errno));
		return false;
	}
	size_t cap = 4096, len = 0;
	char *text = malloc(cap);
	while (text) {
		if (len + 1 >= cap) {
			char *bigger = realloc(text, cap * 2);
			if (!bigger) {
				free(text);
				text = NULL;
				break;
			}
			text = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, text + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, why_size, "%s", strerror(errno));
			free(text);
			close(fd);
			return false;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!text) {
		snprintf(why, why_size, "out of memory");
		return false;
	}
	text[len] = '\0';
	file->name = path;
	file->text = text;
	file->len = len;
	return true;
}
