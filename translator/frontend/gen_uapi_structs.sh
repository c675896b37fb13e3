#!/bin/sh
# gen_uapi_structs.sh - the structs <linux/bpf.h> defines, as a C fragment,
# one name a line:
#
#   "bpf_sock",
#
# Usage: sh gen_uapi_structs.sh /usr/include/linux/bpf.h > uapi_structs.gen.h
#
# Every generated C file includes <linux/bpf.h>. A kernel type (:k/NAME,
# LANGUAGE.md 11) that the header already defines cannot be declared again
# by the C: ktypes.c rejects those names, with this list. Only the names are
# taken from the header; the types themselves always come from BTF.
set -eu

if [ $# -ne 1 ] || [ ! -r "$1" ]; then
	echo "usage: sh gen_uapi_structs.sh path/to/linux/bpf.h" >&2
	exit 2
fi

sed -n 's/^struct \([A-Za-z_][A-Za-z_0-9]*\) {.*/"\1",/p' "$1" | LC_ALL=C sort -u
