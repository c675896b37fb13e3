/* printk.c - the format of (printk "fmt" args...), LANGUAGE.md 10.5.
 *
 * bpf_printk is bpf_trace_printk, whose format the kernel checks at run
 * time (bpf_bprintf_prepare) and clang not at all: a %d given a 64-bit
 * value prints its low half, a %s given an integer faults. So the checker
 * does what clang's -Wformat does for printf, against what the kernel
 * accepts: flags `-+ 0` and a width, then d i u x X with no length (an
 * integer of at most 32 bits), `l` or `ll` (64 bits), or %c (8 bits), %p
 * (a pointer) and %%. %s (a string pointer) has no source type to give it.
 * Every conversion needs an argument, and there are at most 3 (the kernel's
 * bpf_trace_printk limit). */
#include <string.h>

#include "vbpf2c.h"

int printk_conversions(const char *fmt, Span at, Type **types, int max)
{
	int n = 0;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		const char *start = p++;
		if (*p == '%')
			continue;
		while (*p && strchr("-+ 0", *p))
			p++;
		if (*p == '#') {
			/* vsnprintf takes it, the kernel's format check does
			 * not: the call fails with -EINVAL and prints nothing */
			diag_error(at, "printk: the kernel's printk refuses the `#` flag of `%.*s`",
				   (int)(p - start) + 2, start);
			diag_hint("write the prefix into the format: 0x%%x");
			return -1;
		}
		while (*p >= '0' && *p <= '9')
			p++;
		int longs = 0;
		while (*p == 'l' && longs < 2) {
			p++;
			longs++;
		}
		Type *t = NULL;
		if (*p && strchr("diuxX", *p))
			t = longs ? (strchr("di", *p) ? ty_i64 : ty_u64) : (strchr("di", *p) ? ty_i32 : ty_u32);
		else if (*p == 'c' && !longs)
			t = ty_u8;
		else if (*p == 'p' && !longs)
			t = type_ptr(ty_u8, false);
		if (!t) {
			int len = *p ? (int)(p - start) + 1 : (int)(p - start);
			diag_error(at, "printk: `%.*s` is not a conversion BPF's printk can print", len, start);
			diag_hint("use %%d %%i %%u %%x (32 bits), %%ld %%lu %%lx or %%lld %%llu %%llx (64 bits), %%c, %%p, %%%%");
			return -1;
		}
		if (n == max) {
			diag_error(at, "printk: the format has more than %d conversions", max);
			diag_hint("BPF's printk prints at most %d values; split it into several printk", max);
			return -1;
		}
		types[n++] = t;
		if (!*p)
			break;
	}
	return n;
}
