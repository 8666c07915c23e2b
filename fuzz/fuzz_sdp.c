/* fuzz_sdp.c: libFuzzer harness: parse an SDP body, rewrite every media to one relay address, reparse. */
#include <stdint.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/err.h"
#include "sdp/sdp.h"

/* Static because struct sp_sdp is large; libFuzzer runs one input at a time. */
static struct sp_sdp sdp, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	struct sp_str body = sp_str_make((const char *)data, size);

	if (sp_sdp_parse(body, &sdp, &why) != 0) {
		if (!why)
			abort();
		return 0;
	}

	struct sp_sdp_rewrite rw = { .session_addr = SP_STR("192.0.2.1"), .origin = true,
				     .nmedia = sdp.nmedia };
	for (size_t i = 0; i < sdp.nmedia; i++) {
		rw.media[i].addr = SP_STR("192.0.2.1");
		rw.media[i].port = 40000;
		rw.media[i].rtcp_port = -1;
	}
	struct sp_buf out;
	sp_buf_init(&out, 128 * 1024);
	int rc = sp_sdp_rewrite(&sdp, &rw, &out);
	if (rc == 0) {
		if (sp_sdp_parse(sp_buf_str(&out), &again, &why) != 0 || again.nmedia != sdp.nmedia)
			abort();
		for (size_t i = 0; i < again.nmedia; i++)
			if (again.media[i].port != 40000 ||
			    !sp_str_eq_c(sp_sdp_media_conn(&again, i)->addr, "192.0.2.1"))
				abort();
	} else if (rc != SP_E2BIG) {
		abort(); /* only the output cap may stop a rewrite of a parsed body */
	}
	sp_buf_free(&out);
	return 0;
}
