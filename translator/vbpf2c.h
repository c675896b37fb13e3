/* vbpf2c.h - the data structures every stage of the translator shares.
 *
 * One section per stage, in pipeline order (cproc's cc.h is the model):
 *   util    arena allocation, growable arrays, strings
 *   diag    file:line:col diagnostics with the source line and a caret
 *   reader  characters -> tokens -> S-expressions (reader.c)
 *   parser  S-expressions -> AST with a span on every node (parser.c)
 *   types   the type universe, records and context records (types.c, context.c)
 *   tables  program kinds, map types, libbpf helpers (tables.c, helpers.gen.h)
 *   checker names, types, safety; annotates the AST in place (checker.c)
 *   backend the narrow interface the C emitter (emit_c.c) and, later, the
 *           native backend sit behind
 *
 * Memory: every stage allocates from one arena (arena_alloc) and never
 * frees; arena_reset() releases everything between two translations (the
 * fuzzer relies on it).
 */
#ifndef VBPF2C_H
#define VBPF2C_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>

#define VBPF2C_VERSION "0.1.0"

/* ---- util (util.c) ---------------------------------------------------- */

void *arena_alloc(size_t size);              /* zeroed, never NULL */
/* bytes of fresh zeroed pages, a mapping of their own (munmap frees it):
 * advised to be huge pages when huge, all mapped at once when populate
 * (one call rather than a page fault each); NULL when mapping fails. */
void *pages_map(size_t bytes, bool huge, bool populate);
char *arena_strndup(const char *s, size_t n);
char *arena_strdup(const char *s);
char *arena_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void arena_reset(void);
/* The caller will allocate about bytes: a big amount (4 MiB or more)
 * comes in blocks of up to 64 MiB from the start, in huge pages, rather
 * than after the small blocks every translation begins with (a page fault
 * per 4 KiB). */
void arena_expect(size_t bytes);
/* The transient region (util.c): between arena_transient_begin() and
 * arena_transient_end(), arena_alloc_transient() allocates memory that
 * _end() releases (outside a span it is arena_alloc). A vector that lives
 * there, or whose elements are there, grows there (vec_push).
 * arena_transient_keep() keeps everything
 * allocated so far: _end() then releases only what comes after. */
void arena_transient_begin(void);
void *arena_alloc_transient(size_t size);   /* zeroed, never NULL */
void arena_transient_keep(void);
void arena_transient_end(void);
/* A transient span in which every allocation is transient, arena_alloc's
 * and arena_printf's too (the C backend lowers each function in one):
 * closed by arena_transient_end(). What must outlive it - a cache in a
 * shared object, a vector that does not live in the span - is allocated
 * between arena_lasting_begin() and arena_lasting_end(), which go back to
 * the arena for a while (vec_push does it for a vector that lives
 * outside the transient region, its elements too). */
void arena_transient_begin_all(void);
bool arena_lasting_begin(void);             /* returns what to give _end */
void arena_lasting_end(bool was);

/* A growable array of pointers, allocated in the arena. */
typedef struct Vec {
	void **items;
	int len, cap;
} Vec;
void vec_push(Vec *v, void *item);

/* A growable string buffer (malloc-backed: it outlives arena_reset). */
typedef struct StrBuf {
	char *data;
	size_t len, cap;
} StrBuf;
void sb_putc(StrBuf *sb, char c);
void sb_puts(StrBuf *sb, const char *s);
void sb_printf(StrBuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* n bytes of s into sb at offset at (at most sb->len) */
void sb_insert(StrBuf *sb, size_t at, const char *s, size_t n);
void sb_free(StrBuf *sb);

/* The hash of a name, wherever names are hashed (the reader's intern
 * table, the checker's tables, name indexes): a rotate and an xor a byte
 * (a multiply a byte, FNV-1a, made every byte wait for the one before),
 * then one mix so that every byte moves the low bits a table is indexed
 * with. The reader takes it step by step as it scans a token. */
enum { NAME_HASH_SEED = 0 };

static inline uint32_t name_hash_step(uint32_t h, unsigned char c)
{
	return (h << 5 | h >> 27) ^ c;
}

static inline uint32_t name_hash_end(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	h *= 0x846ca68bu;
	return h ^ h >> 16;
}

/* The reader interns names into the arena's name region (util.c), each
 * text preceded by its name_hash, its Sexp.word and a NUL:
 *
 *     [hash: 4 bytes] [word] [NUL] [text ...] [NUL]
 *
 * so the hash of an interned name is a load, where hashing it again was
 * 2% of --check (every table lookup and prefetch by name). A pointer into
 * the region with a NUL just before it is such a text: one into the
 * middle of a name ("k/Foo" + 2) has a name byte there. lo is the first
 * byte a text may start at, size the bytes from there (0: no region). */
typedef struct NameRegion {
	uintptr_t lo;
	size_t size;
} NameRegion;
extern NameRegion name_region;
enum { NAME_PREFIX_BYTES = 6 };     /* hash, word, NUL */
/* A copy of the n bytes at text, interned: in the name region when it has
 * room, else in the arena (the same layout, its hash then taken again). */
const char *arena_name_copy(const unsigned char *text, size_t n, uint32_t hash, uint8_t word);
/* Room in the name region for about `bytes` of names from now on. */
void arena_expect_names(size_t bytes);

static inline uint32_t name_hash(const char *s)
{
	if ((uintptr_t)s - name_region.lo < name_region.size && s[-1] == '\0') {
		uint32_t stored;
		memcpy(&stored, s - NAME_PREFIX_BYTES, sizeof(stored));
		return stored;
	}
	uint32_t h = NAME_HASH_SEED;
	for (; *s; s++)
		h = name_hash_step(h, (unsigned char)*s);
	return name_hash_end(h);
}

/* A read-only index of a static table by name, for tables looked up for
 * every name or call of a program (kernel constants, builtins, C library
 * names...), where a scan took a strcmp per entry. The table's entries
 * are `stride` bytes apart and each begins with its name (a const char *;
 * a table of names is its own). Built on first use; a name that appears
 * twice finds its first entry, as a scan would. */
typedef struct NameIndexSlot {
	uint32_t hash;          /* name_hash of the entry's name */
	uint32_t entry;         /* entry index + 1, 0 for an empty slot */
} NameIndexSlot;

typedef struct NameIndex {
	const void *entries;
	size_t count, stride;
	uint32_t cap;           /* built: */
	NameIndexSlot *slots;
} NameIndex;
#define NAME_INDEX(table) { (table), sizeof(table) / sizeof(*(table)), sizeof(*(table)), 0, NULL }
const void *name_index_get(NameIndex *ix, const char *name);  /* the entry, or NULL */

/* ---- diag (diag.c) ---------------------------------------------------- */

typedef struct SourceFile {
	const char *name;   /* as given on the command line */
	const char *text;   /* NUL-terminated contents */
	size_t len;
} SourceFile;

/* A source range. line and col are 1-based; col counts bytes. */
typedef struct Span {
	const SourceFile *file;
	uint32_t offset;    /* byte offset of the first character */
	uint32_t len;       /* bytes covered (>= 1 when printed) */
	uint32_t line, col;
} Span;

/* Report an error at span: "file:line:col: error: msg", the source line and
 * a caret under the span (^~~~). Every diag_error is counted. */
void diag_error(Span at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A "note:" with its own location (another place in the source). */
void diag_note(Span at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A "hint:" line attached to the previous error; no location. */
void diag_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int diag_error_count(void);
/* At most n errors are printed (0: no limit; default 20, as clang's
 * -ferror-limit): the one after them prints "too many errors emitted,
 * stopping now" and everything after that - errors, notes, hints - is
 * counted but not printed, so a flood of errors costs linear time. */
void diag_set_max_errors(int n);
/* Has the limit been passed? (Checking goes on, silently: the exit status
 * still counts every error.) */
bool diag_limit_reached(void);
/* Forgets the errors counted so far (not the limit). */
void diag_reset(void);
/* Where diagnostics go (default stderr); tests point it at a memstream. */
void diag_set_output(FILE *out);
/* diag_hold() keeps what is reported from here on (counted as usual) until
 * diag_release(keep): written out when keep, else forgotten - the error
 * count and the limit back to what they were at diag_hold(). For a fast
 * path that may give up and leave the diagnostics to an exact one. */
void diag_hold(void);
void diag_release(bool keep);
/* Span covering a through b (same file, a before b). */
Span span_join(Span a, Span b);

/* ---- reader (reader.c) ------------------------------------------------ */

typedef enum SexpKind {
	SX_LIST,     /* ( ... )  */
	SX_VECTOR,   /* [ ... ]  */
	SX_INT,      /* 123 -5 0x1F \a \newline */
	SX_FLOAT,    /* 1.5: lexed so the parser can reject it precisely */
	SX_STRING,   /* "..." with escapes decoded */
	SX_KEYWORD,  /* :name; text excludes the colon */
	SX_SYMBOL,   /* any other name, including true/false and bpf/name */
} SexpKind;

typedef struct Sexp Sexp;
struct Sexp {
	SexpKind kind;
	int nitems;
	Span span;          /* lists: from the opening to the closing delimiter */
	const char *text;   /* SYMBOL/KEYWORD/STRING/FLOAT: NUL-terminated;
			     * symbol and keyword texts are interned (one copy
			     * per spelling), so equal names share a pointer */
	uint64_t value;     /* SX_INT: two's-complement 64-bit value */
	Sexp **items;       /* LIST/VECTOR elements */
	bool negative;      /* SX_INT written with a leading '-' */
	uint8_t word;       /* SYMBOL/KEYWORD: which word of the reader's
			     * vocabulary the text is, looked up once per
			     * spelling: 2 + its index, 1 none of them, 0
			     * not known (a Sexp the parser made) */
	uint8_t skipped;    /* what read_file_each_skimming skipped of this
			     * defn, whose items lack it: SKIPPED_BODY or
			     * SKIPPED_HEADER (name, parameters, return
			     * type), or 0 */
};  /* field order keeps it at 64 bytes: one per token, so size matters */
enum { SKIPPED_BODY = 1, SKIPPED_HEADER };

/* A `;` comment, kept so the C backend can carry it into the C. */
typedef struct Comment {
	uint32_t line, col;     /* of the first ';' */
	uint32_t offset;        /* its byte offset */
	const char *text;       /* after the ';'s and one space, trailing
	                         * blanks removed: "XDP_TX" */
	bool trailing;          /* code precedes it on its line */
} Comment;

/* Reads every top-level form of file. Lexical errors (unbalanced or
 * mismatched delimiters, '{', '#{', ',', bad strings, integers out of
 * 64-bit range) are reported through diag and the reader recovers, so the
 * returned forms are always usable. */
Vec read_file_forms(const SourceFile *file);
/* The same, streaming: each(form, ctx) is called for every top-level form
 * as soon as it is complete. The form's Sexp nodes are reused after each()
 * returns (their texts stay in the arena), so the reader's memory stays as
 * small as the largest form: what the front end's speed depends on. */
void read_file_each(const SourceFile *file, void (*each)(Sexp *form, void *ctx), void *ctx);
/* read_file_each for the two passes of frontend_check, which each want
 * one part of every defn: of a top-level (defn NAME [...] :ret body ...),
 * defn_word its head's Sexp.word, the reader skips the body (SKIP_BODIES:
 * the declarations pass) or the name, parameters and return type
 * (SKIP_HEADERS: the pass over the bodies) without reading it, and marks
 * the form (Sexp.skipped), when the part is plain enough to skip exactly
 * (balanced brackets, names, numbers, strings with known escapes,
 * comments). A part that is not is read as usual. Nothing is reported
 * about a skipped part: the other pass reads it.
 *
 * SKIP_BODIES takes a body to end where the next line that begins with a
 * top-level form begins (the closer is the last `)` before it, past
 * blanks and comment lines), without looking at the body at all. That is
 * a guess: the pass over the bodies, which reads every one, must find
 * each defn form where the declarations pass did (FnDecl.span), and gives
 * up where it does not (frontend.c). */
typedef enum SkipPart { SKIP_BODIES, SKIP_HEADERS } SkipPart;
void read_file_each_skimming(const SourceFile *file, void (*each)(Sexp *form, void *ctx), void *ctx,
			     uint8_t defn_word, SkipPart skip);
/* read_file_each that also appends every comment (Comment*, in source
 * order) to comments. */
void read_file_each_with_comments(const SourceFile *file, void (*each)(Sexp *form, void *ctx), void *ctx,
				  Vec *comments);

/* reader_keep_names(true): the next reads of a file keep their intern
 * table for the read after them, so a second pass over the same file
 * gets every name at the address the first pass gave it (and interns
 * nothing twice); false frees it. */
void reader_keep_names(bool keep);
/* Starts loading into the cache the intern table's slot of name (a name
 * the reader interned, of the file being read now), which the reader will
 * look up when it meets name again (frontend_check: the names of the defns
 * just ahead). Nothing when no file is being read. */
void reader_prefetch_name(const char *name);
/* The words (at most 250) whose index the reader puts in Sexp.word: the
 * parser's special and top-level forms, so that telling them apart is
 * done once per spelling, not once per use; those from words[toplevel] on
 * begin top-level forms. Set it before reading. */
void reader_set_vocabulary(const char *const *words, int n, int toplevel);

/* ---- types (types.c) -------------------------------------------------- */

typedef enum TypeKind {
	TY_UNIT,     /* :unit, C void */
	TY_BOOL,
	TY_INT,      /* u8..i64 */
	TY_RECORD,   /* struct R (user deftype or built-in context record) */
	TY_PTR,      /* pointer to pointee; may be nullable */
	TY_MAP,      /* a map name used as a value; C &name */
} TypeKind;

typedef struct Type Type;
typedef struct Record Record;
typedef struct MapDecl MapDecl;

struct Type {
	TypeKind kind;
	int size, align;        /* bytes; 0 for unit and map */
	bool is_signed;         /* TY_INT */
	const char *name;       /* "u32", "bool", "XdpMd"... for messages */
	const char *c_name;     /* "__u32", "bool", "struct foo", "struct xdp_md" */
	Record *record;         /* TY_RECORD */
	Type *pointee;          /* TY_PTR; u8 for ringbuf bytes */
	bool nullable;          /* TY_PTR from a helper: must be matched */
	MapDecl *map;           /* TY_MAP */
	/* types.c private: type_ptr(this, nullable) is cached here, and
	 * permanent types (the singletons, context records and pointers to
	 * them) live outside the arena so they survive arena_reset(). */
	Type *ptr_cache[2];
	bool permanent;
	Span span;              /* parser placeholders only: see "record
	                         * types in source" in the AST section */
};

extern Type *ty_unit, *ty_bool;
extern Type *ty_u8, *ty_u16, *ty_u32, *ty_u64, *ty_i8, *ty_i16, *ty_i32, *ty_i64;

Type *type_ptr(Type *pointee, bool nullable);  /* interned: pointer equality works */
Type *type_map(MapDecl *map);                  /* created once, cached in map */
bool type_equal(const Type *a, const Type *b);
/* The same, but a nullable pointer matches a non-null one to the same type. */
bool type_equal_ignoring_null(const Type *a, const Type *b);
bool type_is_int(const Type *t);
/* ":u32", "(Ptr :XdpMd)", ":bool": the spelling used in diagnostics. */
const char *type_str(const Type *t);
/* Integer type by source name without colon ("u32", "U32", "i8"...), or NULL. */
Type *type_int_by_name(const char *name);
/* Does the exact integer v (value + negative as in Sexp) fit in t? */
bool int_fits(const Type *t, uint64_t value, bool negative);
/* The TY_RECORD type of r, created once and cached in r->type. */
Type *type_record(Record *r);

typedef struct Field {
	const char *name;       /* source name: "rx_queue_index", "cb0", "rdi" */
	const char *c_member;   /* C member expression: "rx_queue_index", "cb[0]" */
	Type *type;
	int offset;             /* byte offset in the kernel/C struct */
	Span span;              /* user records only */
	bool writable;          /* context records: the kernel allows stores */
	bool c_pointer;         /* context records: the C member is a pointer
	                         * (__bpf_md_ptr) read as :u64, so C needs a
	                         * cast: (__u64)(long)ctx->data */
	/* kernel struct members (ktypes.c), read through CO-RE */
	const char *c_decl;     /* "__s32 tgid", "struct task_struct *real_parent" */
	bool bitfield;          /* BPF_CORE_READ_BITFIELD_PROBED */
	int array_len;          /* an array field [:u8 16] (LANGUAGE.md 10.9) or
	                         * a kernel char[N]: N, and type is the element
	                         * type; (. p :f) is the array's address */
} Field;

struct Record {
	const char *name;       /* source name, "Event", "XdpMd" */
	const char *c_name;     /* "struct Event", "struct xdp_md" */
	Field **fields;
	int nfields;
	int size, align;
	bool is_context;        /* built-in context record */
	bool read_only;         /* context records: fields may not be assigned */
	Span span;              /* user records only */
	Type *type;             /* types.c: cache of type_record() */
	int kernel_btf_id;      /* a kernel struct (:k/NAME, ktypes.c): its
	                         * BTF id; fields are then the members the
	                         * program uses, in first-use order */
};

/* C layout of a user record: natural alignment of every field, size rounded
 * up to the largest alignment (an array field: array_len elements).
 * Record-typed fields must be laid out first. */
void record_layout(Record *r);

/* ---- tables (tables.c) ------------------------------------------------ */

typedef enum ProgKind {
	PK_NONE = 0,
#define PROG_KIND(id, src, ...) id,
#include "prog_kinds.def"
#undef PROG_KIND
	PK_COUNT
} ProgKind;

typedef struct ProgKindInfo {
	ProgKind kind;
	const char *name;           /* source keyword without colon: "xdp" */
	const char *section;        /* libbpf 1.1 section without an attach
	                             * string: "xdp", "kprobe", "cgroup/skb";
	                             * NULL when the kind has none */
	const char *attach_prefix;  /* prefix of the attach string when it is
	                             * part of the section: "kprobe/",
	                             * "cgroup_skb/"; NULL when the attach string
	                             * is only a run-time target ("eth0") */
	const char *context_record; /* "XdpMd", or NULL when the kind has none */
	const char *c_context_type; /* "struct xdp_md *" */
	bool attach_required;
	bool btf_args;              /* tp_btf, fentry, fexit: BPF_PROG(name,
	                             * args...) with BTF-typed arguments */
} ProgKindInfo;

const ProgKindInfo *prog_kind_by_name(const char *name);
const ProgKindInfo *prog_kind_info(ProgKind kind);
/* The full SEC() name for a program of kind with attach string attach
 * (NULL when absent), per LANGUAGE.md section 7: cgroup_skb + "ingress" ->
 * "cgroup_skb/ingress", cgroup_skb alone -> "cgroup/skb", kprobe +
 * "sys_execve" -> "kprobe/sys_execve", xdp + "eth0" -> "xdp". NULL when the
 * kind requires an attach string and has none. Arena string. */
const char *prog_section_name(const ProgKindInfo *kind, const char *attach);
/* The values an entry of kind (with attach) may return, inclusive; NULL
 * when the verifier takes any (tables.c, return_range.c). */
typedef struct ReturnRange {
	ProgKind kind;
	const char *section;
	uint64_t lo, hi;
} ReturnRange;
const ReturnRange *prog_return_range(const ProgKindInfo *kind, const char *attach);
/* Does libbpf 1.1 recognise section as a program of this kind? ("sk_skb/x"
 * and "cgroup/x" are only valid for the attach names libbpf lists.) */
bool prog_section_known(const ProgKindInfo *kind, const char *section);
/* Built-in context record by name ("XdpMd"), or NULL. */
Record *context_record_by_name(const char *name);
/* Is n a read of a context member the verifier gives as an address (the
 * packet's data, data_end, data_meta; the sk and flow_keys pointers)? */
struct Node;
bool is_packet_field(const struct Node *n);

typedef struct MapTypeInfo {
	const char *name;        /* "hash" */
	const char *c_enum;      /* "BPF_MAP_TYPE_HASH" */
	bool needs_key, needs_value; /* false where 0 ("none") is the rule */
	bool core;               /* in vaisto_bpf's set; else extension 10.2 */
	bool key_must_be_none;   /* ringbuf, queue, stack: the kernel wants key_size 0 */
	bool value_must_be_none; /* ringbuf: no value type either */
	uint32_t required_flags; /* map_flags the kernel requires of the type */
	const char *required_flags_c; /* their C spelling, "BPF_F_NO_PREALLOC" */
} MapTypeInfo;
const MapTypeInfo *map_type_by_name(const char *name);
/* The whole table, for tests and for listing the names in a hint. */
const MapTypeInfo *map_type_table(int *count);

/* A helper of libbpf's bpf_helper_defs.h, generated at build time. */
typedef struct HelperInfo {
	const char *name;        /* without the bpf_ prefix: "map_lookup_elem" */
	int id;                  /* BPF_FUNC_* number */
	const char *c_decl;      /* the libbpf declaration, for messages */
	int nparams;             /* -1 for variadic */
	bool returns_pointer;
	bool returns_nothing;    /* the kernel's RET_VOID: r0 is unreadable after */
	unsigned map_params;     /* bit i: parameter i is a map (ARG_CONST_MAP_PTR) */
} HelperInfo;
const HelperInfo *helper_by_name(const char *name);
const HelperInfo *helper_table(int *count);
const char *helper_param_decl(const HelperInfo *h, int i);

/* Kernel constants by name (extension 10.8): XDP_PASS = 2, ... */
typedef struct KernelConst {
	const char *name;
	uint64_t value;
	bool negative;
	const char *header;      /* UAPI header that defines it, for #include:
	                          * "linux/bpf.h", "linux/pkt_cls.h" */
	int c_size;              /* sizeof its C type: 8 for an enumerator
	                          * beyond int (BPF_F_INDEX_MASK) */
} KernelConst;
const KernelConst *kernel_const_by_name(const char *name);
const KernelConst *kernel_const_table(int *count);

/* ---- kernel types (ktypes.c) --------------------------------------------- */

/* LANGUAGE.md section 11. Kernel structs come from BTF, read in place
 * (btf_reader.c): /sys/kernel/btf/vmlinux, or the file given to
 * ktypes_set_btf_path (--btf; NULL: the running kernel's). The BTF is read
 * at the first kernel type after that, and kept. */
struct Module;
void ktypes_set_btf_path(const char *path);
/* The record of kernel struct name (no "k/" prefix), created once per
 * module and remembered in m->kernel_records in first-use order; NULL after
 * a located error (no BTF, no such struct: the nearest names as a hint). */
Record *ktypes_struct(struct Module *m, const char *name, Span at);
/* Member name of kernel record r, entered into r->fields on its first use
 * (the C declares only those). Members of anonymous structs and unions are
 * found as the kernel's C finds them. The field's type: an integer of the
 * member's size and signedness (typedefs and enums resolved), (Ptr :k/X)
 * for a pointer to a struct, the kernel record itself (TY_RECORD) for an
 * embedded struct, :u8 with array_len set for char[N]. NULL after a located
 * error naming the nearest members. */
Field *ktypes_member(struct Module *m, Record *r, const char *name, Span at);
/* The prototype of a tp_btf tracepoint (btf_trace_NAME) or an fentry/fexit
 * function: its number of parameters (with_return: and then the function's
 * return value, as fexit programs get it), and the first `want` of them as
 * fields (name, type, c_member: the kernel's spelling of the type, "pid_t";
 * type NULL and c_decl saying why when the language has no such type); -1
 * after a located error. */
int ktypes_prototype(struct Module *m, const char *func, bool tp_btf, bool with_return, int want, Field ***params,
		     Span at);
#define KTYPES_RETURN_VALUE "return value" /* the name of fexit's last field */
/* (Ptr :k/X) or :k/X spelt for diagnostics: ":k/task_struct" */
bool type_is_kernel(const Type *t);

/* ---- AST (parser.c builds it, checker.c annotates it) ------------------- */

/* Record types in source. The parser does not know every deftype when it
 * meets `:Name` (forward references are fine), so each capitalised type
 * name that is not an integer alias (:U32) becomes a placeholder: a fresh
 * TY_RECORD Type with name = "Name", record = NULL and span = where it is
 * written. The checker resolves every placeholder (user deftype, else
 * built-in context record, else `unknown type :Name` at span) in params,
 * map key/value, globals, record fields and extern signatures, and turns
 * record-typed parameters into (Ptr :R). Integer, :bool and :unit types
 * are the shared ty_* objects. */

typedef struct Node Node;
typedef struct FnDecl FnDecl;
typedef struct Var Var;

typedef enum NodeKind {
	N_INT,        /* value, negative */
	N_BOOL,       /* value != 0 */
	N_NAME,       /* name; checker sets ref */
	N_LET,        /* bindings (Binding*), body */
	N_DO,         /* items (Node*); empty do is unit */
	N_IF,         /* cond, then, els; cond desugars here too */
	N_AND, N_OR,  /* lhs, rhs (andalso, orelse) */
	N_NOT,        /* lhs */
	N_MATCH,      /* lhs = scrutinee, clauses (MatchClause*) */
	N_BINOP,      /* op, lhs, rhs */
	N_NEG,        /* lhs */
	N_CAST,       /* cast_to, lhs */
	N_FIELD,      /* lhs = record pointer, name = field; checker sets field;
	               * rhs = an N_INT index into an array field (10.9) */
	N_CALL,       /* name (as written, '/' normalised), args; checker sets callee */
	N_SET,        /* name = global (lhs NULL) or lhs = N_FIELD target; rhs = value */
	N_FOR,        /* var_name, lhs = start, rhs = end, body */
} NodeKind;

typedef enum BinOp {
	OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_REM,
	OP_AND, OP_OR, OP_XOR, OP_SHL, OP_SHR,
	OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE,
} BinOp;
const char *binop_source_name(BinOp op);  /* "+", "div", "band" */
uint64_t int_wrap(const Type *t, uint64_t v);
bool int_fold(BinOp op, const Type *t, uint64_t a, uint64_t b, uint64_t *out);
const char *binop_c_name(BinOp op);       /* "+", "/", "&" */
bool binop_is_comparison(BinOp op);
/* types.c, for the comparisons: op with its operands swapped, op's
 * opposite, and a op b of two constants (signed or unsigned) */
BinOp comparison_mirrored(BinOp op);
BinOp comparison_negated(BinOp op);
bool comparison_holds(BinOp op, bool is_signed, uint64_t a, uint64_t b);

typedef enum RefKind {
	REF_NONE,
	REF_VAR,      /* parameter, let binding, match binding, for variable */
	REF_MAP,      /* a map used as a value */
	REF_GLOBAL,   /* defglobal or defconst */
	REF_KCONST,   /* kernel constant (extension 10.8) */
} RefKind;

typedef enum CalleeKind {
	CALLEE_NONE,
	CALLEE_FN,       /* user defn */
	CALLEE_HELPER,   /* extern bpf:helper */
	CALLEE_C,        /* extern c:name, defined in hand-written BPF C */
	CALLEE_BUILTIN,  /* load_uN, store_uN, stack_*, be/le */
	CALLEE_KERNEL,   /* k/exists? k/read-str k/arg (LANGUAGE.md 11) */
	CALLEE_MAP_INCR, /* (map/incr! m k n), LANGUAGE.md 10.7 */
	CALLEE_RECORD,   /* (Rec :f v ...), a record value, LANGUAGE.md 10.4 */
	CALLEE_PRINTK,   /* (printk "fmt" args...), LANGUAGE.md 10.5; set by
	                  * the parser, which alone sees the string */
} CalleeKind;

typedef enum Builtin {
	BI_NONE,
	BI_LOAD, BI_STORE,             /* width from builtin_type */
	BI_STACK_LOAD, BI_STACK_STORE,
	BI_BE, BI_LE,
} Builtin;

typedef struct Binding {
	const char *name;
	Span name_span;
	Node *init;
	Var *var;                       /* checker */
} Binding;

typedef enum PatternKind {
	PAT_SOME,      /* (Some name) or (Some _): bind_name NULL for _ */
	PAT_NONE,      /* (None) */
	PAT_INT,       /* integer literal, or a kernel constant (kconst) */
	PAT_BOOL,      /* true / false */
	PAT_WILD,      /* _ */
	PAT_BIND,      /* a name: binds the scrutinee */
} PatternKind;

typedef struct Pattern {
	PatternKind kind;
	Span span;
	const char *bind_name;
	uint64_t value;
	bool negative;
	const struct KernelConst *kconst; /* checker: a PAT_INT written XDP_DROP */
	Var *var;                       /* checker: PAT_SOME / PAT_BIND */
} Pattern;

typedef struct MatchClause {
	Pattern *pattern;
	Node *body;                     /* several body forms become one N_DO */
	Span span;
} MatchClause;

/* One Node per expression: a 10 MB program has over a million, so its size
 * is most of the front end's memory (176 bytes: a multiple of the arena's
 * 16-byte rounding, so nothing is wasted between nodes). Fields that only
 * some kinds use share storage in the anonymous union below (grouped by
 * kind; access stays n->value, n->bindings...). Read a union field only
 * after checking the kind that owns it. Everything a kind-blind walker
 * reads (the enums, the child pointers lhs..body, args) stays outside the
 * union, so it is NULL or zero on every kind that does not use it. */
struct Node {
	NodeKind kind;
	/* checker annotations read by kind-blind tests (n->ref == REF_VAR) */
	RefKind ref;                    /* N_NAME, N_SET */
	CalleeKind callee_kind;         /* N_CALL */
	Builtin builtin;                /* N_CALL */
	Span span;
	Type *type;                     /* checker: the value's type */

	/* names, children */
	const char *name;
	Span name_span;
	Node *lhs, *rhs;
	Node *cond, *then, *els, *body;
	Vec args;                       /* N_CALL: Node*; N_DO: items */

	union {
		struct {                        /* N_INT, N_BOOL */
			uint64_t value;
			bool negative;
			/* (sizeof :T) the checker folded: T; where the
			 * N_CALL had builtin_type, which held it */
			const Type *sizeof_type;
		};
		BinOp op;                       /* N_BINOP */
		Vec bindings;                   /* N_LET: Binding* */
		Vec clauses;                    /* N_MATCH: MatchClause* */
		Type *cast_to;                  /* N_CAST */
		struct {                        /* N_FOR */
			const char *var_name;
			Var *var;               /* the loop variable (checker) */
		};
		struct {                        /* N_NAME, N_SET (checker) */
			Var *ref_var;                   /* REF_VAR */
			MapDecl *ref_map;               /* REF_MAP */
			struct GlobalDecl *ref_global;  /* REF_GLOBAL */
			const KernelConst *ref_kconst;  /* REF_KCONST */
		};
		Field *field;                   /* N_FIELD (checker) */
		struct {                        /* N_CALL (checker) */
			FnDecl *callee_fn;
			struct ExternDecl *callee_extern;
			Type *builtin_type;     /* width of load/store/be/le;
			                         * (sizeof :T): T (parser) */
			union {
				struct RecordInit *record_init; /* (Rec :f v ...) (parser) */
				const char *printk_format;      /* CALLEE_PRINTK (parser) */
			};
		};
	};
};

/* The let bindings around an expression a stage walks, innermost first,
 * on the walker's C stack (return_range.c, packet_bounds.c). */
typedef struct LetScope {
	const struct Var *var;
	const Node *init;
	const struct LetScope *up;
} LetScope;
/* types.c: the init of the let variable n names in scope, and in *at the
 * scope that init was checked in; NULL when n is no such variable. */
const Node *let_scope_init(const LetScope *scope, const Node *n, const LetScope **at);

/* types.c: the value of a constant integer expression (see there). */
bool int_constant(const Node *n, uint64_t *out, bool (*other)(const Node *n, uint64_t *out));

/* (Event :pid p :ts t): the fields named, in source order; args holds the
 * values. LANGUAGE.md 10.4. */
typedef struct RecordInit {
	int n;
	const char **names;
	Span *spans;
	Field **fields;                 /* checker */
} RecordInit;

/* context_flow.c: where a value may come from - an address, parameters
 * of the defn, results of its calls (none: a number). */
typedef struct ContextSources {
	uint32_t params;        /* bit i: parameter i of the defn; ADDRESS */
	int ncalls;
	union {                 /* the results of these call sites (FnFlow.sites): */
		const int *calls;
		intptr_t call;  /* the one, when ncalls == 1 (no allocation) */
	};
} ContextSources;

/* A local value: parameter, let binding, pattern binding or loop variable. */
struct Var {
	const char *name;               /* source name */
	const char *c_name;             /* mangled, unique within its function */
	Type *type;
	Span span;
	bool is_param;
	int uses;                       /* checker: reads of the variable */
	/* check_module: a :u64 parameter every call passes the same map (or
	 * maps of the same key and value types), directly or through a
	 * parameter of its caller: the map whose key and value types the
	 * helpers' by-value copies take (LANGUAGE.md 5). NULL when none or
	 * when handle_maps_differ, which is also set for a parameter no call
	 * gives a map that goes where only a map may (a handle of no known
	 * map). */
	const struct MapDecl *handle_map;
	bool handle_maps_differ;
	/* context_flow.c, while it walks the body: where the value may
	 * come from (none: it is a number, not an address) */
	ContextSources context_flow;
};

/* ---- top-level declarations ------------------------------------------- */

typedef struct ProgramDecl {
	const ProgKindInfo *kind;
	const char *attach;             /* NULL when absent */
	Span span;
} ProgramDecl;

struct MapDecl {
	const char *name;
	const char *c_name;
	Span span;
	const MapTypeInfo *map_type;
	Type *key, *value;              /* NULL for "0" (none) */
	Span key_span, value_span;      /* where they are written */
	uint64_t max_entries;
	uint64_t flags;                 /* extension: :flags N */
	bool pinned, is_extern;         /* extension: :pinned true, :extern true */
	/* extension 10.3: a prog_array's :init [prog_a prog_b], slots 0, 1... */
	const char **init_names;
	Span *init_spans;
	int ninit;
	FnDecl **init_progs;            /* checker: the defprogs named */
	Type *type;                     /* types.c private: type_map(this) */
};

typedef struct GlobalDecl {
	const char *name;
	const char *c_name;
	Span span;
	Type *type;
	Node *init;                     /* NULL: zero-initialised (.bss) */
	bool is_const;                  /* defconst */
	bool assigned;                  /* checker: some set! writes it */
} GlobalDecl;

typedef struct RecordDecl {
	Record *record;
	Span span;
} RecordDecl;

typedef struct ExternDecl {
	const char *ns;                 /* "bpf" (core), or "c" (extension 10.6) */
	const char *name;               /* "map_lookup_elem"; for c: the C name */
	Span span;
	Type **params;
	int nparams;
	Type *ret;                      /* as declared */
	const HelperInfo *helper;       /* checker: libbpf's entry */
	bool is_c;                      /* checker: an accepted c: function */
} ExternDecl;

/* (export name ...): extension 10.6 */
typedef struct ExportDecl {
	const char **names;
	Span *spans;
	int nnames;
} ExportDecl;

typedef struct Param {
	const char *name;
	Span span;
	Type *type;                     /* record types become (Ptr :R) */
	Var *var;                       /* checker */
} Param;

struct FnDecl {
	const char *name;
	const char *c_name;
	Span span, name_span;
	Param **params;
	int nparams;
	/* checker, context_flow.c (where padding was: every defn has them):
	 * bit c set when the body has a place the verifier refuses if the
	 * parameters in c (bits 0-4) hold an address */
	uint32_t context_refuses;
	Type *ret;
	Node *body;                     /* one N_DO of the body forms */
	ProgramDecl *prog;              /* (defprog ...): its kind and attach
	                                 * string (LANGUAGE.md 10.3); NULL for defn */
	bool is_entry;                  /* checker: gets SEC() */
	bool exported;                  /* checker: named by (export ...), global in C */
	uint8_t context_carries;        /* checker, context_flow.c: the parameters
	                                 * that may hold an address */
	uint8_t context_result;         /* ... and those the result may come
	                                 * from, with ADDRESS (an address) */
	int call_depth;                 /* checker: longest call chain below */
	bool stack_read_unwritten;      /* checker: a bpf/stack_load_* reads a
	                                 * slot not stored on every way to it:
	                                 * the backends start its frame at 0 */
	Vec locals;                     /* checker: every Var of the body */
	struct PacketSummary *packet_summary; /* checker: packet_writes.c */
	struct ReturnSummary *returns;  /* checker: the literals and unbounded
	                                 * values its result may be (return_range.c) */
	struct FnFlow *flow;            /* checker: what its body leaves to solve
	                                 * of where values may hold an address
	                                 * (context_flow.c); NULL: nothing */
};

typedef enum DeclKind { D_PROGRAM, D_MAP, D_GLOBAL, D_RECORD, D_EXTERN, D_FN, D_EXPORT } DeclKind;

typedef struct Decl {
	DeclKind kind;
	Span span;
	union {
		ProgramDecl *program;
		MapDecl *map;
		GlobalDecl *global;
		RecordDecl *record;
		ExternDecl *ext;
		FnDecl *fn;
		ExportDecl *export;
	} u;
} Decl;

typedef struct Module {
	const SourceFile *file;
	Vec decls;                      /* Decl*, in source order */
	Vec records;                    /* the D_RECORD ones of decls, which the
	                                 * checker lays out first */
	ProgramDecl *program;           /* NULL when the file has none */
	FnDecl *entry;                  /* checker */
	const char *license;            /* "GPL" unless overridden */
	Vec kernel_records;             /* Record* of :k/ structs, first use first */
	bool kernel_btf_reported;       /* ktypes.c: no BTF, said once */
	/* The first construct the native backend cannot compile (kernel
	 * types: CO-RE relocations; array fields), which it refuses there;
	 * file NULL when none. */
	Span native_refused_at;
	const char *native_refused_what;
	Vec comments;                   /* Comment*, source order (parse_file) */
} Module;

/* The program a function is the entry of: its defprog's, else the file's
 * (program ...) for its entry; NULL for other functions. */
static inline const ProgramDecl *fn_program(const Module *m, const FnDecl *fn)
{
	if (fn && fn->prog)
		return fn->prog;
	return fn && fn->is_entry ? m->program : NULL;
}

/* ---- packet writes (packet_writes.c) ------------------------------------ */

typedef struct PacketSummary PacketSummary;
/* Does the kernel let a program of this kind read its packet but not
 * write it (kernel/bpf/verifier.c, may_access_direct_pkt_data)? */
bool packet_read_only(const ProgKindInfo *kind);
/* Summarises fn's checked body (fn->packet_summary) while it is there. */
void packet_summarise(FnDecl *fn);
/* An error at each store into the packet a function of fns (FnDecl*, the
 * summarised ones) makes for a program whose packet is read-only. */
void packet_writes_check(Module *m, Vec *fns);

/* packet_bounds.c: an error at the first packet access of fn's checked
 * body that no bounds check can guard. */
void packet_bounds_check(const FnDecl *fn);

/* return_range.c: an entry's return value against the range its kind
 * allows. Summarise every checked body while it is in memory, note every
 * set! of a global, and check each entry at the end. */
typedef struct ReturnSummary ReturnSummary;
void return_range_summarise(FnDecl *fn);
void return_range_note_set(GlobalDecl *g);
void return_range_check(const FnDecl *entry, const ProgKindInfo *kind, const char *attach);

/* Remembers the first construct the native backend refuses. */
static inline void module_refuse_native(Module *m, Span at, const char *what)
{
	if (!m->native_refused_at.file) {
		m->native_refused_at = at;
		m->native_refused_what = what;
	}
}

/* LANGUAGE.md section 5: argument i of a helper call that the source passes
 * by value and the C by address: 'k' key, 'v' value, 'd' output data, or 0;
 * *map_arg gets the position of the map it belongs to. (tables.c) */
char helper_by_value_arg(const Node *call, int i, int *map_arg);
/* The type of that argument's stack copy: the map's key or value type when
 * the map is known, else the argument's own; NULL when not by value. */
Type *helper_by_value_type(const Node *call, int i);

/* LANGUAGE.md 10.7 map idioms (map_idioms.c). */
typedef enum MapIdiomKind { MI_GET, MI_PUT, MI_DEL, MI_INCR } MapIdiomKind;
typedef struct MapIdiom {
	const char *name;        /* "map/get" */
	const char *helper;      /* the helper it is: "map_lookup_elem"; NULL
	                          * for map/incr!, which is several */
	int nargs;               /* in the source */
	MapIdiomKind kind;
	int helper_nargs;        /* of that helper: map/put! adds BPF_ANY */
} MapIdiom;
const MapIdiom *map_idiom_by_name(const char *name);
/* The helper declaration the idiom stands for, typed with map's key and
 * value types (map/get, map/put!, map/del!). */
ExternDecl *map_idiom_extern(const MapIdiom *mi, const MapDecl *map, Span at);

/* LANGUAGE.md 10.5 (printk.c): checks the format of (printk "fmt" args...)
 * against the arguments, at most 3, as clang's -Wformat would; sets
 * types[i] to the type conversion i expects (for literal arguments).
 * Returns the number of conversions, or -1 after reporting at fmt_at. */
int printk_conversions(const char *fmt, Span fmt_at, Type **types, int max);

/* references.c: reports a bpf/tail_call made while a ring-buffer record or
 * a socket is held (the verifier refuses it). On a checked body. */
void check_tail_calls_release(const Node *body);
/* Does a call of e hand out a reference (ring-buffer record, socket)?
 * A body with no such call has nothing check_tail_calls_release reports. */
bool helper_acquires_reference(const ExternDecl *e);

/* context_flow.c: an address (the context of an entry declared
 * [ctx :u64], the packet's data, a map, a pointer), however it got there,
 * where the verifier wants a number: an exported defn's integer argument,
 * arithmetic but address +/- number and the distance of two, a narrowing
 * cast. context_flow_body on each checked body (while it is in memory),
 * then check_context_flow once for the module, after the entry is known:
 * reports every such place: may_hold_address false when the body has no
 * map or pointer, no 64-bit parameter, no field and no call (nothing to
 * walk). After context_flow_decide_only (--check) it
 * only decides, keeping a few bytes per defn, and returns false when
 * there may be one (without reporting it: check again to report). */
typedef struct ContextFlow ContextFlow;
ContextFlow *context_flow_begin(void);
void context_flow_decide_only(ContextFlow *cf);
void context_flow_body(ContextFlow *cf, FnDecl *fn, bool may_hold_address);
/* Is fn an entry that takes its context as :u64 (LANGUAGE.md 7)? */
bool takes_context_as_u64(const Module *m, const FnDecl *fn);
bool check_context_flow(ContextFlow *cf, const Module *m);

/* ---- parser (parser.c) ------------------------------------------------ */

/* Does pred(node, ctx) hold for n or any node inside it (the bodies of
 * lets, matches, calls and dos included)? */
bool node_any(const Node *n, bool (*pred)(const Node *n, const void *ctx), const void *ctx);

/* Builds the module from the reader's forms. Syntax errors are reported
 * through diag; the parser skips the bad form and goes on. Threading
 * macros (-> ->>) are expanded here; cond becomes nested N_IF. */
Module *parse_module(const SourceFile *file, Vec forms);
/* read_file_each + parse_module in one pass, each form's S-expressions
 * recycled once it is parsed (nothing in the AST points into them). The
 * same module and the same diagnostics, but in source order: a form's
 * lexical errors come just before its syntax errors, where reading the
 * whole file first reports every lexical error before any syntax error. */
Module *parse_file(const SourceFile *file);
/* parse_file for a checker that takes one body at a time (frontend_check):
 * the same declarations and diagnostics, but every defn's body is NULL -
 * parsed for its errors, then released; with skim_bodies, the reader
 * skips what bodies it can (read_file_each_skimming), so their errors
 * are left to parse_file_defns. */
Module *parse_file_declarations(const SourceFile *file, bool skim_bodies);
/* The second pass: each defn of the file (a file parse_file_declarations
 * found no error in), in source order, parsed again with its body into
 * the transient region (arena_alloc_transient); each(fn) may call
 * arena_transient_keep() to keep it, else it is released when each
 * returns. skip_headers: the reader skips what headers it can
 * (SKIP_HEADERS), and fn then has a body only. Reading or parsing a body
 * the first pass skimmed may report an error: then each is not called
 * again, and it returns false. */
bool parse_file_defns(const SourceFile *file, bool skip_headers, void (*each)(FnDecl *fn, void *ctx),
		      void *ctx);

/* ---- checker (checker.c) ---------------------------------------------- */

/* Resolves names, checks types and safety rules, picks the entry function,
 * mangles C names. Returns true when no error was reported. */
bool check_module(Module *m);
/* check_module in steps, for a front end that holds one body at a time
 * (frontend_check): check_begin checks the declarations (every defn's
 * signature, no body); check_body checks fn's body, for every defn in
 * source order (it skips a second defn of a name, as check_module does),
 * and says whether the checker keeps pointers into that body (then it
 * must stay); check_end checks the call graph and the program's entry.
 * The diagnostics are check_module's, in its order; what only the
 * backends read of the bodies (Var.handle_map) only check_module sets. */
typedef struct Checker Checker;
Checker *check_begin(Module *m);
bool check_body(Checker *ck, FnDecl *fn);
bool check_end(Checker *ck);
/* frontend_check's first go: the address check of check_end
 * (context_flow.c) only decides whether there is an error to report
 * there; when there may be one, check_end returns false having reported
 * nothing of it, and check_undecided says so: check again without. */
void check_decide_only(Checker *ck);
bool check_undecided(const Checker *ck);
/* Starts loading into the cache what check_body looks up first about a
 * call of the file-scope name (its slot in the file scope's table). */
void check_prefetch_name(Checker *ck, const char *name);

/* ---- backends --------------------------------------------------------- */

typedef struct EmitOptions {
	bool line_directives;           /* #line N "file.va" (default on) */
	const char *license;            /* --license, overrides the source */
	const char *source_name;        /* file name used in #line and the header */
} EmitOptions;

/* Writes the C translation of a checked module to out. */
void emit_c(const Module *m, const EmitOptions *opts, StrBuf *out);

/* The C of kernel types (emit_kernel.c, LANGUAGE.md 11): the declarations
 * of the kernel structs m uses, and the CO-RE reads of a `.` chain n whose
 * base (core_chain_base) C has already written as base. */
void emit_kernel_structs(const Module *m, StrBuf *out);
bool is_kernel_member(const Node *n);
const Node *core_chain_base(const Node *n);
const char *emit_core_read(const Node *n, const char *base);
const char *core_bitfield_struct(const Node *n, const char *base, const Node **holder);
const char *emit_core_read_bitfield(const Node *n, const char *s);
const char *emit_core_exists(const Node *n, const char *base);
bool core_exists_reads_base(const Node *n);
const char *emit_core_read_str(const char *dst, const Node *n, const char *base);

/* Pieces of the C that the header (emit_h.c) repeats word for word, so the
 * two can never disagree on a layout or a map definition. Each sets
 * *uses_bool when its text needs <stdbool.h>. (emit_c.c) */
void emit_c_records(const Module *m, StrBuf *out, bool *uses_bool);
/* md as an `extern struct {...} name SEC(".maps");` declaration */
void emit_c_map_declaration(const Module *m, const MapDecl *md, StrBuf *out);
const char *emit_c_type_name(const Type *t, bool *uses_bool);
/* "__u64 account(__u32 proto, __u64 len)" for a defn, or the types-only
 * prototype of a c: extern (ext non-NULL, fn unused) */
const char *emit_c_prototype(const FnDecl *fn, const ExternDecl *ext, bool *uses_bool);

/* text, one declaration at file scope, broken at 80 columns as
 * clang-format 14 breaks it with the project's style; newline-ended. */
void emit_c_line(StrBuf *out, const char *text);

/* Writes the header a hand-written C file (BPF or user space) includes to
 * share the module's records, map types, maps and exported functions.
 * (emit_h.c) */
void emit_h(const Module *m, const EmitOptions *opts, StrBuf *out);

/* ---- front end in one call (frontend.c) ------------------------------- */

/* Reads, parses and checks text; returns the module, or NULL after
 * reporting every error found. */
Module *frontend_run(const SourceFile *file);
/* frontend_run for --check: the same diagnostics and verdict, in memory
 * that does not grow with the size of the bodies (frontend.c). */
bool frontend_check(const SourceFile *file);

/* ---- output files, temporaries, children (outfile.c) ------------------- */

/* SIGINT, SIGTERM, SIGHUP, SIGPIPE: forward the signal to the running child and wait
 * for it, remove every registered temporary, then die of the signal. */
void cleanup_on_signals(void);
/* Temporaries the handler removes (a copy of path is kept); a directory is
 * registered before the files in it. */
void temp_register(const char *path);
void temp_unregister(const char *path);
void temp_remove(const char *path);   /* unlink (or rmdir) and unregister */
/* Runs path (searched on PATH when search_path) with argv and waits: its
 * exit status, or -1 (said why on stderr) when it could not run or died
 * of a signal. The signal handler forwards to it and waits for it. */
int spawn_and_wait(const char *path, char **argv, bool search_path);
/* The same, with the child's standard input reading the nparts pieces of
 * input (input[i], len[i] bytes each) in turn, then end-of-file. */
int spawn_feed_and_wait(const char *path, char **argv, bool search_path, const char *const *input,
			const size_t *len, int nparts);

/* One output file, staged until every output of the run is ready. */
typedef struct OutFile {
	const char *path;       /* as given; "-" is standard output */
	char *staged;           /* the temporary holding its bytes */
	bool write_through;     /* a device, FIFO, symlink or stdout: its
	                         * bytes are written into it, never renamed
	                         * over it */
	/* outfile_stage_data on a write-through output: its bytes, kept by
	 * the caller until the commit, instead of a staged copy */
	const char *data;
	size_t len;
} OutFile;
/* Creates o's temporary: beside path for a regular or new file, in
 * $TMPDIR otherwise. Its fd, or -1 after saying why. */
int outfile_stage(OutFile *o, const char *path);
/* Stages len bytes of data as path's; for a write-through output the
 * bytes are not copied: data must stay until the commit or discard. */
bool outfile_stage_data(OutFile *o, const char *path, const char *data, size_t len);
/* Is the staged file a relocatable BPF object (ELF, EM_BPF, ET_REL)? Says
 * what tool wrote instead when it is not. */
bool outfile_check_object(OutFile *o, const char *tool);
void outfile_discard(OutFile *o);
/* Writes the write-through outputs, then renames the others into place;
 * stops at the first failure, so a failing device leaves every regular
 * output untouched. Every temporary is gone afterwards. */
bool outfile_commit_all(OutFile *outs, int n);
/* Refuses (says why, false) when an output that exists is one of the
 * inputs (same inode: hard links, ./x.va) or another output. */
bool outputs_spare_inputs(const char *const *inputs, int ninputs, const char *const *outputs,
			  int noutputs);
bool write_all(int fd, const char *data, size_t len);
/* The file's bytes, NUL-terminated, in malloc'd file->text. */
bool read_whole_file(const char *path, SourceFile *file, char *why, size_t why_size);

/* ---- subcommands (cmd_*.c, linked into vbpf2c only) -------------------- */

/* `vbpf2c test [options] prog.va [prog.cases]` (cmd_test.c): compiles,
 * loads and runs the cases in the kernel; argv[0] is "test". Returns the
 * exit status. main.c dispatches to it when argv[1] is "test". */
int cmd_test(int argc, char **argv);
/* `vbpf2c run [options] prog.va` (cmd_run.c): loads, attaches where this
 * machine allows, prints maps and events until Ctrl-C or --duration. */
int cmd_run(int argc, char **argv);
/* `vbpf2c init KIND NAME` (cmd_init.c): creates the project directory NAME
 * from templates/init/ (a .va, hand-written BPF C, a skeleton loader, cases,
 * a Makefile and a README). */
int cmd_init(int argc, char **argv);
/* The first executable regular file called name in $PATH's directories,
 * written to found; false when there is none (or it does not fit). */
bool cmd_find_on_path(const char *name, char *found, size_t size);
/* `vbpf2c --compare` (cmd_compare.c): prints to out, per function of m,
 * the instruction counts of its clang and native objects (NULL: that
 * backend made none; clang_missing, when not NULL, says why) and, when
 * bpf() works, the verifier's processed-instruction counts. main.c
 * compiles the objects. Returns the exit status. */
int cmd_compare(const Module *m, const char *clang_object, const char *clang_missing,
		const char *native_object, FILE *out);
/* Compiles source to a BPF object by running this executable with -c
 * (compile_args: -I/-D/--clang=/--backend=/--license= as given). */
bool cmd_compile(const char *source, const char *object, char **compile_args, int nargs);
/* Reads and checks source quietly (diagnostics are the compiler's to
 * give): the module, or NULL; text keeps the source (sb_free it, and
 * arena_reset, when done). (cmd_events.c) */
Module *cmd_read_module(const char *source, StrBuf *text);
/* A BTF of the records source sends as events, for the runtime's event
 * printer (vbpf_events__set_records); NULL when there are none. Resets
 * the arena. (cmd_events.c) */
struct btf *cmd_event_records(const char *source);

typedef enum LinkInputKind { LINK_INPUT_VAISTO, LINK_INPUT_C, LINK_INPUT_OBJECT } LinkInputKind;

/* `vbpf2c -c a.va hand.bpf.c x.o -o out.o` (cmd_link.c). */
typedef struct LinkJob {
	const char *const *inputs;
	const LinkInputKind *kinds;     /* parallel to inputs */
	int ninputs;
	const char *output;
	const char *clang;              /* for the .c inputs */
	const char *const *clang_args;  /* -I/-D as given, then the multiarch -I */
	int nclang_args;
	const char *const *compile_args; /* passed on to `vbpf2c -c` for each .va */
	int ncompile_args;
} LinkJob;

/* Compiles every input, checks they have one license and links them with
 * libbpf's linker into job->output, atomically. Returns vbpf2c's exit
 * status (0, 1 rejected, 2 trouble). */
int link_objects(const LinkJob *job);

/* When argv[i] is a compiler option (-I DIR, -IDIR, -D..., -W..., --clang=,
 * --backend=, --license=), appends it to compile_args and returns how many
 * words it took; else 0. */
int cmd_compile_option(int argc, char **argv, int i, char **compile_args, int *nargs);

#endif
