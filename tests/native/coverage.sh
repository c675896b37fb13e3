#!/bin/sh
# coverage.sh - how many of the given programs use each form, built-in,
# type, program kind, map type, kernel constant, helper, pattern and
# literal shape of the language.
#
#   coverage.sh PROG.va ...        (or: randprog SEED > x.va; coverage.sh x.va)
#
# The rows come from the translator's own tables, read from its source:
# special and top-level forms (parser.c), built-ins (checker.c), program
# kinds (prog_kinds.def), map types and kernel constants (tables.c); the
# helpers are those any example or test declares. A form added to a table
# appears here as a new row, at 0 until the generator writes it: a zero
# row is a hole in tests/native/randprog.c. Rows the checker rejects on
# purpose are marked "(rejected)" rather than counted as holes.
#
# Output: one row per line, "category<TAB>name<TAB>programs", and a last
# line "programs<TAB>N".
set -u -f   # -f: the table names * and + are not file patterns
cd "$(dirname "$0")/../.." || exit 2
[ $# -gt 0 ] || { echo "usage: coverage.sh PROG.va ..." >&2; exit 2; }
root=$(pwd)

esc() {   # a name as an awk regular expression
	printf '%s' "$1" | sed 's/[].[^$*+?(){}|\\]/\\&/g'
}

table() {   # the quoted names of a C table: table FILE 'START REGEX'
	sed -n "/$2/,/^};/p" "$1" | grep -o '{ "[^"]*"' | cut -d'"' -f2
}

rows() {
	for f in $(table translator/frontend/parser.c 'toplevel_forms\[\] = {'); do
		printf 'top-level\t%s\t\\(%s[ )\\n]\n' "$f" "$(esc "$f")"
	done
	for f in $(table translator/frontend/parser.c 'special_forms\[\] = {'); do
		case $f in
		fn|lambda|fn\*) printf 'form\t%s (rejected)\t-\n' "$f" ;;
		Some|None) ;;   # patterns, below
		*) printf 'form\t%s\t\\(%s[ )\\n]\n' "$f" "$(esc "$f")" ;;
		esac
	done
	for f in $(table translator/frontend/checker.c 'BuiltinInfo builtins\[\] = {'); do
		printf 'built-in\tbpf/%s\t\\(bpf/%s[ )]\n' "$f" "$f"
	done
	for t in u8 u16 u32 u64 i8 i16 i32 i64; do
		printf 'type\t%s\t(:|\\()%s[] )\\n]\n' "$t" "$t"
	done
	printf 'type\tbool\t(true|false|\\((==|!=|<|>|<=|>=|not|andalso|orelse) )\n'
	printf 'type\tunit\t:unit\n'
	printf 'type\trecord\t\\(deftype \n'
	grep -o '^PROG_KIND([A-Z_]*, "[^"]*"' translator/prog_kinds.def | cut -d'"' -f2 |
		while read -r k; do printf 'kind\t%s\t\\(program :%s[ )]\n' "$k" "$k"; done
	printf 'kind\t(no program)\t^; no \\(program\\)\n'
	for m in $(table translator/frontend/tables.c 'MapTypeInfo map_types\[\] = {'); do
		printf 'map type\t%s\t\\(defmap [^ ]* :%s \n' "$m" "$m"
	done
	grep -o 'KCONST([A-Z_][A-Z_0-9]*' translator/frontend/tables.c | cut -c8- | while read -r c; do
		printf 'constant\t%s\t[ []%s[] )]\n' "$c" "$c"
	done
	cat examples/*.va tests/gen/*.va tests/ok/*.va tests/kernel/*.va 2>/dev/null | grep -o '(extern bpf[:/][a-z0-9_]*' |
		sed 's/.*[:\/]//' | sort -u | while read -r h; do
		printf 'helper\t%s\t\\(bpf/%s[ )]\n' "$h" "$h"
	done
	printf 'pattern\t(Some x)\t\\[\\(Some \n'
	printf 'pattern\t(None)\t\\[\\(None\\)\n'
	printf 'pattern\tinteger\t\\[(-?[0-9]|\\\\[a-z]|[A-Z_]+ )\n'
	printf 'pattern\t_\t\\[_ \n'
	printf 'pattern\tname\t([])] |\\(match [a-z0-9]+ )\\[[a-z][a-z0-9]* \n'
	printf 'pattern\ttrue\t\\[true \n'
	printf 'pattern\tfalse\t\\[false \n'
	printf 'literal\tzero\t[ []0[] )]\n'
	printf 'literal\tnegative\t[ []-[0-9]\n'
	printf 'literal\thex\t[ []0x[0-9a-f]\n'
	printf 'literal\tcharacter\t[ []\\\\[a-z]\n'
	printf 'literal\tu64 max\t[ []18446744073709551615[] )]\n'
	printf 'literal\ti64 min\t[ []-9223372036854775808[] )]\n'
	printf 'call\t0 arguments\t\\(f[0-9]+\\)\n'
	params=''
	for n in 1 2 3 4 5; do   # mawk has no {n}
		params="$params${params:+ }[^] ]+ :[a-z0-9]+"
		printf 'call\t%s arguments\t\\(defn f[0-9]+ \\[%s\\]\n' "$n" "$params"
	done
	printf 'call\tmap argument\t\\(defn f[0-9]+ \\[map :u64\n'
	printf 'call\tmap parameter given on\t\\(f[0-9]+ map[ )]\n'
	printf 'call\tpacket arguments\t\\(defn f[0-9]+ \\[pkt :u64 data_end\n'
	printf 'statement\ttail_call result unused\t[ []\\(bpf/tail_call [^()]*\\)[] )]\n'
	printf 'statement\tconstant condition\t\\((if|cond \\[|andalso|orelse|not|match) (true|false)[ )]\n'
	printf 'statement\tbyte order of a constant\t\\(bpf/(be|le)[0-9]+ [0-9\\\\A-Z]\n'
	printf 'statement\tringbuf record to a :u64\t\\(fill ev\n'
	# kernel types (LANGUAGE.md 11) and array fields (10.9)
	printf 'kernel\t:k/ type\t:k/[a-z_]+\n'
	# (randprog's kernel pointers: t0 t1 t entry and defn parameters,
	# a0 a1 from k/arg, cur from get_current_task_btf)
	printf 'kernel\tCO-RE read\t\\(\\. (t[0-9]?|a[0-9]|cur) :[a-z_]+[ )]\n'
	printf 'kernel\tCO-RE chain through pointers\t\\(\\. (t[0-9]?|a[0-9]|cur) :(real_parent|parent|group_leader) :\n'
	printf 'kernel\tCO-RE read of an embedded struct\t\\(\\. (t[0-9]?|a[0-9]|cur) (:[a-z_]+ )*:se :\n'
	printf 'kernel\tCO-RE bitfield\t:in_execve\\)\n'
	printf 'kernel\tget_current_task_btf typed\t\\(bpf/get_current_task_btf\\)\n'
	printf 'kernel\tkernel pointer as a defn parameter\t\\(defn [a-z0-9_]+ \\[[^]]*:k/\n'
	printf 'kernel\tkernel pointer as an address\t\\(== \\(u64 (t[0-9]?|a[0-9]|cur)\\) \n'
	printf 'record\tarray field\t\\(deftype [A-Za-z]+ \\[[^]]*\\[:[a-z0-9]+ [0-9]+\\]\n'
	printf 'record\tarray field address\t\\(\\. [a-z0-9]+ :comm\\) \n'
	printf 'record\tarray element\t\\(\\. [a-z0-9]+ :[a-z_0-9]+ [0-9]+\\)\n'
	# LANGUAGE.md 10.3-10.5 and 10.7 (issue 13): the map idioms from
	# their table (map_idioms.c); defprog files, records as values (R,
	# and K, randprog's record key, which always has padding) and printk
	# as randprog writes them (rvN, kvN: its let-bound record values)
	for f in $(table translator/frontend/map_idioms.c 'MapIdiom map_idioms\[\] = {'); do
		printf 'idiom\t%s\t\\(%s[ )]\n' "$f" "$(esc "$f")"
	done
	printf 'idiom\tmap/incr! of a record key\t\\(map/incr! m[0-9]+ (kv[0-9]+|\\(K :)\n'
	printf 'idiom\tmap/get of a record key\t\\(map/get m[0-9]+ \\(K :\n'
	printf 'idiom\tmap/put! or map/del! result used\t\\([ui][0-9]+ \\(map/(put|del)! \n'
	printf 'program\tseveral defprogs\t\\(defprog [^@]*\\(defprog \n'
	printf 'program\tthree defprogs\t\\(defprog [^@]*\\(defprog [^@]*\\(defprog \n'
	printf 'program\tprog_array :init\t:init \\[\n'
	printf 'program\t:init with the caller (a loop of tail calls)\t:init \\[[^]]*entry\n'
	printf 'program\ttail call through :init\t:init \\[[^@]*\\(bpf/tail_call \n'
	printf 'program\ttail call from a second defprog\t\\(defprog q[0-9] [^@]*\\(bpf/tail_call \n'
	printf 'record\tvalue built\t\\([RK] :[fk][0-9]\n'
	printf 'record\tlet-bound value\t\\[(rv[0-9]+ \\(R|kv[0-9]+ \\(K) :\n'
	printf 'record\tfield of a value\t\\(\\. rv[0-9]+ :f\n'
	printf 'record\tkey with padding\t\\(defmap [^ ]+ :[a-z_]*hash :K \n'
	printf 'record\tkey built twice, one entry\t\\(let \\[kv[0-9]+ \\(K \n'
	printf 'record\tmap value by value\t\\(map/put! m[0-9]+ [^\\n]*(\\(R :| rv[0-9]+\\))\n'
	printf 'record\tset! through a record pointer\t\\(set! \\(\\. rec[0-9]+ :f\n'
	printf 'record\tsizeof\t\\(sizeof :[A-Z][A-Za-z]*\\)\n'
	printf 'record\tring buffer output\t\\(bpf/ringbuf_output m[0-9]+ (rv[0-9]+|\\(R :)\n'
	printf 'record\tperf output\t\\(bpf/perf_event_output ctx m[0-9]+ BPF_F_CURRENT_CPU (rv[0-9]+|\\(R :)\n'
	printf 'printk\tno value\t\\(printk "[^"%%]*(%%%%[^"%%]*)*"\\)\n'
	printf 'printk\t32-bit conversion\t\\(printk "[^"]*%%[-+ 0]*[0-9]*[diuxX]\n'
	printf 'printk\t64-bit conversion\t\\(printk "[^"]*%%[-+ 0]*[0-9]*ll?[diuxX]\n'
	printf 'printk\tflags and width\t\\(printk "[^"]*%%[-+ 0]*[-+ 0][0-9]*l*[diuxX]\n'
	printf 'printk\t%%c\t\\(printk "[^"]*%%c\n'
	printf 'printk\t%%p\t\\(printk "[^"]*%%p\n'
	printf 'printk\t%%%%\t\\(printk "[^"]*%%%%\n'
	printf 'printk\t:bool value\t\\(printk "[^"]*" [^\\n]*\\((==|!=|<|>|<=|>=|andalso|orelse|not) \n'
}

rows >"${TMPDIR:-/tmp}/coverage-rows.$$"
for prog in "$@"; do
	case $prog in /*) ;; *) prog="$OLDPWD/$prog" ;; esac
	[ -f "$prog" ] && printf '%s\n' "$prog"
done | awk -F'\t' -v rows="${TMPDIR:-/tmp}/coverage-rows.$$" '
BEGIN {
	while ((getline line < rows) > 0) {
		split(line, f, "\t")
		n++; cat[n] = f[1]; name[n] = f[2]; re[n] = f[3]; count[n] = 0
	}
}
{
	text = ""
	while ((getline line < $0) > 0) {
		sub(/;.*/, "", line)
		if (line ~ /^ *$/ && text != "") continue
		text = text "\n" line
	}
	close($0)
	# the first line: "; randprog N" and the no-program marker
	if ((getline first < $0) > 0) { getline second < $0; if (second ~ /^; no \(program\)/) text = "; no (program)" text }
	close($0)
	programs++
	for (i = 1; i <= n; i++)
		if (re[i] != "-" && text ~ re[i]) count[i]++
}
END {
	for (i = 1; i <= n; i++)
		printf "%s\t%s\t%s\n", cat[i], name[i], re[i] == "-" ? "-" : count[i]
	printf "programs\t%d\n", programs
}'
status=$?
rm -f "${TMPDIR:-/tmp}/coverage-rows.$$"
exit $status
