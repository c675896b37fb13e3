#!/bin/sh
# Kernel tests: every examples/*.va and tests/gen/*.va is compiled to a BPF
# object, loaded through libbpf (the verifier must accept it) and, when a
# NAME.cases file sits beside it, run with BPF_PROG_TEST_RUN on its cases
# (docs/cases.md) - all through `vbpf2c test`. tests/kernel/*.va are
# programs the verifier must reject: the line marked "; <- verifier" is
# where the complaint must point.
#
# KERNEL_BACKENDS runs everything once per backend (default "clang native"):
# every case must give the same results with both objects. A program the
# native backend does not support yet ("native backend does not support X
# yet", "X are not supported by the native backend") is listed as skipped
# with that reason. Skips, saying why, when this process may not use bpf(). Last
# line: "N passed, N failed, N skipped"; exit status 1 when anything failed.
set -u
cd "$(dirname "$0")/.." || exit 2

VBPF2C=${VBPF2C:-./vbpf2c}
BACKENDS=${KERNEL_BACKENDS:-clang native}
OUT=build/kernel
RUNCASES=build/vbpf-runcases
mkdir -p "$OUT"

passed=0 failed=0 skipped=0

# The probe (and the fallback runner for a vbpf2c without `test`).
if ! make -s "$RUNCASES" >/dev/null; then
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

have_test=false
"$VBPF2C" test --help >/dev/null 2>&1 && have_test=true

# Runs the program's cases; stdout to $2, stderr to $3.
run_cases() {
	src=$1 out=$2 err=$3 backend=$4
	cases="${src%.va}.cases"
	[ -f "$cases" ] || cases=
	if $have_test; then
		"$VBPF2C" test --backend="$backend" "$src" $cases >"$out" 2>"$err"
		return
	fi
	# A vbpf2c without `test`: compile here, run with build/vbpf-runcases.
	obj="$OUT/$(echo "${src%.va}" | tr / _).bpf.o"
	if ! "$VBPF2C" --backend="$backend" -c "$src" -o "$obj" 2>"$err"; then
		printf 'FAIL compile: %s\n0 passed, 1 failed\n' "$src" >"$out"
		return
	fi
	"$RUNCASES" --source-dir "$(dirname "$src")" "$obj" $cases >"$out" 2>"$err"
}

# Adds the counts of a "N passed, N failed[, N skipped]" line to the totals.
tally() {
	set -- $(echo "$1" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}$/\1 \2 \4/p')
	passed=$((passed + ${1:-0}))
	failed=$((failed + ${2:-1}))
	skipped=$((skipped + ${3:-0}))
}

for backend in $BACKENDS; do
	for src in $sources; do
		name=$(basename "$src" .va)
		log="$OUT/$(echo "${src%.va}" | tr / _).$backend"
		label="$src"
		[ "$BACKENDS" = clang ] || label="$src [$backend]"
		if [ "$backend" = native ] &&
		   ! "$VBPF2C" --backend=native -c "$src" -o "$log.o" 2>"$log.err" &&
		   why=$(grep -o -e 'native backend does not support .* yet' \
			 -e '[^:]* are not supported by the native backend' "$log.err" | head -1) &&
		   [ -n "$why" ]; then
			echo "SKIP $label: ${why# }"
			skipped=$((skipped + 1))
			continue
		fi
		run_cases "$src" "$log.out" "$log.err" "$backend"

		if [ "$(dirname "$src")" = tests/kernel ]; then
			# Must be rejected, at the marked line.
			want=$(grep -n '; <- verifier' "$src" | cut -d: -f1)
			got=$(grep -o "$name\.va:[0-9]*:[0-9]*: error: verifier:" "$log.err" | head -1)
			case "$got" in
			"$name.va:$want:"*)
				echo "PASS $label: rejected at line $want"
				passed=$((passed + 1)) ;;
			*)
				echo "FAIL $label: expected a verifier error at $name.va:$want, got:"
				sed 's/^/    /' "$log.err" "$log.out"
				failed=$((failed + 1)) ;;
			esac
			continue
		fi

		if grep -q '^FAIL' "$log.out"; then
			echo "FAIL $label"
			sed '$d; s/^/    /' "$log.out"
			sed 's/^/    /' "$log.err"
		elif grep -q '^SKIP' "$log.out"; then
			echo "SKIP $label: $(grep '^SKIP' "$log.out" | head -1)"
		else
			n=$(($(grep -c '^PASS' "$log.out") - 1))
			if [ "$n" -gt 0 ]; then
				echo "PASS $label: loaded, $n cases"
			else
				echo "PASS $label: loaded"
			fi
		fi
		tally "$(tail -n 1 "$log.out")"
	done
done

# A record the program only builds and sends (no BTF of it in the object)
# is shown by its field names (translator/commands/cmd_events.c): a wrong
# expectation prints the record that came, bytes and fields.
if $have_test; then
	"$VBPF2C" test examples/xdp_conn_events.va tests/kernel/conn_events_wrong.cases \
		>"$OUT/events_by_field.out" 2>&1
	if grep -q '{saddr=167772161 daddr=167772162 sport=40000 dport=80 kind=1}, expected' \
		"$OUT/events_by_field.out"; then
		echo "PASS events by field names"
		passed=$((passed + 1))
	else
		echo "FAIL events by field names:"
		sed 's/^/    /' "$OUT/events_by_field.out"
		failed=$((failed + 1))
	fi
fi

# --dump prints a ring buffer's records by their field names, from every
# backend's object alone, the object's BTF the only source of the record
# (tests/gen/record_event_dump.va; the generated-program test compares
# objects so).
if $have_test; then
	for backend in $BACKENDS; do
		"$VBPF2C" -c --backend="$backend" tests/gen/record_event_dump.va \
			-o "$OUT/event_dump.$backend.o" >"$OUT/event_dump.$backend.out" 2>&1 &&
		"$VBPF2C" test --dump "$OUT/event_dump.$backend.o" tests/gen/record_event_dump.cases \
			>"$OUT/event_dump.$backend.out" 2>&1
		if grep -q '^  event: a=7 b=1 c=9$' "$OUT/event_dump.$backend.out"; then
			echo "PASS --dump events by field names [$backend]"
			passed=$((passed + 1))
		else
			echo "FAIL --dump events by field names [$backend]:"
			sed 's/^/    /' "$OUT/event_dump.$backend.out"
			failed=$((failed + 1))
		fi
	done
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
