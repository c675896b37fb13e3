/* types.c - the type universe: the scalar singletons, interned pointer
 * types, record types and C record layout, and the exact integer range
 * check every literal goes through.
 *
 * Lifetime: most types live in the arena with the module that made them.
 * The singletons, the built-in context records (context.c) and pointers to
 * them are "permanent": they are referenced from static tables, so they
 * must survive arena_reset(). A pointer type is cached in its pointee, and
 * allocated with the pointee's lifetime, so the cache can never point into
 * a released arena block. */
#include <stdlib.h>
#include <string.h>

#include "vbpf2c.h"

#define SCALAR(kind_, size_, signed_, name_, c_name_)                         \
	{                                                                     \
		.kind = (kind_), .size = (size_), .align = (size_),           \
		.is_signed = (signed_), .name = (name_), .c_name = (c_name_), \
		.permanent = true,                                            \
	}

static Type unit_type = SCALAR(TY_UNIT, 0, false, "unit", "void");
static Type bool_type = SCALAR(TY_BOOL, 1, false, "bool", "bool");

/* Indexed by log2(size) * 2 + signedness, see type_int_by_name(). */
static Type int_types[8] = {
	SCALAR(TY_INT, 1, false, "u8", "__u8"),
	SCALAR(TY_INT, 1, true, "i8", "__s8"),
	SCALAR(TY_INT, 2, false, "u16", "__u16"),
	SCALAR(TY_INT, 2, true, "i16", "__s16"),
	SCALAR(TY_INT, 4, false, "u32", "__u32"),
	SCALAR(TY_INT, 4, true, "i32", "__s32"),
	SCALAR(TY_INT, 8, false, "u64", "__u64"),
	SCALAR(TY_INT, 8, true, "i64", "__s64"),
};

Type *ty_unit = &unit_type;
Type *ty_bool = &bool_type;
Type *ty_u8 = &int_types[0];
Type *ty_i8 = &int_types[1];
Type *ty_u16 = &int_types[2];
Type *ty_i16 = &int_types[3];
Type *ty_u32 = &int_types[4];
Type *ty_i32 = &int_types[5];
Type *ty_u64 = &int_types[6];
Type *ty_i64 = &int_types[7];

/* Permanent objects are few (one pointer type per permanent pointee and
 * nullability), so plain malloc that is never freed is the right tool. */
static void *permanent_alloc(size_t size)
{
	void *p = calloc(1, size);
	if (!p) {
		fputs("vbpf2c: out of memory\n", stderr);
		exit(2);
	}
	return p;
}

static char *permanent_concat(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = permanent_alloc(la + lb + lc + 1);
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

Type *type_ptr(Type *pointee, bool nullable)
{
	Type **slot = &pointee->ptr_cache[nullable];
	if (*slot)
		return *slot;

	/* "struct xdp_md *", "__u8 *", "__u8 **": no space before a '*'. */
	const char *c_name = pointee->c_name ? pointee->c_name : "void";
	const char *sep = c_name[strlen(c_name) - 1] == '*' ? "*" : " *";
	Type *t;
	if (pointee->permanent) {
		t = permanent_alloc(sizeof(*t));
		t->permanent = true;
		t->c_name = permanent_concat(c_name, sep, "");
	} else {
		/* cached in the pointee: outlives a transient span */
		bool was = arena_lasting_begin();
		t = arena_alloc(sizeof(*t));
		t->c_name = arena_printf("%s%s", c_name, sep);
		arena_lasting_end(was);
	}
	t->kind = TY_PTR;
	t->size = t->align = 8; /* BPF is a 64-bit target */
	t->name = "Ptr";
	t->pointee = pointee;
	t->nullable = nullable;
	*slot = t;
	return t;
}

/* Every use of a map as a value has its type: one per map, not one per
 * use (--check keeps every type to the end). */
Type *type_map(MapDecl *map)
{
	if (map->type)
		return map->type;
	bool was = arena_lasting_begin(); /* cached in the map */
	Type *t = arena_alloc(sizeof(*t));
	arena_lasting_end(was);
	t->kind = TY_MAP;
	t->name = map->name;
	t->c_name = "void *"; /* what libbpf's helpers take a map as */
	t->map = map;
	map->type = t;
	return t;
}

Type *type_record(Record *r)
{
	if (r->type)
		return r->type;
	bool was = arena_lasting_begin(); /* cached in the record */
	Type *t = r->is_context ? permanent_alloc(sizeof(*t)) : arena_alloc(sizeof(*t));
	arena_lasting_end(was);
	t->kind = TY_RECORD;
	t->size = r->size;
	t->align = r->align;
	t->name = r->name;
	t->c_name = r->c_name;
	t->record = r;
	t->permanent = r->is_context;
	r->type = t;
	return t;
}

static bool types_match(const Type *a, const Type *b, bool nullability_counts)
{
	if (a == b)
		return true;
	if (!a || !b || a->kind != b->kind)
		return false;
	switch (a->kind) {
	case TY_UNIT:
	case TY_BOOL:
		return true;
	case TY_INT:
		return a->size == b->size && a->is_signed == b->is_signed;
	case TY_RECORD:
		return a->record == b->record;
	case TY_PTR:
		return (!nullability_counts || a->nullable == b->nullable) &&
		       types_match(a->pointee, b->pointee, nullability_counts);
	case TY_MAP:
		return a->map == b->map;
	}
	return false;
}

/* v wrapped to integer type t: truncated, and sign-extended when t is
 * signed. */
uint64_t int_wrap(const Type *t, uint64_t v)
{
	if (t->size >= 8)
		return v;
	int bits = 8 * t->size;
	v &= (UINT64_C(1) << bits) - 1;
	if (t->is_signed && (v >> (bits - 1)))
		v |= ~((UINT64_C(1) << bits) - 1);
	return v;
}

/* x op k as k op' x: (< x k) is (> k x). */
BinOp comparison_mirrored(BinOp op)
{
	static const BinOp mirrored[] = { [OP_EQ] = OP_EQ, [OP_NE] = OP_NE, [OP_LT] = OP_GT,
					  [OP_GT] = OP_LT, [OP_LE] = OP_GE, [OP_GE] = OP_LE };
	return mirrored[op];
}

/* The comparison true where op is false: (< a b) is (not (>= a b)). */
BinOp comparison_negated(BinOp op)
{
	static const BinOp negated[] = { [OP_EQ] = OP_NE, [OP_NE] = OP_EQ, [OP_LT] = OP_GE,
					 [OP_GE] = OP_LT, [OP_GT] = OP_LE, [OP_LE] = OP_GT };
	return negated[op];
}

/* a op b, compared signed or unsigned. */
bool comparison_holds(BinOp op, bool is_signed, uint64_t a, uint64_t b)
{
	int c = is_signed ? ((int64_t)a > (int64_t)b) - ((int64_t)a < (int64_t)b) : (a > b) - (a < b);
	switch (op) {
	case OP_EQ: return c == 0;
	case OP_NE: return c != 0;
	case OP_LT: return c < 0;
	case OP_GT: return c > 0;
	case OP_LE: return c <= 0;
	case OP_GE: return c >= 0;
	default: return false;
	}
}

/* a op b of integer type t as the language computes it, wrapped to t,
 * into *out; false where no value is defined here: a shift by 64 or more,
 * a signed division, an operator that is no arithmetic. */
bool int_fold(BinOp op, const Type *t, uint64_t a, uint64_t b, uint64_t *out)
{
	switch (op) {
	case OP_ADD: a += b; break;
	case OP_SUB: a -= b; break;
	case OP_MUL: a *= b; break;
	case OP_AND: a &= b; break;
	case OP_OR: a |= b; break;
	case OP_XOR: a ^= b; break;
	case OP_SHL:
		if (b >= 64)
			return false;
		a <<= b;
		break;
	case OP_SHR: /* arithmetic on a signed type, as C's >> */
		if (b >= 64)
			return false;
		a = t->is_signed ? (uint64_t)((int64_t)a >> b) : a >> b;
		break;
	case OP_DIV: /* unsigned: BPF's x / 0 is 0, x % 0 is x */
		if (t->is_signed)
			return false;
		a = b ? a / b : 0;
		break;
	case OP_REM:
		if (t->is_signed)
			return false;
		a = b ? a % b : a;
		break;
	default:
		return false;
	}
	*out = int_wrap(t, a);
	return true;
}

static uint64_t byte_swap(uint64_t v, int size)
{
	uint64_t r = 0;
	for (int i = 0; i < size; i++)
		r = (r << 8) | ((v >> (8 * i)) & 0xff);
	return r;
}

/* The value of n, a checked integer expression of literals, kernel
 * constants, casts, negation, bpf/be and bpf/le, and arithmetic (int_fold)
 * - through a let's body and a do's last form - wrapped to its type;
 * other, when given, is asked for any other node (its recursion its
 * own). False when n is not one of these. */
bool int_constant(const Node *n, uint64_t *out, bool (*other)(const Node *n, uint64_t *out))
{
	while (n->kind == N_LET || (n->kind == N_DO && n->args.len > 0))
		n = n->kind == N_LET ? n->body : n->args.items[n->args.len - 1];
	if (!n->type || !type_is_int(n->type))
		return false;
	uint64_t a, b;
	switch (n->kind) {
	case N_INT:
		*out = int_wrap(n->type, n->value);
		return true;
	case N_NAME:
		if (n->ref != REF_KCONST || !n->ref_kconst)
			return false;
		*out = int_wrap(n->type, n->ref_kconst->value);
		return true;
	case N_CAST:
	case N_NEG:
		if (!int_constant(n->lhs, &a, other))
			return false;
		*out = int_wrap(n->type, n->kind == N_NEG ? 0 - a : a);
		return true;
	case N_CALL:
		if (n->callee_kind != CALLEE_BUILTIN || (n->builtin != BI_BE && n->builtin != BI_LE) ||
		    !n->builtin_type || !int_constant(n->args.items[0], &a, other))
			return false;
		*out = int_wrap(n->type, n->builtin == BI_BE ? byte_swap(a, n->builtin_type->size) : a);
		return true;
	case N_BINOP:
		return int_constant(n->lhs, &a, other) && int_constant(n->rhs, &b, other) &&
		       int_fold(n->op, n->type, a, b, out);
	default:
		return other && other(n, out);
	}
}

bool type_equal(const Type *a, const Type *b)
{
	return types_match(a, b, true);
}

bool type_equal_ignoring_null(const Type *a, const Type *b)
{
	return types_match(a, b, false);
}

bool type_is_int(const Type *t)
{
	return t && t->kind == TY_INT;
}

const char *type_str(const Type *t)
{
	if (!t)
		return "<unknown>";
	switch (t->kind) {
	case TY_UNIT:
		return ":unit";
	case TY_BOOL:
		return ":bool";
	case TY_INT:
	case TY_RECORD:
		return arena_printf(":%s", t->name);
	case TY_PTR:
		if (type_is_kernel(t))
			return arena_printf(":%s", t->pointee->name);  /* :k/task_struct */
		return arena_printf("(Ptr %s)", type_str(t->pointee));
	case TY_MAP:
		return arena_printf("map `%s`", t->map ? t->map->name : t->name);
	}
	return "<unknown>";
}

/* "u8".."i64", or the capitalised aliases "U8".."I64" (LANGUAGE.md 1). */
Type *type_int_by_name(const char *name)
{
	if (!name)
		return NULL;
	bool is_signed;
	switch (name[0]) {
	case 'u':
	case 'U':
		is_signed = false;
		break;
	case 'i':
	case 'I':
		is_signed = true;
		break;
	default:
		return NULL;
	}
	/* "8", "16", "32", "64", byte by byte: every cast and every
	 * integer type written in the source comes here */
	const char *w = name + 1;
	int log2;
	if (w[0] == '8' && !w[1])
		log2 = 0;
	else if (w[0] == '1' && w[1] == '6' && !w[2])
		log2 = 1;
	else if (w[0] == '3' && w[1] == '2' && !w[2])
		log2 = 2;
	else if (w[0] == '6' && w[1] == '4' && !w[2])
		log2 = 3;
	else
		return NULL;
	return &int_types[log2 * 2 + is_signed];
}

/* value is the literal's two's-complement 64-bit pattern and negative says
 * whether it was written with a '-': 0xFFFFFFFFFFFFFFFF is 2^64-1 and fits
 * only u64, -1 fits only the signed types. */
bool int_fits(const Type *t, uint64_t value, bool negative)
{
	if (!type_is_int(t))
		return false;
	int bits = t->size * 8;
	if (negative && value != 0) {
		if (!t->is_signed)
			return false;
		/* -value as a magnitude; the minimum is 2^(bits-1). */
		uint64_t magnitude = (uint64_t)0 - value;
		if ((int64_t)value >= 0)
			return false; /* not a negative 64-bit number at all */
		return magnitude <= (uint64_t)1 << (bits - 1);
	}
	uint64_t max = t->is_signed ? ((uint64_t)1 << (bits - 1)) - 1
	                            : bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
	return value <= max;
}

static int align_up(int n, int align)
{
	return (n + align - 1) / align * align;
}

void record_layout(Record *r)
{
	int offset = 0, max_align = 1;
	for (int i = 0; i < r->nfields; i++) {
		Field *f = r->fields[i];
		int align = f->type && f->type->align > 0 ? f->type->align : 1;
		int size = f->type ? f->type->size : 0;
		if (f->array_len)
			size *= f->array_len;
		offset = align_up(offset, align);
		f->offset = offset;
		offset += size;
		if (align > max_align)
			max_align = align;
	}
	r->align = max_align;
	r->size = align_up(offset, max_align);
	if (r->type) {
		r->type->size = r->size;
		r->type->align = r->align;
	}
}

const Node *let_scope_init(const LetScope *scope, const Node *n, const LetScope **at)
{
	for (const LetScope *b = scope; n->kind == N_NAME && n->ref == REF_VAR && b; b = b->up)
		if (b->var == n->ref_var) {
			*at = b->up;
			return b->init;
		}
	return NULL;
}
