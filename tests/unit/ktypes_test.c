/* Unit tests for ktypes.c and the checker's kernel types (LANGUAGE.md 11),
 * against a small BTF written here with libbpf's BTF writer and read back
 * through --btf's path: the answers do not depend on the running kernel.
 *
 *   struct task_struct { int tgid; struct task_struct *real_parent;
 *                        char comm[16]; struct { unsigned in_execve:1; };
 *                        struct sched_entity se; union u; }
 *   struct sched_entity { u64 sum_exec_runtime; }
 *   typedef void (*btf_trace_sched_process_exec)(void *, struct task_struct *, pid_t);
 *   int tcp_v4_connect(struct task_struct *sk, int len);   (a FUNC for fentry) */
#include <criterion/criterion.h>
#include <bpf/btf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static char btf_file[] = "/tmp/ktypes_test.XXXXXX";
static char *captured;
static size_t captured_len;
static SourceFile source;

/* The BTF above, written to path in the given byte order. */
static void write_btf_file(char *path, enum btf_endianness order)
{
	struct btf *b = btf__new_empty();
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int u64 = btf__add_int(b, "long long unsigned int", 8, 0);
	int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	int pid_t_ = btf__add_typedef(b, "pid_t", s32);
	int se = btf__add_struct(b, "sched_entity", 8);
	btf__add_field(b, "sum_exec_runtime", u64, 0, 0);
	int task_fwd = btf__add_fwd(b, "task_struct", BTF_FWD_STRUCT);
	int task_ptr = btf__add_ptr(b, task_fwd);
	int comm = btf__add_array(b, u32, chr, 16);
	int anon = btf__add_struct(b, NULL, 4);
	btf__add_field(b, "in_execve", u32, 0, 1);
	int uni = btf__add_union(b, "u", 4);
	btf__add_field(b, "a", u32, 0, 0);
	int task = btf__add_struct(b, "task_struct", 56);
	btf__add_field(b, "tgid", pid_t_, 0, 0);
	btf__add_field(b, "real_parent", task_ptr, 64, 0);
	btf__add_field(b, "comm", comm, 128, 0);
	btf__add_field(b, NULL, anon, 256, 0);
	btf__add_field(b, "se", se, 320, 0);
	btf__add_field(b, "u", uni, 384, 0);
	(void)task;
	int void_ptr = btf__add_ptr(b, 0);
	int proto = btf__add_func_proto(b, 0);
	btf__add_func_param(b, "", void_ptr);
	btf__add_func_param(b, "", task_ptr);
	btf__add_func_param(b, "", pid_t_);
	btf__add_typedef(b, "btf_trace_sched_process_exec", btf__add_ptr(b, proto));
	int fproto = btf__add_func_proto(b, s32);
	btf__add_func_param(b, "sk", task_ptr);
	btf__add_func_param(b, "len", s32);
	btf__add_func(b, "tcp_v4_connect", BTF_FUNC_GLOBAL, fproto);
	cr_assert_eq(btf__set_endianness(b, order), 0);
	__u32 size;
	const void *raw = btf__raw_data(b, &size);
	int fd = mkstemp(path);
	cr_assert(fd >= 0 && write(fd, raw, size) == (ssize_t)size);
	close(fd);
	btf__free(b);
}

static void write_btf(void)
{
	write_btf_file(btf_file, __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? BTF_LITTLE_ENDIAN : BTF_BIG_ENDIAN);
	ktypes_set_btf_path(btf_file);
}

static void remove_btf(void)
{
	unlink(btf_file);
	ktypes_set_btf_path(NULL);
}

TestSuite(ktypes, .init = write_btf, .fini = remove_btf);

static char *captured_check;
static size_t captured_check_len;

/* frontend_run, after frontend_check (--check, one body at a time: k/arg
 * calls keep theirs), which must say the same. */
static Module *run(const char *src)
{
	source = source_from("t.va", src, strlen(src));
	FILE *out = diag_capture_begin(&captured_check, &captured_check_len);
	bool checked = frontend_check(&source);
	diag_capture_end(out);
	out = diag_capture_begin(&captured, &captured_len);
	Module *m = frontend_run(&source);
	diag_capture_end(out);
	cr_assert_eq(checked, m != NULL, "frontend_check and frontend_run disagree on:\n%s", src);
	cr_assert_str_eq(captured_check, captured, "frontend_check and frontend_run differ on:\n%s", src);
	return m;
}

#define TP "(program :tp_btf \"sched_process_exec\")\n"

Test(ktypes, member_types_from_btf)
{
	Module *m = run(TP "(defn f [t :k/task_struct] :i32\n"
			   "  (let [p (. t :real_parent) g (. p :tgid) b (. t :in_execve)\n"
			   "        r (. t :se :sum_exec_runtime)]\n"
			   "    (if (k/exists? t :comm) (+ g (i32 (+ r (u64 b)))) 0)))\n");
	cr_assert(m, "%s", captured);
	cr_assert_eq(m->kernel_records.len, 2);
	Record *task = m->kernel_records.items[0], *se = m->kernel_records.items[1];
	cr_assert_str_eq(task->c_name, "struct task_struct");
	cr_assert_str_eq(se->c_name, "struct sched_entity");
	/* the members used, in first-use order, with their C */
	const char *want[] = { "struct task_struct *real_parent", "__s32 tgid", "__u32 in_execve : 1",
			       "struct sched_entity se", "char comm[16]" };
	cr_assert_eq(task->nfields, 5);
	for (int i = 0; i < 5; i++)
		cr_assert_str_eq(task->fields[i]->c_decl, want[i]);
	cr_assert(task->fields[2]->bitfield);
	cr_assert_eq(task->fields[4]->array_len, 16);
}

Test(ktypes, unknown_struct_and_member_name_the_nearest)
{
	cr_assert_null(run(TP "(defn f [t :k/task_strct] :i32 0)\n"));
	cr_assert(strstr(captured, "t.va:2:12: error: unknown kernel struct `task_strct`"), "%s", captured);
	cr_assert(strstr(captured, "hint: did you mean `task_struct`?"), "%s", captured);
	cr_assert_null(run(TP "(defn f [t :k/task_struct] :i32 (. t :tgdi))\n"));
	cr_assert(strstr(captured, "error: kernel struct `task_struct` has no member `tgdi`"), "%s", captured);
	cr_assert(strstr(captured, "hint: did you mean `tgid`?"), "%s", captured);
	/* members of an anonymous struct are members too */
	cr_assert_null(run(TP "(defn f [t :k/task_struct] :i32 (i32 (. t :in_execv)))\n"));
	cr_assert(strstr(captured, "did you mean `in_execve`?"), "%s", captured);
}

Test(ktypes, what_cannot_be_read)
{
	cr_assert_null(run(TP "(defn f [t :k/task_struct] :i32 (i32 (. t :u)))\n"));
	cr_assert(strstr(captured, "error: member `u` of kernel struct `task_struct` is a union"), "%s", captured);
	cr_assert_null(run(TP "(defn f [t :k/task_struct] :u64 (. t :se))\n"));
	cr_assert(strstr(captured, "is an embedded struct (struct sched_entity se)"), "%s", captured);
	cr_assert_null(run(TP "(defn f [t :k/task_struct] :i32 (i32 (. t :comm)))\n"));
	cr_assert(strstr(captured, "read it into a record with k/read-str"), "%s", captured);
}

Test(ktypes, entry_parameters_follow_the_prototype)
{
	cr_assert(run(TP "(defn f [t :k/task_struct old :i32] :i32 old)\n"), "%s", captured);
	cr_assert(run(TP "(defn f [] :i32 0)\n"), "%s", captured);
	cr_assert_null(run(TP "(defn f [t :k/task_struct old :u32] :i32 0)\n"));
	cr_assert(strstr(captured, "parameter `old` of `f` must be :i32: parameter 2 of tracepoint "
				   "`sched_process_exec` is `pid_t`"), "%s", captured);
	cr_assert_null(run(TP "(defn f [t :k/task_struct old :i32 x :u64] :i32 0)\n"));
	cr_assert(strstr(captured, "tracepoint `sched_process_exec` has 2 parameters; `f` declares 3"), "%s",
		  captured);
	cr_assert(run("(program :fentry \"tcp_v4_connect\")\n(defn f [sk :k/task_struct len :i32] :i32 len)\n"),
		  "%s", captured);
	/* fexit: the parameters, then the return value */
	cr_assert(run("(program :fexit \"tcp_v4_connect\")\n(defn f [sk :k/task_struct len :i32 ret :i32] :i32 ret)\n"),
		  "%s", captured);
	cr_assert_null(run("(program :fexit \"tcp_v4_connect\")\n(defn f [sk :k/task_struct len :i32 ret :u8] :i32 0)\n"));
	cr_assert(strstr(captured, "must be :i32: the return value of kernel function `tcp_v4_connect` is `int`"), "%s",
		  captured);
	cr_assert_null(run("(program :fexit \"tcp_v4_connect\")\n(defn f [a :k/task_struct b :i32 c :i32 d :i32] :i32 0)\n"));
	cr_assert(strstr(captured, "has 2 parameters and a return value; `f` declares 4"), "%s", captured);
	cr_assert_null(run("(program :fentry \"tcp_v4_connect\")\n(defn f [sk :k/task_struct len :i32 ret :i32] :i32 0)\n"));
	cr_assert(strstr(captured, "kernel function `tcp_v4_connect` has 2 parameters; `f` declares 3"), "%s", captured);
	cr_assert_null(run("(program :fentry \"tcp_v4_connct\")\n(defn f [] :i32 0)\n"));
	cr_assert(strstr(captured, "unknown kernel function `tcp_v4_connct`"), "%s", captured);
	cr_assert(strstr(captured, "did you mean `tcp_v4_connect`?"), "%s", captured);
}

Test(ktypes, kernel_pointers_as_values)
{
	/* get_current_task_btf is :k/task_struct whatever the extern says;
	 * (u64 t) is its address; a kernel pointer is not an integer */
	cr_assert(run(TP "(extern bpf:get_current_task_btf [] :u64)\n"
			 "(defn f [t :k/task_struct] :i32\n"
			 "  (if (== (u64 t) (u64 (bpf/get_current_task_btf))) 1 0))\n"),
		  "%s", captured);
	cr_assert_null(run(TP "(defn f [t :k/task_struct] :i32 (if (== t 0) 1 0))\n"));
	cr_assert_null(run(TP "(defn f [t :k/task_struct] :i32 (do (set! (. t :tgid) 1) 0))\n"));
	cr_assert(strstr(captured, "kernel struct members are read-only"), "%s", captured);
}

Test(ktypes, unreadable_btf_is_one_located_error)
{
	ktypes_set_btf_path("/nonexistent/vmlinux");
	cr_assert_null(run(TP "(defn f [t :k/task_struct u :k/task_struct] :i32 0)\n"));
	cr_assert(strstr(captured, "t.va:1:1: error: cannot read the kernel's BTF from /nonexistent/vmlinux")
		  || strstr(captured, "error: cannot read the kernel's BTF from /nonexistent/vmlinux"), "%s", captured);
	const char *first = strstr(captured, "cannot read");
	cr_assert_null(strstr(first + 1, "cannot read"), "said twice:\n%s", captured);
	ktypes_set_btf_path(btf_file);
}

/* libbpf reads BTF of the other byte order (--btf FILE); ktypes.c reads
 * what it read in this machine's. */
Test(ktypes, btf_of_the_other_byte_order)
{
	char swapped[] = "/tmp/ktypes_test_swapped.XXXXXX";
	write_btf_file(swapped,
		       __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? BTF_BIG_ENDIAN : BTF_LITTLE_ENDIAN);
	ktypes_set_btf_path(swapped);
	Module *m = run(TP "(defn f [t :k/task_struct] :i32\n"
			   "  (let [p (. t :real_parent)] (+ (. p :tgid) (i32 (. t :in_execve)))))\n");
	unlink(swapped);
	ktypes_set_btf_path(btf_file);
	cr_assert(m, "%s", captured);
	Record *task = m->kernel_records.items[0];
	cr_assert_eq(task->nfields, 3);
	cr_assert_str_eq(task->fields[0]->c_decl, "struct task_struct *real_parent");
	cr_assert_str_eq(task->fields[1]->c_decl, "__s32 tgid");
	cr_assert_str_eq(task->fields[2]->c_decl, "__u32 in_execve : 1");
}
