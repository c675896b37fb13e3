/* cmd_init.c - `vbpf2c init`: start a project that mixes Vaisto and C.
 *
 *   vbpf2c init KIND NAME
 *
 * Creates the directory NAME/ from the templates under templates/init/
 * (embedded into the binary by gen_templates.sh): the files directly in
 * init/ are common to every kind, init/KIND/ holds the kind's own files
 * and may override a common one. A template's file name has "NAME" in
 * place of the project name ("init/xdp/NAME.va" -> "demo.va"), and its
 * text may use the placeholders of expand() below (@NAME@ ...); any
 * other @WORD@ in capitals is a bug in the template and refused.
 *
 * Nothing is half-written: the files go into a fresh temporary directory
 * beside NAME, which is renamed to NAME only when it is complete, and only
 * if NAME still does not exist (renameat2 RENAME_NOREPLACE); an error or a
 * signal removes the temporary directory.
 *
 * Exit status: 0 created, 2 usage error (unknown kind, bad name), NAME
 * already exists, or an I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "templates.gen.h"
#include "vbpf2c.h"

/* The kinds `init` offers: each has a directory templates/init/KIND/.
 * loader_test_args is how the project's `make test` runs its loader: packet
 * programs test-run one packet through the skeleton without arguments
 * (attaching to an interface needs one); tracing programs attach, so the
 * run is bounded. */
static const struct init_kind {
	const char *name;
	const char *summary;
	const char *loader_test_args;
} init_kinds[] = {
	{ "xdp", "XDP program: drops the EtherTypes listed in a map", "" },
	{ "tc", "tc classifier: drops the EtherTypes listed in a map", "" },
	{ "cgroup_skb", "cgroup egress filter: drops IPv4 packets to listed addresses", "" },
	{ "raw_tracepoint", "raw tracepoint on sys_enter: counts system calls", "-d 1" },
};
enum { NKINDS = sizeof(init_kinds) / sizeof(init_kinds[0]) };

/* The longest NAME accepted: every file and the skeleton's identifiers
 * (NAME_bpf__open_and_load) repeat it. */
enum { NAME_MAX_LEN = 64 };

static void init_usage(void)
{
	fputs("usage: vbpf2c init KIND NAME\n"
	      "\n"
	      "Creates the directory NAME with a project that mixes Vaisto and hand-written\n"
	      "BPF C in one object: NAME.va, NAME_hand.bpf.c, a loader NAME.c built on the\n"
	      "bpftool skeleton, NAME.cases, a Makefile and a README. In NAME, 'make' builds\n"
	      "everything and 'make test' runs the cases in the kernel, then the loader.\n"
	      "\n"
	      "KIND is one of:\n",
	      stdout);
	for (int i = 0; i < NKINDS; i++)
		printf("  %-16s%s\n", init_kinds[i].name, init_kinds[i].summary);
	fputs("\n"
	      "NAME is a C identifier (letters, digits, '_'; not starting with a digit)\n"
	      "of at most 64 characters, and none of the names the project's Makefile uses\n"
	      "(Makefile, makefile, GNUmakefile, all, test, clean). NAME/ is created in the\n"
	      "current directory and must not exist.\n"
	      "\n"
	      "The Makefile runs vbpf2c as $(VBPF2C), by default 'vbpf2c' when that is the\n"
	      "command running 'init' (found on PATH), else its absolute path; override it\n"
	      "with 'make VBPF2C=...'.\n"
	      "\n"
	      "exit status: 0 created, 2 usage error, NAME exists, or I/O error\n",
	      stdout);
}

static const char try_help[] = "Try 'vbpf2c init --help' for the kinds and the rules for NAME.\n";

static int init_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int init_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("vbpf2c init: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 2;
}

static const struct init_kind *init_kind_by_name(const char *name)
{
	for (int i = 0; i < NKINDS; i++) {
		if (strcmp(init_kinds[i].name, name) == 0)
			return &init_kinds[i];
	}
	return NULL;
}

/* NULL when name can be a project name, else why not. */
static const char *name_problem(const char *name)
{
	/* File names the project's own Makefile gives a meaning: make would
	 * read a binary called makefile, and `make test` would not build a
	 * program called test. */
	static const char *const taken[] = { "Makefile", "makefile", "GNUmakefile",
					     "all", "test", "clean" };
	if (!*name)
		return "it is empty";
	if (strlen(name) > NAME_MAX_LEN)
		return "it is longer than 64 characters";
	if (*name >= '0' && *name <= '9')
		return "it starts with a digit";
	for (const char *p = name; *p; p++) {
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			return "it is not a C identifier (letters, digits and '_' only): the "
			       "skeleton and the files are named after it";
	}
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		if (strcmp(name, taken[i]) == 0)
			return "the project's Makefile uses that name";
	}
	return NULL;
}

/* ---- which vbpf2c the Makefile runs -------------------------------------- */

/* Also what main.c's -c asks about clang: an executable regular file. */
bool cmd_find_on_path(const char *name, char *found, size_t size)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	size_t name_len = strlen(name);
	for (const char *dir = path; *dir;) {
		const char *end = strchr(dir, ':');
		size_t dir_len = end ? (size_t)(end - dir) : strlen(dir);
		/* An empty entry means the current directory. */
		if (dir_len + 1 + name_len < size) {
			snprintf(found, size, "%.*s/%s", (int)(dir_len ? dir_len : 1),
				 dir_len ? dir : ".", name);
			struct stat st;
			if (access(found, X_OK) == 0 && stat(found, &st) == 0 && S_ISREG(st.st_mode))
				return true;
		}
		if (!end)
			break;
		dir = end + 1;
	}
	return false;
}

/* What $(VBPF2C) defaults to: "vbpf2c" when PATH finds this very
 * executable under that name (the project then follows upgrades and works
 * on other machines), else this executable's absolute path (a vbpf2c
 * built in a checkout and not installed). The text is written into the
 * Makefile: a path with characters make or the shell would read is
 * quoted. NULL when it cannot be written at all. */
static char *vbpf2c_default(void)
{
	char self[PATH_MAX], found[PATH_MAX], found_real[PATH_MAX];
	if (!realpath("/proc/self/exe", self))
		return strdup("vbpf2c");
	if (cmd_find_on_path("vbpf2c", found, sizeof(found)) && realpath(found, found_real) &&
	    strcmp(found_real, self) == 0)
		return strdup("vbpf2c");

	bool plain = true;
	for (const char *p = self; *p; p++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-,", *p))
			plain = false;
		if (*p == '\n' || *p == '\'')
			return NULL;
	}
	if (plain)
		return strdup(self);
	/* Single quotes for the shell; '$' and '#' escaped for make. */
	StrBuf sb = { 0 };
	sb_putc(&sb, '\'');
	for (const char *p = self; *p; p++) {
		if (*p == '$')
			sb_puts(&sb, "$$");
		else if (*p == '#')
			sb_puts(&sb, "\\#");
		else
			sb_putc(&sb, *p);
	}
	sb_putc(&sb, '\'');
	return sb.data;
}

/* ---- expanding templates -------------------------------------------------- */

struct init_vars {
	const char *name;               /* @NAME@ */
	const char *kind;               /* @KIND@ */
	const char *vbpf2c;             /* @VBPF2C@ */
	const char *loader_test;        /* @LOADER_TEST@: "./demo -d 1" */
};

/* Copies template t into out with its placeholders replaced. False, after
 * saying so, on a placeholder this code does not know. */
static bool expand(const struct template_file *t, const struct init_vars *v, StrBuf *out)
{
	const struct {
		const char *placeholder;
		const char *value;
	} table[] = {
		{ "@NAME@", v->name },
		{ "@KIND@", v->kind },
		{ "@VBPF2C@", v->vbpf2c },
		{ "@LOADER_TEST@", v->loader_test },
		{ "@VERSION@", VBPF2C_VERSION },
	};
	const char *s = t->text;
	while (*s) {
		const char *at = strchr(s, '@');
		if (!at) {
			sb_puts(out, s);
			break;
		}
		/* Everything up to the '@'. */
		for (; s < at; s++)
			sb_putc(out, *s);
		/* @[A-Z][A-Z0-9_]*@ is a placeholder; any other '@' is text. */
		size_t n = 1;
		while ((at[n] >= 'A' && at[n] <= 'Z') || at[n] == '_' ||
		       (n > 1 && at[n] >= '0' && at[n] <= '9'))
			n++;
		if (n == 1 || at[n] != '@') {
			sb_putc(out, '@');
			s = at + 1;
			continue;
		}
		n++;
		size_t i;
		for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
			if (strlen(table[i].placeholder) == n && strncmp(at, table[i].placeholder, n) == 0)
				break;
		}
		if (i == sizeof(table) / sizeof(table[0])) {
			init_fail("template %s: unknown placeholder %.*s", t->name, (int)n, at);
			return false;
		}
		sb_puts(out, table[i].value);
		s = at + n;
	}
	return true;
}

/* ---- the temporary directory, removed on failure and on signals ---------- */

/* Every path the project may hold, made before anything is written so the
 * signal handler only unlinks (async-signal-safe) and never allocates. */
enum { MAX_FILES = 32 };
static char *staged_files[MAX_FILES];
static volatile sig_atomic_t nstaged;
static char *staging_dir;

static void unstage(void)
{
	for (int i = 0; i < nstaged; i++)
		unlink(staged_files[i]);
	if (staging_dir)
		rmdir(staging_dir);
}

static void on_fatal_signal(int sig)
{
	unstage();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Writes data into a new file of the staging directory; messages name the
 * file as it would be once in place (shown: "demo/demo.va"). */
static bool stage_file(const char *path, const char *shown, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		init_fail("cannot create %s: %s", shown, strerror(errno));
		return false;
	}
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			init_fail("cannot write %s: %s", shown, strerror(errno));
			close(fd);
			return false;
		}
		data += n;
		len -= (size_t)n;
	}
	if (close(fd) != 0) {
		init_fail("cannot write %s: %s", shown, strerror(errno));
		return false;
	}
	return true;
}

/* The templates of kind: the common ones (init/X) unless the kind has its
 * own (init/KIND/X), then the kind's. Returns how many, or -1 when there
 * are more than max. */
static int select_templates(const char *kind, const struct template_file **out, int max)
{
	char prefix[96];
	snprintf(prefix, sizeof(prefix), "init/%s/", kind);
	size_t plen = strlen(prefix);
	int n = 0;
	for (const struct template_file *t = template_files; t->name; t++) {
		const char *base = NULL;
		if (strncmp(t->name, "init/", 5) == 0 && !strchr(t->name + 5, '/')) {
			base = t->name + 5;
			char own[160];
			snprintf(own, sizeof(own), "%s%s", prefix, base);
			if (template_lookup(own))
				continue;
		} else if (strncmp(t->name, prefix, plen) == 0 && !strchr(t->name + plen, '/')) {
			base = t->name + plen;
		}
		if (base && n == max)
			return -1;
		if (base)
			out[n++] = t;
	}
	return n;
}

/* "dir" + "file" -> "dir/file" (malloc'd), or NULL. */
static char *path_join(const char *dir, const char *file)
{
	size_t n = strlen(dir) + 1 + strlen(file) + 1;
	char *path = malloc(n);
	if (path)
		snprintf(path, n, "%s/%s", dir, file);
	return path;
}

/* "NAME.va" -> "demo.va": the template's base name with a leading NAME
 * replaced by the project's name. */
static char *output_name(const struct template_file *t, const char *name)
{
	const char *base = strrchr(t->name, '/') + 1;
	if (strncmp(base, "NAME", 4) != 0)
		return strdup(base);
	size_t n = strlen(name) + strlen(base + 4) + 1;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "%s%s", name, base + 4);
	return out;
}

/* rename(from, to) unless to exists, then -1 with errno EEXIST. A file
 * system without RENAME_NOREPLACE gets a check just before the rename. */
static int move_into_place(const char *from, const char *to)
{
	struct stat st;
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	if (lstat(to, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

int cmd_init(int argc, char **argv)
{
	const char *kind_name = NULL, *name = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			init_usage();
			return fflush(stdout) == 0 ? 0 : 2;
		}
		/* No kind or name starts with '-'. */
		if (argv[i][0] == '-') {
			init_fail("unknown option '%s'", argv[i]);
			fputs(try_help, stderr);
			return 2;
		}
		if (!kind_name) {
			kind_name = argv[i];
		} else if (!name) {
			name = argv[i];
		} else {
			init_fail("too many arguments (from '%s' on): give one KIND and one NAME",
				  argv[i]);
			return 2;
		}
	}
	if (!kind_name || !name) {
		init_fail("expected a KIND and a NAME: vbpf2c init KIND NAME");
		fputs(try_help, stderr);
		return 2;
	}

	const struct init_kind *kind = init_kind_by_name(kind_name);
	if (!kind) {
		StrBuf known = { 0 };
		for (int i = 0; i < NKINDS; i++)
			sb_printf(&known, "%s%s", i ? ", " : "", init_kinds[i].name);
		init_fail("unknown kind '%s' (expected one of: %s)", kind_name, known.data);
		sb_free(&known);
		return 2;
	}
	const char *problem = name_problem(name);
	if (problem)
		return init_fail("cannot use '%s' as a project name: %s", name, problem);
	struct stat st;
	if (lstat(name, &st) == 0)
		return init_fail("%s already exists: choose another name or remove it", name);
	if (errno != ENOENT)
		return init_fail("cannot use %s: %s", name, strerror(errno));

	const struct template_file *files[MAX_FILES];
	int nfiles = select_templates(kind->name, files, MAX_FILES);
	if (nfiles < 0)
		return init_fail("templates/init/%s has more than %d files: raise MAX_FILES",
				 kind->name, MAX_FILES);
	char *vbpf2c = vbpf2c_default();
	if (!vbpf2c) {
		vbpf2c = strdup("vbpf2c");
		fprintf(stderr, "vbpf2c init: warning: the path of this vbpf2c cannot be written in "
				"a Makefile: the project runs 'vbpf2c' from PATH (make VBPF2C=...)\n");
	}
	StrBuf loader_test = { 0 };
	sb_printf(&loader_test, "./%s%s%s", name, *kind->loader_test_args ? " " : "",
		  kind->loader_test_args);
	struct init_vars vars = {
		.name = name,
		.kind = kind->name,
		.vbpf2c = vbpf2c,
		.loader_test = loader_test.data,
	};

	/* Before anything exists that they should remove. */
	static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP };
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		signal(fatal_signals[i], on_fatal_signal);

	int status = 2;
	/* Beside NAME, so that the rename cannot cross file systems. */
	char *dir = malloc(strlen(name) + sizeof("..XXXXXX"));
	if (dir)
		sprintf(dir, ".%s.XXXXXX", name);
	if (!dir || !mkdtemp(dir)) {
		init_fail("cannot create a directory here: %s", strerror(errno));
		free(dir);
		free(vbpf2c);
		sb_free(&loader_test);
		return 2;
	}
	staging_dir = dir;
	char *paths[MAX_FILES] = { 0 }, *shown[MAX_FILES] = { 0 };
	for (int i = 0; i < nfiles; i++) {
		char *base = output_name(files[i], name);
		if (!base || !(paths[i] = path_join(dir, base)) || !(shown[i] = path_join(name, base))) {
			init_fail("out of memory");
			free(base);
			goto out;
		}
		free(base);
	}

	mode_t mask = umask(0);
	umask(mask);
	for (int i = 0; i < nfiles; i++) {
		StrBuf text = { 0 };
		bool ok = expand(files[i], &vars, &text);
		staged_files[i] = paths[i];
		nstaged = i + 1;
		ok = ok && stage_file(paths[i], shown[i], text.data ? text.data : "", text.len);
		sb_free(&text);
		if (!ok)
			goto out;
	}
	/* mkdtemp made it 0700: give it what mkdir would have. */
	if (chmod(dir, 0777 & ~mask) != 0) {
		init_fail("cannot set the permissions of %s: %s", name, strerror(errno));
		goto out;
	}
	if (move_into_place(dir, name) != 0) {
		if (errno == EEXIST)
			init_fail("%s already exists: choose another name or remove it", name);
		else
			init_fail("cannot create %s: %s", name, strerror(errno));
		goto out;
	}
	nstaged = 0;
	staging_dir = NULL;
	status = 0;
	printf("created %s/ (%s): cd %s && make && make test\n", name, kind->name, name);
	if (fflush(stdout) != 0)
		status = 2;

out:
	unstage();
	nstaged = 0;
	staging_dir = NULL;
	for (int i = 0; i < nfiles; i++) {
		free(paths[i]);
		free(shown[i]);
	}
	free(dir);
	free(vbpf2c);
	sb_free(&loader_test);
	return status;
}
