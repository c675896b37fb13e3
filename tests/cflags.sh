#!/bin/sh
# cflags.sh - every source builds warning-free (-Wall -Wextra -Werror, as the
# Makefile builds it) at every optimisation level a user may pass with
# `make CFLAGS=...`: GCC's -Wformat-truncation and friends depend on the
# level (issue 16.10: -O1 once failed in cmd_run.c). Run by `make test`.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-cc}
work=$(mktemp -d "${TMPDIR:-/tmp}/cflags.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 2' HUP INT TERM

# every stage's folder, as the Makefile's TRANSLATOR_INC
translator_inc=$(for d in "$root"/translator/*/; do printf ' -I%s' "${d%/}"; done)

passed=0
failed=0
for level in -O0 -O1 -O2 -O3 -Os; do
	for src in "$root"/translator/*/*.c "$root"/runtime/*.c; do
		if "$cc" -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$root/build" -I"$root/translator" $translator_inc \
			-I"$root/runtime" $level -g -c "$src" -o "$work/x.o" 2> "$work/err"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			echo "FAIL ${src#"$root"/} at $level"
			sed 's/^/    /' "$work/err" | head -20
		fi
	done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
