/* vbpf_runtime.h - load, verify, test-run and inspect BPF objects that
 * vbpf2c produced (or any libbpf object).
 *
 * A thin layer over libbpf 1.1, named libbpf-style (object__method):
 *
 *   vbpf_obj__*        open and load an object; a verifier rejection is
 *                      printed like a compile error at the .va line
 *   vbpf_verifier_log__*  find the failing instruction, its source line and
 *                      the verifier's reason in a verifier log
 *   vbpf_prog__*       run one program with BPF_PROG_TEST_RUN
 *   vbpf_map__*        read, write and dump maps with their BTF types
 *   vbpf_cases__*      the .cases file format (docs/cases.md)
 *   vbpf_test__*       run a cases file against a loaded object
 *   vbpf_kernel__*     can this process use bpf() at all?
 *
 * Nothing here depends on the translator: user programs may link
 * libvbpf2c_runtime.a with -lbpf -lelf -lz on their own.
 */
#ifndef VBPF_RUNTIME_H
#define VBPF_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bpf_object;
struct bpf_program;
struct bpf_map;
struct btf;

/* ---- can we use bpf() at all? (object.c) ------------------------------ */

/* Loads a two-instruction socket filter. Returns 0 when bpf() works, else
 * -errno with a sentence for the user in why ("bpf() refused: ..."). */
int vbpf_kernel__probe(char *why, size_t why_size);

/* ---- verifier logs (verifier_log.c) ----------------------------------- */

/* What went wrong, found in a verifier log. */
struct vbpf_verifier_error {
	char file[256];     /* source file of the failing line ("prog.va"), "" if unknown */
	int line;           /* 1-based source line, 0 if the log names none */
	char source[512];   /* the source text the log quotes for that line */
	char insn[160];     /* the failing instruction, "12: (69) r1 = ..." */
	int insn_idx;       /* its index, -1 if none found */
	char reason[512];   /* first line of the verifier's complaint */
	char detail[1024];  /* further lines of the complaint, '\n'-separated */
};

/* Parses a verifier log (level 1). Returns 0 when a complaint was found. */
int vbpf_verifier_log__parse(const char *log, struct vbpf_verifier_error *err);
/* Is log the kernel's log of loading the object's BTF? libbpf writes it
 * into the same buffer, and goes on without the BTF when the kernel
 * refuses it (an array type too big, of a map of 2^31 entries): a
 * later failure - the map the kernel will not create - then leaves it
 * there, no complaint of the verifier. vbpf_verifier_log__parse fails
 * on it. */
bool vbpf_verifier_log__is_btf(const char *log);

/* The instruction count of a log's "processed N insns" line, the
 * verifier's total for the program (subprograms included), or -1 when the
 * log has none. Any log level that includes BPF_LOG_STATS (4) has it. */
int vbpf_verifier_log__processed_insns(const char *log);

/* Prints err like a compiler error:
 *   prog.va:8:15: error: verifier: invalid access to packet, ...
 *     proto (bpf/load_u16 data 12)]
 *           ^~~~~~~~~~~~~~~~~~~~~~
 *   note: verifier: R1 offset is outside of the packet
 *   note: failing instruction 1: (69) r1 = *(u16 *)(r1 +12)
 * The source line is read from err->file, relative to the working
 * directory or else to source_dir (may be NULL; the kernel gives only the
 * file's base name, so pass the .va's directory). The column is where the
 * construct that produced the failing instruction starts on that line
 * (load_uN for a packet load, the helper for a call), else the first
 * non-blank character: BTF line info carries the C column, not the .va one. */
void vbpf_verifier_error__print(const struct vbpf_verifier_error *err,
				const char *object_name, const char *source_dir, FILE *out);

/* ---- objects (object.c) ----------------------------------------------- */

struct vbpf_obj;

struct vbpf_obj_opts {
	const char *source_dir;  /* where .va files named by #line live, if not cwd */
	FILE *diag;              /* diagnostics; NULL means stderr */
	bool verbose;            /* also print libbpf's own messages */
	/* Pin `:pinned` maps in a directory of their own under /sys/fs/bpf
	 * (or, where no bpffs is mounted there, on a bpffs of its own under
	 * /tmp), removed with its pins by vbpf_obj__close: tests and runs
	 * leave nothing behind and never pick up another run's maps. */
	bool private_pins;
	/* Load every program with the verifier's statistics (log level
	 * BPF_LOG_STATS) for vbpf_obj__verified_insns. A rejection is still
	 * printed at the .va line: the object is then loaded once more with
	 * the usual log. */
	bool verifier_stats;
};

/* Opens an ELF object. NULL on failure (errno set, message on diag). */
struct vbpf_obj *vbpf_obj__open_file(const char *path, const struct vbpf_obj_opts *opts);
/* Creates maps and loads every program. On failure returns -errno and has
 * printed why: a verifier rejection as a located error, anything else
 * with libbpf's messages. */
int vbpf_obj__load(struct vbpf_obj *obj);
void vbpf_obj__close(struct vbpf_obj *obj);

struct bpf_object *vbpf_obj__bpf_object(const struct vbpf_obj *obj);
/* The verifier log of the last failed load ("" when none). */
const char *vbpf_obj__verifier_log(const struct vbpf_obj *obj);
/* The parsed complaint of the last failed load, or NULL. */
const struct vbpf_verifier_error *vbpf_obj__verifier_error(const struct vbpf_obj *obj);
/* After a load with opts.verifier_stats: the instructions the verifier
 * processed for prog ("processed N insns"), or -1 when unknown. */
int vbpf_obj__verified_insns(const struct vbpf_obj *obj, const struct bpf_program *prog);
/* Program by function name (source or C spelling); NULL name: the
 * object's first program. */
/* Is c_name the C name of the source name `source` (my-map: my_map)?
 * escaped: the C name of one the checker escaped with a trailing _ (a
 * reserved name, a C library function's); try every name unescaped
 * first. */
bool vbpf_c_name_is(const char *c_name, const char *source, bool escaped);
struct bpf_program *vbpf_obj__find_prog(const struct vbpf_obj *obj, const char *name);
/* Map by source name; falls back to the C name ("my-map" finds my_map). */
struct bpf_map *vbpf_obj__find_map(const struct vbpf_obj *obj, const char *name);

/* ---- running programs (test_run.c) ------------------------------------ */

struct vbpf_run_opts {
	const void *data;        /* packet bytes, or NULL */
	size_t data_size;
	const void *ctx;         /* context bytes (struct __sk_buff, xdp_md, raw tp args) */
	size_t ctx_size;
	unsigned repeat;         /* 0 or 1: once */
	void *data_out;          /* optional buffer for the packet after the run */
	size_t data_out_size;
};

struct vbpf_run_result {
	uint32_t retval;         /* the program's return value (of the last run) */
	uint32_t duration_ns;    /* average per run, as the kernel reports it */
	uint32_t data_size_out;
};

/* BPF_PROG_TEST_RUN. Returns 0 or -errno; errors are the kernel's
 * (EINVAL for a packet shorter than an Ethernet header, ENOTSUPP for a
 * program type that cannot be test-run...). */
int vbpf_prog__test_run(const struct bpf_program *prog, const struct vbpf_run_opts *opts,
			struct vbpf_run_result *result);

/* ---- maps (map_dump.c) ------------------------------------------------ */

#define VBPF_DUMP_SKIP_ZERO 1u   /* arrays: leave out entries whose value is all zero */

/* Prints every entry, key and value typed with the map's BTF:
 *   pkt_count (array, u32 -> u64, 64 entries):
 *     [0] = 3
 * Per-CPU maps print one value per possible CPU. A ring buffer prints
 * (and so consumes) its waiting records; perf event and prog arrays print
 * their header only. btf is the
 * object's (bpf_object__btf(), may be NULL: hex bytes). */
int vbpf_map__dump(const struct bpf_map *map, const struct btf *btf, FILE *out, unsigned flags);
/* Prints a key or value of map typed with btf (the object's BTF,
 * bpf_object__btf()), compact on one line; hex bytes when there is no
 * BTF type for it. */
void vbpf_map__print_typed(const struct bpf_map *map, const struct btf *btf, bool is_key,
			   const void *data, size_t size, FILE *out);
/* Value size as user space sees it: per-CPU maps hold one rounded-up
 * value per possible CPU. */
size_t vbpf_map__user_value_size(const struct bpf_map *map);

/* ---- ring-buffer events (events.c) ------------------------------------ */

struct vbpf_event {
	void *data;
	size_t size;
};

/* Consumes every record waiting in a BPF_MAP_TYPE_RINGBUF map. Returns
 * how many (the records in *events, to free with vbpf_events__free), or
 * -errno. */
int vbpf_ringbuf__drain(const struct bpf_map *map, struct vbpf_event **events);
void vbpf_events__free(struct vbpf_event *events, int count);
/* A BPF_MAP_TYPE_PERF_EVENT_ARRAY opened for reading on every CPU: the
 * program's bpf_perf_event_output() lands here from the moment it exists
 * (before, the kernel has nowhere to put the records and drops them).
 * A record's size is the kernel's: the data padded so that it and its
 * 4-byte size end on 8 bytes. NULL with errno on failure. */
struct vbpf_perfbuf;
struct vbpf_perfbuf *vbpf_perfbuf__new(const struct bpf_map *map);
/* Records that arrived since the last drain (free with vbpf_events__free);
 * *lost, when not NULL, gets how many the kernel dropped. */
int vbpf_perfbuf__drain(struct vbpf_perfbuf *pb, struct vbpf_event **events,
			unsigned long long *lost);
void vbpf_perfbuf__free(struct vbpf_perfbuf *pb);
/* Prints one record as BTF type type_id of btf when it fits the record
 * (a record the program declared; perf records carry padding): a struct
 * by its field names, `pid=4242 ppid=1 comm="bash"` (integers in decimal,
 * a byte array holding text as a string), else as btf_dump prints it;
 * without a type, as hex bytes. */
void vbpf_event__print(const struct vbpf_event *event, const struct btf *btf,
		       unsigned int type_id, FILE *out);
/* Prints data as struct type_id of btf by its field names, as
 * vbpf_event__print does; false (nothing printed) when type_id is no
 * struct that fits in size bytes, or has a field it cannot print so. */
bool vbpf_btf__print_fields(const struct btf *btf, unsigned int type_id, const void *data, size_t size,
			    FILE *out);
/* The record type a program declared for events of size bytes: the one
 * named struct of btf (context structs and the kernel's structs aside)
 * with that size, or that
 * size once padded as perf records are. 0 when there is none, or more
 * than one to choose from. */
unsigned int vbpf_event__record_type(const struct btf *btf, size_t size);
/* The records a program sends as events, when the object's BTF lacks them
 * (clang writes no BTF for the type of a local variable, and a ring
 * buffer cannot carry a value type): a BTF of those records alone, made
 * by whoever knows them (vbpf2c, from the source), with a typedef named
 * after each map that receives one record type only, to that record.
 * NULL: none. Kept, not copied. */
void vbpf_events__set_records(const struct btf *records);
/* An event of the map named map (NULL: unknown) by its record's field
 * names: the record the records set above name for that map, else the
 * record of its size in btf (the object's), else among the records set
 * above; false, nothing printed, when none has one. */
bool vbpf_event__print_record(const struct vbpf_event *event, const char *map, const struct btf *btf,
			      FILE *out);

/* ---- cases files (cases.c) -------------------------------------------- */

/* A key or value as written in a cases file: an integer, encoded
 * little-endian (host order) at the map's key/value size, or raw bytes. */
struct vbpf_literal {
	bool is_bytes;
	uint64_t value;          /* integer, two's complement */
	bool negative;
	uint8_t *bytes;
	size_t nbytes;
	/* `trigger-pid`: the process the case's `trigger` started, known
	 * only once it ran (vbpf_literal__bind_trigger_pid). An integer, or
	 * 4 little-endian bytes at each offset listed of a [bytes] literal. */
	bool trigger_pid;
	size_t trigger_pid_at[8];
	int ntrigger_pid_at;
};

enum vbpf_step_kind {
	VBPF_STEP_SET,           /* set MAP KEY = VALUE */
	VBPF_STEP_DELETE,        /* delete MAP KEY */
	VBPF_STEP_EXPECT,        /* expect MAP KEY = VALUE */
	VBPF_STEP_EXPECT_ABSENT, /* expect MAP KEY absent */
	VBPF_STEP_EXPECT_EVENTS, /* expect-events MAP N [RECORD...]: ringbuf or perf array */
	VBPF_STEP_EXPECT_EVENT,  /* expect-event MAP [RECORD...]: each among the records */
};

struct vbpf_step {
	enum vbpf_step_kind kind;
	int line;                /* in the cases file */
	char *map;               /* "global" with global set: a defglobal/defconst */
	char *global;
	struct vbpf_literal key, value;
	struct vbpf_literal *records;  /* expect-events: the records, in order */
	int nrecords;                  /* value.value is the count */
};

struct vbpf_case {
	char *name;
	int line;
	char *program;           /* NULL: the object's first program */
	struct vbpf_step *before, *after;  /* set/delete before the run, expect after */
	int nbefore, nafter;
	bool run;                /* false: no packet/ctx/return given, checks only */
	uint8_t *packet;
	size_t packet_size;
	uint8_t *packet_out;     /* packet-out: the packet expected after the run */
	size_t packet_out_size;
	bool has_packet_out;
	uint8_t *ctx;
	size_t ctx_size;
	unsigned repeat;
	bool has_return;
	bool any_return;         /* `return any`: any value, the run must succeed */
	uint64_t expect_return;  /* compared as the kernel's u32 retval */
	bool has_errno;          /* expect the test run itself to fail */
	int expect_errno;
	char **trigger;          /* trigger CMD ARG...: NULL-terminated argv, or NULL */
};

struct vbpf_cases {
	char *path;
	/* load-may-fail ERRNO: a kernel that refuses the load with this
	 * errno (fentry where the kernel has no trampolines) skips the
	 * cases instead of failing them; 0 when not given */
	int load_may_fail;
	struct vbpf_step *setup;  /* top-level set/delete before the first case */
	int nsetup;
	struct vbpf_case *cases;
	int ncases;
};

/* Parses a cases file. On a syntax error prints "path:line: error: ..."
 * to diag (stderr if NULL) and returns NULL. */
struct vbpf_cases *vbpf_cases__parse_file(const char *path, FILE *diag);
/* Same, from text in memory; name is used in messages. */
struct vbpf_cases *vbpf_cases__parse(const char *name, const char *text, FILE *diag);
void vbpf_cases__free(struct vbpf_cases *cases);

/* Encodes lit at size bytes (integers: little-endian, must fit in size
 * bytes as unsigned or signed; bytes: length must equal size). Returns 0,
 * or -1 with a message in why. */
int vbpf_literal__encode(const struct vbpf_literal *lit, void *out, size_t size,
			 char *why, size_t why_size);
/* lit with every `trigger-pid` in it replaced by pid: a copy in *out whose
 * bytes (if any) live in buf, which must hold lit->nbytes. */
void vbpf_literal__bind_trigger_pid(const struct vbpf_literal *lit, int pid,
				    struct vbpf_literal *out, uint8_t *buf);

/* ---- running cases (test_driver.c) ------------------------------------ */

struct vbpf_test_stats {
	int passed, failed, skipped;
};

/* Runs every case of cases against the loaded obj, printing one line per
 * case ("PASS name" / "FAIL name: why") to out, and adds to stats. With
 * dump_each_run, every run is followed by its return value, the packet
 * after it and every map (the state two objects must agree on). */
void vbpf_test__run_cases(struct vbpf_obj *obj, const struct vbpf_cases *cases, FILE *out,
			  bool dump_each_run, struct vbpf_test_stats *stats);

/* The whole test of one object: probe bpf(), open, load (a rejection is
 * one failure, printed at the .va line), run cases_path when not NULL.
 * Returns the stats; out gets one line per case, diag the diagnostics. */
struct vbpf_test_opts {
	const char *cases_path;  /* NULL: load only */
	const char *name;        /* how to call the program in messages (its .va) */
	const char *source_dir;
	bool dump_maps;          /* print the state after every run and every map at the end */
	FILE *out, *diag;        /* NULL: stdout, stderr */
};
struct vbpf_test_stats vbpf_test__run_object(const char *object_path,
					     const struct vbpf_test_opts *opts);

#endif
