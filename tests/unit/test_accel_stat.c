/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for accel-stat's reader and views (src/tools/accel_stat_*.c):
 * fake segments made with the layout header in a temporary directory (a
 * live one, a stale one, one of another version, a truncated one), slots
 * being changed, pairing, the kernel's view from a /proc/net file, rates,
 * filters, and the table and JSON output.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/accel_stat.h"

struct fixture {
	char dir[64];
};

/* A slot ready to publish: in use, seq even. */
static struct accel_stats_sock slot_make(int fd, int proto, int state, const char *engine,
					 const char *local, uint16_t lport, const char *peer,
					 uint16_t pport)
{
	struct accel_stats_sock s;
	memset(&s, 0, sizeof(s));
	s.seq = 2;
	s.in_use = 1;
	s.fd = fd;
	s.family = strchr(local, ':') ? AF_INET6 : AF_INET;
	s.proto = (uint8_t)proto;
	s.state = (uint8_t)state;
	snprintf(s.engine, sizeof(s.engine), "%s", engine);
	inet_pton(s.family, local, s.local_addr);
	inet_pton(s.family, peer, s.peer_addr);
	s.local_port = lport;
	s.peer_port = pport;
	return s;
}

static uint64_t own_start_time(void)
{
	char line[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, line, sizeof(line) - 1);
	close(fd);
	assert_true(n > 0);
	line[n] = '\0';
	char *p = strrchr(line, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	assert_non_null(p);
	return strtoull(p + 1, NULL, 10);
}

static void head_make(struct accel_stats_head *h, pid_t pid, uint32_t nslots, uint32_t high,
		      const char *program)
{
	memset(h, 0, sizeof(*h));
	h->magic = ACCEL_STATS_MAGIC;
	h->version = ACCEL_STATS_VERSION;
	h->head_size = sizeof(*h);
	h->slot_size = sizeof(struct accel_stats_sock);
	h->nslots = nslots;
	h->high = high;
	h->pid = pid;
	h->uid = (uint32_t)getuid();
	h->start_time = own_start_time();
	snprintf(h->program, sizeof(h->program), "%s", program);
}

static void path_of(const struct fixture *f, unsigned int uid, pid_t pid, char *buf, size_t size)
{
	snprintf(buf, size, "%s/" ACCEL_STATS_USER_DIR_PREFIX "%u/%d" ACCEL_STATS_FILE_SUFFIX,
		 f->dir, uid, (int)pid);
}

/* Write head, then nslots slots (the first n from slots, the rest free),
 * truncated to size bytes if size is not 0. */
static void segment_write(const struct fixture *f, unsigned int uid,
			  const struct accel_stats_head *h, const struct accel_stats_sock *slots,
			  size_t n, size_t size)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/" ACCEL_STATS_USER_DIR_PREFIX "%u", f->dir, uid);
	mkdir(path, 0700);
	path_of(f, uid, h->pid, path, sizeof(path));
	size_t full = sizeof(*h) + (size_t)h->nslots * sizeof(*slots);
	unsigned char *buf = calloc(1, full);
	assert_non_null(buf);
	memcpy(buf, h, sizeof(*h));
	if (n)
		memcpy(buf + sizeof(*h), slots, n * sizeof(*slots));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	size_t len = size ? size : full;
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		unlink(path);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[512];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		remove_tree(sub);
	}
	closedir(d);
	rmdir(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/accel-stat-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	remove_tree(f->dir);
	free(f);
	return 0;
}

/* A pid that no process has: a child that has been reaped. */
static pid_t reaped_pid(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

enum { FD_A = 7, FD_ODD = 8, FD_B = 9, FD_UDP = 10, FD_ALONE = 11, FD_V6 = 12 };

/* This process's own, live segment: two shm sockets that are each
 * other's peer, a kernel UDP socket, one with no peer, one IPv6, a free
 * slot and one being changed. */
static void own_segment(const struct fixture *f, const char *program)
{
	struct accel_stats_sock s[8];
	s[0] = slot_make(FD_A, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "127.0.0.1", 5000,
			 "127.0.0.1", 40000);
	s[0].counters[ACCEL_STAT_rx_bytes] = 200;
	s[0].counters[ACCEL_STAT_tx_bytes] = 1000;
	s[1] = slot_make(99, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "10.0.0.1", 1, "10.0.0.2",
			 2);
	s[1].in_use = 0; /* free */
	s[2] = slot_make(FD_ODD, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "10.0.0.1", 1,
			 "10.0.0.2", 2);
	s[2].seq = 5; /* a writer stopped mid-change */
	s[3] = slot_make(FD_B, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "127.0.0.1", 40000,
			 "127.0.0.1", 5000);
	s[3].counters[ACCEL_STAT_rx_bytes] = 900;
	s[3].counters[ACCEL_STAT_tx_bytes] = 350;
	s[4] = slot_make(FD_UDP, IPPROTO_UDP, ACCEL_STATE_NONE, "kernel", "0.0.0.0", 5353,
			 "0.0.0.0", 0);
	s[4].reason = ACCEL_REASON_rule_os;
	s[4].inode = 4000000000u; /* in no /proc/net table */
	s[5] = slot_make(FD_ALONE, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "127.0.0.1", 6000,
			 "127.0.0.1", 6001);
	s[6] = slot_make(FD_V6, IPPROTO_TCP, ACCEL_STATE_CLOSE_WAIT, "shm", "::1", 7000, "::1",
			 7001);
	struct accel_stats_head h;
	head_make(&h, getpid(), 16, 7, program);
	h.sockets = 9;
	h.offloaded = 6;
	h.unpublished = 1;
	h.reasons[ACCEL_REASON_rule_os] = 2;
	h.reasons[ACCEL_REASON_no_peer] = 1;
	segment_write(f, (unsigned int)getuid(), &h, s, 7, 0);
}

static const struct astat_sock *by_fd(const struct astat_snapshot *snap, int fd)
{
	return astat_find(snap, getpid(), fd);
}

static void test_segments(void **state)
{
	struct fixture *f = *state;
	own_segment(f, "server");
	char stale[256], reused[256], v2[256], shortf[256], other[256];

	struct accel_stats_head h;
	head_make(&h, reaped_pid(), 4, 0, "gone");
	segment_write(f, 4241, &h, NULL, 0, 0);
	path_of(f, 4241, h.pid, stale, sizeof(stale));

	head_make(&h, getpid(), 4, 0, "reused"); /* same pid, started earlier */
	h.start_time -= 1;
	segment_write(f, 4242, &h, NULL, 0, 0);
	path_of(f, 4242, h.pid, reused, sizeof(reused));

	head_make(&h, getppid(), 4, 0, "newer");
	h.version = 2;
	segment_write(f, 4243, &h, NULL, 0, 0);
	path_of(f, 4243, h.pid, v2, sizeof(v2));

	head_make(&h, getpid(), 4, 0, "short");
	segment_write(f, 4244, &h, NULL, 0, 100);
	path_of(f, 4244, h.pid, shortf, sizeof(shortf));

	snprintf(other, sizeof(other), "%s/" ACCEL_STATS_USER_DIR_PREFIX "4244/x.stat.tmp", f->dir);
	close(open(other, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));

	char *errtext = NULL;
	size_t errlen = 0;
	FILE *err = open_memstream(&errtext, &errlen);
	assert_non_null(err);
	struct astat_snapshot snap;
	assert_int_equal(astat_snapshot_read(&snap, f->dir, err), 0);
	fclose(err);

	/* Stale segments go; the others stay, reported. */
	assert_false(exists(stale));
	assert_false(exists(reused));
	assert_true(exists(v2));
	assert_true(exists(shortf));
	assert_true(exists(other));
	char want[512];
	snprintf(want, sizeof(want),
		 "accel-stat: %s: statistics segment version 2, this accel-stat reads version 1; "
		 "skipped\n",
		 v2);
	assert_non_null(strstr(errtext, want));
	snprintf(want, sizeof(want), "accel-stat: %s: truncated", shortf);
	assert_non_null(strstr(errtext, want));
	assert_null(strstr(errtext, "x.stat.tmp"));
	free(errtext);

	/* One process; its slots in fd order, without the free one and the
	 * one being changed. */
	assert_int_equal(snap.nprocs, 1);
	const struct astat_proc *p = &snap.procs[0];
	assert_int_equal(p->head.pid, getpid());
	assert_string_equal(p->head.program, "server");
	assert_int_equal(p->nsocks, 5);
	const int fds[] = { FD_A, FD_B, FD_UDP, FD_ALONE, FD_V6 };
	for (size_t i = 0; i < p->nsocks; i++) {
		assert_int_equal(p->socks[i].pub.fd, fds[i]);
		assert_ptr_equal(p->socks[i].proc, p);
	}
	assert_null(by_fd(&snap, FD_ODD));
	assert_null(by_fd(&snap, 99));

	/* The pair derives each other's queues. */
	const struct astat_sock *a = by_fd(&snap, FD_A), *b = by_fd(&snap, FD_B);
	assert_ptr_equal(a->peer, b);
	assert_ptr_equal(b->peer, a);
	assert_int_equal(a->recv_q, 350 - 200);
	assert_int_equal(a->send_q, 1000 - 900);
	assert_int_equal(b->recv_q, 1000 - 900);
	assert_int_equal(b->send_q, 350 - 200);
	/* No peer: unknown. The kernel's socket not in /proc/net: zero. */
	assert_int_equal(by_fd(&snap, FD_ALONE)->recv_q, -1);
	assert_null(by_fd(&snap, FD_ALONE)->peer);
	const struct astat_sock *u = by_fd(&snap, FD_UDP);
	assert_false(u->from_kernel);
	assert_int_equal(u->recv_q, 0);
	assert_int_equal(u->send_q, 0);
	astat_snapshot_free(&snap);

	/* A directory that is not there is an error. */
	snprintf(want, sizeof(want), "%s/none", f->dir);
	assert_int_equal(astat_snapshot_read(&snap, want, stderr), -ENOENT);
}

static void test_start_time(void **state)
{
	(void)state;
	uint64_t t = 0;
	/* Fields 3 to 21, then 22 (123456): the name holds ") (" and spaces. */
	const char *line = "42 (a) (b c) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 123456 "
			   "20\n";
	assert_int_equal(astat_parse_start_time(line, &t), 0);
	assert_int_equal(t, 123456);
	assert_int_equal(astat_parse_start_time("42 (x) R 1 2\n", &t), -EINVAL);
	assert_int_equal(astat_parse_start_time("no name", &t), -EINVAL);
	assert_true(astat_proc_alive(getpid(), own_start_time()));
	assert_false(astat_proc_alive(getpid(), own_start_time() + 1));
	assert_false(astat_proc_alive(reaped_pid(), 0));
}

static void test_proc_net(void **state)
{
	struct fixture *f = *state;
	char path[256];
	snprintf(path, sizeof(path), "%s/tcp", f->dir);
	FILE *t = fopen(path, "w");
	assert_non_null(t);
	fputs("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	      "timeout inode\n"
	      "   0: 0100007F:1388 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0   "
	      "     0 111 1 0000000000000000 100 0 0 10 0\n"
	      "   1: 0100007F:1389 0200007F:9C40 01 00000010:00000020 00:00000000 00000000  1000   "
	      "     0 222 1 0000000000000000 20 4 30 10 -1\n",
	      t);
	fclose(t);
	struct astat_sock s[3];
	struct accel_stats_sock pub;
	pub = slot_make(3, IPPROTO_TCP, ACCEL_STATE_LISTEN, "shm", "0.0.0.0", 0, "0.0.0.0", 0);
	pub.inode = 111;
	memset(s, 0, sizeof(s));
	s[0].pub = pub;
	pub = slot_make(4, IPPROTO_TCP, ACCEL_STATE_NONE, "kernel", "0.0.0.0", 0, "0.0.0.0", 0);
	pub.inode = 222;
	s[1].pub = pub;
	pub = slot_make(5, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "0.0.0.0", 0, "0.0.0.0", 0);
	pub.inode = 222; /* an engine's connection: not the kernel's to show */
	s[2].pub = pub;
	s[0].recv_q = s[1].recv_q = s[2].recv_q = -1;
	assert_int_equal(astat_proc_net_apply(path, AF_INET, IPPROTO_TCP, s, 3), 0);

	char buf[64];
	assert_true(s[0].from_kernel);
	assert_int_equal(s[0].state, ACCEL_STATE_LISTEN);
	astat_endpoint_format(&s[0].local, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:5000");
	astat_endpoint_format(&s[0].foreign, buf, sizeof(buf));
	assert_string_equal(buf, "0.0.0.0:*");
	assert_int_equal(s[0].recv_q, 3);
	assert_true(s[1].from_kernel);
	assert_int_equal(s[1].state, ACCEL_STATE_ESTABLISHED);
	astat_endpoint_format(&s[1].foreign, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.2:40000");
	assert_int_equal(s[1].recv_q, 0x20);
	assert_int_equal(s[1].send_q, 0x10);
	assert_false(s[2].from_kernel);
	assert_int_equal(s[2].recv_q, -1);

	/* IPv6: four 32-bit words, each in memory order. */
	snprintf(path, sizeof(path), "%s/udp6", f->dir);
	t = fopen(path, "w");
	assert_non_null(t);
	fputs("  sl  local_address                         remote_address                        "
	      "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
	      "  5: 00000000000000000000000001000000:14E9 00000000000000000000000000000000:0000 07 "
	      "00000000:00000000 00:00000000 00000000     0        0 333 2 0000000000000000 0\n",
	      t);
	fclose(t);
	memset(s, 0, sizeof(s));
	s[0].pub = slot_make(6, IPPROTO_UDP, ACCEL_STATE_NONE, "kernel", "::", 0, "::", 0);
	s[0].pub.inode = 333;
	assert_int_equal(astat_proc_net_apply(path, AF_INET6, IPPROTO_UDP, s, 1), 0);
	assert_true(s[0].from_kernel);
	assert_int_equal(s[0].state, ACCEL_STATE_NONE); /* 07: not connected */
	astat_endpoint_format(&s[0].local, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:5353");
	assert_string_equal(astat_proto_name(&s[0]), "udp6");
}

/* Everything the stream wrote, NUL-terminated; free it. */
static char *render(void (*print)(FILE *, const struct astat_snapshot *, const struct astat_view *),
		    const struct astat_snapshot *snap, const struct astat_view *v)
{
	static char *text; /* static: it outlives the call; the caller frees it */
	static size_t len;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	print(out, snap, v);
	fclose(out);
	return text;
}

static void print_socket(FILE *out, const struct astat_snapshot *snap, const struct astat_view *v)
{
	assert_int_equal(astat_print_socket(out, snap, v), 0);
}

static void test_views(void **state)
{
	struct fixture *f = *state;
	own_segment(f, "we\"ird\\prog\nname\x01\xff");
	struct astat_snapshot snap;
	assert_int_equal(astat_snapshot_read(&snap, f->dir, stderr), 0);
	struct astat_view v = { .filter = { .fd = -1 } };

	char *text = render(astat_print_table, &snap, &v);
	assert_non_null(strstr(text, "Proto  Recv-Q  Send-Q  Local Address"));
	assert_non_null(strstr(text, "127.0.0.1:5000   127.0.0.1:40000  ESTABLISHED  shm\n"));
	assert_non_null(strstr(text, "udp         0       0  0.0.0.0:5353     0.0.0.0:*"
				     "                     kernel (a rule says os)\n"));
	assert_non_null(strstr(text, "tcp         -       -  127.0.0.1:6000"));
	assert_non_null(strstr(text, "[::1]:7000"));
	assert_non_null(strstr(text, "CLOSE_WAIT"));
	free(text);

	/* -e: the program's name made printable. -c: no unconnected UDP. */
	v.extended = 1;
	v.filter.connected = 1;
	text = render(astat_print_table, &snap, &v);
	char want[128];
	snprintf(want, sizeof(want), "  %d:%d ", (int)getpid(), FD_A);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "  we\"ird\\prog?name??  shm\n"));
	assert_null(strstr(text, ":5353"));
	free(text);

	/* -l -u: only the bound UDP socket. */
	memset(&v, 0, sizeof(v));
	v.filter.fd = -1;
	v.filter.listening = 1;
	v.filter.udp = 1;
	text = render(astat_print_table, &snap, &v);
	assert_non_null(strstr(text, ":5353"));
	assert_null(strstr(text, ":5000"));
	free(text);

	/* -T: totals and reasons. */
	memset(&v, 0, sizeof(v));
	v.filter.fd = -1;
	text = render(astat_print_totals, &snap, &v);
	assert_non_null(strstr(text, "rule_os=2 no_peer=1\n"));
	assert_non_null(strstr(text, "9          6            1     5  "));
	free(text);

	/* JSON: strings escaped, queues null when unknown. */
	text = render(astat_print_json, &snap, &v);
	assert_non_null(strstr(text, "\"program\":\"we\\\"ird\\\\prog\\nname\\u0001\\ufffd\""));
	assert_non_null(strstr(text, "\"tracked\":9,\"offloaded\":6,\"unpublished\":1"));
	assert_non_null(strstr(text, "\"rule_os\":2"));
	snprintf(want, sizeof(want), "\"fd\":%d,", FD_ALONE);
	char *alone = strstr(text, want);
	assert_non_null(alone);
	assert_non_null(strstr(alone, "\"recv_q\":null,\"send_q\":null"));
	assert_non_null(strstr(text, "\"recv_q\":150,\"send_q\":100"));
	assert_non_null(strstr(text, "\"reason\":\"rule_os\""));
	assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1); /* one line */
	free(text);

	/* -s PID:FD: every counter, with its doc. */
	v.filter.pid = getpid();
	v.filter.fd = FD_A;
	text = render(print_socket, &snap, &v);
	assert_non_null(strstr(text, "Engine      shm\n"));
	for (unsigned int c = 0; c < ACCEL_STATS_NCOUNTERS; c++) {
		assert_non_null(strstr(text, astat_counter_name(c)));
		assert_non_null(strstr(text, astat_counter_doc(c)));
	}
	free(text);
	v.filter.fd = 1000;
	FILE *null = fopen("/dev/null", "w");
	assert_int_equal(astat_print_socket(null, &snap, &v), -ENOENT);
	fclose(null);
	astat_snapshot_free(&snap);
}

static void test_json_string(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	astat_json_string(out, "caf\xc3\xa9 \xe2\x82\xac\t\x7f\xc3", SIZE_MAX);
	astat_json_string(out, "cut here", 3);
	fclose(out);
	assert_string_equal(text, "\"caf\xc3\xa9 \xe2\x82\xac\\t\\u007f\\ufffd\"\"cut\"");
	free(text);
}

static void test_rates(void **state)
{
	struct fixture *f = *state;
	own_segment(f, "rates");
	struct astat_snapshot prev, cur;
	assert_int_equal(astat_snapshot_read(&prev, f->dir, stderr), 0);
	assert_int_equal(astat_snapshot_read(&cur, f->dir, stderr), 0);
	cur.taken_ns = prev.taken_ns + 2000000000ull; /* two seconds later */
	struct astat_sock *a = (struct astat_sock *)by_fd(&cur, FD_A);
	a->pub.counters[ACCEL_STAT_tx_bytes] += 4000;
	a->pub.counters[ACCEL_STAT_tx_msgs] += 10;
	/* The same slot, another socket since: counts from zero. */
	struct astat_sock *b = (struct astat_sock *)by_fd(&cur, FD_B);
	b->pub.inode = 77;
	/* No inode (an engine's connection): other ports tell it. */
	struct astat_sock *was = (struct astat_sock *)astat_find(&prev, getpid(), FD_V6);
	was->pub.counters[ACCEL_STAT_rx_bytes] = 8;
	struct astat_sock *c = (struct astat_sock *)by_fd(&cur, FD_V6);
	c->pub.peer_port = 7002;
	c->pub.counters[ACCEL_STAT_rx_bytes] = 10;
	astat_snapshot_rates(&cur, &prev);
	assert_true(a->has_rates);
	assert_true(a->rates[ASTAT_RATE_OUT_BYTES] == 2000.0);
	assert_true(a->rates[ASTAT_RATE_OUT_MSGS] == 5.0);
	assert_true(a->rates[ASTAT_RATE_IN_BYTES] == 0.0);
	assert_true(b->rates[ASTAT_RATE_IN_BYTES] == 900 / 2.0);
	assert_true(c->rates[ASTAT_RATE_IN_BYTES] == 10 / 2.0);
	c->pub.peer_port = 7001; /* the same socket: since the last reading */
	astat_snapshot_rates(&cur, &prev);
	assert_true(c->rates[ASTAT_RATE_IN_BYTES] == (10 - 8) / 2.0);

	struct astat_view v = { .filter = { .fd = -1 }, .rates = 1, .interval = 2 };
	char *text = render(astat_print_table, &cur, &v);
	assert_non_null(strstr(text, "In msg/s  In B/s  Out msg/s  Out B/s  Engine"));
	assert_non_null(strstr(text, "0       0          5     2000  shm"));
	free(text);
	text = render(astat_print_json, &cur, &v);
	assert_non_null(strstr(text, "\"rates\":{\"in_msgs\":0.000,\"in_bytes\":0.000,"
				     "\"out_msgs\":5.000,\"out_bytes\":2000.000}"));
	free(text);
	astat_snapshot_free(&prev);
	astat_snapshot_free(&cur);
}

/* text with '-' as groff's "\-" */
static void man_escape(const char *text, char *buf, size_t size)
{
	size_t n = 0;
	for (; *text && n + 3 < size; text++) {
		if (*text == '-')
			buf[n++] = '\\';
		buf[n++] = *text;
	}
	buf[n] = '\0';
}

/* The man page lists every counter and reason of the layout header, with
 * the text the tool prints (run by make check, which says where it is). */
static void test_man_page(void **state)
{
	(void)state;
	const char *src = getenv("LIBACCEL_SRCDIR");
	if (!src)
		skip();
	char path[512];
	snprintf(path, sizeof(path), "%s/man/accel-stat.1", src);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char page[65536];
	size_t len = fread(page, 1, sizeof(page) - 1, f);
	fclose(f);
	page[len] = '\0';
	char want[256], text[200];
	for (unsigned int c = 0; c < ACCEL_STATS_NCOUNTERS; c++) {
		man_escape(astat_counter_doc(c), text, sizeof(text));
		snprintf(want, sizeof(want), "\n.B %s\n%s\n", astat_counter_name(c), text);
		if (!strstr(page, want))
			fail_msg("man/accel-stat.1 lacks counter %s (\"%s\")",
				 astat_counter_name(c), astat_counter_doc(c));
	}
	for (unsigned int r = ACCEL_REASON_none + 1; r < ACCEL_STATS_NREASONS; r++) {
		man_escape(astat_reason_text(r), text, sizeof(text));
		snprintf(want, sizeof(want), "\n.B %s\n%s\n", astat_reason_name(r), text);
		if (!strstr(page, want))
			fail_msg("man/accel-stat.1 lacks reason %s (\"%s\")", astat_reason_name(r),
				 astat_reason_text(r));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_segments, setup, teardown),
		cmocka_unit_test(test_start_time),
		cmocka_unit_test_setup_teardown(test_proc_net, setup, teardown),
		cmocka_unit_test_setup_teardown(test_views, setup, teardown),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test_setup_teardown(test_rates, setup, teardown),
		cmocka_unit_test(test_man_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
