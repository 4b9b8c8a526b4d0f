/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * accel-stat's reader: copy every live statistics segment into a snapshot,
 * complete it with the kernel's view (/proc/PID/net) and with the queues
 * derived by pairing, and unlink the segments of processes that are gone.
 * A segment belongs to another, running program: read it, never write it,
 * and never trust it (a field out of range is reported, not followed).
 * Where the queues come from is accel_stat_queues.c.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "accel_stat.h"

/* A writer holds a slot's seq odd only for a few stores: this many looks
 * at an odd seq mean it stopped there (killed mid-change); skip the slot. */
#define SLOT_TRIES 100
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

/* Unlink a stale segment, unless the name now holds another file (the new
 * owner of a reused pid has just made its own). Others' segments in a
 * directory we may not write stay: their owner or root cleans them. */
static int stale_unlink(int dirfd, const char *name, const struct stat *seen)
{
	struct stat now;
	if (seen && (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
		     now.st_ino != seen->st_ino || now.st_dev != seen->st_dev))
		return 2;
	unlinkat(dirfd, name, 0); /* EACCES, EPERM, ENOENT: nothing to do */
	return 2;
}

/* Copy one slot consistently: its identity does not change between two
 * equal, even values of seq. -EAGAIN if it was being changed every time. */
static int slot_copy(const struct accel_stats_sock *shared, struct accel_stats_sock *copy)
{
	for (int tries = 0; tries < SLOT_TRIES; tries++) {
		uint32_t before = __atomic_load_n(&shared->seq, __ATOMIC_ACQUIRE);
		if (before & 1) {
			sched_yield();
			continue;
		}
		memcpy(copy, shared, sizeof(*copy));
		/* Counters move outside seq: load each whole. */
		for (unsigned int c = 0; c < ACCEL_STATS_MAX_COUNTERS; c++)
			copy->counters[c] = __atomic_load_n(&shared->counters[c], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&shared->seq, __ATOMIC_RELAXED) == before)
			return 0;
	}
	return -EAGAIN;
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

/* Check the header's promises, so that no slot is read out of bounds. */
static const char *head_check(const struct accel_stats_head *h, size_t size, pid_t pid,
			      char *why, size_t whylen)
{
	if (h->head_size != sizeof(*h) || h->slot_size != sizeof(struct accel_stats_sock))
		snprintf(why, whylen, "header or slot size %u/%u, expected %zu/%zu", h->head_size,
			 h->slot_size, sizeof(*h), sizeof(struct accel_stats_sock));
	else if (h->nslots == 0 || h->nslots > MAX_SLOTS)
		snprintf(why, whylen, "%u slots", h->nslots);
	else if (size < sizeof(*h) + (size_t)h->nslots * sizeof(struct accel_stats_sock))
		snprintf(why, whylen, "truncated: %zu bytes for %u slots", size, h->nslots);
	else if (h->high > h->nslots)
		snprintf(why, whylen, "%u slots used of %u", h->high, h->nslots);
	else if (h->pid != pid)
		snprintf(why, whylen, "made by pid %d", (int)h->pid);
	else
		return NULL;
	return why;
}

static int segment_parse(const unsigned char *map, size_t size, const char *dirpath,
			 const char *name, pid_t pid, struct astat_proc *out, FILE *err)
{
	const struct accel_stats_head *shared = (const void *)map;
	struct accel_stats_head *h = &out->head;
	h->magic = __atomic_load_n(&shared->magic, __ATOMIC_ACQUIRE);
	if (h->magic != ACCEL_STATS_MAGIC) {
		if (h->magic != 0) /* 0: still being made */
			report(err, dirpath, name, "not a libaccel statistics segment; skipped");
		return 1;
	}
	memcpy((unsigned char *)h + sizeof(h->magic), map + sizeof(h->magic),
	       sizeof(*h) - sizeof(h->magic));
	if (h->version != ACCEL_STATS_VERSION) {
		report(err, dirpath, name,
		       "statistics segment version %u, this accel-stat reads version %d; skipped",
		       h->version, ACCEL_STATS_VERSION);
		return 1;
	}
	/* Slots below high are made before high moves past them. */
	h->high = __atomic_load_n(&shared->high, __ATOMIC_ACQUIRE);
	char why[96];
	if (head_check(h, size, pid, why, sizeof(why))) {
		report(err, dirpath, name, "malformed (%s); skipped", why);
		return 1;
	}
	h->sockets = __atomic_load_n(&shared->sockets, __ATOMIC_RELAXED);
	h->offloaded = __atomic_load_n(&shared->offloaded, __ATOMIC_RELAXED);
	h->unpublished = __atomic_load_n(&shared->unpublished, __ATOMIC_RELAXED);
	for (unsigned int r = 0; r < ACCEL_STATS_MAX_REASONS; r++)
		h->reasons[r] = __atomic_load_n(&shared->reasons[r], __ATOMIC_RELAXED);
	h->program[sizeof(h->program) - 1] = '\0';

	const struct accel_stats_sock *slots = (const void *)(map + sizeof(*h));
	out->socks = calloc(h->high ? h->high : 1, sizeof(*out->socks));
	if (!out->socks) {
		report(err, dirpath, name, "out of memory; skipped");
		return 1;
	}
	for (uint32_t i = 0; i < h->high; i++) {
		struct accel_stats_sock copy;
		if (slot_copy(&slots[i], &copy) == 0 && copy.in_use)
			sock_init(&out->socks[out->nsocks++], &copy, i);
	}
	qsort(out->socks, out->nsocks, sizeof(*out->socks), sock_by_fd);
	return 0;
}

int astat_segment_read(int dirfd, const char *dirpath, const char *name, pid_t pid,
		       struct astat_proc *out, FILE *err)
{
	memset(out, 0, sizeof(*out));
	if (pid_gone(pid))
		return stale_unlink(dirfd, name, NULL);
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != EACCES && errno != EPERM && errno != ENOENT)
			report(err, dirpath, name, "%s; skipped", strerror(errno));
		return 1;
	}
	struct stat st;
	const char *bad = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		bad = "not a regular file";
	else if (st.st_size > 0 && (size_t)st.st_size < sizeof(struct accel_stats_head))
		bad = "truncated: shorter than a header";
	else if ((uint64_t)st.st_size > MAX_SEGMENT_SIZE)
		bad = "larger than any segment";
	if (bad || st.st_size == 0) { /* size 0: still being made */
		if (bad)
			report(err, dirpath, name, "%s; skipped", bad);
		close(fd);
		return 1;
	}
	size_t size = (size_t)st.st_size;
	void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		report(err, dirpath, name, "cannot map: %s; skipped", strerror(errno));
		return 1;
	}
	int rc = segment_parse(map, size, dirpath, name, pid, out, err);
	munmap(map, size);
	if (rc == 0 && !astat_proc_alive(pid, out->head.start_time)) {
		free(out->socks);
		memset(out, 0, sizeof(*out));
		rc = stale_unlink(dirfd, name, &st);
	}
	return rc;
}

/* ---- the snapshot ---- */

static int proc_by_pid(const void *a, const void *b)
{
	const struct astat_proc *x = a, *y = b;
	return x->head.pid < y->head.pid ? -1 : x->head.pid > y->head.pid;
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
