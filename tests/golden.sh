#!/bin/sh
# golden.sh - the golden-file tests (`make golden-test`).
#
# Which checks a file gets depends on the directory it sits in (cproc style):
#
#   tests/err/X.va   `vbpf2c --check X.va` exits 1 and its standard error is
#                    exactly tests/err/X.expected, and standard output is empty;
#                    so does `vbpf2c X.va` (the front end that keeps every
#                    body, where --check keeps one at a time)
#   tests/ok/X.va    `vbpf2c --check X.va` exits 0 and prints nothing at all
#   tests/native/found/X.va (not open-*)  `vbpf2c -c -Wall -Wextra -Werror`
#                    builds it silently, or the checker refuses it (located)
#   tests/gen/X.va   `vbpf2c X.va` exits 0, prints nothing on stderr, and its
#                    output is byte for byte tests/gen/X.bpf.c; a second run
#                    gives the same bytes; `clang-format --style=file` (the
#                    project's .clang-format) leaves it unchanged; and
#                    clang -O2 -g -Wall -Wextra -Werror -target bpf compiles it;
#                    when tests/gen/X.h exists, `vbpf2c --emit=h X.va` is that
#                    header, which compiles as BPF C, as user-space C, as
#                    C++, and as BPF C after the kernel's vmlinux.h
#   examples/X.va    `vbpf2c --check` accepts it silently, its C is byte for
#                    byte examples/X.bpf.c (committed beside it, so a change
#                    to the C an example gives shows in review), and that C
#                    compiles warning-free and is clang-format clean, as for
#                    tests/gen
#   (cli)            the command line: exit statuses, -o/-c outputs written
#                    atomically and only on success, --no-line, --license, --btf,
#                    standard input, clang's errors located in the .va
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

# The header in file $2 must be a clang-format fixed point, and a file that
# includes it must compile as BPF C and as user-space C.
check_header() {
	name=$1
	h_file=$2
	if "$clang_format" --style=file --assume-filename="$root/tests/gen/x.h" < "$h_file" \
		> "$work/formatted" 2> "$work/format.err" &&
	   diff -u "$h_file" "$work/formatted" > "$work/diff"; then
		pass
	else
		cat "$work/format.err" >> "$work/diff"
		fail "$name" "clang-format --style=file changes ${h_file##*/}" "$work/diff"
	fi
	cp "$h_file" "$work/shared.h"
	printf '#include "shared.h"\n' > "$work/uses_header.c"
	# shellcheck disable=SC2086 # bpf_cflags is a list of words
	if (cd "$work" && "$clang" $bpf_cflags -fsyntax-only uses_header.c) > "$work/clang.err" 2>&1; then
		pass
	else
		fail "$name" "${h_file##*/} does not compile as BPF C" "$work/clang.err"
	fi
	if (cd "$work" && ${CC:-cc} -std=c11 -Wall -Wextra -Werror -fsyntax-only uses_header.c) \
		> "$work/cc.err" 2>&1; then
		pass
	else
		fail "$name" "${h_file##*/} does not compile as user-space C" "$work/cc.err"
	fi
	# from C++ (a user-space loader written in C++)
	printf '#include "shared.h"\n' > "$work/uses_header.cpp"
	if (cd "$work" && ${CXX:-c++} -std=c++11 -Wall -Wextra -Werror -fsyntax-only uses_header.cpp) \
		> "$work/cxx.err" 2>&1; then
		pass
	else
		fail "$name" "${h_file##*/} does not compile as C++" "$work/cxx.err"
	fi
	# beside the running kernel's vmlinux.h, as CO-RE programs include it
	if [ -n "$vmlinux_h" ]; then
		cp "$vmlinux_h" "$work/vmlinux.h"
		printf '#include "vmlinux.h"\n#include "shared.h"\n' > "$work/uses_vmlinux.c"
		# shellcheck disable=SC2086 # bpf_cflags is a list of words
		if (cd "$work" && "$clang" $bpf_cflags -fsyntax-only uses_vmlinux.c) > "$work/clang.err" 2>&1; then
			pass
		else
			fail "$name" "${h_file##*/} does not compile after vmlinux.h" "$work/clang.err"
		fi
	fi
}

# vmlinux.h of the running kernel, for check_header; without BTF or
# bpftool that check is left out, and a line says so.
vmlinux_h=
if [ -r /sys/kernel/btf/vmlinux ] && command -v "${BPFTOOL:-bpftool}" > /dev/null 2>&1 &&
	"${BPFTOOL:-bpftool}" btf dump file /sys/kernel/btf/vmlinux format c > "$work/kernel_vmlinux.h" 2> /dev/null; then
	vmlinux_h=$work/kernel_vmlinux.h
else
	echo "note: no vmlinux.h (bpftool or /sys/kernel/btf/vmlinux missing): headers not checked beside it"
fi

# same_as_golden NAME EXPECTED ACTUAL: the C vbpf2c wrote is byte for byte
# the committed golden file.
same_as_golden() {
	if [ ! -e "$2" ]; then
		fail "$1" "no ${2##*/} (write it with tests/regen.sh, then review)"
	elif diff -u "$2" "$3" > "$work/diff"; then
		pass
	else
		fail "$1" "output differs from ${2##*/}" "$work/diff"
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
		continue
	fi
	# --check holds one body at a time (frontend_check); translating
	# holds the whole program (frontend_run): both must say the same.
	run_vbpf2c "${va%/*}" "${va##*/}"
	if [ "$status" -ne 1 ] || [ -s "$work/out" ]; then
		fail "$name (translated)" "exit status $status, or output written" "$work/err"
	elif diff -u "$expected" "$work/err" > "$work/diff"; then
		pass
	else
		fail "$name (translated)" "diagnostics differ from ${expected##*/}" "$work/diff"
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
	same_as_golden "$name" "$expected" "$work/first"

	run_vbpf2c "${va%/*}" "${va##*/}"
	if [ "$status" -eq 0 ] && cmp -s "$work/first" "$work/out"; then
		pass
	else
		diff -u "$work/first" "$work/out" > "$work/diff"
		fail "$name" "a second run gives different output" "$work/diff"
	fi

	check_c "$name" "$work/first"

	# X.h beside it: `vbpf2c --emit=h X.va` byte for byte, a clang-format
	# fixed point, and it compiles in BPF C and in user-space C
	header=${va%.va}.h
	[ -e "$header" ] || continue
	run_vbpf2c "${va%/*}" --emit=h "${va##*/}"
	if [ "$status" -ne 0 ] || [ -s "$work/err" ]; then
		fail "$name" "--emit=h exit status $status (expected 0 and no diagnostics)" "$work/err"
		continue
	elif diff -u "$header" "$work/out" > "$work/diff"; then
		pass
	else
		fail "$name" "--emit=h differs from ${header##*/}" "$work/diff"
	fi
	check_header "$name" "$header"
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
	same_as_golden "$name" "${va%.va}.bpf.c" "$work/example.bpf.c"
	check_c "$name" "$work/example.bpf.c"
done

# ---- the command line itself (translator/commands/main.c) ---------------------------
# Small programs written here, run in a scratch directory of their own so
# "nothing else was written" can be checked by listing it.
cli=$work/cli
mkdir -p "$cli"
printf '(program :xdp)\n(defn pass [ctx :XdpMd] :u32\n  (. ctx :rx_queue_index))\n' > "$work/ok.va"
printf '(program :xdp)\n(defn pass [ctx :XdpMd] :u32\n  missing)\n' > "$work/bad.va"

# cli_case NAME EXPECTED-STATUS ARGS...: fresh scratch directory holding
# ok.va and bad.va, vbpf2c run there; leaves $status, out, err.
cli_case() {
	cli_name="cli: $1"
	cli_want=$2
	shift 2
	rm -rf "$cli" && mkdir "$cli" && cp "$work/ok.va" "$work/bad.va" "$cli/"
	run_vbpf2c "$cli" "$@"
	if [ "$status" -ne "$cli_want" ]; then
		fail "$cli_name" "exit status $status, expected $cli_want" "$work/err"
		return 1
	fi
	return 0
}

# cli_expect NAME CONDITION-DESCRIPTION COMMAND...: pass when COMMAND succeeds.
cli_expect() {
	cli_what=$1
	shift
	if "$@"; then
		pass
	else
		fail "$cli_name" "$cli_what" "$work/err"
	fi
}

# Only these files may be in the scratch directory.
only_files() {
	[ "$(cd "$cli" && LC_ALL=C ls -A | tr '\n' ' ')" = "$* " ]
}

if cli_case "--version" 0 --version; then
	cli_expect "prints 'vbpf2c VERSION'" grep -q '^vbpf2c [0-9][0-9.]*$' "$work/out"
fi
if cli_case "--help" 0 --help; then
	for option in -o -c --check --license= --btf= --no-line --backend= --clang= -I -D \
		--version --help "Exit status"; do
		cli_expect "--help does not mention $option" grep -q -e "$option" "$work/out"
	done
fi
cli_case "no input" 2 && cli_expect "says so on stderr" grep -q 'no input file' "$work/err"
cli_case "unknown option" 2 --frobnicate ok.va &&
	cli_expect "names the option" grep -q -e "--frobnicate" "$work/err"
cli_case "native backend" 0 --backend=native -c ok.va &&
	cli_expect "writes ok.bpf.o, a BPF ELF object" \
		sh -c "head -c 4 '$cli/ok.bpf.o' | grep -q ELF && rm '$cli/ok.bpf.o'"
cli_case "C on stdout" 0 ok.va &&
	cli_expect "has SEC, #line into ok.va and the GPL license" \
		sh -c "grep -q '^SEC(\"xdp\")' '$work/out' && grep -q '^#line 2 \"ok.va\"' '$work/out' &&
			grep -q 'SEC(\"license\") = \"GPL\";' '$work/out'"
cp "$work/out" "$work/stdout.c"
cli_case "-o FILE" 0 -o out.c ok.va &&
	cli_expect "writes what stdout gets, and nothing else" \
		sh -c "cmp -s '$cli/out.c' '$work/stdout.c' && [ ! -s '$work/out' ]" &&
	cli_expect "leaves no temporary file" only_files bad.va ok.va out.c
cli_case "--no-line" 0 --no-line ok.va &&
	cli_expect "has the function and no #line" \
		sh -c "grep -q '^int pass(' '$work/out' && ! grep -q '#line' '$work/out'"
cli_case "--license" 0 --license=MIT ok.va &&
	cli_expect "sets the license string" grep -q 'SEC("license") = "MIT";' "$work/out"
# --btf: kernel types from the file named, never from another place
printf '(program :tp_btf "sched_process_exec")\n(defn f [t :k/task_struct] :i32\n  (. t :tgid))\n' \
	> "$work/kernel.va"
if cli_case "--btf FILE that is missing" 1 --btf=missing.btf "$work/kernel.va"; then
	cli_expect "says it cannot read missing.btf, at the type, once" \
		sh -c "[ \$(grep -c \"error: cannot read the kernel's BTF from missing.btf\" '$work/err') -eq 1 ] &&
			grep -q 'kernel.va:2:12: error:' '$work/err' && [ ! -s '$work/out' ]"
fi
if [ -r /sys/kernel/btf/vmlinux ] && cli_case "--btf /sys/kernel/btf/vmlinux" 0 --btf /sys/kernel/btf/vmlinux "$work/kernel.va"; then
	cp "$work/out" "$work/btf-explicit.c"
	cli_case "kernel types, default BTF" 0 "$work/kernel.va" &&
		cli_expect "the same C as with --btf naming the default" cmp -s "$work/out" "$work/btf-explicit.c"
fi
cli_case "standard input" 0 - < "$work/ok.va" &&
	cli_expect "translates it as <stdin>" grep -q '#line 2 "<stdin>"' "$work/out"
if cli_case "rejected input" 1 -o out.c bad.va; then
	cli_expect "writes nothing and reports the line" \
		sh -c "[ ! -s '$work/out' ] && grep -q '^bad.va:3:3: error:' '$work/err'"
	cli_expect "creates no output file" only_files bad.va ok.va
fi
rm -rf "$cli" && mkdir "$cli" && cp "$work/ok.va" "$work/bad.va" "$cli/" &&
	echo keep > "$cli/out.c"
run_vbpf2c "$cli" -o out.c bad.va
cli_name="cli: rejected input, existing -o file"
cli_expect "leaves the existing file as it was" \
	sh -c "[ $status -eq 1 ] && [ \"\$(cat '$cli/out.c')\" = keep ]"
if cli_case "-c" 0 -c ok.va; then
	cli_expect "writes ok.bpf.o, an ELF object, and nothing else" \
		sh -c "[ \"\$(head -c 4 '$cli/ok.bpf.o' | od -An -c | tr -d ' ')\" = '177ELF' ]"
	cli_expect "leaves no temporary file" only_files bad.va ok.bpf.o ok.va
fi
# No clang named and none on PATH: -c falls back to the native backend.
rm -rf "$cli" && mkdir "$cli" && cp "$work/ok.va" "$cli/"
(cd "$cli" && env -u CLANG PATH=/nonexistent "$vbpf2c" -c ok.va) > "$work/out" 2> "$work/err"
status=$?
cli_name="cli: -c without clang"
cli_expect "falls back to the native backend with a warning" \
	sh -c "[ $status -eq 0 ] && grep -q 'warning: clang not found' '$work/err' &&
		head -c 4 '$cli/ok.bpf.o' | grep -q ELF"
cli_case "-c, clang missing" 2 -c --clang=/nonexistent/clang ok.va &&
	cli_expect "says so and writes nothing" \
		sh -c "grep -q '/nonexistent/clang' '$work/err'" &&
	cli_expect "leaves no file behind" only_files bad.va ok.va
# The macro breaks the function's name, so clang errs on a line that came
# from ok.va's line 2.
cli_case "-c, clang's errors" 2 -c -Dpass=1 ok.va &&
	cli_expect "are located in ok.va" grep -q '^ok.va:2:[0-9]*: error: ' "$work/err" &&
	cli_expect "leave no file behind" only_files bad.va ok.va

# Every program make fuzz-diff found and the fix of which it records
# (tests/native/found/, not the open-*.va) stays fixed where it failed
# first: `vbpf2c -c -Wall -Wextra -Werror` builds it without a word, or
# the checker refuses it with a located error (what some of them became).
# Loading and running them is the oracle's job (tests/native/diffone.sh).
for va in "$root"/tests/native/found/*.va; do
	case ${va##*/} in open-*) continue ;; esac
	name=tests/native/found/${va##*/}
	run_vbpf2c "$work" -c -Wall -Wextra -Werror "$va" -o "$work/found.o"
	if [ "$status" -eq 0 ] && [ ! -s "$work/err" ]; then
		pass
	elif [ "$status" -eq 1 ] && grep -q "^$va:[0-9]*:[0-9]*: error: " "$work/err" &&
		! grep -q 'warning:' "$work/err"; then
		pass
	else
		fail "$name" "exit status $status, or words from clang" "$work/err"
	fi
done

if [ $((passed + failed)) -eq 0 ]; then
	echo "FAIL: no golden tests found under tests/err, tests/ok, tests/gen, examples"
	failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
