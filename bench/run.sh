#!/usr/bin/env bash
# bench/run.sh - the benchmarks (`make bench`). Measures, never asserts:
# the numbers are for people to read against the targets given below.
#
# 1. The front end and cost against size: generated valid programs of
#    BENCH_SIZES_KB kilobytes (default "1024 BENCH_KB 51200", BENCH_KB
#    default 10240: 1, 10 and 50 MB), each mode - `vbpf2c --check`, the C
#    (`vbpf2c FILE > /dev/null`) and `vbpf2c -c --backend=native` - timed
#    (best of BENCH_LINEAR_RUNS, default 5) with its peak RSS. Targets:
#    --check >= 100 MB/s and <= 8 bytes of memory per source byte on the
#    BENCH_KB program; every mode linear (time and memory per MB within
#    ±20% across the sizes). `wc -l` on the BENCH_KB program for scale.
# 2. `vbpf2c -c` against clang alone on the C vbpf2c emitted, for every
#    example and a generated program of BENCH_C_KB kilobytes (default 64).
#    Target: ratio <= 1.02 over the examples together. Beside them, clang
#    run by bench/spawn_only.c, the floor of a process of one's own.
# 3. Instruction counts: for every bench/twins/NAME.bpf.c (a hand-written
#    libbpf twin of examples/NAME.va), the program's BPF instructions in the
#    object vbpf2c -c makes against the twin's. Target: ratio <= 1.00.
#    The twin is run on examples/NAME.cases (vbpf2c test) to show it does
#    the same job; that needs bpf() (root), and says so otherwise.
# 4. The native backend against the clang path, for every example and
#    golden program (tests/gen): the BPF instructions of the objects
#    `vbpf2c -c --backend=native` and `--backend=clang` make, native ÷
#    clang per program and their geometric mean (target: <= 1.10, issue
#    11), the same over generated programs, and the time each command
#    takes end to end (target: native ÷ clang <= 0.05, all programs
#    together).
#
# BENCH_SECTIONS (default "1 2 3 4") names the sections to run, e.g.
# BENCH_SECTIONS=2 for `vbpf2c -c` against clang alone.
#
# Every time is the best of BENCH_RUNS runs (default 5), after one warm-up
# run so the file is in the page cache for both commands; the two commands
# compared are run alternately, so load from elsewhere hits both alike.
# Times are CPU time (user + system, children included) unless
# BENCH_CLOCK=wall.
# Paths must not contain spaces (the commands are word-split).

# `make bench` runs it with sh; the timing code needs bash.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
vbpf2c=${VBPF2C:-$root/vbpf2c}
clang=${CLANG:-clang}
runs=${BENCH_RUNS:-5}
clock=${BENCH_CLOCK:-cpu}
large_kb=${BENCH_KB:-10240}
c_kb=${BENCH_C_KB:-64}
bpf_cflags=(-O2 -g -target bpf "-I/usr/include/$(uname -m)-linux-gnu")
sections=${BENCH_SECTIONS:-1 2 3 4}

work=$(mktemp -d "${TMPDIR:-/tmp}/vbpf2c-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# section_wanted N: is section N among BENCH_SECTIONS?
section_wanted() {
	case " $sections " in
	*" $1 "*) return 0 ;;
	*) return 1 ;;
	esac
}

now_ns() {
	date +%s%N
}

# time_ns CMD...: nanoseconds one run of CMD takes (stdout dropped): CPU
# time, user + system, of CMD and its children (clang, for vbpf2c -c) when
# BENCH_CLOCK=cpu (the default: other work on a shared machine barely moves
# it), or wall-clock time when BENCH_CLOCK=wall.
time_ns() {
	if [ "$clock" = wall ]; then
		local start
		start=$(now_ns)
		"$@" > /dev/null
		echo $(($(now_ns) - start))
		return
	fi
	if [ -x "$work/cputime" ]; then
		"$work/cputime" --once "$@" || true
		return
	fi
	local TIMEFORMAT='%3U %3S' times
	times=$({ time "$@" > /dev/null 2>&1; } 2>&1)
	awk -v t="$times" 'BEGIN { split(t, f, " "); printf "%.0f\n", (f[1] + f[2]) * 1e9 }'
}

# CPU times in microseconds (bench/cputime.c --once) where a C compiler is there
# to build it, else bash's `time`, in milliseconds.
if command -v cc > /dev/null 2>&1; then
	cc -O2 -o "$work/cputime" "$root/bench/cputime.c" 2> /dev/null || true
fi

# best_each "CMD" ...: one warm-up run of each command, then $runs rounds
# running each in turn, so all see the same machine load (other work on
# the machine shifts them all, not one); sets best[i] to the fastest run of
# the i-th command, in nanoseconds. The commands are word-split: no spaces
# inside arguments.
best_each() {
	local i c t
	best=()
	for c in "$@"; do
		# shellcheck disable=SC2086 # the commands are lists of words
		$c > /dev/null
		best+=(0)
	done
	for ((i = 0; i < runs; i++)); do
		for ((c = 1; c <= $#; c++)); do
			# shellcheck disable=SC2086
			t=$(time_ns ${!c})
			if ((best[c - 1] == 0 || t < best[c - 1])); then best[c - 1]=$t; fi
		done
	done
}

# best_pair "CMD A" "CMD B": best_each the two, into best_a and best_b.
best_pair() {
	best_each "$1" "$2"
	best_a=${best[0]}
	best_b=${best[1]}
}

seconds() {
	awk -v ns="$1" 'BEGIN { printf "%.4f s", ns / 1e9 }'
}

mb_per_s() {
	awk -v bytes="$1" -v ns="$2" 'BEGIN { printf "%.1f MB/s", bytes / 1e6 / (ns / 1e9) }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'
}

# Instructions in the object's executable sections (the programs and the
# .text of their subprograms), in 8-byte slots as the kernel counts them: a
# 64-bit immediate load takes two.
insn_count() {
	local size total=0
	for size in $(llvm-readelf -S --wide "$1" |
		awk '/^ *\[/ { sub(/^.*\] /, ""); if ($7 ~ /X/) print $5 }'); do
		total=$((total + 16#$size))
	done
	echo $((total / 8))
}

# cases_summary OBJECT CASES: "5/5 passed", or what went wrong.
cases_summary() {
	local last
	last=$("$vbpf2c" test "$1" "$2" 2>&1 | tail -1)
	echo "$last" | awk '/passed, [0-9]+ failed/ {
			p = $1; f = $3; printf "%d/%d passed", p, p + f; ok = 1
		}
		END { if (!ok) printf "not run" }'
}

case $clock in
cpu) clock_name="CPU time (user + system, with children)" ;;
wall) clock_name="wall-clock time" ;;
*) echo "bench: BENCH_CLOCK must be cpu or wall" >&2; exit 2 ;;
esac
echo "vbpf2c benchmarks: $clock_name, best of $runs runs each"
echo "($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r))"
echo

# ---- 1. front end, and cost against size ------------------------------------
if section_wanted 1; then
	# One generated program per size in BENCH_SIZES_KB (default 1, 10 and 50
	# MB); for each, every mode's CPU time (best of BENCH_LINEAR_RUNS, default
	# 5: three left a run that met a slow moment of this shared VM's host
	# in the figures) and peak RSS (one run under /usr/bin/time -f %M, when installed). A
	# mode is linear when its time and memory per MB stay the same across the
	# sizes: the "÷ mid" columns divide them by those of the middle size.
	sizes_kb=${BENCH_SIZES_KB:-1024 $large_kb 51200}
	linear_runs=${BENCH_LINEAR_RUNS:-5}
	modes=("--check" "C" "native -c")

	# peak_kb CMD...: the peak resident set of one run of CMD, in KB ("-"
	# without GNU time).
	peak_kb() {
		if [ ! -x /usr/bin/time ]; then
			echo -
			return
		fi
		/usr/bin/time -f %M -o "$work/rss" "$@" > /dev/null 2>&1 || true
		tail -n 1 "$work/rss"
	}

	# mode_cmd MODE FILE: the command line of that mode.
	mode_cmd() {
		case $1 in
		--check) echo "$vbpf2c --check $2" ;;
		C) echo "$vbpf2c $2" ;;
		"native -c") echo "$vbpf2c -c --backend=native $2 -o $work/linear.o" ;;
		esac
	}

	# best_of N CMD: the fastest of N runs after one warm-up, in ns.
	best_of() {
		local n=$1 i t fastest=0
		shift
		# shellcheck disable=SC2086
		$1 > /dev/null
		for ((i = 0; i < n; i++)); do
			# shellcheck disable=SC2086
			t=$(time_ns $1)
			if ((fastest == 0 || t < fastest)); then fastest=$t; fi
		done
		echo "$fastest"
	}

	echo "1. front end and cost against size: generated programs (bench/gen_large.sh)"
	echo "   targets: --check >= 100 MB/s and <= 8 bytes of memory per source byte at"
	echo "   $large_kb KB; every mode linear: time and memory per MB within ±20% across sizes"
	# What a run costs whatever the size (process start, libraries, tables):
	# each mode on a 1 KB program. The per-MB columns leave it out, so they
	# show how the cost grows; MB/s and bytes per byte are of the whole run.
	base=$work/base.va
	sh "$root/bench/gen_large.sh" 1 > "$base"
	: > "$work/base"
	for mode in "${modes[@]}"; do
		cmd=$(mode_cmd "$mode" "$base")
		# shellcheck disable=SC2086
		echo "$mode|$(best_of "$linear_runs" "$cmd")|$(peak_kb $cmd)" >> "$work/base"
	done
	: > "$work/linear"
	for kb in $sizes_kb; do
		prog=$work/size_${kb}k.va
		sh "$root/bench/gen_large.sh" "$kb" > "$prog"
		if ! "$vbpf2c" --check "$prog" > "$work/check.out" 2>&1; then
			echo "bench: the generated program is rejected; fix bench/gen_large.sh:" >&2
			head -20 "$work/check.out" >&2
			exit 1
		fi
		bytes=$(wc -c < "$prog")
		for mode in "${modes[@]}"; do
			cmd=$(mode_cmd "$mode" "$prog")
			ns=$(best_of "$linear_runs" "$cmd")
			# shellcheck disable=SC2086
			rss=$(peak_kb $cmd)
			echo "$mode|$kb|$bytes|$ns|$rss" >> "$work/linear"
		done
		if [ "$kb" = "$large_kb" ]; then
			best_pair "$vbpf2c --check $prog" "wc -l $prog"
			check_ns=$best_a
			wc_ns=$best_b
		fi
		rm -f "$work/linear.o"
		[ "$kb" = "$large_kb" ] || rm -f "$prog"
	done
	printf '   %-10s %8s %10s %11s %10s %7s %10s %7s %10s %7s\n' mode size "CPU" "MB/s" "net s/MB" "÷ mid" \
		"peak RSS" "B/byte" "net B/B" "÷ mid"
	awk -F'|' -v mid="$large_kb" '
		BEGIN { n = 0 }
		FILENAME == ARGV[1] { base_ns[$1] = $2; base_rss[$1] = $3; next }
		{ mode[n] = $1; kb[n] = $2; bytes[n] = $3; ns[n] = $4; rss[n] = $5
		  spm[n] = ($4 - base_ns[$1]) / 1e9 / ($3 / 1e6)
		  bpb[n] = ($5 == "-" || base_rss[$1] == "-") ? -1 : ($5 - base_rss[$1]) * 1024 / $3
		  if ($2 == mid) { mid_spm[$1] = spm[n]; mid_bpb[$1] = bpb[n] }
		  n++ }
		END {
			for (i = 0; i < n; i++) {
				printf "   %-10s %5.1f MB %8.3f s %6.1f MB/s %8.4f s %7.2f", mode[i], bytes[i] / 1e6,
					ns[i] / 1e9, bytes[i] / 1e6 / (ns[i] / 1e9), spm[i],
					(mid_spm[mode[i]] > 0 ? spm[i] / mid_spm[mode[i]] : 0)
				if (bpb[i] < 0) printf " %10s %7s %10s %7s\n", "-", "-", "-", "-"
				else printf " %7.0f MB %7.1f %10.1f %7.2f\n", rss[i] / 1024, rss[i] * 1024 / bytes[i], bpb[i],
					(mid_bpb[mode[i]] > 0 ? bpb[i] / mid_bpb[mode[i]] : 0)
			}
		}' "$work/base" "$work/linear"
	echo "   wc -l on the $large_kb KB program: $(seconds "$wc_ns"); vbpf2c --check takes $(ratio "$check_ns" "$wc_ns") times as long"
	# How far each mode strays from linear: the largest deviation of its net
	# time (memory) per MB from the middle size's, in per cent (target: 20).
	awk -F'|' -v mid="$large_kb" '
		FILENAME == ARGV[1] { base_ns[$1] = $2; base_rss[$1] = $3; next }
		{ n++; mode[n] = $1; spm[n] = ($4 - base_ns[$1]) / $3
		  bpb[n] = ($5 == "-" || base_rss[$1] == "-") ? -1 : ($5 - base_rss[$1]) / $3
		  if ($2 == mid) { mid_spm[$1] = spm[n]; mid_bpb[$1] = bpb[n] }
		  if (!($1 in seen)) { order[++k] = $1; seen[$1] = 1 } }
		function dev(x, m) { return m > 0 ? (x > m ? x / m - 1 : 1 - x / m) * 100 : 0 }
		END {
			for (i = 1; i <= n; i++) {
				d = dev(spm[i], mid_spm[mode[i]]); if (d > tdev[mode[i]]) tdev[mode[i]] = d
				if (bpb[i] >= 0) { d = dev(bpb[i], mid_bpb[mode[i]]); if (d > mdev[mode[i]]) mdev[mode[i]] = d }
			}
			printf "   largest deviation per MB from the middle size:"
			for (i = 1; i <= k; i++) {
				m = order[i]
				sep = (i > 1) ? ";" : ""
				printf "%s %s time %.0f%% memory %.0f%%", sep, m, tdev[m], mdev[m]
			}
			printf "\n"
		}' "$work/base" "$work/linear" > "$work/spread"
	cat "$work/spread"
	echo
fi

# ---- 2. vbpf2c -c against clang alone ---------------------------------------
# A third column where a static C program can be built: bench/spawn_only.c
# around the same clang command, the least a tool that runs clang as a
# process of its own costs (its start, exit and one spawn).
if section_wanted 2; then
	echo "2. vbpf2c -c against clang alone on the emitted C (target ratio <= 1.02, the examples together),"
	echo "   and against clang run by a static program that does nothing else (bench/spawn_only.c)"
	spawn_only=
	if command -v cc > /dev/null 2>&1 &&
		cc -O2 -static -no-pie -o "$work/spawn_only" "$root/bench/spawn_only.c" 2> /dev/null; then
		spawn_only=$work/spawn_only
	fi
	printf '   %-26s %10s %10s %10s %8s %8s
' "program" "vbpf2c -c" "clang" "spawned" "ratio" "÷ spawned"
	medium=$work/generated_${c_kb}k.va
	sh "$root/bench/gen_large.sh" "$c_kb" > "$medium"
	total_vbpf2c=0
	total_clang=0
	total_spawned=0
	# row NAME VBPF2C CLANG SPAWNED (ns; SPAWNED 0: not measured)
	row() {
		local spawned="-" floor_ratio="-"
		if (($4 > 0)); then
			spawned=$(seconds "$4")
			floor_ratio=$(ratio "$2" "$4")
		fi
		printf '   %-26s %10s %10s %10s %8s %8s
' "$1" "$(seconds "$2")" "$(seconds "$3")" "$spawned" \
			"$(ratio "$2" "$3")" "$floor_ratio"
	}
	for va in "$root"/examples/*.va "$medium"; do
		[ -e "$va" ] || continue
		name=$(basename "$va" .va)
		"$vbpf2c" "$va" > "$work/$name.bpf.c"
		clang_cmd="$clang ${bpf_cflags[*]} -c $work/$name.bpf.c -o $work/$name.clang.o"
		if [ -n "$spawn_only" ]; then
			best_each "$vbpf2c -c $va -o $work/$name.vbpf2c.o" "$clang_cmd" "$spawn_only $clang_cmd"
		else
			best_each "$vbpf2c -c $va -o $work/$name.vbpf2c.o" "$clang_cmd"
			best[2]=0
		fi
		if [ "$va" = "$medium" ]; then
			row "examples together" "$total_vbpf2c" "$total_clang" "$total_spawned"
			examples_ratio=$(ratio "$total_vbpf2c" "$total_clang")
			floor_ratio=$( ((total_spawned > 0)) && ratio "$total_spawned" "$total_clang" || echo "-")
			above_floor=$( ((total_spawned > 0)) && ratio "$total_vbpf2c" "$total_spawned" || echo "-")
		else
			total_vbpf2c=$((total_vbpf2c + best[0]))
			total_clang=$((total_clang + best[1]))
			total_spawned=$((total_spawned + best[2]))
		fi
		row "$name" "${best[0]}" "${best[1]}" "${best[2]}"
	done
	echo
fi

# The three goals of issue 15, from the figures above (those of the
# sections that ran).
if section_wanted 1 || section_wanted 2; then
	echo "Summary (issue 15):"
fi
if section_wanted 1; then
	check_row=$(awk -F'|' -v mid="$large_kb" '$1 == "--check" && $2 == mid' "$work/linear")
	echo "$check_row" | awk -F'|' '{ printf "   --check at %.1f MB: %.1f MB/s (target >= 100), %s bytes of memory per source byte\n   (target <= 8)\n",
		$3 / 1e6, $3 / 1e6 / ($4 / 1e9), $5 == "-" ? "-" : sprintf("%.1f", $5 * 1024 / $3) }'
	sed 's/^   largest/   linearity: largest/; s/$/ (target <= 20% each)/' "$work/spread"
fi
if section_wanted 2; then
	echo "   vbpf2c -c ÷ clang alone, the examples together: $examples_ratio (target <= 1.02);"
	echo "   clang spawned by a program that does nothing else ÷ clang alone: $floor_ratio, and vbpf2c -c ÷ that: $above_floor"
fi
if section_wanted 1 || section_wanted 2; then
	echo
fi

# ---- 3. instruction counts against hand-written twins --------------------------
if section_wanted 3; then
	echo "3. BPF instructions: vbpf2c's object against a hand-written twin (target ratio <= 1.00)"
	found=0
	for twin in "$root"/bench/twins/*.bpf.c; do
		[ -e "$twin" ] || continue
		name=$(basename "$twin" .bpf.c)
		va=$root/examples/$name.va
		if [ ! -e "$va" ]; then
			echo "   $name: no examples/$name.va for this twin"
			continue
		fi
		found=1
		"$vbpf2c" -c "$va" -o "$work/$name.gen.o"
		"$clang" "${bpf_cflags[@]}" -c "$twin" -o "$work/$name.twin.o"
		gen=$(insn_count "$work/$name.gen.o")
		hand=$(insn_count "$work/$name.twin.o")
		# A twin only counts if it does the example's job: run the example's
		# cases on both objects (vbpf2c test loads a .o as it is).
		cases=${va%.va}.cases
		if [ -e "$cases" ]; then
			verdict="cases: vbpf2c $(cases_summary "$work/$name.gen.o" "$cases"),"
			verdict="$verdict twin $(cases_summary "$work/$name.twin.o" "$cases")"
		else
			verdict="no cases"
		fi
		printf '   %-24s %4s generated %4s hand-written  ratio %s  (%s)\n' "$name" "$gen" "$hand" \
			"$(ratio "$gen" "$hand")" "$verdict"
	done
	if [ "$found" = 0 ]; then
		echo "   no twins in bench/twins/ yet"
	fi
	echo
fi

# ---- 4. the native backend against the clang path ---------------------------
if section_wanted 4; then
	echo "4. vbpf2c -c --backend=native against --backend=clang: BPF instructions (target"
	echo "   geomean ratio <= 1.10) and compile time end to end (target ratio <= 0.05)"
	printf '   %-24s %7s %7s %7s\n' "program" "native" "clang" "ratio"
	: > "$work/insn_ratios"
	# One script per backend compiles every program in turn: a few
	# milliseconds of one native compile are too short to time alone (the
	# clock counts whole milliseconds).
	: > "$work/all_native.sh"
	: > "$work/all_clang.sh"
	for va in "$root"/examples/*.va "$root"/tests/gen/*.va; do
		[ -e "$va" ] || continue
		name=$(basename "$va" .va)
		# programs the native backend refuses (kernel types) have no ratio
		if ! "$vbpf2c" -c --backend=native "$va" -o "$work/$name.native.o" 2>/dev/null; then
			printf '   %-24s %s\n' "$name" "(refused by the native backend)"
			continue
		fi
		echo "\"$vbpf2c\" -c --backend=native $va -o $work/$name.native.o" >> "$work/all_native.sh"
		echo "\"$vbpf2c\" -c --backend=clang $va -o $work/$name.clang.o" >> "$work/all_clang.sh"
		"$vbpf2c" -c --backend=clang "$va" -o "$work/$name.clang.o"
		native=$(insn_count "$work/$name.native.o")
		viaclang=$(insn_count "$work/$name.clang.o")
		if [ "$viaclang" -eq 0 ]; then
			# a file without (program) or exported functions: no code
			printf '   %-24s %7s %7s %7s\n' "$name" "$native" "$viaclang" "-"
			continue
		fi
		echo "$native $viaclang" >> "$work/insn_ratios"
		printf '   %-24s %7s %7s %7s\n' "$name" "$native" "$viaclang" "$(ratio "$native" "$viaclang")"
	done
	programs=$(wc -l < "$work/insn_ratios")
	geomean=$(awk '{ sum += log($1 / $2); n++ } END { printf "%.3f", exp(sum / n) }' "$work/insn_ratios")
	printf '   %-24s %7s %7s %7s\n' "geometric mean" "" "" "$geomean"
	# The same over the programs tests/native/randprog.c writes (seeds 1 to
	# BENCH_GEN, default 300), which use more of the language than the
	# examples do.
	gen_count=${BENCH_GEN:-300}
	: > "$work/gen_ratios"
	if cc -std=c11 -O2 -o "$work/randprog" "$root/tests/native/randprog.c"; then
		for seed in $(seq 1 "$gen_count"); do
			"$work/randprog" "$seed" > "$work/gen.va"
			"$vbpf2c" -c --backend=native "$work/gen.va" -o "$work/gen.native.o" 2>/dev/null &&
				"$vbpf2c" -c --backend=clang "$work/gen.va" -o "$work/gen.clang.o" 2>/dev/null ||
				continue
			viaclang=$(insn_count "$work/gen.clang.o")
			# a file without (program), of functions only: no code, no ratio
			[ "$viaclang" -eq 0 ] && continue
			echo "$(insn_count "$work/gen.native.o") $viaclang" >> "$work/gen_ratios"
		done
		printf '   %-24s %7s %7s %7s\n' "generated ($(wc -l < "$work/gen_ratios"))" "" "" \
			"$(awk '{ sum += log($1 / $2); n++ } END { printf "%.3f", exp(sum / n) }' "$work/gen_ratios")"
	fi
	best_pair "sh $work/all_native.sh" "sh $work/all_clang.sh"
	echo "   compiling the $programs programs one after another: native $(seconds "$best_a"),"
	echo "   clang $(seconds "$best_b"), native ÷ clang $(ratio "$best_a" "$best_b")"
fi
