#!/bin/sh
# make demo: the main job in one go - the C vbpf2c writes for an example,
# compiled by clang, its cases run in the kernel, and a live raw tracepoint
# program printing its maps for a few seconds.
set -u
cd "$(dirname "$0")/.." || exit 2
VBPF2C=${VBPF2C:-./vbpf2c}
EXAMPLE=${EXAMPLE:-examples/xdp_proto_counter.va}
LIVE=${LIVE:-examples/raw_tp_syscall_count.va}
SECONDS_LIVE=${SECONDS_LIVE:-3}
mkdir -p build/demo

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "$EXAMPLE"
cat "$EXAMPLE"

step "$VBPF2C $EXAMPLE"
"$VBPF2C" "$EXAMPLE" | tee build/demo/prog.bpf.c || exit 1

step "clang -O2 -g -Wall -Wextra -Werror -target bpf -c prog.bpf.c"
${CLANG:-clang} -O2 -g -Wall -Wextra -Werror -target bpf \
	-I/usr/include/"$(uname -m)"-linux-gnu -c build/demo/prog.bpf.c -o build/demo/prog.bpf.o &&
	ls -l build/demo/prog.bpf.o || exit 1

if [ "$(id -u)" != 0 ]; then
	step "not root: the kernel parts need root (sudo make demo)"
	exit 0
fi

step "$VBPF2C test $EXAMPLE  (cases: ${EXAMPLE%.va}.cases)"
"$VBPF2C" test --dump "$EXAMPLE" || exit 1

step "$VBPF2C run --duration=$SECONDS_LIVE $LIVE"
"$VBPF2C" run --duration="$SECONDS_LIVE" "$LIVE" | head -n 60
