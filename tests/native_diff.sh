#!/bin/sh
# Differential test of the two backends on generated programs
# (docs/testing.md). For each seed, tests/native/randprog.c writes a
# well-typed program over the whole accepted language (every integer type
# and operator, casts, edge literals, let/if/cond/match/do, threading,
# Some/None from lookups and ring buffers, records, globals, loops,
# subprograms of 0-5 arguments taking packets and maps, every test-runnable
# map type and program kind, byte order, packet and stack loads and
# stores, helpers with and without used results; a tenth are tracing
# programs over the kernel's types: tp_btf, fentry, fexit, lsm,
# raw_tracepoint with k/arg, CO-RE reads, k/exists?, k/read-str, array
# fields, which the native backend refuses and the clang side must load,
# attach and run) and its cases (real
# Ethernet/VLAN/ARP/IPv4/IPv6/TCP/UDP/ICMP frames, truncated and random
# ones; raw tracepoint arguments; `trigger /bin/true` for attached
# tracing programs). tests/native/diffone.sh is the oracle:
# `vbpf2c --check` must accept it, the C must be -Wall -Wextra -Werror
# clean, both objects must load, and after every run the return value,
# the packet, every map entry and every global must be the same (`vbpf2c
# test --dump`). Any other outcome is a failure, named by class and
# signature.
#
#   NATIVE_DIFF_COUNT=N NATIVE_DIFF_SEED=S   seeds S .. S+N-1 (default 300
#                                            from 1: what `make test` runs)
#   NATIVE_DIFF_SECONDS=T                    instead: fresh seeds for T
#                                            seconds (`make fuzz-diff`)
#   NATIVE_DIFF_JOBS=J                       programs at a time (default 2)
#   NATIVE_DIFF_REDUCE=1                     shrink the first program of
#                                            each failure signature with
#                                            tests/native/reduce.sh
#
# Prints each failure (seed, class, signature), a table of failures by
# signature, the coverage holes (tests/native/coverage.sh: rows of the
# language's tables no program reached; the whole table is in
# build/native_diff/coverage.txt) and the time per program. Skips, saying
# why, when this process may not use bpf(). Last line: "N passed, N
# failed, N skipped"; exit status 1 when anything failed. Failing programs
# stay in build/native_diff/ (rNNN.va, rNNN.cases, work/NNN/).
#
# What it has found is in tests/native/found/ (one reduced program per
# bug, each saying what fails); earlier, with raw-tracepoint-only
# programs, it found C-backend division by zero values, signed overflow
# and operands evaluated out of order.
set -u
cd "$(dirname "$0")/.." || exit 2

VBPF2C=${VBPF2C:-./vbpf2c}
export VBPF2C
OUT=build/native_diff

# One seed (run by xargs below): the program, its cases, the verdict.
if [ "${1:-}" = --one ]; then
	seed=$2
	build/randprog "$seed" >"$OUT/r$seed.va"
	build/randprog --cases "$seed" >"$OUT/r$seed.cases"
	verdict=$(sh tests/native/diffone.sh "$OUT/r$seed.va" "$OUT/r$seed.cases" "$OUT/work/$seed")
	echo "$seed $verdict"
	cp "$OUT/r$seed.va" "$OUT/programs/"   # for the coverage table
	case $verdict in
	pass|skip:*) rm -rf "$OUT/r$seed.va" "$OUT/r$seed.cases" "$OUT/work/$seed" ;;
	esac
	exit 0
fi

COUNT=${NATIVE_DIFF_COUNT:-300}
FIRST=${NATIVE_DIFF_SEED:-1}
SECONDS_BUDGET=${NATIVE_DIFF_SECONDS:-}
JOBS=${NATIVE_DIFF_JOBS:-2}
rm -rf "$OUT"
mkdir -p "$OUT/work" "$OUT/programs"

if ! ${CC:-cc} -std=c11 -Wall -Wextra -Werror -O2 -o build/randprog tests/native/randprog.c; then
	echo "native_diff.sh: cannot build build/randprog"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

# The same probe kernel.sh uses: can this process load programs?
if [ -x build/vbpf-runcases ] && ! why=$(build/vbpf-runcases --probe); then
	echo "SKIP all generated programs: $why"
	echo "0 passed, 0 failed, ${COUNT} skipped"
	exit 0
fi

start=$(date +%s)
if [ -n "$SECONDS_BUDGET" ]; then
	# fresh seeds, in batches, until the time is up
	seed=$(( $(date +%s) % 100000 * 10000 ))
	while [ $(( $(date +%s) - start )) -lt "$SECONDS_BUDGET" ]; do
		seq "$seed" $((seed + 4 * JOBS - 1)) |
			xargs -P "$JOBS" -n 1 sh tests/native_diff.sh --one >>"$OUT/results"
		seed=$((seed + 4 * JOBS))
	done
else
	seq "$FIRST" $((FIRST + COUNT - 1)) |
		xargs -P "$JOBS" -n 1 sh tests/native_diff.sh --one >"$OUT/results"
fi
elapsed=$(( $(date +%s) - start ))

sort -n "$OUT/results" -o "$OUT/results"

# tests/native/known_failures: seeds of the fixed range that fail on a bug
# still open, one a line: seed, the verdict it fails with, the reduced
# program of that bug, separated by tabs. Such a seed counts as known
# (with the skips) while it fails exactly so; if it passes, or fails
# otherwise, that is a failure: the list follows the code and never hides
# a new verdict.
KNOWN=tests/native/known_failures
known=0
if [ -z "$SECONDS_BUDGET" ] && [ -s "$KNOWN" ]; then
	while read -r seed verdict; do
		listed=$(awk -F'\t' -v s="$seed" '$1 == s { print $2 "\t" $3; exit }' "$KNOWN")
		if [ -z "$listed" ]; then
			echo "$seed $verdict"
		elif [ "$verdict" = "${listed%%	*}" ]; then
			echo "KNOWN seed $seed: $verdict (${listed#*	})" >&2
			echo "$seed skip: known failure"
		else
			echo "$seed listed: $KNOWN says '${listed%%	*}', now '$verdict': update the list"
		fi
	done <"$OUT/results" >"$OUT/results.new" 2>"$OUT/known"
	mv "$OUT/results.new" "$OUT/results"
	known=$(grep -c '^KNOWN' "$OUT/known")
	cat "$OUT/known"
fi

passed=$(grep -c ' pass$' "$OUT/results")
skipped=$(grep -c ' skip: ' "$OUT/results")
failed=$(grep -v ' pass$' "$OUT/results" | grep -vc ' skip: ')
total=$((passed + failed + skipped))

grep ' skip: ' "$OUT/results" | awk '{ $1 = ""; n[$0]++ } END { for (s in n) printf "SKIP %d programs:%s\n", n[s], s }'
grep -v ' pass$' "$OUT/results" | grep -v ' skip: ' | while read -r seed verdict; do
	echo "FAIL seed $seed: $verdict (NATIVE_DIFF_SEED=$seed NATIVE_DIFF_COUNT=1 to rerun; $OUT/r$seed.va)"
done

if [ "$failed" -gt 0 ]; then
	echo
	echo "failures by signature (count, first seed, class: signature):"
	grep -v ' pass$' "$OUT/results" | grep -v ' skip: ' |
		awk '{ seed = $1; $1 = ""; sub(/^ /, ""); n[$0]++; if (!($0 in first)) first[$0] = seed }
		     END { for (s in n) printf "%6d  %-10s %s\n", n[s], first[s], s }' |
		sort -rn | tee "$OUT/signatures"
fi

if [ "${NATIVE_DIFF_REDUCE:-0}" = 1 ] && [ "$failed" -gt 0 ]; then
	echo
	mkdir -p "$OUT/reduced"
	n=0
	while read -r count seed rest; do
		n=$((n + 1))
		class=${rest%%:*}
		echo "reducing seed $seed ($rest)"
		sh tests/native/reduce.sh "$OUT/r$seed.va" "$OUT/r$seed.cases" \
			>"$OUT/reduced/$n-$class.va" 2>"$OUT/reduced/$n-$class.log"
		echo "  -> $OUT/reduced/$n-$class.va ($(grep -vc '^;' "$OUT/reduced/$n-$class.va") lines)"
		sed 's/^/    | /' "$OUT/reduced/$n-$class.va"
	done <"$OUT/signatures"
fi

echo
sh tests/native/coverage.sh "$OUT"/programs/*.va >"$OUT/coverage.txt"
echo "coverage over $total programs ($OUT/coverage.txt), rows no program reached:"
awk -F'\t' '$3 == 0 { printf "  %-14s %s\n", $1, $2 }' "$OUT/coverage.txt"
echo "time: ${elapsed}s for $total programs, $JOBS at a time"
[ "$known" -gt 0 ] && echo "known failures (in the skips): $known, each listed in $KNOWN with its bug"
echo "generated programs: $passed passed, $failed failed, $skipped skipped"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
