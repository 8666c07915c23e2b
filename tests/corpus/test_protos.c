/* test_protos.c: the 4,527 PROTOS c07-sip cases through the parser; per-group accept/reject counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "sip/msg.h"
#include "testutil.h"

/* Placeholder values, as the original runner fills them in. */
static const struct {
	const char *key, *val;
} subst[] = {
	{ "<To>", "sipeer@127.0.0.1" }, { "<From>", "protos@127.0.0.2" },
	{ "<From-Address>", "127.0.0.2" }, { "<From-IP>", "127.0.0.2" },
	{ "<Local-Port>", "5060" }, { "<Branch-ID>", "4711" }, { "<Call-ID>", "4711" },
	{ "<CSeq>", "1" }, { "<Teardown-Method>", "CANCEL" },
};

/* Fills the placeholders of one PDU; Content-Length is the body's length
 * after the other substitutions. */
static void fill(const char *p, size_t n, struct sp_buf *out)
{
	struct sp_buf tmp;
	sp_buf_init(&tmp, 1 << 20);
	for (size_t i = 0; i < n;) {
		size_t k, matched = 0;
		for (k = 0; k < sizeof(subst) / sizeof(subst[0]); k++) {
			size_t kl = strlen(subst[k].key);
			if (n - i >= kl && memcmp(p + i, subst[k].key, kl) == 0) {
				assert_int_equal(sp_buf_append_c(&tmp, subst[k].val), 0);
				matched = kl;
				break;
			}
		}
		if (matched) {
			i += matched;
		} else {
			assert_int_equal(sp_buf_append(&tmp, p + i, 1), 0);
			i++;
		}
	}
	const char *key = "<Content-Length>";
	const char *hit = memmem(tmp.p, tmp.len, key, strlen(key));
	const char *eoh = memmem(tmp.p, tmp.len, "\r\n\r\n", 4);
	size_t body = eoh ? tmp.len - (size_t)(eoh + 4 - tmp.p) : 0;
	sp_buf_reset(out);
	if (hit) {
		sp_buf_append(out, tmp.p, (size_t)(hit - tmp.p));
		sp_buf_append_u64(out, body);
		sp_buf_append(out, hit + strlen(key), tmp.len - (size_t)(hit - tmp.p) - strlen(key));
	} else {
		sp_buf_append(out, tmp.p, tmp.len);
	}
	sp_buf_free(&tmp);
}

/* Reads "<n> <n bytes>" at *p. */
static const char *pdu(const char **p, const char *end, size_t *n)
{
	char *q;
	unsigned long v = strtoul(*p, &q, 10);
	if (q == *p || q >= end || *q != ' ' || v > (size_t)(end - q - 1))
		return NULL;
	*n = v;
	*p = q + 1 + v;
	return q + 1;
}

struct group {
	char name[64];
	unsigned first, count, accepted, rejected;
};

/* Groups whose every case corrupts the syntax of the message: all must be
 * refused. The other groups mutate values that can stay well-formed (a
 * long but legal token, a different but valid number) and are reported. */
static const char *must_reject[] = {
	"sip-method", "sip-version", "sip-via-version", "sip-via-hostcolon", "sip-from-colon",
	"sip-contact-left-paranthesis", "sip-to-left-paranthesis", "sip-to", "sip-cseq-string",
	"sip-request-crlf", "crlf-request",
};

/* Groups that put numbers of every size in one field: a case must be
 * accepted exactly when its number is within the field's legal range. The
 * oracle reads the number independently of the parser. */
static const struct {
	const char *group, *prefix;
	unsigned long long min, max;
} int_groups[] = {
	{ "sip-cseq-integer", "\r\nCSeq: ", 0, 2147483647ull },
	{ "sip-max-forwards", "\r\nMax-Forwards: ", 0, 255ull },
	{ "sip-expires", "\r\nExpires: ", 0, 4294967295ull },
	{ "sip-via-hostport", "\r\nVia: SIP/2.0/UDP 127.0.0.2:", 0, 65535ull },
	{ "sdp-attribute-payloadtype", "\r\na=rtpmap:", 0, 127ull },
	{ "sdp-attribute-clockrate", "\r\na=rtpmap:0 PCMU/", 1, 4294967295ull },
	{ "sdp-media-port", "\r\nm=audio ", 0, 65535ull },
};

/* Returns 1 when the number after prefix is a legal value, 0 otherwise. */
static int oracle(const char *msg, size_t len, const char *prefix, unsigned long long min,
		  unsigned long long max)
{
	const char *p = memmem(msg, len, prefix, strlen(prefix));
	if (!p)
		return 0;
	p += strlen(prefix);
	unsigned long long v = 0;
	size_t nd = 0;
	for (; p < msg + len && *p >= '0' && *p <= '9'; p++, nd++) {
		if (v > (max - (unsigned)(*p - '0')) / 10)
			return 0;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (nd == 0 || p >= msg + len || v < min)
		return 0;
	return *p == '\r' || *p == ' ' || *p == ';';
}

static void run_protos(void **state)
{
	const char *dir = *state;
	char path[1024];
	struct group groups[64];
	unsigned ngroups = 0;

	snprintf(path, sizeof(path), "%s/protos-c07-sip/groups.tsv", dir);
	FILE *g = fopen(path, "r");
	assert_non_null(g);
	char line[256];
	while (fgets(line, sizeof(line), g) && ngroups < 64) {
		struct group *gr = &groups[ngroups];
		if (line[0] == '#')
			continue;
		if (sscanf(line, "%63s %u %u", gr->name, &gr->first, &gr->count) == 3) {
			gr->accepted = gr->rejected = 0;
			ngroups++;
		}
	}
	fclose(g);
	assert_true(ngroups > 50);

	struct sp_msg *m = malloc(sizeof(*m));
	struct sp_buf msg;
	sp_buf_init(&msg, 1 << 20);
	unsigned total = 0;
	for (unsigned gi = 0; gi < ngroups; gi++) {
		struct group *gr = &groups[gi];
		for (unsigned c = gr->first; c < gr->first + gr->count; c++) {
			snprintf(path, sizeof(path), "%s/protos-c07-sip/cases/%07u", dir, c);
			size_t len;
			char *raw = tu_read_file(path, &len);
			assert_non_null(raw);
			const char *p = raw, *end = raw + len;
			for (int k = 0; k < 2; k++) {
				size_t n;
				const char *body = pdu(&p, end, &n);
				assert_non_null(body);
				fill(body, n, &msg);
				struct sp_sip_error err = { 0, NULL };
				int e = sp_msg_parse(m, msg.p, msg.len, SP_PARSE_DATAGRAM, &err);
				if (e == 0)
					e = sp_msg_validate(m, &err);
				if (e != 0) {
					/* Every refusal names a status and a reason. */
					assert_non_null(err.reason);
					assert_true(err.status >= 400 && err.status <= 599);
				}
				for (size_t q = 0; k == 0 && q < sizeof(int_groups) / sizeof(int_groups[0]); q++)
					if (strcmp(gr->name, int_groups[q].group) == 0) {
						int want = oracle(msg.p, msg.len, int_groups[q].prefix,
								  int_groups[q].min, int_groups[q].max);
						if (want != (e == 0))
							printf("case %u (%s): parser says %s, oracle %s\n", c,
							       gr->name, e ? "invalid" : "valid",
							       want ? "valid" : "invalid");
						assert_int_equal(want, e == 0);
					}
				if (k == 0) {
					if (e == 0)
						gr->accepted++;
					else
						gr->rejected++;
					if (c == 0 && e != 0)
						printf("case 0 refused: %u %s\n", err.status, err.reason);
				}
			}
			free(raw);
			total++;
		}
	}
	sp_buf_free(&msg);
	free(m);

	printf("%-32s %6s %8s %8s\n", "group", "cases", "accepted", "rejected");
	for (unsigned gi = 0; gi < ngroups; gi++)
		printf("%-32s %6u %8u %8u\n", groups[gi].name, groups[gi].count, groups[gi].accepted,
		       groups[gi].rejected);
	assert_int_equal(total, 4527);
	assert_string_equal(groups[0].name, "valid");
	assert_int_equal(groups[0].accepted, 1);
	for (size_t k = 0; k < sizeof(must_reject) / sizeof(must_reject[0]); k++)
		for (unsigned gi = 0; gi < ngroups; gi++)
			if (strcmp(groups[gi].name, must_reject[k]) == 0) {
				if (groups[gi].accepted)
					printf("group %s: %u cases accepted\n", groups[gi].name,
					       groups[gi].accepted);
				assert_int_equal(groups[gi].accepted, 0);
			}
}

int main(void)
{
	const char *dir = tu_testdata_dir();
	if (!dir) {
		printf("SKIP test_protos: ../shared/testdata not found (set SIPEER_TESTDATA)\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(run_protos, (void *)dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
