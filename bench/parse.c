/* parse.c: parser benchmark: a typical INVITE with SDP, parsed and its key headers indexed, on one core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sip/msg.h"

static const char invite[] =
	"INVITE sip:+4722000002@ssp-b.test;user=phone SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
	"Max-Forwards: 70\r\n"
	"To: <sip:+4722000002@ssp-b.test;user=phone>\r\n"
	"From: \"Alice\" <sip:+4721000001@ssp-a.test;user=phone>;tag=1928301774\r\n"
	"Call-ID: a84b4c76e66710@pc33.ssp-a.test\r\n"
	"CSeq: 314159 INVITE\r\n"
	"Contact: <sip:alice@192.0.2.10:5060;transport=udp>\r\n"
	"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE\r\n"
	"Supported: replaces, timer\r\n"
	"User-Agent: bench/1.0\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 136\r\n"
	"\r\n"
	"v=0\r\n"
	"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
	"s=-\r\n"
	"c=IN IP4 192.0.2.10\r\n"
	"t=0 0\r\n"
	"m=audio 49170 RTP/AVP 0 9\r\n"
	"a=rtpmap:9 G722/8000\r\n";

/* CPU time of this thread, not wall time: on a shared machine another process may take
 * turns on the same core, which would halve a wall-clock rate without the parser being
 * any slower. The figure is then messages per second of one core's time. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 2000000;
	enum { RUNS = 7 };
	double rate[RUNS];
	static struct sp_msg m;
	size_t len = sizeof(invite) - 1;
	unsigned long sink = 0;

	/* The message must be what it claims: valid, with the body it declares. */
	struct sp_sip_error err;
	if (sp_msg_parse(&m, invite, len, SP_PARSE_DATAGRAM, &err) || sp_msg_validate(&m, &err)) {
		fprintf(stderr, "bench message invalid: %s\n", err.reason);
		return 1;
	}
	for (int r = 0; r < RUNS; r++) {
		double t0 = now();
		for (long i = 0; i < iters; i++) {
			if (sp_msg_parse(&m, invite, len, SP_PARSE_DATAGRAM, &err))
				return 1;
			const struct sp_uri *ruri = sp_msg_ruri(&m);
			const struct sp_via *via = sp_msg_via(&m);
			const struct sp_addr *from = sp_msg_from(&m), *to = sp_msg_to(&m);
			const struct sp_addr *contact = sp_msg_contact(&m);
			const struct sp_cseq *cseq = sp_msg_cseq(&m);
			struct sp_str cid = sp_msg_call_id(&m);
			if (!ruri || !via || !from || !to || !contact || !cseq || !cid.len)
				return 1;
			sink += via->branch.len + from->tag.len + cseq->num + ruri->host.len;
		}
		double dt = now() - t0;
		rate[r] = (double)iters / dt;
	}
	qsort(rate, RUNS, sizeof(rate[0]), cmp);
	double med = rate[RUNS / 2];
	printf("bench/parse: %zu-byte INVITE with SDP, %u headers; %ld messages x %d runs\n", len,
	       (unsigned)m.nhdrs, iters, RUNS);
	printf("median %.0f messages/s (%.1f ns/message), min %.0f, max %.0f  [sink %lu]\n", med,
	       1e9 / med, rate[0], rate[RUNS - 1], sink % 10);
	return 0;
}
