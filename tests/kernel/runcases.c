/* runcases - load one BPF object, run its cases in the kernel, print one
 * line per case and "N passed, N failed". tests/kernel.sh builds it into
 * build/vbpf-runcases; `vbpf2c test` (translator/commands/cmd_test.c) does the same
 * from a .va file.
 *
 *   build/vbpf-runcases [--dump] [--source-dir DIR] prog.bpf.o [prog.cases]
 *   build/vbpf-runcases --probe   exit 0 when bpf() works, else 77 and why
 */
#include <stdio.h>
#include <string.h>

#include "vbpf_runtime.h"

int main(int argc, char **argv)
{
	struct vbpf_test_opts opts = { .out = stdout, .diag = stderr };
	const char *object = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--probe") == 0) {
			char why[256];
			if (vbpf_kernel__probe(why, sizeof(why)) == 0)
				return 0;
			printf("%s\n", why);
			return 77;
		} else if (strcmp(argv[i], "--dump") == 0) {
			opts.dump_maps = true;
		} else if (strcmp(argv[i], "--source-dir") == 0 && i + 1 < argc) {
			opts.source_dir = argv[++i];
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: %s [--dump] [--source-dir DIR] OBJECT [CASES]\n",
				argv[0]);
			return 2;
		} else if (!object) {
			object = argv[i];
		} else {
			opts.cases_path = argv[i];
		}
	}
	if (!object) {
		fprintf(stderr, "usage: %s [--dump] [--source-dir DIR] OBJECT [CASES]\n", argv[0]);
		return 2;
	}
	struct vbpf_test_stats stats = vbpf_test__run_object(object, &opts);
	printf("%d passed, %d failed", stats.passed, stats.failed);
	if (stats.skipped)
		printf(", %d skipped", stats.skipped);
	printf("\n");
	return stats.failed ? 1 : 0;
}
