/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The rules language (libxlio.conf style) as data: what the flex scanner
 * and bison grammar produce from /etc/libaccel.conf. A file is either
 * parsed whole, or rejected whole with its first error; a caller never sees
 * a half-read file. Nothing here knows about sockets or decisions.
 */
#ifndef ACCEL_CONFIG_RULES_H
#define ACCEL_CONFIG_RULES_H

#include <stddef.h>
#include <stdint.h>

enum rule_transport { RULE_ACCEL, RULE_OS };

enum rule_role {
	ROLE_TCP_SERVER,
	ROLE_TCP_CLIENT,
	ROLE_UDP_RECEIVER,
	ROLE_UDP_SENDER,
	ROLE_UDP_CONNECT,
	ROLE_COUNT
};

/*
 * An address pattern. IPv4 is stored as IPv4-mapped IPv6 (::ffff:a.b.c.d)
 * with the prefix length raised by 96, so that one comparison serves both
 * families and an IPv4 rule also matches a dual-stack socket's mapped
 * peers. `*` is ::/0 (prefix 0), which matches every address.
 */
struct rule_addr {
	uint8_t addr[16]; /* network order, bits beyond prefix are zero */
	uint8_t prefix;   /* 0..128 */
	uint8_t is_v4;    /* written as IPv4 (for printing back) */
};

struct rule_ports {
	uint16_t lo, hi; /* inclusive; `*` is 0..65535 */
};

struct rule_endpoint {
	struct rule_addr addr;
	struct rule_ports ports;
};

struct rule {
	enum rule_transport transport;
	enum rule_role role;
	/* Normalised: for tcp_client and udp_connect the written first pair is
	 * `remote` and the optional second `local`; for udp_sender the one pair
	 * is `remote` (the destination, as libvma reads it); for tcp_server and
	 * udp_receiver it is `local`. An end not written is `*:*`. */
	struct rule_endpoint local;
	struct rule_endpoint remote;
	const char *file; /* points into the owning rules_set */
	int line, col;
};

struct rule_block {
	char *program;   /* glob on the program name without its path; "*" */
	char *app_id;    /* ACCEL_APPLICATION_ID to match, "*" for any */
	int line;        /* 0 for the implicit block before any application-id */
	struct rule *rules;
	size_t nrules;
};

struct rules_set {
	char *file;
	/* Explicit application-id blocks in file order, then the implicit block
	 * (rules before the first application-id line, line 0) if the file has
	 * one: a process uses the first explicit block that matches it, and the
	 * implicit block when none does. */
	struct rule_block *blocks;
	size_t nblocks;
};

/* The first error of a rejected file. */
struct rules_error {
	char file[256];
	int line, col;      /* 1-based */
	char text[128];     /* the offending text as written */
	char msg[256];      /* what is wrong, what is expected */
};

/*
 * Parse a whole file or string. Returns 0 and *out, or a negative errno
 * with *err filled (-EINVAL for any lexical, syntax or semantic error,
 * -errno of open/read for an unreadable file) and *out NULL.
 */
int rules_parse_file(const char *path, struct rules_set **out, struct rules_error *err);
int rules_parse_string(const char *text, size_t len, const char *name,
		       struct rules_set **out, struct rules_error *err);
void rules_free(struct rules_set *set);

/* Names as written in the file ("tcp_server", "accel"). */
const char *rules_role_name(enum rule_role role);
const char *rules_transport_name(enum rule_transport t);
/* Print an endpoint back in the file's syntax ("192.168.0.0/16:80-90"). */
void rules_format_endpoint(const struct rule_endpoint *e, char *buf, size_t size);
/* Whether addr (16 bytes, IPv4 as mapped) lies in the pattern. */
int rules_addr_match(const struct rule_addr *pattern, const uint8_t addr[16]);

#endif
