#!/bin/sh
# Differential test of the two backends on random programs: for each seed,
# tests/native/randprog.c writes a valid program (every integer width and
# sign, casts, shifts, division and remainder by values that may be zero,
# comparisons, nested if/cond/match, let, for-range loops, map updates and
# lookups, globals, several functions calling each other) and its inputs;
# the clang object and the native object are run on them with `vbpf2c test
# --dump` and must leave the same map and global contents. A disagreement
# prints the seed, the difference and the program.
#
# NATIVE_DIFF_COUNT programs (default 200) from NATIVE_DIFF_SEED (default
# 1); `make test` runs the default. Disagreements found so far, all in the
# C backend (docs/emit_c.md): division by zero values (until every division
# by a possibly-zero value went through a helper) and signed overflow
# (until signed + - * were computed unsigned), C being undefined and clang
# making use of it; and operands evaluated out of order around statements
# that read globals. A seed whose clang object the verifier refuses (about
# 1 in 400 beyond the default range: "BPF program is too large") fails too:
# it is the C path's limit, not a disagreement, but says so loudly. Skips,
# saying why, when this process may not use bpf(). Last line: "N passed,
# N failed, N skipped"; exit status 1 when anything failed.
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

# A dump lists a hash map's entries in the kernel's hash order, and the
# maps and a section's variables in each compiler's layout order: each
# entry becomes a line "map: entry" and the lines are sorted, so only the
# contents are compared.
contents() {
	awk '/^  / {
		line = substr($0, 3)
		if (match(line, /^SEC\("[^"]*"\) /)) {
			line = substr(line, RLENGTH + 1)
			n = split(line, vars, ";")
			for (i = 1; i <= n; i++)
				if (vars[i] != "")
					print map ": " vars[i]
			next
		}
		print map ": " line
		next
	}
	{ map = $1; print }' "$1" | LC_ALL=C sort
}

passed=0 failed=0 skipped=0
seed=$FIRST
last=$((FIRST + COUNT - 1))
while [ "$seed" -le "$last" ]; do
	src=$OUT/r$seed.va cases=$OUT/r$seed.cases
	build/randprog "$seed" >"$src"
	build/randprog --cases "$seed" >"$cases"
	# stdout only: clang's warnings on stderr are no disagreement
	"$VBPF2C" test --dump --backend=clang "$src" "$cases" >"$OUT/r$seed.clang" 2>"$OUT/r$seed.clang.err"
	clang_status=$?
	"$VBPF2C" test --dump --backend=native "$src" "$cases" >"$OUT/r$seed.native" 2>"$OUT/r$seed.native.err"
	native_status=$?
	if [ $clang_status -ne 0 ] && grep -q '^FAIL compile' "$OUT/r$seed.clang"; then
		# the generator's program refused: nothing to compare
		echo "SKIP seed $seed: the clang path did not compile it:"
		grep error "$OUT/r$seed.clang.err" | head -1 | sed "s/^/    /"
		skipped=$((skipped + 1))
	elif contents "$OUT/r$seed.clang" >"$OUT/r$seed.clang.sorted" &&
	     contents "$OUT/r$seed.native" >"$OUT/r$seed.native.sorted" &&
	     [ $clang_status -eq 0 ] && [ $native_status -eq 0 ] &&
	     cmp -s "$OUT/r$seed.clang.sorted" "$OUT/r$seed.native.sorted"; then
		passed=$((passed + 1))
		rm -f "$src" "$cases" "$OUT/r$seed".*
	else
		echo "FAIL seed $seed: the backends disagree (NATIVE_DIFF_SEED=$seed NATIVE_DIFF_COUNT=1 to rerun)"
		diff "$OUT/r$seed.clang.sorted" "$OUT/r$seed.native.sorted" | sed 's/^/    /'
		grep -h -A3 error "$OUT/r$seed.clang.err" "$OUT/r$seed.native.err" | sed 's/^/    /'
		sed 's/^/    | /' "$src"
		failed=$((failed + 1))
	fi
	seed=$((seed + 1))
done

echo "random programs: $passed passed, $failed failed, $skipped skipped"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
