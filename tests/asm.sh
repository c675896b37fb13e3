#!/bin/sh
# tests/asm.sh - `vbpf2c --emit=asm` against llvm-objdump, and the output of
# `vbpf2c --compare` against numbers taken from other tools.
#
#   opcodes        an object assembled by llvm-mc from every opcode byte with
#                  seeded random fields (registers past r11, odd offsets and
#                  immediates, labels): `vbpf2c --emit=asm OBJ` prints what
#                  `llvm-objdump -d -r --no-show-raw-insn OBJ` prints
#   X clang/native for every examples/*.va and tests/gen/*.va, the object of
#                  `vbpf2c -c --backend=B`: the same comparison; and, for
#                  the examples, `vbpf2c --emit=asm --backend=B X.va` prints
#                  exactly what `vbpf2c --emit=asm` prints for that object
#   X compare      `vbpf2c --compare X.va`: one row per function of either
#                  object, counts equal to the symbol sizes readelf lists,
#                  ratios and totals computed here; with bpf(), the
#                  verifier columns equal the "processed N insns" bpftool's
#                  own load logs (bpftool -d prog loadall); without, the
#                  columns are absent and a line says why
#   cli            option errors, -o, an object that is not BPF
#
# The one normalisation: where llvm-objdump 14 prints `<unknown>` for an
# instruction it does not know, vbpf2c may print BPF_MOD (`r1 %= r2`) or
# BPF_ST (`*(u32 *)(r10 - 4) = 7`) in later llvm's syntax (docs/native.md).
#
# Prints one line per failed check with the evidence, then
# "N passed, N failed, N skipped". Exit status 1 when anything failed.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
vbpf2c=${VBPF2C:-$root/vbpf2c}
objdump=${LLVM_OBJDUMP:-llvm-objdump-14}
llvm_mc=${LLVM_MC:-llvm-mc-14}
bpftool=${BPFTOOL:-bpftool}
seed=${ASM_SEED:-1}

work=$(mktemp -d "${TMPDIR:-/tmp}/vbpf2c-asm.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 2' HUP INT TERM

passed=0 failed=0 skipped=0

pass() {
	passed=$((passed + 1))
}

# fail NAME WHAT [FILE]: one line, then the evidence indented.
fail() {
	failed=$((failed + 1))
	echo "FAIL $1: $2"
	if [ $# -ge 3 ] && [ -s "$3" ]; then
		head -20 "$3" | sed 's/^/    /'
	fi
}

skip() {
	skipped=$((skipped + 1))
	echo "SKIP $1: $2"
}

# same_disasm WANT GOT: line by line, equal but for the normalisation above;
# the first differences go to $work/why.
same_disasm() {
	awk -v got="$2" '
	function ext(line) {
		return line ~ /^ *[0-9]+:\t[rw][0-9]+ %= ([rw][0-9]+|-?[0-9]+)$/ ||
		       line ~ /^ *[0-9]+:\t\*\(u(8|16|32|64) \*\)\(r[0-9]+ [-+] [0-9]+\) = -?[0-9]+$/
	}
	{
		if ((getline g < got) <= 0) {
			print "line " NR ": vbpf2c stops; llvm-objdump: " $0
			bad = 1
			exit
		}
		if ($0 == g)
			next
		split($0, w, "\t")
		split(g, v, "\t")
		if ($0 ~ /^ *[0-9]+:\t<unknown>$/ && w[1] == v[1] && ext(g))
			next
		print "line " NR ":"
		print "  llvm-objdump: " $0
		print "  vbpf2c:       " g
		if (++bad >= 5)
			exit
	}
	END {
		if (!bad && (getline g < got) > 0) {
			print "vbpf2c prints more: " g
			bad = 1
		}
		exit bad ? 1 : 0
	}' "$1" > "$work/why"
}

# check_disasm NAME DIR OBJECT: vbpf2c and llvm-objdump on DIR/OBJECT.
check_disasm() {
	name=$1 dir=$2 object=$3
	if ! (cd "$dir" && "$objdump" -d -r --no-show-raw-insn "$object") > "$work/want" 2> "$work/err"; then
		fail "$name" "llvm-objdump failed" "$work/err"
		return
	fi
	if ! (cd "$dir" && "$vbpf2c" --emit=asm "$object") > "$work/got" 2> "$work/err"; then
		fail "$name" "vbpf2c --emit=asm failed" "$work/err"
		return
	fi
	if same_disasm "$work/want" "$work/got"; then
		pass
	else
		fail "$name" "vbpf2c --emit=asm differs from llvm-objdump" "$work/why"
	fi
}

# ---- opcodes ---------------------------------------------------------------

# Every opcode byte with 40 random field sets, as .long pairs (awk's numbers
# are doubles: 64-bit words would lose bits). Labels now and then, two at
# one address, a second section. Left out: 0x18 with src 2 and every other
# field 0, the encoding of llvm's `lea` pseudo, which crashes llvm-objdump 14.
awk -v seed="$seed" 'BEGIN {
	srand(seed)
	split("0 1 5 10 11 12 15", regs, " ")
	split("0 0 0 1 -1 -32768 32767", offs, " ")
	split("0 1 -1 8 11 12 16 32 64 0x40 0x41 0x50 0x51 0xa0 0xa1 0xe0 0xe1 0xf0 0xf1 2147483647 -2147483648", imms, " ")
	print "\t.text\n\t.globl f\n\t.type f,@function\nf:"
	for (code = 0; code < 256; code++) {
		if (code == 128)
			print "\t.section other,\"ax\",@progbits\nb:\na:"
		for (k = 0; k < 40; k++) {
			dst = rand() < 0.3 ? int(rand() * 16) : regs[1 + int(rand() * 7)]
			src = rand() < 0.3 ? int(rand() * 16) : regs[1 + int(rand() * 7)]
			off = rand() < 0.3 ? int(rand() * 65536) - 32768 : offs[1 + int(rand() * 7)]
			imm = rand() < 0.3 ? int(rand() * 4294967296) - 2147483648 : imms[1 + int(rand() * 21)]
			if (imm ~ /^0x/)
				imm = (index("0123456789abcdef", substr(imm, 3, 1)) - 1) * 16 + \
				      index("0123456789abcdef", substr(imm, 4, 1)) - 1
			if (code == 24 && src == 2 && dst == 0 && off == 0 && imm == 0)
				imm = 1
			if (off < 0)
				off += 65536
			if (imm < 0)
				imm += 4294967296
			printf "\t.long %.0f\n\t.long %.0f\n", code + dst * 256 + src * 4096 + off * 65536, imm
			if (rand() < 0.05)
				printf "l%d_%d:\n", code, k
		}
	}
	print "\t.quad 0x18"
}' > "$work/opcodes.s"
if ! "$llvm_mc" -triple=bpfel -filetype=obj "$work/opcodes.s" -o "$work/opcodes.o" 2> "$work/err"; then
	fail opcodes "llvm-mc cannot assemble the test object" "$work/err"
else
	check_disasm opcodes "$work" opcodes.o
fi

# ---- every example and golden program, both backends -------------------------

programs=$(ls "$root"/examples/*.va "$root"/tests/gen/*.va)
for src in $programs; do
	stem=$(basename "$src" .va)
	rel=${src#"$root"/}
	for backend in clang native; do
		name="$rel $backend"
		dir="$work/$backend"
		mkdir -p "$dir"
		if ! (cd "$dir" && "$vbpf2c" -c --backend="$backend" "$src" -o "$stem.bpf.o") 2> "$work/err"; then
			# a construct the native backend refuses by design
			# (kernel types: docs/kernel_types.md) is no failure
			why=$(grep -o '[^:]* are not supported by the native backend' "$work/err" | head -1)
			if [ "$backend" = native ] && [ -n "$why" ]; then
				skip "$name" "${why# }"
				continue
			fi
			fail "$name" "vbpf2c -c failed" "$work/err"
			continue
		fi
		check_disasm "$name" "$dir" "$stem.bpf.o"
		# The same path for every source: the examples suffice.
		case $rel in examples/*) ;; *) continue ;; esac
		(cd "$dir" && "$vbpf2c" --emit=asm "$stem.bpf.o") > "$work/from-object" 2>&1
		if ! (cd "$dir" && "$vbpf2c" --emit=asm --backend="$backend" "$src") \
			> "$work/from-source" 2> "$work/err"; then
			fail "$name" "vbpf2c --emit=asm on the source failed" "$work/err"
		elif cmp -s "$work/from-object" "$work/from-source"; then
			pass
		else
			diff "$work/from-object" "$work/from-source" > "$work/diff"
			fail "$name" "--emit=asm on the source differs from --emit=asm on its -c object" "$work/diff"
		fi
	done
done

# ---- --compare ------------------------------------------------------------------

# bpftool [-d] OBJECT: `bpftool prog loadall` in a mount namespace of its
# own with a fresh bpffs, so the programs' pins (and libbpf's pins of
# `:pinned` maps) vanish with it.
bpftool_load() {
	unshare -m sh -c 'mount -t bpf bpf /sys/fs/bpf &&
		"$1" $2 prog loadall "$3" /sys/fs/bpf/p' sh "$bpftool" "$@"
}

# Can this process load programs? bpftool decides, not vbpf2c.
verifier=false
bpftool_load "" "$work/clang/xdp_packet_counter.bpf.o" > /dev/null 2>&1 && verifier=true

# processed OBJECT: the verifier's "processed N insns" of each program of
# OBJECT (a file of defprogs has several), from bpftool's load log, as
# "NAME=N ..."; "rejected" when it does not load.
processed() {
	if bpftool_load -d "$1" > "$work/bpftool" 2>&1; then
		sed -n -e "s/^libbpf: prog '\([^']*\)': -- BEGIN PROG LOAD LOG --.*/prog \1/p" \
			-e 's/^processed \([0-9]*\) insns.*/insns \1/p' "$work/bpftool" |
			awk '$1 == "prog" { name = $2 }
			     $1 == "insns" { count[name] = $2; if (!(name in seen)) order[++n] = name; seen[name] = 1 }
			     END { for (i = 1; i <= n; i++) printf "%s%s=%s", (i > 1 ? " " : ""), order[i], count[order[i]] }'
	else
		echo rejected
	fi
}

# expected_compare SRC STEM: what --compare must print for SRC, from the
# two -c objects of the loop above: the first line, then one row per
# function of either object, sorted, with its sizes from readelf and
# bpftool's verifier counts, then the total row.
expected_compare() {
	src=$1 stem=$2
	vc=- vn=-
	if $verifier; then
		vc=$(processed "$work/clang/$stem.bpf.o")
		vn=$(processed "$work/native/$stem.bpf.o")
	fi
	# "clang NAME SECTION SIZE" per function symbol, from binutils'
	# readelf (quicker to start than llvm-objdump): section names from -S,
	# symbols from -s.
	for backend in clang native; do
		obj="$work/$backend/$stem.bpf.o"
		{ readelf -SW "$obj"; echo "--"; readelf -sW "$obj"; } |
			awk -v b="$backend" '
			$1 == "--" { symbols = 1; next }
			!symbols && /^ *\[ *[0-9]+\]/ {
				sub(/^ *\[ */, ""); sub(/\]/, ""); secname[$1] = $2; next
			}
			symbols && $4 == "FUNC" { print b, $8, secname[$7], $3 }'
	done | awk -v verifier="$verifier" -v vc="$vc" -v vn="$vn" -v src="$src" '
	function cell(n) {
		return n == "" ? "-" : n
	}
	# the count of program name in a processed() list; a list of one
	# count without a name (no load log header) is the one program
	function count_of(list, name,   n, i, kv, parts) {
		if (list == "rejected")
			return list
		n = split(list, parts, " ")
		for (i = 1; i <= n; i++) {
			split(parts[i], kv, "=")
			if (kv[1] == name || (n == 1 && kv[1] == ""))
				return kv[2]
		}
		return ""
	}
	function total_of(list,   n, i, kv, parts, t) {
		if (list == "rejected")
			return "-"
		n = split(list, parts, " ")
		for (i = 1; i <= n; i++) {
			split(parts[i], kv, "=")
			t += kv[2]
		}
		return t + 0
	}
	function ratio(a, b) {
		return a == "" || b == "" || b == 0 ? "-" : sprintf("%.2f", a / b)
	}
	{
		size[$1, $2] = $4 / 8
		if (!($2 in sect))
			names[++n] = $2
		if (!($2 in sect) || $1 == "clang")
			sect[$2] = $3
	}
	END {
		print src ": instructions per function, in 8-byte slots (a 64-bit load is two)"
		for (i = 1; i <= n; i++) {
			name = names[i]
			c = ("clang", name) in size ? size["clang", name] : ""
			v = ("native", name) in size ? size["native", name] : ""
			tc += c
			tn += v
			row = name "|" sect[name] "|" cell(c) "|" cell(v) "|" ratio(v, c)
			if (verifier == "true")
				row = row "|" (sect[name] == ".text" ? "-" : cell(count_of(vc, name))) "|" \
				      (sect[name] == ".text" ? "-" : cell(count_of(vn, name)))
			print row | "sort"
		}
		close("sort")
		# an object without code (a file without a program) totals 0
		row = "total||" (tc + 0) "|" (tn + 0) "|" ratio(tn, tc)
		if (verifier == "true")
			row = row "|" total_of(vc) "|" total_of(vn)
		print row
	}'
}

# The table --compare printed, as "|"-separated cells (header and notes
# dropped, the first line kept): columns are found by position under the
# header, so the cells may hold no spaces but "verified clang" may.
got_compare() {
	awk 'NR == 1 { print; next }
	     NR == 2 { header = $0; next }
	     /^-: / || /^verifier counts: / || /^[a-z]*: no object: / { next }
	     {
		n = split($0, cells, / +/)
		row = cells[1]
		# "total" has no section: its second cell is the first count.
		if (cells[1] == "total")
			row = row "|"
		for (i = 2; i <= n; i++)
			row = row "|" cells[i]
		if (cells[1] == "total") {
			close("sort")
			print row
		} else {
			print row | "sort"
		}
	     }' "$1"
}

for src in $programs; do
	stem=$(basename "$src" .va)
	rel=${src#"$root"/}
	name="$rel compare"
	[ -f "$work/clang/$stem.bpf.o" ] && [ -f "$work/native/$stem.bpf.o" ] || continue
	(cd "$root" && "$vbpf2c" --compare "$rel") > "$work/compare" 2> "$work/compare.err"
	status=$?
	expected_compare "$rel" "$stem" > "$work/want"
	got_compare "$work/compare" > "$work/got"
	if ! diff "$work/want" "$work/got" > "$work/diff"; then
		{ cat "$work/diff"; echo "--- vbpf2c --compare printed:"; cat "$work/compare"; } > "$work/why"
		fail "$name" "the table differs from readelf's and bpftool's numbers" "$work/why"
		continue
	fi
	header=$(sed -n 2p "$work/compare" | tr -s ' ')
	want_header="function section clang native native/clang"
	$verifier && want_header="$want_header verified clang verified native"
	if [ "$header" != "$want_header" ]; then
		fail "$name" "header is '$header', expected '$want_header'"
		continue
	fi
	# Exit 1 exactly when the verifier rejected an object (said on stderr).
	want_status=0
	grep -q '|rejected' "$work/want" && want_status=1
	if [ "$status" -ne "$want_status" ]; then
		fail "$name" "exit status $status, expected $want_status" "$work/compare.err"
	elif ! $verifier && ! grep -q '^verifier counts: not measured: bpf() refused' "$work/compare"; then
		fail "$name" "no line says why the verifier counts are missing" "$work/compare"
	else
		pass
	fi
done

# Without bpf() (another user, when we are root): the columns go, a line
# says why. setpriv is util-linux's.
if $verifier && [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	cp "$root/examples/xdp_packet_counter.va" "$work/"
	chmod -R a+rX "$work"
	if (cd "$work" && setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$vbpf2c" --compare xdp_packet_counter.va) > "$work/compare" 2> "$work/err"; then
		if grep -q '^verifier counts: not measured: bpf() refused: not permitted' "$work/compare" &&
		   ! grep -q verified "$work/compare"; then
			pass
		else
			fail "compare without bpf()" "verifier columns shown, or no reason given" "$work/compare"
		fi
	else
		skip "compare without bpf()" "vbpf2c cannot run as uid 65534 here ($(head -1 "$work/err"))"
	fi
fi

# ---- cli ---------------------------------------------------------------------------

# expect_trouble NAME ARGS...: exit status 2, a message, nothing on stdout.
expect_trouble() {
	name=$1
	shift
	(cd "$root" && "$vbpf2c" "$@") > "$work/out" 2> "$work/err"
	status=$?
	if [ "$status" -eq 2 ] && [ -s "$work/err" ] && [ ! -s "$work/out" ]; then
		pass
	else
		fail "cli $name" "exit status $status (expected 2 with a message)" "$work/err"
	fi
}
expect_trouble "--emit=asm -c" --emit=asm -c examples/xdp_packet_counter.va
expect_trouble "--emit=asm --check" --emit=asm --check examples/xdp_packet_counter.va
expect_trouble "--emit=bogus" --emit=bogus examples/xdp_packet_counter.va
expect_trouble "--compare -o" --compare -o x examples/xdp_packet_counter.va
expect_trouble "--compare --backend" --compare --backend=native examples/xdp_packet_counter.va
expect_trouble "--emit=asm on an x86 object" --emit=asm /bin/true
echo "(program :xdp)" > "$work/text.o"
expect_trouble "--emit=asm on a .o that is no object" --emit=asm "$work/text.o"

# -o FILE gets what standard output would.
(cd "$work/native" && "$vbpf2c" --emit=asm --backend=native "$root/examples/xdp_packet_counter.va" \
	-o "$work/asm.out") 2> "$work/err"
(cd "$work/native" && "$vbpf2c" --emit=asm --backend=native "$root/examples/xdp_packet_counter.va") \
	> "$work/asm.stdout" 2>> "$work/err"
if [ -s "$work/asm.out" ] && cmp -s "$work/asm.out" "$work/asm.stdout"; then
	pass
else
	fail "cli --emit=asm -o" "the file differs from standard output" "$work/err"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
