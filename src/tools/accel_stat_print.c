/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * accel-stat's views of a snapshot: the netstat-like table, the process
 * totals, one socket in full, and JSON. Names and texts come from the
 * layout header's lists. Strings in a segment come from another program:
 * a terminal gets them printable, JSON gets them escaped.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "accel_stat.h"

/* The kernel's TCP states, by number. */
static const char *const state_names[] = {
	"",	   "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
	"FIN_WAIT2", "TIME_WAIT",   "CLOSE",    "CLOSE_WAIT", "LAST_ACK",
	"LISTEN",    "CLOSING",	    "NEW_SYN_RECV",
};
static const char *const rate_names[ASTAT_NRATES] = { "in_msgs", "in_bytes", "out_msgs",
						      "out_bytes" };

const char *astat_counter_name(unsigned int counter)
{
	const char *name = accel_stats_counter_name(counter);
	return name ? name : "unknown";
}

const char *astat_counter_doc(unsigned int counter)
{
	const char *doc = accel_stats_counter_doc(counter);
	return doc ? doc : "";
}

const char *astat_reason_name(unsigned int reason)
{
	const char *name = accel_stats_reason_name(reason);
	return name ? name : "unknown";
}

const char *astat_reason_text(unsigned int reason)
{
	const char *text = accel_stats_reason_text(reason);
	return text ? text : "a reason this accel-stat does not know";
}

const char *astat_state_name(int proto, int state)
{
	if (proto == IPPROTO_UDP)
		return state == ACCEL_STATE_ESTABLISHED ? "ESTABLISHED" : "";
	if (state < 0 || (size_t)state >= sizeof(state_names) / sizeof(state_names[0]))
		return "UNKNOWN";
	return state_names[state];
}

const char *astat_proto_name(const struct astat_sock *s)
{
	int v6 = s->local.family == AF_INET6;
	if (s->proto == IPPROTO_TCP)
		return v6 ? "tcp6" : "tcp";
	if (s->proto == IPPROTO_UDP)
		return v6 ? "udp6" : "udp";
	return "?";
}

void astat_endpoint_format(const struct astat_endpoint *ep, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	char port[8] = "*";
	inet_ntop(ep->family, ep->addr, addr, sizeof(addr));
	if (ep->port)
		snprintf(port, sizeof(port), "%u", ep->port);
	snprintf(buf, size, ep->family == AF_INET6 ? "[%s]:%s" : "%s:%s", addr, port);
}

/* A string from a segment, fit for a terminal: printable ASCII only. */
static void printable(const char *s, size_t max, char *buf, size_t size)
{
	size_t i = 0;
	for (; i < max && s[i] && i + 1 < size; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
}

static const char *user_name(uint32_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid((uid_t)uid);
	if (pw && pw->pw_name)
		printable(pw->pw_name, size, buf, size);
	else
		snprintf(buf, size, "%u", uid);
	return buf;
}

const struct astat_sock *astat_find(const struct astat_snapshot *snap, pid_t pid, int fd)
{
	for (size_t p = 0; p < snap->nprocs; p++)
		for (size_t i = 0; snap->procs[p].head.pid == pid && i < snap->procs[p].nsocks; i++)
			if (snap->procs[p].socks[i].pub.fd == fd)
				return &snap->procs[p].socks[i];
	return NULL;
}

int astat_filter_proc(const struct astat_filter *f, const struct astat_proc *p)
{
	return !f->pid || p->head.pid == f->pid;
}

int astat_filter_sock(const struct astat_filter *f, const struct astat_sock *s)
{
	if (f->fd >= 0 && s->pub.fd != f->fd)
		return 0;
	if ((f->tcp || f->udp) &&
	    !((f->tcp && s->proto == IPPROTO_TCP) || (f->udp && s->proto == IPPROTO_UDP)))
		return 0;
	if (!f->connected && !f->listening)
		return 1;
	int listening = s->state == ACCEL_STATE_LISTEN ||
			(s->proto == IPPROTO_UDP && s->state == ACCEL_STATE_NONE && s->local.port);
	int connected = s->state != ACCEL_STATE_LISTEN && s->state != ACCEL_STATE_NONE;
	return (f->connected && connected) || (f->listening && listening);
}

/* "kernel (a rule says os)", "kernel", "shm". */
static void engine_format(const struct astat_sock *s, char *buf, size_t size)
{
	char engine[sizeof(s->pub.engine)];
	printable(s->pub.engine, sizeof(s->pub.engine), engine, sizeof(engine));
	if (strcmp(engine, "kernel") == 0 && s->pub.reason != ACCEL_REASON_none)
		snprintf(buf, size, "kernel (%s)", astat_reason_text(s->pub.reason));
	else
		snprintf(buf, size, "%s", engine);
}

/* ---- tables: cells first, then columns as wide as their widest cell ---- */

#define TABLE_MAX_COLS 16

struct table {
	size_t ncols;
	const char *title[TABLE_MAX_COLS];
	int right[TABLE_MAX_COLS]; /* numbers align right */
	size_t width[TABLE_MAX_COLS];
	char **cells; /* row after row */
	size_t ncells, nrows, cap;
	int failed;
};

static void table_col(struct table *t, const char *title, int right)
{
	t->title[t->ncols] = title;
	t->right[t->ncols] = right;
	t->width[t->ncols] = strlen(title);
	t->ncols++;
}

/* Append the row's cells one by one; a row is complete after ncols. */
static void table_cell(struct table *t, const char *text)
{
	size_t used = t->ncells;
	if (t->failed)
		return;
	if (used == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64 * t->ncols;
		char **nc = realloc(t->cells, ncap * sizeof(*nc));
		if (!nc) {
			t->failed = 1;
			return;
		}
		t->cells = nc;
		t->cap = ncap;
	}
	char *copy = strdup(text);
	if (!copy) {
		t->failed = 1;
		return;
	}
	t->cells[t->ncells++] = copy;
	size_t col = used % t->ncols, len = strlen(text);
	if (len > t->width[col])
		t->width[col] = len;
	if (col == t->ncols - 1)
		t->nrows++;
}

static void table_line(FILE *out, const struct table *t, const char *const *cells)
{
	for (size_t c = 0; c < t->ncols; c++) {
		int last = c == t->ncols - 1;
		int w = last && !t->right[c] ? 0 : (int)t->width[c];
		fprintf(out, "%s%*s", c ? "  " : "", t->right[c] ? w : -w, cells[c]);
	}
	fputc('\n', out);
}

static void table_print(FILE *out, struct table *t)
{
	table_line(out, t, t->title);
	for (size_t r = 0; r < t->nrows; r++)
		table_line(out, t, (const char *const *)t->cells + r * t->ncols);
	if (t->failed)
		fprintf(out, "accel-stat: out of memory: table cut short\n");
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
}

static void cell_queue(struct table *t, int64_t q)
{
	char buf[24] = "-";
	if (q >= 0)
		snprintf(buf, sizeof(buf), "%" PRId64, q);
	table_cell(t, buf);
}

static void sock_row(struct table *t, const struct astat_sock *s, const struct astat_view *v)
{
	char buf[160];
	table_cell(t, astat_proto_name(s));
	cell_queue(t, s->recv_q);
	cell_queue(t, s->send_q);
	astat_endpoint_format(&s->local, buf, sizeof(buf));
	table_cell(t, buf);
	astat_endpoint_format(&s->foreign, buf, sizeof(buf));
	table_cell(t, buf);
	const char *state = astat_state_name(s->proto, s->state);
	table_cell(t, !*state && s->proto != IPPROTO_UDP ? "-" : state);
	if (v->extended) {
		table_cell(t, user_name(s->proc->head.uid, buf, sizeof(buf)));
		snprintf(buf, sizeof(buf), "%d:%d", (int)s->proc->head.pid, (int)s->pub.fd);
		table_cell(t, buf);
		printable(s->proc->head.program, sizeof(s->proc->head.program), buf, sizeof(buf));
		table_cell(t, buf);
	}
	if (v->rates)
		for (unsigned int r = 0; r < ASTAT_NRATES; r++) {
			snprintf(buf, sizeof(buf), "%.0f", s->rates[r]);
			table_cell(t, s->has_rates ? buf : "-");
		}
	engine_format(s, buf, sizeof(buf));
	table_cell(t, buf);
}

void astat_print_table(FILE *out, const struct astat_snapshot *snap, const struct astat_view *v)
{
	struct table t = { 0 };
	table_col(&t, "Proto", 0);
	table_col(&t, "Recv-Q", 1);
	table_col(&t, "Send-Q", 1);
	table_col(&t, "Local Address", 0);
	table_col(&t, "Foreign Address", 0);
	table_col(&t, "State", 0);
	if (v->extended) {
		table_col(&t, "User", 0);
		table_col(&t, "PID:FD", 0);
		table_col(&t, "Program", 0);
	}
	if (v->rates) {
		table_col(&t, "In msg/s", 1);
		table_col(&t, "In B/s", 1);
		table_col(&t, "Out msg/s", 1);
		table_col(&t, "Out B/s", 1);
	}
	table_col(&t, "Engine", 0);
	for (size_t p = 0; p < snap->nprocs; p++) {
		if (!astat_filter_proc(&v->filter, &snap->procs[p]))
			continue;
		for (size_t i = 0; i < snap->procs[p].nsocks; i++)
			if (astat_filter_sock(&v->filter, &snap->procs[p].socks[i]))
				sock_row(&t, &snap->procs[p].socks[i], v);
	}
	table_print(out, &t);
}

static size_t open_count(const struct astat_proc *p, const struct astat_filter *f)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nsocks; i++)
		n += (size_t)astat_filter_sock(f, &p->socks[i]);
	return n;
}

void astat_print_totals(FILE *out, const struct astat_snapshot *snap, const struct astat_view *v)
{
	struct table t = { 0 };
	table_col(&t, "PID", 1);
	table_col(&t, "Program", 0);
	if (v->extended)
		table_col(&t, "User", 0);
	table_col(&t, "Sockets", 1);
	table_col(&t, "Offloaded", 1);
	table_col(&t, "Unpublished", 1);
	table_col(&t, "Open", 1);
	table_col(&t, "Kernel, by reason", 0);
	for (size_t p = 0; p < snap->nprocs; p++) {
		const struct astat_proc *pr = &snap->procs[p];
		const struct accel_stats_head *h = &pr->head;
		char buf[1024];
		if (!astat_filter_proc(&v->filter, pr))
			continue;
		snprintf(buf, sizeof(buf), "%d", (int)h->pid);
		table_cell(&t, buf);
		printable(h->program, sizeof(h->program), buf, sizeof(buf));
		table_cell(&t, buf);
		if (v->extended)
			table_cell(&t, user_name(h->uid, buf, sizeof(buf)));
		const uint64_t counts[] = { h->sockets, h->offloaded, h->unpublished,
					    open_count(pr, &v->filter) };
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			snprintf(buf, sizeof(buf), "%" PRIu64, counts[c]);
			table_cell(&t, buf);
		}
		size_t used = 0;
		buf[0] = '\0';
		for (unsigned int r = 1; r < ACCEL_STATS_NREASONS && used < sizeof(buf); r++)
			if (h->reasons[r])
				used += (size_t)snprintf(buf + used, sizeof(buf) - used,
							 "%s%s=%" PRIu64, used ? " " : "",
							 astat_reason_name(r), h->reasons[r]);
		table_cell(&t, used ? buf : "-");
	}
	table_print(out, &t);
}

/* ---- one socket in full ---- */

static void queue_source(const struct astat_sock *s, char *buf, size_t size)
{
	if (s->from_kernel)
		snprintf(buf, size, "the kernel's (/proc/%d/net, inode %" PRIu64 ")",
			 (int)s->proc->head.pid, s->pub.inode);
	else if (astat_wants_kernel(s))
		snprintf(buf, size, "zero: inode %" PRIu64 " is not in /proc/%d/net", s->pub.inode,
			 (int)s->proc->head.pid);
	else if (s->peer)
		snprintf(buf, size, "derived from the counters of its peer %d:%d",
			 (int)s->peer->proc->head.pid, (int)s->peer->pub.fd);
	else
		snprintf(buf, size, "unknown: no peer visible");
}

int astat_print_socket(FILE *out, const struct astat_snapshot *snap, const struct astat_view *v)
{
	const struct astat_sock *s = astat_find(snap, v->filter.pid, v->filter.fd);
	if (!s)
		return -ENOENT;
	const struct accel_stats_head *h = &s->proc->head;
	const struct accel_stats_sock *pub = &s->pub;
	char buf[160], name[80];
	printable(h->program, sizeof(h->program), name, sizeof(name));
	fprintf(out, "Process     %d (%s), user %s\n", (int)h->pid, name,
		user_name(h->uid, buf, sizeof(buf)));
	fprintf(out, "Socket      fd %d, slot %u, inode %" PRIu64 "\n", (int)pub->fd, s->slot,
		pub->inode);
	fprintf(out, "Proto       %s\n", astat_proto_name(s));
	astat_endpoint_format(&s->local, buf, sizeof(buf));
	fprintf(out, "Local       %s\n", buf);
	astat_endpoint_format(&s->foreign, buf, sizeof(buf));
	fprintf(out, "Foreign     %s\n", buf);
	fprintf(out, "State       %s\n", astat_state_name(s->proto, s->state));
	if (s->from_kernel) {
		/* What the slot says, when the kernel's view replaced it. */
		struct astat_endpoint l = { pub->family, { 0 }, pub->local_port };
		struct astat_endpoint f = { pub->family, { 0 }, pub->peer_port };
		memcpy(l.addr, pub->local_addr, sizeof(l.addr));
		memcpy(f.addr, pub->peer_addr, sizeof(f.addr));
		char a[80], b[80];
		astat_endpoint_format(&l, a, sizeof(a));
		astat_endpoint_format(&f, b, sizeof(b));
		fprintf(out, "Published   %s %s %s\n", a, b,
			astat_state_name(pub->proto, pub->state));
	}
	engine_format(s, buf, sizeof(buf));
	fprintf(out, "Engine      %s\n", buf);
	fprintf(out, "Reason      %s\n", astat_reason_name(pub->reason));
	char q[32] = "-";
	if (s->recv_q >= 0)
		snprintf(q, sizeof(q), "%" PRId64, s->recv_q);
	fprintf(out, "Recv-Q      %s\n", q);
	snprintf(q, sizeof(q), "-");
	if (s->send_q >= 0)
		snprintf(q, sizeof(q), "%" PRId64, s->send_q);
	fprintf(out, "Send-Q      %s\n", q);
	queue_source(s, buf, sizeof(buf));
	fprintf(out, "Queues      %s\n", buf);
	fprintf(out, "Counters%s\n", v->rates && s->has_rates ? " (and per second)" : "");
	static const int rate_of[ACCEL_STATS_NCOUNTERS] = {
		[ACCEL_STAT_rx_msgs] = 1 + ASTAT_RATE_IN_MSGS,
		[ACCEL_STAT_rx_bytes] = 1 + ASTAT_RATE_IN_BYTES,
		[ACCEL_STAT_tx_msgs] = 1 + ASTAT_RATE_OUT_MSGS,
		[ACCEL_STAT_tx_bytes] = 1 + ASTAT_RATE_OUT_BYTES,
	};
	for (unsigned int c = 0; c < ACCEL_STATS_NCOUNTERS; c++) {
		char rate[32] = "";
		if (v->rates && s->has_rates && rate_of[c])
			snprintf(rate, sizeof(rate), "%.0f/s", s->rates[rate_of[c] - 1]);
		fprintf(out, "  %-16s %20" PRIu64 "%*s  %s\n", astat_counter_name(c), pub->counters[c],
			v->rates ? 14 : 0, rate, astat_counter_doc(c));
	}
	return 0;
}

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t min, cp;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	if (s[0] < 0xe0)
		len = 2, min = 0x80, cp = s[0] & 0x1f;
	else if (s[0] < 0xf0)
		len = 3, min = 0x800, cp = s[0] & 0x0f;
	else
		len = 4, min = 0x10000, cp = s[0] & 0x07;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void astat_json_string(FILE *out, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strnlen(str, max);
	fputc('"', out);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			fprintf(out, "\\%c", c);
		} else if (c == '\n') {
			fputs("\\n", out);
		} else if (c == '\t') {
			fputs("\\t", out);
		} else if (c == '\r') {
			fputs("\\r", out);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
		} else if (c >= 0x80) {
			size_t len = utf8_len(s + i, n - i);
			if (len)
				fwrite(s + i, 1, len, out);
			else
				fputs("\\ufffd", out);
			i += len ? len : 1;
			continue;
		} else {
			fputc(c, out);
		}
		i++;
	}
	fputc('"', out);
}

static void json_queue(FILE *out, const char *key, int64_t q)
{
	if (q >= 0)
		fprintf(out, ",\"%s\":%" PRId64, key, q);
	else
		fprintf(out, ",\"%s\":null", key);
}

static void json_sock(FILE *out, const struct astat_sock *s, const struct astat_view *v)
{
	char buf[80];
	fprintf(out, "{\"fd\":%d,\"slot\":%u,\"proto\":\"%s\"", (int)s->pub.fd, s->slot,
		astat_proto_name(s));
	astat_endpoint_format(&s->local, buf, sizeof(buf));
	fprintf(out, ",\"local\":\"%s\"", buf);
	astat_endpoint_format(&s->foreign, buf, sizeof(buf));
	fprintf(out, ",\"foreign\":\"%s\",\"state\":\"%s\",\"engine\":", buf,
		astat_state_name(s->proto, s->state));
	astat_json_string(out, s->pub.engine, sizeof(s->pub.engine));
	if (s->pub.reason == ACCEL_REASON_none)
		fputs(",\"reason\":null", out);
	else
		fprintf(out, ",\"reason\":\"%s\"", astat_reason_name(s->pub.reason));
	json_queue(out, "recv_q", s->recv_q);
	json_queue(out, "send_q", s->send_q);
	fprintf(out, ",\"queues_from\":\"%s\"",
		s->from_kernel ? "kernel" : s->peer ? "peer" : "none");
	if (s->peer)
		fprintf(out, ",\"peer\":{\"pid\":%d,\"fd\":%d}", (int)s->peer->proc->head.pid,
			(int)s->peer->pub.fd);
	else
		fputs(",\"peer\":null", out);
	fprintf(out, ",\"inode\":%" PRIu64 ",\"counters\":{", s->pub.inode);
	for (unsigned int c = 0; c < ACCEL_STATS_NCOUNTERS; c++)
		fprintf(out, "%s\"%s\":%" PRIu64, c ? "," : "", astat_counter_name(c),
			s->pub.counters[c]);
	fputc('}', out);
	if (v->rates && s->has_rates) {
		fputs(",\"rates\":{", out);
		for (unsigned int r = 0; r < ASTAT_NRATES; r++)
			fprintf(out, "%s\"%s\":%.3f", r ? "," : "", rate_names[r], s->rates[r]);
		fputc('}', out);
	}
	fputc('}', out);
}

static void json_proc(FILE *out, const struct astat_proc *p, const struct astat_view *v)
{
	const struct accel_stats_head *h = &p->head;
	struct passwd *pw = getpwuid((uid_t)h->uid);
	fprintf(out, "{\"pid\":%d,\"uid\":%u,\"user\":", (int)h->pid, h->uid);
	if (pw && pw->pw_name)
		astat_json_string(out, pw->pw_name, SIZE_MAX);
	else
		fputs("null", out);
	fputs(",\"program\":", out);
	astat_json_string(out, h->program, sizeof(h->program));
	fprintf(out,
		",\"start_time\":%" PRIu64 ",\"created_ns\":%" PRIu64 ",\"tracked\":%" PRIu64
		",\"offloaded\":%" PRIu64 ",\"unpublished\":%" PRIu64 ",\"reasons\":{",
		h->start_time, h->created_ns, h->sockets, h->offloaded, h->unpublished);
	for (unsigned int r = 1; r < ACCEL_STATS_NREASONS; r++)
		fprintf(out, "%s\"%s\":%" PRIu64, r > 1 ? "," : "", astat_reason_name(r), h->reasons[r]);
	fputs("},\"sockets\":[", out);
	int first = 1;
	for (size_t i = 0; i < p->nsocks; i++) {
		if (!astat_filter_sock(&v->filter, &p->socks[i]))
			continue;
		if (!first)
			fputc(',', out);
		first = 0;
		json_sock(out, &p->socks[i], v);
	}
	fputs("]}", out);
}

void astat_print_json(FILE *out, const struct astat_snapshot *snap, const struct astat_view *v)
{
	fprintf(out, "{\"version\":1,\"time\":%" PRId64, snap->wall_s);
	if (v->rates)
		fprintf(out, ",\"interval\":%.3f", v->interval);
	fputs(",\"processes\":[", out);
	int first = 1;
	for (size_t p = 0; p < snap->nprocs; p++) {
		if (!astat_filter_proc(&v->filter, &snap->procs[p]))
			continue;
		if (!first)
			fputc(',', out);
		first = 0;
		json_proc(out, &snap->procs[p], v);
	}
	fputs("]}\n", out);
}
