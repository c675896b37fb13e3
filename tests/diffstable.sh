#!/bin/sh
# tests/diffstable.sh - the generated C is diff-stable: people review it in
# pull requests, so a small edit to the .va must change only the C that the
# edited source produced. No renumbered temporaries, no reordering.
#
# Two kinds of edit, listed as data below:
#   line FILE N SED    rewrite source line N with the sed expression SED;
#                      every C line that changes (before or after) must be
#                      one that #line maps to source line N.
#   insert FILE N TEXT insert TEXT as a new line after source line N; with
#                      --no-line, the C diff must consist of added lines only
#                      (a new comment line adds its comment and nothing else).
#
# Prints one line per failed edit with the diff, then "N passed, N failed".
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
vbpf2c=${VBPF2C:-$top/vbpf2c}
work=$(mktemp -d "${TMPDIR:-/tmp}/vbpf2c-diffstable.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
passed=0
failed=0

# Each C line prefixed with the source line #line maps it to (0: none).
annotate() {
	awk '/^#line / { next_line = $2; print "-\t" $0; next }
	     { if (next_line) { cur = next_line; next_line = 0 } else if (cur) cur++
	       print cur "\t" $0 }' "$1"
}

fail() {
	echo "FAIL: $1"
	sed 's/^/    /' "$2"
	failed=$((failed + 1))
}

check_line_edit() {
	src=$1 n=$2 expr=$3
	name="$(basename "$src") line $n: $expr"
	cp "$top/$src" "$work/before.va"
	sed "${n}${expr}" "$work/before.va" > "$work/after.va"
	if cmp -s "$work/before.va" "$work/after.va"; then
		echo "FAIL: $name: the edit changes nothing (fix the table)"
		failed=$((failed + 1))
		return
	fi
	(cd "$work" && "$vbpf2c" before.va > before.c &&
		"$vbpf2c" after.va > after.raw &&
		sed 's/"after\.va"/"before.va"/; s/from after\.va/from before.va/' after.raw > after.c) || {
		echo "FAIL: $name: vbpf2c rejected the program"
		failed=$((failed + 1))
		return
	}
	annotate "$work/before.c" > "$work/before.ann"
	annotate "$work/after.c" > "$work/after.ann"
	diff "$work/before.ann" "$work/after.ann" > "$work/diff"
	if [ ! -s "$work/diff" ]; then
		echo "FAIL: $name: the C did not change"
		failed=$((failed + 1))
	elif grep '^[<>]' "$work/diff" | grep -qv "^[<>] $n	"; then
		fail "$name: C produced by other source lines changed" "$work/diff"
	else
		passed=$((passed + 1))
	fi
}

check_insert() {
	src=$1 n=$2 text=$3
	name="$(basename "$src") insert after line $n: $text"
	cp "$top/$src" "$work/before.va"
	awk -v n="$n" -v text="$text" '{ print } NR == n { print text }' "$work/before.va" > "$work/after.va"
	(cd "$work" && "$vbpf2c" --no-line before.va > before.c &&
		"$vbpf2c" --no-line after.va > after.raw &&
		sed 's/from after\.va/from before.va/' after.raw > after.c) || {
		echo "FAIL: $name: vbpf2c rejected the program"
		failed=$((failed + 1))
		return
	}
	diff "$work/before.c" "$work/after.c" > "$work/diff"
	if [ ! -s "$work/diff" ]; then
		echo "FAIL: $name: the C did not change"
		failed=$((failed + 1))
	elif grep -q '^<' "$work/diff"; then
		fail "$name: existing C lines changed" "$work/diff"
	else
		passed=$((passed + 1))
	fi
}

while IFS='|' read -r kind src n arg; do
	case $kind in
	line) check_line_edit "$src" "$n" "$arg" ;;
	insert) check_insert "$src" "$n" "$arg" ;;
	esac
done <<'EDITS'
line|examples/xdp_packet_counter.va|12|s/ 1))/ 2))/
line|tests/gen/control.va|21|s/\[6 1\]/[6 7]/
line|tests/gen/control.va|21|s/\[6 1\]/[9 1]/
line|tests/gen/control.va|50|s/(\* q 2)/(* q 3)/
line|tests/gen/control.va|59|s/(> level 10)/(>= level 12)/
line|examples/tc_port_blocklist.va|25|s/0x0800/0x86DD/
insert|tests/gen/control.va|54|        (bump hits q)
insert|tests/gen/control.va|12|(defn twice [n :u32] :u32 (* n 2))
insert|tests/gen/control.va|55|        (set! total (+ total 1))
insert|examples/tc_port_blocklist.va|24|      ; a comment adds a comment line and nothing else
insert|examples/xdp_proto_counter.va|13|  ; above the let: also above its declarations
EDITS

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
