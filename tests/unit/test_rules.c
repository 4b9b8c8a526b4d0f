/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the rules language (src/config/rules*.c, the flex scanner
 * and bison grammar): every role, address and port form, blocks, printing
 * back, address matching, each error with its place, big files, threads.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/rules.h"

/* ---- helpers ---- */

static struct rules_set *parse_ok(const char *text)
{
	struct rules_set *set = NULL;
	struct rules_error err;
	int rc = rules_parse_string(text, strlen(text), "test.conf", &set, &err);

	if (rc)
		fail_msg("'%s' did not parse: %d:%d '%s' %s", text, err.line, err.col, err.text,
			 err.msg);
	assert_non_null(set);
	return set;
}

/* The only rule of a one-line text. */
static struct rules_set *parse_rule(const char *text, const struct rule **rule)
{
	struct rules_set *set = parse_ok(text);

	assert_int_equal(set->nblocks, 1);
	assert_int_equal(set->blocks[0].nrules, 1);
	*rule = &set->blocks[0].rules[0];
	return set;
}

static void expect_error_len(const char *text, size_t len, int line, int col, const char *etext,
			     const char *msg)
{
	struct rules_set *set = (struct rules_set *)1;
	struct rules_error err;
	int rc = rules_parse_string(text, len, "bad.conf", &set, &err);

	if (rc != -EINVAL)
		fail_msg("'%s': expected -EINVAL, got %d", text, rc);
	assert_null(set);
	assert_string_equal(err.file, "bad.conf");
	if (err.line != line || err.col != col || strcmp(err.text, etext) || strcmp(err.msg, msg))
		fail_msg("'%s':\n got      %d:%d '%s' %s\n expected %d:%d '%s' %s", text, err.line,
			 err.col, err.text, err.msg, line, col, etext, msg);
}

static void expect_error(const char *text, int line, int col, const char *etext, const char *msg)
{
	expect_error_len(text, strlen(text), line, col, etext, msg);
}

static void format(const struct rule_endpoint *e, char *buf)
{
	rules_format_endpoint(e, buf, 64);
}

static void v4(uint8_t out[16], const char *text)
{
	memset(out, 0, 16);
	out[10] = out[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, text, out + 12), 1);
}

static void v6(uint8_t out[16], const char *text)
{
	assert_int_equal(inet_pton(AF_INET6, text, out), 1);
}

/* ---- the forms of a rule ---- */

struct addr_form {
	const char *text, *printed;
	int v4;          /* 1 IPv4, 0 IPv6, -1 any */
	const char *net; /* normalised address */
	int prefix;
};

static const struct addr_form addr_forms[] = {
	{ "*", "*", -1, NULL, 0 },
	{ "10.1.2.3", "10.1.2.3", 1, "10.1.2.3", 128 },
	{ "10.1.2.3/16", "10.1.0.0/16", 1, "10.1.0.0", 112 },
	{ "[2001:db8::1]", "[2001:db8::1]", 0, "2001:db8::1", 128 },
	{ "[2001:db8:ff::1]/40", "[2001:db8::]/40", 0, "2001:db8::", 40 },
};

struct port_form {
	const char *text;
	uint16_t lo, hi;
};

static const struct port_form port_forms[] = {
	{ "*", 0, 65535 },
	{ "80", 80, 80 },
	{ "80-90", 80, 90 },
};

static void check_endpoint(const struct rule_endpoint *e, const struct addr_form *a,
			   const struct port_form *p)
{
	uint8_t net[16] = { 0 };
	char printed[64], want[64];

	if (a->v4 == 1)
		v4(net, a->net);
	else if (a->v4 == 0)
		v6(net, a->net);
	assert_memory_equal(e->addr.addr, net, 16);
	assert_int_equal(e->addr.prefix, a->prefix);
	assert_int_equal(e->addr.is_v4, a->v4 == 1);
	assert_int_equal(e->ports.lo, p->lo);
	assert_int_equal(e->ports.hi, p->hi);
	format(e, printed);
	snprintf(want, sizeof(want), "%s:%s", a->printed, p->text);
	assert_string_equal(printed, want);
}

static void check_any(const struct rule_endpoint *e)
{
	check_endpoint(e, &addr_forms[0], &port_forms[0]);
}

static void test_every_role_address_and_port(void **state)
{
	(void)state;
	for (int role = 0; role < ROLE_COUNT; role++) {
		/* the written pair is the remote end for these (udp_sender: the
		 * destination, as libvma reads it) */
		int connecting = role == ROLE_TCP_CLIENT || role == ROLE_UDP_CONNECT ||
				 role == ROLE_UDP_SENDER;
		for (size_t a = 0; a < sizeof(addr_forms) / sizeof(addr_forms[0]); a++) {
			for (size_t p = 0; p < sizeof(port_forms) / sizeof(port_forms[0]); p++) {
				char text[128];
				const struct rule *r;
				struct rules_set *set;
				snprintf(text, sizeof(text), "use os %s %s:%s\n",
					 rules_role_name((enum rule_role)role), addr_forms[a].text,
					 port_forms[p].text);
				set = parse_rule(text, &r);
				assert_int_equal(r->role, role);
				assert_int_equal(r->transport, RULE_OS);
				check_endpoint(connecting ? &r->remote : &r->local, &addr_forms[a],
					       &port_forms[p]);
				check_any(connecting ? &r->local : &r->remote);
				assert_ptr_equal(r->file, set->file);
				assert_string_equal(r->file, "test.conf");
				assert_int_equal(r->line, 1);
				assert_int_equal(r->col, 1);
				rules_free(set);
			}
		}
	}
}

/* tcp_client and udp_connect: remote end first, then the local end. */
static void test_second_pair_is_local(void **state)
{
	static const char *const roles[] = { "tcp_client", "udp_connect" };

	(void)state;
	for (int i = 0; i < 2; i++) {
		for (size_t a = 0; a < sizeof(addr_forms) / sizeof(addr_forms[0]); a++) {
			for (size_t p = 0; p < sizeof(port_forms) / sizeof(port_forms[0]); p++) {
				const struct addr_form *ra = &addr_forms[(a + 1) % 5];
				const struct port_form *rp = &port_forms[(p + 1) % 3];
				char text[160];
				const struct rule *r;
				struct rules_set *set;
				snprintf(text, sizeof(text), "use accel %s %s:%s:%s:%s", roles[i],
					 ra->text, rp->text, addr_forms[a].text,
					 port_forms[p].text);
				set = parse_rule(text, &r);
				check_endpoint(&r->remote, ra, rp);
				check_endpoint(&r->local, &addr_forms[a], &port_forms[p]);
				rules_free(set);
			}
		}
	}
}

static void test_transports(void **state)
{
	static const struct {
		const char *word;
		enum rule_transport t;
	} cases[] = {
		{ "accel", RULE_ACCEL },
		{ "os", RULE_OS },
		{ "xlio", RULE_ACCEL },
		{ "vma", RULE_ACCEL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[64];
		const struct rule *r;
		struct rules_set *set;
		snprintf(text, sizeof(text), "use %s tcp_server *:80", cases[i].word);
		set = parse_rule(text, &r);
		assert_int_equal(r->transport, cases[i].t);
		rules_free(set);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(rules_role_name(ROLE_TCP_SERVER), "tcp_server");
	assert_string_equal(rules_role_name(ROLE_TCP_CLIENT), "tcp_client");
	assert_string_equal(rules_role_name(ROLE_UDP_RECEIVER), "udp_receiver");
	assert_string_equal(rules_role_name(ROLE_UDP_SENDER), "udp_sender");
	assert_string_equal(rules_role_name(ROLE_UDP_CONNECT), "udp_connect");
	assert_string_equal(rules_role_name(ROLE_COUNT), "?");
	assert_string_equal(rules_transport_name(RULE_ACCEL), "accel");
	assert_string_equal(rules_transport_name(RULE_OS), "os");
	assert_string_equal(rules_transport_name((enum rule_transport)7), "?");
}

/* ---- layout: comments, blanks, white space ---- */

static void test_comments_blanks_and_space(void **state)
{
	static const char text[] =
		"# a comment line\n"
		"\n"
		"   \t  \n"
		"\t# indented comment\n"
		"  use\tos  \ttcp_server   10.0.0.1 / 8 : 80 - 90   # trailing comment\r\n"
		"use os udp_sender [::1]/64:*#no space before it\n"
		"   \n"
		"use os udp_receiver *:5000"; /* no newline at the end */
	struct rules_set *set = parse_ok(text);
	const struct rule_block *b = &set->blocks[0];
	char buf[64];

	(void)state;
	assert_int_equal(set->nblocks, 1);
	assert_int_equal(b->nrules, 3);
	assert_int_equal(b->rules[0].line, 5);
	assert_int_equal(b->rules[0].col, 3);
	format(&b->rules[0].local, buf);
	assert_string_equal(buf, "10.0.0.0/8:80-90");
	assert_int_equal(b->rules[1].line, 6);
	format(&b->rules[1].remote, buf); /* udp_sender: the destination */
	assert_string_equal(buf, "[::]/64:*");
	assert_int_equal(b->rules[2].line, 8);
	assert_int_equal(b->rules[2].role, ROLE_UDP_RECEIVER);
	rules_free(set);
}

static void test_empty_inputs(void **state)
{
	static const char *const texts[] = { "", "\n", "# only a comment", "\n\n  \t\r\n# x\n" };
	struct rules_set *set;
	struct rules_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		set = parse_ok(texts[i]);
		assert_int_equal(set->nblocks, 0);
		assert_null(set->blocks);
		rules_free(set);
	}
	/* a NULL text is empty; no error struct is needed; the name defaults */
	assert_int_equal(rules_parse_string(NULL, 5, NULL, &set, NULL), 0);
	assert_string_equal(set->file, "(string)");
	rules_free(set);
	assert_int_equal(rules_parse_string("x", 1, NULL, &set, NULL), -EINVAL);
	assert_null(set);
	/* only len bytes are read */
	assert_int_equal(rules_parse_string("use os tcp_server *:1 junk", 21, "n", &set, &err), 0);
	rules_free(set);
	rules_free(NULL);
}

/* ---- application-id blocks ---- */

static void test_blocks(void **state)
{
	static const char text[] =
		"use os udp_connect *:53\n"            /* implicit */
		"application-id db2* *\n"              /* line 2 */
		"use accel tcp_client 192.168.1.0/24:*:*:*\n"
		"application-id t?cp B1   # ttcp\n"    /* line 4 */
		"use os tcp_server *:5001\n"
		"application-id [abc]x 42\n"           /* line 6: empty block */
		"application-id db2* *\n"              /* continues the block of line 2 */
		"use os udp_sender *:9\n";
	struct rules_set *set = parse_ok(text);
	const struct rule_block *b = set->blocks;

	(void)state;
	assert_int_equal(set->nblocks, 4);
	assert_string_equal(b[0].program, "db2*");
	assert_string_equal(b[0].app_id, "*");
	assert_int_equal(b[0].line, 2);
	assert_int_equal(b[0].nrules, 2);
	assert_int_equal(b[0].rules[0].line, 3);
	assert_int_equal(b[0].rules[1].line, 8);
	assert_string_equal(b[1].program, "t?cp");
	assert_string_equal(b[1].app_id, "B1");
	assert_int_equal(b[1].line, 4);
	assert_int_equal(b[1].nrules, 1);
	assert_string_equal(b[2].program, "[abc]x");
	assert_string_equal(b[2].app_id, "42");
	assert_int_equal(b[2].line, 6);
	assert_int_equal(b[2].nrules, 0);
	/* the implicit block comes last */
	assert_string_equal(b[3].program, "*");
	assert_string_equal(b[3].app_id, "*");
	assert_int_equal(b[3].line, 0);
	assert_int_equal(b[3].nrules, 1);
	assert_int_equal(b[3].rules[0].role, ROLE_UDP_CONNECT);
	rules_free(set);

	/* no rule before the first application-id: no implicit block */
	set = parse_ok("application-id * *\nuse os tcp_server *:1\n");
	assert_int_equal(set->nblocks, 1);
	assert_int_equal(set->blocks[0].line, 1);
	rules_free(set);
}

/* Many distinct blocks (the index that finds repeated ones grows). */
static void test_many_blocks(void **state)
{
	size_t size = 200 * 64, len = 0;
	char *text = malloc(size);
	struct rules_set *set;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(text + len, size - len,
					"application-id p%d id%d\nuse os tcp_server *:%d\n", i,
					i, i + 1);
	for (int i = 99; i >= 0; i--)
		len += (size_t)snprintf(text + len, size - len,
					"application-id p%d id%d\nuse os udp_sender *:%d\n", i,
					i, i + 1);
	set = parse_ok(text);
	assert_int_equal(set->nblocks, 100);
	for (int i = 0; i < 100; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%d", i);
		assert_string_equal(set->blocks[i].program, name);
		assert_int_equal(set->blocks[i].nrules, 2);
		assert_int_equal(set->blocks[i].rules[1].role, ROLE_UDP_SENDER);
	}
	rules_free(set);
	free(text);
}

/* ---- printing back ---- */

static void test_format_round_trip(void **state)
{
	static const char *const canonical[] = {
		"*:*", "*:1", "*:65535", "*:1-65535", "0.0.0.0/0:*", "255.255.255.255:80",
		"10.0.0.0/8:1000-2000", "192.168.1.128/25:22", "[::1]:80", "[::]/1:*",
		"[2001:db8::]/32:443", "[fe80::1:2]/127:5-6",
		"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
		"[::ffff:1.2.3.4]:7",
	};
	static const struct {
		const char *in, *out;
	} normalised[] = {
		{ "10.1.2.3/8:80-80", "10.0.0.0/8:80" },
		{ "10.1.2.3/32:*", "10.1.2.3:*" },
		{ "10.1.2.3/0:*", "0.0.0.0/0:*" },
		{ "[::1]/128:1", "[::1]:1" },
		{ "[::1]/0:1", "*:1" },
		{ "[2001:DB8::FF]/120:2", "[2001:db8::]/120:2" },
		{ "001.002.003.004:0005", "1.2.3.4:5" },
	};
	char text[128], buf[64];
	const struct rule *r;
	struct rules_set *set;

	(void)state;
	for (size_t i = 0; i < sizeof(canonical) / sizeof(canonical[0]); i++) {
		snprintf(text, sizeof(text), "use os tcp_server %s", canonical[i]);
		set = parse_rule(text, &r);
		format(&r->local, buf);
		assert_string_equal(buf, canonical[i]);
		rules_free(set);
	}
	for (size_t i = 0; i < sizeof(normalised) / sizeof(normalised[0]); i++) {
		snprintf(text, sizeof(text), "use os udp_receiver %s", normalised[i].in);
		set = parse_rule(text, &r);
		format(&r->local, buf);
		assert_string_equal(buf, normalised[i].out);
		rules_free(set);
	}

	/* short buffers are cut and terminated; size 0 writes nothing */
	set = parse_rule("use os tcp_server 10.0.0.0/8:80", &r);
	memset(buf, 'x', sizeof(buf));
	rules_format_endpoint(&r->local, buf, 5);
	assert_string_equal(buf, "10.0");
	rules_format_endpoint(&r->local, buf, 0);
	assert_int_equal(buf[0], '1');
	rules_free(set);
}

/* ---- matching addresses ---- */

static void test_addr_match(void **state)
{
	struct rule_addr pat;
	uint8_t a[16];
	const struct rule *r;
	struct rules_set *set;

	(void)state;
	/* any: matches IPv4 (mapped) and IPv6 */
	set = parse_rule("use os tcp_server *:*", &r);
	v4(a, "1.2.3.4");
	assert_true(rules_addr_match(&r->local.addr, a));
	v6(a, "2001:db8::1");
	assert_true(rules_addr_match(&r->local.addr, a));
	rules_free(set);

	/* an IPv4 network */
	set = parse_rule("use os tcp_server 192.168.1.77/24:*", &r);
	v4(a, "192.168.1.1");
	assert_true(rules_addr_match(&r->local.addr, a));
	v4(a, "192.168.1.255");
	assert_true(rules_addr_match(&r->local.addr, a));
	v4(a, "192.168.2.1");
	assert_false(rules_addr_match(&r->local.addr, a));
	v6(a, "::192.168.1.1"); /* IPv4-compatible, not mapped */
	assert_false(rules_addr_match(&r->local.addr, a));
	rules_free(set);

	/* a prefix inside a byte */
	set = parse_rule("use os tcp_server 10.16.0.0/12:*", &r);
	v4(a, "10.31.255.255");
	assert_true(rules_addr_match(&r->local.addr, a));
	v4(a, "10.32.0.0");
	assert_false(rules_addr_match(&r->local.addr, a));
	v4(a, "10.15.255.255");
	assert_false(rules_addr_match(&r->local.addr, a));
	rules_free(set);

	/* /32 is one host; 0.0.0.0/0 is every IPv4 address but no IPv6 one */
	set = parse_ok("use os tcp_server 10.0.0.1/32:*\nuse os tcp_server 0.0.0.0/0:*\n");
	pat = set->blocks[0].rules[0].local.addr;
	v4(a, "10.0.0.1");
	assert_true(rules_addr_match(&pat, a));
	v4(a, "10.0.0.2");
	assert_false(rules_addr_match(&pat, a));
	pat = set->blocks[0].rules[1].local.addr;
	v4(a, "203.0.113.9");
	assert_true(rules_addr_match(&pat, a));
	v6(a, "2001:db8::1");
	assert_false(rules_addr_match(&pat, a));
	rules_free(set);

	/* IPv6: /128, /67, and the mapped form written as IPv6 */
	set = parse_ok("use os tcp_server [2001:db8::5]:*\n"
		       "use os tcp_server [2001:db8:0:0:e000::]/67:*\n"
		       "use os tcp_server [::ffff:10.0.0.0]/104:*\n");
	pat = set->blocks[0].rules[0].local.addr;
	v6(a, "2001:db8::5");
	assert_true(rules_addr_match(&pat, a));
	v6(a, "2001:db8::4");
	assert_false(rules_addr_match(&pat, a));
	pat = set->blocks[0].rules[1].local.addr;
	v6(a, "2001:db8::f000:0:0:1");
	assert_true(rules_addr_match(&pat, a));
	v6(a, "2001:db8::c000:0:0:1");
	assert_false(rules_addr_match(&pat, a));
	pat = set->blocks[0].rules[2].local.addr;
	v4(a, "10.200.0.1");
	assert_true(rules_addr_match(&pat, a));
	v4(a, "11.0.0.1");
	assert_false(rules_addr_match(&pat, a));
	rules_free(set);

	/* a hand-made pattern with a prefix over 128 is treated as 128 */
	memset(&pat, 0, sizeof(pat));
	pat.prefix = 200;
	memset(a, 0, sizeof(a));
	assert_true(rules_addr_match(&pat, a));
	a[15] = 1;
	assert_false(rules_addr_match(&pat, a));
}

/* ---- errors: first one, exact place, text and message ---- */

#define ROLES "tcp_server, tcp_client, udp_receiver, udp_sender or udp_connect"

static void test_errors_words(void **state)
{
	(void)state;
	expect_error("use acel tcp_server *:80", 1, 5, "acel",
		     "unknown transport 'acel': expected accel, os, xlio or vma");
	expect_error("use ACCEL tcp_server *:80", 1, 5, "ACCEL",
		     "unknown transport 'ACCEL': expected accel, os, xlio or vma "
		     "(keywords are lower case)");
	expect_error("use sdp tcp_server *:80", 1, 5, "sdp",
		     "transport 'sdp' is a libvma transport that libaccel does not have: "
		     "use accel or os");
	expect_error("use sa tcp_client *:80", 1, 5, "sa",
		     "transport 'sa' is a libvma transport that libaccel does not have: "
		     "use accel or os");
	expect_error("use * tcp_server *:80", 1, 5, "*",
		     "unexpected '*': expected a transport (accel, os, xlio or vma)");
	expect_error("use os tcp_srv *:80", 1, 8, "tcp_srv",
		     "unknown role 'tcp_srv': expected " ROLES);
	expect_error("use os TCP_Server *:80", 1, 8, "TCP_Server",
		     "unknown role 'TCP_Server': expected " ROLES " (keywords are lower case)");
	expect_error("use os tcp *:80", 1, 8, "tcp", "unknown role 'tcp': expected " ROLES);
	expect_error("uses os tcp_server *:80", 1, 1, "uses",
		     "unknown statement 'uses': expected use or application-id");
	expect_error("  Use os tcp_server *:80", 1, 3, "Use",
		     "unknown statement 'Use': expected use or application-id "
		     "(keywords are lower case)");
	expect_error("APPLICATION-ID * *", 1, 1, "APPLICATION-ID",
		     "unknown statement 'APPLICATION-ID': expected use or application-id "
		     "(keywords are lower case)");
	expect_error("log destination stderr min-level 9", 1, 1, "log",
		     "'log' statements of libxlio.conf are not supported: "
		     "set ACCEL_TRACELEVEL and ACCEL_LOG_FILE instead");
	expect_error("42 use", 1, 1, "42",
		     "unexpected '42': expected a statement (use or application-id)");
	expect_error("use os tcp_server *:80 # fine\n\n  use  os tcp_server *:80 tcp", 3, 27, "tcp",
		     "unexpected 'tcp': expected end of line");
	expect_error("use use tcp_server *:80", 1, 5, "use",
		     "unexpected 'use': expected a transport (accel, os, xlio or vma)");
	expect_error("application-id a b c", 1, 20, "c", "unexpected 'c': expected end of line");
}

static void test_errors_addresses(void **state)
{
	(void)state;
	expect_error("use os tcp_server 1.2.3.256:80", 1, 19, "1.2.3.256",
		     "bad IPv4 address '1.2.3.256': expected four numbers 0-255 separated by dots");
	expect_error("use os tcp_server 1.2.3:80", 1, 19, "1.2.3",
		     "bad IPv4 address '1.2.3': expected four numbers 0-255 separated by dots");
	expect_error("use os tcp_server 1.2.3.4.5:80", 1, 19, "1.2.3.4.5",
		     "bad IPv4 address '1.2.3.4.5': expected four numbers 0-255 separated by dots");
	expect_error("use os tcp_server 99999999999.1.1.1:80", 1, 19, "99999999999.1.1.1",
		     "bad IPv4 address '99999999999.1.1.1': expected four numbers 0-255 separated "
		     "by dots");
	expect_error("use os tcp_server 10.0.0.0/33:80", 1, 28, "33",
		     "prefix length 33 out of range 0-32 for an IPv4 address");
	expect_error("use os tcp_server [::1]/129:80", 1, 25, "129",
		     "prefix length 129 out of range 0-128 for an IPv6 address");
	expect_error("use os tcp_server [::1]/99999999999999999999:80", 1, 25,
		     "99999999999999999999",
		     "prefix length 99999999999999999999 out of range 0-128 for an IPv6 address");
	expect_error("use os tcp_server [::g]:80", 1, 19, "[::g]", "bad IPv6 address '[::g]'");
	expect_error("use os tcp_server []:80", 1, 19, "[]", "bad IPv6 address '[]'");
	expect_error("use os tcp_server [fe80::1%eth0]:80", 1, 19, "[fe80::1%eth0]",
		     "bad IPv6 address '[fe80::1%eth0]'");
	expect_error("use os tcp_server [1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16]:80", 1, 19,
		     "[1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16]",
		     "bad IPv6 address '[1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16]'");
	expect_error("use os tcp_server [10.0.0.1]:80", 1, 19, "[10.0.0.1]",
		     "IPv4 address in brackets '[10.0.0.1]': write IPv4 addresses without [ ]");
	expect_error("use os tcp_server [::1:80", 1, 19, "[::1:80",
		     "unterminated '[' in '[::1:80': expected ']' after the IPv6 address");
	expect_error("use os tcp_server [::1 ]:80", 1, 19, "[::1",
		     "unterminated '[' in '[::1': expected ']' after the IPv6 address");
	expect_error("use os tcp_server [::1#]:80", 1, 19, "[::1",
		     "unterminated '[' in '[::1': expected ']' after the IPv6 address");
	expect_error("use os tcp_server ::1:80", 1, 19, ":",
		     "unexpected ':': expected an address (*, IPv4[/len] or [IPv6][/len])");
	expect_error("use os tcp_server localhost:80", 1, 19, "localhost",
		     "unexpected 'localhost': expected an address (*, IPv4[/len] or [IPv6][/len])");
	expect_error("use os tcp_server 80", 1, 19, "80",
		     "unexpected '80': expected an address (*, IPv4[/len] or [IPv6][/len])");
	expect_error("use os tcp_server */8:80", 1, 20, "/",
		     "unexpected '/': expected ':' and ports after the address");
	expect_error("use os tcp_server 1.2.3.4 80", 1, 27, "80",
		     "unexpected '80': expected ':' and ports after the address");
	expect_error("use os tcp_server 1.2.3.4/x:80", 1, 27, "x",
		     "unexpected 'x': expected a prefix length 0-32");
	expect_error("use os tcp_server [::]/*:80", 1, 24, "*",
		     "unexpected '*': expected a prefix length 0-128");
}

static void test_errors_ports(void **state)
{
	(void)state;
	expect_error("use os tcp_server *:70000", 1, 21, "70000",
		     "port 70000 out of range 1-65535");
	expect_error("use os tcp_server *:65536", 1, 21, "65536",
		     "port 65536 out of range 1-65535");
	expect_error("use os tcp_server *:0", 1, 21, "0", "port 0 out of range 1-65535");
	expect_error("use os tcp_server *:000", 1, 21, "000", "port 000 out of range 1-65535");
	expect_error("use os tcp_server *:123456789012345678901234567890", 1, 21,
		     "123456789012345678901234567890",
		     "port 123456789012345678901234567890 out of range 1-65535");
	expect_error("use os tcp_server *:80-0", 1, 24, "0", "port 0 out of range 1-65535");
	expect_error("use os tcp_server *:80-65536", 1, 24, "65536",
		     "port 65536 out of range 1-65535");
	expect_error("use os tcp_server *:90-80", 1, 21, "90-80",
		     "port range 90-80 is reversed: expected N-M with N <= M");
	expect_error("use os tcp_server *:90 - 80", 1, 21, "90 - 80",
		     "port range 90 - 80 is reversed: expected N-M with N <= M");
	expect_error("use os tcp_server *:80-*", 1, 24, "*",
		     "unexpected '*': expected the last port of the range");
	expect_error("use os tcp_server *:http", 1, 21, "http",
		     "unexpected 'http': expected ports (*, N or N-M)");
	expect_error("use os tcp_server *:-5", 1, 21, "-",
		     "unexpected '-': expected ports (*, N or N-M)");
	expect_error("use os tcp_server *:1.5", 1, 21, "1.5",
		     "unexpected '1.5': expected ports (*, N or N-M)");
}

static void test_errors_pairs(void **state)
{
	(void)state;
	expect_error("use accel tcp_server *:80:*:81", 1, 27, "*:81",
		     "role 'tcp_server' takes one address:ports pair (its local end): a second "
		     "pair is only for tcp_client and udp_connect");
	expect_error("use accel udp_receiver 1.2.3.4:5:10.0.0.0/8:1-9", 1, 34, "10.0.0.0/8:1-9",
		     "role 'udp_receiver' takes one address:ports pair (its local end): a second "
		     "pair is only for tcp_client and udp_connect");
	expect_error("use accel udp_sender *:1 : [::1] : 2", 1, 28, "[::1] : 2",
		     "role 'udp_sender' takes one address:ports pair (its destination): a second "
		     "pair is only for tcp_client and udp_connect");
	expect_error("use accel tcp_client *:80:*:81:*:82", 1, 31, ":",
		     "unexpected ':': expected end of line");
	expect_error("use accel udp_connect *:80 *:81", 1, 28, "*",
		     "unexpected '*': expected end of line, or ':' and the local address:ports");
	expect_error("use accel tcp_server *:80 *:81", 1, 27, "*",
		     "unexpected '*': expected end of line");
}

static void test_errors_missing(void **state)
{
	(void)state;
	expect_error("use", 1, 4, "", "missing a transport (accel, os, xlio or vma)");
	expect_error("use accel\n", 1, 10, "", "missing a role (" ROLES ")");
	expect_error("use accel tcp_server   ", 1, 24, "",
		     "missing an address (*, IPv4[/len] or [IPv6][/len])");
	expect_error("use accel tcp_server * # no ports\n", 1, 34, "",
		     "missing ':' and ports after the address");
	expect_error("use accel tcp_server *:\n", 1, 24, "", "missing ports (*, N or N-M)");
	expect_error("use accel tcp_server 1.2.3.4/\n", 1, 30, "", "missing a prefix length 0-32");
	expect_error("use accel tcp_server [::1]/", 1, 28, "", "missing a prefix length 0-128");
	expect_error("use accel tcp_server *:80-\r\n", 1, 28, "",
		     "missing the last port of the range");
	expect_error("use accel tcp_client *:80:", 1, 27, "",
		     "missing an address (*, IPv4[/len] or [IPv6][/len])");
	expect_error("use accel tcp_client *:80:*", 1, 28, "",
		     "missing ':' and ports after the address");
	expect_error("application-id", 1, 15, "", "missing a program name (a glob, or *)");
	expect_error("application-id\tfoo # then nothing", 1, 34, "",
		     "missing an application id (or *)");
}

static void test_errors_characters(void **state)
{
	static const char nul[] = "use os tcp_server *:80\0\n";

	(void)state;
	expect_error("use os tcp_server *:80\n$", 2, 1, "$",
		     "unexpected character '$': expected a statement (use or application-id)");
	expect_error("use os tcp_server *:80;", 1, 23, ";",
		     "unexpected character ';': expected end of line");
	expect_error_len(nul, sizeof(nul) - 1, 1, 23, "\\x00",
			 "unexpected character '\\x00': expected end of line");
	expect_error("use os tcp_s\xc3\xa9rver *:80", 1, 8, "tcp_s",
		     "unknown role 'tcp_s': expected " ROLES);
	expect_error("\xef\xbb\xbfuse os tcp_server *:80", 1, 1, "\\xef",
		     "unexpected character '\\xef': expected a statement (use or application-id)");
	expect_error("use os tcp_server 1.2.3.4,80", 1, 26, ",",
		     "unexpected character ',': expected ':' and ports after the address");
}

/* The first error in the text is the one reported, even with later ones. */
static void test_first_error_wins(void **state)
{
	(void)state;
	expect_error("use acel tcp_srv *:70000 $", 1, 5, "acel",
		     "unknown transport 'acel': expected accel, os, xlio or vma");
	expect_error("use os tcp_server *:80:*:81 $", 1, 24, "*:81",
		     "role 'tcp_server' takes one address:ports pair (its local end): a second "
		     "pair is only for tcp_client and udp_connect");
	expect_error("use os tcp_server *:90-80$", 1, 21, "90-80",
		     "port range 90-80 is reversed: expected N-M with N <= M");
	expect_error("use os tcp_server *:70000-$", 1, 21, "70000",
		     "port 70000 out of range 1-65535");
	expect_error("use os tcp_server 1.2.3.4/40 [", 1, 27, "40",
		     "prefix length 40 out of range 0-32 for an IPv4 address");
	expect_error("use os tcp_server *:1\nuse os tcp_server *:2\nfoo\nbar", 3, 1, "foo",
		     "unknown statement 'foo': expected use or application-id");
}

/* Long tokens are cut in err->text and in the message, never overflow. */
static void test_errors_long_text(void **state)
{
	char text[1200], word[1001];
	struct rules_set *set;
	struct rules_error err;

	(void)state;
	memset(word, 'q', 1000);
	word[1000] = '\0';
	snprintf(text, sizeof(text), "use %s tcp_server *:80", word);
	assert_int_equal(rules_parse_string(text, strlen(text), "long.conf", &set, &err), -EINVAL);
	assert_int_equal(err.col, 5);
	assert_true(strlen(err.text) < sizeof(err.text));
	assert_memory_equal(err.text, word, 100);
	assert_string_equal(err.text + strlen(err.text) - 3, "...");
	assert_non_null(strstr(err.msg, "expected accel, os, xlio or vma"));
	assert_non_null(strstr(err.msg, "unknown transport 'qqqq"));
}

/* ---- files ---- */

static void test_files(void **state)
{
	char dir[] = "/tmp/accel-rules-XXXXXX", path[64];
	struct rules_set *set = NULL;
	struct rules_error err;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/libaccel.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("application-id * *\nuse os udp_connect *:53\n", f);
	fclose(f);
	assert_int_equal(rules_parse_file(path, &set, &err), 0);
	assert_string_equal(set->file, path);
	assert_ptr_equal(set->blocks[0].rules[0].file, set->file);
	rules_free(set);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("use os udp_connect *:53\nuse os udp_connect *:0\n", f);
	fclose(f);
	assert_int_equal(rules_parse_file(path, &set, &err), -EINVAL);
	assert_null(set);
	assert_string_equal(err.file, path);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 22);

	assert_int_equal(rules_parse_file(dir, &set, &err), -EISDIR);
	assert_null(set);
	assert_string_equal(err.file, dir);
	assert_string_equal(err.msg, "cannot read rules file: Is a directory");
	assert_int_equal(err.line, 0);

	unlink(path);
	assert_int_equal(rules_parse_file(path, &set, &err), -ENOENT);
	assert_null(set);
	assert_string_equal(err.msg, "cannot read rules file: No such file or directory");
	assert_int_equal(rules_parse_file(path, &set, NULL), -ENOENT);
	rmdir(dir);
}

/* ---- size ---- */

static char *many_rules(int n, size_t *len)
{
	size_t size = (size_t)n * 80 + 64, o = 0;
	char *text = malloc(size);

	assert_non_null(text);
	o += (size_t)snprintf(text + o, size - o, "# %d rules\n", n);
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, size - o, "use %s %s 10.%d.%d.0/24:%d-%d\n",
				      i % 2 ? "os" : "accel",
				      rules_role_name((enum rule_role)(i % 5)),
				      (i >> 8) & 255, i & 255, i % 60000 + 1, i % 60000 + 100);
	*len = o;
	return text;
}

static void test_large_file(void **state)
{
	size_t len;
	char *text = many_rules(10000, &len);
	struct rules_set *set;
	struct rules_error err;
	const struct rule *last;
	char buf[64];

	(void)state;
	assert_int_equal(rules_parse_string(text, len, "big.conf", &set, &err), 0);
	assert_int_equal(set->nblocks, 1);
	assert_int_equal(set->blocks[0].nrules, 10000);
	last = &set->blocks[0].rules[9999];
	assert_int_equal(last->line, 10001);
	assert_int_equal(last->role, 9999 % 5);
	format(9999 % 5 == ROLE_TCP_CLIENT || 9999 % 5 == ROLE_UDP_CONNECT ? &last->remote
									     : &last->local,
	       buf);
	assert_string_equal(buf, "10.39.15.0/24:10000-10099");
	rules_free(set);
	free(text);
}

/* Parsers share nothing: threads parsing at once get the same answers. */
static void *parse_often(void *arg)
{
	const char *text = arg;

	for (int i = 0; i < 50; i++) {
		struct rules_set *set;
		struct rules_error err;
		if (rules_parse_string(text, strlen(text), "t", &set, &err) != 0)
			return (void *)1;
		if (set->blocks[0].nrules != 1000)
			return (void *)2;
		rules_free(set);
		if (rules_parse_string("use os x *:1", 12, "t", &set, &err) != -EINVAL ||
		    err.col != 8)
			return (void *)3;
	}
	return NULL;
}

static void test_threads(void **state)
{
	size_t len;
	char *text = many_rules(1000, &len);
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, parse_often, text), 0);
	for (int i = 0; i < 4; i++) {
		void *result;
		assert_int_equal(pthread_join(t[i], &result), 0);
		assert_null(result);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_role_address_and_port),
		cmocka_unit_test(test_second_pair_is_local),
		cmocka_unit_test(test_transports),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_comments_blanks_and_space),
		cmocka_unit_test(test_empty_inputs),
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_many_blocks),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_addr_match),
		cmocka_unit_test(test_errors_words),
		cmocka_unit_test(test_errors_addresses),
		cmocka_unit_test(test_errors_ports),
		cmocka_unit_test(test_errors_pairs),
		cmocka_unit_test(test_errors_missing),
		cmocka_unit_test(test_errors_characters),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_errors_long_text),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_large_file),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
