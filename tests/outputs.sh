#!/bin/sh
# outputs.sh - what vbpf2c does to the file system and to the processes it
# starts, when things are not the happy path (issue 16; run by
# `make golden-test`):
#
#   - -o/-H onto a device, a FIFO or a symlink (/dev/stdout) write into it:
#     a scratch copy of /dev/null (mknod, as root) stays a device, -H onto a
#     copy of /dev/full reports ENOSPC; the real /dev is never touched;
#   - an output that is an input (same inode) is refused, nothing written;
#   - all outputs of a run are committed together or not at all;
#   - SIGTERM/SIGHUP during -c stop the clang vbpf2c runs, and nothing is
#     left behind afterwards (a fake --clang that sleeps, then writes);
#   - a --clang that exits 0 without writing an object, or writes
#     something else, is an error and the existing object stays;
#   - a flood of errors stops after -fmax-errors (default 20) with short
#     lines, and -fmax-errors=0 prints every one.
#
# Prints one line per failed check and finally "N passed, N failed".
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
vbpf2c=${VBPF2C:-$root/vbpf2c}

work=$(mktemp -d "${TMPDIR:-/tmp}/outputs.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 2' HUP INT TERM

. "$root/tests/check.sh"
skipped=0

printf '(program :xdp)\n(defn pass [ctx :XdpMd] :u32\n  (. ctx :rx_queue_index))\n' > "$work/ok.va"
(cd "$work" && "$vbpf2c" ok.va) > "$work/ok.c" 2> "$work/err" || { echo "FAIL: ok.va does not translate"; exit 1; }

# fresh DIR: a scratch directory $d holding ok.va
fresh() {
	d=$work/d
	rm -rf "$d" && mkdir "$d" && cp "$work/ok.va" "$d/"
}

# in_dir ARGS...: vbpf2c ARGS in $d; leaves $status, $work/out, $work/err
in_dir() {
	(cd "$d" && "$vbpf2c" "$@") > "$work/out" 2> "$work/err"
	status=$?
}

# only FILES...: the scratch directory holds exactly these (dot files too)
only() {
	[ "$(cd "$d" && LC_ALL=C ls -A | tr '\n' ' ')" = "$* " ]
}

# ---- 1. devices, FIFOs, symlinks: written into, never replaced ------------
if [ "$(id -u)" = 0 ]; then
	fresh
	mknod "$d/null" c 1 3 && mknod "$d/full" c 1 7
	in_dir ok.va -o null
	check "-o onto a device: exit 0, still a character device" \
		sh -c "[ $status -eq 0 ] && [ -c '$d/null' ]"
	in_dir -c ok.va -o null
	check "-c -o onto a device (clang): exit 0, still a device" \
		sh -c "[ $status -eq 0 ] && [ -c '$d/null' ]"
	in_dir -c --backend=native ok.va -o null
	check "-c --backend=native -o onto a device: exit 0, still a device" \
		sh -c "[ $status -eq 0 ] && [ -c '$d/null' ]"
	in_dir --emit=h ok.va -o null
	check "--emit=h -o onto a device: still a device" sh -c "[ $status -eq 0 ] && [ -c '$d/null' ]"
	check "no temporary left beside the devices" only full null ok.va

	echo keep > "$d/out.c"
	in_dir ok.va -o out.c -H full
	check "-H onto a full device: exit 2, says ENOSPC" \
		sh -c "[ $status -eq 2 ] && grep -q 'full: No space left on device' '$work/err'"
	check "-H onto a full device: the device stays, -o's file is untouched" \
		sh -c "[ -c '$d/full' ] && [ \"\$(cat '$d/out.c')\" = keep ]"
	check "-H onto a full device: no temporary left" only full null ok.va out.c
else
	echo "SKIP devices: mknod needs root"
	skipped=$((skipped + 1))
fi

fresh
mkfifo "$d/fifo"
cat "$d/fifo" > "$work/from_fifo" &
reader=$!
in_dir ok.va -o fifo
# A FIFO that was written into ends the reader; one renamed over never will.
[ -p "$d/fifo" ] || kill "$reader" 2> /dev/null
wait "$reader"
check "-o onto a FIFO: the C goes through it, the FIFO stays" \
	sh -c "[ $status -eq 0 ] && [ -p '$d/fifo' ] && cmp -s '$work/from_fifo' '$work/ok.c'"

# A scratch /dev/stdout: a symlink to the fd, as on Linux.
fresh
ln -s /proc/self/fd/1 "$d/stdout"
in_dir ok.va -o stdout
check "-o onto a symlink to stdout: the C lands on stdout, the link stays" \
	sh -c "[ $status -eq 0 ] && [ -L '$d/stdout' ] && cmp -s '$work/out' '$work/ok.c'"
in_dir -c --backend=native ok.va -o stdout
check "-c -o onto a symlink to stdout: an ELF object on stdout" \
	sh -c "[ $status -eq 0 ] && [ -L '$d/stdout' ] && head -c 4 '$work/out' | grep -q ELF"
check "no temporary beside the symlink" only ok.va stdout

# ---- 2. an output that is an input ---------------------------------------
for args in "ok.va -o ok.va" "-c ok.va -o ok.va" "ok.va -H ok.va" "--emit=h ok.va -o ok.va" \
	"ok.va -o hard.va" "ok.va -o ./ok.va" "ok.va -o out.c -H out.c"; do
	fresh
	ln "$d/ok.va" "$d/hard.va"
	# shellcheck disable=SC2086 # args is a list of words
	in_dir $args
	check "vbpf2c $args: refused, exit 2" sh -c "[ $status -eq 2 ] && grep -q 'same\|is the input' '$work/err'"
	check "vbpf2c $args: the source is unchanged" cmp -s "$d/ok.va" "$work/ok.va"
	check "vbpf2c $args: nothing else written" sh -c "cd '$d' && [ ! -e out.c ] && [ ! -e ok.bpf.o ]"
done

# ---- 3. all outputs or none ------------------------------------------------
fresh
echo keep > "$d/out.c"
in_dir ok.va -o out.c -H nodir/x.h
check "-o out.c -H nodir/x.h: exit 2, out.c untouched" \
	sh -c "[ $status -eq 2 ] && [ \"\$(cat '$d/out.c')\" = keep ]"
check "-o out.c -H nodir/x.h: no temporary left" only ok.va out.c
echo keep > "$d/ok.bpf.o"
in_dir -c ok.va -H nodir/x.h
check "-c -H nodir/x.h: exit 2, the object untouched" \
	sh -c "[ $status -eq 2 ] && [ \"\$(cat '$d/ok.bpf.o')\" = keep ]"
in_dir ok.va -o out.c -H x.h
check "-o out.c -H x.h: both written" \
	sh -c "[ $status -eq 0 ] && cmp -s '$d/out.c' '$work/ok.c' && grep -q '#ifndef' '$d/x.h'"

# ---- 4. signals during -c reach clang ----------------------------------------
# A clang that takes its time, then writes its -o.
cat > "$work/slow-clang" <<'EOF'
#!/bin/sh
out=
while [ $# -gt 0 ]; do
	[ "$1" = -o ] && out=$2
	shift
done
sleep 2
printf 'late\n' > "$out"
EOF
chmod +x "$work/slow-clang"
for sig in TERM HUP INT; do
	fresh
	(cd "$d" && exec "$vbpf2c" -c --clang="$work/slow-clang" ok.va -o ok.bpf.o) 2> "$work/err" &
	pid=$!
	sleep 0.5
	kill -s "$sig" "$pid"
	wait "$pid" 2> /dev/null
	status=$?
	sleep 2.5 # past the fake clang's write, had it survived
	check "SIG$sig during -c: vbpf2c dies of it" sh -c "[ $status -gt 128 ]"
	check "SIG$sig during -c: nothing left, later either" only ok.va
done

# ---- 6. a clang that does not write a BPF object --------------------------
printf '#!/bin/sh\nexit 0\n' > "$work/silent-clang"
cat > "$work/garbage-clang" <<'EOF'
#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
printf 'garbage\n' > "$out"
EOF
# (an empty C file of its own: this test does not rely on /dev/null)
: > "$work/empty.c"
cat > "$work/host-clang" <<EOF
#!/bin/sh
while [ \$# -gt 0 ]; do [ "\$1" = -o ] && out=\$2; shift; done
exec ${CC:-cc} -c '$work/empty.c' -o "\$out"
EOF
chmod +x "$work/silent-clang" "$work/garbage-clang" "$work/host-clang"
for fake in silent-clang garbage-clang host-clang; do
	fresh
	echo keep > "$d/ok.bpf.o"
	in_dir -c --clang="$work/$fake" ok.va
	check "$fake: exit 2, says no BPF object" \
		sh -c "[ $status -eq 2 ] && grep -q 'did not write a BPF object' '$work/err'"
	check "$fake: the existing object is untouched, no temporary" \
		sh -c "[ \"\$(cat '$d/ok.bpf.o')\" = keep ]" && check "$fake: no temporary" only ok.bpf.o ok.va
done

# ---- 5. a flood of errors ---------------------------------------------------
fresh
awk 'BEGIN { printf "(program :xdp)\n(defn f [ctx :XdpMd] :u32\n  (do"
	for (i = 0; i < 10000; i++) printf " 1"; printf " 2))\n" }' > "$d/flood.va"
in_dir --check flood.va
check "10,000 errors: exit 1, stops after 20 and says so" \
	sh -c "[ $status -eq 1 ] && [ \$(grep -c ': error: ' '$work/err') -eq 20 ] &&
		tail -n 1 '$work/err' | grep -q 'too many errors emitted, stopping now'"
check "10,000 errors: the 6 KB line is shown clipped around the caret" \
	sh -c "[ \$(awk '{ if (length > m) m = length } END { print m }' '$work/err') -le 200 ] &&
		grep -q '^\\.\\.\\..* 1 \\.\\.\\.$' '$work/err'"
in_dir --check -fmax-errors=3 flood.va
check "-fmax-errors=3: three errors" sh -c "[ \$(grep -c ': error: ' '$work/err') -eq 3 ]"
in_dir --check -fmax-errors=0 flood.va
check "-fmax-errors=0: all 10,000 errors, each line clipped" \
	sh -c "[ $status -eq 1 ] && [ \$(grep -c ': error: ' '$work/err') -eq 10000 ] &&
		[ \$(wc -c < '$work/err') -lt 4000000 ]"
in_dir --check -fmax-errors=x flood.va
check "-fmax-errors=x: a usage error" sh -c "[ $status -eq 2 ]"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
