/* verifier_log.c - find the complaint in a verifier log and print it at
 * the source line it came from.
 *
 * A level-1 log lists every instruction the verifier walked, each
 * preceded, whenever the source line changes, by the BTF line info:
 *
 *   ; proto (bpf/load_u16 data 12)] @ prog.va:8
 *   1: (69) r1 = *(u16 *)(r1 +12)
 *   invalid access to packet, off=12 size=2, R1(id=0,off=12,r=0)
 *   R1 offset is outside of the packet
 *   processed 2 insns (limit 1000000) max_states_per_insn 0 ...
 *
 * The complaint is what follows the last instruction; its source line is
 * the last "; ... @ file:N" before that instruction. vbpf2c's #line
 * directives make file:N the .va position.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "vbpf_runtime.h"

/* "12: (69) r1 = ...": an instruction line. */
static bool is_insn_line(const char *line, size_t len, int *idx)
{
	size_t i = 0;
	while (i < len && isdigit((unsigned char)line[i]))
		i++;
	if (i == 0 || i + 3 >= len || line[i] != ':' || line[i + 1] != ' ' || line[i + 2] != '(')
		return false;
	*idx = atoi(line);
	return true;
}

/* "; text @ file:N": a line-info line. Splits it into its parts. */
static bool parse_linfo(const char *line, size_t len, struct vbpf_verifier_error *err)
{
	if (len < 2 || line[0] != ';')
		return false;
	const char *at = NULL;
	for (const char *p = line; p + 2 < line + len; p++)
		if (p[0] == ' ' && p[1] == '@' && p[2] == ' ')
			at = p;
	if (!at)
		return false;
	const char *loc = at + 3, *end = line + len;
	const char *colon = NULL;
	for (const char *p = loc; p < end; p++)
		if (*p == ':')
			colon = p;
	if (!colon || colon + 1 >= end || !isdigit((unsigned char)colon[1]))
		return false;
	snprintf(err->file, sizeof(err->file), "%.*s", (int)(colon - loc), loc);
	err->line = atoi(colon + 1);
	const char *text = line + 1;
	if (text < at && *text == ' ')
		text++;
	snprintf(err->source, sizeof(err->source), "%.*s", (int)(at - text), text);
	return true;
}

/* Lines after the complaint that are statistics, not the complaint. */
static bool is_trailer(const char *line, size_t len)
{
	static const char *const prefixes[] = {
		"processed ", "verification time", "stack depth", "-- END",
	};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (len >= n && strncmp(line, prefixes[i], n) == 0)
			return true;
	}
	return false;
}

bool vbpf_verifier_log__is_btf(const char *log)
{
	return strncmp(log, "magic: 0xeb9f\n", 14) == 0;
}

int vbpf_verifier_log__parse(const char *log, struct vbpf_verifier_error *err)
{
	memset(err, 0, sizeof(*err));
	err->insn_idx = -1;
	if (vbpf_verifier_log__is_btf(log))
		return -1;

	/* First pass: the last instruction line, and the line info that
	 * was current when it was printed. */
	const char *last_insn = NULL;
	struct vbpf_verifier_error linfo = { .insn_idx = -1 }, current = { .insn_idx = -1 };
	bool have_current = false, have_linfo = false;
	for (const char *line = log; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		int idx;
		if (parse_linfo(line, len, &current)) {
			have_current = true;
		} else if (is_insn_line(line, len, &idx)) {
			last_insn = line;
			err->insn_idx = idx;
			snprintf(err->insn, sizeof(err->insn), "%.*s", (int)len, line);
			/* Register state after ';' is noise in a message. */
			char *state = strstr(err->insn, "  ; ");
			if (state)
				*state = '\0';
			for (size_t n = strlen(err->insn); n && err->insn[n - 1] == ' ';)
				err->insn[--n] = '\0';
			linfo = current;
			have_linfo = have_current;
		}
		line = nl ? nl + 1 : line + len;
	}
	if (have_linfo) {
		memcpy(err->file, linfo.file, sizeof(err->file));
		memcpy(err->source, linfo.source, sizeof(err->source));
		err->line = linfo.line;
	}

	/* Second pass: the complaint follows the last instruction (or, for
	 * errors found before walking any instruction, is the whole log). */
	const char *p = last_insn ? strchr(last_insn, '\n') : log;
	if (p && *p == '\n')
		p++;
	size_t detail_len = 0;
	for (const char *line = p; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (is_trailer(line, len))
			break;
		int idx;
		if (len && !is_insn_line(line, len, &idx) && line[0] != ';') {
			if (!err->reason[0]) {
				snprintf(err->reason, sizeof(err->reason), "%.*s", (int)len, line);
			} else if (detail_len + len + 2 < sizeof(err->detail)) {
				if (detail_len)
					err->detail[detail_len++] = '\n';
				memcpy(err->detail + detail_len, line, len);
				detail_len += len;
				err->detail[detail_len] = '\0';
			}
		}
		line = nl ? nl + 1 : line + len;
	}
	return err->reason[0] ? 0 : -1;
}

/* Reads line `line` (1-based) of path into buf. */
static bool read_source_line(const char *path, int line, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool found = false;
	for (int n = 1; fgets(buf, (int)size, f); n++) {
		size_t len = strlen(buf);
		bool whole = len && buf[len - 1] == '\n';
		if (n == line) {
			while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
				buf[--len] = '\0';
			found = true;
			break;
		}
		/* A line longer than buf: skip the rest of it. */
		while (!whole && fgets(buf, (int)size, f)) {
			len = strlen(buf);
			whole = len && buf[len - 1] == '\n';
		}
	}
	fclose(f);
	return found;
}

/* The name of what the failing instruction does, as it is spelled in the
 * source: "load_u16" for a 2-byte load, "store_u32" for a 4-byte store,
 * the helper's name for a call. */
static void construct_of_insn(const char *insn, char *name, size_t size)
{
	name[0] = '\0';
	const char *call = strstr(insn, "call ");
	if (call) {
		call += 5;
		if (strncmp(call, "bpf_", 4) == 0)
			call += 4;
		size_t n = strcspn(call, "#( ");
		snprintf(name, size, "%.*s", (int)n, call);
		return;
	}
	static const char *const widths[] = { "u8", "u16", "u32", "u64" };
	for (size_t i = 0; i < 4; i++) {
		char pattern[16];
		snprintf(pattern, sizeof(pattern), "*(%s *)", widths[i]);
		const char *mem = strstr(insn, pattern);
		if (!mem)
			continue;
		/* "rX = *(u16 *)(...)" reads; "*(u16 *)(...) = rX" writes. */
		const char *eq = strstr(insn, " = ");
		snprintf(name, size, "%s_%s", eq && eq < mem ? "load" : "store", widths[i]);
		return;
	}
}

/* Column (0-based) and length of the span to underline in text. */
static void locate(const char *text, const char *insn, size_t *col, size_t *len)
{
	size_t n = strlen(text);
	*col = strspn(text, " \t");
	char name[64];
	construct_of_insn(insn, name, sizeof(name));
	const char *hit = name[0] ? strstr(text, name) : NULL;
	/* Underline the whole form, "(bpf/load_u16 data 12)". */
	if (hit) {
		const char *open = hit;
		while (open > text && open[-1] != '(' && open[-1] != ' ' && open[-1] != '[')
			open--;
		if (open > text && open[-1] == '(')
			open--;
		*col = (size_t)(open - text);
	}
	if (*col >= n) {
		*len = 1;
		return;
	}
	if (text[*col] != '(') {
		*len = strcspn(text + *col, " \t)]");
		if (*len == 0)
			*len = 1;
		return;
	}
	int depth = 0;
	size_t i = *col;
	for (; i < n; i++) {
		if (text[i] == '(' || text[i] == '[')
			depth++;
		else if ((text[i] == ')' || text[i] == ']') && --depth == 0)
			break;
	}
	*len = (i < n ? i + 1 : n) - *col;
}

void vbpf_verifier_error__print(const struct vbpf_verifier_error *err,
				const char *object_name, const char *source_dir, FILE *out)
{
	char text[1024] = "";
	/* The kernel names the file by its base name: show the path where
	 * the line was found, as the user would write it. */
	char shown[4096];
	snprintf(shown, sizeof(shown), "%s", err->file);
	bool have_text = false;
	if (err->line > 0) {
		have_text = read_source_line(err->file, err->line, text, sizeof(text));
		if (!have_text && source_dir && err->file[0] != '/') {
			char path[4096];
			const char *base = strrchr(err->file, '/');
			snprintf(path, sizeof(path), "%s/%s", source_dir, base ? base + 1 : err->file);
			have_text = read_source_line(path, err->line, text, sizeof(text));
			if (have_text && strcmp(source_dir, ".") != 0)
				snprintf(shown, sizeof(shown), "%s", path);
		}
		/* Without the file, the text BTF recorded for the line is
		 * still the line (clang stores it when it compiles). */
		if (!have_text && err->source[0]) {
			snprintf(text, sizeof(text), "%s", err->source);
			have_text = true;
		}
	}

	if (err->line > 0) {
		size_t col = 0, len = 1;
		if (have_text)
			locate(text, err->insn, &col, &len);
		fprintf(out, "%s:%d:%zu: error: verifier: %s\n", shown, err->line, col + 1,
			err->reason);
		if (have_text) {
			fprintf(out, "%s\n", text);
			for (size_t i = 0; i < col; i++)
				fputc(text[i] == '\t' ? '\t' : ' ', out);
			fputc('^', out);
			for (size_t i = 1; i < len; i++)
				fputc('~', out);
			fputc('\n', out);
		}
	} else {
		fprintf(out, "%s: error: verifier: %s\n", object_name ? object_name : "bpf",
			err->reason);
	}
	for (const char *d = err->detail; *d;) {
		size_t n = strcspn(d, "\n");
		fprintf(out, "note: verifier: %.*s\n", (int)n, d);
		d += n;
		if (*d)
			d++;
	}
	if (err->insn[0])
		fprintf(out, "note: failing instruction %s\n", err->insn);
}

int vbpf_verifier_log__processed_insns(const char *log)
{
	/* "processed 42 insns (limit 1000000) max_states_per_insn 0 ...":
	 * the last such line, the one of the whole program. */
	static const char prefix[] = "processed ";
	int insns = -1;
	for (const char *line = log; line && *line;) {
		if (strncmp(line, prefix, sizeof(prefix) - 1) == 0) {
			char *end;
			long n = strtol(line + sizeof(prefix) - 1, &end, 10);
			if (end != line + sizeof(prefix) - 1 && strncmp(end, " insns", 6) == 0 &&
			    n >= 0 && n <= INT_MAX)
				insns = (int)n;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return insns;
}
