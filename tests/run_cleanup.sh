#!/bin/sh
# run_cleanup.sh - `vbpf2c run` killed with SIGKILL cannot clean up; the
# next run must find what it left (names carrying the dead pid: the netns
# vbpf2c-PID and its veth, the cgroup vbpf2c-run-PID, /tmp/vbpf2c-run-PID,
# and the tracefs mount it made), remove it and say so (issue 16.9). Run by
# `make kernel-test`; needs root and a kernel that loads BPF.
#
# Three runs (xdp, cgroup_skb, tracepoint) are killed once attached; a
# fourth must report and remove all three runs' leftovers. Whatever is
# still there at the end is removed by this script, so a failure leaves the
# machine as it was.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
vbpf2c=${VBPF2C:-$root/vbpf2c}

if [ "$(id -u)" != 0 ]; then
	echo "SKIP run_cleanup: needs root"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/run_cleanup.XXXXXX") || exit 2
pids=""
tracefs_before=$(grep -c ' /sys/kernel/tracing tracefs ' /proc/mounts)

# Whatever a failed check left: the dead runs' names, by pid.
scrub() {
	for pid in $pids; do
		kill -KILL "$pid" 2> /dev/null
		ip link del "vbpf${pid}a" 2> /dev/null
		ip netns del "vbpf2c-$pid" 2> /dev/null
		for cg in $(awk '$3 == "cgroup2" { print $2 }' /proc/mounts); do
			rmdir "$cg/vbpf2c-run-$pid" 2> /dev/null
		done
		rm -rf "/tmp/vbpf2c-run-$pid"
	done
	if [ "$tracefs_before" -eq 0 ] && grep -q ' /sys/kernel/tracing tracefs ' /proc/mounts; then
		umount /sys/kernel/tracing
	fi
	rm -rf "$work"
}
trap scrub EXIT
trap 'exit 2' HUP INT TERM

. "$root/tests/check.sh"

# start_and_kill EXAMPLE: a run, SIGKILLed once it says it is running;
# leaves its pid in $pid.
start_and_kill() {
	"$vbpf2c" run "$root/examples/$1" > "$work/$1.out" 2>&1 &
	pid=$!
	pids="$pids $pid"
	tries=0
	until grep -qs '^running' "$work/$1.out" || [ $tries -ge 100 ]; do
		sleep 0.1
		tries=$((tries + 1))
	done
	kill -KILL "$pid"
	wait "$pid" 2> /dev/null
	cp "$work/$1.out" "$work/err"
	check "$1: the run got as far as running" grep -q '^running' "$work/$1.out"
}

# gone PID: nothing with run PID's name is left
gone() {
	! ip netns list | grep -q "^vbpf2c-$1\b" && ! ip link show "vbpf${1}a" > /dev/null 2>&1 &&
		[ ! -e "/tmp/vbpf2c-run-$1" ] &&
		! ls -d $(awk '$3 == "cgroup2" { print $2 }' /proc/mounts | sed "s|\$|/vbpf2c-run-$1|") \
			> /dev/null 2>&1
}

# Each run removes what the one killed before it left. Its pins are among
# that where a bpffs is mounted on /sys/fs/bpf (bpftool mounts one);
# elsewhere they went with the run's own private bpffs.
pins='(pins [^ ,]+, )?'
start_and_kill xdp_packet_counter.va
xdp_pid=$pid
check "xdp run killed: its netns and directory are left" \
	sh -c "ip netns list | grep -q '^vbpf2c-$xdp_pid\b' && [ -d /tmp/vbpf2c-run-$xdp_pid ]"

start_and_kill cgroup_skb_filter.va
cgroup_pid=$pid
check "the cgroup run said it removed the xdp run's netns, veth and directory" \
	grep -Eq "removed what an earlier run \(pid $xdp_pid\) left: veth vbpf${xdp_pid}a, netns vbpf2c-$xdp_pid, $pins/tmp/vbpf2c-run-$xdp_pid" \
	"$work/cgroup_skb_filter.va.out"
check "nothing of the xdp run is left" gone "$xdp_pid"
check "cgroup run killed: its cgroup is left" \
	sh -c "ls -d \$(awk '\$3 == \"cgroup2\" { print \$2 }' /proc/mounts | sed 's|\$|/vbpf2c-run-$cgroup_pid|') 2> /dev/null | grep -q ."

start_and_kill tracepoint_fork_count.va
trace_pid=$pid
check "the tracepoint run said it removed the cgroup run's cgroup" \
	grep -Eq "removed what an earlier run \(pid $cgroup_pid\) left: cgroup .*/vbpf2c-run-$cgroup_pid, $pins/tmp/vbpf2c-run-$cgroup_pid" \
	"$work/tracepoint_fork_count.va.out"
check "nothing of the cgroup run is left" gone "$cgroup_pid"
if [ "$tracefs_before" -eq 0 ]; then
	check "tracepoint run killed: its tracefs mount is left" \
		grep -q ' /sys/kernel/tracing tracefs ' /proc/mounts
fi

"$vbpf2c" run --duration=1 "$root/examples/xdp_packet_counter.va" > "$work/next.out" 2> "$work/err"
status=$?
check "the last run succeeds" [ "$status" -eq 0 ]
check "the last run said it removed what the tracepoint run left" \
	grep -q "removed what an earlier run (pid $trace_pid) left: " "$work/err"
check "nothing of the tracepoint run is left" gone "$trace_pid"
if [ "$tracefs_before" -eq 0 ]; then
	check "the tracefs mount the killed run made is gone" \
		sh -c "grep -q 'the tracefs mount on /sys/kernel/tracing' '$work/err' &&
			! grep -q ' /sys/kernel/tracing tracefs ' /proc/mounts"
fi
check "the last run left nothing either" gone "$(sed -n 's/.* in netns vbpf2c-\([0-9]*\)$/\1/p' "$work/next.out")"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
