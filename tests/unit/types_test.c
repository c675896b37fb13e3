/* Unit tests for types.c: singletons, interning, equality, diagnostics
 * spelling, exact integer ranges and C record layout (checked against the
 * host C compiler's layout of the same struct). */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vbpf2c.h"

Test(types, scalar_singletons_have_c_names_and_sizes)
{
	struct {
		Type *t;
		const char *name, *c_name;
		int size;
		bool is_signed;
	} cases[] = {
		{ ty_u8, "u8", "__u8", 1, false },    { ty_u16, "u16", "__u16", 2, false },
		{ ty_u32, "u32", "__u32", 4, false }, { ty_u64, "u64", "__u64", 8, false },
		{ ty_i8, "i8", "__s8", 1, true },     { ty_i16, "i16", "__s16", 2, true },
		{ ty_i32, "i32", "__s32", 4, true },  { ty_i64, "i64", "__s64", 8, true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(cases[i].t->kind, TY_INT);
		cr_assert_str_eq(cases[i].t->name, cases[i].name);
		cr_assert_str_eq(cases[i].t->c_name, cases[i].c_name);
		cr_assert_eq(cases[i].t->size, cases[i].size);
		cr_assert_eq(cases[i].t->align, cases[i].size);
		cr_assert_eq(cases[i].t->is_signed, cases[i].is_signed);
		cr_assert(type_is_int(cases[i].t));
	}
	cr_assert_str_eq(ty_bool->c_name, "bool");
	cr_assert_eq(ty_bool->size, 1);
	cr_assert_str_eq(ty_unit->c_name, "void");
	cr_assert_not(type_is_int(ty_bool));
	cr_assert_not(type_is_int(ty_unit));
}

Test(types, int_by_name_accepts_aliases_only)
{
	cr_assert_eq(type_int_by_name("u8"), ty_u8);
	cr_assert_eq(type_int_by_name("U8"), ty_u8);
	cr_assert_eq(type_int_by_name("i64"), ty_i64);
	cr_assert_eq(type_int_by_name("I64"), ty_i64);
	cr_assert_eq(type_int_by_name("u32"), ty_u32);
	cr_assert_eq(type_int_by_name("I16"), ty_i16);
	cr_assert_null(type_int_by_name("int"));
	cr_assert_null(type_int_by_name("u128"));
	cr_assert_null(type_int_by_name("u"));
	cr_assert_null(type_int_by_name("s32"));
	cr_assert_null(type_int_by_name("u32x"));
	cr_assert_null(type_int_by_name("bool"));
	cr_assert_null(type_int_by_name(""));
}

Test(types, int_fits_is_exact)
{
	const uint64_t minus_one = (uint64_t)-1;
	cr_assert(int_fits(ty_u8, 255, false));
	cr_assert_not(int_fits(ty_u8, 256, false));
	cr_assert_not(int_fits(ty_u64, minus_one, true)); /* -1 */
	cr_assert(int_fits(ty_i8, minus_one, true));
	cr_assert(int_fits(ty_i8, (uint64_t)-128, true));
	cr_assert_not(int_fits(ty_i8, (uint64_t)-129, true));
	cr_assert(int_fits(ty_i8, 127, false));
	cr_assert_not(int_fits(ty_i8, 128, false));
	cr_assert(int_fits(ty_u64, UINT64_MAX, false)); /* 0xFFFFFFFFFFFFFFFF */
	cr_assert_not(int_fits(ty_i64, UINT64_MAX, false));
	cr_assert(int_fits(ty_i64, (uint64_t)INT64_MAX, false));
	cr_assert_not(int_fits(ty_i64, (uint64_t)INT64_MAX + 1, false));
	cr_assert(int_fits(ty_i64, (uint64_t)INT64_MIN, true));
	cr_assert(int_fits(ty_u32, 0xFFFFFFFFu, false));
	cr_assert_not(int_fits(ty_u32, 0x100000000u, false));
	cr_assert(int_fits(ty_i32, (uint64_t)INT32_MIN, true));
	cr_assert_not(int_fits(ty_i32, (uint64_t)INT32_MIN - 1, true));
	cr_assert(int_fits(ty_u16, 0, true)); /* -0 is 0 */
	cr_assert_not(int_fits(ty_bool, 1, false));
}

Test(types, pointers_are_interned)
{
	Type *p = type_ptr(ty_u8, false);
	cr_assert_eq(p, type_ptr(ty_u8, false));
	cr_assert_neq(p, type_ptr(ty_u8, true));
	cr_assert_eq(p->kind, TY_PTR);
	cr_assert_eq(p->pointee, ty_u8);
	cr_assert_eq(p->size, 8);
	cr_assert_str_eq(p->c_name, "__u8 *");
	cr_assert_str_eq(type_ptr(p, false)->c_name, "__u8 **");
	cr_assert(type_equal(p, type_ptr(ty_u8, false)));
	cr_assert_not(type_equal(p, type_ptr(ty_u8, true)));
	cr_assert_not(type_equal(p, type_ptr(ty_u16, false)));
}

Test(types, permanent_pointers_survive_arena_reset)
{
	Type *p = type_ptr(ty_u32, true);
	arena_reset();
	/* Scribble over fresh arena memory; a cache in a freed block would
	 * now point at garbage. */
	memset(arena_alloc(1 << 16), 0xA5, 1 << 16);
	Type *q = type_ptr(ty_u32, true);
	cr_assert_eq(p, q);
	cr_assert_eq(q->pointee, ty_u32);
	cr_assert_str_eq(q->c_name, "__u32 *");
}

static Record *make_record(const char *name, Type **types, int n)
{
	Record *r = arena_alloc(sizeof(*r));
	r->name = name;
	r->c_name = arena_printf("struct %s", name);
	r->fields = arena_alloc(sizeof(Field *) * (size_t)n);
	r->nfields = n;
	for (int i = 0; i < n; i++) {
		Field *f = arena_alloc(sizeof(*f));
		f->name = arena_printf("f%d", i);
		f->c_member = f->name;
		f->type = types[i];
		r->fields[i] = f;
	}
	return r;
}

Test(types, record_types_and_spelling)
{
	Type *fields[] = { ty_u32 };
	Record *r = make_record("Event", fields, 1);
	record_layout(r);
	Type *t = type_record(r);
	cr_assert_eq(t, type_record(r));
	cr_assert_eq(t->kind, TY_RECORD);
	cr_assert_str_eq(t->c_name, "struct Event");
	cr_assert_str_eq(type_str(t), ":Event");
	cr_assert_str_eq(type_str(type_ptr(t, false)), "(Ptr :Event)");
	cr_assert_str_eq(type_ptr(t, false)->c_name, "struct Event *");
	cr_assert_str_eq(type_str(ty_u32), ":u32");
	cr_assert_str_eq(type_str(ty_i8), ":i8");
	cr_assert_str_eq(type_str(ty_bool), ":bool");
	cr_assert_str_eq(type_str(ty_unit), ":unit");

	Record *other = make_record("Event", fields, 1);
	cr_assert_not(type_equal(t, type_record(other)));

	MapDecl m = { .name = "counts" };
	Type *mt = type_map(&m);
	cr_assert_str_eq(type_str(mt), "map `counts`");
	cr_assert(type_equal(mt, type_map(&m)));
	MapDecl m2 = { .name = "other" };
	cr_assert_not(type_equal(mt, type_map(&m2)));
	cr_assert_not(type_equal(mt, ty_u64));
}

/* The layout must be the C compiler's: compare with the host's layout of
 * the same struct (natural alignment is the same on x86-64 and BPF). */
struct c_mixed {
	uint8_t a;
	uint64_t b;
	uint16_t c;
	bool d;
	uint32_t e;
};
struct c_inner {
	uint16_t x;
	uint8_t y;
};
struct c_outer {
	uint8_t tag;
	struct c_inner inner;
	uint8_t tail;
};

Test(types, record_layout_matches_c)
{
	Type *mixed[] = { ty_u8, ty_u64, ty_u16, ty_bool, ty_u32 };
	Record *r = make_record("Mixed", mixed, 5);
	Type *t = type_record(r); /* created before layout: must be updated */
	record_layout(r);
	cr_assert_eq(r->fields[0]->offset, offsetof(struct c_mixed, a));
	cr_assert_eq(r->fields[1]->offset, offsetof(struct c_mixed, b));
	cr_assert_eq(r->fields[2]->offset, offsetof(struct c_mixed, c));
	cr_assert_eq(r->fields[3]->offset, offsetof(struct c_mixed, d));
	cr_assert_eq(r->fields[4]->offset, offsetof(struct c_mixed, e));
	cr_assert_eq(r->size, sizeof(struct c_mixed));
	cr_assert_eq(r->align, _Alignof(struct c_mixed));
	cr_assert_eq(t->size, r->size);
	cr_assert_eq(t->align, r->align);

	Type *inner_fields[] = { ty_u16, ty_u8 };
	Record *inner = make_record("Inner", inner_fields, 2);
	record_layout(inner);
	cr_assert_eq(inner->size, sizeof(struct c_inner));
	Type *outer_fields[] = { ty_u8, type_record(inner), ty_u8 };
	Record *outer = make_record("Outer", outer_fields, 3);
	record_layout(outer);
	cr_assert_eq(outer->fields[1]->offset, offsetof(struct c_outer, inner));
	cr_assert_eq(outer->fields[2]->offset, offsetof(struct c_outer, tail));
	cr_assert_eq(outer->size, sizeof(struct c_outer));
	cr_assert_eq(outer->align, _Alignof(struct c_outer));
}
