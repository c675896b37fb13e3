# vbpf2c - Vaisto BPF to libbpf C.
#
#   make            build ./vbpf2c (installs missing Debian packages when root)
#   make test       build and run every test: unit, golden, kernel, mixing,
#                   init, and the two backends on 300 generated programs
#                   (NATIVE_DIFF_COUNT, from seed NATIVE_DIFF_SEED)
#   make fuzz-diff  the two backends on fresh generated programs for
#                   FUZZ_DIFF_SECONDS (default 600), each failure reduced
#   make examples   build examples/mixed: linked object, skeleton, loader
#   make sanitize   build vbpf2c and the unit tests with ASan and UBSan (no
#                   recovery) into build/sanitize/, and run every test
#                   with them
#   make fuzz       run the front-end fuzzer, then the one through every
#                   backend, each for FUZZ_SECONDS (default 600)
#   make bench      run the benchmarks in bench/
#   make install    install vbpf2c and its man page under PREFIX

PREFIX     ?= /usr/local
CC         ?= cc
CLANG      ?= clang
FUZZ_SECONDS ?= 600
FUZZ_DIFF_SECONDS ?= 600

# Debian 12 packages the build, the tests and the generated C need.
DEB_PACKAGES = build-essential clang llvm libbpf-dev libelf-dev zlib1g-dev \
               libcriterion-dev bpftool pkg-config iproute2 clang-format strace

CFLAGS   ?= -O2 -g

# The vbpf2c every test script runs (they read $VBPF2C): `make sanitize`
# points it at the sanitizer build.
VBPF2C ?= $(CURDIR)/vbpf2c
export VBPF2C
WARN      = -Wall -Wextra -Werror
# translator/: one folder per stage (frontend, cbackend, native, object,
# commands); the header every stage shares sits above them.
TRANSLATOR_DIRS = $(sort $(dir $(wildcard translator/*/*.c)))
TRANSLATOR_INC  = -Itranslator $(patsubst %/,-I%,$(TRANSLATOR_DIRS))
vpath %.c $(TRANSLATOR_DIRS)
ALL_CFLAGS = -std=c11 $(WARN) -D_GNU_SOURCE -Ibuild $(TRANSLATOR_INC) $(CFLAGS)

# main.c and the subcommands that need libbpf (cmd_*.c) go into vbpf2c only,
# so the fuzzer and the library stay free of the runtime.
TRANSLATOR_SRC = $(sort $(filter-out translator/commands/main.c translator/commands/cmd_%.c,\
                 $(wildcard translator/*/*.c)))
COMMAND_OBJ    = $(patsubst translator/commands/%.c,build/%.o,$(wildcard translator/commands/cmd_*.c))
TRANSLATOR_OBJ = $(patsubst %.c,build/%.o,$(notdir $(TRANSLATOR_SRC)))
RUNTIME_SRC    = $(sort $(wildcard runtime/*.c))
RUNTIME_OBJ    = $(RUNTIME_SRC:runtime/%.c=build/runtime_%.o)
UNIT_SRC       = $(sort $(wildcard tests/unit/*.c))
HEADERS        = $(wildcard translator/*.h translator/*/*.h translator/*.def runtime/*.h) build/helpers.gen.h build/templates.gen.h \
                 build/uapi_structs.gen.h

.PHONY: all deps test unit-test golden-test kernel-test mixing-test init-test native-diff-test \
	fuzz-diff cflags-test examples fuzz sanitize bench install clean demo
all: deps vbpf2c

# Installs what is missing when run as root; otherwise prints the command.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
		else \
			echo "missing Debian packages; run: sudo apt-get install$$missing"; exit 1; \
		fi; \
	fi

# Everything is built inside build/, and build/ waits for the packages:
# with `make -j` the compilers and gen_helpers.sh's libbpf header must be
# installed before the first rule that uses them starts.
build: | deps
	@mkdir -p build

# libbpf's own helper list: one line per helper, generated, never typed by hand.
build/helpers.gen.h: translator/frontend/gen_helpers.sh | build
	sh translator/frontend/gen_helpers.sh /usr/include/bpf/bpf_helper_defs.h > $@.tmp && mv $@.tmp $@

# The structs <linux/bpf.h> defines, which a kernel type may not redefine.
build/uapi_structs.gen.h: translator/frontend/gen_uapi_structs.sh | build
	sh translator/frontend/gen_uapi_structs.sh /usr/include/linux/bpf.h > $@.tmp && mv $@.tmp $@

# templates/ embedded into the binary as C strings.
# Directories too: removing a template changes its directory.
build/templates.gen.h: translator/commands/gen_templates.sh $(shell find templates) | build
	sh translator/commands/gen_templates.sh templates > $@.tmp && mv $@.tmp $@

build/%.o: %.c $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) -c $< -o $@

build/runtime_%.o: runtime/%.c $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) -Iruntime -c $< -o $@

build/libvbpf2c.a: $(TRANSLATOR_OBJ)
	rm -f $@ && ar rcs $@ $^

build/libvbpf2c_runtime.a: $(RUNTIME_OBJ)
	rm -f $@ && ar rcs $@ $^

# vbpf2c is linked statically (the -dev packages above ship libbpf.a,
# libelf.a and libz.a): the dynamic loader's work at every start - four
# libraries mapped and their symbols bound - cost more than a whole
# translation of a small program, and `vbpf2c -c` pays it on top of clang
# (bench/README.md). Not position-independent: a static PIE relocates its
# own data at every start (3,900 relocations, a dozen pages written), and
# that made translating an example 0.47 ms slower (2.94 against 2.47 ms,
# least of 61 runs each).
# `make VBPF2C_LDFLAGS=` links it against the shared libraries instead.
VBPF2C_LDFLAGS ?= -static -no-pie
vbpf2c: build/main.o $(COMMAND_OBJ) build/libvbpf2c.a build/libvbpf2c_runtime.a
	$(CC) $(ALL_CFLAGS) $(VBPF2C_LDFLAGS) -o $@ $^ -lbpf -lelf -lz

build/unit_tests: $(UNIT_SRC) $(wildcard tests/unit/*.h) build/libvbpf2c.a build/libvbpf2c_runtime.a $(HEADERS)
	$(CC) $(ALL_CFLAGS) -Iruntime -o $@ $(UNIT_SRC) build/libvbpf2c.a build/libvbpf2c_runtime.a -lcriterion -lbpf -lelf -lz

# The kernel tests' case runner, and the probe that says whether bpf() may
# be used here (tests/kernel.sh, tests/init.sh).
build/vbpf-runcases: tests/kernel/runcases.c build/libvbpf2c_runtime.a $(HEADERS)
	$(CC) $(ALL_CFLAGS) -Iruntime -o $@ tests/kernel/runcases.c build/libvbpf2c_runtime.a -lbpf -lelf -lz

unit-test: build/unit_tests
	./build/unit_tests

golden-test: vbpf2c
	sh tests/c_library_names.sh
	sh tests/golden.sh
	sh tests/outputs.sh
	sh tests/diffstable.sh
	sh tests/review.sh
	sh tests/asm.sh

kernel-test: vbpf2c
	sh tests/run_cleanup.sh
	sh tests/kernel.sh

init-test: vbpf2c build/vbpf-runcases
	sh tests/init.sh

# Both backends on generated programs (tests/native/randprog.c, oracle
# tests/native/diffone.sh, docs/testing.md): each must pass --check, give
# -Wall -Wextra -Werror clean C, load twice, and leave the same return
# values, packets, maps and globals after every run. NATIVE_DIFF_COUNT
# (default 300) programs from NATIVE_DIFF_SEED (default 1), two at a time.
native-diff-test: vbpf2c build/vbpf-runcases
	sh tests/native_diff.sh

# The same on fresh seeds for FUZZ_DIFF_SECONDS; the first program of each
# failure signature is reduced (tests/native/reduce.sh) into
# build/native_diff/reduced/.
fuzz-diff: deps vbpf2c build/vbpf-runcases
	NATIVE_DIFF_SECONDS=$(FUZZ_DIFF_SECONDS) NATIVE_DIFF_REDUCE=1 sh tests/native_diff.sh

demo: deps vbpf2c
	sh tests/demo.sh

# examples/mixed: a Vaisto half and a hand-written C half linked into one
# object by vbpf2c -c, its bpftool skeleton, and the user-space loader
# that uses it (docs/mixing.md).
BPFTOOL   ?= bpftool
MIXED      = build/examples/mixed
MIXED_SRC  = examples/mixed/flowstats.va examples/mixed/flowstats_parse.bpf.c

examples: $(MIXED)/loader

$(MIXED)/flowstats.bpf.o: $(MIXED_SRC) vbpf2c
	@mkdir -p $(MIXED)
	$(VBPF2C) -c -Wall -Wextra -Werror $(MIXED_SRC) -o $@

$(MIXED)/flowstats.h: examples/mixed/flowstats.va vbpf2c
	@mkdir -p $(MIXED)
	$(VBPF2C) --emit=h $< -o $@

$(MIXED)/flowstats.skel.h: $(MIXED)/flowstats.bpf.o
	$(BPFTOOL) gen skeleton $< name flowstats > $@.tmp && mv $@.tmp $@

$(MIXED)/loader: examples/mixed/loader.c $(MIXED)/flowstats.skel.h $(MIXED)/flowstats.h
	$(CC) -std=c11 $(WARN) -D_GNU_SOURCE $(CFLAGS) -I$(MIXED) -o $@ $< -lbpf -lelf -lz

mixing-test: vbpf2c examples
	sh tests/mixing.sh

# Every source builds warning-free at -O0 ... -O3 and -Os (make CFLAGS=...).
cflags-test: build/helpers.gen.h build/templates.gen.h
	sh tests/cflags.sh

test: deps vbpf2c
	$(MAKE) unit-test golden-test kernel-test mixing-test init-test native-diff-test cflags-test

# The whole suite again with AddressSanitizer and UndefinedBehaviorSanitizer
# in vbpf2c (every subcommand, and the vbpf2c a link runs) and in the unit
# tests; any report fails the run (-fno-sanitize-recover=all, ASan's
# default abort). The mixed example is rebuilt by the sanitized vbpf2c.
SANITIZE   = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_CFLAGS = -std=c11 $(WARN) -D_GNU_SOURCE -Ibuild $(TRANSLATOR_INC) -Iruntime -O1 -g $(SANITIZE)
SAN_SRC    = $(sort $(wildcard translator/*/*.c)) $(RUNTIME_SRC)

build/sanitize/vbpf2c: $(SAN_SRC) $(HEADERS)
	@mkdir -p build/sanitize
	$(CC) $(SAN_CFLAGS) -o $@ $(SAN_SRC) -lbpf -lelf -lz

build/sanitize/unit_tests: $(UNIT_SRC) $(wildcard tests/unit/*.h) $(TRANSLATOR_SRC) $(RUNTIME_SRC) $(HEADERS)
	@mkdir -p build/sanitize
	$(CC) $(SAN_CFLAGS) -o $@ $(UNIT_SRC) $(TRANSLATOR_SRC) $(RUNTIME_SRC) -lcriterion -lbpf -lelf -lz

# Criterion's workers report a leak without failing the test: the log is
# searched too.
sanitize: deps vbpf2c build/sanitize/vbpf2c build/sanitize/unit_tests
	./build/sanitize/unit_tests > build/sanitize/unit.log 2>&1; status=$$?; cat build/sanitize/unit.log; \
		[ $$status -eq 0 ] && ! grep -q 'Sanitizer' build/sanitize/unit.log
	rm -rf $(MIXED)
	$(MAKE) -k VBPF2C=$(CURDIR)/build/sanitize/vbpf2c golden-test kernel-test mixing-test init-test \
		native-diff-test

# libFuzzer, with ASan and UBSan: fuzz_frontend over reader + parser +
# checker; fuzz_backends over the front end and then every backend (C,
# header, native bytecode and ELF, read back and disassembled). Each runs
# FUZZ_SECONDS; findings land in build/ as crash-*, leak-*, timeout-*.
# The checker reads kernel types from BTF through libbpf (ktypes.c):
# linked, not instrumented.
FUZZ_FLAGS = -std=c11 -g -O1 -D_GNU_SOURCE -Ibuild $(TRANSLATOR_INC) -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all
FUZZ_SRC = $(filter-out translator/native/%.c,$(TRANSLATOR_SRC))
build/fuzz_frontend: tests/fuzz/fuzz_frontend.c $(FUZZ_SRC) $(HEADERS)
	$(CLANG) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_frontend.c $(FUZZ_SRC) -lbpf -lelf -lz

build/fuzz_backends: tests/fuzz/fuzz_backends.c $(TRANSLATOR_SRC) $(HEADERS)
	$(CLANG) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_backends.c $(TRANSLATOR_SRC) -lbpf -lelf -lz

FUZZ_SEEDS = examples tests/err tests/ok tests/gen
fuzz: deps build/fuzz_frontend build/fuzz_backends
	mkdir -p build/fuzz-corpus build/fuzz-corpus-backends
	./build/fuzz_frontend -max_total_time=$(FUZZ_SECONDS) -timeout=10 -artifact_prefix=build/ \
		build/fuzz-corpus $(FUZZ_SEEDS)
	./build/fuzz_backends -max_total_time=$(FUZZ_SECONDS) -timeout=10 -artifact_prefix=build/backends- \
		build/fuzz-corpus-backends $(FUZZ_SEEDS)

bench: vbpf2c
	sh bench/run.sh

install: vbpf2c
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 vbpf2c $(DESTDIR)$(PREFIX)/bin/vbpf2c
	install -m 644 vbpf2c.1 $(DESTDIR)$(PREFIX)/share/man/man1/vbpf2c.1

clean:
	rm -rf build vbpf2c
