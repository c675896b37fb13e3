#!/bin/sh
# `vbpf2c init`: for every kind it offers, `vbpf2c init KIND demo` in a
# fresh temporary directory, then `make` and `make test` in the project -
# the cases in the kernel, then the loader. `make test` is skipped, saying
# why, only where this process may not use bpf(). Then the errors: unknown
# kind, bad names, an existing NAME, usage - each with its message and exit
# status, and nothing left behind. And $(VBPF2C): `vbpf2c` when PATH finds
# the running vbpf2c, else its absolute path, quoted when it has spaces.
# And gen_templates.sh, which embeds templates/ into the binary.
# Last line: "N passed, N failed, N skipped"; exit status 1 when anything
# failed.
set -u
cd "$(dirname "$0")/.." || exit 2

VBPF2C=${VBPF2C:-$(pwd)/vbpf2c}
RUNCASES=build/vbpf-runcases
passed=0 failed=0 skipped=0

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
skip() { echo "SKIP $1"; skipped=$((skipped + 1)); }

tmp=$(mktemp -d /tmp/vbpf2c-init.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP PIPE

if ! make -s "$RUNCASES" >/dev/null; then
	echo "init.sh: cannot build $RUNCASES"
	echo "0 passed, 1 failed"
	exit 1
fi
kernel_ok=true
why=$("$RUNCASES" --probe) || kernel_ok=false

# Debian's PATH for users: no /usr/sbin, where bpftool is.
USER_PATH=/usr/local/bin:/usr/bin:/bin

kinds=$("$VBPF2C" init --help | sed -n '/^KIND is one of:/,/^$/s/^  \([a-z_]*\) .*/\1/p')
[ -n "$kinds" ] || fail "init --help lists no kinds"

# ---- every kind: init, make, make test ------------------------------------

for kind in $kinds; do
	dir=$tmp/$kind
	mkdir "$dir"
	if ! (cd "$dir" && "$VBPF2C" init "$kind" demo) >"$dir/init.out" 2>&1; then
		fail "$kind: vbpf2c init failed:"
		sed 's/^/    /' "$dir/init.out"
		continue
	fi
	# The starter .va must be one vbpf2c accepts silently.
	if ! "$VBPF2C" --check "$dir/demo/demo.va" >"$dir/check.out" 2>&1 || [ -s "$dir/check.out" ]; then
		fail "$kind: demo.va is not accepted silently:"
		sed 's/^/    /' "$dir/check.out"
	fi
	if ! env PATH="$USER_PATH" make -C "$dir/demo" >"$dir/make.out" 2>&1; then
		fail "$kind: make failed:"
		sed 's/^/    /' "$dir/make.out"
		continue
	fi
	if [ ! -x "$dir/demo/demo" ] || [ ! -s "$dir/demo/demo.bpf.o" ] || [ ! -s "$dir/demo/demo.skel.h" ]; then
		fail "$kind: make did not build demo, demo.bpf.o and demo.skel.h"
		continue
	fi
	# (the project's make links with -Wall -Wextra -Werror: a warning in
	# either half has already failed it)
	clean=true
	# The C files read as the rest of the generated C: clang-format with
	# the project's style leaves them as they are.
	cp .clang-format "$dir/demo/"
	for c in "$dir/demo/demo.c" "$dir/demo/demo_hand.bpf.c"; do
		clang-format --style=file "$c" | diff -u "$c" - >"$dir/format.out" ||
			{ fail "$kind: clang-format changes ${c##*/}:"; sed 's/^/    /' "$dir/format.out"; clean=false; }
	done
	rm "$dir/demo/.clang-format"
	$clean && pass "$kind: init, make"
	if ! $kernel_ok; then
		skip "$kind: make test: $why"
		continue
	fi
	if ! env PATH="$USER_PATH" make -C "$dir/demo" test >"$dir/test.out" 2>&1; then
		fail "$kind: make test failed:"
		sed 's/^/    /' "$dir/test.out"
		continue
	fi
	# The cases all ran and passed, and the loader read the shared map
	# through the skeleton: the program saw the loader's packet, or the
	# loader's own system calls.
	cases=$(grep -c '^case ' "$dir/demo/demo.cases")
	if ! grep -q "^$((cases + 1)) passed, 0 failed\$" "$dir/test.out"; then
		fail "$kind: make test did not pass all $cases cases:"
		sed 's/^/    /' "$dir/test.out"
	elif ! grep -Eq '^1 packets, [1-9][0-9]* bytes$|^[1-9][0-9]* system calls, [1-9][0-9]* by the tracked process' \
		"$dir/test.out"; then
		fail "$kind: the loader did not print what the program counted:"
		sed 's/^/    /' "$dir/test.out"
	else
		pass "$kind: make test: $cases cases, loader"
	fi
done

# make clean leaves what init wrote, for every project built above.
for kind in $kinds; do
	[ -x "$tmp/$kind/demo/demo" ] || continue
	mkdir "$tmp/fresh-$kind" && (cd "$tmp/fresh-$kind" && "$VBPF2C" init "$kind" demo >/dev/null)
	make -C "$tmp/$kind/demo" clean >/dev/null 2>&1
	if [ "$(ls -A "$tmp/$kind/demo")" = "$(ls -A "$tmp/fresh-$kind/demo")" ]; then
		pass "$kind: make clean leaves what init wrote"
	else
		fail "$kind: after make clean: $(ls -A "$tmp/$kind/demo" | tr '\n' ' ')"
	fi
done

# ---- errors ----------------------------------------------------------------

# expect_error LABEL STATUS MESSAGE ARGS...: `vbpf2c ARGS` in an empty
# directory exits with STATUS, says MESSAGE (a fixed string) on stderr,
# and leaves the directory as it was.
expect_error() {
	label=$1 want_status=$2 want_message=$3
	shift 3
	dir=$tmp/err
	rm -rf "$dir" && mkdir "$dir"
	[ -n "${SETUP:-}" ] && (cd "$dir" && eval "$SETUP")
	before=$(ls -lA "$dir")
	(cd "$dir" && "$VBPF2C" "$@") >"$tmp/err.out" 2>"$tmp/err.err"
	status=$?
	if [ "$status" -ne "$want_status" ]; then
		fail "$label: exit status $status, expected $want_status"
	elif ! grep -qF -- "$want_message" "$tmp/err.err"; then
		fail "$label: stderr does not say '$want_message':"
		sed 's/^/    /' "$tmp/err.err"
	elif [ -s "$tmp/err.out" ]; then
		fail "$label: wrote to standard output"
	elif [ "$(ls -lA "$dir")" != "$before" ]; then
		fail "$label: the directory changed:"
		ls -lA "$dir" | sed 's/^/    /'
	else
		pass "$label"
	fi
}

expect_error "unknown kind" 2 \
	"vbpf2c init: unknown kind 'kprobe' (expected one of: $(echo $kinds | sed 's/ /, /g'))" \
	init kprobe demo
expect_error "name starting with a digit" 2 \
	"vbpf2c init: cannot use '1demo' as a project name: it starts with a digit" init xdp 1demo
expect_error "name with a dash" 2 \
	"vbpf2c init: cannot use 'my-demo' as a project name: it is not a C identifier" init xdp my-demo
expect_error "name with a slash" 2 \
	"vbpf2c init: cannot use 'a/b' as a project name: it is not a C identifier" init xdp a/b
expect_error "empty name" 2 "vbpf2c init: cannot use '' as a project name: it is empty" init xdp ''
expect_error "name too long" 2 "as a project name: it is longer than 64 characters" \
	init xdp "$(printf 'x%.0s' $(seq 65))"
expect_error "name the Makefile uses" 2 \
	"vbpf2c init: cannot use 'test' as a project name: the project's Makefile uses that name" \
	init tc test
SETUP='mkdir demo' expect_error "existing directory" 2 \
	"vbpf2c init: demo already exists: choose another name or remove it" init xdp demo
SETUP='echo keep > demo' expect_error "existing file" 2 \
	"vbpf2c init: demo already exists" init xdp demo
SETUP='ln -s nowhere demo' expect_error "dangling symbolic link" 2 \
	"vbpf2c init: demo already exists" init xdp demo
expect_error "no NAME" 2 "vbpf2c init: expected a KIND and a NAME: vbpf2c init KIND NAME" init xdp
expect_error "three arguments" 2 \
	"vbpf2c init: too many arguments (from 'extra' on): give one KIND and one NAME" \
	init xdp demo extra
expect_error "unknown option" 2 "vbpf2c init: unknown option '--force'" init --force xdp demo

# A directory where nothing may be created (as root, only a read-only
# mount would refuse; root ignores the permission bits).
if [ "$(id -u)" != 0 ]; then
	SETUP='chmod 555 .' expect_error "unwritable directory" 2 \
		"vbpf2c init: cannot create a directory here" init xdp demo
	chmod 755 "$tmp/err"
fi

# I/O failures and a signal half-way, injected with strace: a write that
# fails on the third file, a rename that fails at the end, SIGTERM during
# the third write. Each time the temporary directory goes and NAME never
# appears.
if command -v strace >/dev/null; then
	dir=$tmp/err
	for inject in "write:error=ENOSPC:when=3|cannot write demo/" \
		      "renameat2:error=EIO|cannot create demo: Input/output error"; do
		message=${inject#*|} inject=${inject%%|*}
		rm -rf "$dir" && mkdir "$dir"
		# LeakSanitizer (make sanitize) cannot run under ptrace
		(cd "$dir" && ASAN_OPTIONS=detect_leaks=0 strace -f -o /dev/null -e trace=all -e inject="$inject" \
			"$VBPF2C" init xdp demo) >/dev/null 2>"$tmp/err.err"
		status=$?
		if [ "$status" -ne 2 ]; then
			fail "injected $inject: exit status $status, expected 2"
		elif ! grep -qF "vbpf2c init: $message" "$tmp/err.err"; then
			fail "injected $inject: stderr does not say '$message':"
			sed 's/^/    /' "$tmp/err.err"
		elif [ -n "$(ls -A "$dir")" ]; then
			fail "injected $inject: left behind: $(ls -A "$dir")"
		else
			pass "injected $inject: $(cat "$tmp/err.err")"
		fi
	done
	# Interrupted half-way: killed by the signal, after removing the
	# temporary directory.
	# (An inner shell takes the death: this one would print "Terminated".)
	rm -rf "$dir" && mkdir "$dir"
	status=$(cd "$dir" && sh -c '"$@" >/dev/null 2>&1; echo $?' sh \
		env ASAN_OPTIONS=detect_leaks=0 strace -f -o /dev/null -e trace=write -e inject=write:signal=SIGTERM:when=3 \
		"$VBPF2C" init xdp demo 2>/dev/null)
	if [ "$status" -ne 143 ]; then
		fail "SIGTERM half-way: exit status $status, expected 143 (killed by SIGTERM)"
	elif [ -n "$(ls -A "$dir")" ]; then
		fail "SIGTERM half-way: left behind: $(ls -A "$dir")"
	else
		pass "SIGTERM half-way: nothing left behind"
	fi
else
	skip "I/O failures and signals half-way: no strace to inject them"
fi

# ---- $(VBPF2C) in the Makefile -----------------------------------------------

# Not on PATH: the absolute path of the running executable.
dir=$tmp/path && mkdir "$dir"
(cd "$dir" && env PATH=/usr/bin:/bin "$VBPF2C" init xdp p >/dev/null)
line=$(grep '^VBPF2C ' "$dir/p/Makefile")
if [ "$line" = "VBPF2C  ?= $(realpath "$VBPF2C")" ]; then
	pass "VBPF2C: absolute path when PATH does not find it"
else
	fail "VBPF2C: expected the absolute path, got: $line"
fi

# On PATH (here through a symbolic link to this same executable): vbpf2c.
mkdir "$dir/bin" && ln -s "$VBPF2C" "$dir/bin/vbpf2c"
(cd "$dir" && env PATH="$dir/bin:/usr/bin:/bin" vbpf2c init xdp q >/dev/null)
line=$(grep '^VBPF2C ' "$dir/q/Makefile")
if [ "$line" = "VBPF2C  ?= vbpf2c" ]; then
	pass "VBPF2C: vbpf2c when PATH finds the running executable"
else
	fail "VBPF2C: expected vbpf2c, got: $line"
fi

# Another vbpf2c first on PATH: the running one's path, not the other.
mkdir "$dir/other" && printf '#!/bin/sh\nexit 1\n' >"$dir/other/vbpf2c" && chmod +x "$dir/other/vbpf2c"
(cd "$dir" && env PATH="$dir/other:/usr/bin:/bin" "$VBPF2C" init xdp r >/dev/null)
line=$(grep '^VBPF2C ' "$dir/r/Makefile")
if [ "$line" = "VBPF2C  ?= $(realpath "$VBPF2C")" ]; then
	pass "VBPF2C: absolute path when PATH finds another vbpf2c"
else
	fail "VBPF2C: expected the absolute path, got: $line"
fi

# A path with a space and a '$': quoted for the shell and make, and make
# then builds the object with it.
spaced="$dir/my \$tools"
mkdir "$spaced" && cp "$VBPF2C" "$spaced/vbpf2c"
(cd "$dir" && env PATH=/usr/bin:/bin "$spaced/vbpf2c" init xdp s >/dev/null)
line=$(grep '^VBPF2C ' "$dir/s/Makefile")
if [ "$line" != "VBPF2C  ?= '$dir/my \$\$tools/vbpf2c'" ]; then
	fail "VBPF2C: expected a quoted path, got: $line"
elif ! make -C "$dir/s" s.bpf.o >"$dir/s.out" 2>&1; then
	fail "VBPF2C: make with a quoted path failed:"
	sed 's/^/    /' "$dir/s.out"
else
	pass "VBPF2C: a path with a space and a \$ is quoted, and make runs it"
fi

# ---- gen_templates.sh: what it embeds, byte for byte -------------------------

dir=$tmp/gen && mkdir -p "$dir/t/init/k/deep" "$dir/t/.git" "$dir/t/init/.hidden"
echo "documents the directory" >"$dir/t/README.md"
echo "a kind's README is a template" >"$dir/t/init/k/README.md"
echo "dot file" >"$dir/t/init/.swp"
echo "in a dot directory" >"$dir/t/.git/config"
echo "in a dot directory" >"$dir/t/init/.hidden/x"
printf 'tab\there "quoted" back\\slash ??= @NAME@\nno newline at the end' >"$dir/t/init/k/deep/odd"
: >"$dir/t/empty"
cat >"$dir/dump.c" <<'EOC'
#include <stdio.h>
#include "templates.gen.h"
int main(int argc, char **argv)
{
	if (argc > 1) {
		const struct template_file *t = template_lookup(argv[1]);
		return t && fwrite(t->text, 1, t->len, stdout) == t->len ? 0 : 1;
	}
	for (const struct template_file *t = template_files; t->name; t++)
		printf("%s\n", t->name);
	return 0;
}
EOC
if ! sh translator/commands/gen_templates.sh "$dir/t" >"$dir/templates.gen.h" ||
   ! cc -std=c11 -Wall -Wextra -Werror -I"$dir" -o "$dir/dump" "$dir/dump.c" 2>"$dir/cc.err"; then
	fail "gen_templates.sh: its header does not compile:"
	sed 's/^/    /' "$dir/cc.err"
elif [ "$("$dir/dump" | tr '\n' ' ')" != "empty init/k/README.md init/k/deep/odd " ]; then
	fail "gen_templates.sh embeds: $("$dir/dump" | tr '\n' ' ')"
elif ! "$dir/dump" init/k/deep/odd | cmp -s - "$dir/t/init/k/deep/odd" ||
     ! "$dir/dump" empty | cmp -s - "$dir/t/empty"; then
	fail "gen_templates.sh: the embedded text differs from the file"
else
	pass "gen_templates.sh: subdirectories, no dot files or top README, exact bytes"
fi

# ---- determinism --------------------------------------------------------------

dir=$tmp/twice && mkdir -p "$dir/a" "$dir/b"
(cd "$dir/a" && "$VBPF2C" init tc same >/dev/null) && (cd "$dir/b" && "$VBPF2C" init tc same >/dev/null)
if diff -r "$dir/a" "$dir/b" >/dev/null; then
	pass "the same KIND and NAME give the same files"
else
	fail "two runs of vbpf2c init tc same differ"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
