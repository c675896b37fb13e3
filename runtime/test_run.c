/* test_run.c - run one program with BPF_PROG_TEST_RUN. */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "vbpf_runtime.h"

int vbpf_prog__test_run(const struct bpf_program *prog, const struct vbpf_run_opts *opts,
			struct vbpf_run_result *result)
{
	int fd = bpf_program__fd(prog);
	if (fd < 0)
		return -EBADF;
	memset(result, 0, sizeof(*result));
	/* Repeats are run from here rather than with test.repeat: raw
	 * tracepoints refuse any repeat, data_out or ctx_out, and one loop
	 * here gives every program type the same meaning of "N runs". */
	unsigned runs = opts->repeat > 1 ? opts->repeat : 1;
	for (unsigned i = 0; i < runs; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, run,
			    .data_in = opts->data,
			    .data_size_in = (__u32)opts->data_size,
			    .data_out = opts->data_out,
			    .data_size_out = (__u32)opts->data_out_size,
			    .ctx_in = opts->ctx,
			    .ctx_size_in = (__u32)opts->ctx_size);
		if (bpf_prog_test_run_opts(fd, &run))
			return -errno;
		result->retval = run.retval;
		result->duration_ns = run.duration;
		result->data_size_out = run.data_size_out;
	}
	return 0;
}
