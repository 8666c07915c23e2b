/* config.h: the daemon's configuration: YAML load and validation, and the plain C form every layer reads. */
#ifndef SP_CONFIG_CONFIG_H
#define SP_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"
#include "transport/tp.h"

/* Caps: a configuration file larger than this is refused, not truncated. */
#define SP_CONFIG_FILE_MAX (1024 * 1024)
/* At most this many errors are kept; the rest are counted in `dropped`. */
#define SP_CONFIG_DIAG_MAX 64
#define SP_CONFIG_MSG_MAX 256
#define SP_CONFIG_NAME_MAX 1024
/* Longest scalar accepted anywhere (paths, URIs, passwords). */
#define SP_CONFIG_SCALAR_MAX 4096
/* Most items in any one list (users, routes, peers, their domains...). */
#define SP_CONFIG_LIST_MAX 100000

/* One error: 1-based line and column of the offending YAML node. */
struct sp_config_error {
	unsigned line;
	unsigned col;
	char msg[SP_CONFIG_MSG_MAX];
};

/* Every error of one load, sorted by position. The caller owns the struct
 * (it is plain storage, nothing to free); sp_config_load* reset it. */
struct sp_config_diag {
	char file[SP_CONFIG_NAME_MAX]; /* the name errors are reported under */
	size_t count;
	size_t dropped; /* errors beyond SP_CONFIG_DIAG_MAX */
	struct sp_config_error errors[SP_CONFIG_DIAG_MAX];
};

/* An address block: addr (port 0) and its prefix length (0..32 or 0..128).
 * Host bits beyond the prefix are always zero. */
struct sp_cidr {
	struct sp_sockaddr addr;
	unsigned prefix_len;
};

/* True when a's address (port ignored) lies in c. An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d, from a dual-stack socket) matches IPv4 blocks. */
bool sp_config_cidr_match(const struct sp_cidr *c, const struct sp_sockaddr *a);
/* True when a matches any of the n blocks. */
bool sp_config_cidr_match_any(const struct sp_cidr *c, size_t n, const struct sp_sockaddr *a);

/* One `listen` entry: one socket. */
struct sp_config_listen {
	char *uri; /* as written, e.g. "tls://127.0.0.1:5061" */
	enum sp_proto proto;
	enum sp_role role; /* SP_ROLE_ACCESS unless `role: peering` */
	struct sp_sockaddr addr; /* numeric address and port */
};

enum sp_config_store_kind {
	SP_CONFIG_STORE_SQLITE = 1,
	SP_CONFIG_STORE_REDIS = 2,
};

struct sp_config_store {
	enum sp_config_store_kind kind;
	char *path;     /* sqlite: the database file, resolved (see sp_config) */
	char *host;     /* redis: host as written (name or numeric, no brackets) */
	uint16_t port;  /* redis */
};

struct sp_config_user {
	char *user;     /* user part of the AoR, unescaped token */
	char *password; /* digest password, never empty */
	char *number;   /* E.164 "+digits", or NULL */
};

struct sp_config_numbering {
	char *country_code;         /* digits, or NULL when not configured */
	char *national_prefix;      /* digits, default "0" */
	char *international_prefix; /* digits, default "00" */
};

enum sp_config_match {
	SP_CONFIG_MATCH_PREFIX = 1, /* value: "+" and zero or more digits */
	SP_CONFIG_MATCH_DOMAIN = 2, /* value: hostname, lower case */
	SP_CONFIG_MATCH_ANY = 3,    /* value: NULL */
};

enum sp_config_to {
	SP_CONFIG_TO_URI = 1,  /* target: a sip:/sips: URI, checked with sp_uri_parse */
	SP_CONFIG_TO_PEER = 2, /* target: the peer's name; peer: its index in peers */
	SP_CONFIG_TO_ENUM = 3, /* ask the LUF (ENUM) */
	SP_CONFIG_TO_DNS = 4,  /* RFC 3263 on the Request-URI's host */
};

struct sp_config_route {
	enum sp_config_match match;
	char *value;
	enum sp_config_to to;
	char *target;
	size_t peer;
};

/* A peer's host: a SIP URI, checked, with its parts kept for the LRF. */
struct sp_config_host {
	char *uri;           /* as written */
	char *host;          /* host as written (IPv6 without brackets) */
	uint16_t port;       /* 0 when the URI has none (RFC 3263 decides) */
	enum sp_proto proto; /* ;transport=, else TLS for sips:, else UDP */
	bool has_transport;  /* ;transport= was given (RFC 3263 then skips NAPTR) */
	bool numeric;        /* host is an IP address: addr is set */
	struct sp_sockaddr addr; /* with port, or 5060/5061 when absent */
};

struct sp_config_peer {
	char *name;
	char **domains; /* lower case */
	size_t domain_count;
	char **numbers; /* "+digits" prefixes */
	size_t number_count;
	struct sp_config_host *hosts;
	size_t host_count;
	struct sp_cidr *sources;
	size_t source_count;
	char **san; /* certificate.san: DNS names, "*." allowed in front */
	size_t san_count;
	bool trusted; /* trust: trusted (default untrusted) */
	bool transit; /* default false */
};

struct sp_config_federation {
	char *name;
	char **members; /* peer names, each one configured */
	size_t *member_peers; /* their indexes in sp_config.peers */
	size_t member_count;
	char *ca; /* resolved path, or NULL */
	char **enum_suffixes;
	size_t enum_suffix_count;
	bool require_tls;
};

struct sp_config_enum {
	bool has_resolver; /* false: resolv.conf */
	struct sp_sockaddr resolver; /* the first of resolvers */
	struct sp_sockaddr resolvers[4]; /* asked in this order (c-ares rotates on failure) */
	size_t resolver_count;
	char **suffixes; /* default ["e164.arpa"] */
	size_t suffix_count;
	uint32_t timeout_ms; /* per query, default 800 */
	uint32_t budget_ms;  /* every look-up of one request together, default 3000 */
	uint32_t cache_size; /* cached answers, default 10000; 0: no cache */
};

struct sp_config_registrar {
	uint32_t min_expires;     /* 60 */
	uint32_t max_expires;     /* 3600 */
	uint32_t default_expires; /* 3600 */
	uint32_t max_bindings;    /* 10, per AoR */
	uint32_t commit_window_ms; /* 5: store writes gathered into one disk sync */
};

struct sp_config_auth {
	char *realm;           /* default: the first domain, else "sipeer" */
	uint32_t nonce_ttl;    /* seconds, 300 */
	char *secret;          /* at least 16 characters */
	bool secret_generated; /* true when random (absent from the file) */
	/* Offered in challenges ("MD5", "SHA-256", "SHA-512-256" as written);
	 * NULL/0: MD5 only (what every client can answer). */
	char **algorithms;
	size_t algorithm_count;
};

struct sp_config_limits {
	uint32_t transactions;           /* 400000 */
	uint32_t connections;            /* 10000 */
	uint32_t connections_per_source; /* 64 */
	uint32_t stream_idle_timeout;    /* seconds, 120 */
	uint32_t stream_message_size;    /* bytes, 65536 */
};

struct sp_config_timers {
	uint32_t t1, t2, t4; /* ms: 500, 4000, 5000 */
};

/* The whole configuration. Every pointer in it (strings, arrays) is owned
 * by the config and lives until sp_config_free; it is never modified after
 * load, so workers may read it without locks. Relative paths (tls.*,
 * federations[].ca, sqlite store) are resolved against the directory of the
 * file, made absolute; a configuration loaded from a string keeps them as
 * written (relative to the current directory). */
struct sp_config {
	char *name; /* the file or name it was loaded from */
	struct sp_config_listen *listen;
	size_t listen_count;
	struct {
		char *cert, *key, *ca; /* resolved paths, or NULL */
	} tls;
	struct sp_config_store store; /* default sqlite:sipeer.db */
	char **domains;               /* lower case */
	size_t domain_count;
	char **numbers;               /* "+digits" prefixes */
	size_t number_count;
	struct sp_cidr *trusted;
	size_t trusted_count;
	struct sp_config_user *users;
	size_t user_count;
	struct sp_config_numbering numbering;
	struct sp_config_route *routes;
	size_t route_count;
	struct sp_config_peer *peers;
	size_t peer_count;
	struct sp_config_federation *federations;
	size_t federation_count;
	struct sp_config_enum enum_;
	bool control_enabled; /* control.listen given */
	struct sp_sockaddr control_listen;
	enum sp_log_level log_level; /* default SP_LOG_NOTICE */
	struct sp_config_registrar registrar;
	struct sp_config_auth auth;
	struct sp_config_limits limits;
	struct sp_config_timers timers;
	uint32_t workers; /* default 1 */
	/* peering.refuse: a request on a peering listener from nobody we peer
	 * with is dropped silently (false, the default) or answered 403. */
	bool peering_refuse_reject;
	/* peering.probe_interval: seconds between OPTIONS probes of each peer
	 * host (default 10; 0: no probes, every host counts as up). */
	uint32_t peering_probe_interval;
	struct {
		char *file;            /* JSON lines, resolved path; NULL: the store only */
		uint32_t max_duration; /* seconds, default 43200 (12 h) */
		/* true: a group of call records is synced to disk like the
		 * bindings; false (default): written at once (it survives a
		 * kill -9), synced with the next binding or checkpoint. */
		bool sync;
	} cdr;
	void *mem_;       /* private: the allocations above */
};

/* sp_config_load reads and validates the YAML file at path. On success
 * returns 0 and sets *out (the caller frees it with sp_config_free). On
 * failure returns SP_EINVAL (every error is in diag), SP_ENOENT (the file
 * cannot be read; also in diag), SP_E2BIG (over SP_CONFIG_FILE_MAX) or
 * SP_ENOMEM. diag may be NULL; it is reset first and filled on any result. */
int sp_config_load(const char *path, struct sp_config **out, struct sp_config_diag *diag);

/* The same from memory: name is used in errors only; relative paths stay
 * as written. text need not be NUL-terminated. */
int sp_config_load_string(const char *name, const char *text, size_t len,
			  struct sp_config **out, struct sp_config_diag *diag);

/* The built-in configuration (identical to examples/sipeer.yaml), loaded
 * under the name "<built-in>". */
extern const char sp_config_default_yaml[];
int sp_config_load_default(struct sp_config **out, struct sp_config_diag *diag);

/* Frees a configuration and everything it owns; NULL is fine. */
void sp_config_free(struct sp_config *cfg);

/* Prints every error as "FILE:LINE:COL: message", one per line. */
void sp_config_diag_print(const struct sp_config_diag *diag, FILE *out);

/* `sipeer --check -c FILE`: loads and validates path, prints every error to
 * err and returns the exit status: 0 valid, 1 invalid or unreadable. */
int sp_config_check_cmd(const char *path, FILE *err);

/* The first peering listener (its index in cfg->listen, which is also the
 * transport's listener index) for a protocol and address family: what goes
 * to other providers leaves by the side that faces them. -1 if none. */
int sp_config_peering_listener(const struct sp_config *cfg, enum sp_proto proto, int family);

/* Index of the peer named name, or -1. */
ptrdiff_t sp_config_peer_find(const struct sp_config *cfg, const char *name);

#endif
