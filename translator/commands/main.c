/* main.c - the vbpf2c command.
 *
 *   vbpf2c [options] file.va
 *   vbpf2c -c [options] file.va hand.bpf.c x.o -o out.o    (cmd_link.c)
 *   vbpf2c test [options] file.va [file.cases]     (cmd_test.c)
 *   vbpf2c run [options] file.va                    (cmd_run.c)
 *
 * Reads the whole source, runs the front end, and then either stops
 * (--check), writes the C (stdout or -o), or compiles the C with clang
 * (-c), or prints the object's instructions (--emit=asm, disasm.c), or
 * compares what the two backends make of it (--compare, cmd_compare.c).
 * Every output is staged in full and all are committed together
 * (outfile.c): renamed into place when a regular file, written into when
 * a device, FIFO or symlink. A failure - or an interrupt - never leaves a
 * partial file behind, and nothing at all is written when the program is
 * rejected.
 *
 * Exit status: 0 success, 1 the program was rejected (diagnostics on
 * stderr), 2 usage, I/O or tool failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disasm.h"
#include "native.h"
#include "vbpf2c.h"

extern char **environ;

enum {
	EXIT_OK = 0,
	EXIT_REJECTED = 1,   /* the source has errors; diagnostics printed */
	EXIT_TROUBLE = 2,    /* bad usage, I/O error, clang missing or failing */
};

/* Debian puts asm/types.h - included by linux/bpf.h - under a multiarch
 * directory that clang -target bpf does not search. The tuple is the
 * build machine's, which is the machine whose headers we compile against. */
#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#elif defined(__i386__)
#define MULTIARCH "i386-linux-gnu"
#elif defined(__arm__)
#define MULTIARCH "arm-linux-gnueabihf"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MULTIARCH "powerpc64le-linux-gnu"
#elif defined(__s390x__)
#define MULTIARCH "s390x-linux-gnu"
#elif defined(__riscv) && __riscv_xlen == 64
#define MULTIARCH "riscv64-linux-gnu"
#elif defined(__mips64) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MULTIARCH "mips64el-linux-gnuabi64"
#else
#error "unknown Debian multiarch tuple for this architecture: add it here"
#endif
#define MULTIARCH_INCLUDE "-I/usr/include/" MULTIARCH

static const char usage_text[] =
	"Usage: vbpf2c [options] FILE.va\n"
	"       vbpf2c -c [options] FILE.va [HAND.c ...] [OBJ.o ...] [-o OUT.o]\n"
	"       vbpf2c test [options] FILE.va [FILE.cases]\n"
	"       vbpf2c run [options] FILE.va\n"
	"       vbpf2c init KIND NAME\n"
	"       vbpf2c --emit=asm [options] FILE.va|FILE.o\n"
	"       vbpf2c --compare [options] FILE.va\n"
	"Translate a Vaisto BPF program to libbpf C, or compile it to a BPF object.\n"
	"The C goes to standard output unless -o or -c says otherwise.\n"
	"FILE may be '-' to read standard input.\n"
	"With -c, .c files (hand-written BPF C) and .o files (BPF objects) may follow:\n"
	"every input is compiled - the C with the same clang and flags, and -I of a\n"
	"directory holding a fresh FILE.h for each FILE.va - and all are linked into\n"
	"one object with libbpf's linker. Their license strings must be identical.\n"
	"'vbpf2c test' compiles FILE.va, loads it into the kernel and runs its test\n"
	"cases with BPF_PROG_TEST_RUN. 'vbpf2c run' loads it, attaches it where this\n"
	"machine allows and prints its maps and events. 'vbpf2c init' creates a\n"
	"project NAME/ - a KIND program half Vaisto, half hand-written C, with a\n"
	"skeleton loader - whose 'make' and 'make test' work as they are.\n"
	"Each takes --help ('vbpf2c init --help' lists the kinds).\n"
	"\n"
	"Options:\n"
	"  -o FILE         write the output to FILE ('-': standard output)\n"
	"  -c              compile to a BPF object (see --backend); without -o the\n"
	"                  object is NAME.bpf.o in the current directory (NAME is FILE's\n"
	"                  base name without .va or .vaisto)\n"
	"  --check         check the program only: print diagnostics, write nothing\n"
	"  --emit=KIND     what to write: c (the default), or h - the header that\n"
	"                  shares the program's records, map types, maps and exported\n"
	"                  functions with hand-written BPF C and user space - or asm:\n"
	"                  the BPF instructions of the object -c would make (with\n"
	"                  --backend), or of the object FILE.o, in the syntax of\n"
	"                  llvm-objdump -d -r --no-show-raw-insn\n"
	"  -H FILE         also write that header to FILE (with the C or with -c)\n"
	"  --compare       compile with both backends and print, per function, their\n"
	"                  instruction counts and ratio; as root also the verifier's\n"
	"                  processed-instruction counts of both objects\n"
	"  --license=STR   license string of the generated program (default: the\n"
	"                  program's (license \"...\") form, else \"GPL\")\n"
	"  --btf=FILE      read kernel types (:k/NAME) from the BTF in FILE (a vmlinux,\n"
	"                  or a .btf file) instead of /sys/kernel/btf/vmlinux\n"
	"  --no-line       leave out the #line directives that point the C (and the\n"
	"                  BTF line info, and the verifier log) at FILE.va\n"
	"  --backend=NAME  how -c (and --emit=asm) makes the object: clang, or native\n"
	"                  (bytecode and ELF written directly); default clang, and\n"
	"                  native with a warning when no clang is named and none is\n"
	"                  on PATH\n"
	"  --clang=PATH    the clang that -c runs (default: $CLANG, else clang on PATH)\n"
	"  -I DIR          add DIR to clang's include path (with -c)\n"
	"  -D NAME[=VAL]   define a macro for clang (with -c)\n"
	"  -WFLAG          a warning option for clang (with -c), e.g. -Wall -Werror\n"
	"  -fmax-errors=N  stop printing errors after N of them (default 20; 0: no\n"
	"                  limit)\n"
	"  --version       print the version and exit\n"
	"  --help          print this help and exit\n"
	"\n"
	"-c runs: CLANG -O2 -g -target bpf [-I/-D/-W options] " MULTIARCH_INCLUDE "\n"
	"         -x c -c - -o OBJECT\n"
	"with the C, named NAME.bpf.c, on its standard input, and the object must be\n"
	"a BPF ELF object.\n"
	"All outputs are written together or not at all: on any failure no output\n"
	"file is created or changed. Regular files are replaced atomically; devices,\n"
	"FIFOs and symlinks (/dev/null, /dev/stdout) are written into. An output\n"
	"that is an input is refused.\n"
	"\n"
	"Exit status:\n"
	"  0  success\n"
	"  1  the program was rejected (diagnostics on standard error)\n"
	"  2  usage error, I/O error, or clang missing or failing\n";

typedef enum EmitKind { EMIT_C, EMIT_H, EMIT_ASM } EmitKind;

typedef struct Options {
	const char *input;          /* the .va: path, or "-" for standard input */
	const char **inputs;        /* every input, in order: with -c, .va, .c and .o */
	int ninputs;
	bool link;                  /* -c with hand-written C or objects: cmd_link.c */
	EmitKind emit;              /* --emit=c (default), h or asm */
	bool compare;               /* --compare */
	const char *header;         /* -H FILE: the header too, beside the C or object */
	const char *output;         /* -o; NULL: stdout for C, NAME.bpf.o for -c */
	bool compile;               /* -c */
	bool check_only;            /* --check */
	bool line_directives;       /* off with --no-line */
	const char *license;        /* --license, NULL: the module's */
	const char *clang;          /* --clang, $CLANG or "clang" */
	char *clang_found;          /* where PATH had clang, when it was
	                             * looked up: run from there */
	const char **clang_args;    /* -I, -D and -W, in command-line order */
	int nclang_args;
	bool native;                /* --backend=native */
	const char **compile_args;  /* what a link passes on to `vbpf2c -c` per .va */
	int ncompile_args;
} Options;

/* Is name an executable file in one of $PATH's directories? */
static bool program_on_path(const char *name)
{
	char found[PATH_MAX];
	return cmd_find_on_path(name, found, sizeof(found));
}

/* ---- messages ---------------------------------------------------------- */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("vbpf2c: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static _Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("vbpf2c: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\nTry 'vbpf2c --help' for more information.\n", stderr);
	va_end(ap);
	exit(EXIT_TROUBLE);
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p) {
		fail("out of memory");
		exit(EXIT_TROUBLE);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

/* Where PATH has name: a copy, or NULL. */
static char *find_on_path(const char *name)
{
	char found[PATH_MAX];
	return cmd_find_on_path(name, found, sizeof(found)) ? xstrdup(found) : NULL;
}

/* Temporaries, the signal handler, and the staged outputs that are
 * committed together or not at all: outfile.c. */

/* ---- paths ------------------------------------------------------------- */

static const char *path_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* "dir/prog.va" -> "prog": the stem every default name is built from. */
static char *source_stem(const char *input)
{
	if (strcmp(input, "-") == 0)
		return xstrdup("stdin");
	const char *base = path_base(input);
	size_t n = strlen(base);
	static const char *const extensions[] = { ".va", ".vaisto" };
	for (size_t i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++) {
		size_t e = strlen(extensions[i]);
		if (n > e && strcmp(base + n - e, extensions[i]) == 0) {
			n -= e;
			break;
		}
	}
	char *stem = xmalloc(n + 1);
	memcpy(stem, base, n);
	stem[n] = '\0';
	return stem;
}

/* Stages text as output path (outs[*n]), counting it. */
static bool stage_text(OutFile *outs, int *n, const char *path, const StrBuf *text)
{
	if (!outfile_stage_data(&outs[*n], path, text->data ? text->data : "", text->len))
		return false;
	++*n;
	return true;
}

/* Commits every staged output, or, when an earlier step failed (ok false),
 * discards them: either way no temporary is left. */
static bool finish_outputs(OutFile *outs, int n, bool ok)
{
	if (ok)
		return outfile_commit_all(outs, n);
	for (int i = 0; i < n; i++)
		outfile_discard(&outs[i]);
	return false;
}

/* ---- reading the source ------------------------------------------------ */

/* From this size on a source file is read into memory backed by huge
 * pages rather than mapped. Mapping it costs a page fault every 64 KiB
 * (fault-around) and a TLB miss every 4 KiB on each of the front end's
 * two passes, and page faults are dear in a VM: on the 10 MB benchmark
 * program a map and two reads took 7 ms, a copy into 2 MiB pages and two
 * reads 2.7 ms. Below it, a partly used huge page would cost more memory
 * per source byte than the copy saves. */
enum { HUGE_SOURCE_BYTES = 4 << 20, HUGE_PAGE_BYTES = 2 << 20 };

/* Reads the size bytes of fd into an anonymous mapping advised to use
 * huge pages, NUL-terminated. False, and nothing kept, when the mapping
 * fails or the file is not size bytes long any more (the caller's general
 * path copes with a file that changes as it is read). */
static bool read_into_huge_pages(int fd, size_t size, SourceFile *file)
{
	size_t cap = (size + 1 + HUGE_PAGE_BYTES - 1) & ~(size_t)(HUGE_PAGE_BYTES - 1);
	char *text = pages_map(cap, true, false);
	if (!text)
		return false;
	size_t len = 0;
	while (len < cap - 1) {  /* one byte more than size: a file that grew */
		ssize_t n = read(fd, text + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (len != size || lseek(fd, 0, SEEK_SET) != 0) {
		munmap(text, cap);
		return false;
	}
	text[len] = '\0';       /* zero already; said for the reader */
	file->text = text;
	file->len = len;
	return true;
}

/* Reads the whole file (or stdin for "-"), NUL-terminated; the text is
 * the process's for good (it may be a mapping: never free it). Spans hold
 * 32-bit offsets, so larger inputs are refused here rather than
 * mislocated later. */
static bool read_source(const char *path, SourceFile *file)
{
	bool is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail("cannot open %s: %s", path, strerror(errno));
		return false;
	}
	struct stat st;
	size_t cap = 64 * 1024;
	bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
	if (regular && !is_stdin && (uint64_t)st.st_size >= HUGE_SOURCE_BYTES &&
	    (uint64_t)st.st_size <= UINT32_MAX - 1 && read_into_huge_pages(fd, (size_t)st.st_size, file)) {
		close(fd);
		file->name = path;
		return true;
	}
	/* A smaller regular file whose last page has room for the NUL is
	 * mapped, not read: the bytes past the end of a file in its last
	 * mapped page are zero, and the file is neither copied nor backed by
	 * fresh pages the kernel must clear (copy-on-write keeps our view of
	 * it private; vbpf2c never writes to it). */
	long page = sysconf(_SC_PAGESIZE);
	if (regular && !is_stdin && page > 0 && st.st_size % page != 0 &&
	    (uint64_t)st.st_size <= UINT32_MAX - 1) {
		void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			close(fd);
			file->name = path;
			file->text = map;
			file->len = (size_t)st.st_size;
			return true;
		}
	}
	/* Room for the whole file, the read that sees end-of-file, and the
	 * NUL: a regular file is read without ever growing the buffer. */
	if (regular)
		cap = (size_t)st.st_size + 2;
	char *text = xmalloc(cap);
	size_t len = 0;
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			char *bigger = realloc(text, cap);
			if (!bigger) {
				fail("out of memory reading %s", path);
				exit(EXIT_TROUBLE);
			}
			text = bigger;
		}
		ssize_t n = read(fd, text + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail("cannot read %s: %s", is_stdin ? "standard input" : path,
			     strerror(errno));
			goto error;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > UINT32_MAX - 1) {
			fail("%s: file too large (the limit is 4 GiB)", path);
			goto error;
		}
	}
	text[len] = '\0';
	if (!is_stdin)
		close(fd);
	file->name = is_stdin ? "<stdin>" : path;
	file->text = text;
	file->len = len;
	return true;

error:
	free(text);
	if (!is_stdin)
		close(fd);
	return false;
}

/* ---- clang -------------------------------------------------------------- */

/* Runs argv, its standard input reading input (NULL: ours), and waits
 * (outfile.c: a signal that kills us kills it). Returns true when it
 * exited with status 0; says why otherwise. clang's own diagnostics go
 * straight to our stderr: the #line directives make them name FILE.va
 * and its lines. */
static bool run_tool(const char *found, char **argv, const char *const *input, const size_t *len, int nparts)
{
	/* found: the search of PATH is done (posix_spawnp would try execve
	 * in every directory before it) */
	int status = found ? spawn_feed_and_wait(found, argv, false, input, len, nparts)
			   : spawn_feed_and_wait(argv[0], argv, true, input, len, nparts);
	if (status > 0)
		fail("%s failed with exit status %d", argv[0], status);
	return status == 0;
}

/* A fresh private directory under $TMPDIR, registered as a temporary;
 * NULL after saying why. */
static char *make_temp_dir(void)
{
	const char *tmpdir = getenv("TMPDIR");
	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	size_t n = strlen(tmpdir) + sizeof("/vbpf2c-XXXXXX");
	char *dir = xmalloc(n);
	snprintf(dir, n, "%s/vbpf2c-XXXXXX", tmpdir);
	if (!mkdtemp(dir)) {
		fail("cannot create a temporary directory in %s: %s", tmpdir, strerror(errno));
		free(dir);
		return NULL;
	}
	temp_register(dir);
	return dir;
}

/* Compiles the C into object (a temporary: -c stages its output, and
 * checks what clang wrote before committing it). clang reads the C on its
 * standard input - no file to write, read back and remove - behind a line
 * marker naming it NAME.bpf.c, and -main-file-name gives the debug info
 * the same name, so anything clang says about the C itself (before the
 * first #line, or with --no-line) names what `vbpf2c FILE.va > NAME.bpf.c`
 * writes. */
static bool compile_with_clang(const Options *opt, const char *stem, const StrBuf *c,
			       const char *object)
{
	size_t n = strlen(stem) + sizeof(".bpf.c");
	char *c_name = xmalloc(n);
	snprintf(c_name, n, "%s.bpf.c", stem);
	/* # 1 "NAME.bpf.c": the name as a C string literal */
	StrBuf marker = { 0 };
	sb_puts(&marker, "# 1 \"");
	for (const char *p = c_name; *p; p++) {
		if (*p == '"' || *p == '\\')
			sb_putc(&marker, '\\');
		sb_putc(&marker, *p);
	}
	sb_puts(&marker, "\"\n");

	const char *fixed_args[] = { "-O2", "-g", "-target", "bpf" };
	enum { NFIXED = sizeof(fixed_args) / sizeof(fixed_args[0]) };
	int argc = 0;
	char **argv = xmalloc(sizeof(*argv) * (size_t)(NFIXED + opt->nclang_args + 14));
	argv[argc++] = (char *)opt->clang;
	for (int i = 0; i < NFIXED; i++)
		argv[argc++] = (char *)fixed_args[i];
	/* The user's -I come first so they can shadow anything. */
	for (int i = 0; i < opt->nclang_args; i++)
		argv[argc++] = (char *)opt->clang_args[i];
	argv[argc++] = MULTIARCH_INCLUDE;
	argv[argc++] = "-Xclang";
	argv[argc++] = "-main-file-name";
	argv[argc++] = "-Xclang";
	argv[argc++] = c_name;
	argv[argc++] = "-x";
	argv[argc++] = "c";
	argv[argc++] = "-c";
	argv[argc++] = "-";
	argv[argc++] = "-o";
	argv[argc++] = (char *)object;
	argv[argc] = NULL;

	const char *input[] = { marker.data, c->data ? c->data : "" };
	size_t len[] = { marker.len, c->len };
	bool ok = run_tool(opt->clang_found, argv, input, len, 2);
	free(argv);
	if (!ok && !opt->line_directives)
		fprintf(stderr, "hint: %s.bpf.c was a temporary copy; "
				"'vbpf2c --no-line %s > %s.bpf.c' writes the C clang rejected\n",
			stem, opt->input, stem);
	sb_free(&marker);
	free(c_name);
	return ok;
}

/* ---- objects read back: --emit=asm, --compare ---------------------------- */

/* Appends the disassembly of the object in data (disasm.c), named name in
 * its first line as llvm-objdump names the file it reads. */
static bool disassemble(const char *data, size_t len, const char *name, StrBuf *out)
{
	ObjFile obj;
	char why[256];
	if (!obj_read(data, len, &obj, why, sizeof(why))) {
		fail("%s: %s", name, why);
		return false;
	}
	disasm_object(&obj, name, out);
	return true;
}

/* Compiles m with one backend into dir/NAME (a registered temporary), as
 * -c would. Returns the object's path, or NULL after the backend said why. */
static char *compile_into(const Options *opt, const Module *m, const char *stem, const StrBuf *c,
			  const char *dir, const char *name, bool native)
{
	size_t n = strlen(dir) + 1 + strlen(name) + 1;
	char *object = xmalloc(n);
	snprintf(object, n, "%s/%s", dir, name);
	temp_register(object);
	bool ok = native ? native_compile(m, opt->license ? opt->license : m->license ? m->license : "GPL",
					  object)
			 : compile_with_clang(opt, stem, c, object);
	if (ok)
		return object;
	temp_remove(object);
	free(object);
	return NULL;
}

static void remove_temp(char *path)
{
	temp_remove(path);
	free(path);
}

/* --emit=asm on a source: the object -c would make, disassembled into out. */
static bool disassemble_compiled(const Options *opt, const Module *m, const char *stem,
				 const StrBuf *c, StrBuf *out)
{
	char *dir = make_temp_dir();
	if (!dir)
		return false;
	size_t n = strlen(stem) + sizeof(".bpf.o");
	char *name = xmalloc(n);
	snprintf(name, n, "%s.bpf.o", stem);
	char *object = compile_into(opt, m, stem, c, dir, name, opt->native);
	SourceFile bytes;
	char why[256];
	bool ok = object && read_whole_file(object, &bytes, why, sizeof(why));
	if (object && !ok)
		fail("cannot read %s: %s", object, why);
	if (ok) {
		ok = disassemble(bytes.text, bytes.len, name, out);
		free((char *)bytes.text);
	}
	if (object)
		remove_temp(object);
	remove_temp(dir);
	free(name);
	return ok;
}

/* --compare: both backends' objects, side by side (cmd_compare.c). A
 * backend that fails leaves its column empty; the status says so. */
static int compare_backends(const Options *opt, const Module *m, const char *stem, const StrBuf *c)
{
	char *dir = make_temp_dir();
	if (!dir)
		return EXIT_TROUBLE;
	char *clang_object = NULL;
	const char *clang_missing = NULL;
	if (program_on_path(opt->clang) || strchr(opt->clang, '/'))
		clang_object = compile_into(opt, m, stem, c, dir, "clang.bpf.o", false);
	else
		clang_missing = "clang not found on PATH (name it with --clang=PATH or $CLANG)";
	char *native_object = compile_into(opt, m, stem, c, dir, "native.bpf.o", true);
	int status = cmd_compare(m, clang_object, clang_missing, native_object, stdout);
	if (fflush(stdout) != 0)
		status = EXIT_TROUBLE;
	if (status == EXIT_OK && (!native_object || (!clang_object && !clang_missing)))
		status = diag_error_count() > 0 ? EXIT_REJECTED : EXIT_TROUBLE;
	if (native_object)
		remove_temp(native_object);
	if (clang_object)
		remove_temp(clang_object);
	remove_temp(dir);
	return status;
}

/* ---- options ------------------------------------------------------------ */

typedef enum InputKind { INPUT_VAISTO, INPUT_C, INPUT_OBJECT, INPUT_UNKNOWN } InputKind;

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcmp(s + n - m, suffix) == 0;
}

/* By name, as cc does: .c is hand-written BPF C, .o an object; .va,
 * .vaisto and "-" (standard input) are Vaisto. Any other name is Vaisto
 * when it is the only input, as it always was. */
static InputKind input_kind(const char *path)
{
	if (has_suffix(path, ".c"))
		return INPUT_C;
	if (has_suffix(path, ".o"))
		return INPUT_OBJECT;
	if (has_suffix(path, ".va") || has_suffix(path, ".vaisto") || strcmp(path, "-") == 0)
		return INPUT_VAISTO;
	return INPUT_UNKNOWN;
}

/* "--name=VALUE" or "--name VALUE": the value, advancing *i past it. */
static const char *long_value(int argc, char **argv, int *i, const char *name)
{
	const char *arg = argv[*i];
	size_t n = strlen(name);
	if (strncmp(arg, name, n) != 0)
		return NULL;
	if (arg[n] == '=')
		return arg + n + 1;
	if (arg[n] != '\0')
		return NULL;
	if (*i + 1 >= argc)
		usage_error("option '%s' requires a value", name);
	return argv[++*i];
}

/* "--name=VALUE", for passing an option on. */
static const char *joined_option(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 2;
	char *joined = xmalloc(n);
	snprintf(joined, n, "%s=%s", name, value);
	return joined;
}

/* "-oFILE" or "-o FILE". */
static const char *short_value(int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	if (arg[2] != '\0')
		return arg + 2;
	if (*i + 1 >= argc)
		usage_error("option '%s' requires a value", arg);
	return argv[++*i];
}

/* The license lands in a C string literal and in the object's license
 * section; keep it to what needs no escaping. */
static bool license_is_printable(const char *s)
{
	for (; *s; s++) {
		if (*s < ' ' || *s > '~' || *s == '"' || *s == '\\')
			return false;
	}
	return true;
}

static void parse_options(int argc, char **argv, Options *opt)
{
	opt->line_directives = true;
	opt->clang_args = xmalloc(sizeof(*opt->clang_args) * (size_t)argc);
	opt->inputs = xmalloc(sizeof(*opt->inputs) * (size_t)argc);
	opt->compile_args = xmalloc(sizeof(*opt->compile_args) * (size_t)argc);
	const char *backend = NULL; /* not chosen: clang, or native without clang */
	const char *clang_option = NULL;
	bool options_done = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *value;
		if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
			opt->inputs[opt->ninputs++] = arg;
		} else if (strcmp(arg, "--") == 0) {
			options_done = true;
		} else if (strcmp(arg, "--help") == 0) {
			fputs(usage_text, stdout);
			exit(fflush(stdout) == 0 ? EXIT_OK : EXIT_TROUBLE);
		} else if (strcmp(arg, "--version") == 0) {
			printf("vbpf2c %s\n", VBPF2C_VERSION);
			exit(fflush(stdout) == 0 ? EXIT_OK : EXIT_TROUBLE);
		} else if (strcmp(arg, "-c") == 0) {
			opt->compile = true;
		} else if (strcmp(arg, "--check") == 0) {
			opt->check_only = true;
		} else if (strcmp(arg, "--no-line") == 0) {
			opt->line_directives = false;
			opt->compile_args[opt->ncompile_args++] = arg;
		} else if (strncmp(arg, "-o", 2) == 0) {
			opt->output = short_value(argc, argv, &i);
		} else if (strncmp(arg, "-H", 2) == 0) {
			opt->header = short_value(argc, argv, &i);
			if (!*opt->header)
				usage_error("-H needs a file name");
		} else if ((value = long_value(argc, argv, &i, "--emit"))) {
			if (strcmp(value, "c") == 0)
				opt->emit = EMIT_C;
			else if (strcmp(value, "h") == 0)
				opt->emit = EMIT_H;
			else if (strcmp(value, "asm") == 0)
				opt->emit = EMIT_ASM;
			else
				usage_error("unknown --emit '%s' (expected c, h or asm)", value);
		} else if (strcmp(arg, "--compare") == 0) {
			opt->compare = true;
		} else if (strncmp(arg, "-I", 2) == 0 || strncmp(arg, "-D", 2) == 0) {
			/* Hand clang one joined argument: "-IDIR", "-DNAME=V". */
			char flag = arg[1];
			value = short_value(argc, argv, &i);
			if (!*value)
				usage_error("option '-%c' requires a value", flag);
			size_t n = strlen(value) + 3;
			char *joined = xmalloc(n);
			snprintf(joined, n, "-%c%s", flag, value);
			opt->clang_args[opt->nclang_args++] = joined;
			opt->compile_args[opt->ncompile_args++] = joined;
		} else if (strncmp(arg, "-W", 2) == 0 && arg[2]) {
			/* warnings for clang: -Wall -Wextra -Werror on hand-written C */
			opt->clang_args[opt->nclang_args++] = arg;
			opt->compile_args[opt->ncompile_args++] = arg;
		} else if ((value = long_value(argc, argv, &i, "--btf"))) {
			/* kernel types (LANGUAGE.md 11) from this BTF file */
			if (!*value)
				usage_error("--btf needs a BTF file, e.g. /sys/kernel/btf/vmlinux");
			ktypes_set_btf_path(value);
			opt->compile_args[opt->ncompile_args++] = joined_option("--btf", value);
		} else if ((value = long_value(argc, argv, &i, "--license"))) {
			opt->license = value;
			opt->compile_args[opt->ncompile_args++] = joined_option("--license", value);
		} else if ((value = long_value(argc, argv, &i, "--clang"))) {
			if (!*value)
				usage_error("--clang needs a program name or path");
			clang_option = value;
			opt->compile_args[opt->ncompile_args++] = joined_option("--clang", value);
		} else if (strncmp(arg, "-fmax-errors=", 13) == 0) {
			char *end;
			errno = 0;
			long n = strtol(arg + 13, &end, 10);
			if (!arg[13] || *end || n < 0 || n > INT_MAX || errno)
				usage_error("-fmax-errors takes a number of errors (0: no limit), not '%s'",
					    arg + 13);
			diag_set_max_errors((int)n);
			opt->compile_args[opt->ncompile_args++] = arg;
		} else if ((value = long_value(argc, argv, &i, "--backend"))) {
			backend = value;
			opt->compile_args[opt->ncompile_args++] = joined_option("--backend", value);
		} else {
			usage_error("unknown option '%s'", arg);
		}
	}

	if (opt->ninputs == 0)
		usage_error("no input file");
	/* More than one input, or any that is not Vaisto, is a link (-c);
	 * but --emit=asm reads one object as it is. */
	for (int i = 0; i < opt->ninputs; i++) {
		InputKind kind = input_kind(opt->inputs[i]);
		if (opt->ninputs > 1 || kind == INPUT_C ||
		    (kind == INPUT_OBJECT && opt->emit != EMIT_ASM))
			opt->link = true;
		if (!opt->input && (kind == INPUT_VAISTO || opt->ninputs == 1))
			opt->input = opt->inputs[i];
	}
	if (opt->link) {
		if (!opt->compile)
			usage_error("%s: several inputs, hand-written C and objects are linked into one "
				    "object: use -c", opt->inputs[opt->ninputs > 1]);
		if (opt->header || opt->emit == EMIT_H || opt->check_only)
			usage_error("-H, --emit=h and --check take one .va file, not a link");
		for (int i = 0; i < opt->ninputs; i++)
			if (input_kind(opt->inputs[i]) == INPUT_UNKNOWN)
				usage_error("%s: not an input vbpf2c knows: expected .va, .c or .o",
					    opt->inputs[i]);
		if (!opt->output && !opt->input)
			usage_error("-c without a .va input needs -o FILE");
	}
	if (opt->emit == EMIT_H && (opt->compile || opt->header))
		usage_error("--emit=h writes the header only: it cannot be combined with -c or -H");
	opt->native = backend && strcmp(backend, "native") == 0;
	if (opt->native && !opt->compile && !opt->check_only && opt->emit != EMIT_ASM)
		usage_error("--backend=native writes objects: use it with -c or --emit=asm");
	if (opt->emit == EMIT_ASM && (opt->compile || opt->check_only || opt->header))
		usage_error("--emit=asm prints instructions: it cannot be combined with -c, -H "
			    "or --check");
	if (opt->compare && (opt->compile || opt->check_only || opt->emit != EMIT_C ||
			     opt->output || opt->header || backend))
		usage_error("--compare compiles with both backends and prints to standard output: "
			    "it takes no -c, -o, -H, --check, --emit or --backend");
	if (backend && !opt->native && strcmp(backend, "clang") != 0)
		usage_error("unknown backend '%s' (expected clang or native)", backend);
	if (opt->check_only && (opt->compile || opt->output || opt->header))
		usage_error("--check writes nothing: it cannot be combined with -c, -o or -H");
	if (opt->output && !*opt->output)
		usage_error("-o needs a file name");
	if (opt->compile && !opt->output && opt->input && strcmp(opt->input, "-") == 0)
		usage_error("-c on standard input needs -o FILE");
	if (opt->license && !license_is_printable(opt->license))
		usage_error("--license takes printable ASCII without '\\' or '\"'");

	const char *env_clang = getenv("CLANG");
	if (clang_option)
		opt->clang = clang_option;
	else if (env_clang && *env_clang)
		opt->clang = env_clang;
	else
		opt->clang = "clang";

	/* The native backend is the fallback when no clang was named and none
	 * is installed: -c still produces an object, and says how. */
	if ((opt->compile || opt->emit == EMIT_ASM) && !backend && !clang_option && !(env_clang && *env_clang) &&
	    !(opt->clang_found = find_on_path(opt->clang))) {
		fputs("vbpf2c: warning: clang not found on PATH: using the native backend "
		      "(--backend=native)\n", stderr);
		opt->native = true;
	}
}

/* ---- linking (cmd_link.c) ------------------------------------------------ */

static int link_inputs(const Options *opt)
{
	LinkInputKind *kinds = xmalloc(sizeof(*kinds) * (size_t)opt->ninputs);
	for (int i = 0; i < opt->ninputs; i++) {
		InputKind k = input_kind(opt->inputs[i]);
		kinds[i] = k == INPUT_C ? LINK_INPUT_C : k == INPUT_OBJECT ? LINK_INPUT_OBJECT : LINK_INPUT_VAISTO;
	}
	const char **clang_args = xmalloc(sizeof(*clang_args) * (size_t)(opt->nclang_args + 1));
	for (int i = 0; i < opt->nclang_args; i++)
		clang_args[i] = opt->clang_args[i];
	clang_args[opt->nclang_args] = MULTIARCH_INCLUDE;
	char *default_object = NULL;
	if (!opt->output) {
		char *stem = source_stem(opt->input);
		size_t n = strlen(stem) + sizeof(".bpf.o");
		default_object = xmalloc(n);
		snprintf(default_object, n, "%s.bpf.o", stem);
		free(stem);
	}
	LinkJob job = {
		.inputs = opt->inputs,
		.kinds = kinds,
		.ninputs = opt->ninputs,
		.output = opt->output ? opt->output : default_object,
		.clang = opt->clang,
		.clang_args = clang_args,
		.nclang_args = opt->nclang_args + 1,
		.compile_args = opt->compile_args,
		.ncompile_args = opt->ncompile_args,
	};
	int status = link_objects(&job);
	free(default_object);
	free(clang_args);
	free(kinds);
	return status;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	/* Subcommands come first; a source file literally named "test",
	 * "run" or "init" can still be given as ./test. */
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} subcommands[] = {
		{ "test", cmd_test },
		{ "run", cmd_run },
		{ "init", cmd_init },
	};
	for (size_t i = 0; argc > 1 && i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	}

	/* What the options and the source hold lives as long as the process:
	 * static, so it stays reachable (LeakSanitizer, `make sanitize`). */
	static Options opt;
	parse_options(argc, argv, &opt);
	cleanup_on_signals();

	/* An output may not overwrite an input (vbpf2c x.va -o x.va), nor
	 * another output; compared by inode, so hard links count. */
	static char *default_object;
	if (opt.compile && !opt.output && opt.input) {
		char *stem = source_stem(opt.input);
		size_t n = strlen(stem) + sizeof(".bpf.o");
		default_object = xmalloc(n);
		snprintf(default_object, n, "%s.bpf.o", stem);
		free(stem);
	}
	const char *outputs[] = { opt.output ? opt.output : default_object, opt.header };
	if (!outputs_spare_inputs(opt.inputs, opt.ninputs, outputs, 2))
		return EXIT_TROUBLE;
	if (opt.link)
		return link_inputs(&opt);

	static SourceFile file;
	if (!read_source(opt.input, &file))
		return EXIT_TROUBLE;

	/* Every output is staged, then all are committed together (outfile.c):
	 * a failure anywhere leaves every existing file as it was. */
	OutFile outs[2];
	int nouts = 0;
	const char *main_output = opt.output ? opt.output : "-";

	/* --emit=asm on an object (by its contents, or by its name: then a
	 * file that is not one is refused as such): nothing to compile. */
	if (opt.emit == EMIT_ASM &&
	    (obj_is_elf(file.text, file.len) || input_kind(opt.input) == INPUT_OBJECT)) {
		StrBuf out = { 0 };
		bool ok = disassemble(file.text, file.len, file.name, &out) &&
			  stage_text(outs, &nouts, main_output, &out);
		ok = finish_outputs(outs, nouts, ok);
		sb_free(&out);
		return ok ? EXIT_OK : EXIT_TROUBLE;
	}

	if (opt.check_only)
		return frontend_check(&file) && diag_error_count() == 0 ? EXIT_OK : EXIT_REJECTED;
	Module *m = frontend_run(&file);
	if (!m || diag_error_count() > 0)
		return EXIT_REJECTED;

	EmitOptions emit = {
		.line_directives = opt.line_directives,
		.license = opt.license,
		.source_name = file.name,
	};
	StrBuf c = { 0 }, header = { 0 };
	if (opt.emit == EMIT_H || opt.header)
		emit_h(m, &emit, &header);
	if (opt.emit == EMIT_H) {
		bool ok = stage_text(outs, &nouts, main_output, &header);
		ok = finish_outputs(outs, nouts, ok);
		sb_free(&header);
		return ok ? EXIT_OK : EXIT_TROUBLE;
	}
	/* The native backend makes its object from the module: the C is
	 * written only for clang, or to be the output. (The C emitter
	 * refuses nothing the checker let through: both backends see the
	 * same programs.) */
	bool native_only = opt.native && !opt.compare && (opt.compile || opt.emit == EMIT_ASM);
	if (!native_only)
		emit_c(m, &emit, &c);
	if (diag_error_count() > 0)
		return EXIT_REJECTED;
	if (!c.data)
		sb_puts(&c, "");

	bool ok;
	char *stem = source_stem(opt.input);
	if (opt.compare) {
		int status = compare_backends(&opt, m, stem, &c);
		free(stem);
		sb_free(&c);
		return status;
	}
	if (opt.emit == EMIT_ASM) {
		/* The disassembly takes the C's place as the output. */
		StrBuf asm_text = { 0 };
		ok = disassemble_compiled(&opt, m, stem, &c, &asm_text);
		sb_free(&c);
		c = asm_text;
		if (!ok) {
			free(stem);
			sb_free(&c);
			return diag_error_count() > 0 ? EXIT_REJECTED : EXIT_TROUBLE;
		}
	}
	if (opt.compile) {
		/* The backend writes the staged file; what it wrote must be a
		 * BPF object before it may replace anything. */
		const char *object = opt.output ? opt.output : default_object;
		int fd = outfile_stage(&outs[nouts], object);
		ok = fd >= 0;
		if (ok) {
			close(fd);
			OutFile *o = &outs[nouts++];
			if (opt.native)
				ok = native_compile(m, opt.license ? opt.license : m->license ? m->license : "GPL",
						    o->staged) &&
				     outfile_check_object(o, "the native backend");
			else
				ok = compile_with_clang(&opt, stem, &c, o->staged) &&
				     outfile_check_object(o, opt.clang);
		}
		if (!ok && diag_error_count() > 0) {
			finish_outputs(outs, nouts, false);
			free(default_object);
			return EXIT_REJECTED;
		}
	} else {
		ok = stage_text(outs, &nouts, main_output, &c);
	}
	if (ok && opt.header)
		ok = stage_text(outs, &nouts, opt.header, &header);
	ok = finish_outputs(outs, nouts, ok);
	free(default_object);
	free(stem);
	sb_free(&c);
	sb_free(&header);
	return ok ? EXIT_OK : EXIT_TROUBLE;
}
