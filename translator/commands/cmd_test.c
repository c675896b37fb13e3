/* cmd_test.c - `vbpf2c test`: prove a program in the kernel.
 *
 *   vbpf2c test [options] prog.va [prog.cases]
 *
 * Compiles prog.va to a BPF object exactly as `vbpf2c -c` does (by running
 * this same executable with -c, so the two can never disagree), loads it -
 * a verifier rejection is printed at the .va line - and runs the cases of
 * prog.cases (default: beside prog.va, when it exists; docs/cases.md) with
 * BPF_PROG_TEST_RUN. One line per case, then "N passed, N failed".
 * A .o argument is loaded as it is, without compiling.
 *
 * A program that calls c: functions or reads :extern maps cannot load on
 * its own: the command says so and shows how to link it with the
 * hand-written C and test the linked object (exit status 2).
 *
 * Exit status: 0 every check passed (or bpf() is refused and everything was
 * skipped, with the reason), 1 a check failed or the source was rejected,
 * 2 usage or tool trouble.
 */
#include <dirent.h>
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "vbpf2c.h"
#include "../runtime/vbpf_runtime.h"

extern char **environ;

static const char test_usage[] =
	"usage: vbpf2c test [options] file.va [file.cases]\n"
	"\n"
	"Compiles file.va, loads it into the kernel and runs its cases (file.cases\n"
	"beside it by default; see docs/cases.md) with BPF_PROG_TEST_RUN.\n"
	"\n"
	"options:\n"
	"  --dump          print each run's return value, packet and maps, and every\n"
	"                  map after the cases\n"
	"  --keep          keep the compiled object (file.bpf.o beside file.va)\n"
	"  --backend=NAME, --clang=PATH, -I DIR, -D NAME[=VAL], -WFLAG, --license=STR,\n"
	"  --btf=FILE      passed to the compiler, as for vbpf2c -c\n"
	"  --help          this text\n"
	"\n"
	"A program that calls c: functions loads only linked with its hand-written\n"
	"C: link with vbpf2c -c file.va hand.bpf.c -o file.bpf.o, then test file.bpf.o.\n"
	"\n"
	"exit status: 0 all passed (or skipped: bpf() refused), 1 a failure,\n"
	"2 usage or tool trouble (also: a program that needs linking first)\n";

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int cmd_compile_option(int argc, char **argv, int i, char **compile_args, int *nargs)
{
	const char *arg = argv[i];
	if ((strcmp(arg, "-I") == 0 || strcmp(arg, "-D") == 0) && i + 1 < argc) {
		compile_args[(*nargs)++] = argv[i];
		compile_args[(*nargs)++] = argv[i + 1];
		return 2;
	}
	if (strncmp(arg, "-I", 2) == 0 || strncmp(arg, "-D", 2) == 0 || (strncmp(arg, "-W", 2) == 0 && arg[2]) ||
	    strncmp(arg, "--backend=", 10) == 0 || strncmp(arg, "--clang=", 8) == 0 ||
	    strncmp(arg, "--license=", 10) == 0 || strncmp(arg, "--btf=", 6) == 0) {
		compile_args[(*nargs)++] = argv[i];
		return 1;
	}
	return 0;
}

/* Runs `self [compile_args...] -c source -o object`; true on success.
 * The compiler's diagnostics go to our stderr as they are. */
bool cmd_compile(const char *source, const char *object, char **compile_args, int nargs)
{
	char **argv = calloc((size_t)nargs + 6, sizeof(*argv));
	if (!argv)
		return false;
	int argc = 0;
	argv[argc++] = "vbpf2c";
	for (int i = 0; i < nargs; i++)
		argv[argc++] = compile_args[i];
	argv[argc++] = "-c";
	argv[argc++] = "-o";
	argv[argc++] = (char *)object;
	argv[argc++] = (char *)source;
	pid_t pid;
	int err = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ);
	free(argv);
	if (err) {
		fprintf(stderr, "vbpf2c test: cannot run the compiler: %s\n", strerror(err));
		return false;
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static char *dirname_of(const char *path);

/* A hand-written BPF C file beside the source that defines fn (its text
 * holds "fn("), for the command the user is shown; NULL when none does. */
static char *file_defining(const char *dir, const char *fn)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	char *found = NULL, *want = NULL;
	if (asprintf(&want, "%s(", fn) < 0) {
		closedir(d);
		return NULL;
	}
	/* the first in name order, so the hint does not depend on readdir */
	for (struct dirent *e; (e = readdir(d));) {
		if (!has_suffix(e->d_name, ".bpf.c") || (found && strcmp(e->d_name, strrchr(found, '/') ? strrchr(found, '/') + 1 : found) >= 0))
			continue;
		char *path = NULL;
		if (strcmp(dir, ".") == 0 ? !(path = strdup(e->d_name)) : asprintf(&path, "%s/%s", dir, e->d_name) < 0)
			continue;
		FILE *f = fopen(path, "rb");
		StrBuf text = { 0 };
		char buf[65536];
		size_t n;
		while (f && (n = fread(buf, 1, sizeof(buf) - 1, f)) > 0) {
			buf[n] = '\0';
			sb_puts(&text, buf);
		}
		if (f)
			fclose(f);
		if (text.data && strstr(text.data, want)) {
			free(found);
			found = path;
		} else {
			free(path);
		}
		sb_free(&text);
	}
	closedir(d);
	free(want);
	return found;
}

/* A program that calls c: functions (or reads :extern maps) is only half a
 * program: libbpf cannot load it until hand-written C supplies the rest
 * (docs/mixing.md). Says so, with the commands that link and then test;
 * false when the program stands alone (or does not parse: the compiler
 * reports that). */
static bool needs_linking(const char *source, const char *cases)
{
	StrBuf text = { 0 };
	Module *m = cmd_read_module(source, &text);
	StrBuf what = { 0 };
	const char *first_fn = NULL;
	for (int i = 0; m && i < m->decls.len; i++) {
		Decl *d = m->decls.items[i];
		if (d->kind == D_EXTERN && d->u.ext->is_c) {
			sb_printf(&what, "%sc:%s", what.data ? ", " : "", d->u.ext->name);
			if (!first_fn)
				first_fn = d->u.ext->name;
		} else if (d->kind == D_MAP && d->u.map->is_extern) {
			sb_printf(&what, "%smap %s (:extern)", what.data ? ", " : "", d->u.map->name);
		}
	}
	bool half = what.data != NULL;
	if (half) {
		size_t stem = strlen(source) - (has_suffix(source, ".va") ? 3 : 0);
		char *dir = dirname_of(source);
		char *hand = first_fn ? file_defining(dir, first_fn) : NULL;
		fprintf(stderr,
			"vbpf2c test: %s uses %s, defined in hand-written BPF C (docs/mixing.md):\n"
			"it loads only linked with that C. Link, then test the object:\n"
			"  vbpf2c -c %s %s -o %.*s.bpf.o\n"
			"  vbpf2c test %.*s.bpf.o%s%s\n",
			source, what.data, source, hand ? hand : "HAND.bpf.c", (int)stem, source, (int)stem, source,
			cases ? " " : "", cases ? cases : "");
		free(hand);
		free(dir);
	}
	sb_free(&what);
	sb_free(&text);
	arena_reset();
	return half;
}

static char *dirname_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	return strndup(path, (size_t)(slash - path) + (slash == path));
}

int cmd_test(int argc, char **argv)
{
	const char *source = NULL, *cases = NULL;
	bool dump = false, keep = false;
	char **compile_args = calloc((size_t)argc + 1, sizeof(*compile_args));
	int ncompile = 0, used;
	if (!compile_args)
		return 2;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0) {
			fputs(test_usage, stdout);
			free(compile_args);
			return 0;
		} else if (strcmp(arg, "--dump") == 0) {
			dump = true;
		} else if (strcmp(arg, "--keep") == 0) {
			keep = true;
		} else if ((used = cmd_compile_option(argc, argv, i, compile_args, &ncompile))) {
			i += used - 1;
		} else if (arg[0] == '-') {
			fprintf(stderr, "vbpf2c test: unknown option '%s'\n%s", arg, test_usage);
			free(compile_args);
			return 2;
		} else if (!source) {
			source = arg;
		} else if (!cases) {
			cases = arg;
		} else {
			fprintf(stderr, "vbpf2c test: one program and one cases file at most\n");
			free(compile_args);
			return 2;
		}
	}
	if (!source) {
		fputs(test_usage, stderr);
		free(compile_args);
		return 2;
	}

	/* prog.va -> prog.cases, when there is one. */
	char *default_cases = NULL;
	if (!cases) {
		size_t stem = strlen(source) - (has_suffix(source, ".va") ? 3
					      : has_suffix(source, ".vaisto") ? 7
					      : has_suffix(source, ".o") ? 2 : 0);
		if (has_suffix(source, ".bpf.o"))
			stem -= 4;
		if (asprintf(&default_cases, "%.*s.cases", (int)stem, source) > 0 &&
		    file_exists(default_cases))
			cases = default_cases;
	}

	if (!has_suffix(source, ".o") && needs_linking(source, cases)) {
		free(default_cases);
		free(compile_args);
		return 2;
	}

	int status = 2;
	char tmpdir[] = "/tmp/vbpf2c-test.XXXXXX";
	char *object = NULL;
	bool made_tmpdir = false;
	if (has_suffix(source, ".o")) {
		object = strdup(source);
	} else if (keep) {
		size_t stem = strlen(source) - (has_suffix(source, ".va") ? 3 : 0);
		if (asprintf(&object, "%.*s.bpf.o", (int)stem, source) < 0)
			object = NULL;
	} else if (mkdtemp(tmpdir)) {
		made_tmpdir = true;
		if (asprintf(&object, "%s/prog.bpf.o", tmpdir) < 0)
			object = NULL;
	} else {
		fprintf(stderr, "vbpf2c test: cannot make a temporary directory: %s\n",
			strerror(errno));
	}
	if (!object)
		goto out;
	if (!has_suffix(source, ".o") && !cmd_compile(source, object, compile_args, ncompile)) {
		printf("FAIL compile: %s\n0 passed, 1 failed\n", source);
		status = 1;
		goto out;
	}

	char *source_dir = dirname_of(source);
	struct vbpf_test_opts opts = {
		.cases_path = cases,
		.name = source,
		.source_dir = source_dir,
		.dump_maps = dump,
		.out = stdout,
		.diag = stderr,
	};
	/* Diagnostics and case lines interleave in the order they happen. */
	fflush(stdout);
	/* records the program sends as events, printed by field names */
	struct btf *records = has_suffix(source, ".o") ? NULL : cmd_event_records(source);
	vbpf_events__set_records(records);
	struct vbpf_test_stats stats = vbpf_test__run_object(object, &opts);
	vbpf_events__set_records(NULL);
	btf__free(records);
	free(source_dir);
	printf("%d passed, %d failed", stats.passed, stats.failed);
	if (stats.skipped)
		printf(", %d skipped", stats.skipped);
	printf("\n");
	status = stats.failed ? 1 : 0;
out:
	if (made_tmpdir) {
		if (object)
			unlink(object);
		rmdir(tmpdir);
	}
	free(object);
	free(default_cases);
	free(compile_args);
	return status;
}
