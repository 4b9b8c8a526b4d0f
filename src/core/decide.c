/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Asking the policy once per socket, and the SOL_ACCEL options. Runs on
 * control calls (listen, connect, bind, the first sendto), never on a
 * steady-state data path.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../../include/accel/socket.h"
#include "../config/log.h"
#include "core.h"
#include "decide.h"
#include "engine.h"
#include "interpose.h"
#include "libc.h"
#include "rules_state.h"

static void log_decision(const struct accel_sock *s, int fd, const struct policy_query *q,
			 const char *source)
{
	char local[INET6_ADDRSTRLEN + 16], remote[INET6_ADDRSTRLEN + 16];
	struct rule_endpoint e = { .ports = { q->lport, q->lport } };
	memcpy(e.addr.addr, q->local, 16);
	e.addr.prefix = 128;
	e.addr.is_v4 = !memcmp(q->local, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
	rules_format_endpoint(&e, local, sizeof(local));
	e.ports.lo = e.ports.hi = q->rport;
	memcpy(e.addr.addr, q->remote, 16);
	e.addr.is_v4 = !memcmp(q->remote, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
	static const uint8_t none[16];
	if (!q->rport && !memcmp(q->remote, none, 16))
		snprintf(remote, sizeof(remote), "-");
	else
		rules_format_endpoint(&e, remote, sizeof(remote));
	/* An engine's answer comes on its own line, at listen or connect. */
	int quiet = s->ops || s->reason == ACCEL_REASON_undecided;
	const char *why = stats_reason_text(s->reason);
	if (s->rule)
		log_debug("fd %d %s local %s remote %s: %s by %s:%d%s%s", fd,
			  rules_role_name((enum rule_role)s->role), local, remote,
			  rules_transport_name((enum rule_transport)s->decision), s->rule->file,
			  s->rule->line, quiet ? "" : "; stays on the kernel: ", quiet ? "" : why);
	else
		log_debug("fd %d %s local %s remote %s: %s, no rule matched (rules: %s)%s%s", fd,
			  rules_role_name((enum rule_role)s->role), local, remote,
			  rules_transport_name((enum rule_transport)s->decision), source,
			  quiet ? "" : "; stays on the kernel: ", quiet ? "" : why);
}

void decide_socket(struct accel_sock *s, int fd, enum rule_role role,
		   const struct sockaddr *local, const struct sockaddr *remote)
{
	if (!s || s->decided || core_in_vfork_child())
		return;
	/* Before start-up (another library's constructor) the rules are not
	 * read yet, and reading them here could be in a signal handler: stay
	 * undecided; a later control call decides. */
	const struct rules_state *st = rules_state_get();
	if (!st)
		return;
	int saved = errno;
	struct policy_query q = { .role = role };
	struct sockaddr_storage ss;
	if (!local) {
		socklen_t len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (libc.getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
			local = (struct sockaddr *)&ss;
	}
	policy_query_set_local(&q, local);
	policy_query_set_remote(&q, remote);

	const struct rule *rule = s->no_accel == 1 ? NULL : policy_match(st->table, st->block, &q);
	s->role = (uint8_t)role;
	s->rule = rule;
	unsigned int reason;
	if (s->no_accel == 1) {
		s->decision = RULE_OS;
		reason = ACCEL_REASON_opt_out;
	} else if (rule) {
		s->decision = (uint8_t)rule->transport;
		reason = ACCEL_REASON_rule_os;
	} else if (st->rejected) {
		s->decision = RULE_OS;
		reason = ACCEL_REASON_rejected;
	} else if (!accel_params.offloaded_sockets && s->no_accel != 0) {
		s->decision = RULE_OS;
		reason = ACCEL_REASON_not_auto;
	} else {
		s->decision = RULE_ACCEL;
	}
	/* An engine is asked at connect or listen, right after this. */
	if (s->decision == RULE_ACCEL)
		reason = s->type == SOCK_STREAM && (role == ROLE_TCP_SERVER || role == ROLE_TCP_CLIENT)
				 ? ACCEL_REASON_undecided
				 : ACCEL_REASON_no_engine;
	stats_sock_reason(s, reason);
	stats_sock_update(s, fd, STATS_STATE_KEEP);
	__atomic_store_n(&s->decided, 1, __ATOMIC_RELEASE);
	if (accel_log_level >= ACCEL_LOG_DEBUG)
		log_decision(s, fd, &q, st->source);
	errno = saved;
}

static int offer_allowed(const struct accel_sock *s)
{
	return s && s->decided && s->decision == RULE_ACCEL && !s->ops && !core_in_vfork_child();
}

void decide_offer_listener(struct accel_sock *s, int fd, int backlog)
{
	if (!offer_allowed(s))
		return;
	int saved = errno, rc = -ENOENT;
	for (const struct engine *const *e = core_engines; *e && rc < 0; e++)
		if ((*e)->listen)
			rc = (*e)->listen(s, fd, backlog);
	if (rc < 0) {
		stats_sock_reason(s, ACCEL_REASON_listen_taken);
		log_debug("fd %d: the listener stays on the kernel alone: %s", fd,
			  stats_reason_text(s->reason));
	} else {
		log_debug("fd %d: the listener is also reachable through the %s engine", fd,
			  s->ops->name);
	}
	stats_sock_update(s, fd, ACCEL_STATE_LISTEN);
	errno = saved;
}

int decide_offer_connect(struct accel_sock *s, int fd, const struct sockaddr *dst, socklen_t len,
			 int *rc)
{
	if (!offer_allowed(s) || s->type != SOCK_STREAM)
		return 0;
	int saved = errno, r = -ENOENT;
	for (const struct engine *const *e = core_engines; *e && !s->ops; e++)
		if ((*e)->connect)
			r = (*e)->connect(s, fd, dst, len);
	if (!s->ops) {
		stats_sock_reason(s, r == -ENOENT ? ACCEL_REASON_no_peer
				  : r == -EPERM ? ACCEL_REASON_not_owner
						: ACCEL_REASON_resources);
		log_debug("fd %d: the connection stays on the kernel: %s", fd,
			  stats_reason_text(s->reason));
		stats_sock_update(s, fd, STATS_STATE_KEEP);
		errno = saved;
		return 0;
	}
	log_debug("fd %d: connected through the %s engine", fd, s->ops->name);
	*rc = r;
	stats_sock_update(s, fd, ACCEL_STATE_ESTABLISHED);
	errno = saved;
	return 1;
}

int decide_copy_addr(struct sockaddr_storage *dst, const struct sockaddr *addr, socklen_t len)
{
	sa_family_t family;
	if (!addr || len < sizeof(family) || core_copy_in(&family, addr, sizeof(family)) < 0)
		return -EFAULT;
	size_t need = family == AF_INET ? sizeof(struct sockaddr_in)
		      : family == AF_INET6 ? sizeof(struct sockaddr_in6) : 0;
	if (!need || len < need)
		return -EINVAL;
	memset(dst, 0, sizeof(*dst));
	return core_copy_in(dst, addr, need);
}

void decide_inherit(struct accel_sock *s, const struct accel_sock *listener)
{
	if (!s || !listener || !listener->decided)
		return;
	s->role = listener->role;
	s->decision = listener->decision;
	s->rule = listener->rule;
	s->reason = listener->reason;
	if (s->slot)
		s->slot->reason = s->reason;
	s->no_accel = listener->no_accel;
	s->decided = 1;
}

static int read_int(const void *val, socklen_t len, int *out)
{
	if (!val || len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

int decide_setsockopt(struct accel_sock *s, int name, const void *val, socklen_t len)
{
	int v, rc;
	switch (name) {
	case SO_ACCEL_NO_ACCEL:
		if ((rc = read_int(val, len, &v)) < 0)
			return rc;
		if (!s->decided) {
			s->no_accel = v ? 1 : 0;
			return 0;
		}
		if (s->ops)
			return -EPERM; /* already offloaded */
		return v ? 0 : -EPERM; /* already on the kernel: 1 is true, 0 too late */
	case SO_ACCEL_OFFLOADED:
	case SO_ACCEL_ENGINE:
		return -EPERM; /* read only */
	default:
		return -ENOPROTOOPT;
	}
}

static int put_int(void *val, socklen_t *len, int v)
{
	if (!val || !len || *len < sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(v));
	*len = sizeof(v);
	return 0;
}

int decide_getsockopt(struct accel_sock *s, int name, void *val, socklen_t *len)
{
	switch (name) {
	case SO_ACCEL_NO_ACCEL:
		return put_int(val, len, s->no_accel == 1 || (s->decided && !s->ops));
	case SO_ACCEL_OFFLOADED:
		return put_int(val, len, s->ops != NULL);
	case SO_ACCEL_ENGINE: {
		const char *name_ = s->ops ? s->ops->name : "kernel";
		size_t n = strlen(name_) + 1;
		if (!val || !len)
			return -EFAULT;
		if (*len < n)
			n = *len;
		memcpy(val, name_, n);
		*len = (socklen_t)n;
		return 0;
	}
	default:
		return -ENOPROTOOPT;
	}
}
