/* cases.c - the .cases file format (docs/cases.md): one directive per
 * line, '#' comments, cases introduced by "case NAME".
 *
 *   set blocked 0 = 1                  # before the first case
 *   case udp_to_port_53
 *     packet 45 00 00 1c ...           # hex, any grouping; repeatable
 *     packet-len 64                    # pad the packet with zeros
 *     packet-out 02 00 ...             # the packet as the program left it
 *     ctx-u64 7 59                     # raw tracepoint args
 *     repeat 3
 *     return 2
 *     expect pkt_count 0 = 3
 *     expect global hits = 3
 *     expect-events events 1 [0a000001 ...]   # ring-buffer records
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vbpf_runtime.h"

/* Words on one line: a packet line of 1500 single-byte words is not a line
 * anyone reads, so the limit only asks for shorter lines. */
#define MAX_WORDS 512

struct parser {
	const char *name;
	FILE *diag;
	int line;
	bool failed;
	struct vbpf_cases *cases;
	struct vbpf_case *current;
	char *program;               /* from the last "program" directive */
};

__attribute__((format(printf, 2, 3)))
static void parse_error(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(p->diag, "%s:%d: error: ", p->name, p->line);
	vfprintf(p->diag, fmt, ap);
	fputc('\n', p->diag);
	va_end(ap);
	p->failed = true;
}

static void *grow(void *items, int count, size_t size)
{
	void *grown = realloc(items, (size_t)(count + 1) * size);
	if (!grown) {
		perror("vbpf: out of memory");
		exit(2);
	}
	memset((char *)grown + (size_t)count * size, 0, size);
	return grown;
}

static char *xstrdup(const char *s)
{
	char *copy = strdup(s);
	if (!copy) {
		perror("vbpf: out of memory");
		exit(2);
	}
	return copy;
}

/* Splits a line into whitespace-separated words, in place. A '[' ... ']'
 * group is one word even with spaces inside ("[0a 0b]"). */
static int split_words(char *line, char **words, int max)
{
	int n = 0;
	char *s = line;
	while (*s && n < max) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		words[n++] = s;
		if (*s == '[') {
			while (*s && *s != ']')
				s++;
			if (*s)
				s++;
		} else {
			while (*s && !isspace((unsigned char)*s))
				s++;
		}
		if (*s)
			*s++ = '\0';
	}
	return n;
}

static bool parse_uint(const char *s, uint64_t *out)
{
	if (!*s)
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, s[0] == '0' && s[1] == 'x' ? 16 : 10);
	if (*end || errno || s[0] == '-' || s[0] == '+' || isspace((unsigned char)s[0]))
		return false;
	*out = v;
	return true;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Appends the bytes of hex words ("45", "0a0b", "[de ad]") to *buf. */
static bool append_hex(struct parser *p, const char *word, uint8_t **buf, size_t *len)
{
	int high = -1;
	for (const char *c = word; *c; c++) {
		if (*c == '[' || *c == ']' || isspace((unsigned char)*c))
			continue;
		int d = hex_digit(*c);
		if (d < 0) {
			parse_error(p, "`%s` is not hex bytes", word);
			return false;
		}
		if (high < 0) {
			high = d;
			continue;
		}
		*buf = grow(*buf, (int)*len, 1);
		(*buf)[(*len)++] = (uint8_t)(high << 4 | d);
		high = -1;
	}
	if (high >= 0) {
		parse_error(p, "`%s` has an odd number of hex digits", word);
		return false;
	}
	return true;
}

/* The words of a [bytes] literal: hex, or `pid` / `trigger-pid` as 4
 * little-endian bytes (a tgid as a program stores it in a __u32). */
static bool append_record(struct parser *p, const char *word, struct vbpf_literal *lit)
{
	char *copy = xstrdup(word);
	bool ok = true;
	for (char *tok = strtok(copy, "[] \t"); tok && ok; tok = strtok(NULL, "[] \t")) {
		bool trigger = strcmp(tok, "trigger-pid") == 0;
		if (!trigger && strcmp(tok, "pid") != 0) {
			ok = append_hex(p, tok, &lit->bytes, &lit->nbytes);
			continue;
		}
		if (trigger) {
			if (lit->ntrigger_pid_at == 8) {
				parse_error(p, "more than 8 `trigger-pid` in `%s`", word);
				ok = false;
				break;
			}
			lit->trigger_pid_at[lit->ntrigger_pid_at++] = lit->nbytes;
		}
		uint32_t pid = trigger ? 0 : (uint32_t)getpid();
		for (int i = 0; i < 4; i++) {
			lit->bytes = grow(lit->bytes, (int)lit->nbytes, 1);
			lit->bytes[lit->nbytes++] = (uint8_t)(pid >> (8 * i));
		}
	}
	free(copy);
	return ok;
}

/* An integer (-5, 42, 0x1f), bytes ([0a 0b 0c], with `pid` and
 * `trigger-pid` words), "pid": the process running the cases, as
 * bpf_get_current_pid_tgid() >> 32 sees it, or "trigger-pid": the
 * process the case's `trigger` started. */
static bool parse_literal(struct parser *p, const char *word, struct vbpf_literal *lit)
{
	memset(lit, 0, sizeof(*lit));
	if (strcmp(word, "pid") == 0) {
		lit->value = (uint64_t)getpid();
		return true;
	}
	if (strcmp(word, "trigger-pid") == 0) {
		lit->trigger_pid = true;
		return true;
	}
	if (word[0] == '[') {
		if (word[strlen(word) - 1] != ']') {
			parse_error(p, "unterminated bytes `%s`: expected `]`", word);
			return false;
		}
		lit->is_bytes = true;
		return append_record(p, word, lit);
	}
	lit->negative = word[0] == '-';
	if (!parse_uint(word + lit->negative, &lit->value)) {
		parse_error(p, "`%s` is not an integer or [hex bytes]", word);
		return false;
	}
	if (lit->negative) {
		if (lit->value > (uint64_t)INT64_MAX + 1) {
			parse_error(p, "`%s` does not fit in 64 bits", word);
			return false;
		}
		lit->value = -lit->value;
	}
	return true;
}

int vbpf_literal__encode(const struct vbpf_literal *lit, void *out, size_t size,
			 char *why, size_t why_size)
{
	if (lit->is_bytes) {
		if (lit->nbytes != size) {
			snprintf(why, why_size, "%zu bytes given where %zu are needed", lit->nbytes,
				 size);
			return -1;
		}
		memcpy(out, lit->bytes, size);
		return 0;
	}
	if (size == 0 || size > 8) {
		snprintf(why, why_size, "an integer cannot fill %zu bytes; write [hex bytes]", size);
		return -1;
	}
	if (size < 8) {
		unsigned bits = (unsigned)size * 8;
		uint64_t top = lit->value >> (bits - 1);
		/* Fits as unsigned (top bits clear) or as signed (sign-extended). */
		bool fits = lit->negative ? top == (UINT64_MAX >> (bits - 1)) : (top >> 1) == 0;
		if (!fits) {
			snprintf(why, why_size, "%s%llu does not fit in %zu bytes",
				 lit->negative ? "-" : "",
				 (unsigned long long)(lit->negative ? -lit->value : lit->value), size);
			return -1;
		}
	}
	/* Little-endian: BPF maps hold host-order integers on x86-64. */
	for (size_t i = 0; i < size; i++)
		((uint8_t *)out)[i] = (uint8_t)(lit->value >> (8 * i));
	return 0;
}

void vbpf_literal__bind_trigger_pid(const struct vbpf_literal *lit, int pid,
				    struct vbpf_literal *out, uint8_t *buf)
{
	*out = *lit;
	if (lit->trigger_pid)
		out->value = (uint64_t)(uint32_t)pid;
	if (!lit->is_bytes || !lit->ntrigger_pid_at)
		return;
	memcpy(buf, lit->bytes, lit->nbytes);
	for (int k = 0; k < lit->ntrigger_pid_at; k++)
		for (int i = 0; i < 4; i++)
			buf[lit->trigger_pid_at[k] + (size_t)i] = (uint8_t)((uint32_t)pid >> (8 * i));
	out->bytes = buf;
}

static struct vbpf_step *add_step(struct vbpf_step **steps, int *n)
{
	*steps = grow(*steps, *n, sizeof(**steps));
	return &(*steps)[(*n)++];
}

/* The records an expect-event(s) line lists, each written as [hex bytes]. */
static void parse_records(struct parser *p, char **words, int n, struct vbpf_step *step)
{
	for (int i = 0; i < n; i++) {
		step->records = grow(step->records, step->nrecords, sizeof(*step->records));
		struct vbpf_literal *rec = &step->records[step->nrecords++];
		if (words[i][0] != '[') {
			parse_error(p, "a record is written as [hex bytes], not `%s`", words[i]);
			return;
		}
		if (!parse_literal(p, words[i], rec))
			return;
	}
}

/* set MAP KEY = VALUE | delete MAP KEY | expect MAP KEY = VALUE |
 * expect MAP KEY absent | expect global NAME = VALUE | set global NAME = VALUE */
static bool parse_step(struct parser *p, char **w, int n, struct vbpf_step *step)
{
	const char *verb = w[0];
	step->line = p->line;
	if (strcmp(verb, "delete") == 0) {
		if (n != 3) {
			parse_error(p, "expected `delete MAP KEY`");
			return false;
		}
		step->kind = VBPF_STEP_DELETE;
		step->map = xstrdup(w[1]);
		return parse_literal(p, w[2], &step->key);
	}
	bool expect = strcmp(verb, "expect") == 0;
	if (expect && n == 4 && strcmp(w[3], "absent") == 0) {
		step->kind = VBPF_STEP_EXPECT_ABSENT;
		step->map = xstrdup(w[1]);
		return parse_literal(p, w[2], &step->key);
	}
	if (n != 5 || strcmp(w[3], "=") != 0) {
		parse_error(p, "expected `%s MAP KEY = VALUE`%s", verb,
			    expect ? ", `expect MAP KEY absent` or `expect global NAME = VALUE`" : "");
		return false;
	}
	step->kind = expect ? VBPF_STEP_EXPECT : VBPF_STEP_SET;
	step->map = xstrdup(w[1]);
	if (strcmp(w[1], "global") == 0) {
		step->global = xstrdup(w[2]);
	} else if (!parse_literal(p, w[2], &step->key)) {
		return false;
	}
	return parse_literal(p, w[4], &step->value);
}

static bool want_args(struct parser *p, int n, int min, const char *usage)
{
	if (n >= min)
		return true;
	parse_error(p, "expected `%s`", usage);
	return false;
}

static bool want_case(struct parser *p, const char *directive)
{
	if (p->current)
		return true;
	parse_error(p, "`%s` outside a case: start one with `case NAME`", directive);
	return false;
}

/* EINVAL, ENOTSUPP, ... or a number below 4096; 0 when neither */
static int parse_errno(const char *word)
{
	static const struct { const char *name; int value; } names[] = {
		{ "EINVAL", EINVAL }, { "EPERM", EPERM }, { "EACCES", EACCES },
		{ "ENOTSUPP", 524 }, { "EOPNOTSUPP", EOPNOTSUPP }, { "ENOSPC", ENOSPC },
		{ "EFAULT", EFAULT }, { "E2BIG", E2BIG }, { "ENOENT", ENOENT },
	};
	uint64_t v;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(word, names[i].name) == 0)
			return names[i].value;
	return parse_uint(word, &v) && v > 0 && v < 4096 ? (int)v : 0;
}

static void parse_case_line(struct parser *p, char **w, int n)
{
	struct vbpf_case *c = p->current;
	const char *d = w[0];
	uint64_t v;
	if (strcmp(d, "packet") == 0 || strcmp(d, "ctx") == 0) {
		if (!want_args(p, n, 2, "packet HEX...") || !want_case(p, d))
			return;
		for (int i = 1; i < n; i++)
			if (d[0] == 'p' ? !append_hex(p, w[i], &c->packet, &c->packet_size)
					: !append_hex(p, w[i], &c->ctx, &c->ctx_size))
				return;
		c->run = true;
	} else if (strcmp(d, "packet-out") == 0) {
		if (!want_args(p, n, 2, "packet-out HEX...") || !want_case(p, d))
			return;
		for (int i = 1; i < n; i++)
			if (!append_hex(p, w[i], &c->packet_out, &c->packet_out_size))
				return;
		c->has_packet_out = true;
	} else if (strcmp(d, "packet-len") == 0 || strcmp(d, "packet-out-len") == 0) {
		bool out = d[7] == 'o';
		if (!want_args(p, n, 2, out ? "packet-out-len N" : "packet-len N") ||
		    !want_case(p, d))
			return;
		if (n != 2 || !parse_uint(w[1], &v) || v > 65535) {
			parse_error(p, "%s needs one length from 0 to 65535", d);
			return;
		}
		uint8_t **bytes = out ? &c->packet_out : &c->packet;
		size_t *size = out ? &c->packet_out_size : &c->packet_size;
		while (*size < v) {
			*bytes = grow(*bytes, (int)*size, 1);
			(*size)++;
		}
		if (out)
			c->has_packet_out = true;
		else
			c->run = true;
	} else if (strcmp(d, "ctx-u64") == 0 || strcmp(d, "ctx-u32") == 0) {
		if (!want_args(p, n, 2, "ctx-u64 N...") || !want_case(p, d))
			return;
		size_t width = d[5] == '6' ? 8 : 4;
		for (int i = 1; i < n; i++) {
			struct vbpf_literal lit;
			char why[128];
			if (!parse_literal(p, w[i], &lit))
				return;
			c->ctx = realloc(c->ctx, c->ctx_size + width);
			if (!c->ctx || vbpf_literal__encode(&lit, c->ctx + c->ctx_size, width, why,
							    sizeof(why))) {
				parse_error(p, "`%s`: %s", w[i], c->ctx ? why : "out of memory");
				free(lit.bytes);
				return;
			}
			free(lit.bytes);
			c->ctx_size += width;
		}
		c->run = true;
	} else if (strcmp(d, "repeat") == 0) {
		if (!want_case(p, d))
			return;
		if (n != 2 || !parse_uint(w[1], &v) || v < 1 || v > 1000000) {
			parse_error(p, "repeat needs one count from 1 to 1000000");
			return;
		}
		c->repeat = (unsigned)v;
		c->run = true;
	} else if (strcmp(d, "return") == 0) {
		struct vbpf_literal lit;
		if (!want_case(p, d))
			return;
		if (n == 2 && strcmp(w[1], "any") == 0) {
			/* the run must succeed; --dump prints the value */
			c->has_return = c->any_return = true;
			c->run = true;
			return;
		}
		if (n != 2 || !parse_literal(p, w[1], &lit) || lit.is_bytes) {
			if (!p->failed)
				parse_error(p, "expected `return N`");
			return;
		}
		c->has_return = true;
		c->expect_return = lit.value;
		c->run = true;
	} else if (strcmp(d, "errno") == 0) {
		if (!want_case(p, d))
			return;
		c->expect_errno = n == 2 ? parse_errno(w[1]) : 0;
		c->has_errno = c->expect_errno > 0;
		if (!c->has_errno) {
			parse_error(p, "expected `errno NAME` (EINVAL, ENOTSUPP, ...) or a number");
			return;
		}
		c->run = true;
	} else if (strcmp(d, "set") == 0 || strcmp(d, "delete") == 0) {
		struct vbpf_step *step = add_step(&c->before, &c->nbefore);
		parse_step(p, w, n, step);
	} else if (strcmp(d, "trigger") == 0) {
		if (!want_args(p, n, 2, "trigger COMMAND [ARG...]") || !want_case(p, d))
			return;
		if (c->trigger) {
			parse_error(p, "one `trigger` per case");
			return;
		}
		c->trigger = calloc((size_t)n, sizeof(*c->trigger));
		if (!c->trigger) {
			parse_error(p, "out of memory");
			return;
		}
		for (int i = 1; i < n; i++)
			c->trigger[i - 1] = xstrdup(w[i]);
	} else if (strcmp(d, "expect-event") == 0) {
		struct vbpf_step *step = add_step(&c->after, &c->nafter);
		step->kind = VBPF_STEP_EXPECT_EVENT;
		step->line = p->line;
		if (n < 3) {
			parse_error(p, "expected `expect-event MAP [RECORD]...`");
			return;
		}
		step->map = xstrdup(w[1]);
		parse_records(p, w + 2, n - 2, step);
	} else if (strcmp(d, "expect-events") == 0) {
		struct vbpf_step *step = add_step(&c->after, &c->nafter);
		step->kind = VBPF_STEP_EXPECT_EVENTS;
		step->line = p->line;
		if (n < 3 || !parse_uint(w[2], &v) || v > 100000) {
			parse_error(p, "expected `expect-events RINGBUF N [RECORD...]`");
			return;
		}
		step->map = xstrdup(w[1]);
		step->value.value = v;
		if (n > 3 && (uint64_t)(n - 3) != v) {
			parse_error(p, "%d records listed for %llu events", n - 3,
				    (unsigned long long)v);
			return;
		}
		parse_records(p, w + 3, n - 3, step);
	} else if (strcmp(d, "expect") == 0) {
		struct vbpf_step *step = add_step(&c->after, &c->nafter);
		parse_step(p, w, n, step);
	} else {
		parse_error(p, "unknown directive `%s`", d);
	}
}

static void parse_line(struct parser *p, char *line)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	char *w[MAX_WORDS + 1];
	int n = split_words(line, w, MAX_WORDS + 1);
	if (n == 0)
		return;
	if (n > MAX_WORDS) {
		parse_error(p, "line too long: split `packet` bytes over several lines");
		return;
	}
	if (strcmp(w[0], "case") == 0) {
		if (n != 2) {
			parse_error(p, "expected `case NAME` (one word)");
			return;
		}
		struct vbpf_cases *cs = p->cases;
		cs->cases = grow(cs->cases, cs->ncases, sizeof(*cs->cases));
		p->current = &cs->cases[cs->ncases++];
		p->current->name = xstrdup(w[1]);
		p->current->line = p->line;
		p->current->program = p->program ? xstrdup(p->program) : NULL;
		return;
	}
	if (strcmp(w[0], "program") == 0) {
		if (n != 2) {
			parse_error(p, "expected `program NAME`");
			return;
		}
		free(p->program);
		p->program = xstrdup(w[1]);
		p->current = NULL;
		return;
	}
	if (strcmp(w[0], "load-may-fail") == 0) {
		if (p->current || n != 2 || !(p->cases->load_may_fail = parse_errno(w[1])))
			parse_error(p, "expected `load-may-fail ERRNO` (EPERM, ...) before the first case");
		return;
	}
	if (!p->current && (strcmp(w[0], "set") == 0 || strcmp(w[0], "delete") == 0)) {
		struct vbpf_step *step = add_step(&p->cases->setup, &p->cases->nsetup);
		parse_step(p, w, n, step);
		return;
	}
	if (!p->current) {
		want_case(p, w[0]);
		return;
	}
	parse_case_line(p, w, n);
}

struct vbpf_cases *vbpf_cases__parse(const char *name, const char *text, FILE *diag)
{
	struct parser p = { .name = name, .diag = diag ? diag : stderr };
	p.cases = calloc(1, sizeof(*p.cases));
	if (!p.cases)
		return NULL;
	p.cases->path = xstrdup(name);
	for (const char *s = text; *s;) {
		size_t len = strcspn(s, "\n");
		char *line = malloc(len + 1);
		if (!line) {
			p.failed = true;
			break;
		}
		memcpy(line, s, len);
		line[len] = '\0';
		p.line++;
		parse_line(&p, line);
		free(line);
		s += len;
		if (*s)
			s++;
	}
	for (int i = 0; i < p.cases->ncases; i++) {
		struct vbpf_case *c = &p.cases->cases[i];
		if (!c->run && !c->trigger && c->nafter == 0) {
			p.line = c->line;
			parse_error(&p, "case `%s` neither runs the program nor checks anything",
				    c->name);
		}
		if (c->run && c->trigger) {
			p.line = c->line;
			parse_error(&p, "case `%s` both test-runs the program and triggers it: "
				    "use two cases", c->name);
		}
		if (c->run && !c->has_return && !c->has_errno) {
			p.line = c->line;
			parse_error(&p, "case `%s` runs the program but expects no `return`",
				    c->name);
		}
	}
	free(p.program);
	if (p.failed) {
		vbpf_cases__free(p.cases);
		return NULL;
	}
	return p.cases;
}

struct vbpf_cases *vbpf_cases__parse_file(const char *path, FILE *diag)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(diag ? diag : stderr, "%s: error: %s\n", path, strerror(errno));
		return NULL;
	}
	char *text = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&text, &size);
	char buf[4096];
	size_t n;
	while (mem && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	fclose(f);
	if (!mem)
		return NULL;
	fclose(mem);
	struct vbpf_cases *cases = vbpf_cases__parse(path, text, diag);
	free(text);
	return cases;
}

static void free_steps(struct vbpf_step *steps, int n)
{
	for (int i = 0; i < n; i++) {
		free(steps[i].map);
		free(steps[i].global);
		free(steps[i].key.bytes);
		free(steps[i].value.bytes);
		for (int k = 0; k < steps[i].nrecords; k++)
			free(steps[i].records[k].bytes);
		free(steps[i].records);
	}
	free(steps);
}

void vbpf_cases__free(struct vbpf_cases *cases)
{
	if (!cases)
		return;
	for (int i = 0; i < cases->ncases; i++) {
		struct vbpf_case *c = &cases->cases[i];
		free(c->name);
		free(c->program);
		free_steps(c->before, c->nbefore);
		free_steps(c->after, c->nafter);
		free(c->packet);
		free(c->packet_out);
		free(c->ctx);
		for (int k = 0; c->trigger && c->trigger[k]; k++)
			free(c->trigger[k]);
		free(c->trigger);
	}
	free(cases->cases);
	free_steps(cases->setup, cases->nsetup);
	free(cases->path);
	free(cases);
}
