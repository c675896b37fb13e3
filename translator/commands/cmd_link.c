/* cmd_link.c - `vbpf2c -c prog.va hand.bpf.c [more.o ...] -o combined.o`:
 * one BPF object from Vaisto, hand-written C and objects (LANGUAGE.md
 * §10.6, docs/mixing.md).
 *
 *   1. every .va is compiled as `vbpf2c -c -H DIR/NAME.h` would (by running
 *      this executable, so the two can never disagree), its header left in
 *      a private directory DIR;
 *   2. every .c is compiled with the clang and flags vbpf2c uses for its
 *      own C (-O2 -g -target bpf, the same -I and -D) plus -I DIR, so
 *      `#include "prog.h"` finds the fresh header of prog.va;
 *   3. the license strings of all objects must be identical: the kernel
 *      sees one license, and a GPL-only helper called on one side needs
 *      it to hold for the whole program;
 *   4. libbpf's static linker (bpf_linker, what `bpftool gen object` runs)
 *      links them in command-line order, and the result is repaired where
 *      libbpf 1.1's linker is wrong (see repair_datasec_offsets);
 *   5. the object is committed as every output is (outfile.c): renamed
 *      into place, or written into a device; nothing is written on
 *      failure, and a signal stops the tools it runs and removes the
 *      temporaries.
 *
 * Exit status as for vbpf2c: 1 when a .va is rejected or the licenses
 * differ, 2 when a tool fails (clang on the hand-written C included).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/btf.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "vbpf2c.h"

extern char **environ;

enum { LINK_OK = 0, LINK_REJECTED = 1, LINK_TROUBLE = 2 };

/* "dir/flows.va" -> "flows", "dir/hand.bpf.c" -> "hand.bpf" */
static char *stem_of(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	return strndup(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

static char *path_in(const char *dir, const char *name, const char *suffix)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s%s", dir, name, suffix) < 0)
		return NULL;
	return p;
}

/* ---- licenses ------------------------------------------------------------ */

/* The object's "license" section as a string (malloc'd); NULL when it has
 * none. *ok goes false when the file is not a readable ELF object. */
static char *object_license(const char *path, bool *ok)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vbpf2c: cannot open %s: %s\n", path, strerror(errno));
		*ok = false;
		return NULL;
	}
	char *license = NULL;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	size_t shstrndx;
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx) != 0) {
		fprintf(stderr, "vbpf2c: %s: not an ELF object\n", path);
		*ok = false;
		goto out;
	}
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		Elf_Data *data = name && strcmp(name, "license") == 0 ? elf_getdata(scn, NULL) : NULL;
		if (data && data->d_buf && data->d_size)
			license = strndup(data->d_buf, data->d_size);
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return license;
}

/* ---- repairing libbpf 1.1's link ------------------------------------------ */

/* libbpf 1.1's linker keeps, in the linked object's BTF DATASEC, the
 * offset an extern variable had in the object that declared it (0) when
 * the defining object comes later on the command line. A map declared
 * :extern on one side and defined on the other - in either direction -
 * then has the wrong offset in ".maps", and libbpf (and bpftool gen
 * skeleton) refuse the object: "map relo failed to find map for section
 * '.maps', off 32". The ELF symbols are right, so every DATASEC entry is
 * given its symbol's value, and the entries are put back in offset order
 * (libbpf requires it). The .BTF section keeps its size. */
static int repair_datasec_offsets(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = -EINVAL;
	Elf *elf = elf_begin(fd, ELF_C_RDWR, NULL);
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		goto out;
	Elf_Scn *btf_scn = NULL, *symtab_scn = NULL;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			goto out;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && strcmp(name, ".BTF") == 0)
			btf_scn = scn;
		if (sh.sh_type == SHT_SYMTAB)
			symtab_scn = scn;
	}
	err = 0;
	if (!btf_scn || !symtab_scn)
		goto out;   /* nothing to repair */
	Elf_Data *btf_data = elf_getdata(btf_scn, NULL);
	Elf_Data *syms = elf_getdata(symtab_scn, NULL);
	GElf_Shdr symtab_sh;
	gelf_getshdr(symtab_scn, &symtab_sh);
	struct btf *btf = btf__new(btf_data->d_buf, btf_data->d_size);
	if (!btf) {
		err = -errno;
		goto out;
	}
	bool changed = false;
	for (__u32 id = 1; id < btf__type_cnt(btf); id++) {
		/* libbpf hands out const; the types live in btf's own copy of
		 * the raw data, which btf__raw_data returns below */
		struct btf_type *t = (struct btf_type *)btf__type_by_id(btf, id);
		if (!btf_is_datasec(t))
			continue;
		const char *sec_name = btf__name_by_offset(btf, t->name_off);
		struct btf_var_secinfo *vars = btf_var_secinfos(t);
		int n = btf_vlen(t);
		for (int i = 0; i < n; i++) {
			const char *var = btf__name_by_offset(btf, btf__type_by_id(btf, vars[i].type)->name_off);
			size_t nsyms = symtab_sh.sh_entsize ? symtab_sh.sh_size / symtab_sh.sh_entsize : 0;
			for (size_t s = 0; s < nsyms; s++) {
				GElf_Sym sym;
				if (!gelf_getsym(syms, (int)s, &sym) || sym.st_shndx == SHN_UNDEF ||
				    sym.st_shndx >= SHN_LORESERVE)
					continue;
				const char *sym_name = elf_strptr(elf, symtab_sh.sh_link, sym.st_name);
				Elf_Scn *home = elf_getscn(elf, sym.st_shndx);
				GElf_Shdr home_sh;
				const char *home_name = home && gelf_getshdr(home, &home_sh)
					? elf_strptr(elf, shstrndx, home_sh.sh_name) : NULL;
				if (!sym_name || !home_name || strcmp(sym_name, var) != 0 ||
				    strcmp(home_name, sec_name) != 0)
					continue;
				if (vars[i].offset != sym.st_value) {
					vars[i].offset = (__u32)sym.st_value;
					changed = true;
				}
				break;
			}
		}
		/* insertion sort by offset: a handful of entries */
		for (int i = 1; i < n; i++) {
			struct btf_var_secinfo v = vars[i];
			int j = i;
			for (; j > 0 && vars[j - 1].offset > v.offset; j--)
				vars[j] = vars[j - 1];
			if (j != i)
				changed = true;
			vars[j] = v;
		}
	}
	if (changed) {
		__u32 size;
		const void *raw = btf__raw_data(btf, &size);
		if (!raw || size != btf_data->d_size) {
			err = -EINVAL;
		} else {
			memcpy(btf_data->d_buf, raw, size);
			elf_flagdata(btf_data, ELF_C_SET, ELF_F_DIRTY);
			elf_flagelf(elf, ELF_C_SET, ELF_F_LAYOUT);
			if (elf_update(elf, ELF_C_WRITE) < 0)
				err = -EIO;
		}
	}
	btf__free(btf);
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

/* ---- the link --------------------------------------------------------------- */

static int link_into(const char *const *objects, int nobjects, const char *path)
{
	struct bpf_linker *linker = bpf_linker__new(path, NULL);
	if (!linker) {
		fprintf(stderr, "vbpf2c: cannot link into %s: %s\n", path, strerror(errno));
		return -1;
	}
	int err = 0;
	for (int i = 0; i < nobjects && !err; i++) {
		err = bpf_linker__add_file(linker, objects[i], NULL);
		if (err)
			fprintf(stderr, "vbpf2c: cannot link %s (libbpf's messages above): %s\n", objects[i],
				strerror(-err));
	}
	if (!err && (err = bpf_linker__finalize(linker)))
		fprintf(stderr, "vbpf2c: linking failed: %s\n", strerror(-err));
	bpf_linker__free(linker);
	if (!err && (err = repair_datasec_offsets(path)))
		fprintf(stderr, "vbpf2c: cannot repair the linked object's BTF: %s\n", strerror(-err));
	return err ? -1 : 0;
}

/* Are the inputs' licenses one? The first object with a license sets it. */
static int check_licenses(const LinkJob *job, char **objects)
{
	char *first = NULL;
	int first_input = -1, status = LINK_OK;
	for (int i = 0; i < job->ninputs && status == LINK_OK; i++) {
		bool ok = true;
		char *license = object_license(objects[i], &ok);
		if (!ok) {
			status = LINK_TROUBLE;
		} else if (license && !first) {
			first = license;
			first_input = i;
			continue;
		} else if (license && strcmp(license, first) != 0) {
			fprintf(stderr, "vbpf2c: error: %s has license \"%s\" but %s has \"%s\"\n",
				job->inputs[i], license, job->inputs[first_input], first);
			fputs("hint: a linked object has one license; write the same string on every side "
			      "((license \"...\") in Vaisto, SEC(\"license\") in C)\n",
			      stderr);
			status = LINK_REJECTED;
		}
		free(license);
	}
	free(first);
	return status;
}

int link_objects(const LinkJob *job)
{
	if (elf_version(EV_CURRENT) == EV_NONE) {
		fputs("vbpf2c: libelf is too old\n", stderr);
		return LINK_TROUBLE;
	}
	const char *tmpdir = getenv("TMPDIR");
	char *dir = NULL;
	if (asprintf(&dir, "%s/vbpf2c-link-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp") < 0 || !mkdtemp(dir)) {
		fprintf(stderr, "vbpf2c: cannot create a temporary directory: %s\n", strerror(errno));
		free(dir);
		return LINK_TROUBLE;
	}
	temp_register(dir);
	char **objects = calloc((size_t)job->ninputs, sizeof(*objects));
	char **made = calloc((size_t)job->ninputs * 2 + 1, sizeof(*made)); /* to remove */
	int nmade = 0, status = LINK_OK;
	int nargs = job->ncompile_args + job->nclang_args + 16;
	char **argv = calloc((size_t)nargs, sizeof(*argv));
	if (!objects || !made || !argv) {
		status = LINK_TROUBLE;
		goto out;
	}

	/* Vaisto first: the C files include their headers. Every .va is
	 * compiled even after one is rejected, so all diagnostics come out. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < job->ninputs && status != LINK_TROUBLE; i++) {
			const char *in = job->inputs[i];
			bool is_c = job->kinds[i] == LINK_INPUT_C;
			if (job->kinds[i] == LINK_INPUT_OBJECT) {
				objects[i] = (char *)in;
				continue;
			}
			if (is_c != (pass == 1) || (is_c && status != LINK_OK))
				continue;
			char *stem = stem_of(in);
			char *object = NULL, *header = NULL, *numbered = NULL;
			if (asprintf(&numbered, "%d-%s", i, stem) < 0)
				numbered = NULL;
			object = numbered ? path_in(dir, numbered, ".o") : NULL;
			header = is_c ? NULL : path_in(dir, stem, ".h");
			if (object)
				temp_register(object);
			if (header)
				temp_register(header);
			free(numbered);
			free(stem);
			if (!object || (!is_c && !header)) {
				free(object);
				free(header);
				status = LINK_TROUBLE;
				break;
			}
			int argc = 0, rc;
			if (is_c) {
				argv[argc++] = (char *)job->clang;
				argv[argc++] = "-O2";
				argv[argc++] = "-g";
				argv[argc++] = "-target";
				argv[argc++] = "bpf";
				for (int a = 0; a < job->nclang_args; a++)
					argv[argc++] = (char *)job->clang_args[a];
				argv[argc++] = "-I";
				argv[argc++] = dir;
			} else {
				argv[argc++] = "vbpf2c";
				for (int a = 0; a < job->ncompile_args; a++)
					argv[argc++] = (char *)job->compile_args[a];
				argv[argc++] = "-H";
				argv[argc++] = header;
			}
			argv[argc++] = "-c";
			argv[argc++] = (char *)in;
			argv[argc++] = "-o";
			argv[argc++] = object;
			argv[argc] = NULL;
			rc = is_c ? spawn_and_wait(job->clang, argv, true)
				  : spawn_and_wait("/proc/self/exe", argv, false);
			objects[i] = object;
			made[nmade++] = object;
			if (header)
				made[nmade++] = header;
			if (rc == 1 && !is_c) {
				status = LINK_REJECTED;
			} else if (rc != 0) {
				if (is_c && rc > 0)
					fprintf(stderr, "vbpf2c: clang failed on %s (exit status %d)\n", in, rc);
				status = LINK_TROUBLE;
			}
		}
	}
	if (status == LINK_OK)
		status = check_licenses(job, objects);
	if (status == LINK_OK) {
		/* staged, and committed only once linked (outfile.c) */
		OutFile out;
		int fd = outfile_stage(&out, job->output);
		if (fd < 0) {
			status = LINK_TROUBLE;
		} else {
			close(fd);
			bool ok = link_into((const char *const *)objects, job->ninputs, out.staged) == 0;
			if (!ok)
				outfile_discard(&out);
			else if (!outfile_commit_all(&out, 1))
				ok = false;
			if (!ok)
				status = LINK_TROUBLE;
		}
	}
out:
	for (int i = 0; i < nmade; i++) {
		temp_remove(made[i]);
		free(made[i]);
	}
	temp_remove(dir);
	free(dir);
	free(objects);
	free(made);
	free(argv);
	return status;
}
