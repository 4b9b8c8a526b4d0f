/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * accel-stat's model of the statistics segments: a snapshot of every live
 * segment it may read (accel_stat_read.c), completed with the sockets'
 * queues (accel_stat_queues.c), and the views printed from it
 * (accel_stat_print.c). The reader never writes into a segment; the only
 * change it makes is unlinking the segment of a process that is gone.
 */
#ifndef ACCEL_TOOLS_ACCEL_STAT_H
#define ACCEL_TOOLS_ACCEL_STAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "../core/stats_layout.h"

/* An address as shown: IPv4 in the first 4 bytes, network order; port in
 * host order, 0 for none. */
struct astat_endpoint {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
};

enum astat_rate {
	ASTAT_RATE_IN_MSGS,
	ASTAT_RATE_IN_BYTES,
	ASTAT_RATE_OUT_MSGS,
	ASTAT_RATE_OUT_BYTES,
	ASTAT_NRATES
};

struct astat_proc;

struct astat_sock {
	const struct astat_proc *proc;
	uint32_t slot;
	struct accel_stats_sock pub; /* the slot as published, NUL-terminated */
	/* What is shown: the slot's own values, or the kernel's
	 * (/proc/PID/net by inode) for sockets the kernel carries and for
	 * listeners, whose accept queue is the kernel's whatever the engine. */
	int from_kernel;
	uint8_t proto;
	uint8_t state; /* enum accel_stats_state; UDP: ESTABLISHED or NONE */
	struct astat_endpoint local, foreign;
	int64_t recv_q, send_q;       /* -1: not known */
	const struct astat_sock *peer; /* the paired slot the queues come from */
	int has_rates;
	double rates[ASTAT_NRATES]; /* per second, over the last interval */
};

struct astat_proc {
	struct accel_stats_head head; /* program NUL-terminated */
	struct astat_sock *socks;     /* in use, sorted by fd */
	size_t nsocks;
};

struct astat_snapshot {
	struct astat_proc *procs; /* sorted by pid */
	size_t nprocs;
	uint64_t taken_ns; /* CLOCK_MONOTONIC, for rates */
	int64_t wall_s;    /* CLOCK_REALTIME seconds, for the time line */
};

/* Read every segment under DIR/libaccel-UID/: skip (silently) what
 * permissions hide, report malformed segments and other versions on err,
 * unlink the segments of processes that are gone, take the kernel's view
 * of kernel sockets and listeners, and pair engine sockets to derive their
 * queues. 0, or -errno if DIR itself cannot be read. */
int astat_snapshot_read(struct astat_snapshot *snap, const char *dir, FILE *err);
void astat_snapshot_free(struct astat_snapshot *snap);
/* Counter rates of cur since prev; a socket is the same one only if pid,
 * start time, slot, inode, fd and ports all match, else it counts from
 * zero (a slot's counters restart at zero when it is reused). */
void astat_snapshot_rates(struct astat_snapshot *cur, const struct astat_snapshot *prev);

/* One segment, DIRPATH/NAME opened from dirfd, for the process pid. 0 read
 * into out (free out->socks), 1 skipped (reported on err when it is worth
 * saying; also a segment whose header is not whole yet), 2 stale (unlinked
 * unless its name holds another file by then). */
int astat_segment_read(int dirfd, const char *dirpath, const char *name, pid_t pid,
		       struct astat_proc *out, FILE *err);
/* Whether the process that made a segment still runs: not if the pid is
 * gone, nor if the pid now belongs to a process started at another time. */
int astat_proc_alive(pid_t pid, uint64_t start_time);
/* The same for a segment's header, which may come from another pid
 * namespace: then this reader cannot tell, and says alive. */
int astat_head_alive(const struct accel_stats_head *h);
/* Unlink dirfd/name if it is still the file judged (same device and inode):
 * 0, -ESTALE if the name now holds another file, or -errno. */
int astat_segment_unlink(int dirfd, const char *name, const struct stat *judged);
/* Field 22 (starttime) of a /proc/PID/stat line; 0, or -EINVAL. */
int astat_parse_start_time(const char *line, uint64_t *start_time);
/* Take the kernel's state, addresses and queues for the sockets (of one
 * process) that want them, from one /proc/PID/net/{tcp,udp}[6] file. */
int astat_proc_net_apply(const char *path, int family, int proto, struct astat_sock *socks,
			 size_t nsocks);
/* The kernel's view, from /proc/PID/net, for the sockets of p that want it
 * (not found there: the slot's view, queues of zero). */
void astat_proc_kernel_view(struct astat_proc *p);
void astat_endpoint_set(struct astat_endpoint *ep, int family, const uint8_t *addr,
			uint16_t port);
/* Whether the kernel's view of s is the one to show. */
int astat_wants_kernel(const struct astat_sock *s);
/* Derive Recv-Q and Send-Q of connected engine sockets from their peers. */
void astat_pair(struct astat_snapshot *snap);

/* Names. */
const char *astat_proto_name(const struct astat_sock *s);
/* "" for no state (and for a UDP socket that is not connected). */
const char *astat_state_name(int proto, int state);
const char *astat_reason_name(unsigned int reason);
const char *astat_reason_text(unsigned int reason);
const char *astat_counter_name(unsigned int counter);
const char *astat_counter_doc(unsigned int counter);
/* "1.2.3.4:80", "[::1]:80"; port 0 is "*". */
void astat_endpoint_format(const struct astat_endpoint *ep, char *buf, size_t size);

/* What to show. */
struct astat_filter {
	pid_t pid; /* 0: every process */
	int fd;    /* -1: every socket */
	int tcp, udp;
	int connected, listening;
};

struct astat_view {
	struct astat_filter filter;
	int extended;
	int rates;       /* rate columns (a refreshing view) */
	double interval; /* seconds, for the time line */
};

/* The published socket pid:fd, or NULL. */
const struct astat_sock *astat_find(const struct astat_snapshot *snap, pid_t pid, int fd);
int astat_filter_proc(const struct astat_filter *f, const struct astat_proc *p);
int astat_filter_sock(const struct astat_filter *f, const struct astat_sock *s);
void astat_print_table(FILE *out, const struct astat_snapshot *snap, const struct astat_view *v);
void astat_print_totals(FILE *out, const struct astat_snapshot *snap, const struct astat_view *v);
/* Every field and counter of the socket filter.pid:filter.fd; -ENOENT if
 * it is not published. */
int astat_print_socket(FILE *out, const struct astat_snapshot *snap, const struct astat_view *v);
/* One JSON document on one line. */
void astat_print_json(FILE *out, const struct astat_snapshot *snap, const struct astat_view *v);
/* s (at most max bytes) as a JSON string, quotes included; bytes that are
 * not UTF-8 become U+FFFD. */
void astat_json_string(FILE *out, const char *s, size_t max);

#endif
