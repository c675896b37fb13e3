/* fuzz_backends.c - libFuzzer target through every backend: the front end,
 * then, for each module it accepts, the C (emit_c), the header (emit_h),
 * and the native backend (lowering, register allocation, encoding, the ELF
 * writer) into a memfd, whose object is read back and disassembled
 * (elf_read.c, disasm.c) as --emit=asm would.
 *
 *   make fuzz FUZZ_SECONDS=600      (runs this and fuzz_frontend)
 *
 * A backend may still refuse a checked module with a diagnostic (the C
 * emitter's few late checks, the native backend's limits); that is fine.
 * A crash, a sanitizer report, a hang, or an object the native backend
 * calls good that obj_read cannot read is a finding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "disasm.h"
#include "native.h"
#include "vbpf2c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *diag_sink;
static int object_fd = -1;
static char object_path[64];

static void setup(void)
{
	diag_sink = fopen("/dev/null", "w");
	object_fd = memfd_create("fuzz_backends.o", 0);
	if (!diag_sink || object_fd < 0)
		abort();
	diag_set_output(diag_sink);
	/* the ELF writer opens a path: the memfd's, through /proc */
	snprintf(object_path, sizeof(object_path), "/proc/self/fd/%d", object_fd);
}

/* The object native_write_elf left in the memfd, read back and disassembled. */
static void read_back_object(void)
{
	off_t size = lseek(object_fd, 0, SEEK_END);
	if (size <= 0)
		abort();
	char *bytes = malloc((size_t)size);
	if (!bytes || pread(object_fd, bytes, (size_t)size, 0) != size)
		abort();
	ObjFile obj;
	char why[256];
	if (!obj_read(bytes, (size_t)size, &obj, why, sizeof(why))) {
		fprintf(stderr, "native object unreadable: %s\n", why);
		abort();
	}
	StrBuf text = { 0 };
	disasm_object(&obj, "fuzz.o", &text);
	sb_free(&text);
	free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!diag_sink)
		setup();

	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	SourceFile file = { .name = "fuzz.va", .text = text, .len = size };

	Module *m = frontend_run(&file);
	if (m && diag_error_count() == 0) {
		EmitOptions opts = { .line_directives = true, .source_name = file.name };
		StrBuf c = { 0 }, h = { 0 };
		emit_h(m, &opts, &h);
		emit_c(m, &opts, &c);
		if (diag_error_count() == 0) {
			if (ftruncate(object_fd, 0) != 0)
				abort();
			if (native_compile(m, m->license ? m->license : "GPL", object_path))
				read_back_object();
		}
		sb_free(&c);
		sb_free(&h);
	}

	arena_reset();
	diag_reset();
	free(text);
	return 0;
}
