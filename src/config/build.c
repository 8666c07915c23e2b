/* build.c: the configuration contract (DESIGN.md section 3): each section's keys, types, defaults and cross-checks. */
#include <arpa/inet.h>
#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_int.h"
#include "config/values.h"
#include "core/err.h"
#include "sip/uri.h"

/* Key order in each table is the order of the slots filled by sp_cfg_map. */
enum { K_LISTEN, K_TLS, K_STORE, K_DOMAINS, K_NUMBERS, K_TRUSTED, K_USERS, K_NUMBERING,
       K_ROUTES, K_PEERS, K_FEDERATIONS, K_ENUM, K_CONTROL, K_LOG, K_REGISTRAR, K_AUTH,
       K_LIMITS, K_TIMERS, K_WORKERS, K_PEERING, K_CDR, K_TOP_N };
static const char *const top_keys[] = { "listen",  "tls",     "store",     "domains",
					"numbers", "trusted", "users",     "numbering",
					"routes",  "peers",   "federations", "enum",
					"control", "log",     "registrar", "auth",
					"limits",  "timers",  "workers",   "peering",
					"cdr",     NULL };

/* Checked values of a string list. */
typedef const char *(*check_fn)(struct sp_str s);

static const char *check_hostname(struct sp_str s)
{
	return sp_cfg_check_hostname(s, false);
}

static const char *check_san(struct sp_str s)
{
	return sp_cfg_check_hostname(s, true);
}

static const char *check_number_prefix(struct sp_str s)
{
	return sp_cfg_check_e164(s, 1);
}

/* A digest realm is a quoted-string on the wire: printable, no quote or
 * backslash, so it never needs escaping. */
static const char *check_realm(struct sp_str s)
{
	size_t i;

	if (s.len == 0 || s.len > 128)
		return "must be 1..128 characters";
	for (i = 0; i < s.len; i++)
		if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f || s.p[i] == '"' ||
		    s.p[i] == '\\')
			return "no control characters, quotes or backslashes";
	return NULL;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* A list of strings, each checked; lower-cased when fold (DNS names). */
static void str_list(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, const char *key,
		     check_fn check, bool fold, char ***out, size_t *count)
{
	size_t mark = sp_cfg_push(ld, key), n, i = 0, ok = 0;
	void *it = NULL;
	char **v;

	if (!sp_cfg_list(ld, s, &n) || n == 0)
		goto out;
	v = sp_cfg_alloc(ld, n * sizeof(*v));
	if (!v)
		goto out;
	for (i = 0; i < n; i++) {
		struct sp_cfg_slot item = sp_cfg_item(s, &it);
		size_t m = sp_cfg_push_index(ld, i);
		struct sp_str t;
		const char *why;

		if (sp_cfg_scalar(ld, &item, "a string", &t)) {
			why = check ? check(t) : (t.len ? NULL : "must not be empty");
			if (why) {
				sp_cfg_err(ld, &item, "\"%.*s\": %s", (int)(t.len > 80 ? 80 : t.len),
					   t.p, why);
			} else {
				v[ok] = sp_cfg_strdup(ld, t.p, t.len);
				if (v[ok] && fold)
					lower(v[ok]);
				ok++;
			}
		}
		sp_cfg_pop(ld, m);
	}
	*out = v;
	*count = ok;
out:
	sp_cfg_pop(ld, mark);
}

/* A path, relative to the configuration file's directory when loaded from
 * a file; kept as written otherwise. */
static void path_value(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, char **out)
{
	struct sp_str t;
	char *p;
	size_t bl;

	if (!sp_cfg_scalar(ld, s, "a path", &t))
		return;
	if (t.len == 0) {
		sp_cfg_err(ld, s, "must not be empty");
		return;
	}
	if (!ld->base || t.p[0] == '/') {
		*out = sp_cfg_strdup(ld, t.p, t.len);
		return;
	}
	bl = strlen(ld->base);
	p = sp_cfg_alloc(ld, bl + 1 + t.len + 1);
	if (!p)
		return;
	memcpy(p, ld->base, bl);
	p[bl] = '/';
	memcpy(p + bl + 1, t.p, t.len);
	*out = p;
}

/* A key of a mapping: its slot's value is checked under path key. */
#define WITH_KEY(ld, key, stmt)                       \
	do {                                          \
		size_t mark_ = sp_cfg_push((ld), (key)); \
		stmt;                                 \
		sp_cfg_pop((ld), mark_);              \
	} while (0)

static bool sockaddr_same(const struct sp_sockaddr *a, const struct sp_sockaddr *b)
{
	if (a->u.sa.sa_family != b->u.sa.sa_family)
		return false;
	if (a->u.sa.sa_family == AF_INET)
		return a->u.in.sin_port == b->u.in.sin_port &&
		       a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
	return a->u.in6.sin6_port == b->u.in6.sin6_port &&
	       memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
}

/* --- listen ----------------------------------------------------------- */

static const char *parse_listen_uri(struct sp_str s, enum sp_proto *proto,
				    struct sp_sockaddr *addr)
{
	static const struct {
		const char *scheme;
		enum sp_proto proto;
	} schemes[] = { { "udp://", SP_PROTO_UDP },
			{ "tcp://", SP_PROTO_TCP },
			{ "tls://", SP_PROTO_TLS } };
	size_t i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (sp_str_has_prefix_case(s, schemes[i].scheme)) {
			size_t sl = strlen(schemes[i].scheme);

			*proto = schemes[i].proto;
			return sp_cfg_parse_hostport(sp_str_make(s.p + sl, s.len - sl), addr);
		}
	}
	return "expected udp://, tcp:// or tls:// followed by address:port";
}

static void listen_entry(struct sp_cfg_ld *ld, const struct sp_cfg_slot *item,
			 struct sp_config_listen *l, struct sp_cfg_slot *at, bool *ok)
{
	static const char *const keys[] = { "uri", "role", NULL };
	struct sp_cfg_slot slots[2], uri_slot = *item;
	struct sp_str t;
	const char *why;

	*ok = false;
	l->role = SP_ROLE_ACCESS;
	if (!sp_cfg_is_null(item) && fy_node_is_mapping(item->val)) {
		if (!sp_cfg_map(ld, item, keys, slots))
			return;
		if (slots[1].set) {
			WITH_KEY(ld, "role", {
				if (sp_cfg_scalar(ld, &slots[1], "access or peering", &t)) {
					if (sp_str_eq_c(t, "peering"))
						l->role = SP_ROLE_PEERING;
					else if (!sp_str_eq_c(t, "access"))
						sp_cfg_err(ld, &slots[1],
							   "expected access or peering, got \"%.*s\"",
							   (int)(t.len > 40 ? 40 : t.len), t.p);
				}
			});
		}
		if (!slots[0].set) {
			sp_cfg_err(ld, item, "uri is required");
			return;
		}
		uri_slot = slots[0];
	}
	*at = uri_slot;
	if (!sp_cfg_scalar(ld, &uri_slot, "a listen URI", &t))
		return;
	why = parse_listen_uri(t, &l->proto, &l->addr);
	/* The address is written into Via and Record-Route, where a wildcard
	 * means nothing to the other side. */
	if (!why && ((l->addr.u.sa.sa_family == AF_INET && l->addr.u.in.sin_addr.s_addr == 0) ||
		     (l->addr.u.sa.sa_family == AF_INET6 &&
		      IN6_IS_ADDR_UNSPECIFIED(&l->addr.u.in6.sin6_addr))))
		why = "a wildcard address cannot be advertised in Via and Record-Route: name the "
		      "interface's address (one entry per address)";
	if (why) {
		sp_cfg_err(ld, &uri_slot, "bad listen URI \"%.*s\": %s",
			   (int)(t.len > 80 ? 80 : t.len), t.p, why);
		return;
	}
	l->uri = sp_cfg_strdup(ld, t.p, t.len);
	*ok = l->uri != NULL;
}

static void build_listen(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s,
			 struct sp_cfg_slot **where)
{
	struct sp_config *cfg = ld->cfg;
	size_t mark = sp_cfg_push(ld, "listen"), n, i, j;
	void *it = NULL;

	if (!sp_cfg_list(ld, s, &n) || n == 0)
		goto out;
	cfg->listen = sp_cfg_alloc(ld, n * sizeof(*cfg->listen));
	*where = calloc(n, sizeof(**where));
	if (!cfg->listen || !*where) {
		ld->oom = true;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct sp_cfg_slot item = sp_cfg_item(s, &it), at = item;
		struct sp_config_listen *l = &cfg->listen[cfg->listen_count];
		size_t m = sp_cfg_push_index(ld, i);
		bool ok;

		listen_entry(ld, &item, l, &at, &ok);
		if (ok) {
			/* TCP and TLS share one socket space: same address twice is a
			 * bind failure at start; say it here instead. */
			for (j = 0; j < cfg->listen_count; j++) {
				const struct sp_config_listen *o = &cfg->listen[j];

				if ((o->proto == SP_PROTO_UDP) == (l->proto == SP_PROTO_UDP) &&
				    sockaddr_same(&o->addr, &l->addr)) {
					sp_cfg_err(ld, &at, "\"%s\" uses the same socket as \"%s\" (line %u)",
						   l->uri, o->uri, sp_cfg_line(&(*where)[j]));
					ok = false;
					break;
				}
			}
		}
		if (ok)
			(*where)[cfg->listen_count++] = item;
		sp_cfg_pop(ld, m);
	}
out:
	sp_cfg_pop(ld, mark);
}

/* --- small sections --------------------------------------------------- */

static void build_tls(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	static const char *const keys[] = { "cert", "key", "ca", NULL };
	struct sp_cfg_slot sl[3];
	size_t mark = sp_cfg_push(ld, "tls");

	if (sp_cfg_map(ld, s, keys, sl)) {
		if (sl[0].set)
			WITH_KEY(ld, "cert", path_value(ld, &sl[0], &ld->cfg->tls.cert));
		if (sl[1].set)
			WITH_KEY(ld, "key", path_value(ld, &sl[1], &ld->cfg->tls.key));
		if (sl[2].set)
			WITH_KEY(ld, "ca", path_value(ld, &sl[2], &ld->cfg->tls.ca));
		if (sl[0].set != sl[1].set)
			sp_cfg_err(ld, s, "cert and key go together: give both or neither");
	}
	sp_cfg_pop(ld, mark);
}

static void build_store(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	struct sp_config_store *st = &ld->cfg->store;
	size_t mark = sp_cfg_push(ld, "store");
	struct sp_str t;

	if (!sp_cfg_scalar(ld, s, "sqlite:PATH or redis://host:port", &t))
		goto out;
	if (sp_str_has_prefix_case(t, "sqlite:")) {
		const char *p = t.p + 7;
		size_t len = t.len - 7;

		if (len == 0) {
			sp_cfg_err(ld, s, "sqlite: needs a file name, e.g. sqlite:sipeer.db");
			goto out;
		}
		st->kind = SP_CONFIG_STORE_SQLITE;
		if (!ld->base || p[0] == '/') {
			st->path = sp_cfg_strdup(ld, p, len);
		} else {
			size_t bl = strlen(ld->base);

			st->path = sp_cfg_alloc(ld, bl + 1 + len + 1);
			if (st->path) {
				memcpy(st->path, ld->base, bl);
				st->path[bl] = '/';
				memcpy(st->path + bl + 1, p, len);
			}
		}
	} else if (sp_str_has_prefix_case(t, "redis://")) {
		struct sp_str hp = sp_str_make(t.p + 8, t.len - 8), host = SP_STR_NULL;
		const char *why = NULL;
		struct sp_sockaddr a;

		if (hp.len && hp.p[hp.len - 1] == '/')
			hp.len--;
		if (hp.len && hp.p[0] == '[') {
			why = sp_cfg_parse_hostport(hp, &a);
			if (!why) {
				const char *close = memchr(hp.p, ']', hp.len);

				host = sp_str_make(hp.p + 1, (size_t)(close - hp.p) - 1);
				st->port = ntohs(a.u.in6.sin6_port);
			}
		} else {
			ptrdiff_t colon = sp_str_chr(hp, ':');

			if (colon < 0) {
				why = "missing :port";
			} else {
				host = sp_str_make(hp.p, (size_t)colon);
				if (sp_cfg_parse_ip(host, &a) != NULL)
					why = sp_cfg_check_hostname(host, false);
				if (!why)
					why = sp_cfg_parse_port(sp_str_make(hp.p + colon + 1,
									    hp.len - (size_t)colon - 1),
								&st->port);
			}
		}
		if (why) {
			sp_cfg_err(ld, s, "bad redis address \"%.*s\": %s",
				   (int)(t.len > 80 ? 80 : t.len), t.p, why);
			goto out;
		}
		st->kind = SP_CONFIG_STORE_REDIS;
		st->host = sp_cfg_strdup(ld, host.p, host.len);
	} else {
		sp_cfg_err(ld, s, "expected sqlite:PATH or redis://host:port, got \"%.*s\"",
			   (int)(t.len > 80 ? 80 : t.len), t.p);
	}
out:
	sp_cfg_pop(ld, mark);
}

static void build_trusted(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, const char *key,
			  struct sp_cidr **out, size_t *count)
{
	size_t mark = sp_cfg_push(ld, key), n, i;
	void *it = NULL;

	if (!sp_cfg_list(ld, s, &n) || n == 0)
		goto out;
	*out = sp_cfg_alloc(ld, n * sizeof(**out));
	if (!*out)
		goto out;
	for (i = 0; i < n; i++) {
		struct sp_cfg_slot item = sp_cfg_item(s, &it);
		size_t m = sp_cfg_push_index(ld, i);
		struct sp_str t;
		const char *why;

		if (sp_cfg_scalar(ld, &item, "a CIDR", &t)) {
			why = sp_cfg_parse_cidr(t, &(*out)[*count]);
			if (why)
				sp_cfg_err(ld, &item, "bad CIDR \"%.*s\": %s",
					   (int)(t.len > 80 ? 80 : t.len), t.p, why);
			else
				(*count)++;
		}
		sp_cfg_pop(ld, m);
	}
out:
	sp_cfg_pop(ld, mark);
}

/* A scalar that must satisfy check; copied into *out. */
static void checked_str(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, const char *key,
			check_fn check, char **out)
{
	size_t mark = sp_cfg_push(ld, key);
	struct sp_str t;
	const char *why;

	if (sp_cfg_scalar(ld, s, "a string", &t)) {
		why = check(t);
		if (why)
			sp_cfg_err(ld, s, "\"%.*s\": %s", (int)(t.len > 80 ? 80 : t.len), t.p, why);
		else
			*out = sp_cfg_strdup(ld, t.p, t.len);
	}
	sp_cfg_pop(ld, mark);
}

static const char *check_user(struct sp_str s)
{
	return sp_cfg_check_user(s);
}

static const char *check_number(struct sp_str s)
{
	return sp_cfg_check_e164(s, 1);
}

static void build_users(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	static const char *const keys[] = { "user", "password", "number", NULL };
	struct sp_config *cfg = ld->cfg;
	size_t mark = sp_cfg_push(ld, "users"), n, i, j;
	struct sp_cfg_slot (*where)[3] = NULL;
	void *it = NULL;

	if (!sp_cfg_list(ld, s, &n) || n == 0)
		goto out;
	cfg->users = sp_cfg_alloc(ld, n * sizeof(*cfg->users));
	where = calloc(n, sizeof(*where));
	if (!cfg->users || !where) {
		ld->oom = true;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct sp_cfg_slot item = sp_cfg_item(s, &it), sl[3];
		struct sp_config_user *u = &cfg->users[cfg->user_count];
		size_t m = sp_cfg_push_index(ld, i);
		bool ok = true;

		if (!sp_cfg_map(ld, &item, keys, sl))
			goto next;
		if (!sl[0].set) {
			sp_cfg_err(ld, &item, "user is required");
			ok = false;
		} else {
			checked_str(ld, &sl[0], "user", check_user, &u->user);
			ok = ok && u->user;
		}
		if (!sl[1].set) {
			sp_cfg_err(ld, &item, "password is required");
			ok = false;
		} else {
			WITH_KEY(ld, "password", sp_cfg_string(ld, &sl[1], &u->password));
			ok = ok && u->password;
		}
		if (sl[2].set) {
			checked_str(ld, &sl[2], "number", check_number, &u->number);
			ok = ok && u->number;
		}
		for (j = 0; ok && j < cfg->user_count; j++) {
			const struct sp_config_user *o = &cfg->users[j];

			if (strcmp(o->user, u->user) == 0) {
				sp_cfg_err(ld, &sl[0], "duplicate user \"%s\" (first at line %u)",
					   u->user, sp_cfg_line(&where[j][0]));
				ok = false;
			} else if (u->number && o->number && strcmp(o->number, u->number) == 0) {
				sp_cfg_err(ld, &sl[2], "number %s is already user %s's (line %u)",
					   u->number, o->user, sp_cfg_line(&where[j][2]));
				ok = false;
			}
		}
		if (ok) {
			memcpy(where[cfg->user_count], sl, sizeof(sl));
			cfg->user_count++;
		} else {
			memset(u, 0, sizeof(*u));
		}
next:
		sp_cfg_pop(ld, m);
	}
out:
	free(where);
	sp_cfg_pop(ld, mark);
}

static const char *check_cc(struct sp_str s)
{
	return sp_cfg_check_digits(s, 1, 3) ? "a country code is 1 to 3 digits" : NULL;
}

static const char *check_prefix_digits(struct sp_str s)
{
	return sp_cfg_check_digits(s, 1, 6) ? "a dialling prefix is 1 to 6 digits" : NULL;
}

static void build_numbering(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	static const char *const keys[] = { "country_code", "national_prefix",
					    "international_prefix", NULL };
	struct sp_config_numbering *nb = &ld->cfg->numbering;
	struct sp_cfg_slot sl[3];
	size_t mark = sp_cfg_push(ld, "numbering");

	if (sp_cfg_map(ld, s, keys, sl)) {
		if (sl[0].set)
			checked_str(ld, &sl[0], "country_code", check_cc, &nb->country_code);
		if (sl[1].set)
			checked_str(ld, &sl[1], "national_prefix", check_prefix_digits,
				    &nb->national_prefix);
		if (sl[2].set)
			checked_str(ld, &sl[2], "international_prefix", check_prefix_digits,
				    &nb->international_prefix);
	}
	sp_cfg_pop(ld, mark);
}

/* --- peers, routes, federations --------------------------------------- */

/* A sip:/sips: URI naming a next hop; fills h when not NULL. */
static bool next_hop_uri(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, struct sp_str t,
			 struct sp_config_host *h)
{
	struct sp_config_host tmp;
	struct sp_uri u;
	struct sp_str tp;
	const char *why = NULL;

	memset(&tmp, 0, sizeof(tmp));
	if (sp_uri_parse(t, &u) != 0)
		why = "not a valid SIP URI";
	else if (u.scheme_id != SP_URI_SIP && u.scheme_id != SP_URI_SIPS)
		why = "the scheme must be sip: or sips:";
	else if (u.user.len)
		why = "a next hop has no user part";
	else if (u.headers.len)
		why = "a next hop has no ?headers";
	else if (u.port_str.len && u.port == 0)
		why = "port must be 1..65535";
	if (!why) {
		tmp.proto = u.scheme_id == SP_URI_SIPS ? SP_PROTO_TLS : SP_PROTO_UDP;
		if (sp_uri_param(&u, "transport", &tp) == 0) {
			tmp.has_transport = true;
			if (sp_str_caseeq_c(tp, "udp"))
				tmp.proto = SP_PROTO_UDP;
			else if (sp_str_caseeq_c(tp, "tcp"))
				tmp.proto = SP_PROTO_TCP;
			else if (sp_str_caseeq_c(tp, "tls"))
				tmp.proto = SP_PROTO_TLS;
			else
				why = "transport must be udp, tcp or tls";
			if (!why && u.scheme_id == SP_URI_SIPS && tmp.proto == SP_PROTO_UDP)
				why = "sips: cannot use transport=udp";
			if (!why && u.scheme_id == SP_URI_SIPS)
				tmp.proto = SP_PROTO_TLS;
		}
	}
	if (why) {
		sp_cfg_err(ld, s, "bad SIP URI \"%.*s\": %s", (int)(t.len > 80 ? 80 : t.len), t.p,
			   why);
		return false;
	}
	if (!h)
		return true;
	tmp.port = u.port;
	if (u.host_type == SP_HOST_IPV6 || u.host_type == SP_HOST_IPV4) {
		struct sp_str host = u.host;

		if (u.host_type == SP_HOST_IPV6 && host.len >= 2)
			host = sp_str_make(host.p + 1, host.len - 2);
		if (sp_cfg_parse_ip(host, &tmp.addr) == NULL) {
			tmp.numeric = true;
			sp_cfg_set_port(&tmp.addr, u.port ? u.port
						     : tmp.proto == SP_PROTO_TLS ? 5061 : 5060);
		}
		tmp.host = sp_cfg_strdup(ld, host.p, host.len);
	} else {
		tmp.host = sp_cfg_strdup(ld, u.host.p, u.host.len);
		if (tmp.host)
			lower(tmp.host);
	}
	tmp.uri = sp_cfg_strdup(ld, t.p, t.len);
	*h = tmp;
	return tmp.uri && tmp.host;
}

static void peer_hosts(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, struct sp_config_peer *p)
{
	size_t mark = sp_cfg_push(ld, "hosts"), n, i;
	void *it = NULL;

	if (!sp_cfg_list(ld, s, &n) || n == 0)
		goto out;
	p->hosts = sp_cfg_alloc(ld, n * sizeof(*p->hosts));
	if (!p->hosts)
		goto out;
	for (i = 0; i < n; i++) {
		struct sp_cfg_slot item = sp_cfg_item(s, &it);
		size_t m = sp_cfg_push_index(ld, i);
		struct sp_str t;

		if (sp_cfg_scalar(ld, &item, "a SIP URI", &t) &&
		    next_hop_uri(ld, &item, t, &p->hosts[p->host_count]))
			p->host_count++;
		sp_cfg_pop(ld, m);
	}
out:
	sp_cfg_pop(ld, mark);
}

static void build_peer(struct sp_cfg_ld *ld, const struct sp_cfg_slot *item,
		       struct sp_config_peer *p, struct sp_cfg_slot *name_at)
{
	static const char *const keys[] = { "name",        "domains", "numbers", "hosts",
					    "sources",     "certificate", "trust", "transit",
					    NULL };
	static const char *const cert_keys[] = { "san", NULL };
	struct sp_cfg_slot sl[8], cs[1];
	struct sp_str t;

	if (!sp_cfg_map(ld, item, keys, sl))
		return;
	*name_at = sl[0];
	if (!sl[0].set)
		sp_cfg_err(ld, item, "name is required");
	else
		checked_str(ld, &sl[0], "name", sp_cfg_check_name, &p->name);
	if (sl[1].set)
		str_list(ld, &sl[1], "domains", check_hostname, true, &p->domains,
			 &p->domain_count);
	if (sl[2].set)
		str_list(ld, &sl[2], "numbers", check_number_prefix, false, &p->numbers,
			 &p->number_count);
	if (sl[3].set)
		peer_hosts(ld, &sl[3], p);
	if (sl[4].set)
		build_trusted(ld, &sl[4], "sources", &p->sources, &p->source_count);
	if (sl[5].set) {
		size_t mark = sp_cfg_push(ld, "certificate");

		if (sp_cfg_map(ld, &sl[5], cert_keys, cs) && cs[0].set)
			str_list(ld, &cs[0], "san", check_san, true, &p->san, &p->san_count);
		sp_cfg_pop(ld, mark);
	}
	if (sl[6].set) {
		size_t mark = sp_cfg_push(ld, "trust");

		if (sp_cfg_scalar(ld, &sl[6], "trusted or untrusted", &t)) {
			if (sp_str_eq_c(t, "trusted"))
				p->trusted = true;
			else if (!sp_str_eq_c(t, "untrusted"))
				sp_cfg_err(ld, &sl[6], "expected trusted or untrusted, got \"%.*s\"",
					   (int)(t.len > 40 ? 40 : t.len), t.p);
		}
		sp_cfg_pop(ld, mark);
	}
	if (sl[7].set)
		WITH_KEY(ld, "transit", sp_cfg_bool(ld, &sl[7], &p->transit));
}

static void build_peers(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	struct sp_config *cfg = ld->cfg;
	size_t mark = sp_cfg_push(ld, "peers"), n, i, j;
	struct sp_cfg_slot *names = NULL;
	void *it = NULL;

	if (!sp_cfg_list(ld, s, &n) || n == 0)
		goto out;
	cfg->peers = sp_cfg_alloc(ld, n * sizeof(*cfg->peers));
	names = calloc(n, sizeof(*names));
	if (!cfg->peers || !names) {
		ld->oom = true;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct sp_cfg_slot item = sp_cfg_item(s, &it), name_at = { NULL, NULL, false };
		struct sp_config_peer *p = &cfg->peers[cfg->peer_count];
		size_t m = sp_cfg_push_index(ld, i);
		bool ok;

		build_peer(ld, &item, p, &name_at);
		ok = p->name != NULL;
		for (j = 0; ok && j < cfg->peer_count; j++) {
			if (strcmp(cfg->peers[j].name, p->name) == 0) {
				sp_cfg_err(ld, &name_at, "duplicate peer \"%s\" (first at line %u)",
					   p->name, sp_cfg_line(&names[j]));
				ok = false;
			}
		}
		if (ok)
			names[cfg->peer_count++] = name_at;
		else
			memset(p, 0, sizeof(*p));
		sp_cfg_pop(ld, m);
	}
out:
	free(names);
	sp_cfg_pop(ld, mark);
}

ptrdiff_t sp_config_peer_find(const struct sp_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->peer_count; i++)
		if (strcmp(cfg->peers[i].name, name) == 0)
			return (ptrdiff_t)i;
	return -1;
}

static const char *check_route_prefix(struct sp_str s)
{
	return sp_cfg_check_e164(s, 0);
}

static bool build_route(struct sp_cfg_ld *ld, const struct sp_cfg_slot *item,
			struct sp_config_route *r)
{
	static const char *const keys[] = { "match", "to", NULL };
	static const char *const match_keys[] = { "prefix", "domain", "any", NULL };
	struct sp_cfg_slot sl[2], ms[3];
	struct sp_str t;
	bool ok = true, any;
	size_t mark;

	if (!sp_cfg_map(ld, item, keys, sl))
		return false;
	if (!sl[0].set) {
		sp_cfg_err(ld, item, "match is required");
		ok = false;
	} else {
		mark = sp_cfg_push(ld, "match");
		if (!sp_cfg_map(ld, &sl[0], match_keys, ms)) {
			ok = false;
		} else if (ms[0].set + ms[1].set + ms[2].set != 1) {
			sp_cfg_err(ld, &sl[0], "needs exactly one of prefix, domain or any");
			ok = false;
		} else if (ms[0].set) {
			r->match = SP_CONFIG_MATCH_PREFIX;
			checked_str(ld, &ms[0], "prefix", check_route_prefix, &r->value);
			ok = r->value != NULL;
		} else if (ms[1].set) {
			r->match = SP_CONFIG_MATCH_DOMAIN;
			checked_str(ld, &ms[1], "domain", check_hostname, &r->value);
			if (r->value)
				lower(r->value);
			ok = r->value != NULL;
		} else {
			r->match = SP_CONFIG_MATCH_ANY;
			WITH_KEY(ld, "any", {
				ok = sp_cfg_bool(ld, &ms[2], &any);
				if (ok && !any) {
					sp_cfg_err(ld, &ms[2], "only `any: true` is meaningful");
					ok = false;
				}
			});
		}
		sp_cfg_pop(ld, mark);
	}
	if (!sl[1].set) {
		sp_cfg_err(ld, item, "to is required");
		return false;
	}
	mark = sp_cfg_push(ld, "to");
	if (!sp_cfg_scalar(ld, &sl[1], "a destination", &t)) {
		ok = false;
	} else if (sp_str_eq_c(t, "enum")) {
		r->to = SP_CONFIG_TO_ENUM;
	} else if (sp_str_eq_c(t, "dns")) {
		r->to = SP_CONFIG_TO_DNS;
	} else if (sp_str_has_prefix_case(t, "peer:")) {
		ptrdiff_t idx;

		r->to = SP_CONFIG_TO_PEER;
		r->target = sp_cfg_strdup(ld, t.p + 5, t.len - 5);
		idx = r->target ? sp_config_peer_find(ld->cfg, r->target) : 0;
		if (idx < 0) {
			sp_cfg_err(ld, &sl[1], "route to unknown peer \"%s\"", r->target);
			ok = false;
		} else {
			r->peer = (size_t)idx;
		}
	} else if (sp_str_has_prefix_case(t, "sip:") || sp_str_has_prefix_case(t, "sips:")) {
		r->to = SP_CONFIG_TO_URI;
		if (next_hop_uri(ld, &sl[1], t, NULL))
			r->target = sp_cfg_strdup(ld, t.p, t.len);
		else
			ok = false;
	} else {
		sp_cfg_err(ld, &sl[1],
			   "expected a sip:/sips: URI, peer:NAME, enum or dns, got \"%.*s\"",
			   (int)(t.len > 80 ? 80 : t.len), t.p);
		ok = false;
	}
	sp_cfg_pop(ld, mark);
	return ok;
}

static void build_routes(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	struct sp_config *cfg = ld->cfg;
	size_t mark = sp_cfg_push(ld, "routes"), n, i;
	void *it = NULL;

	if (!sp_cfg_list(ld, s, &n) || n == 0)
		goto out;
	cfg->routes = sp_cfg_alloc(ld, n * sizeof(*cfg->routes));
	if (!cfg->routes)
		goto out;
	for (i = 0; i < n; i++) {
		struct sp_cfg_slot item = sp_cfg_item(s, &it);
		struct sp_config_route *r = &cfg->routes[cfg->route_count];
		size_t m = sp_cfg_push_index(ld, i);

		if (build_route(ld, &item, r))
			cfg->route_count++;
		else
			memset(r, 0, sizeof(*r));
		sp_cfg_pop(ld, m);
	}
out:
	sp_cfg_pop(ld, mark);
}

static void federation_members(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s,
			       struct sp_config_federation *f)
{
	size_t mark = sp_cfg_push(ld, "members"), n, i;
	void *it = NULL;

	if (!sp_cfg_list(ld, s, &n) || n == 0)
		goto out;
	f->members = sp_cfg_alloc(ld, n * sizeof(*f->members));
	f->member_peers = sp_cfg_alloc(ld, n * sizeof(*f->member_peers));
	if (!f->members || !f->member_peers)
		goto out;
	for (i = 0; i < n; i++) {
		struct sp_cfg_slot item = sp_cfg_item(s, &it);
		size_t m = sp_cfg_push_index(ld, i);
		struct sp_str t;

		if (sp_cfg_scalar(ld, &item, "a peer name", &t)) {
			char *name = sp_cfg_strdup(ld, t.p, t.len);
			ptrdiff_t idx = name ? sp_config_peer_find(ld->cfg, name) : 0;

			if (idx < 0) {
				sp_cfg_err(ld, &item, "federation member \"%s\" is not a configured peer",
					   name);
			} else if (name) {
				f->members[f->member_count] = name;
				f->member_peers[f->member_count++] = (size_t)idx;
			}
		}
		sp_cfg_pop(ld, m);
	}
out:
	sp_cfg_pop(ld, mark);
}

static void build_federation(struct sp_cfg_ld *ld, const struct sp_cfg_slot *item,
			     struct sp_config_federation *f, struct sp_cfg_slot *name_at)
{
	static const char *const keys[] = { "name", "members", "ca", "enum", "require", NULL };
	static const char *const req_keys[] = { "tls", NULL };
	struct sp_cfg_slot sl[5], rq[1];

	if (!sp_cfg_map(ld, item, keys, sl))
		return;
	*name_at = sl[0];
	if (!sl[0].set)
		sp_cfg_err(ld, item, "name is required");
	else
		checked_str(ld, &sl[0], "name", sp_cfg_check_name, &f->name);
	if (sl[1].set)
		federation_members(ld, &sl[1], f);
	if (sl[2].set)
		WITH_KEY(ld, "ca", path_value(ld, &sl[2], &f->ca));
	if (sl[3].set)
		str_list(ld, &sl[3], "enum", check_hostname, true, &f->enum_suffixes,
			 &f->enum_suffix_count);
	if (sl[4].set) {
		size_t mark = sp_cfg_push(ld, "require");

		if (sp_cfg_map(ld, &sl[4], req_keys, rq) && rq[0].set)
			WITH_KEY(ld, "tls", sp_cfg_bool(ld, &rq[0], &f->require_tls));
		sp_cfg_pop(ld, mark);
	}
}

static void build_federations(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	struct sp_config *cfg = ld->cfg;
	size_t mark = sp_cfg_push(ld, "federations"), n, i, j;
	struct sp_cfg_slot *names = NULL;
	void *it = NULL;

	if (!sp_cfg_list(ld, s, &n) || n == 0)
		goto out;
	cfg->federations = sp_cfg_alloc(ld, n * sizeof(*cfg->federations));
	names = calloc(n, sizeof(*names));
	if (!cfg->federations || !names) {
		ld->oom = true;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct sp_cfg_slot item = sp_cfg_item(s, &it), name_at = { NULL, NULL, false };
		struct sp_config_federation *f = &cfg->federations[cfg->federation_count];
		size_t m = sp_cfg_push_index(ld, i);
		bool ok;

		build_federation(ld, &item, f, &name_at);
		ok = f->name != NULL;
		for (j = 0; ok && j < cfg->federation_count; j++) {
			if (strcmp(cfg->federations[j].name, f->name) == 0) {
				sp_cfg_err(ld, &name_at,
					   "duplicate federation \"%s\" (first at line %u)", f->name,
					   sp_cfg_line(&names[j]));
				ok = false;
			}
		}
		if (ok)
			names[cfg->federation_count++] = name_at;
		else
			memset(f, 0, sizeof(*f));
		sp_cfg_pop(ld, m);
	}
out:
	free(names);
	sp_cfg_pop(ld, mark);
}

/* --- operational sections --------------------------------------------- */

static void hostport_value(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, const char *key,
			   struct sp_sockaddr *out, bool *set)
{
	size_t mark = sp_cfg_push(ld, key);
	struct sp_str t;
	const char *why;

	if (sp_cfg_scalar(ld, s, "host:port", &t)) {
		why = sp_cfg_parse_hostport(t, out);
		if (why)
			sp_cfg_err(ld, s, "bad address \"%.*s\": %s", (int)(t.len > 80 ? 80 : t.len),
				   t.p, why);
		else
			*set = true;
	}
	sp_cfg_pop(ld, mark);
}

static void default_suffixes(struct sp_cfg_ld *ld)
{
	struct sp_config_enum *e = &ld->cfg->enum_;

	e->suffixes = sp_cfg_alloc(ld, sizeof(char *));
	if (e->suffixes) {
		e->suffixes[0] = sp_cfg_strdup(ld, "e164.arpa", 9);
		e->suffix_count = 1;
	}
}

static void build_enum(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	static const char *const keys[] = { "resolver", "suffixes", "timeout_ms", "budget_ms",
					    "cache_size", NULL };
	struct sp_config_enum *e = &ld->cfg->enum_;
	struct sp_cfg_slot sl[5];
	size_t mark = sp_cfg_push(ld, "enum");

	if (sp_cfg_map(ld, s, keys, sl)) {
		if (sl[0].set && sl[0].val && fy_node_is_sequence(sl[0].val)) {
			/* Several resolvers: a list of addresses. */
			size_t n = 0, mark2 = sp_cfg_push(ld, "resolver");
			void *it = NULL;
			if (sp_cfg_list(ld, &sl[0], &n) && n > 4)
				sp_cfg_err(ld, &sl[0], "at most 4 resolvers");
			for (size_t i = 0; i < n && i < 4; i++) {
				struct sp_cfg_slot item = sp_cfg_item(&sl[0], &it);
				size_t m = sp_cfg_push_index(ld, i);
				struct sp_str t;
				const char *why;
				if (sp_cfg_scalar(ld, &item, "host:port", &t)) {
					why = sp_cfg_parse_hostport(t, &e->resolvers[e->resolver_count]);
					if (why)
						sp_cfg_err(ld, &item, "bad address \"%.*s\": %s",
							   (int)(t.len > 80 ? 80 : t.len), t.p, why);
					else
						e->resolver_count++;
				}
				sp_cfg_pop(ld, m);
			}
			sp_cfg_pop(ld, mark2);
		} else if (sl[0].set) {
			hostport_value(ld, &sl[0], "resolver", &e->resolvers[0], &e->has_resolver);
			e->resolver_count = e->has_resolver ? 1 : 0;
		}
		e->has_resolver = e->resolver_count > 0;
		if (e->has_resolver)
			e->resolver = e->resolvers[0];
		/* An explicit empty list turns public ENUM off. */
		if (sl[1].set)
			str_list(ld, &sl[1], "suffixes", check_hostname, true, &e->suffixes,
				 &e->suffix_count);
		else
			default_suffixes(ld);
		if (sl[2].set)
			WITH_KEY(ld, "timeout_ms", sp_cfg_u32(ld, &sl[2], 1, 60000, &e->timeout_ms));
		if (sl[3].set)
			WITH_KEY(ld, "budget_ms", sp_cfg_u32(ld, &sl[3], 1, 120000, &e->budget_ms));
		if (sl[4].set)
			WITH_KEY(ld, "cache_size", sp_cfg_u32(ld, &sl[4], 0, 10000000, &e->cache_size));
	}
	sp_cfg_pop(ld, mark);
}

static void build_control(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	static const char *const keys[] = { "listen", NULL };
	struct sp_cfg_slot sl[1];
	size_t mark = sp_cfg_push(ld, "control");

	if (sp_cfg_map(ld, s, keys, sl) && sl[0].set)
		hostport_value(ld, &sl[0], "listen", &ld->cfg->control_listen,
			       &ld->cfg->control_enabled);
	sp_cfg_pop(ld, mark);
}

static void build_log(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	static const char *const keys[] = { "level", NULL };
	static const char *const names[] = { "err", "warn", "notice", "info", "debug" };
	struct sp_cfg_slot sl[1];
	size_t mark = sp_cfg_push(ld, "log"), i;
	struct sp_str t;

	if (sp_cfg_map(ld, s, keys, sl) && sl[0].set) {
		size_t m = sp_cfg_push(ld, "level");

		if (sp_cfg_scalar(ld, &sl[0], "a log level", &t)) {
			for (i = 0; i < 5; i++)
				if (sp_str_caseeq_c(t, names[i]))
					break;
			if (i < 5)
				ld->cfg->log_level = (enum sp_log_level)(SP_LOG_ERR + (int)i);
			else
				sp_cfg_err(ld, &sl[0],
					   "expected err, warn, notice, info or debug, got \"%.*s\"",
					   (int)(t.len > 40 ? 40 : t.len), t.p);
		}
		sp_cfg_pop(ld, m);
	}
	sp_cfg_pop(ld, mark);
}

/* cdr: { file: PATH, max_duration: SECONDS, sync: BOOL }: call records as
 * JSON lines (besides the store), when an answered call without BYE is
 * closed, and whether each group of records waits for a disk sync. */
static void build_cdr(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	static const char *const keys[] = { "file", "max_duration", "sync", NULL };
	struct sp_cfg_slot sl[3];
	size_t mark = sp_cfg_push(ld, "cdr");

	if (sp_cfg_map(ld, s, keys, sl)) {
		if (sl[0].set)
			WITH_KEY(ld, "file", path_value(ld, &sl[0], &ld->cfg->cdr.file));
		if (sl[1].set)
			WITH_KEY(ld, "max_duration",
				 sp_cfg_u32(ld, &sl[1], 60, 7 * 86400, &ld->cfg->cdr.max_duration));
		if (sl[2].set)
			WITH_KEY(ld, "sync", sp_cfg_bool(ld, &sl[2], &ld->cfg->cdr.sync));
	}
	sp_cfg_pop(ld, mark);
}

/* peering: { refuse: drop | reject }: what a stranger on a peering
 * listener gets: nothing (the default), or a 403. */
static void build_peering(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	static const char *const keys[] = { "refuse", "probe_interval", NULL };
	struct sp_cfg_slot sl[2];
	size_t mark = sp_cfg_push(ld, "peering");
	struct sp_str t;

	if (!sp_cfg_map(ld, s, keys, sl)) {
		sp_cfg_pop(ld, mark);
		return;
	}
	if (sl[1].set)
		WITH_KEY(ld, "probe_interval",
			 sp_cfg_u32(ld, &sl[1], 0, 3600, &ld->cfg->peering_probe_interval));
	if (sl[0].set) {
		size_t m = sp_cfg_push(ld, "refuse");
		if (sp_cfg_scalar(ld, &sl[0], "drop or reject", &t)) {
			if (sp_str_caseeq_c(t, "drop"))
				ld->cfg->peering_refuse_reject = false;
			else if (sp_str_caseeq_c(t, "reject"))
				ld->cfg->peering_refuse_reject = true;
			else
				sp_cfg_err(ld, &sl[0], "expected drop or reject, got \"%.*s\"",
					   (int)(t.len > 40 ? 40 : t.len), t.p);
		}
		sp_cfg_pop(ld, m);
	}
	sp_cfg_pop(ld, mark);
}

/* Fills a group of u32 keys; each spec says its range. */
struct u32_key {
	const char *name;
	uint32_t min, max;
	uint32_t *dst;
};

static void u32_group(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, const char *section,
		      const struct u32_key *spec, size_t n, struct sp_cfg_slot *sl)
{
	const char *keys[8];
	size_t mark = sp_cfg_push(ld, section), i;

	for (i = 0; i < n && i < 7; i++)
		keys[i] = spec[i].name;
	keys[i] = NULL;
	if (sp_cfg_map(ld, s, keys, sl)) {
		for (i = 0; i < n; i++)
			if (sl[i].set)
				WITH_KEY(ld, spec[i].name,
					 sp_cfg_u32(ld, &sl[i], spec[i].min, spec[i].max, spec[i].dst));
	}
	sp_cfg_pop(ld, mark);
}

static void build_registrar(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	struct sp_config_registrar *r = &ld->cfg->registrar;
	const struct u32_key spec[] = {
		{ "min_expires", 1, 86400 * 365, &r->min_expires },
		{ "max_expires", 1, 86400 * 365, &r->max_expires },
		{ "default_expires", 1, 86400 * 365, &r->default_expires },
		{ "max_bindings", 1, 10000, &r->max_bindings },
		{ "commit_window_ms", 0, 1000, &r->commit_window_ms },
	};
	struct sp_cfg_slot sl[5];
	size_t mark;

	u32_group(ld, s, "registrar", spec, 5, sl);
	mark = sp_cfg_push(ld, "registrar");
	/* Point at the value the operator wrote, not at a default. */
	if (r->min_expires > r->max_expires) {
		sp_cfg_err(ld, sl[0].set ? &sl[0] : sl[1].set ? &sl[1] : s,
			   "min_expires (%u) is greater than max_expires (%u)", r->min_expires,
			   r->max_expires);
	} else if (r->default_expires < r->min_expires || r->default_expires > r->max_expires) {
		const struct sp_cfg_slot *at = sl[2].set ? &sl[2] :
					       r->default_expires < r->min_expires ? &sl[0] : &sl[1];

		sp_cfg_err(ld, at->set ? at : s,
			   "default_expires (%u) must lie between min_expires (%u) and max_expires (%u)",
			   r->default_expires, r->min_expires, r->max_expires);
	}
	sp_cfg_pop(ld, mark);
}

/* The digest algorithms a challenge may offer (RFC 8760 names). */
static const char *check_digest_alg(struct sp_str s)
{
	if (sp_str_caseeq_l(s, "MD5") || sp_str_caseeq_l(s, "SHA-256") ||
	    sp_str_caseeq_l(s, "SHA-512-256"))
		return NULL;
	return "is not a digest algorithm (MD5, SHA-256 or SHA-512-256)";
}

static void build_auth(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	static const char *const keys[] = { "realm", "nonce_ttl", "secret", "algorithms", NULL };
	struct sp_config_auth *a = &ld->cfg->auth;
	struct sp_cfg_slot sl[4];
	size_t mark = sp_cfg_push(ld, "auth");

	if (sp_cfg_map(ld, s, keys, sl)) {
		if (sl[0].set)
			checked_str(ld, &sl[0], "realm", check_realm, &a->realm);
		if (sl[1].set)
			WITH_KEY(ld, "nonce_ttl", sp_cfg_u32(ld, &sl[1], 1, 86400, &a->nonce_ttl));
		if (sl[2].set) {
			size_t m = sp_cfg_push(ld, "secret");
			struct sp_str t;

			if (sp_cfg_scalar(ld, &sl[2], "a string", &t)) {
				if (t.len < 16)
					sp_cfg_err(ld, &sl[2], "must be at least 16 characters");
				else
					a->secret = sp_cfg_strdup(ld, t.p, t.len);
			}
			sp_cfg_pop(ld, m);
		}
		if (sl[3].set) {
			str_list(ld, &sl[3], "algorithms", check_digest_alg, false, &a->algorithms,
				 &a->algorithm_count);
			if (a->algorithm_count == 0)
				sp_cfg_err(ld, &sl[3], "needs at least one algorithm");
		}
	}
	sp_cfg_pop(ld, mark);
}

static void build_limits(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	struct sp_config_limits *l = &ld->cfg->limits;
	const struct u32_key spec[] = {
		{ "transactions", 1, 10000000, &l->transactions },
		{ "connections", 1, 1000000, &l->connections },
		{ "connections_per_source", 1, 1000000, &l->connections_per_source },
		{ "stream_idle_timeout", 1, 86400, &l->stream_idle_timeout },
		{ "stream_message_size", 1024, 16 * 1024 * 1024, &l->stream_message_size },
	};
	struct sp_cfg_slot sl[5];
	size_t mark;

	u32_group(ld, s, "limits", spec, 5, sl);
	mark = sp_cfg_push(ld, "limits");
	if (l->connections_per_source > l->connections)
		sp_cfg_err(ld, sl[2].set ? &sl[2] : sl[1].set ? &sl[1] : s,
			   "connections_per_source (%u) is greater than connections (%u)",
			   l->connections_per_source, l->connections);
	sp_cfg_pop(ld, mark);
}

static void build_timers(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s)
{
	struct sp_config_timers *t = &ld->cfg->timers;
	const struct u32_key spec[] = {
		{ "t1", 1, 60000, &t->t1 },
		{ "t2", 1, 600000, &t->t2 },
		{ "t4", 1, 600000, &t->t4 },
	};
	struct sp_cfg_slot sl[3];
	size_t mark;

	u32_group(ld, s, "timers", spec, 3, sl);
	mark = sp_cfg_push(ld, "timers");
	/* RFC 3261 17.1.2.2: retransmissions double from T1 up to T2. */
	if (t->t1 > t->t2)
		sp_cfg_err(ld, sl[0].set ? &sl[0] : sl[1].set ? &sl[1] : s,
			   "t1 (%u ms) is greater than t2 (%u ms)", t->t1, t->t2);
	sp_cfg_pop(ld, mark);
}

static void set_defaults(struct sp_config *cfg)
{
	cfg->log_level = SP_LOG_NOTICE;
	cfg->registrar = (struct sp_config_registrar){ 60, 3600, 3600, 10, 5 };
	cfg->auth.nonce_ttl = 300;
	cfg->limits = (struct sp_config_limits){ 400000, 10000, 64, 120, 65536 };
	cfg->timers = (struct sp_config_timers){ 500, 4000, 5000 };
	cfg->workers = 1;
	cfg->enum_.timeout_ms = 800;
	cfg->enum_.budget_ms = 3000;
	cfg->enum_.cache_size = 10000;
	cfg->cdr.max_duration = 43200;
	cfg->peering_probe_interval = 10;
}

static char *dup_c(struct sp_cfg_ld *ld, const char *s)
{
	return sp_cfg_strdup(ld, s, strlen(s));
}

/* Defaults that depend on other keys, and checks across sections. */
static void finish(struct sp_cfg_ld *ld, const struct sp_cfg_slot *root,
		   const struct sp_cfg_slot *top, const struct sp_cfg_slot *listen_at)
{
	struct sp_config *cfg = ld->cfg;
	size_t i;

	if (!top[K_LISTEN].set)
		sp_cfg_err(ld, root, "listen is required (at least one udp://, tcp:// or tls:// socket)");
	else if (cfg->listen_count == 0 && ld->nerr == 0)
		sp_cfg_err(ld, &top[K_LISTEN], "listen: at least one socket is required");
	for (i = 0; i < cfg->listen_count; i++) {
		if (cfg->listen[i].proto == SP_PROTO_TLS && (!cfg->tls.cert || !cfg->tls.key)) {
			size_t mark = sp_cfg_push(ld, "listen");

			sp_cfg_push_index(ld, i);
			sp_cfg_err(ld, &listen_at[i], "tls listener \"%s\" needs tls.cert and tls.key",
				   cfg->listen[i].uri);
			sp_cfg_pop(ld, mark);
		}
	}
	if (!top[K_STORE].set) {
		cfg->store.kind = SP_CONFIG_STORE_SQLITE;
		if (ld->base) {
			size_t bl = strlen(ld->base);

			cfg->store.path = sp_cfg_alloc(ld, bl + sizeof("/sipeer.db"));
			if (cfg->store.path) {
				memcpy(cfg->store.path, ld->base, bl);
				memcpy(cfg->store.path + bl, "/sipeer.db", sizeof("/sipeer.db"));
			}
		} else {
			cfg->store.path = dup_c(ld, "sipeer.db");
		}
	}
	if (!cfg->numbering.national_prefix)
		cfg->numbering.national_prefix = dup_c(ld, "0");
	if (!cfg->numbering.international_prefix)
		cfg->numbering.international_prefix = dup_c(ld, "00");
	if (!top[K_ENUM].set)
		default_suffixes(ld);
	if (!cfg->auth.realm)
		cfg->auth.realm = dup_c(ld, cfg->domain_count ? cfg->domains[0] : "sipeer");
	if (!cfg->auth.secret && !ld->oom && !sp_cfg_random_secret(ld, &cfg->auth.secret))
		sp_cfg_err(ld, root, "cannot draw a random auth.secret; set one");
}

void sp_cfg_build(struct sp_cfg_ld *ld, const struct sp_cfg_slot *root)
{
	struct sp_config *cfg = ld->cfg;
	struct sp_cfg_slot top[K_TOP_N], *listen_at = NULL;
	bool had_secret;

	set_defaults(cfg);
	if (sp_cfg_is_null(root) || !fy_node_is_mapping(root->val)) {
		sp_cfg_err(ld, root, "the configuration must be a mapping of keys (listen, domains...)");
		return;
	}
	if (!sp_cfg_map(ld, root, top_keys, top))
		return;
	if (top[K_LISTEN].set)
		build_listen(ld, &top[K_LISTEN], &listen_at);
	if (top[K_TLS].set)
		build_tls(ld, &top[K_TLS]);
	if (top[K_STORE].set)
		build_store(ld, &top[K_STORE]);
	if (top[K_DOMAINS].set)
		str_list(ld, &top[K_DOMAINS], "domains", check_hostname, true, &cfg->domains,
			 &cfg->domain_count);
	if (top[K_NUMBERS].set)
		str_list(ld, &top[K_NUMBERS], "numbers", check_number_prefix, false, &cfg->numbers,
			 &cfg->number_count);
	if (top[K_TRUSTED].set)
		build_trusted(ld, &top[K_TRUSTED], "trusted", &cfg->trusted, &cfg->trusted_count);
	if (top[K_USERS].set)
		build_users(ld, &top[K_USERS]);
	if (top[K_NUMBERING].set)
		build_numbering(ld, &top[K_NUMBERING]);
	/* Peers first: routes and federations name them. */
	if (top[K_PEERS].set)
		build_peers(ld, &top[K_PEERS]);
	if (top[K_ROUTES].set)
		build_routes(ld, &top[K_ROUTES]);
	if (top[K_FEDERATIONS].set)
		build_federations(ld, &top[K_FEDERATIONS]);
	if (top[K_ENUM].set)
		build_enum(ld, &top[K_ENUM]);
	if (top[K_CONTROL].set)
		build_control(ld, &top[K_CONTROL]);
	if (top[K_LOG].set)
		build_log(ld, &top[K_LOG]);
	if (top[K_REGISTRAR].set)
		build_registrar(ld, &top[K_REGISTRAR]);
	if (top[K_AUTH].set)
		build_auth(ld, &top[K_AUTH]);
	if (top[K_LIMITS].set)
		build_limits(ld, &top[K_LIMITS]);
	if (top[K_TIMERS].set)
		build_timers(ld, &top[K_TIMERS]);
	if (top[K_WORKERS].set)
		WITH_KEY(ld, "workers", sp_cfg_u32(ld, &top[K_WORKERS], 1, 1024, &cfg->workers));
	if (top[K_PEERING].set)
		build_peering(ld, &top[K_PEERING]);
	if (top[K_CDR].set)
		build_cdr(ld, &top[K_CDR]);
	had_secret = cfg->auth.secret != NULL;
	finish(ld, root, top, listen_at);
	cfg->auth.secret_generated = !had_secret && cfg->auth.secret != NULL;
	free(listen_at);
}
