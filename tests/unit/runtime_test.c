/* Unit tests for the runtime pieces that need no kernel: the cases-file
 * parser, the encoding of keys and values, and finding the complaint and
 * its source line in a verifier log. (Loading and test runs are covered by
 * tests/kernel.sh, in the kernel.) */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vbpf_runtime.h"

static char *errors;
static size_t errors_len;

static struct vbpf_cases *parse(const char *text)
{
	free(errors); /* the previous parse's, in a test that parses twice */
	errors = NULL;
	FILE *diag = open_memstream(&errors, &errors_len);
	struct vbpf_cases *cases = vbpf_cases__parse("t.cases", text, diag);
	fclose(diag);
	return cases;
}

static void free_errors(void)
{
	free(errors);
	errors = NULL;
}

TestSuite(runtime_cases, .fini = free_errors);

Test(runtime_cases, case_with_packet_repeat_return_and_expectations)
{
	struct vbpf_cases *cs = parse("# comment\n"
				      "set blocked 53 = 1\n"
				      "case udp   # trailing comment\n"
				      "  packet 02 00 0a0b\n"
				      "  packet ff\n"
				      "  packet-len 8\n"
				      "  repeat 3\n"
				      "  return 2\n"
				      "  expect count 0 = 3\n"
				      "  expect count [01 00 00 00] absent\n"
				      "  expect global hits = -1\n");
	cr_assert_not_null(cs, "%s", errors);
	cr_assert_eq(cs->nsetup, 1);
	cr_assert_eq(cs->setup[0].kind, VBPF_STEP_SET);
	cr_assert_str_eq(cs->setup[0].map, "blocked");
	cr_assert_eq(cs->setup[0].key.value, 53);
	cr_assert_eq(cs->ncases, 1);
	const struct vbpf_case *c = &cs->cases[0];
	cr_assert_str_eq(c->name, "udp");
	/* 02 00 0a 0b ff, padded with zeros to 8 bytes */
	cr_assert_eq(c->packet_size, 8);
	const uint8_t want[8] = { 0x02, 0x00, 0x0a, 0x0b, 0xff, 0, 0, 0 };
	cr_assert_arr_eq(c->packet, want, 8);
	cr_assert_eq(c->repeat, 3);
	cr_assert(c->run && c->has_return);
	cr_assert_eq(c->expect_return, 2);
	cr_assert_eq(c->nafter, 3);
	cr_assert_eq(c->after[0].kind, VBPF_STEP_EXPECT);
	cr_assert_eq(c->after[1].kind, VBPF_STEP_EXPECT_ABSENT);
	cr_assert(c->after[1].key.is_bytes);
	cr_assert_eq(c->after[1].key.nbytes, 4);
	cr_assert_str_eq(c->after[2].global, "hits");
	cr_assert(c->after[2].value.negative);
	cr_assert_eq((int64_t)c->after[2].value.value, -1);
	vbpf_cases__free(cs);
}

/* `return any`: the run must succeed, its value is not checked (generated
 * programs, whose oracle is the other backend) */
Test(runtime_cases, return_any_runs_without_an_expected_value)
{
	struct vbpf_cases *cs = parse("case any\n  packet-len 20\n  return any\n"
				      "case two\n  packet-len 20\n  return 2\n");
	cr_assert_not_null(cs, "%s", errors);
	cr_assert(cs->cases[0].run && cs->cases[0].has_return && cs->cases[0].any_return);
	cr_assert(!cs->cases[1].any_return);
	cr_assert_eq(cs->cases[1].expect_return, 2);
	vbpf_cases__free(cs);
}

Test(runtime_cases, ctx_u64_is_little_endian_words)
{
	struct vbpf_cases *cs = parse("case sys\n ctx-u64 1 -2\n return 0\n");
	cr_assert_not_null(cs, "%s", errors);
	const struct vbpf_case *c = &cs->cases[0];
	cr_assert_eq(c->ctx_size, 16);
	cr_assert_eq(c->ctx[0], 1);
	cr_assert_eq(c->ctx[7], 0);
	/* -2 is 0xfffffffffffffffe: fe then seven ff */
	cr_assert_eq(c->ctx[8], 0xfe);
	cr_assert_eq(c->ctx[15], 0xff);
	vbpf_cases__free(cs);
}

Test(runtime_cases, set_and_expect_in_a_case_split_before_and_after_the_run)
{
	struct vbpf_cases *cs = parse("case c\n expect m 1 = 2\n set m 1 = 0\n packet-len 14\n"
				      " return 0\n delete m 2\n");
	cr_assert_not_null(cs, "%s", errors);
	cr_assert_eq(cs->cases[0].nbefore, 2);
	cr_assert_eq(cs->cases[0].before[0].kind, VBPF_STEP_SET);
	cr_assert_eq(cs->cases[0].before[1].kind, VBPF_STEP_DELETE);
	cr_assert_eq(cs->cases[0].nafter, 1);
	vbpf_cases__free(cs);
}

Test(runtime_cases, pid_is_this_process)
{
	struct vbpf_cases *cs = parse("case c\n expect per_pid pid = 1\n");
	cr_assert_not_null(cs, "%s", errors);
	cr_assert_eq(cs->cases[0].after[0].key.value, (uint64_t)getpid());
	cr_assert_not(cs->cases[0].run);
	vbpf_cases__free(cs);
}

Test(runtime_cases, errors_name_the_line)
{
	cr_assert_null(parse("case a\n  packet 0g\n  return 1\n"));
	cr_assert(strstr(errors, "t.cases:2: error: `0g` is not hex bytes"), "%s", errors);
	free_errors();
	cr_assert_null(parse("packet 00\n"));
	cr_assert(strstr(errors, "t.cases:1: error: `packet` outside a case"), "%s", errors);
	free_errors();
	cr_assert_null(parse("case a\n  packet 000\n  return 1\n"));
	cr_assert(strstr(errors, "odd number of hex digits"), "%s", errors);
	free_errors();
	cr_assert_null(parse("case a\n  packet-len 20\n"));
	cr_assert(strstr(errors, "t.cases:1: error: case `a` runs the program but expects no `return`"),
		  "%s", errors);
	free_errors();
	cr_assert_null(parse("case a\n  expect m 1 == 2\n"));
	cr_assert(strstr(errors, "t.cases:2: error: expected `expect MAP KEY = VALUE`"), "%s", errors);
	free_errors();
	cr_assert_null(parse("case a\n  frobnicate\n"));
	cr_assert(strstr(errors, "unknown directive `frobnicate`"), "%s", errors);
}

TestSuite(runtime_literal, .fini = free_errors);

static int encode(const char *word, size_t size, uint8_t *out)
{
	char text[128], why[128];
	snprintf(text, sizeof(text), "case c\n expect m 0 = %s\n", word);
	struct vbpf_cases *cs = vbpf_cases__parse("t", text, NULL);
	cr_assert_not_null(cs);
	int err = vbpf_literal__encode(&cs->cases[0].after[0].value, out, size, why, sizeof(why));
	vbpf_cases__free(cs);
	return err;
}

Test(runtime_literal, integers_are_little_endian_at_the_given_size)
{
	uint8_t out[8];
	cr_assert_eq(encode("0x1234", 2, out), 0);
	cr_assert_eq(out[0], 0x34);
	cr_assert_eq(out[1], 0x12);
	cr_assert_eq(encode("255", 1, out), 0);
	cr_assert_eq(out[0], 0xff);
	cr_assert_eq(encode("-1", 4, out), 0);
	cr_assert_eq(out[3], 0xff);
	/* -128 fits a byte as signed; 256 and -129 do not fit at all */
	cr_assert_eq(encode("-128", 1, out), 0);
	cr_assert_eq(out[0], 0x80);
	cr_assert_neq(encode("256", 1, out), 0);
	cr_assert_neq(encode("-129", 1, out), 0);
}

Test(runtime_literal, bytes_must_match_the_size)
{
	uint8_t out[4];
	cr_assert_eq(encode("[0a 00 00 01]", 4, out), 0);
	cr_assert_eq(out[0], 0x0a);
	cr_assert_eq(out[3], 0x01);
	cr_assert_neq(encode("[0a 00]", 4, out), 0);
}

TestSuite(runtime_verifier_log);

/* The log the kernel gave for tests/kernel/missing_bounds-like C: a packet
 * load before any data_end check. */
static const char missing_bounds_log[] =
	"0: R1=ctx() R10=fp0\n"
	"; (let [data (u64 (. ctx :data)) @ mb.va:7\n"
	"0: (61) r1 = *(u32 *)(r1 +0)          ; R1=pkt(r=0)\n"
	"; proto (bpf/load_u16 data 12)] @ mb.va:8\n"
	"1: (69) r1 = *(u16 *)(r1 +12)\n"
	"invalid access to packet, off=12 size=2, R1(id=0,off=12,r=0)\n"
	"R1 offset is outside of the packet\n"
	"processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 "
	"mark_read 0\n";

Test(runtime_verifier_log, finds_line_reason_and_instruction)
{
	struct vbpf_verifier_error err;
	cr_assert_eq(vbpf_verifier_log__parse(missing_bounds_log, &err), 0);
	cr_assert_str_eq(err.file, "mb.va");
	cr_assert_eq(err.line, 8);
	cr_assert_str_eq(err.source, "proto (bpf/load_u16 data 12)]");
	cr_assert_eq(err.insn_idx, 1);
	cr_assert_str_eq(err.insn, "1: (69) r1 = *(u16 *)(r1 +12)");
	cr_assert_str_eq(err.reason, "invalid access to packet, off=12 size=2, R1(id=0,off=12,r=0)");
	cr_assert_str_eq(err.detail, "R1 offset is outside of the packet");
}

Test(runtime_verifier_log, prints_like_a_compiler_with_a_caret_under_the_load)
{
	struct vbpf_verifier_error err;
	cr_assert_eq(vbpf_verifier_log__parse(missing_bounds_log, &err), 0);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	/* mb.va does not exist here: the line text comes from the log. */
	vbpf_verifier_error__print(&err, "mb.bpf.o", NULL, out);
	fclose(out);
	/* The quoted text starts at column 1; "(bpf/load_u16" starts at 7. */
	cr_assert(strstr(text, "mb.va:8:7: error: verifier: invalid access to packet"), "%s", text);
	cr_assert(strstr(text, "\nproto (bpf/load_u16 data 12)]\n      ^~~~~~~~~~~~~~~~~~~~~~\n"),
		  "%s", text);
	cr_assert(strstr(text, "note: verifier: R1 offset is outside of the packet\n"), "%s", text);
	free(text);
}

Test(runtime_verifier_log, a_log_without_line_info_still_gives_the_reason)
{
	struct vbpf_verifier_error err;
	const char *log = "0: R1=ctx() R10=fp0\n0: (b7) r0 = 0\n1: (95) exit\n"
			  "At program exit the register R0 has unknown scalar value\n"
			  "processed 2 insns\n";
	cr_assert_eq(vbpf_verifier_log__parse(log, &err), 0);
	cr_assert_eq(err.line, 0);
	cr_assert_str_eq(err.reason, "At program exit the register R0 has unknown scalar value");
	cr_assert_eq(err.insn_idx, 1);
}

/* A BPF_LOG_STATS log: the statistics lines only, the whole program's
 * count last (a log of level 1 or 2 ends the same way). */
/* What the kernel logs when it refuses an object's BTF (here an array of
 * 2^31 ints, the max_entries of a map of that size), which libbpf leaves
 * in the buffer before a map fails to be created. */
static const char btf_log[] = "magic: 0xeb9f\n"
			      "version: 1\n"
			      "flags: 0x0\n"
			      "hdr_len: 24\n"
			      "[12] ARRAY (anon) type_id=2 index_type_id=4 nr_elems=2147483647 "
			      "Array size overflows U32_MAX\n";

Test(runtime_verifier_log, a_btf_log_is_no_complaint)
{
	struct vbpf_verifier_error err;
	cr_assert(vbpf_verifier_log__is_btf(btf_log));
	cr_assert_neq(vbpf_verifier_log__parse(btf_log, &err), 0);
	cr_assert(!vbpf_verifier_log__is_btf(missing_bounds_log));
}

Test(runtime_verifier_log, processed_insns_of_a_statistics_log)
{
	cr_assert_eq(vbpf_verifier_log__processed_insns(
			     "verification time 12 usec\nstack depth 32+0\n"
			     "processed 156 insns (limit 1000000) max_states_per_insn 1 "
			     "total_states 13 peak_states 13 mark_read 0\n"),
		     156);
	cr_assert_eq(vbpf_verifier_log__processed_insns(missing_bounds_log), 2);
	cr_assert_eq(vbpf_verifier_log__processed_insns("processed 3 insns\nprocessed 7 insns"), 7);
	cr_assert_eq(vbpf_verifier_log__processed_insns(""), -1);
	cr_assert_eq(vbpf_verifier_log__processed_insns("processed many insns\n"), -1);
	cr_assert_eq(vbpf_verifier_log__processed_insns("0: (b7) r0 = 0\nprocessed 5 states\n"), -1);
}

Test(runtime_cases, packet_out_and_events)
{
	struct vbpf_cases *cs = parse("case c\n packet 01 02\n return 3\n packet-out 02 01\n"
				      " packet-out-len 4\n expect-events ev 2 [0a] [0b0c]\n");
	cr_assert_not_null(cs, "%s", errors);
	const struct vbpf_case *c = &cs->cases[0];
	cr_assert(c->has_packet_out);
	const uint8_t want[4] = { 0x02, 0x01, 0, 0 };
	cr_assert_eq(c->packet_out_size, 4);
	cr_assert_arr_eq(c->packet_out, want, 4);
	cr_assert_eq(c->after[0].kind, VBPF_STEP_EXPECT_EVENTS);
	cr_assert_eq(c->after[0].value.value, 2);
	cr_assert_eq(c->after[0].nrecords, 2);
	cr_assert_eq(c->after[0].records[1].nbytes, 2);
	vbpf_cases__free(cs);
	/* Three records listed for two events: a mistake in the file. */
	cr_assert_null(parse("case c\n expect-events ev 2 [0a] [0b] [0c]\n"));
	cr_assert(strstr(errors, "3 records listed for 2 events"), "%s", errors);
}

/* ---- trigger, trigger-pid, expect-event, load-may-fail (kernel types) --------- */

Test(runtime_cases, trigger_and_trigger_pid)
{
	struct vbpf_cases *cs = parse("load-may-fail EPERM\n"
				      "case exec\n"
				      "  trigger /bin/true -x\n"
				      "  expect parents trigger-pid = pid\n"
				      "  expect-event events [trigger-pid pid 74727565] [01]\n");
	cr_assert_not_null(cs, "%s", errors);
	cr_assert_eq(cs->load_may_fail, EPERM);
	const struct vbpf_case *c = &cs->cases[0];
	cr_assert_not(c->run);
	cr_assert_str_eq(c->trigger[0], "/bin/true");
	cr_assert_str_eq(c->trigger[1], "-x");
	cr_assert_null(c->trigger[2]);
	cr_assert_eq(c->nafter, 2);
	cr_assert(c->after[0].key.trigger_pid);
	cr_assert_eq(c->after[0].value.value, (uint64_t)getpid());
	const struct vbpf_step *e = &c->after[1];
	cr_assert_eq(e->kind, VBPF_STEP_EXPECT_EVENT);
	cr_assert_eq(e->nrecords, 2);
	/* trigger-pid is bound when the trigger has run: here, to 0x01020304 */
	const struct vbpf_literal *rec = &e->records[0];
	cr_assert_eq(rec->nbytes, 12);
	cr_assert_eq(rec->ntrigger_pid_at, 1);
	uint8_t buf[12];
	struct vbpf_literal bound;
	vbpf_literal__bind_trigger_pid(rec, 0x01020304, &bound, buf);
	uint32_t me = (uint32_t)getpid();
	uint8_t want[12] = { 4, 3, 2, 1, (uint8_t)me, (uint8_t)(me >> 8), (uint8_t)(me >> 16), (uint8_t)(me >> 24),
			     0x74, 0x72, 0x75, 0x65 };
	cr_assert_arr_eq(bound.bytes, want, 12);
	vbpf_literal__bind_trigger_pid(&c->after[0].key, 77, &bound, NULL);
	cr_assert_eq(bound.value, 77);
	vbpf_cases__free(cs);
}

Test(runtime_cases, trigger_errors)
{
	cr_assert_null(parse("case a\n  trigger /bin/true\n  packet-len 64\n  return 2\n"));
	cr_assert(strstr(errors, "both test-runs the program and triggers it"), "%s", errors);
	free_errors();
	cr_assert_null(parse("case a\n  trigger\n"));
	cr_assert(strstr(errors, "t.cases:2: error: expected `trigger COMMAND [ARG...]`"), "%s", errors);
	free_errors();
	cr_assert_null(parse("case a\nload-may-fail EPERM\n"));
	cr_assert(strstr(errors, "before the first case"), "%s", errors);
	free_errors();
	cr_assert_null(parse("case a\n  expect-event events 01\n"));
	cr_assert(strstr(errors, "a record is written as [hex bytes]"), "%s", errors);
}

/* ---- printing records by field names ------------------------------------------ */

#include <bpf/btf.h>

Test(runtime_print, records_by_field_names)
{
	struct btf *b = btf__new_empty();
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int u8 = btf__add_int(b, "unsigned char", 1, 0);
	int comm = btf__add_array(b, u32, u8, 8);
	int ev = btf__add_struct(b, "Event", 16);
	btf__add_field(b, "pid", u32, 0, 0);
	btf__add_field(b, "ppid", s32, 32, 0);
	btf__add_field(b, "comm", comm, 64, 0);
	unsigned char data[16] = { 7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 't', 'r', 'u', 'e', 0, 'x', 0, 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct vbpf_event event = { data, sizeof(data) };
	vbpf_event__print(&event, b, (unsigned)ev, out);
	fputc('|', out);
	/* not text (no NUL in the array): as btf_dump prints it */
	data[12] = 'y';
	data[13] = 'z';
	data[14] = 'w';
	data[15] = 'v';
	cr_assert(vbpf_btf__print_fields(b, (unsigned)ev, data, sizeof(data), out));
	fputc('|', out);
	/* too short for the type: nothing */
	cr_assert_not(vbpf_btf__print_fields(b, (unsigned)ev, data, 8, out));
	fclose(out);
	cr_assert(strncmp(text, "pid=7 ppid=-1 comm=\"true\"|pid=7 ppid=-1 comm=", 44) == 0, "%s", text);
	cr_assert(strstr(text + 44, "'t','r','u','e','y','z','w','v'"), "%s", text);
	free(text);
	btf__free(b);
}

/* Two records of one size: the typedef named after the map (what vbpf2c
 * knows from the source: which record goes to which map) chooses; a map
 * without one gets no guess. */
Test(runtime_print, record_of_the_map)
{
	struct btf *records = btf__new_empty();
	int u16 = btf__add_int(records, "__u16", 2, 0);
	int ports = btf__add_struct(records, "Ports", 4);
	btf__add_field(records, "sport", u16, 0, 0);
	btf__add_field(records, "dport", u16, 16, 0);
	int pair = btf__add_struct(records, "Pair", 4);
	btf__add_field(records, "a", u16, 0, 0);
	btf__add_field(records, "b", u16, 16, 0);
	cr_assert(ports > 0 && pair > 0);
	cr_assert(btf__add_typedef(records, "flows", ports) > 0);
	cr_assert(btf__add_typedef(records, "pairs", pair) > 0);
	unsigned char data[4] = { 0x40, 0x9c, 80, 0 };
	struct vbpf_event event = { data, sizeof(data) };
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	vbpf_events__set_records(records);
	cr_assert(vbpf_event__print_record(&event, "flows", NULL, out));
	fputc('|', out);
	cr_assert(vbpf_event__print_record(&event, "pairs", NULL, out));
	cr_assert_not(vbpf_event__print_record(&event, "other", NULL, out));
	vbpf_events__set_records(NULL);
	fclose(out);
	cr_assert_str_eq(text, "sport=40000 dport=80|a=40000 b=80");
	free(text);
	btf__free(records);
}

/* A record missing from the object's BTF is found among the records set
 * with vbpf_events__set_records (what vbpf2c knows from the source). */
Test(runtime_print, records_set_aside)
{
	struct btf *object = btf__new_empty();
	btf__add_int(object, "unsigned int", 4, 0);
	struct btf *records = btf__new_empty();
	int u16 = btf__add_int(records, "__u16", 2, 0);
	int ev = btf__add_struct(records, "Ports", 4);
	btf__add_field(records, "sport", u16, 0, 0);
	btf__add_field(records, "dport", u16, 16, 0);
	cr_assert(ev > 0);
	unsigned char data[4] = { 0x40, 0x9c, 80, 0 };
	struct vbpf_event event = { data, sizeof(data) };
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not(vbpf_event__print_record(&event, "events", object, out));
	vbpf_events__set_records(records);
	cr_assert(vbpf_event__print_record(&event, "events", object, out));
	vbpf_events__set_records(NULL);
	fclose(out);
	cr_assert_str_eq(text, "sport=40000 dport=80");
	free(text);
	btf__free(records);
	btf__free(object);
}
