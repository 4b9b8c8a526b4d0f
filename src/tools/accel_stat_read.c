/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * accel-stat's reader: copy every live statistics segment into a snapshot,
 * complete it with the kernel's view (/proc/PID/net) and with the queues
 * derived by pairing, and unlink the segments of processes that are gone.
 * A segment belongs to another, running program: read it, never write it,
 * never map it (its owner may truncate it), and never trust it (a field out
 * of range is reported, not followed; the time spent on it is bounded).
 * Where the queues come from is accel_stat_queues.c.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "accel_stat.h"

/* A slot being changed is copied again, in at most RETRY_ROUNDS rounds a
 * yield apart and RETRY_BUDGET copies of one slot per segment in all: a
 * writer killed mid-change, or a segment of nothing but odd slots, costs a
 * bounded time. Slots are copied CHUNK_SLOTS at a time. */
#define RETRY_ROUNDS 8
#define RETRY_BUDGET 1000
#define CHUNK_SLOTS 64
/* A header left unfinished this long (seconds) is not being made. */
#define UNFINISHED_AGE_S 60
/* The library's own bound on ACCEL_STATS_FD_NUM; more is not a segment. */
#define MAX_SLOTS (1u << 20)
#define MAX_SEGMENT_SIZE \
	(sizeof(struct accel_stats_head) + (uint64_t)MAX_SLOTS * sizeof(struct accel_stats_sock))

static void report(FILE *err, const char *dirpath, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(FILE *err, const char *dirpath, const char *name, const char *fmt, ...)
{
	va_list ap;
	fprintf(err, "accel-stat: %s/%s: ", dirpath, name);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputc('\n', err);
}

/* Decimal digits then exactly suffix; no sign, no leading space. */
static int parse_number(const char *s, const char *suffix, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned long digit = (unsigned long)(*s - '0');
		if (v > (max - digit) / 10)
			return -ERANGE;
		v = v * 10 + digit;
	}
	if (strcmp(s, suffix) != 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int astat_parse_start_time(const char *line, uint64_t *start_time)
{
	/* The name (field 2) may hold spaces and ')': fields restart after
	 * the last ')'. */
	const char *p = strrchr(line, ')');
	if (!p)
		return -EINVAL;
	p++;
	for (int field = 2; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (++field == 22) {
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			char *end;
			errno = 0;
			unsigned long long v = strtoull(p, &end, 10);
			if (errno || (*end && *end != ' ' && *end != '\n'))
				return -EINVAL;
			*start_time = v;
			return 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	return -EINVAL;
}

static int pid_gone(pid_t pid)
{
	return pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH);
}

int astat_proc_alive(pid_t pid, uint64_t start_time)
{
	if (pid_gone(pid))
		return 0;
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return !pid_gone(pid); /* hidden from us (hidepid): say alive */
	ssize_t n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return !pid_gone(pid);
	line[n] = '\0';
	uint64_t now_start;
	if (astat_parse_start_time(line, &now_start) < 0)
		return 1; /* cannot tell: keep it */
	return now_start == start_time;
}

/* The inode of this reader's pid namespace; 0 if /proc cannot tell. */
static uint64_t own_pidns(void)
{
	static uint64_t ns;
	static int known;
	if (!known) {
		struct stat st;
		ns = stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
		known = 1;
	}
	return ns;
}

int astat_head_alive(const struct accel_stats_head *h)
{
	/* A pid and a start time mean something only in the writer's pid
	 * namespace: in another one (or when ours is unknown) we cannot tell,
	 * so the segment is alive. 0: a writer that did not say. */
	if (h->pidns && h->pidns != own_pidns())
		return 1;
	return astat_proc_alive(h->pid, h->start_time);
}

int astat_segment_unlink(int dirfd, const char *name, const struct stat *judged)
{
	struct stat now;
	if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (now.st_ino != judged->st_ino || now.st_dev != judged->st_dev)
		return -ESTALE;
	return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
}

/* Whether a slot copied between two reads of its seq is whole: the same
 * even value before and after means no writer changed it meanwhile. */
static int seq_settled(uint32_t before, uint32_t after)
{
	return before == after && !(before & 1);
}

void astat_endpoint_set(struct astat_endpoint *ep, int family, const uint8_t *addr,
			uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = (uint8_t)family;
	memcpy(ep->addr, addr, family == AF_INET ? 4 : 16);
	ep->port = port;
}

/* A socket shows its slot's values until the kernel's replace them. */
static void sock_init(struct astat_sock *s, const struct accel_stats_sock *pub, uint32_t slot)
{
	memset(s, 0, sizeof(*s));
	s->slot = slot;
	s->pub = *pub;
	s->pub.engine[sizeof(s->pub.engine) - 1] = '\0';
	s->proto = pub->proto;
	s->state = pub->state;
	int family = pub->family == AF_INET ? AF_INET : AF_INET6;
	astat_endpoint_set(&s->local, family, pub->local_addr, pub->local_port);
	astat_endpoint_set(&s->foreign, family, pub->peer_addr, pub->peer_port);
	s->recv_q = s->send_q = -1;
}

static int sock_by_fd(const void *a, const void *b)
{
	const struct astat_sock *x = a, *y = b;
	if (x->pub.fd != y->pub.fd)
		return x->pub.fd < y->pub.fd ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* ---- one segment ---- */

/* The file being read: every byte of it is copied out with pread, never
 * mapped, as its owner may truncate it under us at any time. */
struct seg {
	int dirfd, fd;
	const char *dirpath, *name;
	pid_t pid;      /* from the name */
	struct stat st; /* of fd: the file judged */
	FILE *err;
};

/* What copying the slots needs, allocated once per segment. */
struct seg_scratch {
	struct accel_stats_sock before[CHUNK_SLOTS], data[CHUNK_SLOTS], after[CHUNK_SLOTS];
	uint32_t pending[RETRY_BUDGET]; /* slots that were being changed */
};

/* len bytes at off, or -EIO if the file ends first (it shrank). */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
	unsigned char *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static off_t slot_offset(uint32_t slot)
{
	return (off_t)(sizeof(struct accel_stats_head) +
		       (uint64_t)slot * sizeof(struct accel_stats_sock));
}

/* The header, read again once its magic is seen (the writer stores it
 * last): the second copy is the one used. */
static int head_read(int fd, struct accel_stats_head *h)
{
	int rc = read_at(fd, h, sizeof(*h), 0);
	if (rc == 0 && h->magic == ACCEL_STATS_MAGIC)
		rc = read_at(fd, h, sizeof(*h), 0);
	return rc;
}

/* Check the header's promises, so that no slot is read out of bounds. */
static const char *head_check(const struct accel_stats_head *h, uint64_t size, char *why,
			      size_t whylen)
{
	if (h->head_size != sizeof(*h) || h->slot_size != sizeof(struct accel_stats_sock))
		snprintf(why, whylen, "header or slot size %u/%u, expected %zu/%zu", h->head_size,
			 h->slot_size, sizeof(*h), sizeof(struct accel_stats_sock));
	else if (h->nslots == 0 || h->nslots > MAX_SLOTS)
		snprintf(why, whylen, "%u slots", h->nslots);
	else if (size < (uint64_t)slot_offset(h->nslots))
		snprintf(why, whylen, "truncated: %" PRIu64 " bytes for %u slots", size, h->nslots);
	else if (h->high > h->nslots)
		snprintf(why, whylen, "%u slots used of %u", h->high, h->nslots);
	else
		return NULL;
	return why;
}

/* Unlink the file judged stale, unless its name now holds another file
 * (the new owner of a reused pid has just made its own). Others' segments
 * in a directory we may not write stay: their owner or root cleans them. */
static int seg_stale(const struct seg *s)
{
	astat_segment_unlink(s->dirfd, s->name, &s->st); /* -EACCES, -ESTALE...: leave it */
	return 2;
}

/* A header not whole yet: being made, or a fork child's still holding its
 * parent's. Skipped without a word; removed only once it has stayed so for
 * a while and its pid is gone (a process killed while making it). */
static int seg_unfinished(const struct seg *s)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec - s->st.st_mtim.tv_sec > UNFINISHED_AGE_S && pid_gone(s->pid))
		return seg_stale(s);
	return 1;
}

/* Keep a slot worth showing: in use, on a descriptor (-1: being set up or
 * torn down) and of a protocol (0: taken, not filled yet). */
static int sock_keep(struct astat_proc *out, size_t *cap, const struct accel_stats_sock *pub,
		     uint32_t slot)
{
	if (!pub->in_use || pub->fd < 0 || (pub->proto != IPPROTO_TCP && pub->proto != IPPROTO_UDP))
		return 0;
	if (out->nsocks == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct astat_sock *socks = realloc(out->socks, ncap * sizeof(*socks));
		if (!socks)
			return -ENOMEM;
		out->socks = socks;
		*cap = ncap;
	}
	sock_init(&out->socks[out->nsocks++], pub, slot);
	return 0;
}

/* Slots [base, base + n): read once to see which are in use, and if any
 * are, twice more; a slot whose seq is the same even value in the first
 * and the third copy is whole in the second. The others wait for a retry. */
static int chunk_copy(const struct seg *s, uint32_t base, uint32_t n, struct seg_scratch *m,
		      size_t *npending, struct astat_proc *out, size_t *cap)
{
	size_t len = (size_t)n * sizeof(struct accel_stats_sock);
	int rc = read_at(s->fd, m->before, len, slot_offset(base));
	uint32_t used = 0;
	for (uint32_t i = 0; rc == 0 && i < n; i++)
		used += m->before[i].in_use != 0;
	if (rc < 0 || !used)
		return rc;
	if ((rc = read_at(s->fd, m->data, len, slot_offset(base))) < 0 ||
	    (rc = read_at(s->fd, m->after, len, slot_offset(base))) < 0)
		return rc;
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		if (!m->data[i].in_use)
			continue;
		if (seq_settled(m->before[i].seq, m->after[i].seq))
			rc = sock_keep(out, cap, &m->data[i], base + i);
		else if (*npending < RETRY_BUDGET)
			m->pending[(*npending)++] = base + i;
	}
	return rc;
}

/* One slot, alone: -EAGAIN if it is still being changed. */
static int slot_reread(const struct seg *s, uint32_t slot, struct accel_stats_sock *copy)
{
	off_t off = slot_offset(slot);
	uint32_t before, after;
	int rc;
	if ((rc = read_at(s->fd, &before, sizeof(before), off)) < 0 ||
	    (rc = read_at(s->fd, copy, sizeof(*copy), off)) < 0 ||
	    (rc = read_at(s->fd, &after, sizeof(after), off)) < 0)
		return rc;
	return seq_settled(before, after) ? 0 : -EAGAIN;
}

/* The slots that were being changed, a few rounds apart, within one budget
 * for the whole segment: those that never settle are skipped. */
static int pending_retry(const struct seg *s, struct seg_scratch *m, size_t npending,
			 struct astat_proc *out, size_t *cap)
{
	unsigned int budget = RETRY_BUDGET;
	for (int round = 0; npending && budget && round < RETRY_ROUNDS; round++) {
		sched_yield();
		size_t kept = 0;
		for (size_t i = 0; i < npending && budget; i++, budget--) {
			struct accel_stats_sock copy;
			int rc = slot_reread(s, m->pending[i], &copy);
			if (rc == -EAGAIN)
				m->pending[kept++] = m->pending[i];
			else if (rc < 0 || (rc = sock_keep(out, cap, &copy, m->pending[i])) < 0)
				return rc;
		}
		npending = kept;
	}
	return 0;
}

/* Copy the slots [0, high) into out->socks: memory only for those shown. */
static int slots_copy(const struct seg *s, struct astat_proc *out)
{
	struct seg_scratch *m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	size_t cap = 0, npending = 0;
	uint32_t high = out->head.high;
	int rc = 0;
	for (uint32_t base = 0; rc == 0 && base < high; base += CHUNK_SLOTS)
		rc = chunk_copy(s, base, high - base < CHUNK_SLOTS ? high - base : CHUNK_SLOTS, m,
				&npending, out, &cap);
	if (rc == 0)
		rc = pending_retry(s, m, npending, out, &cap);
	free(m);
	if (rc < 0) {
		free(out->socks);
		out->socks = NULL;
		out->nsocks = 0;
		return rc;
	}
	if (out->nsocks > 1)
		qsort(out->socks, out->nsocks, sizeof(*out->socks), sock_by_fd);
	return 0;
}

/* Judge the open file, then copy what is shown of it. */
static int seg_read(struct seg *s, struct astat_proc *out)
{
	const char *bad = NULL;
	if (fstat(s->fd, &s->st) < 0 || !S_ISREG(s->st.st_mode))
		bad = "not a regular file";
	else if (s->st.st_size == 0)
		return seg_unfinished(s);
	else if ((uint64_t)s->st.st_size < sizeof(struct accel_stats_head))
		bad = "truncated: shorter than a header";
	else if ((uint64_t)s->st.st_size > MAX_SEGMENT_SIZE)
		bad = "larger than any segment";
	struct accel_stats_head *h = &out->head;
	if (!bad && head_read(s->fd, h) < 0)
		bad = "truncated while read";
	if (bad) {
		report(s->err, s->dirpath, s->name, "%s; skipped", bad);
		return 1;
	}
	if (h->magic == 0)
		return seg_unfinished(s);
	if (h->magic != ACCEL_STATS_MAGIC) {
		report(s->err, s->dirpath, s->name, "not a libaccel statistics segment; skipped");
		return 1;
	}
	if (h->version != ACCEL_STATS_VERSION) {
		/* The identity is where every version keeps it (stats_layout.h):
		 * a dead writer's segment goes, whatever its version. */
		if (h->pid == s->pid && !astat_head_alive(h))
			return seg_stale(s);
		report(s->err, s->dirpath, s->name,
		       "statistics segment version %u, this accel-stat reads version %d; skipped",
		       h->version, ACCEL_STATS_VERSION);
		return 1;
	}
	if (h->pid != s->pid)
		return seg_unfinished(s);
	if (!astat_head_alive(h))
		return seg_stale(s);
	char why[96];
	if (head_check(h, (uint64_t)s->st.st_size, why, sizeof(why))) {
		report(s->err, s->dirpath, s->name, "malformed (%s); skipped", why);
		return 1;
	}
	h->program[sizeof(h->program) - 1] = '\0';
	int rc = slots_copy(s, out);
	if (rc < 0) {
		report(s->err, s->dirpath, s->name, "%s; skipped",
		       rc == -ENOMEM ? "out of memory" : "truncated while read");
		return 1;
	}
	return 0;
}

int astat_segment_read(int dirfd, const char *dirpath, const char *name, pid_t pid,
		       struct astat_proc *out, FILE *err)
{
	memset(out, 0, sizeof(*out));
	struct seg s = { .dirfd = dirfd, .dirpath = dirpath, .name = name, .pid = pid, .err = err };
	s.fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (s.fd < 0) {
		if (errno != EACCES && errno != EPERM && errno != ENOENT)
			report(err, dirpath, name, "%s; skipped", strerror(errno));
		return 1;
	}
	int rc = seg_read(&s, out);
	close(s.fd);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- the snapshot ---- */

/* By pid, then by pid namespace: two namespaces may each have a pid 1. */
static int proc_by_pid(const void *a, const void *b)
{
	const struct astat_proc *x = a, *y = b;
	if (x->head.pid != y->head.pid)
		return x->head.pid < y->head.pid ? -1 : 1;
	return x->head.pidns < y->head.pidns ? -1 : x->head.pidns > y->head.pidns;
}

static int snapshot_add(struct astat_snapshot *snap, size_t *cap, const struct astat_proc *p)
{
	if (snap->nprocs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct astat_proc *np = realloc(snap->procs, ncap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		snap->procs = np;
		*cap = ncap;
	}
	snap->procs[snap->nprocs++] = *p;
	return 0;
}

/* The segments of one user's directory; one we may not open is not ours. */
static void read_user_dir(struct astat_snapshot *snap, size_t *cap, int basefd,
			  const char *base, const char *sub, FILE *err)
{
	int dfd = openat(basefd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	char dirpath[4096];
	snprintf(dirpath, sizeof(dirpath), "%s/%s", base, sub);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		unsigned long pid;
		if (parse_number(e->d_name, ACCEL_STATS_FILE_SUFFIX, INT32_MAX, &pid) < 0 || !pid)
			continue; /* not a segment (the writer's own temporary files) */
		struct astat_proc p;
		if (astat_segment_read(dirfd(d), dirpath, e->d_name, (pid_t)pid, &p, err) != 0)
			continue;
		if (snapshot_add(snap, cap, &p) < 0) {
			free(p.socks);
			fprintf(err, "accel-stat: out of memory\n");
			break;
		}
	}
	closedir(d);
}

int astat_snapshot_read(struct astat_snapshot *snap, const char *dir, FILE *err)
{
	memset(snap, 0, sizeof(*snap));
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snap->taken_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	clock_gettime(CLOCK_REALTIME, &ts);
	snap->wall_s = (int64_t)ts.tv_sec;

	int basefd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (basefd < 0)
		return -errno;
	DIR *d = fdopendir(basefd);
	if (!d) {
		int e = errno;
		close(basefd);
		return -e;
	}
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t plen = strlen(ACCEL_STATS_USER_DIR_PREFIX);
		unsigned long uid;
		if (strncmp(e->d_name, ACCEL_STATS_USER_DIR_PREFIX, plen) == 0 &&
		    parse_number(e->d_name + plen, "", UINT32_MAX, &uid) == 0)
			read_user_dir(snap, &cap, dirfd(d), dir, e->d_name, err);
	}
	closedir(d);
	if (snap->nprocs) /* qsort's array may not be NULL, even empty */
		qsort(snap->procs, snap->nprocs, sizeof(*snap->procs), proc_by_pid);
	for (size_t p = 0; p < snap->nprocs; p++) {
		astat_proc_kernel_view(&snap->procs[p]);
		for (size_t i = 0; i < snap->procs[p].nsocks; i++)
			snap->procs[p].socks[i].proc = &snap->procs[p];
	}
	astat_pair(snap);
	return 0;
}

void astat_snapshot_free(struct astat_snapshot *snap)
{
	for (size_t p = 0; p < snap->nprocs; p++)
		free(snap->procs[p].socks);
	free(snap->procs);
	memset(snap, 0, sizeof(*snap));
}

/* An engine's connection publishes no inode (0): its fd, protocol and
 * ports tell a new socket in a reused slot too. */
static int same_socket(const struct accel_stats_sock *a, const struct accel_stats_sock *b)
{
	return a->inode == b->inode && a->fd == b->fd && a->proto == b->proto &&
	       a->local_port == b->local_port && a->peer_port == b->peer_port;
}

static const struct astat_sock *prev_sock(const struct astat_snapshot *prev,
					  const struct astat_sock *s)
{
	struct astat_proc key;
	key.head.pid = s->proc->head.pid;
	key.head.pidns = s->proc->head.pidns;
	const struct astat_proc *p =
		bsearch(&key, prev->procs, prev->nprocs, sizeof(*prev->procs), proc_by_pid);
	if (!p || p->head.start_time != s->proc->head.start_time)
		return NULL;
	for (size_t i = 0; i < p->nsocks; i++)
		if (p->socks[i].slot == s->slot)
			return same_socket(&p->socks[i].pub, &s->pub) ? &p->socks[i] : NULL;
	return NULL;
}

void astat_snapshot_rates(struct astat_snapshot *cur, const struct astat_snapshot *prev)
{
	static const unsigned int counter[ASTAT_NRATES] = {
		[ASTAT_RATE_IN_MSGS] = ACCEL_STAT_rx_msgs,
		[ASTAT_RATE_IN_BYTES] = ACCEL_STAT_rx_bytes,
		[ASTAT_RATE_OUT_MSGS] = ACCEL_STAT_tx_msgs,
		[ASTAT_RATE_OUT_BYTES] = ACCEL_STAT_tx_bytes,
	};
	if (cur->taken_ns <= prev->taken_ns)
		return;
	double seconds = (double)(cur->taken_ns - prev->taken_ns) / 1e9;
	for (size_t p = 0; p < cur->nprocs; p++)
		for (size_t i = 0; i < cur->procs[p].nsocks; i++) {
			struct astat_sock *s = &cur->procs[p].socks[i];
			const struct astat_sock *old = prev_sock(prev, s);
			for (unsigned int r = 0; r < ASTAT_NRATES; r++) {
				uint64_t now = s->pub.counters[counter[r]];
				uint64_t then = old ? old->pub.counters[counter[r]] : 0;
				s->rates[r] = now >= then ? (double)(now - then) / seconds : 0;
			}
			s->has_rates = 1;
		}
}
