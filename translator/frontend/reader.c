/* reader.c - characters to S-expressions (LANGUAGE.md section 1).
 *
 * One hand-written scanner over the whole file: a 256-entry character
 * class table decides every byte, so the hot loops are a table lookup and
 * a compare. Nodes and texts come from the arena; nothing is allocated per
 * character. Lists are built without recursion: the elements of every open
 * list sit on one shared stack (elem_stack) and move into an exact-size
 * arena array when the list closes, so no input can overflow the C stack.
 * Nesting is still limited (MAX_NESTING) because the parser and the checker
 * that walk these trees are recursive.
 *
 * Error recovery, chosen so that one mistake gives one message:
 *   - a comma is reported and skipped (treated as the space it stands for);
 *   - '{', '#{' and '#(' open a group that is reported once and dropped
 *     whole when it closes;
 *   - a closing delimiter of the wrong kind closes the innermost list
 *     anyway (the common typo is the wrong bracket, not a missing one);
 *   - a stray closing delimiter at top level is reported and skipped;
 *   - a top-level form still open at end of file is reported at the end of
 *     the file, with a note at its opener, and dropped: its contents would
 *     only produce follow-on errors in the parser. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "vbpf2c.h"

enum { MAX_NESTING = 256 };

/* Character classes. */
enum {
	C_OTHER,  /* bytes that may appear in a name */
	C_SPACE,  /* space, tab, CR */
	C_NL,     /* LF */
	C_OPEN,   /* ( [ */
	C_CLOSE,  /* ) ] */
	C_BRACE,  /* { } */
	C_QUOTE,  /* " */
	C_SEMI,   /* ; */
	C_COMMA,  /* , */
	C_BAD,    /* NUL and other control characters, DEL */
	C_HIGH,   /* bytes >= 0x80: allowed in comments and strings only */
};

static unsigned char char_class[256];
/* The bytes of names and numbers: 1 ASCII, 2 a byte >= 0x80 (which only
 * comments and strings may hold); 0 ends the token. */
static unsigned char atom_byte[256];

static void init_char_class(void)
{
	if (char_class['('])
		return;
	for (int c = 0; c < 256; c++) {
		if (c < 0x20 || c == 0x7f)
			char_class[c] = C_BAD;
		else if (c >= 0x80)
			char_class[c] = C_HIGH;
		else
			char_class[c] = C_OTHER;
	}
	char_class[' '] = char_class['\t'] = char_class['\r'] = C_SPACE;
	char_class['\n'] = C_NL;
	char_class['('] = char_class['['] = C_OPEN;
	char_class[')'] = char_class[']'] = C_CLOSE;
	char_class['{'] = char_class['}'] = C_BRACE;
	char_class['"'] = C_QUOTE;
	char_class[';'] = C_SEMI;
	char_class[','] = C_COMMA;
	for (int c = 0; c < 256; c++)
		atom_byte[c] = char_class[c] == C_OTHER ? 1 : char_class[c] == C_HIGH ? 2 : 0;
}


/* An open list. Elements live on elem_stack from elem_base upwards. */
typedef struct Frame {
	char opener;        /* '(' '[' '{' ('#{' and '#(' are '{' and 'f') */
	char closer;        /* closer_for(opener) */
	Span open_span;
	int elem_base;
	bool discard;       /* rejected group: dropped when it closes */
} Frame;

typedef struct Reader {
	const SourceFile *file;
	const unsigned char *text;
	size_t len, pos;
	uint32_t line;
	size_t line_start;

	Frame frames[MAX_NESTING + 1];
	int depth;
	/* Nesting beyond MAX_NESTING is skipped, counting delimiters only. */
	int skip_depth;
	/* skip_depth, or the innermost list is a rejected group: what is
	 * read is not kept (kept up to date by set_dropping) */
	bool dropping;

	Sexp **elems;
	int nelems, elems_cap;

	/* The end of the last token: where "expected ')'" errors point (its
	 * line is counted then: it is needed once, after an error). */
	size_t last_token_end;
	bool unterminated_string;
	/* The current top-level form lost part of its contents to an error. */
	bool drop_form;
	/* read_file_each_skimming: what it skips, of forms whose head has
	 * word skip_word (0: none), and what it skipped of the current form
	 * (Sexp.skipped) */
	SkipPart skip;
	uint8_t skip_word;
	uint8_t skipped;
	bool skip_tried;        /* once per form, whatever came of it */

	/* Streaming (read_file_each): the Sexps of a top-level form come from
	 * a pool that is reused once the callback has seen the form, so the
	 * reader's memory stays as small as the largest form. Texts always go
	 * to the arena: the AST keeps them. */
	bool recycle;
	struct PoolBlock {
		char *data;
		size_t size;
	} *pool;
	int pool_len, pool_cur;         /* pool_cur: the block in use */
	char *pool_next, *pool_end;     /* its free part */
	void (*each)(Sexp *form, void *ctx);
	void *each_ctx;
	Vec *comments; /* Comment*, when the caller keeps them */

	/* Interned symbol and keyword texts (open addressing, power of two). */
	struct InternSlot {
		const char *text;
		uint32_t hash, len;
	} *interned;
	uint32_t intern_cap, intern_count;
} Reader;

static Span span_here(Reader *r, size_t start, size_t len)
{
	return (Span){
		.file = r->file,
		.offset = (uint32_t)start,
		.len = (uint32_t)len,
		.line = r->line,
		.col = (uint32_t)(start - r->line_start + 1),
	};
}

static char closer_for(char opener)
{
	switch (opener) {
	case '(': return ')';
	case '[': return ']';
	case 'f': return ')';
	default: return '}';
	}
}

static const char *opener_text(char opener)
{
	switch (opener) {
	case '(': return "(";
	case '[': return "[";
	case '{': return "{";
	case 's': return "#{";
	default: return "#(";
	}
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p) {
		fputs("vbpf2c: out of memory\n", stderr);
		exit(2);
	}
	return p;
}

__attribute__((noinline)) static void grow_elems(Reader *r)
{
	r->elems_cap = r->elems_cap ? r->elems_cap * 2 : 256;
	r->elems = xrealloc(r->elems, sizeof(*r->elems) * (size_t)r->elems_cap);
}

/* Once per token: inlined, growing out of line. */
static inline void push_elem(Reader *r, Sexp *s)
{
	if (r->dropping)
		return;
	if (r->nelems == r->elems_cap)
		grow_elems(r);
	r->elems[r->nelems++] = s;
}

enum { POOL_BLOCK_SIZE = 64 * 1024 };

/* The pool from its first block again (the form before was handed over). */
static void pool_rewind(Reader *r)
{
	r->pool_cur = 0;
	r->pool_next = r->pool_len ? r->pool[0].data : NULL;
	r->pool_end = r->pool_len ? r->pool[0].data + r->pool[0].size : NULL;
}

/* reader_alloc when the block in use is full: the next block that has
 * room, or a new one. */
__attribute__((noinline)) static void *pool_alloc_slow(Reader *r, size_t size)
{
	if (r->pool_next)
		r->pool_cur++;
	while (r->pool_cur < r->pool_len && r->pool[r->pool_cur].size < size)
		r->pool_cur++;
	if (r->pool_cur == r->pool_len) {
		size_t bytes = size > POOL_BLOCK_SIZE ? size : POOL_BLOCK_SIZE;
		r->pool = xrealloc(r->pool, sizeof(*r->pool) * (size_t)(r->pool_len + 1));
		r->pool[r->pool_len++] = (struct PoolBlock){ xrealloc(NULL, bytes), bytes };
	}
	struct PoolBlock *b = &r->pool[r->pool_cur];
	r->pool_next = b->data + size;
	r->pool_end = b->data + b->size;
	return b->data;
}

/* Memory for Sexps and their item arrays, which their makers fill whole
 * (zeroed only when it comes from the arena). Once per token and list, so
 * the usual case is a pointer bump, inlined. */
static inline void *reader_alloc(Reader *r, size_t size)
{
	if (!r->recycle)
		return arena_alloc(size);
	size = (size + 15) & ~(size_t)15;
	if ((size_t)(r->pool_end - r->pool_next) < size)
		return pool_alloc_slow(r, size);
	void *p = r->pool_next;
	r->pool_next += size;
	return p;
}

static inline Sexp *new_sexp(Reader *r, SexpKind kind, Span span)
{
	Sexp *s = reader_alloc(r, sizeof(*s));
	*s = (Sexp){ .kind = kind, .span = span };
	return s;
}

static void note_token_end(Reader *r, size_t end)
{
	r->last_token_end = end;
}

/* Where an end-of-file error points: just after the last token. */
static Span span_at_eof(Reader *r)
{
	size_t at = r->last_token_end;
	uint32_t line = 1;
	size_t line_start = 0;
	for (size_t i = 0; i < at; i++) {
		if (r->text[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	}
	return (Span){
		.file = r->file,
		.offset = (uint32_t)at,
		.len = 1,
		.line = line,
		.col = (uint32_t)(at - line_start + 1),
	};
}

/* The first size of the intern table, from the file's size: a program has
 * about one distinct name per 100-150 bytes (bench/gen_large.sh: 75 000 in
 * 10 MB), so one slot per 64 bytes never rehashes. Rehashing a table of
 * hundreds of thousands of slots touched every slot in random order, and
 * took 40% of intern's time on big inputs. */
static uint32_t intern_initial_cap(size_t file_len)
{
	uint32_t cap = 1024;
	while (cap < file_len / 64 && cap < (1u << 24))
		cap *= 2;
	return cap;
}

/* Zeroed slots. A big table comes from its own mapping marked
 * MADV_HUGEPAGE: every token probes it at a random place, and with 4 KiB
 * pages most of those probes also missed the TLB (a page walk is dear in a
 * VM). A middling one (the 1 MB benchmark program's is 512 KiB) is
 * mapped populated: every page of it is touched anyway, and one call
 * mapping them all cost less than a page fault each (--check on 1 MB:
 * 13.0 -> 11.9 ms, 202 -> 75 page faults). */
enum { INTERN_HUGE_BYTES = 2 << 20, INTERN_POPULATE_BYTES = 64 << 10 };

static struct InternSlot *intern_slots_alloc(uint32_t cap)
{
	size_t bytes = sizeof(struct InternSlot) * cap;
	void *p;
	if (bytes < INTERN_POPULATE_BYTES) {
		p = calloc(cap, sizeof(struct InternSlot));
	} else {
		bool huge = bytes >= INTERN_HUGE_BYTES;
		p = pages_map(bytes, huge, !huge);
	}
	if (!p) {
		fputs("vbpf2c: out of memory\n", stderr);
		exit(2);
	}
	return p;
}

static void intern_slots_free(struct InternSlot *slots, uint32_t cap)
{
	size_t bytes = sizeof(struct InternSlot) * cap;
	if (bytes < INTERN_POPULATE_BYTES)
		free(slots);
	else
		munmap(slots, bytes);
}

static const char *const *vocabulary;
static int vocabulary_len;
static int vocabulary_toplevel;   /* words from this index on begin top-level forms */
/* The length of each word, and which bytes begin one: most new spellings
 * (70 000 function names in 10 MB) are then told apart from every word
 * without a comparison. */
static size_t vocabulary_word_len[250];
static uint32_t vocabulary_lengths[256];  /* by first byte: bit n, a word of n
                                          * bytes (31: 31 or more) */

void reader_set_vocabulary(const char *const *words, int n, int toplevel)
{
	vocabulary_toplevel = toplevel;
	if (words == vocabulary && n == vocabulary_len)
		return;
	vocabulary = words;
	vocabulary_len = n;
	memset(vocabulary_lengths, 0, sizeof(vocabulary_lengths));
	for (int i = 0; i < n; i++) {
		vocabulary_word_len[i] = strlen(words[i]);
		size_t len = vocabulary_word_len[i];
		vocabulary_lengths[(unsigned char)words[i][0]] |= 1u << (len < 31 ? len : 31);
	}
}

/* Sexp.word of a new spelling. */
static uint8_t vocabulary_word(const unsigned char *s, size_t n)
{
	if (!vocabulary_len)
		return 0;   /* not known: the parser looks it up */
	if (!(vocabulary_lengths[s[0]] & 1u << (n < 31 ? n : 31)))
		return 1;
	for (int i = 0; i < vocabulary_len; i++) {
		if (vocabulary_word_len[i] == n && !memcmp(vocabulary[i], s, n))
			return (uint8_t)(i + 2);
	}
	return 1;
}

/* The Sexp.word of an interned text: kept in its prefix (vbpf2c.h). */
static uint8_t interned_word(const char *text)
{
	return (uint8_t)text[-2];
}

/* Names repeat: one arena copy per spelling keeps memory per token low,
 * and the reader's speed is mostly its memory traffic. Each copy is
 * preceded by its hash and its Sexp.word (arena_name_copy), so the word is
 * found once per spelling and the hash taken once.
 *
 * A name's hash (name_hash_step, vbpf2c.h) is taken as read_atom scans
 * it, then mixed once (name_hash_end). */

/* memcmp(a, b, n) == 0 for the few bytes of a name, without a call: the
 * hash and length already match, so this nearly always succeeds. */
static bool same_bytes(const char *a, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)a[i] != b[i])
			return false;
	return true;
}

/* intern when the spelling is new: the table grown first if it is half
 * full, then the copy made and entered at slot j (where the probe for it
 * ended), or where it lands in the grown table. Out of line, so the probe
 * that finds a name - nearly every token - needs few registers. */
__attribute__((noinline)) static const char *intern_new(Reader *r, const unsigned char *s, size_t n,
							uint32_t h, uint32_t j)
{
	if (r->intern_count * 2 >= r->intern_cap) {
		uint32_t cap = r->intern_cap ? r->intern_cap * 2 : intern_initial_cap(r->len);
		struct InternSlot *slots = intern_slots_alloc(cap);
		for (uint32_t i = 0; i < r->intern_cap; i++) {
			struct InternSlot *old = &r->interned[i];
			if (!old->text)
				continue;
			uint32_t k = old->hash & (cap - 1);
			while (slots[k].text)
				k = (k + 1) & (cap - 1);
			slots[k] = *old;
		}
		intern_slots_free(r->interned, r->intern_cap);
		r->interned = slots;
		r->intern_cap = cap;
		for (j = h & (cap - 1); slots[j].text; j = (j + 1) & (cap - 1))
			;
	}
	r->interned[j] = (struct InternSlot){ arena_name_copy(s, n, h, vocabulary_word(s, n)), h, (uint32_t)n };
	r->intern_count++;
	return r->interned[j].text;
}

/* h: the hash of the n bytes at s, which read_atom computes as it scans
 * them (hashing the token once). An empty table (cap 0) has no slot to
 * probe: intern_new makes it. */
static inline const char *intern(Reader *r, const unsigned char *s, size_t n, uint32_t h)
{
	uint32_t mask = r->intern_cap - 1, j = h & mask;
	if (r->intern_cap) {
		for (;; j = (j + 1) & mask) {
			const struct InternSlot *slot = &r->interned[j];
			if (!slot->text)
				break;
			if (slot->hash == h && slot->len == n && same_bytes(slot->text, s, n))
				return slot->text;
		}
	}
	return intern_new(r, s, n, h, j);
}

/* ---- opening and closing lists ---------------------------------------- */

static bool inside_discarded(Reader *r)
{
	return r->depth > 0 && r->frames[r->depth - 1].discard;
}

/* After skip_depth or the open lists changed. */
static void set_dropping(Reader *r)
{
	r->dropping = r->skip_depth || inside_discarded(r);
}

static void open_list(Reader *r, char opener, size_t start, size_t len)
{
	if (r->skip_depth) {
		r->skip_depth++;
		return;
	}
	Span at = span_here(r, start, len);
	if (r->depth == MAX_NESTING) {
		diag_error(at, "forms nested more than %d deep", MAX_NESTING);
		diag_hint("split the expression with let bindings or helper functions");
		r->skip_depth = 1;
		r->drop_form = true;
		set_dropping(r);
		return;
	}
	bool discard = inside_discarded(r);
	if (!discard && opener != '(' && opener != '[') {
		r->drop_form = true;
		switch (opener) {
		case '{':
			diag_error(at, "map literals `{...}` are not supported in BPF modules");
			discard = true;
			break;
		case 's':
			diag_error(at, "set literals `#{...}` are not supported in BPF modules");
			discard = true;
			break;
		case 'f':
			diag_error(at, "anonymous functions are not supported in BPF modules");
			discard = true;
			break;
		}
	}
	Frame *f = &r->frames[r->depth++];
	f->opener = opener;
	f->closer = closer_for(opener);
	f->open_span = at;
	f->elem_base = r->nelems;
	f->discard = discard;
	r->dropping = discard;  /* set_dropping(), skip_depth being 0 */
}

static void close_top_frame(Reader *r, size_t close_end)
{
	Frame *f = &r->frames[--r->depth];
	int n = r->nelems - f->elem_base;
	r->nelems = f->elem_base;
	set_dropping(r);
	if (f->discard)
		return;
	/* the list and its items in one piece */
	Sexp *s = reader_alloc(r, sizeof(*s) + sizeof(*s->items) * (size_t)n);
	*s = (Sexp){ .kind = f->opener == '[' ? SX_VECTOR : SX_LIST, .span = f->open_span, .nitems = n };
	s->span.len = (uint32_t)(close_end - f->open_span.offset);
	if (n) {
		/* a few elements: copied inline, not by a call */
		Sexp **items = (Sexp **)(s + 1);
		for (int i = 0; i < n; i++)
			items[i] = r->elems[r->nelems + i];
		s->items = items;
	}
	s->skipped = r->depth == 0 ? r->skipped : 0;
	push_elem(r, s);
}

/* The usual closer is the innermost list's: closed with no more ado. */
static void close_list(Reader *r, char closer, size_t start)
{
	if (r->skip_depth) {
		r->skip_depth--;
		set_dropping(r);
		return;
	}
	if (r->depth > 0 && closer == r->frames[r->depth - 1].closer) {
		close_top_frame(r, start + 1);
		return;
	}
	Span at = span_here(r, start, 1);
	if (r->depth == 0) {
		diag_error(at, "unexpected '%c' with no matching '%c'", closer,
			   closer == ')' ? '(' : closer == ']' ? '[' : '{');
		return;
	}
	/* A closer that fits some enclosing list is a wrong bracket typed for
	 * the innermost one: close it. One that fits nothing is extra: skip
	 * it. Either way the rest reads as intended. */
	Frame *f = &r->frames[r->depth - 1];
	bool fits_outer = false;
	for (int d = r->depth - 2; d >= 0 && !fits_outer; d--)
		fits_outer = r->frames[d].closer == closer;
	if (!f->discard) {
		diag_error(at, "mismatched closing delimiter: expected '%c', found '%c'", f->closer, closer);
		diag_note(f->open_span, "to match this '%s'", opener_text(f->opener));
	}
	if (fits_outer || f->discard)
		close_top_frame(r, start + 1);
}

/* ---- atoms ------------------------------------------------------------- */

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* -?[0-9]+ as an exact 64-bit value. Returns false on overflow. */
static bool decimal_value(const unsigned char *s, size_t n, bool negative, uint64_t *out)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (negative) {
		if (v > (uint64_t)1 << 63)
			return false;
		v = (uint64_t)0 - v;
	}
	*out = v;
	return true;
}

static bool all_digits(const unsigned char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* -?[0-9]+.[0-9]+([eE][-+]?[0-9]+)? */
static bool looks_like_float(const unsigned char *s, size_t n)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	size_t int_start = i;
	while (i < n && is_digit(s[i]))
		i++;
	if (i == int_start || i == n || s[i] != '.')
		return false;
	size_t frac_start = ++i;
	while (i < n && is_digit(s[i]))
		i++;
	if (i == frac_start)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t exp_start = i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == exp_start)
			return false;
	}
	return i == n;
}

typedef struct NamedChar {
	const char *name;
	unsigned char value;
} NamedChar;

static const NamedChar named_chars[] = {
	{ "newline", '\n' }, { "space", ' ' }, { "tab", '\t' },
	{ "return", '\r' },  { "null", 0 },
};

/* \a \newline ...: s points at the backslash, n covers the token. */
static Sexp *read_char_literal(Reader *r, const unsigned char *s, size_t n, Span at)
{
	Sexp *x = new_sexp(r, SX_INT, at);
	if (n == 2 && s[1] < 0x80) {
		x->value = s[1];
		return x;
	}
	for (size_t i = 0; i < sizeof(named_chars) / sizeof(named_chars[0]); i++) {
		if (strlen(named_chars[i].name) == n - 1 &&
		    !memcmp(named_chars[i].name, s + 1, n - 1)) {
			x->value = named_chars[i].value;
			return x;
		}
	}
	if (n == 1)
		diag_error(at, "expected a character after '\\'");
	else
		diag_error(at, "unknown character literal `%.*s`", (int)(n > 40 ? 40 : n),
			   (const char *)s);
	diag_hint("character literals are \\a (one ASCII character), \\newline, \\space, "
		  "\\tab, \\return and \\null");
	(void)r;
	return x;
}

/* A run of name bytes: an integer, a float, a keyword or a name. */
static void read_atom(Reader *r)
{
	size_t start = r->pos;
	const unsigned char *t = r->text;
	size_t end = start;
	/* A backslash always takes the next byte, so \( and \; are characters. */
	if (t[end] == '\\' && end + 1 < r->len && char_class[t[end + 1]] != C_SPACE &&
	    char_class[t[end + 1]] != C_NL && t[end + 1] != '\0')
		end += 2;
	/* The name's hash as it is scanned: a keyword's leaves out the ':'.
	 * The text ends in a NUL (SourceFile), which ends the token. */
	uint32_t h = NAME_HASH_SEED;
	if (end == start && t[end] == ':')
		end++;
	unsigned bytes = 0;
	for (unsigned k; (k = atom_byte[t[end]]); end++) {
		bytes |= k;
		h = name_hash_step(h, t[end]);
	}
	h = name_hash_end(h);
	bool high = bytes & 2;
	r->pos = end;
	note_token_end(r, end);

	const unsigned char *s = t + start;
	size_t n = end - start;
	Span at = span_here(r, start, n);
	Sexp *x;

	if (s[0] == '\\') {
		x = read_char_literal(r, s, n, at);
	} else if (!is_digit(s[0]) && s[0] != '-') {
		/* not a number: the usual case, tested first */
		if (s[0] == ':') {
			x = new_sexp(r, SX_KEYWORD, at);
			x->text = intern(r, s + 1, n - 1, h);
			x->word = interned_word(x->text);
			if (n == 1) {
				diag_error(at, "expected a keyword name after ':'");
				r->drop_form = true;
			}
		} else {
			x = new_sexp(r, SX_SYMBOL, at);
			x->text = intern(r, s, n, h);
			x->word = interned_word(x->text);
		}
	} else if (all_digits(s, n) || (s[0] == '-' && all_digits(s + 1, n - 1))) {
		x = new_sexp(r, SX_INT, at);
		x->negative = s[0] == '-';
		if (!decimal_value(s + x->negative, n - x->negative, x->negative, &x->value))
			diag_error(at, "integer literal %.*s does not fit in 64 bits",
				   (int)(n > 60 ? 60 : n), (const char *)s);
	} else if (n > 2 && s[0] == '0' && s[1] == 'x' && hex_value(s[2]) >= 0) {
		size_t i = 2;
		uint64_t v = 0;
		bool overflow = false;
		for (; i < n && hex_value(s[i]) >= 0; i++) {
			overflow |= v >> 60 != 0;
			v = v << 4 | (uint64_t)hex_value(s[i]);
		}
		if (i == n) {
			x = new_sexp(r, SX_INT, at);
			x->value = v;
			if (overflow)
				diag_error(at, "integer literal %.*s does not fit in 64 bits",
					   (int)(n > 60 ? 60 : n), (const char *)s);
		} else {
			/* 0x1G: vaisto reads it as a name, and so do we. */
			x = new_sexp(r, SX_SYMBOL, at);
			x->text = intern(r, s, n, h);
			x->word = interned_word(x->text);
		}
	} else if (looks_like_float(s, n)) {
		x = new_sexp(r, SX_FLOAT, at);
		x->text = arena_strndup((const char *)s, n);
	} else {
		x = new_sexp(r, SX_SYMBOL, at);
		x->text = intern(r, s, n, h);
		x->word = interned_word(x->text);
	}
	if (high && x->kind != SX_INT)
		diag_error(at, "names must be ASCII: non-ASCII byte in `%s%s`",
			   x->kind == SX_KEYWORD ? ":" : "", x->text);
	push_elem(r, x);
}

/* "...": escapes \\ \" \n \t \r. Newlines inside are kept. */
static void read_string(Reader *r)
{
	size_t start = r->pos;
	/* A multi-line string is located at its opening quote. */
	Span at = span_here(r, start, 1);
	const unsigned char *t = r->text;
	size_t i = start + 1;
	StrBuf sb = { 0 };
	size_t chunk = i;

	for (;;) {
		if (i >= r->len) {
			diag_error(at, "unterminated string literal");
			r->unterminated_string = true;
			r->pos = r->len;
			sb_free(&sb);
			return;
		}
		unsigned char c = t[i];
		if (c == '"')
			break;
		if (c == '\n') {
			r->line++;
			r->line_start = i + 1;
			i++;
			continue;
		}
		if (c != '\\') {
			i++;
			continue;
		}
		/* Copy the plain run before the escape, then the decoded byte. */
		for (size_t k = chunk; k < i; k++)
			sb_putc(&sb, (char)t[k]);
		unsigned char e = i + 1 < r->len ? t[i + 1] : 0;
		char decoded;
		switch (e) {
		case '\\': decoded = '\\'; break;
		case '"': decoded = '"'; break;
		case 'n': decoded = '\n'; break;
		case 't': decoded = '\t'; break;
		case 'r': decoded = '\r'; break;
		default:
			decoded = 0;
			if (e >= 0x20 && e < 0x7f)
				diag_error(span_here(r, i, 2), "unknown escape sequence `\\%c` in string",
					   e);
			else
				diag_error(span_here(r, i, 1), "unknown escape sequence in string");
			diag_hint("the escapes are \\\\ \\\" \\n \\t \\r");
			break;
		}
		if (decoded)
			sb_putc(&sb, decoded);
		/* A backslash before a newline or the end: leave that byte to the loop. */
		i += (e == '\n' || i + 1 >= r->len) ? 1 : 2;
		chunk = i;
	}
	Sexp *x = new_sexp(r, SX_STRING, at);
	x->span.len = (uint32_t)(i + 1 - start);
	if (sb.data) {
		for (size_t k = chunk; k < i; k++)
			sb_putc(&sb, (char)t[k]);
		x->text = arena_strndup(sb.data, sb.len);
		sb_free(&sb);
	} else {
		x->text = arena_strndup((const char *)t + start + 1, i - start - 1);
	}
	r->pos = i + 1;
	note_token_end(r, r->pos);
	push_elem(r, x);
}

/* ---- the scanner loop -------------------------------------------------- */

/* Skipping part of a form without building anything (read_file_each_
 * skimming): where the skip has got to, its line, and the brackets it is
 * inside. */
typedef struct Skip {
	const unsigned char *t;
	size_t i, len, line_start;
	uint32_t line;
	int depth;
	char open[MAX_NESTING];
} Skip;

enum SkipStep { SKIP_ON, SKIP_GIVE_UP, SKIP_AT_CLOSER };

/* One step over what is not a name or a blank at k->i: a newline, a
 * comment, a bracket, a string. SKIP_AT_CLOSER: a closer of the list the
 * skip started in (k->i stays at it). SKIP_GIVE_UP at anything the reader
 * would report or treat specially - a brace, comma, control or non-ASCII
 * byte outside a string or comment, '#', '\\', an unknown escape, a wrong
 * or missing closer, nesting the reader refuses - so that the reader
 * reads it and says what it says. */
__attribute__((always_inline)) static inline enum SkipStep skip_step(Skip *k)
{
	const unsigned char *t = k->t;
	unsigned char c = t[k->i];
	switch (char_class[c]) {
	case C_NL:
		k->i++;
		k->line++;
		k->line_start = k->i;
		return SKIP_ON;
	case C_SEMI:
		while (k->i < k->len && t[k->i] != '\n')
			k->i++;
		return SKIP_ON;
	case C_OPEN:
		if (k->depth + 2 > MAX_NESTING)
			return SKIP_GIVE_UP;
		k->open[k->depth++] = (char)c;
		k->i++;
		return SKIP_ON;
	case C_CLOSE:
		if (k->depth == 0)
			return SKIP_AT_CLOSER;
		if (closer_for(k->open[--k->depth]) != (char)c)
			return SKIP_GIVE_UP;
		k->i++;
		return SKIP_ON;
	case C_QUOTE:
		for (k->i++;; k->i++) {
			if (k->i >= k->len)
				return SKIP_GIVE_UP;
			if (t[k->i] == '"')
				break;
			if (t[k->i] == '\n') {
				k->line++;
				k->line_start = k->i + 1;
			} else if (t[k->i] == '\\') {
				unsigned char e = k->i + 1 < k->len ? t[k->i + 1] : 0;
				if (e != '\\' && e != '"' && e != 'n' && e != 't' && e != 'r')
					return SKIP_GIVE_UP;
				k->i++;
			}
		}
		k->i++;
		return SKIP_ON;
	default:
		return SKIP_GIVE_UP;
	}
}

/* k at the reader's position. Field by field: a compound literal cleared
 * and copied the whole bracket stack, twice, at every skip. */
static void skip_start(const Reader *r, Skip *k)
{
	k->t = r->text;
	k->i = r->pos;
	k->len = r->len;
	k->line_start = r->line_start;
	k->line = r->line;
	k->depth = 0;
}

/* Skips count elements of the open list from the reader's position: true
 * with k just after the last, first[j] the first byte of the j-th. */
static bool skip_elements(const Reader *r, int count, unsigned char *first, Skip *k)
{
	skip_start(r, k);
	int done = 0;
	while (k->i < k->len) {
		unsigned char c = k->t[k->i];
		unsigned char cls = char_class[c];
		if (cls == C_SPACE) {
			k->i++;
			continue;
		}
		if (k->depth == 0 && cls != C_NL && cls != C_SEMI)
			first[done] = c;
		if (cls == C_OTHER && c != '#' && c != '\\') {
			size_t i = k->i;
			while (char_class[k->t[i]] == C_OTHER)  /* the NUL at the end stops it */
				i++;
			k->i = i;
		} else {
			enum SkipStep step = skip_step(k);
			if (step != SKIP_ON)
				return false;
			if (cls == C_NL || cls == C_SEMI || cls == C_OPEN)
				continue;
		}
		/* an element ended: an atom, a string, or a list back at depth 0 */
		if (k->depth == 0 && ++done == count)
			return true;
	}
	return false;
}

/* Bytes skip_to_close passes over without looking: 1 blanks, 2 the bytes
 * of names and numbers (not '#' or '\\', which may start something else). */
static unsigned char skip_plain[256];

static void init_skip_plain(void)
{
	if (skip_plain['a'])
		return;
	for (int c = 0; c < 256; c++)
		skip_plain[c] = char_class[c] == C_SPACE ? 1 : char_class[c] == C_OTHER ? 2 : 0;
	skip_plain['#'] = skip_plain['\\'] = 0;
}

/* Skips every element of the open list up to the ')' that closes it (there
 * must be one at least): true with k at that ')'. Looks only at brackets,
 * newlines, strings and comments - a body is most of a program, and this
 * the whole first pass over it. */
static bool skip_to_close(const Reader *r, Skip *k)
{
	skip_start(r, k);
	unsigned seen = 0;      /* 2: something other than blanks */
	const unsigned char *t = k->t;
	size_t len = k->len;
	for (;;) {
		/* in locals: k's fields would be reloaded after every byte read;
		 * the NUL after the text ends the run */
		size_t i = k->i;
		unsigned plain;
		while ((plain = skip_plain[t[i]])) {
			seen |= plain;
			i++;
		}
		k->i = i;
		if (i >= len)
			return false;
		unsigned char c = t[i];
		enum SkipStep step = skip_step(k);
		if (step == SKIP_AT_CLOSER)
			return c == ')' && (seen & 2);
		if (step == SKIP_GIVE_UP)
			return false;
		if (char_class[c] == C_OPEN || char_class[c] == C_QUOTE)
			seen |= 2;
	}
}

/* The declarations pass meets a new name in nearly every top-level form
 * (a defn's), and interning it waits for a slot of the intern table that
 * nothing has touched yet: a cache miss a form. So once a defn's body is
 * skipped (at its closing ')'), the slot of the next form's second element
 * is fetched while this form is parsed. Only a guess at what comes next -
 * reading it is exact whatever it is - so it looks no further than a line
 * or two. */
static void prefetch_next_form_name(const Reader *r, size_t i)
{
	enum { LOOK = 256 };
	const unsigned char *t = r->text;
	size_t end = r->len - i > LOOK ? i + LOOK : r->len;
	for (i++; i < end;) {
		if (t[i] == ';')
			while (i < end && t[i] != '\n')
				i++;
		else if (char_class[t[i]] == C_SPACE || char_class[t[i]] == C_NL)
			i++;
		else
			break;
	}
	if (i >= end || t[i] != '(')
		return;
	for (i++; i < end && atom_byte[t[i]]; i++)
		;
	while (i < end && char_class[t[i]] == C_SPACE)
		i++;
	size_t start = i;
	uint32_t h = NAME_HASH_SEED;
	for (; i < end && atom_byte[t[i]] == 1; i++)
		h = name_hash_step(h, t[i]);
	if (i > start && i < end)
		__builtin_prefetch(&r->interned[name_hash_end(h) & (r->intern_cap - 1)]);
}

/* Does a top-level form begin at t[i], a '(' at the start of a line: is
 * its head a word of the vocabulary that begins one? */
static bool begins_toplevel_form(const Reader *r, size_t i)
{
	const unsigned char *t = r->text;
	size_t from = i + 1, to = from;
	while (atom_byte[t[to]] == 1)   /* the NUL after the text ends it */
		to++;
	size_t n = to - from;
	for (int w = vocabulary_toplevel; w < vocabulary_len; w++)
		if (vocabulary_word_len[w] == n && !memcmp(vocabulary[w], t + from, n))
			return true;
	return false;
}

/* The bits set in x < 65536 (a movemask): __builtin_popcount is a library
 * call where the target may lack the instruction. */
static inline unsigned bits_in_16(unsigned x)
{
	x = x - ((x >> 1) & 0x5555);
	x = (x & 0x3333) + ((x >> 2) & 0x3333);
	x = (x + (x >> 4)) & 0x0F0F;
	return (x + (x >> 8)) & 0x1F;
}

/* Where the next line that begins a top-level form starts, at or after
 * `from` (len if none), and the newlines before it. Lines are short (28
 * bytes in the benchmark program) and such a line comes once a defn, so
 * this looks at 16 bytes a step for a newline followed by '(' and counts
 * the newlines on the way from a movemask: a memchr a line was 6% of
 * --check. */
static size_t next_toplevel_line(const Reader *r, size_t from, uint32_t *lines)
{
	const unsigned char *t = r->text;
	size_t len = r->len, i = from;
	uint32_t n = 0;
#ifdef __SSE2__
	const __m128i newline = _mm_set1_epi8('\n'), paren = _mm_set1_epi8('(');
	for (; len - i >= 17; i += 16) {        /* reads t[i] to t[i + 16] */
		__m128i here = _mm_loadu_si128((const __m128i *)(t + i));
		__m128i after = _mm_loadu_si128((const __m128i *)(t + i + 1));
		__m128i is_nl = _mm_cmpeq_epi8(here, newline);
		unsigned nl = (unsigned)_mm_movemask_epi8(is_nl);
		unsigned starts = (unsigned)_mm_movemask_epi8(_mm_and_si128(is_nl, _mm_cmpeq_epi8(after, paren)));
		for (; starts; starts &= starts - 1) {
			unsigned at = (unsigned)__builtin_ctz(starts);
			if (begins_toplevel_form(r, i + at + 1)) {
				*lines = n + bits_in_16(nl & ((2u << at) - 1));
				return i + at + 1;
			}
		}
		n += bits_in_16(nl);
	}
#endif
	for (const unsigned char *nl = t + i; (nl = memchr(nl, '\n', len - (size_t)(nl - t))); nl++) {
		n++;
		if (nl[1] == '(' && begins_toplevel_form(r, (size_t)(nl + 1 - t))) {
			*lines = n;
			return (size_t)(nl + 1 - t);
		}
	}
	*lines = n;
	return len;
}

/* SKIP_BODIES's guess (read_file_each_skimming): the body from the
 * reader's position ends at the last ')' before the next line that begins
 * with a top-level form, or before the end of the file, past blanks and
 * comment lines. A search for newlines is all it costs - a scan that
 * matched every bracket of every body was the declarations pass's largest
 * cost - and the pass over the bodies checks the guess. False, for a
 * skip_to_close, where it cannot guess: a body that begins with its
 * closer or a comment, or code after the last ')' (a trailing comment). */
static bool skip_to_next_form(const Reader *r, Skip *k)
{
	const unsigned char *t = r->text;
	size_t from = r->pos, len = r->len;
	size_t i = from;
	while (char_class[t[i]] == C_SPACE || char_class[t[i]] == C_NL)
		i++;
	if (i >= len || char_class[t[i]] == C_CLOSE || t[i] == ';')
		return false;
	uint32_t lines;         /* newlines from `from` up to next */
	size_t next = next_toplevel_line(r, from, &lines);
	size_t end = next;      /* just after the closer, once found */
	for (;;) {
		while (end > from && (char_class[t[end - 1]] == C_SPACE || char_class[t[end - 1]] == C_NL))
			lines -= t[--end] == '\n';
		if (end <= from)
			return false;
		if (t[end - 1] == ')')
			break;
		/* a comment line is passed over; anything else, code after
		 * the closer, is not guessed at */
		size_t line = end - 1;
		while (line > from && t[line - 1] != '\n')
			line--;
		size_t first = line;
		while (char_class[t[first]] == C_SPACE)
			first++;
		if (line <= from || t[first] != ';')
			return false;
		end = line;
	}
	size_t line_start = end - 1;
	while (line_start > from && t[line_start - 1] != '\n')
		line_start--;
	k->i = end - 1;
	k->line = r->line + lines;
	k->line_start = line_start > from ? line_start : r->line_start;  /* else on the reader's line */
	return true;
}

/* read_file_each_skimming: at the part of a top-level defn it skips -
 * its body just after the return type (SKIP_BODIES), or its name,
 * parameters and return type just after `defn` (SKIP_HEADERS) - skip it
 * when it can be skipped exactly, and mark the form. Not inlined: in the
 * scanner loop its Skip (a stack of brackets) cost the loop its
 * registers. */
__attribute__((noinline)) static void skip_defn_part(Reader *r)
{
	int have = r->nelems - r->frames[0].elem_base;
	if (r->skip_tried || have != (r->skip == SKIP_BODIES ? 4 : 1) || r->skip_depth || r->drop_form ||
	    r->frames[0].opener != '(' || r->frames[0].discard)
		return;
	Sexp *const *e = r->elems + r->frames[0].elem_base;
	if (e[0]->kind != SX_SYMBOL || e[0]->word != r->skip_word)
		return;
	r->skip_tried = true;
	Skip k;
	unsigned char first[3];
	if (r->skip == SKIP_BODIES) {
		if (e[2]->kind != SX_VECTOR || e[3]->kind != SX_KEYWORD ||
		    (!skip_to_next_form(r, &k) && !skip_to_close(r, &k)))
			return;
	} else {
		if (!skip_elements(r, 3, first, &k) || first[0] == ':' || first[1] != '[' || first[2] != ':')
			return;
	}
	r->pos = k.i;
	r->line = k.line;
	r->line_start = k.line_start;
	r->skipped = r->skip == SKIP_BODIES ? SKIPPED_BODY : SKIPPED_HEADER;
	if (r->skip == SKIP_BODIES && r->intern_cap)
		prefetch_next_form_name(r, k.i);
}

/* A top-level form is complete: hand it over, then recycle its memory. */
static void flush_top_level(Reader *r)
{
	for (int i = 0; i < r->nelems && !r->drop_form; i++)
		r->each(r->elems[i], r->each_ctx);
	r->nelems = 0;
	r->drop_form = false;
	r->skipped = 0;
	r->skip_tried = false;
	pool_rewind(r);
}

/* ; to the end of the line: skipped, and kept for the C backend when the
 * caller asked for comments. */
static void read_comment(Reader *r)
{
	const unsigned char *t = r->text;
	size_t start = r->pos;
	while (r->pos < r->len && t[r->pos] != '\n')
		r->pos++;
	if (!r->comments)
		return;
	size_t b = start, e = r->pos;
	while (b < e && t[b] == ';')
		b++;
	if (b < e && t[b] == ' ')
		b++;
	while (e > b && (t[e - 1] == ' ' || t[e - 1] == '\t' || t[e - 1] == '\r'))
		e--;
	Comment *c = arena_alloc(sizeof(*c));
	c->line = r->line;
	c->col = (uint32_t)(start - r->line_start + 1);
	c->offset = (uint32_t)start;
	c->text = arena_strndup((const char *)t + b, e - b);
	for (size_t i = r->line_start; i < start; i++)
		c->trailing |= char_class[t[i]] != C_SPACE;
	vec_push(r->comments, c);
}

/* The intern table reader_keep_names() keeps from one read of a file to
 * the next. */
static struct {
	bool keep;
	const SourceFile *file;
	struct InternSlot *interned;
	uint32_t intern_cap, intern_count;
} kept_names;

/* The reader at work (read_forms), for reader_prefetch_name. */
static const Reader *reading;

void reader_prefetch_name(const char *name)
{
	if (!reading || !reading->intern_cap)
		return;
	__builtin_prefetch(&reading->interned[name_hash(name) & (reading->intern_cap - 1)]);
}

void reader_keep_names(bool keep)
{
	kept_names.keep = keep;
	if (!keep && kept_names.interned) {
		intern_slots_free(kept_names.interned, kept_names.intern_cap);
		kept_names.interned = NULL;
		kept_names.intern_cap = kept_names.intern_count = 0;
		kept_names.file = NULL;
	}
}

static void read_forms(const SourceFile *file, bool recycle, void (*each)(Sexp *form, void *ctx),
		       void *ctx, Vec *comments, uint8_t skip_word, SkipPart skip)
{
	init_char_class();
	init_skip_plain();
	Reader r = { .file = file, .text = (const unsigned char *)file->text, .len = file->len,
		     .line = 1, .recycle = recycle, .each = each, .each_ctx = ctx, .comments = comments,
		     .skip = skip, .skip_word = skip_word };
	if (kept_names.interned && kept_names.file == file) {
		r.interned = kept_names.interned;
		r.intern_cap = kept_names.intern_cap;
		r.intern_count = kept_names.intern_count;
		kept_names.interned = NULL;
	}
	/* a sixth of the text: the benchmark program has a new name every
	 * 150 bytes or so, 20 bytes with its prefix, and a program of the
	 * usual kind repeats its names more */
	if (!r.interned)
		arena_expect_names(r.len / 6 + 4096);
	const unsigned char *t = r.text;
	reading = &r;

	while (r.pos < r.len) {
		unsigned char c = t[r.pos];
		switch (char_class[c]) {
		case C_SPACE:
			/* indentation and separators: a run of blanks at once (the
			 * NUL after the text ends it) */
			do
				r.pos++;
			while (t[r.pos] == ' ');
			continue;   /* blanks and comments add no element: nothing to flush or skip */
		case C_NL:
			r.pos++;
			r.line++;
			r.line_start = r.pos;
			continue;
		case C_SEMI:
			read_comment(&r);
			continue;
		case C_OPEN:
			open_list(&r, (char)c, r.pos, 1);
			r.pos++;
			note_token_end(&r, r.pos);
			break;
		case C_CLOSE:
			close_list(&r, (char)c, r.pos);
			r.pos++;
			note_token_end(&r, r.pos);
			break;
		case C_BRACE:
			if (c == '{')
				open_list(&r, '{', r.pos, 1);
			else
				close_list(&r, '}', r.pos);
			r.pos++;
			note_token_end(&r, r.pos);
			break;
		case C_QUOTE:
			read_string(&r);
			break;
		case C_COMMA:
			if (!r.skip_depth && !inside_discarded(&r))
				diag_error(span_here(&r, r.pos, 1),
					   "commas are not allowed here: separate elements with spaces");
			r.pos++;
			break;
		case C_BAD:
			if (!r.skip_depth && !inside_discarded(&r))
				diag_error(span_here(&r, r.pos, 1),
					   "invalid character 0x%02x in source", c);
			r.pos++;
			break;
		case C_HIGH:
		case C_OTHER:
			if (c == '#' && r.pos + 1 < r.len && (t[r.pos + 1] == '{' || t[r.pos + 1] == '(')) {
				open_list(&r, t[r.pos + 1] == '{' ? 's' : 'f', r.pos, 2);
				r.pos += 2;
				note_token_end(&r, r.pos);
				break;
			}
			read_atom(&r);
			break;
		}
		if (r.depth == 1 && r.skip_word && !r.skip_tried)
			skip_defn_part(&r);
		if (r.depth == 0 && (r.nelems || r.drop_form))
			flush_top_level(&r);
	}

	if (r.depth > 0 && !r.unterminated_string) {
		/* Report the innermost open list: that is where the closer is missing. */
		Frame *f = &r.frames[r.depth - 1];
		diag_error(span_at_eof(&r), "expected '%c' before end of file",
			   closer_for(f->opener));
		diag_note(f->open_span, "to match this '%s'", opener_text(f->opener));
	}
	reading = NULL;
	free(r.elems);
	if (kept_names.keep) {
		reader_keep_names(false);
		kept_names.keep = true;
		kept_names.file = file;
		kept_names.interned = r.interned;
		kept_names.intern_cap = r.intern_cap;
		kept_names.intern_count = r.intern_count;
	} else {
		intern_slots_free(r.interned, r.intern_cap);
	}
	for (int i = 0; i < r.pool_len; i++)
		free(r.pool[i].data);
	free(r.pool);
}

static void collect_form(Sexp *form, void *forms)
{
	vec_push(forms, form);
}

Vec read_file_forms(const SourceFile *file)
{
	Vec forms = { 0 };
	read_forms(file, false, collect_form, &forms, NULL, 0, SKIP_BODIES);
	return forms;
}

void read_file_each(const SourceFile *file, void (*each)(Sexp *form, void *ctx), void *ctx)
{
	read_forms(file, true, each, ctx, NULL, 0, SKIP_BODIES);
}

void read_file_each_skimming(const SourceFile *file, void (*each)(Sexp *form, void *ctx), void *ctx,
			     uint8_t defn_word, SkipPart skip)
{
	read_forms(file, true, each, ctx, NULL, defn_word, skip);
}

void read_file_each_with_comments(const SourceFile *file, void (*each)(Sexp *form, void *ctx), void *ctx,
				  Vec *comments)
{
	read_forms(file, true, each, ctx, comments, 0, SKIP_BODIES);
}
