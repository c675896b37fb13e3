#!/bin/sh
# Mixing hand-written C with generated programs (docs/mixing.md), in the
# kernel where it lets us:
#
#   examples/mixed     the generated header compiles in BPF C (the C half,
#                      with -Wall -Wextra -Werror) and in user space (the
#                      loader, built by `make examples`); the object
#                      `vbpf2c -c` links loads and passes flowstats.cases,
#                      linked in either order, the Vaisto half from either
#                      backend; the loader, using the bpftool
#                      skeleton, prints loader.expected
#   tests/mixing/      C that calls tests/gen/exported.va's exported
#                      functions, linked with each backend's object: the
#                      kernel verifies them as global functions
#   the command line   a license mismatch, a rejected .va and broken C each
#                      fail with the right status and write no object
#
# Run by `make mixing-test` after `make examples`. Skips the kernel parts,
# saying why, when this process may not use bpf(). Last line:
# "N passed, N failed, N skipped"; exit status 1 when anything failed.
set -u
cd "$(dirname "$0")/.." || exit 2

VBPF2C=${VBPF2C:-./vbpf2c}
CLANG=${CLANG:-clang}
MIXED=build/examples/mixed
OUT=build/mixing
RUNCASES=build/vbpf-runcases
bpf_cflags="-O2 -g -Wall -Wextra -Werror -target bpf -I/usr/include/$(uname -m)-linux-gnu"
mkdir -p "$OUT"

passed=0 failed=0 skipped=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1"
	[ $# -lt 2 ] || sed 's/^/    /' "$2"
	failed=$((failed + 1))
}
skip() { echo "SKIP $1"; skipped=$((skipped + 1)); }

# The probe kernel.sh uses: can this process load programs?
kernel=true
if ! make -s build/libvbpf2c_runtime.a >/dev/null ||
   ! ${CC:-cc} -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 -g -Iruntime \
	-o "$RUNCASES" tests/kernel/runcases.c build/libvbpf2c_runtime.a -lbpf -lelf -lz; then
	fail "cannot build $RUNCASES"
	kernel=false
elif ! why=$("$RUNCASES" --probe); then
	kernel=false
fi

# Runs `vbpf2c test OBJECT CASES`, named $1.
run_cases() {
	name=$1 object=$2 cases=$3
	if ! $kernel; then
		skip "$name: ${why:-no kernel runner}"
	elif "$VBPF2C" test "$object" "$cases" >"$OUT/cases.out" 2>&1; then
		pass "$name: $(tail -n 1 "$OUT/cases.out")"
	else
		fail "$name" "$OUT/cases.out"
	fi
}

# ---- examples/mixed ----------------------------------------------------------

# shellcheck disable=SC2086 # bpf_cflags is a list of words
if "$CLANG" $bpf_cflags -I"$MIXED" -c examples/mixed/flowstats_parse.bpf.c -o "$OUT/parse.o" \
	>"$OUT/clang.err" 2>&1; then
	pass "examples/mixed: the C half compiles warning-free against flowstats.h"
else
	fail "examples/mixed: the C half does not compile against flowstats.h" "$OUT/clang.err"
fi
if "$VBPF2C" examples/mixed/flowstats.va >"$OUT/flowstats.bpf.c" 2>"$OUT/err" &&
   (cd "$OUT" && "$CLANG" $bpf_cflags -c flowstats.bpf.c -o flowstats.o) >>"$OUT/err" 2>&1; then
	pass "examples/mixed: the Vaisto half's C compiles warning-free"
else
	fail "examples/mixed: the Vaisto half's C" "$OUT/err"
fi

run_cases "examples/mixed: linked object (make examples)" "$MIXED/flowstats.bpf.o" \
	examples/mixed/flowstats.cases

# C first - the maps each side declares extern come before their
# definitions - and the Vaisto half from the native backend, both orders
for link in "clang c-first" "native va-first" "native c-first"; do
	set -- $link
	if [ "$2" = c-first ]; then
		inputs="examples/mixed/flowstats_parse.bpf.c examples/mixed/flowstats.va"
	else
		inputs="examples/mixed/flowstats.va examples/mixed/flowstats_parse.bpf.c"
	fi
	# shellcheck disable=SC2086 # inputs is a list of words
	if "$VBPF2C" -c --backend="$1" $inputs -o "$OUT/$1-$2.bpf.o" >"$OUT/err" 2>&1; then
		run_cases "examples/mixed: linked $2 [$1]" "$OUT/$1-$2.bpf.o" examples/mixed/flowstats.cases
	else
		fail "examples/mixed: linking $2 [$1]" "$OUT/err"
	fi
done

if ! $kernel; then
	skip "examples/mixed/loader: ${why:-no kernel runner}"
elif "$MIXED/loader" >"$OUT/loader.out" 2>&1 &&
     diff -u examples/mixed/loader.expected "$OUT/loader.out" >"$OUT/loader.diff"; then
	pass "examples/mixed/loader: the skeleton loads, runs and reads the shared map"
else
	cat "$OUT/loader.out" >>"$OUT/loader.diff"
	fail "examples/mixed/loader: output differs from loader.expected" "$OUT/loader.diff"
fi

# ---- exported functions, called from C, for both backends --------------------

for backend in clang native; do
	if "$VBPF2C" -c --backend=$backend tests/gen/exported.va tests/mixing/exported_caller.bpf.c \
		-o "$OUT/exported.$backend.o" >"$OUT/err" 2>&1; then
		run_cases "tests/mixing/exported_caller.bpf.c + exported.va [$backend]" \
			"$OUT/exported.$backend.o" tests/mixing/exported_caller.cases
	else
		fail "linking exported.va [$backend] with exported_caller.bpf.c" "$OUT/err"
	fi
done

# ---- the command line -----------------------------------------------------------

# expect_failure NAME STATUS MESSAGE ARGS...: vbpf2c exits STATUS, says
# MESSAGE on stderr and leaves no $OUT/none.o behind.
expect_failure() {
	name=$1 want=$2 message=$3
	shift 3
	rm -f "$OUT/none.o"
	"$VBPF2C" "$@" -o "$OUT/none.o" >"$OUT/err" 2>&1
	status=$?
	if [ "$status" -ne "$want" ]; then
		echo "exit status $status, expected $want" >>"$OUT/err"
		fail "$name" "$OUT/err"
	elif ! grep -q -- "$message" "$OUT/err"; then
		echo "(expected: $message)" >>"$OUT/err"
		fail "$name: message" "$OUT/err"
	elif [ -e "$OUT/none.o" ]; then
		fail "$name: an object was written"
	else
		pass "$name"
	fi
}

sed 's/"Dual BSD\/GPL"/"GPL"/' tests/mixing/exported_caller.bpf.c >"$OUT/gpl_caller.bpf.c"
expect_failure "link: licenses differ" 1 'has license "GPL" but tests/gen/exported.va has "Dual BSD/GPL"' \
	-c tests/gen/exported.va "$OUT/gpl_caller.bpf.c"
printf '(program :xdp)\n(defn h [ctx :XdpMd] :u32 (+ 1 true))\n' >"$OUT/rejected.va"
expect_failure "link: a rejected .va" 1 'rejected.va:2:32: error:' \
	-c "$OUT/rejected.va" tests/mixing/exported_caller.bpf.c
printf 'int broken(void) { return missing; }\n' >"$OUT/broken.c"
expect_failure "link: C that clang refuses" 2 'clang failed on' -c tests/gen/exported.va "$OUT/broken.c"
expect_failure "link: needs -c" 2 'use -c' tests/gen/exported.va tests/mixing/exported_caller.bpf.c
# clang refusing the C of a program (here a warning made an error): its
# diagnostics and ours, nothing else - no object, and no complaint of
# clang's about an output it could not remove (the session that passed it
# -o /dev/fd/N printed "unable to remove file")
expect_failure "clang refuses the C" 2 'clang failed with exit status 1' -c -Werror -Wpadded examples/xdp_flow_table.va
if grep -q 'unable to remove' "$OUT/err"; then
	fail "clang refuses the C: clang could not remove its output" "$OUT/err"
else
	pass "clang refuses the C: no word of its output"
fi

# `vbpf2c test` on the Vaisto half alone: it cannot load without the C
# half, so the command says why and shows how to link and test (issue 12).
name="test: a .va that calls c: functions"
"$VBPF2C" test examples/mixed/flowstats.va >"$OUT/err" 2>&1
status=$?
if [ "$status" -ne 2 ]; then
	echo "exit status $status, expected 2" >>"$OUT/err"
	fail "$name" "$OUT/err"
elif ! grep -q 'uses map policy (:extern), c:ipv4_protocol, defined in hand-written BPF C' "$OUT/err" ||
	! grep -q -- '  vbpf2c -c examples/mixed/flowstats.va examples/mixed/flowstats_parse.bpf.c -o examples/mixed/flowstats.bpf.o' "$OUT/err" ||
	! grep -q -- '  vbpf2c test examples/mixed/flowstats.bpf.o examples/mixed/flowstats.cases' "$OUT/err" ||
	grep -q 'libbpf\|cannot open' "$OUT/err"; then
	fail "$name: message" "$OUT/err"
else
	pass "$name"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
