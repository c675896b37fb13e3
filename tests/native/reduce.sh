#!/bin/sh
# reduce.sh - the smallest program that fails like PROG.va does.
#
#   reduce.sh PROG.va PROG.cases > small.va
#
# Runs tests/native/diffone.sh on PROG.va for its verdict ("CLASS:
# SIGNATURE", see there), then tests/native/reduce.c, which deletes and
# replaces S-expressions while the candidate still gets the same verdict.
# A candidate `vbpf2c --check` rejects never has it (unless the failure is
# a rejection), so every step stays a well-typed program. For speed a
# candidate goes only as far as its class needs: a clang-compile failure
# is not loaded, a native-compile one not given to clang. The cases stay
# as they are. Progress on stderr; about 0.1-0.5 s a candidate.
set -u
cd "$(dirname "$0")/../.." || exit 2
VBPF2C=${VBPF2C:-./vbpf2c}
export VBPF2C

if [ "${1:-}" = --test ]; then
	# reduce.sh --test VERDICT CASES CANDIDATE: exit 0 when CANDIDATE
	# still gets VERDICT
	want=$2 cases=$3 prog=$4
	dir=$prog.work
	rm -rf "$dir"
	mkdir -p "$dir/clang" "$dir/native"
	class=${want%%:*}
	# Reading a stack slot no store writes reads whatever the stack held
	# (the verifier lets root do it): a program that would differ for
	# that reason is no repro of anything.
	for load in $(grep -o '(bpf/stack_load_u[0-9]* -[0-9]*' "$prog" | sed 's/.*_load_//; s/ /:/'); do
		grep -q "(bpf/stack_store_${load%%:*} ${load#*:}" "$prog" || exit 1
	done
	if ! "$VBPF2C" --check "$prog" >/dev/null 2>&1; then
		[ "$class" = check ] || exit 1
	fi
	case $class in
	clang-compile)
		"$VBPF2C" -c --backend=clang -Wall -Wextra -Werror "$prog" -o "$dir/clang/prog.o" \
			>/dev/null 2>&1 && exit 1 ;;   # no warning, no error
	native-compile)
		"$VBPF2C" -c --backend=native "$prog" -o "$dir/native/prog.o" >/dev/null 2>&1 &&
			[ -s "$dir/native/prog.o" ] && exit 1 ;;
	esac
	got=$(sh tests/native/diffone.sh "$prog" "$cases" "$dir")
	rm -rf "$dir"
	[ "$got" = "$want" ]
	exit
fi

prog=$1 cases=$2
# built aside and renamed: another reduction may be running the old one
${CC:-cc} -std=c11 -Wall -Wextra -Werror -O2 -D_GNU_SOURCE -o build/reduce.$$ tests/native/reduce.c &&
	mv build/reduce.$$ build/reduce || exit 2
work=$(mktemp -d "${TMPDIR:-/tmp}/reduce.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
# Candidates are written one top-level form a line, without comments:
# the verdict is taken on the program written so. (The native backend's
# code has depended on the layout: a program and its reformatted self
# failed differently.)
build/reduce --format "$prog" >"$work/prog.va"
verdict=$(sh tests/native/diffone.sh "$work/prog.va" "$cases" "$work/first")
if [ "$verdict" = pass ]; then
	echo "reduce.sh: $prog passes once reformatted: nothing to reduce" >&2
	exit 1
fi
original=$(sh tests/native/diffone.sh "$prog" "$cases" "$work/original")
[ "$original" = "$verdict" ] ||
	echo "reduce.sh: note: reformatted, $prog fails otherwise: \"$original\" becomes \"$verdict\"" >&2
echo "reduce.sh: keeping \"$verdict\"" >&2
echo "; $verdict"
echo "; reduced by tests/native/reduce.sh from $(basename "$prog")"
case $verdict in
check:*) first_check= ;;
*) first_check="--check $VBPF2C" ;;
esac
build/reduce $first_check "$work/prog.va" sh tests/native/reduce.sh --test "$verdict" "$cases"
