/* util.c - the arena every stage allocates from, growable arrays and
 * string buffers.
 *
 * The translator is a one-shot program: nothing is freed piecemeal.
 * Blocks are chained so arena_reset() can release a whole translation at
 * once, which the fuzzer does between inputs.
 *
 * Blocks come straight from mmap: fresh anonymous pages are already zero, so
 * arena_alloc never has to clear memory, and large blocks marked
 * MADV_HUGEPAGE take one page fault per 2 MiB instead of one per 4 KiB. The
 * front end's throughput on big inputs is bounded by those faults. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "vbpf2c.h"

/* Under AddressSanitizer (`make sanitize`) released transient memory is
 * poisoned until it is handed out again, so a pointer that outlived its
 * body is reported where it is used. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif

/* Small first blocks keep tiny translations cheap; later blocks double up
 * to ARENA_MAX_BLOCK so a 10 MB program needs only a handful of mappings. */
enum { ARENA_MIN_BLOCK = 1 << 20, ARENA_MAX_BLOCK = 64 << 20 };

/* Allocations are rounded up to, and aligned on, 8 bytes: the strictest
 * alignment of anything the translator allocates (pointers and 64-bit
 * integers; no long double or __int128). Rounding to sizeof(max_align_t),
 * 32 bytes on x86-64, made a 40-byte declaration take 64 and an 8-byte
 * name 32: a third of --check's memory on big programs. */
enum { ARENA_ALIGN = 8 };

static size_t arena_round(size_t size)
{
	return (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

typedef struct ArenaBlock ArenaBlock;
struct ArenaBlock {
	ArenaBlock *next;
	size_t used, size;
	uint64_t data[];
};

static ArenaBlock *arena_head;
static size_t arena_next_block = ARENA_MIN_BLOCK;

void *pages_map(size_t bytes, bool huge, bool populate)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (huge)
		madvise(p, bytes, MADV_HUGEPAGE);
#endif
	return p;
}

/* A block of at least min_size usable bytes, starting from `first`
 * bytes (a transient block: ARENA_MIN_BLOCK, and the arena's own sizes
 * go on as they would without it), else from the arena's next size. */
static ArenaBlock *arena_map_block(size_t min_size, size_t first)
{
	size_t size = first ? first : arena_next_block;
	while (size < min_size + sizeof(ArenaBlock))
		size *= 2;
	if (!first && arena_next_block < ARENA_MAX_BLOCK)
		arena_next_block *= 2;
	/* Huge pages from 8 MiB blocks on: a huge page is resident whole
	 * once touched, and the last block is partly used - in a 4 MiB block
	 * that was a fifth more memory per source byte at 1 MB than at 10
	 * MB (bench/run.sh, --check), and a 1 MB program never needs an
	 * 8 MiB block. From 16 MiB on, as before, the 8 MiB block of a big
	 * program was 2048 page faults of its 4000 (--check, 10 MB). */
	ArenaBlock *b = pages_map(size, size >= (8u << 20), false);
	if (!b) {
		fputs("vbpf2c: out of memory\n", stderr);
		exit(2);
	}
	b->size = size - sizeof(ArenaBlock);
	return b;
}

static void *arena_alloc_lasting(size_t size)
{
	size = arena_round(size);
	if (!arena_head || arena_head->size - arena_head->used < size) {
		ArenaBlock *b = arena_map_block(size, 0);
		b->next = arena_head;
		arena_head = b;
	}
	/* Zero already: the block's pages are fresh from mmap and never reused. */
	void *p = (char *)arena_head->data + arena_head->used;
	arena_head->used += size;
	return p;
}

/* ---- the transient region -------------------------------------------------
 *
 * `--check` checks one defn at a time (frontend_check): the nodes of a body
 * are allocated here (arena_alloc_transient) while a transient span is
 * open, and arena_transient_end() hands their memory back for the next
 * body, zeroed. Only what is asked for explicitly goes here; everything
 * else (types, call edges, names...) stays in the arena, so nothing that
 * outlives a body can point into a released one by accident. The blocks
 * are kept, so the next body reuses memory that is already mapped and in
 * the cache: the front end's speed on big inputs is that of its page
 * faults, and a whole program's AST is most of its memory.
 *
 * The C backend lowers one function at a time the same way, but its
 * lowering allocates everywhere (arena_printf...): in a span opened by
 * arena_transient_begin_all() arena_alloc itself allocates here, and what
 * must outlive the span asks for the arena (arena_lasting_begin). */
static struct {
	ArenaBlock **blocks;
	int nblocks, cur;           /* cur: the block allocations come from */
	int depth;                  /* open transient spans */
	int floor_block;            /* arena_transient_keep(): released down */
	size_t floor_used;          /* to here only */
	bool all;                   /* arena_transient_begin_all(): arena_alloc
	                             * allocates here too */
	ArenaBlock *open;           /* blocks[cur] while a span is open, else
	                             * NULL: the one test of the usual case */
} transient;

/* transient.open again, after depth or cur changed. */
static void transient_reopen(void)
{
	transient.open = transient.depth && transient.cur < transient.nblocks ? transient.blocks[transient.cur]
									   : NULL;
}

void *arena_alloc(size_t size)
{
	return transient.all ? arena_alloc_transient(size) : arena_alloc_lasting(size);
}

void arena_transient_begin_all(void)
{
	transient.depth++;
	transient.all = true;
	transient_reopen();
}

bool arena_lasting_begin(void)
{
	bool was = transient.all;
	transient.all = false;
	return was;
}

void arena_lasting_end(bool was)
{
	transient.all = was;
}

void arena_transient_begin(void)
{
	transient.depth++;
	transient_reopen();
}

/* The block of the transient region to allocate size bytes from, when the
 * open one has no room: the next one that has, or a new one. */
__attribute__((noinline)) static ArenaBlock *transient_block_with_room(size_t size)
{
	while (transient.cur < transient.nblocks &&
	       transient.blocks[transient.cur]->size - transient.blocks[transient.cur]->used < size)
		transient.cur++;
	if (transient.cur == transient.nblocks) {
		ArenaBlock **grown = realloc(transient.blocks, sizeof(*grown) * (size_t)(transient.nblocks + 1));
		if (!grown) {
			fputs("vbpf2c: out of memory\n", stderr);
			exit(2);
		}
		transient.blocks = grown;
		transient.blocks[transient.nblocks++] = arena_map_block(size, ARENA_MIN_BLOCK);
	}
	transient_reopen();
	return transient.open;
}

/* Once per node of every body: a bump in the open block, the rest out of
 * line. */
void *arena_alloc_transient(size_t size)
{
	size = arena_round(size);
	ArenaBlock *b = transient.open;
	if (!b || b->size - b->used < size) {
		if (!transient.depth)
			return arena_alloc_lasting(size);
		b = transient_block_with_room(size);
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	ASAN_UNPOISON_MEMORY_REGION(p, size);
	return p;
}

/* Is p in the transient region? (vec_push grows a vector where it lives.) */
static bool in_transient(const void *p)
{
	for (int i = 0; i < transient.nblocks; i++) {
		const ArenaBlock *b = transient.blocks[i];
		if ((const char *)p >= (const char *)b->data && (const char *)p < (const char *)b->data + b->size)
			return true;
	}
	return false;
}

void arena_transient_keep(void)
{
	transient.floor_block = transient.cur;
	transient.floor_used = transient.cur < transient.nblocks ? transient.blocks[transient.cur]->used : 0;
}

void arena_transient_end(void)
{
	if (--transient.depth > 0)
		return;
	transient.all = false;
	/* Zero what was used above the floor: allocations promise zeroed
	 * memory, and only this part of the blocks was touched. */
	for (int i = transient.floor_block; i < transient.nblocks; i++) {
		ArenaBlock *b = transient.blocks[i];
		size_t from = i == transient.floor_block ? transient.floor_used : 0;
		if (b->used > from) {
			memset((char *)b->data + from, 0, b->used - from);
			ASAN_POISON_MEMORY_REGION((char *)b->data + from, b->used - from);
		}
		b->used = from;
	}
	transient.cur = transient.floor_block;
	transient.open = NULL;  /* no span is open */
}

/* ---- the name region ------------------------------------------------------
 *
 * Interned names, each behind its hash (vbpf2c.h, name_hash). One region
 * at a time is known to name_hash: a read asks for room for its names
 * (arena_expect_names) and gets a new region when the one in use lacks
 * it; names past that room go to the arena. A name outside the region in
 * use has its hash taken again - slower, never wrong. */
NameRegion name_region;
static char *name_next, *name_end;  /* the free part of the region */

void arena_expect_names(size_t bytes)
{
	if ((size_t)(name_end - name_next) >= bytes)
		return;
	char *base = arena_alloc_lasting(bytes + NAME_PREFIX_BYTES);
	name_region.lo = (uintptr_t)base + NAME_PREFIX_BYTES;
	name_region.size = bytes;
	name_next = base;
	name_end = base + bytes + NAME_PREFIX_BYTES;
}

const char *arena_name_copy(const unsigned char *text, size_t n, uint32_t hash, uint8_t word)
{
	size_t need = NAME_PREFIX_BYTES + n + 1;
	char *copy;
	if ((size_t)(name_end - name_next) >= need) {
		copy = name_next;
		name_next += need;
	} else {
		copy = arena_alloc_lasting(need);
	}
	memcpy(copy, &hash, sizeof(hash));
	copy[4] = (char)word;
	copy[5] = '\0';
	memcpy(copy + NAME_PREFIX_BYTES, text, n);
	copy[NAME_PREFIX_BYTES + n] = '\0';
	return copy + NAME_PREFIX_BYTES;
}

void arena_expect(size_t bytes)
{
	if (bytes < (4u << 20))
		return;     /* a small program keeps the small blocks (and its memory) */
	while (arena_next_block < bytes && arena_next_block < ARENA_MAX_BLOCK)
		arena_next_block *= 2;
}

void arena_reset(void)
{
	while (arena_head) {
		ArenaBlock *next = arena_head->next;
		munmap(arena_head, arena_head->size + sizeof(ArenaBlock));
		arena_head = next;
	}
	for (int i = 0; i < transient.nblocks; i++) {
		ASAN_UNPOISON_MEMORY_REGION(transient.blocks[i]->data, transient.blocks[i]->size);
		munmap(transient.blocks[i], transient.blocks[i]->size + sizeof(ArenaBlock));
	}
	free(transient.blocks);
	memset(&transient, 0, sizeof(transient));
	arena_next_block = ARENA_MIN_BLOCK;
	name_region = (NameRegion){ 0 };
	name_next = name_end = NULL;
}

char *arena_strndup(const char *s, size_t n)
{
	char *p = arena_alloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(const char *s)
{
	return arena_strndup(s, strlen(s));
}

/* ---- formatting ------------------------------------------------------------
 *
 * The translator formats most of what it writes - names, C expressions,
 * whole lines - with a handful of conversions, and vsnprintf's setup cost
 * more than writing the strings: a third of the C backend's instructions.
 * format() writes those conversions itself and leaves any other format to
 * vsnprintf, with vsnprintf's contract. */

/* Copies s[0..n) into buf where it still fits (cap bytes, the last kept
 * for the NUL); *len counts every byte, written or not. */
static void format_put(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + 1 < cap) {
		size_t room = cap - 1 - *len;
		memcpy(buf + *len, s, n < room ? n : room);
	}
	*len += n;
}

static void format_unsigned(char *buf, size_t cap, size_t *len, unsigned long long v, bool negative)
{
	char digits[24];
	char *p = digits + sizeof(digits);
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	if (negative)
		*--p = '-';
	format_put(buf, cap, len, p, (size_t)(digits + sizeof(digits) - p));
}

/* vsnprintf's result for a format of only %s, %.*s, %c, %d, %u (with l,
 * ll or z) and %%; -1 at any other conversion, which may have read some
 * of ap by then. */
static int format_simple(char *buf, size_t cap, const char *fmt, va_list ap)
{
	size_t len = 0;
	for (const char *p = fmt;;) {
		const char *pct = strchr(p, '%');
		if (!pct) {
			format_put(buf, cap, &len, p, strlen(p));
			break;
		}
		format_put(buf, cap, &len, p, (size_t)(pct - p));
		p = pct + 1;
		int precision = -1;
		if (p[0] == '.' && p[1] == '*') {
			precision = va_arg(ap, int);
			p += 2;
			if (*p != 's')
				return -1;
		}
		int longs = 0;
		bool size = false;
		if (*p == 'z') {
			size = true;
			p++;
		}
		while (*p == 'l' && longs < 2) {
			longs++;
			p++;
		}
		if ((size || longs) && *p != 'd' && *p != 'u')
			return -1;
		switch (*p++) {
		case 's': {
			const char *arg = va_arg(ap, const char *);
			format_put(buf, cap, &len, arg, precision < 0 ? strlen(arg) : strnlen(arg, (size_t)precision));
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			format_put(buf, cap, &len, &c, 1);
			break;
		}
		case '%':
			format_put(buf, cap, &len, "%", 1);
			break;
		case 'd': {
			long long v = size ? (long long)va_arg(ap, ssize_t)
				      : longs == 2 ? va_arg(ap, long long)
				      : longs == 1 ? va_arg(ap, long)
						   : va_arg(ap, int);
			format_unsigned(buf, cap, &len, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v,
					v < 0);
			break;
		}
		case 'u': {
			unsigned long long v = size ? va_arg(ap, size_t)
					       : longs == 2 ? va_arg(ap, unsigned long long)
					       : longs == 1 ? va_arg(ap, unsigned long)
							    : va_arg(ap, unsigned);
			format_unsigned(buf, cap, &len, v, false);
			break;
		}
		default:
			return -1;
		}
	}
	if (cap > 0)
		buf[len < cap ? len : cap - 1] = '\0';
	return len > INT_MAX ? -1 : (int)len;
}

/* vsnprintf(buf, cap, fmt, ap), the common conversions written here. */
static int format(char *buf, size_t cap, const char *fmt, va_list ap)
{
	va_list simple;
	va_copy(simple, ap);
	int n = format_simple(buf, cap, fmt, simple);
	va_end(simple);
	return n >= 0 ? n : vsnprintf(buf, cap, fmt, ap);
}

/* Formatted once where it fits a line's worth of stack (nearly always:
 * names and C expressions), else measured and formatted again. */
char *arena_printf(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = format(line, sizeof(line), fmt, ap);
	va_end(ap);
	char *p = arena_alloc((size_t)n + 1);
	if ((size_t)n < sizeof(line)) {
		memcpy(p, line, (size_t)n + 1);
		return p;
	}
	va_start(ap, fmt);
	format(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void vec_push(Vec *v, void *item)
{
	if (v->len == v->cap) {
		int cap = v->cap ? v->cap * 2 : 4;
		/* a vector in a transient node, or one whose elements are there
		 * already, grows in the transient region */
		size_t bytes = sizeof(void *) * (size_t)cap;
		bool here = transient.nblocks && (in_transient(v) || (v->items && in_transient(v->items)));
		void **items = here ? arena_alloc_transient(bytes) : arena_alloc_lasting(bytes);
		if (v->len)
			memcpy(items, v->items, sizeof(*items) * (size_t)v->len);
		v->items = items;
		v->cap = cap;
	}
	v->items[v->len++] = item;
}

static void sb_reserve(StrBuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->cap)
		return;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < sb->len + extra + 1)
		cap *= 2;
	char *data = realloc(sb->data, cap);
	if (!data) {
		fputs("vbpf2c: out of memory\n", stderr);
		exit(2);
	}
	sb->data = data;
	sb->cap = cap;
}

void sb_putc(StrBuf *sb, char c)
{
	sb_reserve(sb, 1);
	sb->data[sb->len++] = c;
	sb->data[sb->len] = '\0';
}

void sb_puts(StrBuf *sb, const char *s)
{
	size_t n = strlen(s);
	sb_reserve(sb, n);
	memcpy(sb->data + sb->len, s, n + 1);
	sb->len += n;
}

/* Into the buffer's spare room at once; measured and formatted again
 * only when it does not fit. */
void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap)
{
	sb_reserve(sb, 0);
	va_list first;
	va_copy(first, ap);
	int n = format(sb->data + sb->len, sb->cap - sb->len, fmt, first);
	va_end(first);
	if ((size_t)n >= sb->cap - sb->len) {
		sb_reserve(sb, (size_t)n);
		format(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	}
	sb->len += (size_t)n;
}

void sb_printf(StrBuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

void sb_insert(StrBuf *sb, size_t at, const char *s, size_t n)
{
	sb_reserve(sb, n);
	memmove(sb->data + at + n, sb->data + at, sb->len - at);
	memcpy(sb->data + at, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void sb_free(StrBuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

/* ---- name indexes ------------------------------------------------------- */

static const char *index_entry_name(const NameIndex *ix, uint32_t i)
{
	return *(const char *const *)((const char *)ix->entries + i * ix->stride);
}

/* The slot of name (hash h): where it is, or the empty slot that ends its
 * probe. The hash in the slot rules out other names without reading
 * theirs: most names looked up are in no table (a defn's name, among a
 * thousand C library names), and reading each name on the way was a
 * cache miss. */
static NameIndexSlot *index_slot(const NameIndex *ix, const char *name, uint32_t h)
{
	uint32_t j = h & (ix->cap - 1);
	for (;; j = (j + 1) & (ix->cap - 1)) {
		NameIndexSlot *slot = &ix->slots[j];
		if (!slot->entry)
			return slot;
		if (slot->hash == h && strcmp(index_entry_name(ix, slot->entry - 1), name) == 0)
			return slot;
	}
}

/* Static data, built once: never freed. */
static void index_build(NameIndex *ix)
{
	ix->cap = 16;
	while (ix->cap < ix->count * 2)
		ix->cap *= 2;
	ix->slots = calloc(ix->cap, sizeof(*ix->slots));
	if (!ix->slots) {
		fputs("vbpf2c: out of memory\n", stderr);
		exit(2);
	}
	for (uint32_t i = 0; i < ix->count; i++) {
		const char *name = index_entry_name(ix, i);
		uint32_t h = name_hash(name);
		NameIndexSlot *slot = index_slot(ix, name, h);
		if (!slot->entry)
			*slot = (NameIndexSlot){ h, i + 1 };
	}
}

const void *name_index_get(NameIndex *ix, const char *name)
{
	if (!ix->slots)
		index_build(ix);
	uint32_t at = index_slot(ix, name, name_hash(name))->entry;
	return at ? (const char *)ix->entries + (at - 1) * ix->stride : NULL;
}
