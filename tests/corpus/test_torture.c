/* test_torture.c: every RFC 4475/5118 torture message against verdicts.tsv, whole and through the framer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "sip/framer.h"
#include "sip/msg.h"
#include "testutil.h"

/* Feeds one message through the stream framer in chunks of the given size
 * (0: whole; else random sizes from seed) and checks the one frame it
 * yields is the message, byte for byte. Returns false on any difference. */
static bool frame_once(const char *msg, size_t len, unsigned mode, unsigned seed)
{
	struct sp_framer f;
	size_t have = 0;
	sp_framer_init(&f, SP_MSG_MAX_LEN);
	while (have < len) {
		size_t chunk = mode == 0 ? len : mode == 1 ? 1 : 1 + tu_rand(&seed) % 61;
		have += chunk > len - have ? len - have : chunk;
		enum sp_frame_kind kind;
		size_t flen;
		int e = sp_framer_feed(&f, msg, have, &kind, &flen);
		if (e == SP_EAGAIN)
			continue;
		return e == 0 && kind == SP_FRAME_MESSAGE && flen == len && have == len;
	}
	return false;
}

static void check_corpus(void **state)
{
	const char *dir = *state;
	char path[1024];
	snprintf(path, sizeof(path), "%s/torture/verdicts.tsv", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);

	struct sp_msg *m = malloc(sizeof(*m));
	char line[1024];
	int checked = 0, failures = 0, framed = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char *file = strtok(line, "\t\n");
		char *section = strtok(NULL, "\t\n");
		char *verdict = strtok(NULL, "\t\n");
		if (!file || !section || !verdict || strcmp(verdict, "none") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/torture/%s", dir, file);
		size_t len;
		char *buf = tu_read_file(path, &len);
		assert_non_null(buf);
		struct sp_sip_error err = { 0, NULL };
		int e = sp_msg_parse(m, buf, len, SP_PARSE_DATAGRAM, &err);
		if (e == 0)
			e = sp_msg_validate(m, &err);
		bool want_valid = strcmp(verdict, "invalid") != 0;
		if (want_valid && e != 0) {
			printf("FAIL %s (%s %s): rejected: %u %s\n", file, section, verdict, err.status,
			       err.reason);
			failures++;
		} else if (!want_valid && e == 0) {
			printf("FAIL %s (%s %s): accepted\n", file, section, verdict);
			failures++;
		} else if (!want_valid) {
			/* A refusal must say why and name a final status. */
			if (!err.reason || !*err.reason || err.status < 400 || err.status > 599) {
				printf("FAIL %s: refusal without reason\n", file);
				failures++;
			} else {
				printf("ok   %s: refused: %u %s\n", file, err.status, err.reason);
			}
		} else {
			printf("ok   %s: %s\n", file, verdict);
			/* Over a stream: when the datagram is exactly one message
			 * with a Content-Length, the framer must cut it whole,
			 * byte by byte and in random splits, and it parses the
			 * same in stream mode. */
			if (m->content_length >= 0 && m->len == len) {
				for (unsigned mode = 0; mode < 8; mode++)
					if (!frame_once(buf, len, mode, mode * 7919u)) {
						printf("FAIL %s: framer mode %u\n", file, mode);
						failures++;
					}
				if (sp_msg_parse(m, buf, len, 0, &err) || sp_msg_validate(m, &err)) {
					printf("FAIL %s: refused in stream mode\n", file);
					failures++;
				}
				framed++;
			}
		}
		checked++;
		free(buf);
	}
	fclose(f);
	free(m);
	printf("%d torture messages checked (%d also through the stream framer), %d failures\n",
	       checked, framed, failures);
	assert_true(framed >= 20);
	assert_true(checked >= 60);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const char *dir = tu_testdata_dir();
	if (!dir) {
		printf("SKIP test_torture: ../shared/testdata not found (set SIPEER_TESTDATA)\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(check_corpus, (void *)dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
