#!/bin/sh
# Kernel tests: every examples/*.va and tests/gen/*.va is compiled to a BPF
# object, loaded through libbpf (the verifier must accept it) and, when a
# NAME.cases file sits beside it, run with BPF_PROG_TEST_RUN on its cases
# (docs/cases.md). tests/kernel/*.va are programs the verifier must reject:
# the line marked "; <- verifier" is where the complaint must point.
#
# Skips, saying why, when this process may not use bpf(). Last line:
# "N passed, N failed, N skipped"; exit status 1 when anything failed.
set -u
cd "$(dirname "$0")/.." || exit 2

VBPF2C=${VBPF2C:-./vbpf2c}
CLANG=${CLANG:-clang}
OUT=build/kernel
RUNCASES=build/vbpf-runcases
mkdir -p "$OUT"

passed=0 failed=0 skipped=0

if ! make -s build/libvbpf2c_runtime.a >/dev/null ||
   ! ${CC:-cc} -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 -g -Iruntime \
	-o "$RUNCASES" tests/kernel/runcases.c build/libvbpf2c_runtime.a -lbpf -lelf -lz; then
	echo "kernel.sh: cannot build $RUNCASES"
	echo "0 passed, 1 failed"
	exit 1
fi

sources=$(ls examples/*.va tests/gen/*.va tests/kernel/*.va 2>/dev/null)

if ! why=$("$RUNCASES" --probe); then
	n=$(echo "$sources" | grep -c .)
	echo "SKIP all $n kernel tests: $why"
	echo "0 passed, 0 failed, $n skipped"
	exit 0
fi

# X.va -> $OUT/X.bpf.o with vbpf2c -c; a vbpf2c without -c still writes C,
# which clang then compiles the way vbpf2c -c does.
compile() {
	src=$1 obj=$2 log=$3
	"$VBPF2C" -c "$src" -o "$obj" >"$log" 2>&1 && return 0
	"$VBPF2C" "$src" >"${obj%.o}.c" 2>"$log" &&
		"$CLANG" -O2 -g -Wall -Wextra -Werror -target bpf \
			-I/usr/include/"$(uname -m)"-linux-gnu \
			-c "${obj%.o}.c" -o "$obj" >>"$log" 2>&1
}

# Adds the counts of a runcases summary line to the totals.
tally() {
	set -- $(echo "$1" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}$/\1 \2 \4/p')
	passed=$((passed + ${1:-0}))
	failed=$((failed + ${2:-1}))
	skipped=$((skipped + ${3:-0}))
}

for src in $sources; do
	name=$(basename "$src" .va)
	dir=$(dirname "$src")
	obj="$OUT/$(echo "$dir" | tr / _)_$name.bpf.o"
	log="${obj%.o}.log"
	if ! compile "$src" "$obj" "$log"; then
		echo "FAIL $src: does not compile"
		sed 's/^/    /' "$log"
		failed=$((failed + 1))
		continue
	fi

	if [ "$dir" = tests/kernel ]; then
		# Must be rejected, at the marked line.
		want=$(grep -n '; <- verifier' "$src" | cut -d: -f1)
		"$RUNCASES" --source-dir "$dir" "$obj" >"$log.out" 2>"$log.err"
		got=$(grep -o "$name\.va:[0-9]*:[0-9]*: error: verifier:" "$log.err" | head -1)
		case "$got" in
		"$name.va:$want:"*)
			echo "PASS $src: rejected at line $want"
			passed=$((passed + 1)) ;;
		*)
			echo "FAIL $src: expected a verifier error at $name.va:$want, got:"
			sed 's/^/    /' "$log.err" "$log.out"
			failed=$((failed + 1)) ;;
		esac
		continue
	fi

	cases="$dir/$name.cases"
	[ -f "$cases" ] || cases=
	"$RUNCASES" --source-dir "$dir" "$obj" $cases >"$log.out" 2>"$log.err"
	summary=$(tail -n 1 "$log.out")
	if grep -q '^FAIL' "$log.out"; then
		echo "FAIL $src"
		sed '$d; s/^/    /' "$log.out"
		sed 's/^/    /' "$log.err"
	else
		echo "PASS $src: $(grep -c '^PASS' "$log.out") checks${cases:+ from $cases}"
	fi
	tally "$summary"
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
