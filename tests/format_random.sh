#!/bin/sh
# format_random.sh [FIRST [COUNT [SHOWN]]] - is the C vbpf2c writes for
# programs nobody wrote a clang-format fixed point? (docs/emit_c.md,
# "Statements longer than 80 columns ...": the goldens are checked by
# tests/golden.sh, this checks random programs.)
#
# For each seed FIRST .. FIRST+COUNT-1 (default 800000000, 60), generates a
# program with tests/native/randprog.c, translates it, and runs
# `clang-format --style=file` (the project's .clang-format) over the C.
# Prints "N of COUNT unstable" and the diffs of the first SHOWN (default 3)
# unstable programs, each after a line "== seed S".
#
# KEEP=DIR keeps every seed's S.va, S.bpf.c and S.diff (empty when stable)
# in DIR, to compare the C of two builds (KEEP=a, then VBPF2C=old KEEP=b,
# then `diff -r a b`). Programs the translator refuses are counted apart.
# Exit status 0 (a measurement, not a test).
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
vbpf2c=${VBPF2C:-$root/vbpf2c}
clang_format=${CLANG_FORMAT:-clang-format}
first=${1:-800000000}
count=${2:-60}
shown=${3:-3}

work=$(mktemp -d "${TMPDIR:-/tmp}/format_random.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 2' HUP INT TERM
keep=${KEEP:-$work/keep}
mkdir -p "$keep"
cp "$root/.clang-format" "$keep/.clang-format"

randprog=${RANDPROG:-$work/randprog}
if [ ! -x "$randprog" ]; then
	${CC:-cc} -O2 -o "$randprog" "$root/tests/native/randprog.c" || exit 2
fi

unstable=0
refused=0
seed=$first
end=$((first + count))
while [ "$seed" -lt "$end" ]; do
	"$randprog" "$seed" > "$keep/$seed.va"
	if ! (cd "$keep" && "$vbpf2c" "$seed.va") > "$keep/$seed.bpf.c" 2> "$work/err"; then
		refused=$((refused + 1))
		seed=$((seed + 1))
		continue
	fi
	(cd "$keep" && "$clang_format" --style=file "$seed.bpf.c") > "$work/formatted"
	diff "$keep/$seed.bpf.c" "$work/formatted" > "$keep/$seed.diff"
	if [ -s "$keep/$seed.diff" ]; then
		unstable=$((unstable + 1))
		if [ "$unstable" -le "$shown" ]; then
			echo "== seed $seed"
			cat "$keep/$seed.diff"
		fi
	fi
	seed=$((seed + 1))
done
if [ "$refused" -gt 0 ]; then
	echo "$unstable of $count unstable ($refused refused by vbpf2c)"
else
	echo "$unstable of $count unstable"
fi
exit 0
