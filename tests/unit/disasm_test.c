/* Unit tests for reading objects back (elf_read.c) and the disassembler
 * (disasm.c). tests/asm.sh compares the disassembly with llvm-objdump on
 * every opcode and every example; these tests pin down what that cannot:
 * the reader's refusals and its function list. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disasm.h"
#include "native.h"
#include "unit.h"

/* Compiles src with the native backend into memory (through a temporary
 * file: native_compile writes a path). */
static char *compile(const char *src, size_t *len)
{
	char *diags = NULL;
	size_t diags_len;
	FILE *out = diag_capture_begin(&diags, &diags_len);
	SourceFile source = source_from("t.va", src, strlen(src));
	Module *m = frontend_run(&source);
	cr_assert(m, "front end rejected:\n%s", src);
	char path[] = "/tmp/vbpf2c_disasm_XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	bool ok = native_compile(m, "GPL", path);
	diag_capture_end(out);
	cr_assert(ok, "native backend refused:\n%s", diags);
	free(diags);
	diags = NULL;
	FILE *f = fopen(path, "rb");
	cr_assert(f);
	char *data = malloc(1 << 20);
	*len = fread(data, 1, 1 << 20, f);
	fclose(f);
	unlink(path);
	return data;
}

/* bump is called twice and is too big to inline: a BPF-to-BPF call. */
static const char two_functions[] =
	"(program :xdp)\n"
	"(defmap counts :hash :u32 :u64 4)\n"
	"(extern bpf:map_lookup_elem [:u64 :u64] :u64)\n"
	"(extern bpf:map_update_elem [:u64 :u64 :u64 :u64] :u64)\n"
	"(defn bump [k :u32] :u32\n"
	"  (match (bpf/map_lookup_elem counts (u64 k))\n"
	"    [(Some c) (do (bpf/store_u64 c 0 (+ (bpf/load_u64 c 0) 1)) 1)]\n"
	"    [(None) (do (bpf/map_update_elem counts (u64 k) 1 0) 0)]))\n"
	"(defn f [ctx :XdpMd] :u32\n"
	"  (+ (bump (. ctx :rx_queue_index)) (bump (+ (. ctx :rx_queue_index) 1))))\n";

/* compile() and obj_read(): obj points into the returned bytes. */
static char *read_back(const char *src, ObjFile *obj)
{
	size_t len;
	char *data = compile(src, &len);
	char why[256];
	cr_assert(obj_read(data, len, obj, why, sizeof(why)), "%s", why);
	return data;
}

/* Every function symbol, in section order; their slots add up to the
 * code sections' sizes. */
Test(disasm, functions_cover_the_code)
{
	ObjFile obj;
	char *data = read_back(two_functions, &obj);
	ObjFunc *funcs;
	int n = obj_functions(&obj, &funcs);
	uint64_t code = 0;
	for (int i = 1; i < obj.nsecs; i++)
		if (obj.secs[i].flags & 0x4 /* SHF_EXECINSTR */)
			code += obj.secs[i].size;
	int slots = 0;
	for (int i = 0; i < n; i++)
		slots += funcs[i].insns;
	cr_assert_eq((uint64_t)slots * 8, code);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(funcs[0].name, "f");
	cr_assert_str_eq(funcs[0].section, "xdp");
	cr_assert_str_eq(funcs[1].name, "bump");
	cr_assert_str_eq(funcs[1].section, ".text");
	free(data);
}

/* The map load and the call show their relocations, as llvm-objdump -dr. */
Test(disasm, relocations_name_maps_and_functions)
{
	ObjFile obj;
	char *data = read_back(two_functions, &obj);
	StrBuf out = { 0 };
	disasm_object(&obj, "t.bpf.o", &out);
	cr_assert(strncmp(out.data, "\nt.bpf.o:\tfile format elf64-bpf\n", 32) == 0, "%s", out.data);
	cr_assert(strstr(out.data, "\nDisassembly of section xdp:\n\n0000000000000000 <f>:\n"),
		  "%s", out.data);
	cr_assert(strstr(out.data, ":  R_BPF_64_64\tcounts\n"), "%s", out.data);
	cr_assert(strstr(out.data, "\tcall -1\n"), "%s", out.data);
	cr_assert(strstr(out.data, ":  R_BPF_64_32\tbump\n"), "%s", out.data);
	sb_free(&out);
	free(data);
}

/* Untrusted input: every truncation, and every byte of the headers
 * overwritten, is refused or read without reading outside the buffer
 * (the copy is exactly as long as the reader is told). */
Test(disasm, damaged_objects_are_refused_not_trusted)
{
	size_t len;
	char *data = compile(two_functions, &len);
	ObjFile obj;
	char why[256];
	for (size_t cut = 0; cut < len; cut++) {
		char *copy = malloc(cut ? cut : 1);
		memcpy(copy, data, cut);
		if (obj_read(copy, cut, &obj, why, sizeof(why))) {
			StrBuf out = { 0 };
			disasm_object(&obj, "t.bpf.o", &out);
			sb_free(&out);
		} else {
			cr_assert(why[0]);
		}
		free(copy);
	}
	static const uint8_t junk[] = { 0x00, 0xff, 0x7f, 0x80, 0x40 };
	for (size_t at = 0; at < len; at++) {
		for (size_t j = 0; j < sizeof(junk); j++) {
			char *copy = malloc(len);
			memcpy(copy, data, len);
			copy[at] = (char)junk[j];
			if (obj_read(copy, len, &obj, why, sizeof(why))) {
				StrBuf out = { 0 };
				disasm_object(&obj, "t.bpf.o", &out);
				ObjFunc *funcs;
				obj_functions(&obj, &funcs);
				sb_free(&out);
			}
			free(copy);
		}
		arena_reset();
	}
	free(data);
}

Test(disasm, foreign_files_are_refused)
{
	ObjFile obj;
	char why[256];
	cr_assert_not(obj_read("not an object", 13, &obj, why, sizeof(why)));
	cr_assert_str_eq(why, "not an ELF file");
	/* An ELF header of another machine: x86-64, little-endian. */
	uint8_t x86[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	x86[18] = 62;
	cr_assert_not(obj_read(x86, sizeof(x86), &obj, why, sizeof(why)));
	cr_assert_str_eq(why, "not a BPF object (ELF machine is not EM_BPF)");
}
