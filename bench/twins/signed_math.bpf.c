// SPDX-License-Identifier: GPL-2.0
/* Hand-written libbpf twin of examples/signed_math.va (see
 * xdp_packet_counter.bpf.c). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* 0: a / b   1: a % b   2: (__s8)a + (__s8)b, wrapped   3: a >> 1 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, 4);
} results SEC(".maps");

/* clang 14 cannot emit BPF signed division: divide the magnitudes and
 * restore the sign, truncating toward zero as C does. The example divides
 * by zero on purpose and expects BPF's answers (x / 0 = 0, x % 0 = x);
 * C leaves those undefined, so the zero case is written out. */
static __s64 sdiv(__s64 a, __s64 b)
{
	__u64 ua = a < 0 ? -(__u64)a : (__u64)a;
	__u64 ub = b < 0 ? -(__u64)b : (__u64)b;
	__u64 q = ub ? ua / ub : 0;

	return (a < 0) != (b < 0) ? -q : q;
}

static __s64 srem(__s64 a, __s64 b)
{
	__u64 ua = a < 0 ? -(__u64)a : (__u64)a;
	__u64 ub = b < 0 ? -(__u64)b : (__u64)b;
	__u64 r = ub ? ua % ub : ua;

	return a < 0 ? -r : r;
}

static void record(__u32 slot, __s64 value)
{
	bpf_map_update_elem(&results, &slot, &value, BPF_ANY);
}

SEC("raw_tracepoint/sys_enter")
int compute(struct bpf_raw_tracepoint_args *ctx)
{
	__s64 a = ctx->args[0];
	__s64 b = ctx->args[1];

	record(0, sdiv(a, b));
	record(1, srem(a, b));
	record(2, (__s8)((__s8)a + (__s8)b));
	record(3, a >> 1);
	return a < b;
}

char LICENSE[] SEC("license") = "GPL";
