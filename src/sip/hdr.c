/* hdr.c: the table of known header fields: names, compact forms, list and single rules. */
#include "sip/hdr.h"

#include <string.h>

#include "core/charset.h"

struct hdr_def {
	const char *name;
	char compact;  /* 0 when none */
	bool list;     /* comma-separated values allowed */
	bool single;   /* at most once per message */
};

static const struct hdr_def defs[SP_HDR__COUNT] = {
	[SP_HDR_OTHER] = { "", 0, false, false },
	[SP_HDR_VIA] = { "Via", 'v', true, false },
	[SP_HDR_FROM] = { "From", 'f', false, true },
	[SP_HDR_TO] = { "To", 't', false, true },
	[SP_HDR_CALL_ID] = { "Call-ID", 'i', false, true },
	[SP_HDR_CSEQ] = { "CSeq", 0, false, true },
	[SP_HDR_MAX_FORWARDS] = { "Max-Forwards", 0, false, true },
	[SP_HDR_CONTACT] = { "Contact", 'm', true, false },
	[SP_HDR_ROUTE] = { "Route", 0, true, false },
	[SP_HDR_RECORD_ROUTE] = { "Record-Route", 0, true, false },
	[SP_HDR_CONTENT_LENGTH] = { "Content-Length", 'l', false, true },
	[SP_HDR_CONTENT_TYPE] = { "Content-Type", 'c', false, true },
	[SP_HDR_CONTENT_ENCODING] = { "Content-Encoding", 'e', true, false },
	[SP_HDR_EXPIRES] = { "Expires", 0, false, true },
	[SP_HDR_MIN_EXPIRES] = { "Min-Expires", 0, false, true },
	[SP_HDR_AUTHORIZATION] = { "Authorization", 0, false, false },
	[SP_HDR_PROXY_AUTHORIZATION] = { "Proxy-Authorization", 0, false, false },
	[SP_HDR_WWW_AUTHENTICATE] = { "WWW-Authenticate", 0, false, false },
	[SP_HDR_PROXY_AUTHENTICATE] = { "Proxy-Authenticate", 0, false, false },
	[SP_HDR_REQUIRE] = { "Require", 0, true, false },
	[SP_HDR_PROXY_REQUIRE] = { "Proxy-Require", 0, true, false },
	[SP_HDR_SUPPORTED] = { "Supported", 'k', true, false },
	[SP_HDR_UNSUPPORTED] = { "Unsupported", 0, true, false },
	[SP_HDR_ALLOW] = { "Allow", 0, true, false },
	[SP_HDR_P_ASSERTED_IDENTITY] = { "P-Asserted-Identity", 0, true, false },
	[SP_HDR_P_PREFERRED_IDENTITY] = { "P-Preferred-Identity", 0, true, false },
	[SP_HDR_PRIVACY] = { "Privacy", 0, false, false },
	[SP_HDR_IDENTITY] = { "Identity", 'y', false, false },
	[SP_HDR_REASON] = { "Reason", 0, true, false },
	[SP_HDR_RETRY_AFTER] = { "Retry-After", 0, false, true },
	[SP_HDR_DATE] = { "Date", 0, false, true },
	[SP_HDR_PATH] = { "Path", 0, true, false },
	[SP_HDR_SUBJECT] = { "Subject", 's', false, false },
	[SP_HDR_EVENT] = { "Event", 'o', false, true },
	[SP_HDR_ALLOW_EVENTS] = { "Allow-Events", 'u', true, false },
	[SP_HDR_REFER_TO] = { "Refer-To", 'r', false, true },
	[SP_HDR_REFERRED_BY] = { "Referred-By", 'b', false, true },
	[SP_HDR_SESSION_EXPIRES] = { "Session-Expires", 'x', false, true },
	[SP_HDR_WARNING] = { "Warning", 0, true, false },
	[SP_HDR_TIMESTAMP] = { "Timestamp", 0, false, true },
	[SP_HDR_CALL_INFO] = { "Call-Info", 0, true, false },
	[SP_HDR_ACCEPT] = { "Accept", 0, true, false },
};

/* Compact forms by letter (RFC 3261 section 7.3.3 and later RFCs). */
static enum sp_hdr_id compact_of(char c)
{
	switch (sp_lower(c)) {
	case 'i': return SP_HDR_CALL_ID;
	case 'f': return SP_HDR_FROM;
	case 't': return SP_HDR_TO;
	case 'v': return SP_HDR_VIA;
	case 'm': return SP_HDR_CONTACT;
	case 'l': return SP_HDR_CONTENT_LENGTH;
	case 'c': return SP_HDR_CONTENT_TYPE;
	case 'k': return SP_HDR_SUPPORTED;
	case 's': return SP_HDR_SUBJECT;
	case 'e': return SP_HDR_CONTENT_ENCODING;
	case 'o': return SP_HDR_EVENT;
	case 'u': return SP_HDR_ALLOW_EVENTS;
	case 'r': return SP_HDR_REFER_TO;
	case 'b': return SP_HDR_REFERRED_BY;
	case 'x': return SP_HDR_SESSION_EXPIRES;
	case 'y': return SP_HDR_IDENTITY;
	default: return SP_HDR_OTHER;
	}
}

/* Names are looked up on every header line of every message, so they are
 * bucketed by (length, first letter) once at start-up; a bucket holds at
 * most a few names, compared in full. */
#define BUCKET_LEN 24
#define BUCKET_IDS 3
static uint8_t buckets[BUCKET_LEN][26][BUCKET_IDS];
static char lower_names[SP_HDR__COUNT][BUCKET_LEN];

__attribute__((constructor)) static void build_buckets(void)
{
	for (int id = 1; id < SP_HDR__COUNT; id++) {
		size_t len = strlen(defs[id].name);
		for (size_t i = 0; i < len; i++)
			lower_names[id][i] = sp_lower(defs[id].name[i]);
		int c = sp_lower(defs[id].name[0]) - 'a';
		uint8_t *b = buckets[len][c];
		for (int k = 0; k < BUCKET_IDS; k++)
			if (!b[k]) {
				b[k] = (uint8_t)id;
				break;
			}
	}
}

enum sp_hdr_id sp_hdr_lookup(struct sp_str name)
{
	if (name.len == 1)
		return compact_of(name.p[0]);
	int c = sp_lower(name.p[0]) - 'a';
	if (name.len >= BUCKET_LEN || c < 0 || c >= 26)
		return SP_HDR_OTHER;
	const uint8_t *b = buckets[name.len][c];
	if (!b[0])
		return SP_HDR_OTHER;
	/* Known names hold only letters and '-', for which OR-ing 0x20 is
	 * lowering; no other token byte turns into a letter or '-' by it. */
	for (int k = 0; k < BUCKET_IDS && b[k]; k++) {
		const char *n = lower_names[b[k]];
		unsigned diff = 0;
		for (size_t i = 1; i < name.len; i++)
			diff |= (unsigned char)((name.p[i] | 0x20) ^ n[i]);
		if (diff == 0)
			return (enum sp_hdr_id)b[k];
	}
	return SP_HDR_OTHER;
}

const char *sp_hdr_name(enum sp_hdr_id id)
{
	return (unsigned)id < SP_HDR__COUNT ? defs[id].name : "";
}

bool sp_hdr_is_list(enum sp_hdr_id id)
{
	return (unsigned)id < SP_HDR__COUNT && defs[id].list;
}

bool sp_hdr_is_single(enum sp_hdr_id id)
{
	return (unsigned)id < SP_HDR__COUNT && defs[id].single;
}
