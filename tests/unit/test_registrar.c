/* test_registrar.c: REGISTER processing (RFC 3261 section 10.3) against the memory and SQLite stores, look-up order, sweep, reload. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "core/buf.h"
#include "core/err.h"
#include "registrar/registrar.h"
#include "sip/msg.h"
#include "store/store.h"
#include "testutil.h"

#define AOR "sip:alice@ssp-a.test"
#define NOW 1000000u

struct reply_rec {
	uint16_t status;
	char reason[64];
	uint32_t min_expires, retry_after;
	size_t n;
	char contact[16][96];
	uint32_t expires[16];
	uint16_t q[16];
	char path[256];
	char hdrs[4096];
};

struct ctx {
	struct sp_store *st;
	struct sp_registrar *reg;
	struct reply_rec r[8];
	size_t nreplies;
	struct sp_msg msg;
	char buf[4096];
	unsigned branch;
	bool unvalidated; /* skip sp_msg_validate: feed what the validator would refuse */
};

static void on_reply(const struct sp_registrar_reply *reply, void *arg)
{
	struct ctx *c = arg;
	assert_true(c->nreplies < 8);
	struct reply_rec *r = &c->r[c->nreplies++];
	memset(r, 0, sizeof(*r));
	r->status = reply->status;
	snprintf(r->reason, sizeof(r->reason), "%s", reply->reason);
	r->min_expires = reply->min_expires;
	r->retry_after = reply->retry_after;
	r->n = reply->ncontacts;
	for (size_t i = 0; i < reply->ncontacts && i < 16; i++) {
		snprintf(r->contact[i], sizeof(r->contact[i]), "%.*s",
			 SP_STR_FMT(reply->contacts[i].contact));
		r->expires[i] = reply->contacts[i].expires;
		r->q[i] = reply->contacts[i].q;
	}
	snprintf(r->path, sizeof(r->path), "%.*s", SP_STR_FMT(reply->path));
	struct sp_buf b;
	sp_buf_init(&b, sizeof(r->hdrs) - 1);
	assert_int_equal(sp_registrar_reply_headers(reply, &b), 0);
	if (b.len)
		memcpy(r->hdrs, b.p, b.len);
	r->hdrs[b.len] = '\0';
	sp_buf_free(&b);
}

static void ctx_open(struct ctx *c, const char *spec, const struct sp_registrar_conf *conf)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(sp_store_open(spec, NULL, &c->st), 0);
	assert_int_equal(sp_registrar_create(conf, c->st, &c->reg), 0);
}

static void ctx_close(struct ctx *c)
{
	sp_store_close(c->st);
	sp_registrar_destroy(c->reg);
}

/* Dispatches store completions until want replies arrived, at most 10 s. */
static void wait_replies(struct ctx *c, size_t want)
{
	for (int i = 0; i < 1000 && c->nreplies < want; i++) {
		struct pollfd pfd = { .fd = sp_store_fd(c->st), .events = POLLIN };
		if (poll(&pfd, 1, 10) > 0)
			sp_store_dispatch(c->st);
	}
	assert_int_equal(c->nreplies, want);
}

static struct sp_dest source(void)
{
	struct sp_dest d = { .proto = SP_PROTO_UDP, .listener = 0 };
	d.addr.u.in.sin_family = AF_INET;
	d.addr.u.in.sin_port = htons(5062);
	d.addr.u.in.sin_addr.s_addr = htonl(0x7f000001);
	d.addr.len = sizeof(d.addr.u.in);
	return d;
}

/* Sends one REGISTER for aor without waiting; extra is header lines, each
 * ending in CRLF. */
static void send_reg(struct ctx *c, const char *aor, const char *call_id, unsigned cseq,
		     const char *extra, uint64_t now)
{
	struct sp_sip_error err;
	struct sp_dest src = source();
	int n = snprintf(c->buf, sizeof(c->buf),
			 "REGISTER sip:ssp-a.test SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-%u\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <%s>;tag=f1\r\n"
			 "To: <%s>\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u REGISTER\r\n"
			 "User-Agent: test-ua/1.0\r\n"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 c->branch++, aor, aor, call_id, cseq, extra);
	assert_true(n > 0 && (size_t)n < sizeof(c->buf));
	assert_int_equal(sp_msg_parse(&c->msg, c->buf, (size_t)n, SP_PARSE_DATAGRAM, &err), 0);
	if (!c->unvalidated && sp_msg_validate(&c->msg, &err) != 0)
		fail_msg("invalid test REGISTER: %s", err.reason);
	assert_int_equal(sp_registrar_register(c->reg, sp_str_cstr(aor), &c->msg, &src, now,
					       on_reply, c),
			 0);
	/* The message buffer is not needed after the call: scribble on it. */
	memset(c->buf, 'X', sizeof(c->buf));
}

/* One REGISTER, waited for; returns its reply. */
static struct reply_rec *reg1(struct ctx *c, const char *call_id, unsigned cseq, const char *extra,
			      uint64_t now)
{
	size_t want = c->nreplies + 1;
	send_reg(c, AOR, call_id, cseq, extra, now);
	wait_replies(c, want);
	return &c->r[want - 1];
}

static size_t lookup(struct ctx *c, const char *aor, uint64_t now, struct sp_registrar_binding *out,
		     size_t max)
{
	size_t n = 99;
	int rc = sp_registrar_lookup(c->reg, sp_str_cstr(aor), now, out, max, &n);
	assert_true(rc == 0 || rc == SP_E2BIG);
	return n;
}

static void assert_slice(struct sp_str s, const char *want)
{
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%.*s", SP_STR_FMT(s));
	assert_string_equal(tmp, want);
}

static const struct sp_registrar_conf conf_test = {
	.default_expires = 3600,
	.min_expires = 60,
	.max_expires = 7200,
	.max_per_aor = 3,
	.max_bindings = 100,
};

static void test_add_refresh(void **state)
{
	static struct ctx c;
	struct sp_registrar_binding b[4];
	ctx_open(&c, "memory", &conf_test);

	struct reply_rec *r = reg1(&c, "cid-1", 1, "Contact: <sip:alice@127.0.0.1:5062>;expires=600\r\n", NOW);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 1);
	assert_string_equal(r->contact[0], "sip:alice@127.0.0.1:5062");
	assert_int_equal(r->expires[0], 600);
	assert_non_null(strstr(r->hdrs, "Contact: <sip:alice@127.0.0.1:5062>;expires=600\r\n"));
	assert_non_null(strstr(r->hdrs, "Date: "));
	assert_null(strstr(r->hdrs, "Path:"));

	assert_int_equal(lookup(&c, AOR, NOW + 1, b, 4), 1);
	assert_slice(b[0].contact, "sip:alice@127.0.0.1:5062");
	assert_slice(b[0].received, "udp:127.0.0.1:5062");
	assert_slice(b[0].user_agent, "test-ua/1.0");
	assert_true(b[0].has_source);
	assert_int_equal(ntohs(b[0].source.addr.u.in.sin_port), 5062);
	assert_int_equal(b[0].expires, 599);
	assert_int_equal(sp_registrar_count(c.reg), 1);

	/* Refresh: same Call-ID, higher CSeq, the Expires header this time. */
	r = reg1(&c, "cid-1", 2, "Contact: <sip:alice@127.0.0.1:5062>\r\nExpires: 1200\r\n", NOW + 100);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->expires[0], 1200);
	struct sp_store_stats stats;
	sp_store_stats(c.st, &stats);
	assert_int_equal(stats.batches, 2);
	r = reg1(&c, "cid-1", 3, "Contact: <sip:alice@127.0.0.1:5062;transport=udp>\r\n", NOW + 100);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 2); /* transport=udp makes it another URI (19.1.4) */
	assert_int_equal(lookup(&c, AOR, NOW + 200, b, 4), 2);
	assert_int_equal(lookup(&c, "sip:nobody@ssp-a.test", NOW, b, 4), 0);
	ctx_close(&c);
}

static void test_multiple_and_q_order(void **state)
{
	static struct ctx c;
	struct sp_registrar_binding b[4];
	struct sp_registrar_conf conf = conf_test;
	conf.max_per_aor = 10;
	ctx_open(&c, "memory", &conf);

	struct reply_rec *r = reg1(&c, "cid-1", 1,
				   "Contact: <sip:a@h1.test>;q=0.5, <sip:a@h2.test>;q=1.0\r\n"
				   "Contact: \"Desk\" <sip:a@h3.test>;q=0.7\r\n", NOW);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 3);
	assert_string_equal(r->contact[0], "sip:a@h2.test");
	assert_string_equal(r->contact[1], "sip:a@h3.test");
	assert_string_equal(r->contact[2], "sip:a@h1.test");
	assert_non_null(strstr(r->hdrs, "Contact: <sip:a@h3.test>;expires=3600;q=0.7\r\n"));
	assert_non_null(strstr(r->hdrs, "Contact: <sip:a@h2.test>;expires=3600\r\n"));

	/* Same q: the most recently updated comes first. */
	r = reg1(&c, "cid-2", 1, "Contact: <sip:a@h4.test>;q=0.7\r\n", NOW + 10);
	assert_int_equal(r->status, 200);
	assert_int_equal(lookup(&c, AOR, NOW + 20, b, 4), 4);
	assert_slice(b[0].contact, "sip:a@h2.test");
	assert_slice(b[1].contact, "sip:a@h4.test");
	assert_slice(b[2].contact, "sip:a@h3.test");
	assert_slice(b[3].contact, "sip:a@h1.test");
	assert_int_equal(b[3].q, 500);
	/* A short array gets the best ones and SP_E2BIG. */
	size_t n = 0;
	assert_int_equal(sp_registrar_lookup(c.reg, SP_STR(AOR), NOW + 20, b, 2, &n), SP_E2BIG);
	assert_int_equal(n, 2);
	assert_slice(b[0].contact, "sip:a@h2.test");
	assert_slice(b[1].contact, "sip:a@h4.test");

	/* A bad q-value is a 400 and changes nothing (the registrar checks it
	 * even when the daemon did not validate the whole message). */
	c.unvalidated = true;
	r = reg1(&c, "cid-1", 2, "Contact: <sip:a@h5.test>;q=1.5\r\n", NOW + 30);
	assert_int_equal(r->status, 400);
	assert_int_equal(sp_registrar_count(c.reg), 4);
	ctx_close(&c);
}

static void test_expires_sources(void **state)
{
	static struct ctx c;
	struct sp_registrar_conf conf = conf_test;
	conf.max_per_aor = 10;
	ctx_open(&c, "memory", &conf);
	/* The contact's expires param wins over the Expires header, which wins
	 * over the default; over the maximum is clamped. */
	struct reply_rec *r = reg1(&c, "cid-1", 1,
				   "Contact: <sip:a@h1.test>;expires=300, <sip:a@h2.test>\r\n"
				   "Expires: 900\r\n", NOW);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 2);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(r->expires[i], strcmp(r->contact[i], "sip:a@h1.test") ? 900 : 300);
	r = reg1(&c, "cid-1", 2, "Contact: <sip:a@h3.test>\r\n", NOW);
	assert_int_equal(r->status, 200);
	assert_non_null(strstr(r->hdrs, "<sip:a@h3.test>;expires=3600\r\n"));
	r = reg1(&c, "cid-1", 3, "Contact: <sip:a@h4.test>;expires=999999\r\n", NOW);
	assert_int_equal(r->status, 200);
	assert_non_null(strstr(r->hdrs, "<sip:a@h4.test>;expires=7200\r\n"));
	c.unvalidated = true; /* the validator refuses what the registrar clamps */
	r = reg1(&c, "cid-1", 4, "Contact: <sip:a@h5.test>\r\nExpires: 99999999999\r\n", NOW);
	c.unvalidated = false;
	assert_int_equal(r->status, 200);
	assert_non_null(strstr(r->hdrs, "<sip:a@h5.test>;expires=7200\r\n"));

	/* 423 with Min-Expires, from the param or the header; nothing changes. */
	r = reg1(&c, "cid-1", 5, "Contact: <sip:a@h6.test>;expires=30\r\n", NOW);
	assert_int_equal(r->status, 423);
	assert_int_equal(r->min_expires, 60);
	assert_string_equal(r->hdrs, "Min-Expires: 60\r\n");
	r = reg1(&c, "cid-1", 6, "Contact: <sip:a@h6.test>\r\nExpires: 59\r\n", NOW);
	assert_int_equal(r->status, 423);
	assert_int_equal(sp_registrar_count(c.reg), 5);
	/* A malformed expires param is a 400. */
	c.unvalidated = true;
	r = reg1(&c, "cid-1", 7, "Contact: <sip:a@h6.test>;expires=soon\r\n", NOW);
	assert_int_equal(r->status, 400);
	ctx_close(&c);
}

static void test_remove_and_star(void **state)
{
	static struct ctx c;
	struct sp_registrar_binding b[4];
	ctx_open(&c, "memory", &conf_test);
	struct reply_rec *r = reg1(&c, "cid-1", 1, "Contact: <sip:a@h1.test>, <sip:a@h2.test>\r\n", NOW);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 2);
	/* Remove one (expires=0); the 200 lists what is left. */
	r = reg1(&c, "cid-1", 2, "Contact: <sip:a@h1.test>;expires=0\r\n", NOW + 1);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 1);
	assert_string_equal(r->contact[0], "sip:a@h2.test");
	assert_int_equal(lookup(&c, AOR, NOW + 2, b, 4), 1);
	/* Removing an unknown contact is a 200 that changes nothing. */
	r = reg1(&c, "cid-1", 3, "Contact: <sip:a@h9.test>\r\nExpires: 0\r\n", NOW + 1);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 1);

	/* "*" needs Expires: 0 and must be alone. */
	r = reg1(&c, "cid-1", 4, "Contact: *\r\nExpires: 3600\r\n", NOW + 2);
	assert_int_equal(r->status, 400);
	r = reg1(&c, "cid-1", 5, "Contact: *\r\n", NOW + 2);
	assert_int_equal(r->status, 400);
	r = reg1(&c, "cid-1", 6, "Contact: *\r\nContact: <sip:a@h3.test>\r\nExpires: 0\r\n", NOW + 2);
	assert_int_equal(r->status, 400);
	assert_int_equal(sp_registrar_count(c.reg), 1);

	/* A "*" older than the binding (same Call-ID, lower CSeq) fails. */
	r = reg1(&c, "cid-1", 1, "Contact: *\r\nExpires: 0\r\n", NOW + 2);
	assert_int_equal(r->status, 500);
	assert_int_equal(sp_registrar_count(c.reg), 1);
	/* From another Call-ID it removes everything. */
	r = reg1(&c, "cid-other", 1, "Contact: *\r\nExpires: 0\r\n", NOW + 3);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 0);
	assert_int_equal(lookup(&c, AOR, NOW + 3, b, 4), 0);
	assert_int_equal(sp_registrar_count(c.reg), 0);
	assert_int_equal(sp_registrar_aor_count(c.reg), 0);
	ctx_close(&c);
}

static void test_callid_cseq(void **state)
{
	static struct ctx c;
	struct sp_registrar_binding b[4];
	ctx_open(&c, "memory", &conf_test);
	struct reply_rec *r = reg1(&c, "cid-1", 5, "Contact: <sip:a@h1.test>;expires=600\r\n", NOW);
	assert_int_equal(r->status, 200);
	/* RFC 3261 10.3 step 7: same Call-ID, CSeq not higher: the update is
	 * aborted and the request fails (500); the binding stays as it was. */
	r = reg1(&c, "cid-1", 5, "Contact: <sip:a@h1.test>;expires=1200, <sip:a@h2.test>\r\n", NOW + 1);
	assert_int_equal(r->status, 500);
	r = reg1(&c, "cid-1", 4, "Contact: <sip:a@h1.test>;expires=0\r\n", NOW + 1);
	assert_int_equal(r->status, 500);
	assert_int_equal(lookup(&c, AOR, NOW + 2, b, 4), 1);
	assert_int_equal(b[0].expires_at, NOW + 600);
	assert_int_equal(b[0].cseq, 5);
	/* Another Call-ID updates whatever its CSeq. */
	r = reg1(&c, "cid-2", 1, "Contact: <sip:a@h1.test>;expires=1200\r\n", NOW + 2);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->expires[0], 1200);
	assert_int_equal(lookup(&c, AOR, NOW + 2, b, 4), 1);
	assert_slice(b[0].call_id, "cid-2");
	/* Two REGISTERs in flight for one AoR are judged in arrival order: the
	 * second (an older CSeq) sees the first's binding and fails. */
	send_reg(&c, AOR, "cid-3", 9, "Contact: <sip:a@h1.test>;expires=900\r\n", NOW + 3);
	send_reg(&c, AOR, "cid-3", 8, "Contact: <sip:a@h1.test>;expires=0\r\n", NOW + 3);
	size_t base = c.nreplies;
	wait_replies(&c, base + 2);
	assert_int_equal(c.r[base].status, 200);
	assert_int_equal(c.r[base + 1].status, 500);
	assert_int_equal(lookup(&c, AOR, NOW + 3, b, 4), 1);
	assert_int_equal(b[0].cseq, 9);
	assert_int_equal(b[0].expires_at, NOW + 3 + 900);
	ctx_close(&c);
}

static void test_queued_in_order(void **state)
{
	static struct ctx c;
	struct sp_registrar_binding b[4];
	ctx_open(&c, "memory", &conf_test);
	send_reg(&c, AOR, "cid-1", 1, "Contact: <sip:a@h1.test>\r\n", NOW);
	send_reg(&c, AOR, "cid-1", 2, "Contact: <sip:a@h1.test>;expires=0, <sip:a@h2.test>\r\n", NOW);
	send_reg(&c, AOR, "cid-1", 2, "Contact: <sip:a@h3.test>\r\n", NOW);
	send_reg(&c, AOR, "cid-1", 3, "", NOW); /* a query waits too */
	assert_int_equal(c.nreplies, 0);
	wait_replies(&c, 4);
	assert_int_equal(c.r[0].status, 200);
	assert_int_equal(c.r[0].n, 1);
	assert_int_equal(c.r[1].status, 200);
	assert_int_equal(c.r[1].n, 1);
	assert_string_equal(c.r[1].contact[0], "sip:a@h2.test");
	/* The CSeq rule is per existing binding: h3 is new, so CSeq 2 again is fine. */
	assert_int_equal(c.r[2].status, 200);
	assert_int_equal(c.r[2].n, 2);
	assert_int_equal(c.r[3].status, 200);
	assert_int_equal(c.r[3].n, 2);
	assert_int_equal(lookup(&c, AOR, NOW, b, 4), 2);
	assert_slice(b[0].contact, "sip:a@h2.test");
	ctx_close(&c);
}

static void test_per_aor_cap(void **state)
{
	static struct ctx c;
	ctx_open(&c, "memory", &conf_test);
	struct reply_rec *r = reg1(&c, "cid-1", 1, "Contact: <sip:a@h1.test>, <sip:a@h2.test>, <sip:a@h3.test>\r\n", NOW);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 3);
	r = reg1(&c, "cid-2", 1, "Contact: <sip:a@h4.test>\r\n", NOW);
	assert_int_equal(r->status, 503);
	assert_string_equal(r->reason, "Too Many Registered Contacts");
	assert_int_equal(r->retry_after, 0);
	/* Refreshing, or replacing one by another in one request, is fine. */
	r = reg1(&c, "cid-1", 2, "Contact: <sip:a@h1.test>;expires=0, <sip:a@h4.test>\r\n", NOW);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 3);
	assert_int_equal(sp_registrar_count(c.reg), 3);
	ctx_close(&c);
}

static void test_total_cap_and_store_full(void **state)
{
	static struct ctx c;
	struct sp_registrar_conf conf = conf_test;
	conf.max_bindings = 2;
	conf.retry_after = 7;
	memset(&c, 0, sizeof(c));
	struct sp_store_opts o = { .max_queue = 1 };
	assert_int_equal(sp_store_open("memory", &o, &c.st), 0);
	assert_int_equal(sp_registrar_create(&conf, c.st, &c.reg), 0);
	send_reg(&c, "sip:u1@ssp-a.test", "c1", 1, "Contact: <sip:u1@h.test>\r\n", NOW);
	/* The store queue holds one batch: a second AoR's write is refused
	 * at once with 503 and Retry-After. */
	send_reg(&c, "sip:u2@ssp-a.test", "c2", 1, "Contact: <sip:u2@h.test>\r\n", NOW);
	assert_int_equal(c.nreplies, 1);
	assert_int_equal(c.r[0].status, 503);
	assert_int_equal(c.r[0].retry_after, 7);
	assert_non_null(strstr(c.r[0].hdrs, "Retry-After: 7\r\n"));
	wait_replies(&c, 2);
	assert_int_equal(c.r[1].status, 200);
	send_reg(&c, "sip:u2@ssp-a.test", "c2", 2, "Contact: <sip:u2@h.test>\r\n", NOW);
	wait_replies(&c, 3);
	assert_int_equal(c.r[2].status, 200);
	/* Two bindings in all: a third is refused for load. */
	send_reg(&c, "sip:u3@ssp-a.test", "c3", 1, "Contact: <sip:u3@h.test>\r\n", NOW);
	wait_replies(&c, 4);
	assert_int_equal(c.r[3].status, 503);
	assert_int_equal(c.r[3].retry_after, 7);
	assert_int_equal(sp_registrar_count(c.reg), 2);
	assert_int_equal(sp_registrar_aor_count(c.reg), 2);
	ctx_close(&c);
}

static void test_query(void **state)
{
	static struct ctx c;
	ctx_open(&c, "memory", &conf_test);
	struct reply_rec *r = reg1(&c, "cid-1", 1, "Contact: <sip:a@h1.test>;expires=600\r\n", NOW);
	assert_int_equal(r->status, 200);
	/* No Contact: the answer comes at once, without a store write. */
	size_t before = c.nreplies;
	send_reg(&c, AOR, "cid-9", 1, "", NOW + 100);
	assert_int_equal(c.nreplies, before + 1);
	assert_int_equal(sp_store_pending(c.st), 0);
	r = &c.r[before];
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->expires[0], 500);
	/* A query for an AoR with nothing leaves no trace. */
	send_reg(&c, "sip:bob@ssp-a.test", "cid-9", 2, "", NOW);
	assert_int_equal(c.r[before + 1].status, 200);
	assert_int_equal(c.r[before + 1].n, 0);
	assert_int_equal(sp_registrar_aor_count(c.reg), 1);
	ctx_close(&c);
}

static void test_path(void **state)
{
	static struct ctx c;
	struct sp_registrar_binding b[4];
	ctx_open(&c, "memory", &conf_test);
	struct reply_rec *r = reg1(&c, "cid-1", 1,
				   "Contact: <sip:a@10.0.0.5:5060>\r\n"
				   "Path: <sip:edge1.ssp-a.test;lr>\r\n"
				   "Path: <sip:edge2.ssp-a.test;lr>\r\n"
				   "Supported: path\r\n", NOW);
	assert_int_equal(r->status, 200);
	assert_string_equal(r->path, "<sip:edge1.ssp-a.test;lr>, <sip:edge2.ssp-a.test;lr>");
	assert_non_null(strstr(r->hdrs, "Path: <sip:edge1.ssp-a.test;lr>, <sip:edge2.ssp-a.test;lr>\r\n"));
	assert_int_equal(lookup(&c, AOR, NOW, b, 4), 1);
	assert_slice(b[0].path, "<sip:edge1.ssp-a.test;lr>, <sip:edge2.ssp-a.test;lr>");
	/* Without Supported: path it is stored but not echoed (RFC 3327 5.3). */
	r = reg1(&c, "cid-1", 2, "Contact: <sip:a@10.0.0.6:5060>\r\nPath: <sip:edge3.ssp-a.test;lr>\r\n", NOW);
	assert_int_equal(r->status, 200);
	assert_string_equal(r->path, "");
	assert_null(strstr(r->hdrs, "Path:"));
	assert_int_equal(lookup(&c, AOR, NOW, b, 4), 2);
	for (size_t i = 0; i < 2; i++)
		if (sp_str_eq_c(b[i].contact, "sip:a@10.0.0.6:5060"))
			assert_slice(b[i].path, "<sip:edge3.ssp-a.test;lr>");
	ctx_close(&c);
}

/* A database in a fresh temporary directory (tests/testutil.c). */
static void tmpdb_make(struct tu_tmpdb *t)
{
	assert_int_equal(tu_tmpdb_make(t, "reg"), 0);
}

static void tmpdb_remove(struct tu_tmpdb *t)
{
	assert_int_equal(tu_tmpdb_remove(t), 0);
}

static void test_sweep_and_reload(void **state)
{
	static struct ctx c;
	struct sp_registrar_binding b[4];
	struct tu_tmpdb t;
	struct sp_registrar_conf conf = conf_test;
	conf.max_per_aor = 10;
	tmpdb_make(&t);
	ctx_open(&c, t.spec, &conf);
	struct reply_rec *r = reg1(&c, "cid-1", 1,
				   "Contact: <sip:a@h1.test>;expires=60;q=0.2;+sip.instance=\"<urn:uuid:1>\"\r\n"
				   "Contact: <sip:a@h2.test>;expires=600\r\n"
				   "Path: <sip:edge1.ssp-a.test;lr>\r\n", NOW);
	assert_int_equal(r->status, 200);
	assert_non_null(strstr(r->hdrs, ";q=0.2;+sip.instance=\"<urn:uuid:1>\"\r\n"));
	send_reg(&c, "sip:bob@ssp-a.test", "cid-b", 1, "Contact: <sip:b@[::1]:5070>;expires=60\r\n", NOW);
	wait_replies(&c, 2);
	assert_int_equal(c.r[1].status, 200);

	/* The sweep removes exactly what has expired, here and in the store. */
	assert_int_equal(sp_registrar_sweep(c.reg, NOW + 59), 0);
	assert_int_equal(sp_registrar_sweep(c.reg, NOW + 60), 2);
	assert_int_equal(sp_registrar_count(c.reg), 1);
	assert_int_equal(sp_registrar_aor_count(c.reg), 1);
	assert_int_equal(lookup(&c, AOR, NOW + 60, b, 4), 1);
	assert_slice(b[0].contact, "sip:a@h2.test");
	/* Close flushes the sweep's deletes; "restart" on the same file. */
	ctx_close(&c);

	/* Reload before the expiry of bob's (deleted anyway) binding. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(sp_store_open(t.spec, NULL, &c.st), 0);
	assert_int_equal(sp_registrar_create(&conf, c.st, &c.reg), 0);
	assert_int_equal(sp_registrar_load(c.reg, c.st, NOW + 1), 0);
	assert_int_equal(sp_registrar_count(c.reg), 1);
	assert_int_equal(lookup(&c, "sip:bob@ssp-a.test", NOW + 1, b, 4), 0);
	assert_int_equal(lookup(&c, AOR, NOW + 1, b, 4), 1);
	assert_slice(b[0].contact, "sip:a@h2.test");
	assert_slice(b[0].path, "<sip:edge1.ssp-a.test;lr>");
	assert_slice(b[0].received, "udp:127.0.0.1:5062");
	assert_slice(b[0].call_id, "cid-1");
	assert_int_equal(b[0].cseq, 1);
	assert_int_equal(b[0].expires_at, NOW + 600);
	assert_true(b[0].has_source);
	assert_int_equal(b[0].source.proto, SP_PROTO_UDP);
	assert_int_equal(ntohs(b[0].source.addr.u.in.sin_port), 5062);
	assert_int_equal(b[0].source.listener, -1);
	/* The reloaded binding still obeys the CSeq rule. */
	r = reg1(&c, "cid-1", 1, "Contact: <sip:a@h2.test>;expires=0\r\n", NOW + 2);
	assert_int_equal(r->status, 500);
	r = reg1(&c, "cid-1", 2, "Contact: <sip:a@h3.test>;expires=120\r\n", NOW + 2);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 2);
	ctx_close(&c);

	/* Expired at load time: skipped. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(sp_store_open(t.spec, NULL, &c.st), 0);
	assert_int_equal(sp_registrar_create(&conf, c.st, &c.reg), 0);
	assert_int_equal(sp_registrar_load(c.reg, c.st, NOW + 200), 0);
	assert_int_equal(sp_registrar_count(c.reg), 1);
	assert_int_equal(lookup(&c, AOR, NOW + 200, b, 4), 1);
	assert_slice(b[0].contact, "sip:a@h2.test");
	ctx_close(&c);
	tmpdb_remove(&t);
}

static void test_uri_equality(void **state)
{
	static struct ctx c;
	struct sp_registrar_binding b[4];
	ctx_open(&c, "memory", &conf_test);
	struct reply_rec *r = reg1(&c, "cid-1", 1, "Contact: <sip:a@H1.Example.Test:5060>\r\n", NOW);
	assert_int_equal(r->status, 200);
	/* Equal by RFC 3261 19.1.4 (host case): the same binding, re-written. */
	r = reg1(&c, "cid-1", 2, "Contact: <sip:a@h1.example.test:5060>;expires=120\r\n", NOW + 1);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 1);
	assert_int_equal(lookup(&c, AOR, NOW + 1, b, 4), 1);
	assert_slice(b[0].contact, "sip:a@h1.example.test:5060");
	assert_int_equal(b[0].expires, 120);
	/* The user part is case-sensitive: another binding. */
	r = reg1(&c, "cid-1", 3, "Contact: <sip:A@h1.example.test:5060>\r\n", NOW + 1);
	assert_int_equal(r->n, 2);
	ctx_close(&c);
}

/* A failed commit answers 500 and leaves the table as it was (step 7:
 * all or none). The failure is injected with a trigger on the table. */
static void test_store_failure(void **state)
{
	static struct ctx c;
	struct sp_registrar_binding b[4];
	struct tu_tmpdb t;
	sqlite3 *db;
	tmpdb_make(&t);
	ctx_open(&c, t.spec, &conf_test);
	assert_int_equal(sqlite3_open(t.file, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER boom BEFORE INSERT ON bindings"
					  " WHEN NEW.contact LIKE '%fail%'"
					  " BEGIN SELECT RAISE(ABORT, 'injected'); END;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	struct reply_rec *r = reg1(&c, "cid-1", 1, "Contact: <sip:a@ok.test>\r\n", NOW);
	assert_int_equal(r->status, 200);
	r = reg1(&c, "cid-1", 2, "Contact: <sip:a@ok.test>;expires=0, <sip:fail@h.test>\r\n", NOW + 1);
	assert_int_equal(r->status, 500);
	assert_int_equal(lookup(&c, AOR, NOW + 1, b, 4), 1);
	assert_slice(b[0].contact, "sip:a@ok.test");
	assert_int_equal(b[0].cseq, 1);
	/* The AoR is not stuck: the next request goes through. */
	r = reg1(&c, "cid-1", 3, "Contact: <sip:a@ok2.test>\r\n", NOW + 2);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->n, 2);
	ctx_close(&c);
	tmpdb_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_refresh),
		cmocka_unit_test(test_multiple_and_q_order),
		cmocka_unit_test(test_expires_sources),
		cmocka_unit_test(test_remove_and_star),
		cmocka_unit_test(test_callid_cseq),
		cmocka_unit_test(test_queued_in_order),
		cmocka_unit_test(test_per_aor_cap),
		cmocka_unit_test(test_total_cap_and_store_full),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_sweep_and_reload),
		cmocka_unit_test(test_uri_equality),
		cmocka_unit_test(test_store_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
