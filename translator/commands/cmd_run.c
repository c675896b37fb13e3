/* cmd_run.c - `vbpf2c run`: load a program, attach it where this machine
 * allows, and print its maps and ring-buffer events until Ctrl-C or
 * --duration.
 *
 *   raw_tracepoint, tracepoint, kprobe  attached by section name (tracefs
 *                                       is mounted for the run if needed)
 *   xdp, tc                             on one end of a veth pair whose
 *                                       other end is in a network namespace
 *                                       created for the run (10.200.0.2 in
 *                                       the namespace, 10.200.0.1 outside)
 *   cgroup_skb, cgroup_sock(_addr)      on a cgroup created for the run
 *   perf_event                          on a 99 Hz cpu-clock event per CPU
 *
 * With --traffic, xdp/tc/cgroup runs send one UDP datagram per interval
 * (from the namespace, or from inside the cgroup) so the program has
 * packets to see. Everything the run created - links, the
 * tc hook, the veth pair, the namespace, the cgroup, mounts, the object -
 * is removed on every exit path, including Ctrl-C.
 *
 * A run killed with SIGKILL cannot clean up, so everything a run creates
 * carries its pid in its name (RUN_NAMES below), and every run first looks
 * for those names with the pid of a process that no longer exists, removes
 * what it finds and says so (remove_dead_runs_leftovers).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "vbpf2c.h"
#include "../runtime/vbpf_runtime.h"

extern char **environ;

static const char run_usage[] =
	"usage: vbpf2c run [options] file.va\n"
	"\n"
	"Compiles file.va, loads it, attaches it where this machine allows and prints\n"
	"its maps and ring-buffer events every interval until Ctrl-C or --duration.\n"
	"\n"
	"options:\n"
	"  --duration=SEC  stop after SEC seconds (default: until Ctrl-C)\n"
	"  --interval=SEC  print every SEC seconds (default 1)\n"
	"  --traffic       xdp, tc, cgroup: send a UDP datagram every interval\n"
	"  --backend=NAME, --clang=PATH, -I DIR, -D NAME[=VAL], -WFLAG, --license=STR,\n"
	"  --btf=FILE      passed to the compiler, as for vbpf2c -c\n"
	"  --help          this text\n";

#define MAX_LINKS 256

/* The names a run gives what it creates; %d is its pid. The tracefs mount
 * point cannot carry a name, so the run's directory holds a marker file
 * while tracefs is mounted for it. */
#define RUN_DIR_FORMAT "/tmp/vbpf2c-run-%d"          /* the object, markers */
#define RUN_CGROUP_MOUNT_FORMAT "/tmp/vbpf2c-cgroup-%d" /* cgroup2 mounted for it */
#define RUN_NETNS_FORMAT "vbpf2c-%d"                 /* /run/netns/vbpf2c-PID */
#define RUN_VETH_FORMAT "vbpf%da"                    /* pid % 10^7: IFNAMSIZ */
#define RUN_CGROUP_FORMAT "vbpf2c-run-%d"            /* in the cgroup2 root */
#define RUN_PINS_PREFIX "vbpf2c-"                    /* /sys/fs/bpf/vbpf2c-PID-N (object.c) */
#define TRACEFS_MARKER "tracefs-mounted"
#define TRACEFS_DIR "/sys/kernel/tracing"

/* What the run created, so that cleanup() can undo exactly that. */
struct run {
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	int perf_fds[MAX_LINKS];
	int nperf_fds;
	char dir[64];               /* RUN_DIR_FORMAT, "" when not made */
	char netns[32], veth[IFNAMSIZ], veth_peer[IFNAMSIZ];
	bool have_netns, have_veth;
	struct bpf_tc_hook tc_hook;
	bool have_tc_hook;
	char cgroup[PATH_MAX];
	bool have_cgroup;
	char cgroup_mount[64];
	bool mounted_cgroup, mounted_tracefs;
	int cgroup_fd;
	struct vbpf_perfbuf *perfbufs[MAX_LINKS];
	const struct bpf_map *perfbuf_maps[MAX_LINKS];
	int nperfbufs;
};

static volatile sig_atomic_t stop_requested;

static void request_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Runs argv (searched on PATH), quietly unless it fails. */
static int run_command(const char *const argv[], bool quiet)
{
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	if (quiet) {
		posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
	}
	pid_t pid;
	int err = posix_spawnp(&pid, argv[0], &actions, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	if (err)
		return -err;
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static bool add_link(struct run *r, struct bpf_link *link, const char *what)
{
	long err = libbpf_get_error(link);
	if (err) {
		fprintf(stderr, "vbpf2c run: cannot attach %s: %s\n", what, strerror((int)-err));
		return false;
	}
	if (r->nlinks < MAX_LINKS)
		r->links[r->nlinks++] = link;
	return true;
}

/* Mount points longer than this in /proc/mounts are not ours, nor a
 * cgroup2 root a run would use. */
#define MOUNT_PATH_MAX 512

static bool is_mounted(const char *dir, const char *fstype)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[1024];
	bool found = false;
	while (f && fgets(line, sizeof(line), f)) {
		char where[MOUNT_PATH_MAX], type[64];
		if (sscanf(line, "%*s %511s %63s", where, type) == 2 &&
		    strcmp(type, fstype) == 0 && (!dir || strcmp(where, dir) == 0))
			found = true;
	}
	if (f)
		fclose(f);
	return found;
}

/* Up to max cgroup2 mount points, from /proc/mounts; how many. */
static int cgroup2_roots(char (*roots)[MOUNT_PATH_MAX], int max)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[1024];
	int n = 0;
	while (f && n < max && fgets(line, sizeof(line), f)) {
		char type[64];
		if (sscanf(line, "%*s %511s %63s", roots[n], type) == 2 && strcmp(type, "cgroup2") == 0)
			n++;
	}
	if (f)
		fclose(f);
	return n;
}

/* Removes dir and the plain files in it (the object, markers, pins). */
static bool remove_dir_and_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	return rmdir(dir) == 0;
}

static void remove_run_dir(const char *dir)
{
	remove_dir_and_files(dir);
}

/* ---- what runs killed with SIGKILL left --------------------------------- */

/* "vbpf2c-123" against "vbpf2c-%d": the pid, or 0 when name is not exactly
 * of that form. */
static int pid_in_name(const char *name, const char *format)
{
	int pid = 0, end = 0;
	char fmt[64];
	if ((size_t)snprintf(fmt, sizeof(fmt), "%s%%n", format) >= sizeof(fmt))
		return 0;
	if (sscanf(name, fmt, &pid, &end) != 1 || name[end] != '\0' || pid <= 0)
		return 0;
	return pid;
}

/* A process that no longer exists, or a zombie (killed, not yet reaped):
 * what carries its pid is garbage. */
static bool pid_is_dead(int pid)
{
	if (pid <= 0 || pid == (int)getpid())
		return false;
	if (kill(pid, 0) != 0)
		return errno == ESRCH;
	char stat_path[64], state = 0;
	snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", pid);
	FILE *f = fopen(stat_path, "r");
	/* "pid (comm) S ...": comm may hold spaces and parentheses */
	if (f) {
		char line[512];
		if (fgets(line, sizeof(line), f)) {
			char *paren = strrchr(line, ')');
			if (paren && paren[1] == ' ')
				state = paren[2];
		}
		fclose(f);
	}
	return state == 'Z';
}

enum { MAX_DEAD = 64 };

/* Adds the pids of dead runs named in dir's entries (by format) to pids. */
static void find_dead_pids(const char *dir, const char *format, int *pids, int *n)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && *n < MAX_DEAD) {
		int pid = pid_in_name(e->d_name, format);
		if (!pid_is_dead(pid))
			continue;
		bool known = false;
		for (int i = 0; i < *n; i++)
			known |= pids[i] == pid;
		if (!known)
			pids[(*n)++] = pid;
	}
	closedir(d);
}

/* "a, b": what was removed, for the message. */
static void removed(StrBuf *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void removed(StrBuf *what, const char *fmt, ...)
{
	if (what->len)
		sb_puts(what, ", ");
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(what, fmt, ap);
	va_end(ap);
}

/* Everything a run with this pid creates (RUN_NAMES), removed when it
 * exists; appended to what. */
static void remove_leftovers_of(int pid, StrBuf *what)
{
	char name[64], path[PATH_MAX + 64];
	/* the veth pair goes with its namespace; delete the host end anyway */
	snprintf(name, sizeof(name), RUN_VETH_FORMAT, pid % 10000000);
	if (if_nametoindex(name)) {
		const char *del[] = { "ip", "link", "del", name, NULL };
		if (run_command(del, true) == 0)
			removed(what, "veth %s", name);
	}
	snprintf(name, sizeof(name), RUN_NETNS_FORMAT, pid);
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	if (access(path, F_OK) == 0) {
		const char *del[] = { "ip", "netns", "del", name, NULL };
		if (run_command(del, true) == 0)
			removed(what, "netns %s", name);
	}
	char roots[8][MOUNT_PATH_MAX];
	int nroots = cgroup2_roots(roots, 8);
	for (int i = 0; i < nroots; i++) {
		snprintf(path, sizeof(path), "%s/" RUN_CGROUP_FORMAT, roots[i], pid);
		if (rmdir(path) == 0)
			removed(what, "cgroup %s", path);
	}
	snprintf(path, sizeof(path), RUN_CGROUP_MOUNT_FORMAT, pid);
	if (access(path, F_OK) == 0) {
		bool was_mounted = umount(path) == 0;
		if (rmdir(path) == 0)
			removed(what, "%s%s", was_mounted ? "the cgroup2 mount " : "", path);
	}
	DIR *d = opendir("/sys/fs/bpf");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int owner = 0, serial = 0, end = 0;
		if (sscanf(e->d_name, RUN_PINS_PREFIX "%d-%d%n", &owner, &serial, &end) == 2 &&
		    !e->d_name[end] && owner == pid) {
			snprintf(path, sizeof(path), "/sys/fs/bpf/%s", e->d_name);
			if (remove_dir_and_files(path))
				removed(what, "pins %s", path);
		}
	}
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), RUN_DIR_FORMAT "/" TRACEFS_MARKER, pid);
	if (access(path, F_OK) == 0 && is_mounted(TRACEFS_DIR, "tracefs") && umount(TRACEFS_DIR) == 0)
		removed(what, "the tracefs mount on " TRACEFS_DIR);
	snprintf(path, sizeof(path), RUN_DIR_FORMAT, pid);
	if (remove_dir_and_files(path))
		removed(what, "%s", path);
}

/* Finds what runs that were killed before they could clean up left -
 * names that carry the pid of a process that no longer exists - and
 * removes it, saying so. */
static void remove_dead_runs_leftovers(void)
{
	int pids[MAX_DEAD], n = 0;
	find_dead_pids("/run/netns", RUN_NETNS_FORMAT, pids, &n);
	find_dead_pids("/tmp", "vbpf2c-run-%d", pids, &n);
	find_dead_pids("/tmp", "vbpf2c-cgroup-%d", pids, &n);
	char roots[8][MOUNT_PATH_MAX];
	int nroots = cgroup2_roots(roots, 8);
	for (int i = 0; i < nroots; i++)
		find_dead_pids(roots[i], RUN_CGROUP_FORMAT, pids, &n);
	DIR *d = opendir("/sys/fs/bpf");
	struct dirent *e;
	while (d && (e = readdir(d)) && n < MAX_DEAD) {
		int pid = 0, serial = 0, end = 0;
		if (sscanf(e->d_name, RUN_PINS_PREFIX "%d-%d%n", &pid, &serial, &end) == 2 &&
		    !e->d_name[end] && pid_is_dead(pid)) {
			bool known = false;
			for (int i = 0; i < n; i++)
				known |= pids[i] == pid;
			if (!known)
				pids[n++] = pid;
		}
	}
	if (d)
		closedir(d);
	for (int i = 0; i < n; i++) {
		StrBuf what = { 0 };
		remove_leftovers_of(pids[i], &what);
		if (what.len)
			fprintf(stderr, "vbpf2c run: removed what an earlier run (pid %d) left: %s\n", pids[i],
				what.data);
		sb_free(&what);
	}
}

/* libbpf finds tracepoint ids and kprobe events through tracefs. */
static void ensure_tracefs(struct run *r)
{
	if (is_mounted("/sys/kernel/tracing", "tracefs") ||
	    is_mounted("/sys/kernel/debug/tracing", "tracefs"))
		return;
	if (mount("nodev", TRACEFS_DIR, "tracefs", 0, NULL) == 0) {
		r->mounted_tracefs = true;
		char marker[sizeof(r->dir) + sizeof(TRACEFS_MARKER) + 1];
		if (r->dir[0] && (size_t)snprintf(marker, sizeof(marker), "%s/%s", r->dir, TRACEFS_MARKER) <
					 sizeof(marker)) {
			int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			if (fd >= 0)
				close(fd);
		}
		printf("mounted tracefs on " TRACEFS_DIR " for the run\n");
	} else {
		fprintf(stderr, "vbpf2c run: cannot mount tracefs: %s\n", strerror(errno));
	}
}

static bool setup_veth(struct run *r)
{
	int pid = (int)getpid();
	snprintf(r->netns, sizeof(r->netns), RUN_NETNS_FORMAT, pid);
	snprintf(r->veth, sizeof(r->veth), RUN_VETH_FORMAT, pid % 10000000);
	snprintf(r->veth_peer, sizeof(r->veth_peer), "vbpf%db", pid % 10000000);
	const char *add_ns[] = { "ip", "netns", "add", r->netns, NULL };
	if (run_command(add_ns, false) != 0) {
		fprintf(stderr, "vbpf2c run: cannot create network namespace %s\n", r->netns);
		return false;
	}
	r->have_netns = true;
	const char *add_veth[] = { "ip", "link", "add", r->veth, "type", "veth", "peer", "name",
				   r->veth_peer, "netns", r->netns, NULL };
	if (run_command(add_veth, false) != 0) {
		fprintf(stderr, "vbpf2c run: cannot create veth pair %s\n", r->veth);
		return false;
	}
	r->have_veth = true;
	const char *addr[] = { "ip", "addr", "add", "10.200.0.1/24", "dev", r->veth, NULL };
	const char *up[] = { "ip", "link", "set", r->veth, "up", NULL };
	const char *peer_addr[] = { "ip", "-n", r->netns, "addr", "add", "10.200.0.2/24", "dev",
				    r->veth_peer, NULL };
	const char *peer_up[] = { "ip", "-n", r->netns, "link", "set", r->veth_peer, "up", NULL };
	const char *lo_up[] = { "ip", "-n", r->netns, "link", "set", "lo", "up", NULL };
	if (run_command(addr, false) || run_command(up, false) || run_command(peer_addr, false) ||
	    run_command(peer_up, false) || run_command(lo_up, false)) {
		fprintf(stderr, "vbpf2c run: cannot configure the veth pair\n");
		return false;
	}
	printf("attached to %s (10.200.0.1); its peer %s (10.200.0.2) is in netns %s\n"
	       "send packets with: ip netns exec %s ping 10.200.0.1\n",
	       r->veth, r->veth_peer, r->netns, r->netns);
	return true;
}

/* The cgroup v2 hierarchy, mounted for the run when there is none. */
static bool setup_cgroup(struct run *r)
{
	char roots[1][MOUNT_PATH_MAX] = { "" };
	char *root = roots[0];
	if (cgroup2_roots(roots, 1) == 0) {
		snprintf(r->cgroup_mount, sizeof(r->cgroup_mount), RUN_CGROUP_MOUNT_FORMAT, (int)getpid());
		if (mkdir(r->cgroup_mount, 0700) != 0 ||
		    mount("none", r->cgroup_mount, "cgroup2", 0, NULL) != 0) {
			fprintf(stderr, "vbpf2c run: no cgroup v2 hierarchy and cannot mount one: %s\n",
				strerror(errno));
			rmdir(r->cgroup_mount);
			r->cgroup_mount[0] = '\0';
			return false;
		}
		snprintf(root, MOUNT_PATH_MAX, "%s", r->cgroup_mount);
		r->mounted_cgroup = true;
	}
	/* root is at most MOUNT_PATH_MAX - 1 bytes: the name always fits */
	snprintf(r->cgroup, sizeof(r->cgroup), "%s/" RUN_CGROUP_FORMAT, root, (int)getpid());
	if (mkdir(r->cgroup, 0755) != 0) {
		fprintf(stderr, "vbpf2c run: cannot create cgroup %s: %s\n", r->cgroup,
			strerror(errno));
		return false;
	}
	r->have_cgroup = true;
	r->cgroup_fd = open(r->cgroup, O_RDONLY | O_DIRECTORY);
	if (r->cgroup_fd < 0)
		return false;
	printf("attached to cgroup %s\nmove a shell into it with: echo $$ > %s/cgroup.procs\n",
	       r->cgroup, r->cgroup);
	return true;
}

static bool attach_perf_event(struct run *r, struct bpf_program *prog)
{
	int cpus = libbpf_num_possible_cpus();
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.freq = 1,
		.sample_freq = 99,
	};
	int attached = 0;
	for (int cpu = 0; cpu < cpus && r->nperf_fds < MAX_LINKS; cpu++) {
		int fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0)
			continue;   /* an offline CPU */
		r->perf_fds[r->nperf_fds++] = fd;
		if (add_link(r, bpf_program__attach_perf_event(prog, fd), "to a cpu-clock event"))
			attached++;
	}
	if (attached)
		printf("attached to a 99 Hz cpu-clock event on %d CPUs\n", attached);
	return attached > 0;
}

static bool attach(struct run *r, struct bpf_program *prog)
{
	switch (bpf_program__type(prog)) {
	case BPF_PROG_TYPE_TRACEPOINT:
	case BPF_PROG_TYPE_KPROBE:
		ensure_tracefs(r);
		/* fall through */
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
	case BPF_PROG_TYPE_TRACING: /* tp_btf, fentry, fexit (LANGUAGE.md 11) */
		if (!add_link(r, bpf_program__attach(prog), bpf_program__section_name(prog)))
			return false;
		printf("attached to %s\n", bpf_program__section_name(prog));
		return true;
	case BPF_PROG_TYPE_XDP:
		return setup_veth(r) &&
		       add_link(r, bpf_program__attach_xdp(prog, (int)if_nametoindex(r->veth)),
				"XDP to the veth");
	case BPF_PROG_TYPE_SCHED_CLS: {
		if (!setup_veth(r))
			return false;
		r->tc_hook = (struct bpf_tc_hook){ .sz = sizeof(r->tc_hook),
						   .ifindex = (int)if_nametoindex(r->veth),
						   .attach_point = BPF_TC_INGRESS };
		int err = bpf_tc_hook_create(&r->tc_hook);
		if (err && err != -EEXIST) {
			fprintf(stderr, "vbpf2c run: cannot create the tc hook: %s\n", strerror(-err));
			return false;
		}
		r->have_tc_hook = true;
		LIBBPF_OPTS(bpf_tc_opts, tc, .prog_fd = bpf_program__fd(prog));
		err = bpf_tc_attach(&r->tc_hook, &tc);
		if (err)
			fprintf(stderr, "vbpf2c run: cannot attach the tc program: %s\n",
				strerror(-err));
		return err == 0;
	}
	case BPF_PROG_TYPE_CGROUP_SKB:
	case BPF_PROG_TYPE_CGROUP_SOCK:
	case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
		return setup_cgroup(r) &&
		       add_link(r, bpf_program__attach_cgroup(prog, r->cgroup_fd), "to the cgroup");
	case BPF_PROG_TYPE_PERF_EVENT:
		return attach_perf_event(r, prog);
	default:
		fprintf(stderr, "vbpf2c run: %s programs are not attached by vbpf2c run; "
				"vbpf2c test runs them with BPF_PROG_TEST_RUN\n",
			libbpf_bpf_prog_type_str(bpf_program__type(prog)));
		return false;
	}
}

/* One UDP datagram to addr:9 (discard), from a child that first enters
 * the run's network namespace or cgroup: ping may not be installed, and a
 * child keeps this process where it is. */
static void send_datagram(const struct run *r, const char *addr)
{
	pid_t pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		if (r->have_netns) {
			char path[64];
			snprintf(path, sizeof(path), "/run/netns/%s", r->netns);
			int ns = open(path, O_RDONLY);
			if (ns < 0 || setns(ns, CLONE_NEWNET) != 0)
				_exit(1);
		} else if (r->have_cgroup) {
			char procs[PATH_MAX + 16];
			snprintf(procs, sizeof(procs), "%s/cgroup.procs", r->cgroup);
			FILE *f = fopen(procs, "w");
			if (!f)
				_exit(1);
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
		inet_pton(AF_INET, addr, &to.sin_addr);
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		static const char payload[] = "vbpf2c run traffic";
		if (fd >= 0)
			sendto(fd, payload, sizeof(payload) - 1, 0, (struct sockaddr *)&to, sizeof(to));
		_exit(0);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void make_traffic(const struct run *r)
{
	if (r->have_netns)
		send_datagram(r, "10.200.0.1");
	else if (r->have_cgroup)
		send_datagram(r, "127.0.0.1");
}

static void print_perf_events(const struct bpf_map *map, const struct btf *btf,
			      struct vbpf_perfbuf *pb)
{
	printf("%s (perf_event_array):\n", bpf_map__name(map));
	if (!pb)
		return;
	struct vbpf_event *events;
	unsigned long long lost = 0;
	int n = vbpf_perfbuf__drain(pb, &events, &lost);
	for (int i = 0; i < n; i++) {
		fputs("  event: ", stdout);
		if (!vbpf_event__print_record(&events[i], bpf_map__name(map), btf, stdout))
			vbpf_event__print(&events[i], btf, 0, stdout);
		fputc('\n', stdout);
	}
	if (n > 0)
		vbpf_events__free(events, n);
	if (n == 0)
		printf("  (no events)\n");
	if (lost)
		printf("  (%llu events lost)\n", lost);
}

static void cleanup(struct run *r)
{
	for (int i = 0; i < r->nperfbufs; i++)
		vbpf_perfbuf__free(r->perfbufs[i]);
	for (int i = r->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(r->links[i]);
	for (int i = 0; i < r->nperf_fds; i++)
		close(r->perf_fds[i]);
	if (r->have_tc_hook) {
		r->tc_hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&r->tc_hook);
	}
	if (r->have_veth) {
		const char *del[] = { "ip", "link", "del", r->veth, NULL };
		run_command(del, true);
	}
	if (r->have_netns) {
		const char *del[] = { "ip", "netns", "del", r->netns, NULL };
		run_command(del, true);
	}
	if (r->cgroup_fd > 0)
		close(r->cgroup_fd);
	if (r->have_cgroup && rmdir(r->cgroup) != 0)
		fprintf(stderr, "vbpf2c run: cannot remove cgroup %s: %s\n", r->cgroup,
			strerror(errno));
	if (r->mounted_cgroup) {
		umount(r->cgroup_mount);
		rmdir(r->cgroup_mount);
	}
	if (r->mounted_tracefs)
		umount(TRACEFS_DIR);
	if (r->dir[0])
		remove_run_dir(r->dir);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cmd_run(int argc, char **argv)
{
	const char *source = NULL;
	double duration = 0, interval = 1;
	bool traffic = false;
	char **compile_args = calloc((size_t)argc + 1, sizeof(*compile_args));
	int ncompile = 0, used;
	if (!compile_args)
		return 2;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0) {
			fputs(run_usage, stdout);
			free(compile_args);
			return 0;
		} else if (strncmp(arg, "--duration=", 11) == 0) {
			duration = atof(arg + 11);
		} else if (strncmp(arg, "--interval=", 11) == 0) {
			interval = atof(arg + 11);
		} else if (strcmp(arg, "--traffic") == 0) {
			traffic = true;
		} else if ((used = cmd_compile_option(argc, argv, i, compile_args, &ncompile))) {
			i += used - 1;
		} else if (arg[0] == '-' || source) {
			fprintf(stderr, "vbpf2c run: unexpected '%s'\n%s", arg, run_usage);
			free(compile_args);
			return 2;
		} else {
			source = arg;
		}
	}
	if (!source || interval <= 0 || duration < 0) {
		fputs(run_usage, stderr);
		free(compile_args);
		return 2;
	}

	char why[256];
	if (vbpf_kernel__probe(why, sizeof(why))) {
		fprintf(stderr, "vbpf2c run: %s\n", why);
		free(compile_args);
		return 1;
	}

	remove_dead_runs_leftovers();

	int status = 2;
	char object[PATH_MAX];
	bool is_object = strlen(source) > 2 && strcmp(source + strlen(source) - 2, ".o") == 0;
	struct vbpf_obj *obj = NULL;
	struct btf *records = NULL; /* the records the program sends as events */
	struct run r = { .cgroup_fd = -1 };

	/* The run's own directory (RUN_DIR_FORMAT): the object, and the
	 * marker of a tracefs mount. */
	snprintf(r.dir, sizeof(r.dir), RUN_DIR_FORMAT, (int)getpid());
	if (mkdir(r.dir, 0700) != 0) {
		fprintf(stderr, "vbpf2c run: cannot make %s: %s\n", r.dir, strerror(errno));
		r.dir[0] = '\0';
		goto out;
	}
	if (is_object) {
		if ((size_t)snprintf(object, sizeof(object), "%s", source) >= sizeof(object)) {
			fprintf(stderr, "vbpf2c run: %s: file name too long\n", source);
			goto out;
		}
	} else {
		snprintf(object, sizeof(object), "%s/prog.bpf.o", r.dir);
		if (!cmd_compile(source, object, compile_args, ncompile)) {
			status = 1;
			goto out;
		}
	}

	records = is_object ? NULL : cmd_event_records(source);
	vbpf_events__set_records(records);
	struct vbpf_obj_opts obj_opts = { .private_pins = true };
	obj = vbpf_obj__open_file(object, &obj_opts);
	if (!obj || vbpf_obj__load(obj)) {
		status = 1;
		goto out;
	}
	struct bpf_program *prog = vbpf_obj__find_prog(obj, NULL);
	if (!prog) {
		fprintf(stderr, "vbpf2c run: %s has no program\n", source);
		goto out;
	}

	struct sigaction sa = { .sa_handler = request_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* Output piped into head: stop and clean up rather than die. */
	sigaction(SIGPIPE, &sa, NULL);

	if (!attach(&r, prog)) {
		status = 1;
		goto out;
	}
	printf("running %s (%s)%s\n", bpf_program__name(prog),
	       libbpf_bpf_prog_type_str(bpf_program__type(prog)),
	       duration > 0 ? "" : "; Ctrl-C to stop");
	fflush(stdout);

	const struct btf *btf = bpf_object__btf(vbpf_obj__bpf_object(obj));
	struct bpf_map *map;
	bpf_object__for_each_map(map, vbpf_obj__bpf_object(obj)) {
		if (bpf_map__type(map) != BPF_MAP_TYPE_PERF_EVENT_ARRAY || r.nperfbufs == MAX_LINKS)
			continue;
		struct vbpf_perfbuf *pb = vbpf_perfbuf__new(map);
		if (!pb)
			fprintf(stderr, "vbpf2c run: cannot read perf events of %s: %s\n",
				bpf_map__name(map), strerror(errno));
		r.perfbufs[r.nperfbufs] = pb;
		r.perfbuf_maps[r.nperfbufs++] = map;
	}
	double start = now_seconds();
	while (!stop_requested) {
		double left = duration > 0 ? start + duration - now_seconds() : interval;
		double wait = left < interval ? left : interval;
		if (traffic)
			make_traffic(&r);
		if (wait > 0) {
			struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
			nanosleep(&ts, NULL);   /* a signal cuts it short */
		}
		printf("--- %.1fs\n", now_seconds() - start);
		bpf_object__for_each_map(map, vbpf_obj__bpf_object(obj))
			if (bpf_map__type(map) != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
				vbpf_map__dump(map, btf, stdout, VBPF_DUMP_SKIP_ZERO);
		for (int i = 0; i < r.nperfbufs; i++)
			print_perf_events(r.perfbuf_maps[i], btf, r.perfbufs[i]);
		fflush(stdout);
		if (duration > 0 && now_seconds() - start >= duration)
			break;
	}
	status = 0;
out:
	cleanup(&r);
	vbpf_obj__close(obj);
	vbpf_events__set_records(NULL);
	btf__free(records);
	free(compile_args);
	return status;
}
