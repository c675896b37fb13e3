#!/bin/sh
# golden.sh - the golden-file tests (`make golden-test`).
#
# Which checks a file gets depends on the directory it sits in (cproc style):
#
#   tests/err/X.va   `vbpf2c --check X.va` exits 1 and its standard error is
#                    exactly tests/err/X.expected, and standard output is empty
#   tests/ok/X.va    `vbpf2c --check X.va` exits 0 and prints nothing at all
#   tests/gen/X.va   `vbpf2c X.va` exits 0, prints nothing on stderr, and its
#                    output is byte for byte tests/gen/X.bpf.c; a second run
#                    gives the same bytes; `clang-format --style=file` (the
#                    project's .clang-format) leaves it unchanged; and
#                    clang -O2 -g -Wall -Wextra -Werror -target bpf compiles it
#   examples/X.va    `vbpf2c --check` accepts it silently, and its C compiles
#                    warning-free and is clang-format clean, as for tests/gen
#
# vbpf2c runs inside the test's own directory with the bare file name, so
# diagnostics read "X.va:3:5: error: ..." and the generated C says
# "from X.va", wherever the tree is checked out.
#
# Prints one line per failed check followed by a diff, and finally exactly
# "N passed, N failed". Exit status 1 when anything failed (or when there was
# nothing to test). Expected files are rewritten by tests/regen.sh, for
# review with git diff.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
vbpf2c=${VBPF2C:-$root/vbpf2c}
clang=${CLANG:-clang}
clang_format=${CLANG_FORMAT:-clang-format}
bpf_cflags="-O2 -g -Wall -Wextra -Werror -target bpf -I/usr/include/$(uname -m)-linux-gnu"

work=$(mktemp -d "${TMPDIR:-/tmp}/golden.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 2' HUP INT TERM

passed=0
failed=0

pass() {
	passed=$((passed + 1))
}

# fail NAME WHAT [DIFF-FILE]: one line, then the evidence indented.
fail() {
	failed=$((failed + 1))
	echo "FAIL $1: $2"
	if [ $# -ge 3 ] && [ -s "$3" ]; then
		sed 's/^/    /' "$3"
	fi
}

# run_vbpf2c DIR ARGS...: runs in DIR; leaves $work/out, $work/err, $status.
run_vbpf2c() {
	dir=$1
	shift
	(cd "$dir" && "$vbpf2c" "$@") > "$work/out" 2> "$work/err"
	status=$?
}

# The C in file $2 (named $1 in messages) must be a clang-format fixed point
# and compile warning-free.
check_c() {
	name=$1
	c_file=$2
	if "$clang_format" --style=file --assume-filename="$root/tests/gen/x.bpf.c" \
		< "$c_file" > "$work/formatted" 2> "$work/format.err"; then
		if diff -u "$c_file" "$work/formatted" > "$work/diff"; then
			pass
		else
			fail "$name" "clang-format --style=file changes the output" "$work/diff"
		fi
	else
		fail "$name" "clang-format failed" "$work/format.err"
	fi

	cp "$c_file" "$work/check.bpf.c"
	# shellcheck disable=SC2086 # bpf_cflags is a list of words
	if (cd "$work" && "$clang" $bpf_cflags -c check.bpf.c -o check.bpf.o) \
		> "$work/clang.err" 2>&1; then
		pass
	else
		fail "$name" "clang $bpf_cflags rejects the output" "$work/clang.err"
	fi
}

for va in "$root"/tests/err/*.va; do
	[ -e "$va" ] || continue
	name=tests/err/${va##*/}
	expected=${va%.va}.expected
	run_vbpf2c "${va%/*}" --check "${va##*/}"
	if [ ! -e "$expected" ]; then
		fail "$name" "no ${expected##*/} (write it with tests/regen.sh, then review)" "$work/err"
	elif [ "$status" -ne 1 ]; then
		fail "$name" "exit status $status, expected 1" "$work/err"
	elif [ -s "$work/out" ]; then
		fail "$name" "--check printed on standard output" "$work/out"
	elif diff -u "$expected" "$work/err" > "$work/diff"; then
		pass
	else
		fail "$name" "diagnostics differ from ${expected##*/}" "$work/diff"
	fi
done

for va in "$root"/tests/ok/*.va; do
	[ -e "$va" ] || continue
	name=tests/ok/${va##*/}
	run_vbpf2c "${va%/*}" --check "${va##*/}"
	cat "$work/out" "$work/err" > "$work/both"
	if [ "$status" -ne 0 ]; then
		fail "$name" "exit status $status, expected 0" "$work/both"
	elif [ -s "$work/both" ]; then
		fail "$name" "--check printed something on success" "$work/both"
	else
		pass
	fi
done

for va in "$root"/tests/gen/*.va; do
	[ -e "$va" ] || continue
	name=tests/gen/${va##*/}
	expected=${va%.va}.bpf.c
	run_vbpf2c "${va%/*}" "${va##*/}"
	if [ "$status" -ne 0 ] || [ -s "$work/err" ]; then
		fail "$name" "exit status $status (expected 0 and no diagnostics)" "$work/err"
		continue
	fi
	mv "$work/out" "$work/first"
	if [ ! -e "$expected" ]; then
		fail "$name" "no ${expected##*/} (write it with tests/regen.sh, then review)"
	elif diff -u "$expected" "$work/first" > "$work/diff"; then
		pass
	else
		fail "$name" "output differs from ${expected##*/}" "$work/diff"
	fi

	run_vbpf2c "${va%/*}" "${va##*/}"
	if [ "$status" -eq 0 ] && cmp -s "$work/first" "$work/out"; then
		pass
	else
		diff -u "$work/first" "$work/out" > "$work/diff"
		fail "$name" "a second run gives different output" "$work/diff"
	fi

	check_c "$name" "$work/first"
done

for va in "$root"/examples/*.va; do
	[ -e "$va" ] || continue
	name=examples/${va##*/}
	run_vbpf2c "${va%/*}" --check "${va##*/}"
	cat "$work/out" "$work/err" > "$work/both"
	if [ "$status" -ne 0 ] || [ -s "$work/both" ]; then
		fail "$name" "--check exit status $status (expected 0, silent)" "$work/both"
		continue
	fi
	pass
	run_vbpf2c "${va%/*}" "${va##*/}"
	if [ "$status" -ne 0 ]; then
		fail "$name" "translation exit status $status" "$work/err"
		continue
	fi
	mv "$work/out" "$work/example.bpf.c"
	check_c "$name" "$work/example.bpf.c"
done

if [ $((passed + failed)) -eq 0 ]; then
	echo "FAIL: no golden tests found under tests/err, tests/ok, tests/gen, examples"
	failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
