#!/bin/sh
# tests/review.sh - the generated C a reviewer approves without comments
# (issue 12, docs/emit_c.md). For every program the translator accepts in
# examples/, tests/gen/ and tests/ok/:
#
#   compile    the C compiles as -c compiles it, clang -O2 -g -target bpf, with -Wall -Wextra -Werror
#              -Wdeclaration-after-statement (the kernel builds with it)
#   hex        every hexadecimal literal of the source appears in the C as
#              written (digits and case)
#   comments   every comment of the source appears in the C
#   no-line    `--no-line` output is the default output with its #line
#              directives removed: the C reviewed is the C built
#   uncommented the source without its comments gives the same C, comments
#              aside: comments never change the code
#   sign       clang's -Wsign-conversion warnings, counted per program
#              and printed for examples that have a hand-written twin in
#              bench/twins/: the generated C may not have more
#   insns      for those examples, the BPF instructions of `vbpf2c -c`'s
#              object may not outnumber the twin's (bench/run.sh, part 3,
#              counts them the same way)
#
# Prints one line per failed check with the evidence, then
# "N passed, N failed". Exit status 1 when anything failed.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
vbpf2c=${VBPF2C:-$root/vbpf2c}
clang=${CLANG:-clang}
inc="-I/usr/include/$(uname -m)-linux-gnu"
work=$(mktemp -d "${TMPDIR:-/tmp}/review.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 2' HUP INT TERM

passed=0
failed=0

fail() {
	failed=$((failed + 1))
	echo "FAIL $1: $2"
	if [ $# -ge 3 ] && [ -s "$3" ]; then
		sed 's/^/    /' "$3" | head -20
	fi
}

# The source without strings and character literals, so that a ; or 0x
# inside them is not taken for a comment or a literal.
code_of() {
	sed -e 's/\\./ /g' -e 's/"[^"]*"/""/g' "$1"
}

# The source's comments, one per line, as the C carries them: after the
# leading ;s and one space, trailing blanks removed; empty ones skipped.
# The comment starts at the first ; outside a string and a \x literal;
# its own text is kept whole, quotes included.
comments_of() {
	awk '{
		in_str = 0
		for (i = 1; i <= length($0); i++) {
			c = substr($0, i, 1)
			if (c == "\\") { i++; continue }
			if (c == "\"") { in_str = !in_str; continue }
			if (c == ";" && !in_str) {
				text = substr($0, i)
				sub(/^;*/, "", text); sub(/^ /, "", text); sub(/[[:space:]]*$/, "", text)
				if (text != "") print text
				break
			}
		}
	}' "$1"
}

# Instructions in an object's executable sections, in 8-byte slots.
insn_count() {
	total=0
	for size in $(llvm-readelf -S --wide "$1" | awk '/^ *\[/ { sub(/^.*\] /, ""); if ($7 ~ /X/) print $5 }'); do
		total=$((total + $(printf '%d' "0x$size")))
	done
	echo $((total / 8))
}

# The source without its comments (strings and \; characters kept).
strip_comments() {
	awk '{
		out = ""; in_str = 0
		for (i = 1; i <= length($0); i++) {
			c = substr($0, i, 1)
			if (in_str) {
				out = out c
				if (c == "\\") { i++; out = out substr($0, i, 1) }
				else if (c == "\"") in_str = 0
			} else if (c == "\\") {
				out = out c substr($0, i + 1, 1); i++
			} else if (c == "\"") {
				in_str = 1; out = out c
			} else if (c == ";") {
				break
			} else {
				out = out c
			}
		}
		print out
	}' "$1"
}

# C without its comment lines and trailing comments.
strip_c_comments() {
	awk '/^[\t ]*\/\*$/ { skip = 1; next }
	     skip { if ($0 ~ /^[\t ]*\*\/$/) skip = 0; next }
	     /^[\t ]*\/\*.*\*\/$/ || /^[\t ]*\/\// { next }
	     { sub(/ \/\* [^"]*\*\/$/, ""); sub(/ \/\/ [^"]*$/, ""); print }' "$1"
}

sign_warnings() {
	"$clang" -O2 -target bpf $inc -Wsign-conversion -c "$1" -o /dev/null 2>&1 |
		grep -c 'warning: .*Wsign-conversion' || true
}

for va in "$root"/examples/*.va "$root"/examples/mixed/*.va "$root"/tests/gen/*.va "$root"/tests/ok/*.va; do
	[ -e "$va" ] || continue
	name=${va#"$root"/}
	dir=$(dirname "$va")
	base=$(basename "$va")
	(cd "$dir" && "$vbpf2c" "$base") > "$work/c.bpf.c" 2> "$work/err" || {
		# tests/ok programs need not have an entry the C backend can
		# write (golden.sh checks them with --check only)
		case $name in tests/ok/*) continue ;; esac
		fail "$name" "vbpf2c failed" "$work/err"
		continue
	}
	(cd "$dir" && "$vbpf2c" --no-line "$base") > "$work/noline.bpf.c" 2> "$work/err"

	if "$clang" -O2 -g -target bpf $inc -Wall -Wextra -Werror -Wdeclaration-after-statement \
		-c "$work/c.bpf.c" -o "$work/c.o" 2> "$work/cc.err"; then
		passed=$((passed + 1))
	else
		fail "$name" "the C does not compile warning-free" "$work/cc.err"
	fi

	grep -v '^#line ' "$work/c.bpf.c" > "$work/stripped.bpf.c"
	if diff -u "$work/stripped.bpf.c" "$work/noline.bpf.c" > "$work/diff"; then
		passed=$((passed + 1))
	else
		fail "$name" "--no-line output is not the default output without #line" "$work/diff"
	fi

	mkdir -p "$work/src"
	strip_comments "$va" > "$work/src/$base"
	(cd "$work/src" && "$vbpf2c" --no-line "$base") > "$work/uncommented.bpf.c" 2> "$work/err"
	strip_c_comments "$work/uncommented.bpf.c" > "$work/a.c"
	strip_c_comments "$work/noline.bpf.c" > "$work/b.c"
	if diff -u "$work/b.c" "$work/a.c" > "$work/diff"; then
		passed=$((passed + 1))
	else
		fail "$name" "the C of the source without its comments differs in code" "$work/diff"
	fi

	: > "$work/missing"
	for lit in $(code_of "$va" | sed 's/;.*//' | grep -oE '(^|[^A-Za-z0-9_])0x[0-9A-Fa-f]+' |
		sed 's/^[^0]*//' | sort -u); do
		grep -qE "(^|[^A-Za-z0-9_])$lit([^0-9A-Za-z]|ULL|LL|U|\$)" "$work/c.bpf.c" ||
			echo "$lit" >> "$work/missing"
	done
	if [ -s "$work/missing" ]; then
		fail "$name" "hex literals missing from the C" "$work/missing"
	else
		passed=$((passed + 1))
	fi

	: > "$work/missing"
	comments_of "$va" | while IFS= read -r text; do
		grep -qF -- "$text" "$work/c.bpf.c" || echo "$text" >> "$work/missing"
	done
	if [ -s "$work/missing" ]; then
		fail "$name" "comments missing from the C" "$work/missing"
	else
		passed=$((passed + 1))
	fi

	twin="$root/bench/twins/${base%.va}.bpf.c"
	case $name in
	examples/*)
		if [ -e "$twin" ]; then
			ours=$(sign_warnings "$work/c.bpf.c")
			theirs=$(sign_warnings "$twin")
			if [ "$ours" -le "$theirs" ]; then
				passed=$((passed + 1))
			else
				echo "$ours generated, $theirs in the twin" > "$work/evidence"
				"$clang" -O2 -target bpf $inc -Wsign-conversion -c "$work/c.bpf.c" -o /dev/null \
					2>&1 | grep 'warning:' >> "$work/evidence"
				fail "$name" "more -Wsign-conversion warnings than bench/twins" "$work/evidence"
			fi
			if (cd "$dir" && "$vbpf2c" -c "$base" -o "$work/gen.o") 2> "$work/err" &&
				"$clang" -O2 -g -target bpf $inc -c "$twin" -o "$work/twin.o" 2>> "$work/err"; then
				ours=$(insn_count "$work/gen.o")
				theirs=$(insn_count "$work/twin.o")
				if [ "$ours" -le "$theirs" ]; then
					passed=$((passed + 1))
				else
					echo "$ours generated, $theirs in the twin" > "$work/evidence"
					fail "$name" "more BPF instructions than bench/twins" "$work/evidence"
				fi
			else
				fail "$name" "cannot compile the program or its twin" "$work/err"
			fi
		fi
		;;
	esac
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
