/* fuzz_msg.c: libFuzzer harness for the message parser, validation and the lazy accessors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sp_msg m;
	struct sp_sip_error err;
	/* A private copy of exactly size bytes, so ASan sees any overread. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	if (sp_msg_parse(&m, buf, size, SP_PARSE_DATAGRAM, &err) == 0) {
		/* Lazy accessors first (the fast path), then the full check. */
		uint32_t mf;
		(void)sp_msg_ruri(&m);
		(void)sp_msg_via(&m);
		(void)sp_msg_from(&m);
		(void)sp_msg_to(&m);
		(void)sp_msg_contact(&m);
		(void)sp_msg_cseq(&m);
		(void)sp_msg_call_id(&m);
		(void)sp_msg_max_forwards(&m, &mf);
		int valid = sp_msg_validate(&m, &err) == 0;
		if (valid && (!sp_msg_via(&m) || !sp_msg_from(&m) || !sp_msg_to(&m) || !sp_msg_cseq(&m)))
			abort(); /* a valid message has these headers in parsable form */
		if (!valid && (!err.reason || err.status < 400))
			abort();
		if (m.len > size || m.body.p + m.body.len > buf + size)
			abort();
	} else if (!err.reason || err.status < 400) {
		abort();
	}
	free(buf);
	return 0;
}
