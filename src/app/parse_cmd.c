/* parse_cmd.c: "sipeer parse FILE...": a strict SIP linter over files holding one datagram each. */
#include "app/parse_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "sip/msg.h"

/* Reads at most SP_MSG_MAX_LEN + 1 bytes: one more than any datagram may
 * carry, so an over-large file is reported as such. */
static int read_datagram(const char *path, char *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	*len = fread(buf, 1, cap, f);
	int bad = ferror(f);
	fclose(f);
	return bad ? -EIO : 0;
}

int sp_parse_cmd(int argc, char **argv)
{
	static char buf[SP_MSG_MAX_LEN + 1];
	struct sp_msg *m = malloc(sizeof(*m));
	int status = 0;

	if (!m) {
		fprintf(stderr, "sipeer parse: out of memory\n");
		return 2;
	}
	if (argc < 1) {
		fprintf(stderr, "usage: sipeer parse FILE...\n");
		free(m);
		return 2;
	}
	for (int i = 0; i < argc; i++) {
		struct sp_sip_error err = { 0, NULL };
		size_t len;
		int e = read_datagram(argv[i], buf, sizeof(buf), &len);
		if (e) {
			printf("%s: invalid: cannot read: %s\n", argv[i], strerror(-e));
			status = 1;
			continue;
		}
		e = sp_msg_parse(m, buf, len, SP_PARSE_DATAGRAM, &err);
		if (e == 0)
			e = sp_msg_validate(m, &err);
		if (e) {
			printf("%s: invalid: %u %s\n", argv[i], err.status, err.reason);
			status = 1;
		} else {
			printf("%s: valid\n", argv[i]);
		}
	}
	free(m);
	return status;
}
