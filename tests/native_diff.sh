#!/bin/sh
# Differential test of the two backends on random programs: for each seed,
# tests/native/randprog.c writes a valid program (every integer width and
# sign, casts, shifts, division and remainder by values that may be zero,
# comparisons, nested if/match, several functions) and its inputs; the
# clang object and the native object are run on them with `vbpf2c test
# --dump` and must print the same map contents. A disagreement prints the
# seed and the program.
#
# NATIVE_DIFF_COUNT programs (default 200) from NATIVE_DIFF_SEED (default
# 1). Not part of `make test` yet: seed 93 (of 1-200) disagrees because
# the C backend's C is undefined there and clang makes use of it: an
# __s64 multiplication overflows (docs/emit_c.md). Seeds 11, 15, 38, 89,
# 103 and 105 disagreed for division by zero values until the C backend
# wrote every division by a possibly-zero value through a helper. Skips, saying why, when this process may not use bpf(). Last line:
# "N passed, N failed, N skipped"; exit status 1 when anything failed.
set -u
cd "$(dirname "$0")/.." || exit 2

VBPF2C=${VBPF2C:-./vbpf2c}
COUNT=${NATIVE_DIFF_COUNT:-200}
FIRST=${NATIVE_DIFF_SEED:-1}
OUT=build/native_diff
mkdir -p "$OUT"

if ! ${CC:-cc} -std=c11 -Wall -Wextra -Werror -O2 -o build/randprog tests/native/randprog.c; then
	echo "native_diff.sh: cannot build build/randprog"
	echo "0 passed, 1 failed"
	exit 1
fi

# The same probe kernel.sh uses: can this process load programs?
if [ -x build/vbpf-runcases ] && ! why=$(build/vbpf-runcases --probe); then
	echo "SKIP all $COUNT random programs: $why"
	echo "0 passed, 0 failed, $COUNT skipped"
	exit 0
fi

passed=0 failed=0 skipped=0
seed=$FIRST
last=$((FIRST + COUNT - 1))
while [ "$seed" -le "$last" ]; do
	src=$OUT/r$seed.va cases=$OUT/r$seed.cases
	build/randprog "$seed" >"$src"
	build/randprog --cases "$seed" >"$cases"
	"$VBPF2C" test --dump --backend=clang "$src" "$cases" >"$OUT/r$seed.clang" 2>&1
	clang_status=$?
	"$VBPF2C" test --dump --backend=native "$src" "$cases" >"$OUT/r$seed.native" 2>&1
	native_status=$?
	if [ $clang_status -ne 0 ] && grep -q '^FAIL compile' "$OUT/r$seed.clang"; then
		# the generator's program refused: nothing to compare
		echo "SKIP seed $seed: the clang path did not compile it:"
		grep error "$OUT/r$seed.clang" | head -1 | sed "s/^/    /"
		skipped=$((skipped + 1))
	elif [ $clang_status -eq 0 ] && [ $native_status -eq 0 ] &&
	     cmp -s "$OUT/r$seed.clang" "$OUT/r$seed.native"; then
		passed=$((passed + 1))
		rm -f "$src" "$cases" "$OUT/r$seed.clang" "$OUT/r$seed.native"
	else
		echo "FAIL seed $seed: the backends disagree (NATIVE_DIFF_SEED=$seed NATIVE_DIFF_COUNT=1 to rerun)"
		diff "$OUT/r$seed.clang" "$OUT/r$seed.native" | sed 's/^/    /'
		sed 's/^/    | /' "$src"
		failed=$((failed + 1))
	fi
	seed=$((seed + 1))
done

echo "random programs: $passed passed, $failed failed, $skipped skipped"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
