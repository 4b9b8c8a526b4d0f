/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The statistics segment of this process (layout in stats_layout.h): a
 * file of ACCEL_STATS_SHMEM_DIR/libaccel-UID/ mapped shared, one slot per
 * tracked socket. Slots are taken and given back lock-free (socket() and
 * close() may run in signal handlers); nothing here runs per data call.
 * The segment goes at exit; a process that dies leaves it to accel-stat.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "../config/log.h"
#include "../config/params.h"
#include "core.h"
#include "libc.h"
#include "sock.h"
#include "stats.h"

enum { SEG_NONE, SEG_CREATING, SEG_READY, SEG_OFF };

static struct {
	int state;                      /* SEG_* */
	struct accel_stats_head *head;  /* NULL until SEG_READY */
	struct accel_stats_sock *slots;
	size_t size;                    /* of the mapping */
	uint32_t hint;                  /* no free slot below this one */
	char path[PATH_MAX];            /* the segment's file ("" if none) */
} seg;

const char *stats_reason_text(unsigned int reason)
{
	const char *text = accel_stats_reason_text(reason);
	return text ? text : "";
}

static pid_t self_pid(void)
{
	return (pid_t)syscall(SYS_getpid);
}

/* Field 22 of /proc/self/stat: the start time accel-stat compares. */
static uint64_t start_time(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = libc.read(fd, buf, sizeof(buf) - 1);
	libc.close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* the name may hold spaces and ')' */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

static uint64_t pid_namespace(void)
{
	struct stat ns;
	return stat("/proc/self/ns/pid", &ns) == 0 ? (uint64_t)ns.st_ino : 0;
}

/*
 * Remove what processes of this user and pid namespace that are gone left
 * in dfd (children that ended with _exit, killed ones), so that
 * fork-per-request servers do not fill the directory between two runs of
 * accel-stat. At most 256 entries, raw getdents64: this runs inside the
 * program's first socket(), maybe in a signal handler.
 */
static void seg_sweep(int dfd, uint64_t pidns)
{
	char buf[4096];
	int seen = 0;
	long n;
	while (seen < 256 && (n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n && seen < 256; seen++) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);
			off += d->reclen;
			char *end;
			long pid = strtol(d->name, &end, 10);
			if (pid <= 0 || strcmp(end, ACCEL_STATS_FILE_SUFFIX) != 0 ||
			    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
				continue;
			struct accel_stats_head h;
			int fd = openat(dfd, d->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				continue;
			ssize_t got = pread(fd, &h, sizeof(h), 0);
			libc.close(fd);
			if (got == (ssize_t)sizeof(h) && h.magic == ACCEL_STATS_MAGIC &&
			    h.pid == pid && h.pidns == pidns)
				unlinkat(dfd, d->name, 0);
		}
	}
}

/*
 * Open a new, empty segment file for pid: DIR/libaccel-UID must be this
 * user's own directory, closed to others (someone else may have made it
 * first in a shared /dev/shm). A file left by a dead process that had
 * this pid, or by this process before an exec, is replaced.
 */
static int seg_open_file(pid_t pid, char *path, size_t pathlen, int sweep)
{
	const char *base = accel_params.stats_shmem_dir;
	unsigned int uid = (unsigned int)geteuid();
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s/" ACCEL_STATS_USER_DIR_PREFIX "%u", base, uid) >=
	    (int)sizeof(dir))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	struct stat st;
	if (fstat(dfd, &st) < 0 || st.st_uid != uid || (st.st_mode & 077)) {
		libc.close(dfd);
		return -EPERM;
	}
	if (sweep)
		seg_sweep(dfd, pid_namespace());
	char name[32];
	snprintf(name, sizeof(name), "%d" ACCEL_STATS_FILE_SUFFIX, (int)pid);
	int fd = -1;
	for (int tries = 0; tries < 2 && fd < 0; tries++) {
		fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && (errno != EEXIST || unlinkat(dfd, name, 0) < 0))
			break;
	}
	int err = errno;
	if (fd >= 0 && (size_t)snprintf(path, pathlen, "%s/%s", dir, name) >= pathlen) {
		unlinkat(dfd, name, 0);
		libc.close(fd);
		fd = -1;
		err = ENAMETOOLONG;
	}
	libc.close(dfd);
	return fd < 0 ? -err : fd;
}

static void head_fill(struct accel_stats_head *h, pid_t pid, uint32_t nslots)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	h->version = ACCEL_STATS_VERSION;
	h->head_size = sizeof(*h);
	h->slot_size = sizeof(struct accel_stats_sock);
	h->nslots = nslots;
	h->pid = pid;
	h->uid = (uint32_t)geteuid();
	h->start_time = start_time();
	h->pidns = pid_namespace();
	h->created_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	char comm[sizeof(h->program)] = "";
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = libc.read(fd, comm, sizeof(comm) - 1);
		libc.close(fd);
		comm[n > 0 ? n : 0] = 0;
		comm[strcspn(comm, "\n")] = 0;
	}
	memcpy(h->program, comm, sizeof(h->program));
	/* Last: a reader takes the segment for whole once the magic is there. */
	__atomic_store_n(&h->magic, ACCEL_STATS_MAGIC, __ATOMIC_RELEASE);
}

/* 0 made, 1 nothing to publish (turned off), -errno. */
static int seg_create(void)
{
	uint32_t nslots = (uint32_t)accel_params.stats_fd_num;
	if (!accel_params.stats_shmem_dir[0] || !nslots)
		return 1;
	size_t size = sizeof(struct accel_stats_head) + (size_t)nslots * sizeof(struct accel_stats_sock);
	pid_t pid = self_pid();
	int fd = seg_open_file(pid, seg.path, sizeof(seg.path), 1);
	if (fd < 0)
		return fd;
	void *p = MAP_FAILED;
	if (ftruncate(fd, (off_t)size) == 0)
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int err = errno;
	libc.close(fd);
	if (p == MAP_FAILED) {
		unlink(seg.path);
		seg.path[0] = 0;
		return -err;
	}
	seg.head = p;
	seg.slots = (struct accel_stats_sock *)(seg.head + 1);
	seg.size = size;
	head_fill(seg.head, pid, nslots);
	return 0;
}

/* The segment if it is made, else NULL (never makes it). */
static struct accel_stats_head *seg_ready(void)
{
	return __atomic_load_n(&seg.state, __ATOMIC_ACQUIRE) == SEG_READY ? seg.head : NULL;
}

/* The segment, made at the first socket after start-up; NULL: none. */
static struct accel_stats_head *seg_get(void)
{
	int st = __atomic_load_n(&seg.state, __ATOMIC_ACQUIRE);
	if (st == SEG_READY)
		return seg.head;
	if (st != SEG_NONE || !accel_params_loaded)
		return NULL;
	if (!__atomic_compare_exchange_n(&seg.state, &st, SEG_CREATING, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return NULL; /* another thread is making it: this socket goes without */
	int saved = errno;
	int rc = seg_create();
	if (rc < 0)
		log_warn("ACCEL_STATS_SHMEM_DIR=%s: no statistics segment (%s); accel-stat will "
			 "not see this process", accel_params.stats_shmem_dir,
			 rc == -EPERM ? "its libaccel-UID directory belongs to another user or is "
					"open to others"
				      : strerror(-rc));
	__atomic_store_n(&seg.state, rc ? SEG_OFF : SEG_READY, __ATOMIC_RELEASE);
	errno = saved;
	return rc ? NULL : seg.head;
}

static struct accel_stats_sock *slot_take(struct accel_stats_head *h)
{
	uint32_t n = h->nslots;
	uint32_t start = __atomic_load_n(&seg.hint, __ATOMIC_RELAXED);
	for (uint32_t i = start; i < n; i++) {
		struct accel_stats_sock *t = &seg.slots[i];
		uint32_t free_ = 0;
		if (__atomic_load_n(&t->in_use, __ATOMIC_RELAXED) ||
		    !__atomic_compare_exchange_n(&t->in_use, &free_, 1, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		/* Not over a lower hint a close set meanwhile. */
		__atomic_compare_exchange_n(&seg.hint, &start, i + 1, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
		uint32_t high = __atomic_load_n(&h->high, __ATOMIC_RELAXED);
		while (high < i + 1 && !__atomic_compare_exchange_n(&h->high, &high, i + 1, 0,
								   __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			;
		return t;
	}
	return NULL;
}

static void slot_give_back(struct accel_stats_sock *t)
{
	uint32_t i = (uint32_t)(t - seg.slots);
	__atomic_store_n(&t->in_use, 0, __ATOMIC_RELEASE);
	uint32_t hint = __atomic_load_n(&seg.hint, __ATOMIC_RELAXED);
	while (i < hint && !__atomic_compare_exchange_n(&seg.hint, &hint, i, 0, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
		;
}

/*
 * Identity changes between two increments of seq (odd: being changed).
 * One writer at a time: take seq from even to odd. Bounded, because the
 * other writer may be the code this thread's signal handler interrupted:
 * then go ahead (a reader may see one torn copy, never a crash).
 */
static void slot_begin(struct accel_stats_sock *t)
{
	uint32_t seq = __atomic_load_n(&t->seq, __ATOMIC_RELAXED);
	for (int tries = 0; tries < 1000; tries++) {
		if (!(seq & 1) && __atomic_compare_exchange_n(&t->seq, &seq, seq + 1, 0,
							       __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return;
		if (seq & 1) {
			sched_yield();
			seq = __atomic_load_n(&t->seq, __ATOMIC_RELAXED);
		}
	}
	__atomic_fetch_or(&t->seq, 1, __ATOMIC_ACQ_REL);
}

static void slot_end(struct accel_stats_sock *t)
{
	uint32_t seq = __atomic_load_n(&t->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&t->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
}

void stats_sock_open(struct accel_sock *s, int fd)
{
	struct accel_stats_head *h = s->type ? seg_get() : NULL;
	struct accel_stats_sock *t = h ? slot_take(h) : NULL;
	if (h) {
		__atomic_add_fetch(&h->sockets, 1, __ATOMIC_RELAXED);
		if (!t)
			__atomic_add_fetch(&h->unpublished, 1, __ATOMIC_RELAXED);
	}
	if (!t) {
		t = &s->local_slot;
		t->in_use = 1;
	}
	slot_begin(t);
	t->fd = fd;
	t->family = (uint8_t)s->domain;
	t->proto = s->type == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
	t->state = ACCEL_STATE_NONE;
	t->reason = ACCEL_REASON_undecided;
	t->inode = 0;
	memset(t->engine, 0, sizeof(t->engine));
	memcpy(t->engine, "kernel", 6);
	memset(t->local_addr, 0, sizeof(t->local_addr));
	memset(t->peer_addr, 0, sizeof(t->peer_addr));
	t->local_port = t->peer_port = 0;
	memset(t->counters, 0, sizeof(t->counters));
	slot_end(t);
	s->slot = t;
	__atomic_store_n(&s->ctr, t->counters, __ATOMIC_RELEASE);
}

static void addr_store(const struct sockaddr_storage *ss, uint8_t *addr, uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		memcpy(addr, &a->sin_addr, 4);
		*port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		memcpy(addr, &a->sin6_addr, 16);
		*port = ntohs(a->sin6_port);
	}
}

static void name_of(struct accel_sock *s, int fd, int peer, uint8_t *addr, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int rc;
	memset(&ss, 0, sizeof(ss));
	if (s->ops && s->ops->getname)
		rc = s->ops->getname(s, fd, peer, (struct sockaddr *)&ss, &len);
	else
		rc = (peer ? libc.getpeername : libc.getsockname)(fd, (struct sockaddr *)&ss, &len);
	memset(addr, 0, 16);
	*port = 0;
	if (rc == 0)
		addr_store(&ss, addr, port);
}

void stats_sock_update(struct accel_sock *s, int fd, unsigned int state)
{
	struct accel_stats_sock *t = s->slot;
	if (!t || fd < 0)
		return;
	int saved = errno;
	uint8_t local[16] = { 0 }, peer[16] = { 0 };
	uint16_t lport = 0, pport = 0;
	const struct engine_ops *ops = s->ops;
	/* A kernel socket's addresses, state and queues accel-stat reads in
	 * /proc/net by inode (one fstat here); an engine's fd is something
	 * else (a wake-up socket), unless the kernel listens on it too. */
	if (ops) {
		name_of(s, fd, 0, local, &lport);
		name_of(s, fd, 1, peer, &pport);
	}
	struct stat st;
	uint64_t inode = 0;
	if ((!ops || state == ACCEL_STATE_LISTEN) && fstat(fd, &st) == 0)
		inode = st.st_ino;
	slot_begin(t);
	t->fd = fd;
	if (state != STATS_STATE_KEEP)
		t->state = (uint8_t)state;
	t->reason = ops ? ACCEL_REASON_none : s->reason;
	t->inode = inode;
	memset(t->engine, 0, sizeof(t->engine));
	strncpy(t->engine, ops ? ops->name : "kernel", sizeof(t->engine) - 1);
	memcpy(t->local_addr, local, 16);
	memcpy(t->peer_addr, peer, 16);
	t->local_port = lport;
	t->peer_port = pport;
	slot_end(t);
	errno = saved;
}

void stats_sock_state(struct accel_sock *s, unsigned int state)
{
	struct accel_stats_sock *t = __atomic_load_n(&s->slot, __ATOMIC_ACQUIRE);
	if (!t || t->state == state)
		return;
	slot_begin(t);
	t->state = (uint8_t)state;
	slot_end(t);
}

void stats_sock_shutdown(struct accel_sock *s, int how)
{
	struct accel_stats_sock *t = __atomic_load_n(&s->slot, __ATOMIC_ACQUIRE);
	if (t)
		stats_sock_state(s, t->state == ACCEL_STATE_CLOSE_WAIT || how == SHUT_RDWR
					    ? ACCEL_STATE_CLOSE
					    : ACCEL_STATE_FIN_WAIT2);
}

void stats_sock_reason(struct accel_sock *s, unsigned int reason)
{
	s->reason = (uint8_t)reason;
	struct accel_stats_sock *t = s->slot;
	if (!t)
		return;
	slot_begin(t);
	t->reason = (uint8_t)reason;
	slot_end(t);
	struct accel_stats_head *h = seg_ready();
	if (h && reason > ACCEL_REASON_undecided && s->type)
		__atomic_add_fetch(&h->reasons[reason], 1, __ATOMIC_RELAXED);
}

void stats_sock_offloaded(struct accel_sock *s)
{
	s->reason = ACCEL_REASON_none;
	struct accel_stats_head *h = seg_ready();
	if (h)
		__atomic_add_fetch(&h->offloaded, 1, __ATOMIC_RELAXED);
}

void stats_rx_zero(struct accel_sock *s, const struct msghdr *msg)
{
	size_t want = 0;
	for (size_t i = 0; msg && i < msg->msg_iovlen; i++)
		want += msg->msg_iov[i].iov_len;
	if (!want)
		return; /* a zero-length read, not the end of the stream */
	s->ctr[ACCEL_STAT_rx_eof]++;
	struct accel_stats_sock *t = s->slot;
	if (t && t->state == ACCEL_STATE_ESTABLISHED)
		stats_sock_state(s, ACCEL_STATE_CLOSE_WAIT);
	else if (t && t->state == ACCEL_STATE_FIN_WAIT2)
		stats_sock_state(s, ACCEL_STATE_CLOSE);
}

/*
 * ACCEL_STATS_FILE, opened for each report and closed again: a descriptor
 * kept open could be closed or replaced by the program behind our back
 * (closefrom, dup2), and reports come only when a socket closes.
 */
static int stats_file(void)
{
	const char *tmpl = accel_params.stats_file;
	if (!tmpl[0])
		return -1;
	char path[PATH_MAX];
	log_expand_pid(path, sizeof(path), tmpl, (int)self_pid());
	int saved = errno;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		fd = log_move_fd_high(fd); /* not a number the program may dup2 onto now */
	if (fd < 0) {
		log_warn("ACCEL_STATS_FILE=%s: cannot open %s (%s): socket counters are not written",
			 tmpl, path, strerror(errno));
		accel_params.stats_file[0] = 0;
		errno = saved;
		return -1;
	}
	errno = saved;
	return fd;
}

static int format_addr(char *out, size_t size, int family, const uint8_t *addr, uint16_t port)
{
	char a[INET6_ADDRSTRLEN] = "?";
	inet_ntop(family, addr, a, sizeof(a));
	return snprintf(out, size, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

/* One line per socket: key=value, for scripts. */
static void report(const struct accel_sock *s)
{
	const struct accel_stats_sock *t = s->slot;
	int fd = t ? stats_file() : -1;
	if (fd < 0)
		return;
	char line[1024], la[64], pa[64];
	format_addr(la, sizeof(la), t->family, t->local_addr, t->local_port);
	format_addr(pa, sizeof(pa), t->family, t->peer_addr, t->peer_port);
	int n = snprintf(line, sizeof(line), "libaccel pid=%d fd=%d proto=%s%s local=%s foreign=%s "
			 "engine=%s", (int)self_pid(), t->fd,
			 t->proto == IPPROTO_UDP ? "udp" : "tcp", t->family == AF_INET6 ? "6" : "",
			 la, pa, t->engine);
	for (int i = 0; i < ACCEL_STATS_NCOUNTERS && n < (int)sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %s=%llu", accel_stats_counter_name((unsigned int)i),
			      (unsigned long long)t->counters[i]);
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	int saved = errno;
	libc.write(fd, line, (size_t)n);
	libc.close(fd);
	errno = saved;
}

void stats_sock_close(struct accel_sock *s)
{
	struct accel_stats_sock *t = s->slot;
	if (!t)
		return;
	if (s->ops && s->type && accel_params.stats_file[0])
		report(s);
	s->ctr = s->local_slot.counters;
	s->slot = NULL;
	if (t == &s->local_slot)
		return;
	slot_begin(t);
	t->fd = -1;
	slot_end(t);
	slot_give_back(t);
}

/*
 * Move the mapping at seg.head to a new file for this pid, keeping every
 * slot where it is (sockets point into it): a fork child, or an exec that
 * failed after the old file went. Without a file, an anonymous copy, so
 * that this process never writes into another's segment.
 */
static void seg_republish(void)
{
	if (__atomic_load_n(&seg.state, __ATOMIC_ACQUIRE) != SEG_READY)
		return;
	pid_t pid = self_pid();
	char path[PATH_MAX];
	int fd = seg_open_file(pid, path, sizeof(path), 0);
	void *p = MAP_FAILED;
	if (fd >= 0) {
		if (ftruncate(fd, (off_t)seg.size) == 0)
			p = mmap(NULL, seg.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		libc.close(fd);
		if (p == MAP_FAILED)
			unlink(path);
	}
	if (p == MAP_FAILED) {
		path[0] = 0;
		p = mmap(NULL, seg.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return; /* out of memory: counters keep going to the old file */
	}
	/* All but the magic, which head_fill sets last: a reader that finds
	 * the new file early must not take the parent's header for ours. */
	size_t used = sizeof(*seg.head) + (size_t)seg.head->high * sizeof(*seg.slots);
	const size_t skip = sizeof(seg.head->magic);
	memcpy((char *)p + skip, (char *)seg.head + skip, used - skip);
	struct accel_stats_head *h = p;
	/* A slot another thread of the parent was changing stays odd in the
	 * copy, and nobody here will finish it. */
	struct accel_stats_sock *slots = (struct accel_stats_sock *)(h + 1);
	for (uint32_t i = 0; i < h->high; i++)
		slots[i].seq &= ~1u;
	head_fill(h, pid, h->nslots);
	if (mremap(p, seg.size, seg.size, MREMAP_MAYMOVE | MREMAP_FIXED, seg.head) == MAP_FAILED) {
		munmap(p, seg.size);
		if (path[0])
			unlink(path);
		return;
	}
	memcpy(seg.path, path, sizeof(path));
}

void stats_after_fork_child(void)
{
	/* Another thread of the parent was making the segment: the child's
	 * sockets make their own later. */
	if (__atomic_load_n(&seg.state, __ATOMIC_ACQUIRE) == SEG_CREATING) {
		seg.head = NULL;
		seg.path[0] = 0;
		__atomic_store_n(&seg.state, SEG_NONE, __ATOMIC_RELEASE);
		return;
	}
	seg_republish();
}

void stats_before_exec(void)
{
	if (__atomic_load_n(&seg.state, __ATOMIC_ACQUIRE) == SEG_READY && seg.path[0])
		unlink(seg.path);
}

void stats_exec_failed(void)
{
	int saved = errno;
	seg_republish();
	errno = saved;
}

void stats_exit(void)
{
	if (accel_params.stats_file[0] && fd_table_size()) {
		unsigned int size = fd_table_size();
		for (unsigned int fd = 0; fd < size; fd++) {
			struct accel_sock *s = fd_table_get((int)fd);
			int first;
			if (sock_offloaded(s) && s->type && sock_fds(s, &first, 1) == 1 &&
			    first == (int)fd)
				report(s);
		}
	}
	if (__atomic_load_n(&seg.state, __ATOMIC_ACQUIRE) == SEG_READY && seg.path[0] &&
	    seg.head->pid == self_pid())
		unlink(seg.path);
}

__attribute__((destructor)) static void stats_at_exit(void)
{
	int saved = errno;
	stats_exit();
	errno = saved;
}

void stats_reset(void)
{
	if (seg.head)
		munmap(seg.head, seg.size);
	memset(&seg, 0, sizeof(seg));
}
