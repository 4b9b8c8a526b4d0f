/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The statistics segment: one file per process in
 * ACCEL_STATS_SHMEM_DIR/libaccel-UID/PID.stat, written by libaccel
 * (stats.c) and read by accel-stat. This header is the one definition both
 * share; any change to a structure or a list below bumps
 * ACCEL_STATS_VERSION, and a reader of another version says so rather than
 * misreading. Plain data only: no pointers, fixed-width fields.
 *
 * The writer's identity keeps its place in every version: magic at offset
 * 0, version at 8, pid at 32, start_time at 40 and pidns at 400 (0 in
 * version 1) of struct accel_stats_head. With them a reader of any version
 * tells a segment whose writer is gone, and removes it.
 */
#ifndef ACCEL_CORE_STATS_LAYOUT_H
#define ACCEL_CORE_STATS_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define ACCEL_STATS_MAGIC 0x31545341434c4541ull /* "AELCAST1" in memory */
#define ACCEL_STATS_VERSION 2
/* Subdirectory of ACCEL_STATS_SHMEM_DIR for one user: "libaccel-" UID,
 * mode 0700; segments inside are "PID.stat", mode 0600. */
#define ACCEL_STATS_USER_DIR_PREFIX "libaccel-"
#define ACCEL_STATS_FILE_SUFFIX ".stat"
#define ACCEL_STATS_DEFAULT_DIR "/dev/shm"

/*
 * Per-socket counters, X(name, doc). Counted on offloaded sockets only
 * (a kernel socket's data calls pass straight to libc); accel-stat shows a
 * kernel socket's queues and state from /proc/net by inode.
 */
#define ACCEL_STATS_COUNTERS(X)                                                   \
	X(rx_bytes, "bytes received")                                             \
	X(rx_msgs, "receive calls that returned data")                            \
	X(rx_eagain, "receive calls that would have blocked (EAGAIN)")            \
	X(rx_eof, "receive calls that returned end of stream")                    \
	X(poll_hit, "poll/select/epoll checks that found the socket ready")       \
	X(poll_miss, "poll/select/epoll checks that found it not ready")          \
	X(tx_bytes, "bytes sent")                                                 \
	X(tx_msgs, "send calls that sent data")                                   \
	X(tx_eagain, "send calls that would have blocked (EAGAIN)")               \
	X(errors, "data calls that failed with another error")                    \
	X(drops, "datagrams dropped (no room)")                                   \
	X(accepts, "connections accepted through the engine (listeners)")         \
	X(accepts_kernel, "connections accepted through the kernel (listeners)")  \
	X(handovers, "times the connection was handed over to the kernel")

/* The receive side's counters fill the slot's second cache line and the
 * send side's start the third: a reader thread and a writer thread on one
 * socket do not share a line. */
enum accel_stats_counter {
#define ACCEL_STATS_ENUM_(name, doc) ACCEL_STAT_##name,
	ACCEL_STATS_COUNTERS(ACCEL_STATS_ENUM_)
#undef ACCEL_STATS_ENUM_
	ACCEL_STATS_NCOUNTERS
};
#define ACCEL_STATS_MAX_COUNTERS 22

/*
 * Why a socket is carried by the kernel, X(name, text). The text is what
 * the debug log says and what accel-stat prints.
 */
#define ACCEL_STATS_REASONS(X)                                                                  \
	X(none, "")                                                                             \
	X(undecided, "an engine is asked when it connects or listens")                          \
	X(rule_os, "a rule says os")                                                            \
	X(opt_out, "the program asked for the kernel (SO_ACCEL_NO_ACCEL)")                      \
	X(not_auto, "no rule matched and ACCEL_OFFLOADED_SOCKETS=0")                            \
	X(rejected, "the rules file was rejected")                                              \
	X(no_engine, "no engine carries UDP yet")                                               \
	X(no_peer, "no libaccel listener on this host for the destination (or it is another host)") \
	X(not_owner, "what answers the rendezvous does not own the listener")                   \
	X(resources, "out of resources for the engine")                                         \
	X(listen_taken, "no engine advertises it (the address is taken)")                       \
	X(client_no_accel, "the client does not run libaccel")                                  \
	X(handover, "handed over to a kernel socket (exec or SCM_RIGHTS): a helper process carries it")

enum accel_stats_reason {
#define ACCEL_STATS_ENUM_(name, text) ACCEL_REASON_##name,
	ACCEL_STATS_REASONS(ACCEL_STATS_ENUM_)
#undef ACCEL_STATS_ENUM_
	ACCEL_STATS_NREASONS
};
#define ACCEL_STATS_MAX_REASONS 32

/*
 * Names and texts from the lists above, for the library (log, stats file)
 * and accel-stat alike: accel_stats_counter_name/_doc and
 * accel_stats_reason_name/_text. fn(i) is column COL (an entry's name or
 * text) of LIST's entry i, or NULL for a number this version does not know.
 */
#define ACCEL_STATS_NAME_(name, text) #name,
#define ACCEL_STATS_TEXT_(name, text) text,
#define ACCEL_STATS_LOOKUP_(fn, LIST, COL, n)                                  \
	static inline const char *fn(unsigned int i)                             \
	{                                                                        \
		static const char *const col[] = { LIST(COL) };                  \
		return i < (n) ? col[i] : NULL;                                  \
	}

ACCEL_STATS_LOOKUP_(accel_stats_counter_name, ACCEL_STATS_COUNTERS, ACCEL_STATS_NAME_,
		    ACCEL_STATS_NCOUNTERS)
ACCEL_STATS_LOOKUP_(accel_stats_counter_doc, ACCEL_STATS_COUNTERS, ACCEL_STATS_TEXT_,
		    ACCEL_STATS_NCOUNTERS)
ACCEL_STATS_LOOKUP_(accel_stats_reason_name, ACCEL_STATS_REASONS, ACCEL_STATS_NAME_,
		    ACCEL_STATS_NREASONS)
ACCEL_STATS_LOOKUP_(accel_stats_reason_text, ACCEL_STATS_REASONS, ACCEL_STATS_TEXT_,
		    ACCEL_STATS_NREASONS)

/* Connection states, numbered as the kernel's TCP states (/proc/net/tcp). */
enum accel_stats_state {
	ACCEL_STATE_NONE = 0, /* created, not connected or listening */
	ACCEL_STATE_ESTABLISHED = 1,
	ACCEL_STATE_FIN_WAIT2 = 5,  /* we shut down writing */
	ACCEL_STATE_CLOSE = 7,      /* both directions shut down */
	ACCEL_STATE_CLOSE_WAIT = 8, /* the peer ended its stream */
	ACCEL_STATE_LISTEN = 10,
};

struct accel_stats_head {
	uint64_t magic;
	uint32_t version;
	uint32_t head_size;   /* sizeof(struct accel_stats_head) */
	uint32_t slot_size;   /* sizeof(struct accel_stats_sock) */
	uint32_t nslots;      /* capacity (ACCEL_STATS_FD_NUM) */
	uint32_t high;        /* slots [0, high) have been used */
	uint32_t flags;       /* none defined yet: 0 */
	int32_t pid;
	uint32_t uid;
	uint64_t start_time;  /* /proc/PID/stat field 22: tells a reused pid */
	uint64_t created_ns;  /* CLOCK_REALTIME when the segment was made */
	char program[64];     /* the program's name (comm), NUL-terminated */
	uint64_t sockets;     /* sockets tracked since start */
	uint64_t offloaded;   /* of which an engine carried */
	uint64_t unpublished; /* of which found no free slot */
	/* Process totals: sockets the kernel carried, per reason. */
	uint64_t reasons[ACCEL_STATS_MAX_REASONS];
	uint64_t pidns;       /* inode of the writer's /proc/self/ns/pid: pid and
			       * start_time mean something only in that namespace */
	uint64_t reserved[13];
};

/*
 * One socket. A writer changes the identity (everything but the counters)
 * between two increments of seq: odd seq = being changed, read again. A
 * slot is free when in_use is 0; its counters restart at zero when reused.
 */
struct accel_stats_sock {
	uint32_t seq;
	uint32_t in_use;
	int32_t fd;            /* the fd it was created on (or accepted into) */
	uint8_t family;        /* AF_INET, AF_INET6 */
	uint8_t proto;         /* IPPROTO_TCP, IPPROTO_UDP */
	uint8_t state;         /* enum accel_stats_state */
	uint8_t reason;        /* enum accel_stats_reason; none when offloaded */
	uint64_t inode;        /* the kernel socket's inode (/proc/net/{tcp,udp}*) */
	char engine[16];       /* "kernel", "shm", ...; NUL-terminated */
	uint8_t local_addr[16]; /* IPv4 in the first 4 bytes; network order */
	uint8_t peer_addr[16];
	uint16_t local_port;   /* host order */
	uint16_t peer_port;
	uint32_t reserved;
	uint64_t counters[ACCEL_STATS_MAX_COUNTERS];
};

_Static_assert(ACCEL_STATS_NCOUNTERS <= ACCEL_STATS_MAX_COUNTERS, "too many counters");
_Static_assert(ACCEL_STATS_NREASONS <= ACCEL_STATS_MAX_REASONS, "too many reasons");
_Static_assert(sizeof(struct accel_stats_head) % 64 == 0, "header is whole cache lines");
_Static_assert(offsetof(struct accel_stats_head, version) == 8 &&
		       offsetof(struct accel_stats_head, pid) == 32 &&
		       offsetof(struct accel_stats_head, start_time) == 40 &&
		       offsetof(struct accel_stats_head, pidns) == 400,
	       "the writer's identity keeps its place in every version");
_Static_assert(sizeof(struct accel_stats_sock) % 64 == 0, "slot is whole cache lines");
_Static_assert(offsetof(struct accel_stats_sock, counters) + ACCEL_STAT_tx_bytes * 8 == 128,
	       "send counters start a cache line");

#endif
