#!/bin/sh
# regen.sh [FILE.va ...] - rewrite the expected files of the golden tests
# from what ./vbpf2c does now:
#
#   tests/err/X.va -> tests/err/X.expected   (stderr of --check; must exit 1)
#   tests/gen/X.va -> tests/gen/X.bpf.c      (the C; must exit 0)
#                     and tests/gen/X.h       (--emit=h; only where it exists)
#   examples/X.va  -> examples/X.bpf.c       (the C; must exit 0)
#
# With no arguments every file in the three directories is redone.
#
# This records the translator's current behaviour, right or wrong. It is
# for reviewing a change: run it, then read `git diff tests/` line by line
# and commit only what you have checked is correct. Never accept the result
# blindly - a golden file that was regenerated without review tests nothing.
#
# vbpf2c runs inside the test's directory with the bare file name, exactly
# as tests/golden.sh runs it.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
vbpf2c=${VBPF2C:-$root/vbpf2c}
trouble=0

if [ $# -eq 0 ]; then
	set -- "$root"/tests/err/*.va "$root"/tests/gen/*.va "$root"/examples/*.va
fi

for va in "$@"; do
	[ -e "$va" ] || continue
	case $va in
	/*) ;;
	*) va=$(pwd)/$va ;;
	esac
	dir=${va%/*}
	base=${va##*/}
	case $dir in
	*/tests/err)
		out=${va%.va}.expected
		(cd "$dir" && "$vbpf2c" --check "$base") > /dev/null 2> "$out.tmp"
		status=$?
		want=1
		;;
	*/tests/gen)
		out=${va%.va}.bpf.c
		(cd "$dir" && "$vbpf2c" "$base") > "$out.tmp"
		status=$?
		want=0
		# the header golden, where there is one
		header=${va%.va}.h
		if [ "$status" -eq 0 ] && [ -e "$header" ]; then
			(cd "$dir" && "$vbpf2c" --emit=h "$base") > "$header.tmp" &&
				! cmp -s "$header" "$header.tmp" && mv "$header.tmp" "$header" &&
				echo "rewrote ${header#"$root"/}"
			rm -f "$header.tmp"
		fi
		;;
	*/examples)
		out=${va%.va}.bpf.c
		(cd "$dir" && "$vbpf2c" "$base") > "$out.tmp"
		status=$?
		want=0
		;;
	*)
		echo "regen.sh: $va is not in tests/err, tests/gen or examples" >&2
		trouble=1
		continue
		;;
	esac
	if [ "$status" -ne "$want" ]; then
		echo "regen.sh: $va: vbpf2c exited $status, expected $want; ${out##*/} left as it was" >&2
		rm -f "$out.tmp"
		trouble=1
		continue
	fi
	if [ -e "$out" ] && cmp -s "$out" "$out.tmp"; then
		rm -f "$out.tmp"
	else
		mv "$out.tmp" "$out"
		echo "rewrote ${out#"$root"/}"
	fi
done

echo "now review: git diff -- tests/ examples/"
exit "$trouble"
