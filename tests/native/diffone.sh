#!/bin/sh
# diffone.sh - one program through the oracle of tests/native_diff.sh.
#
#   diffone.sh PROG.va PROG.cases WORKDIR
#
# Prints one line: "pass", "skip: WHY" (the native backend says, at a
# source line, that it does not support something the program uses, and
# the clang object of the same program loads, runs its cases and is
# warning-free: what is skipped is only the comparison) or
# "CLASS: SIGNATURE", where CLASS is the first check that failed:
#
#   check           `vbpf2c --check` rejects the program (a generator bug)
#   clang-compile   the translator refused to write the C or clang refused
#                   it; or, checked last, once all the rest passed, clang
#                   -Wall -Wextra warned about it
#   native-compile  the native backend wrote no object without saying, at
#                   a source line, what it does not support
#   clang-load      the verifier refuses the clang object (native loads)
#   native-load     the verifier refuses the native object (clang loads)
#   both-load       the verifier refuses both
#   clang-run       the native backend declined (a skip), and a case of the
#                   clang object failed: a trigger that cannot attach or
#                   whose command fails, a run that errs
#   disagree        both load, but after some run the return value, the
#                   packet, a map entry or a global differs
#
# SIGNATURE is the first error message with the numbers and names that
# change from program to program taken out, so that one bug gives one
# signature (the driver groups by it; the reducer keeps a candidate only
# while it fails with the same one). Every run is pinned to CPU 0, so that
# both objects write the same slot of per-CPU maps. WORKDIR keeps the
# objects, outputs and diagnostics. Exit status 0 pass, 1 failure, 2 skip.
set -u
src=$1 cases=$2 dir=$3
VBPF2C=${VBPF2C:-./vbpf2c}
# Every step has a time limit: a translator that loops is a failure too
# (signature "timeout").
LIMIT=${DIFFONE_SECONDS:-60}
# The objects have one file name in two directories: libbpf names the
# .bss/.data/.rodata maps after the object's file.
mkdir -p "$dir/clang" "$dir/native"

# The first error message, made comparable: file names, line numbers,
# registers, instruction numbers, offsets and quoted C names go.
signature() {
	grep -m1 -E 'error:|warning:|!read_ok|invalid|unreachable|R[0-9]' "$1" |
		sed -e 's/^.*error: //' -e 's/^.*warning: //' -e "s/'[^']*'/'_'/g" -e 's/`[^`]*`/`_`/g' \
		    -e 's|[^ ]*/[^ ]*\.[a-z]*|FILE|g' \
		    -e 's/0x[0-9a-f]*/0xN/g' -e 's/R[0-9][0-9]*/R/g' -e 's/[0-9][0-9]*/N/g' -e 's/  */ /g' | cut -c1-100
}

fail() {
	echo "$1: $2"
	exit 1
}

limited() {
	timeout "$LIMIT" "$@"
	status=$?
	[ $status -eq 124 ] && echo "error: timeout after ${LIMIT}s" >&2
	return $status
}

limited "$VBPF2C" --check "$src" 2>"$dir/check.err" >/dev/null ||
	fail check "$(signature "$dir/check.err")"
# Warnings are looked at last: a program whose C draws a warning still
# has its objects loaded and compared, so that the C backend's warnings
# do not hide the native backend's failures.
limited "$VBPF2C" -c --backend=clang -Wall -Wextra "$src" -o "$dir/clang/prog.o" 2>"$dir/clang.err" ||
	fail clang-compile "$(signature "$dir/clang.err")"
if ! limited "$VBPF2C" -c --backend=native "$src" -o "$dir/native/prog.o" 2>"$dir/native.err" ||
   [ ! -s "$dir/native/prog.o" ]; then
	why=$(signature "$dir/native.err")
	# a located error naming what it does not support is its contract
	# (issue 11), not a failure: nothing to compare, but the clang
	# object must still load and its C be warning-free
	# (translator/native/native_lower.c, native_elf.c: "native backend does not
	# support X yet", "X are not supported by the native backend")
	grep -qE '^[^:]*:[0-9]+:[0-9]+: error: (native backend does not support|.* not supported by the native backend)' "$dir/native.err" ||
		fail native-compile "${why:-no message, no object}"
	native_skip="skip: $why"
fi

run() {
	limited taskset -c 0 "$VBPF2C" test --dump "$dir/$1/prog.o" "$cases" >"$dir/$1.out" 2>"$dir/$1.run.err"
	if grep -q '^FAIL load' "$dir/$1.out"; then
		# a map the kernel would not create says more than libbpf's
		# "cannot load BPF object" that comes first
		if grep -q "^libbpf: map '.*': failed to create" "$dir/$1.run.err"; then
			grep -m1 "^libbpf: map '.*': failed to create" "$dir/$1.run.err" |
				sed -e 's/^libbpf: //' -e "s/'[^']*'/'_'/g" -e 's/[0-9][0-9]*/N/g' >"$dir/$1.why"
		else
			signature "$dir/$1.run.err" >"$dir/$1.why"
		fi
		[ -s "$dir/$1.why" ] || echo "refused" >"$dir/$1.why"
		return 1
	fi
	return 0
}
run clang
clang_loads=$?
if [ -n "${native_skip:-}" ]; then
	[ $clang_loads -eq 0 ] || fail clang-load "$(cat "$dir/clang.why")"
	# nothing to compare it with: its own cases must pass (a trigger
	# attaches and its command runs; "return any" takes any value). A
	# test run the kernel refuses (EINVAL for a frame too short for the
	# program kind) is a result, as it is when two objects are compared.
	grep '^FAIL' "$dir/clang.out" | grep -v 'BPF_PROG_TEST_RUN failed' >"$dir/clang.failed"
	if [ -s "$dir/clang.failed" ]; then
		fail clang-run "$(head -1 "$dir/clang.failed" | sed -e 's/^FAIL [^ :]*:* *//' \
			-e "s/'[^']*'/'_'/g" -e 's|[^ ]*/[^ ]*\.[a-z]*|FILE|g' -e 's/[0-9][0-9]*/N/g' | cut -c1-100)"
	fi
	if grep -q 'warning:' "$dir/clang.err"; then
		grep 'warning:' "$dir/clang.err" >"$dir/clang.warnings"
		fail clang-compile "$(signature "$dir/clang.warnings")"
	fi
	echo "$native_skip"
	exit 2
fi
run native
native_loads=$?
if [ $clang_loads -ne 0 ] && [ $native_loads -ne 0 ]; then
	fail both-load "$(cat "$dir/clang.why")"
elif [ $clang_loads -ne 0 ]; then
	fail clang-load "$(cat "$dir/clang.why")"
elif [ $native_loads -ne 0 ]; then
	fail native-load "$(cat "$dir/native.why")"
fi

# The state after each run, in an order that does not depend on the
# compiler: a hash map's entries come in the kernel's hash order and a
# section's variables in each compiler's layout order, so every entry
# becomes "run: map: entry" and the lines of one run are sorted. The
# "PASS/FAIL case" and the last summary lines say nothing more. printk's
# formats are no state: bpf_printk keeps them in .rodata (NAME.____fmt),
# the native backend builds them on the stack (native_lower.c); so a
# section's zero variables go too, which the dump leaves out when the
# whole section is zero ("(all 1 entries zero)", also dropped).
state() {
	awk '
	/^run / { run++; sub(/:.*/, ""); block = $0; next }
	/^(returned|run failed)/ { printf "%05d %s result: %s\n", run, block, $0; next }
	/^packet after/ { what = "packet"; printf "%05d %s packet: %s\n", run, block, $0; next }
	/^  / && what == "packet" { printf "%05d %s packet:%s\n", run, block, $0; next }
	/^[^ ]/ { what = "map"; map = $1 }
	/^  / {
		line = substr($0, 3)
		if (match(line, /^SEC\("[^"]*"\) /)) {
			line = substr(line, RLENGTH + 1)
			n = split(line, vars, ";")
			for (i = 1; i <= n; i++)
				if (vars[i] != "" && vars[i] !~ /\.____fmt(\.[0-9]+)? = / && vars[i] !~ / = (0|false)$/)
					printf "%05d %s %s:%s\n", run, block, map, vars[i]
			next
		}
		if (map ~ /\.(rodata|data|bss)$/ && line ~ /^\(all [0-9]+ entries zero\)$/)
			next
		printf "%05d %s %s: %s\n", run, block, map, line
	}' "$1" | LC_ALL=C sort
}
state "$dir/clang.out" >"$dir/clang.state"
state "$dir/native.out" >"$dir/native.state"
if ! cmp -s "$dir/clang.state" "$dir/native.state"; then
	diff "$dir/clang.state" "$dir/native.state" >"$dir/state.diff"
	# what differs first: the result, the packet, or which map
	first=$(grep -m1 '^[<>]' "$dir/state.diff" | awk '{ print $5 }' | sed 's/:$//')
	fail disagree "${first:-state} differs"
fi
if grep -q 'warning:' "$dir/clang.err"; then
	grep 'warning:' "$dir/clang.err" >"$dir/clang.warnings"
	fail clang-compile "$(signature "$dir/clang.warnings")"
fi
echo pass
