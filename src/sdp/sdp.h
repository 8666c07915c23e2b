/* sdp.h: zero-copy parser and address/port rewriter for SDP session descriptions (RFC 8866). */
#ifndef SP_SDP_SDP_H
#define SP_SDP_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"

/* Fixed caps so parsing never allocates; crossing one is SP_E2BIG. */
#define SP_SDP_MAX_MEDIA 16
#define SP_SDP_MAX_ATTRS 64 /* per level (session, each media) */
#define SP_SDP_MAX_FMTS 64  /* per m= line */
#define SP_SDP_MAX_CONN 4   /* c= lines per media (layered multicast) */

/* Every struct sp_str below is a slice into the body given to sp_sdp_parse:
 * the caller keeps that body alive and unchanged while the result is used. */

struct sp_sdp_attr {
	struct sp_str name;
	struct sp_str value; /* empty when the attribute has no ':' (a flag) */
	bool has_value;
};

struct sp_sdp_attrs {
	struct sp_sdp_attr a[SP_SDP_MAX_ATTRS];
	size_t n;
};

/* c=<nettype> <addrtype> <connection-address> */
struct sp_sdp_conn {
	struct sp_str value;    /* the whole value after "c=" */
	struct sp_str nettype;  /* "IN" */
	struct sp_str addrtype; /* "IP4", "IP6" or another token */
	struct sp_str addr;     /* without any /ttl or /count suffix */
	struct sp_str rest;     /* addrtype through end of value: what a rewrite replaces */
	uint32_t ttl;           /* IP4 multicast /ttl, 0 when absent */
	uint32_t count;         /* /number of addresses, 0 when absent */
};

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
struct sp_sdp_origin {
	struct sp_str username;
	struct sp_str sess_id;
	struct sp_str sess_version;
	struct sp_str nettype;
	struct sp_str addrtype;
	struct sp_str addr;
};

/* m=<media> <port>[/<count>] <proto> <fmt> ... */
struct sp_sdp_media {
	struct sp_str type;  /* "audio", "video", ... */
	struct sp_str port_s; /* the port digits, for rewriting */
	uint16_t port;
	uint32_t port_count; /* 1 unless "/count" was given */
	struct sp_str proto; /* "RTP/AVP", "UDP/TLS/RTP/SAVPF", ... */
	struct sp_str fmts;  /* the whole format list */
	struct sp_str fmt[SP_SDP_MAX_FMTS];
	size_t nfmt;
	struct sp_sdp_conn conn[SP_SDP_MAX_CONN];
	size_t nconn; /* 0: the session-level c= applies */
	struct sp_sdp_attrs attrs;
	/* Where a rewrite may insert a media-level c= line (after m= and i=),
	 * and the line ending to give it (the m= line's own). */
	const char *conn_insert;
	struct sp_str eol;
};

struct sp_sdp {
	struct sp_str body;
	struct sp_sdp_origin origin;
	struct sp_str name; /* s= */
	bool has_conn;
	struct sp_sdp_conn conn; /* session-level c=, valid when has_conn */
	struct sp_sdp_attrs attrs;
	struct sp_sdp_media media[SP_SDP_MAX_MEDIA];
	size_t nmedia;
};

/* Parses body strictly by the RFC 8866 section 9 grammar (CRLF or bare LF).
 * Returns 0, SP_EINVAL or SP_E2BIG (a cap); on failure *why, when why is not
 * NULL, gets a static reason such as "SDP: bad c= line" and *sdp is
 * unspecified. struct sp_sdp is large (about 60 KiB): avoid small stacks. */
int sp_sdp_parse(struct sp_str body, struct sp_sdp *sdp, const char **why);

/* Finds the next attribute named name (case-insensitive) at index *iter or
 * later; on success sets *out to it and *iter past it. Start with *iter = 0.
 * Returns 0 or SP_ENOENT. */
int sp_sdp_attr_find(const struct sp_sdp_attrs *as, const char *name, size_t *iter,
		     const struct sp_sdp_attr **out);

/* The c= line in force for media i: its own first one, else the session's. */
const struct sp_sdp_conn *sp_sdp_media_conn(const struct sp_sdp *sdp, size_t i);

/* a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>] */
struct sp_sdp_rtpmap {
	uint8_t pt;            /* 0..127 */
	struct sp_str encoding; /* "PCMU", "opus", ... */
	uint32_t clock;
	uint32_t channels;     /* 1 when no encoding parameters are given */
	struct sp_str params;  /* the encoding parameters, empty when absent */
};
int sp_sdp_rtpmap_parse(struct sp_str value, struct sp_sdp_rtpmap *out);

/* a=fmtp:<format> <format specific parameters> */
struct sp_sdp_fmtp {
	struct sp_str format;
	struct sp_str params;
};
int sp_sdp_fmtp_parse(struct sp_str value, struct sp_sdp_fmtp *out);

/* a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605) */
struct sp_sdp_rtcp {
	struct sp_str port_s;
	uint16_t port;
	bool has_addr;
	struct sp_str nettype;
	struct sp_str addrtype;
	struct sp_str addr;
	struct sp_str rest; /* addrtype through end of value, when has_addr */
};
int sp_sdp_rtcp_parse(struct sp_str value, struct sp_sdp_rtcp *out);

enum sp_sdp_dir {
	SP_SDP_SENDRECV = 0,
	SP_SDP_SENDONLY,
	SP_SDP_RECVONLY,
	SP_SDP_INACTIVE,
};

/* The direction of media i: its own attribute, else the session's, else
 * sendrecv (RFC 8866 6.7). */
enum sp_sdp_dir sp_sdp_direction(const struct sp_sdp *sdp, size_t i);

/* What to change in media i. addr empty: keep the address; port < 0: keep
 * the port; rtcp_port < 0: port + 1 when the port changes, else keep. */
struct sp_sdp_rw_media {
	struct sp_str addr; /* "IP4" or "IP6" follows from whether it has a ':' */
	int32_t port;
	int32_t rtcp_port;
};

struct sp_sdp_rewrite {
	/* Replaces the session-level c= address (and the o= address when origin
	 * is set); empty: keep both. */
	struct sp_str session_addr;
	bool origin;
	struct sp_sdp_rw_media media[SP_SDP_MAX_MEDIA];
	size_t nmedia; /* entries beyond sdp->nmedia are ignored */
};

/* Appends to out a copy of the parsed body with the addresses and ports of rw
 * substituted; every other byte is copied unchanged. A media that relied on
 * the session c= but gets an address other than session_addr receives its
 * own c= line right after its m= (and i=) line. Multicast /ttl and /count
 * suffixes of a replaced address are dropped. Returns 0, SP_EINVAL (a bad
 * address or port in rw) or an sp_buf error; out may hold a partial body on
 * failure. out is the caller's. */
int sp_sdp_rewrite(const struct sp_sdp *sdp, const struct sp_sdp_rewrite *rw, struct sp_buf *out);

#endif
