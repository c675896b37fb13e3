/* reduce - shrink a Vaisto program while a test keeps saying it fails.
 *
 *   reduce [--check VBPF2C] PROG.va COMMAND [ARG...]
 *   reduce --format PROG.va      the program as candidates are written
 *
 * COMMAND ARG... CANDIDATE.va must exit 0 while the candidate still shows
 * the failure (tests/native/reduce.sh gives one that also throws away
 * candidates `vbpf2c --check` rejects, so every step stays well-typed;
 * with --check the checker is run first, directly, as a fast filter).
 * The program is read as S-expressions (comments dropped) and shrunk
 * greedily, bigger cuts first, until no candidate of a whole pass is
 * kept:
 *
 *   1. delete a top-level form (a defn, defmap, defglobal, extern ...)
 *   2. replace a list by one of its elements (hoist a branch, an operand,
 *      a let's body, a do's value)
 *   3. replace a list by a leaf: 0, 1, true, false, (do)
 *   4. delete an element of a list, or a name-value pair of a let vector
 *      or a clause of a match or cond
 *   5. replace an integer literal by 0 or 1
 *
 * The smallest program goes to standard output; progress to stderr. It
 * stops after REDUCE_SECONDS (default 300) with the smallest so far.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct Node {
	char *atom;              /* NULL: a list */
	char open;               /* '(' or '[' */
	struct Node **items;
	int n;
} Node;

static Node *new_node(void)
{
	Node *n = calloc(1, sizeof(*n));
	if (!n)
		exit(2);
	return n;
}

static void push(Node *list, Node *item)
{
	list->items = realloc(list->items, (size_t)(list->n + 1) * sizeof(*list->items));
	if (!list->items)
		exit(2);
	list->items[list->n++] = item;
}

static const char *src;

static void skip_space(void)
{
	for (;;) {
		while (isspace((unsigned char)*src))
			src++;
		if (*src != ';')
			return;
		while (*src && *src != '\n')
			src++;
	}
}

static Node *parse(void)
{
	skip_space();
	Node *n = new_node();
	if (*src == '(' || *src == '[') {
		n->open = *src++;
		char close = n->open == '(' ? ')' : ']';
		for (skip_space(); *src && *src != close; skip_space())
			push(n, parse());
		if (*src)
			src++;
		return n;
	}
	const char *start = src;
	if (*src == '"') {
		for (src++; *src && *src != '"'; src++)
			if (*src == '\\' && src[1])
				src++;
		if (*src)
			src++;
	} else {
		while (*src && !isspace((unsigned char)*src) && !strchr("()[];", *src))
			src++;
	}
	n->atom = strndup(start, (size_t)(src - start));
	return n;
}

static void print(FILE *f, const Node *n, int depth)
{
	if (n->atom) {
		fputs(n->atom, f);
		return;
	}
	fputc(n->open, f);
	for (int i = 0; i < n->n; i++) {
		if (i)
			fputc(' ', f);
		print(f, n->items[i], depth + 1);
	}
	fputc(n->open == '(' ? ')' : ']', f);
}

static Node *top;             /* the file: a list of top-level forms */
static char **command;
static char *check_command[4];   /* $VBPF2C --check: a fast first filter */
static const char *candidate_path;
static int tried, kept;
static time_t deadline;       /* REDUCE_SECONDS (default 300): then the smallest so far */

static void write_program(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	for (int i = 0; i < top->n; i++) {
		print(f, top->items[i], 0);
		fputc('\n', f);
	}
	fclose(f);
}

static bool run(char **argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Runs the test on the program as it is now: first the checker, most
 * candidates being ill-typed, then the test. */
static bool interesting(void)
{
	if (deadline && time(NULL) > deadline)
		return false;
	write_program(candidate_path);
	tried++;
	if (check_command[0] && !run(check_command))
		return false;
	return run(command);
}

static bool keep(void)
{
	if (!interesting())
		return false;
	kept++;
	fprintf(stderr, "reduce: %d kept of %d tried\n", kept, tried);
	return true;
}

static bool is_integer(const char *s)
{
	if (*s == '-')
		s++;
	if (s[0] == '0' && s[1] == 'x')
		return isxdigit((unsigned char)s[2]);
	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s))
		s++;
	return *s == '\0';
}

static bool is_head(const Node *n, const char *name)
{
	return !n->atom && n->n && n->items[0]->atom && strcmp(n->items[0]->atom, name) == 0;
}

/* Deletes count items of list from i; keeps them when the test says no. */
static bool try_delete(Node *list, int i, int count)
{
	if (i + count > list->n)
		return false;
	Node **saved = malloc((size_t)count * sizeof(*saved));
	memcpy(saved, list->items + i, (size_t)count * sizeof(*saved));
	memmove(list->items + i, list->items + i + count,
		(size_t)(list->n - i - count) * sizeof(*list->items));
	list->n -= count;
	if (keep()) {
		free(saved);
		return true;
	}
	memmove(list->items + i + count, list->items + i, (size_t)(list->n - i) * sizeof(*list->items));
	memcpy(list->items + i, saved, (size_t)count * sizeof(*saved));
	list->n += count;
	free(saved);
	return false;
}

/* Puts replacement in the place of list->items[i]; keeps it if the test
 * says yes. */
static bool try_replace(Node *list, int i, Node *replacement)
{
	Node *old = list->items[i];
	list->items[i] = replacement;
	if (keep())
		return true;
	list->items[i] = old;
	return false;
}

static Node *leaf_of(const char *text)
{
	Node *n = new_node();
	if (strcmp(text, "(do)") == 0) {
		n->open = '(';
		push(n, leaf_of("do"));
		return n;
	}
	n->atom = strdup(text);
	return n;
}

/* One pass over the children of parent (and, recursively, theirs).
 * Returns whether anything was kept. */
static bool shrink(Node *parent)
{
	bool changed = false;
	for (int i = parent->n - 1; i >= 0; i--) {
		Node *n = parent->items[i];
		if (i >= parent->n)
			continue;
		if (n->atom) {
			if (is_integer(n->atom) && strcmp(n->atom, "0") && strcmp(n->atom, "1"))
				changed |= try_replace(parent, i, leaf_of("0")) ||
					   try_replace(parent, i, leaf_of("1"));
			continue;
		}
		/* hoist an element, then a leaf in its place (not for whole
		 * top-level forms) */
		bool replaced = parent == top;
		for (int k = n->n - 1; k >= 0 && !replaced; k--)
			if (!(n->items[k]->atom && (n->items[k]->atom[0] == ':' || k == 0)))
				replaced = try_replace(parent, i, n->items[k]);
		static const char *const leaves[] = { "0", "true", "(do)" };
		for (size_t k = 0; k < sizeof(leaves) / sizeof(*leaves) && !replaced; k++)
			replaced = try_replace(parent, i, leaf_of(leaves[k]));
		if (replaced && parent != top) {
			changed = true;
			continue;
		}
		/* delete elements: pairs in a let vector, single ones elsewhere */
		bool let_vector = n->open == '[' && i == 1 && is_head(parent, "let");
		int step = let_vector ? 2 : 1;
		for (int k = n->n - step; k >= (n->open == '[' ? 0 : 1); k -= step)
			changed |= try_delete(n, k, step);
		changed |= shrink(n);
	}
	return changed;
}

int main(int argc, char **argv)
{
	bool format_only = argc == 3 && strcmp(argv[1], "--format") == 0;
	if (argc < 3) {
		fprintf(stderr, "usage: reduce [--check VBPF2C] PROG.va COMMAND [ARG...]\n"
				"       reduce --format PROG.va\n");
		return 2;
	}
	if (format_only)
		argv++;
	if (strcmp(argv[1], "--check") == 0 && argc > 4) {
		/* candidates the checker rejects are not worth the test */
		check_command[0] = argv[2];
		check_command[1] = "--check";
		argv += 2;
		argc -= 2;
	}
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	static char text[1 << 20];
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	src = text;
	top = new_node();
	top->open = '(';
	for (skip_space(); *src; skip_space())
		push(top, parse());
	if (format_only) {
		/* the layout candidates have: one top-level form a line */
		for (int i = 0; i < top->n; i++) {
			print(stdout, top->items[i], 0);
			putchar('\n');
		}
		return 0;
	}

	char *path = NULL;
	if (asprintf(&path, "%s.try.va", argv[1]) < 0)
		return 2;
	candidate_path = path;
	command = calloc((size_t)argc, sizeof(*command));
	for (int i = 2; i < argc; i++)
		command[i - 2] = argv[i];
	command[argc - 2] = path;
	if (check_command[0])
		check_command[2] = path;

	if (!interesting()) {
		fprintf(stderr, "reduce: the test does not fail on %s as it is\n", argv[1]);
		return 1;
	}
	const char *seconds = getenv("REDUCE_SECONDS");
	deadline = time(NULL) + (seconds ? atoi(seconds) : 300);
	bool changed;
	do {
		changed = false;
		/* whole top-level forms first, the program kind last of all */
		for (int i = top->n - 1; i >= 0; i--)
			if (!is_head(top->items[i], "program"))
				changed |= try_delete(top, i, 1);
		changed |= shrink(top);
	} while (changed && time(NULL) <= deadline);
	if (time(NULL) > deadline)
		fprintf(stderr, "reduce: out of time (REDUCE_SECONDS), the smallest so far\n");
	write_program(path);
	for (int i = 0; i < top->n; i++) {
		print(stdout, top->items[i], 0);
		putchar('\n');
	}
	fprintf(stderr, "reduce: done, %d kept of %d tried\n", kept, tried);
	unlink(path);
	return 0;
}
