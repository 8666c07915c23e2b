/* enum_query.c: one number through the ENUM trees in order (RFC 6116 section 3), following non-terminal NAPTR rules to SP_ENUM_MAX_DEPTH. */
#include "dns/enum_query.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

struct sp_enum_query {
	struct sp_resolver *res;
	sp_enum_query_h cb;
	void *arg;
	sp_dns_trace_h trace;
	void *trace_arg;
	struct sp_enum_query **slot;
	struct sp_dns_query *q;
	const char *const *suffixes;
	size_t nsuffixes;
	char number[32];

	size_t suffix;    /* the tree being asked */
	unsigned depth;   /* non-terminal rules followed in this tree */
	char domain[SP_ENUM_URI_MAX + 1]; /* the name being asked */
	bool waiting, running, done, failed;
	struct sp_enum_query_result out;
};

static void trace(struct sp_enum_query *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void trace(struct sp_enum_query *e, const char *fmt, ...)
{
	char line[768];
	va_list ap;
	if (!e->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->trace(e->trace_arg, line);
}

static void advance(struct sp_enum_query *e);

/* The next tree, from its top. */
static void next_tree(struct sp_enum_query *e)
{
	e->suffix++;
	e->depth = 0;
	e->domain[0] = '\0';
}

static void on_dns(void *arg, const struct sp_dns_result *r)
{
	struct sp_enum_query *e = arg;
	const char *src = r->cached ? " (cached)" : "";
	e->waiting = false;

	if (r->status == SP_DNS_FAILED) {
		e->failed = true;
		trace(e, "  NAPTR %s: failed: %s", e->domain, r->why ? r->why : "no answer");
		next_tree(e);
	} else if (r->status == SP_DNS_NONAME || r->n == 0) {
		trace(e, "  NAPTR %s: %s%s", e->domain,
		      r->status == SP_DNS_NONAME ? "NXDOMAIN" : "no NAPTR records", src);
		next_tree(e);
	} else {
		struct sp_enum_choice ch[SP_ENUM_MAX_CHOICES];
		const struct sp_dns_answer *a = sp_dns_result_answer(r);
		size_t bad = 0;
		size_t n = sp_enum_choices(a, e->number, ch, SP_ENUM_MAX_CHOICES, &bad);
		trace(e, "  NAPTR %s: %zu record%s%s", e->domain, r->n, r->n == 1 ? "" : "s", src);
		for (size_t i = 0; i < a->n; i++) {
			const struct sp_dns_rr *rr = &a->rr[i];
			if (rr->type == SP_DNS_NAPTR)
				trace(e, "    order %u pref %u \"%s\" \"%s\" \"%s\" %s",
				      rr->u.naptr.order, rr->u.naptr.preference, rr->u.naptr.flags,
				      rr->u.naptr.services, rr->u.naptr.regexp,
				      rr->u.naptr.replacement[0] ? rr->u.naptr.replacement : ".");
		}
		if (bad)
			trace(e, "    %zu record%s with a regexp that does not apply", bad,
			      bad == 1 ? "" : "s");
		if (n == 0) {
			trace(e, "    no usable E2U+sip rule");
			next_tree(e);
		} else if (ch[0].kind == SP_ENUM_URI) {
			trace(e, "    chosen: order %u pref %u -> %s", ch[0].order, ch[0].preference,
			      ch[0].value);
			snprintf(e->out.uri, sizeof(e->out.uri), "%s", ch[0].value);
			e->out.suffix = e->suffix;
			e->done = true;
		} else if (++e->depth > SP_ENUM_MAX_DEPTH) {
			trace(e, "    non-terminal rule past depth %d: this tree gives up",
			      SP_ENUM_MAX_DEPTH);
			next_tree(e);
		} else {
			trace(e, "    non-terminal: order %u pref %u -> %s", ch[0].order,
			      ch[0].preference, ch[0].value);
			snprintf(e->domain, sizeof(e->domain), "%s", ch[0].value);
			size_t dl = strlen(e->domain);
			if (dl > 1 && e->domain[dl - 1] == '.')
				e->domain[dl - 1] = '\0'; /* absolute: the same name */
		}
	}
	advance(e);
}

static void step(struct sp_enum_query *e)
{
	if (e->suffix >= e->nsuffixes) {
		e->done = true;
		return;
	}
	if (!e->domain[0]) {
		int err = sp_enum_domain(e->number, e->suffixes[e->suffix], e->domain,
					 sizeof(e->domain));
		trace(e, "enum %s under %s", e->number, e->suffixes[e->suffix]);
		if (err) {
			trace(e, "  cannot make the domain: %s", sp_strerror(err));
			next_tree(e);
			return;
		}
	}
	e->waiting = true;
	int err = sp_resolver_query(e->res, e->domain, SP_DNS_NAPTR, on_dns, e, &e->q);
	if (err) {
		struct sp_dns_result r = { .status = SP_DNS_FAILED,
					   .why = err == SP_EINVAL ? "not a host name" : "resolver busy" };
		on_dns(e, &r);
	}
}

static void finish(struct sp_enum_query *e)
{
	if (!e->out.uri[0])
		e->out.status = e->failed ? SP_EAGAIN : SP_ENOENT;
	if (e->out.status)
		trace(e, "  -> no SIP URI for %s%s", e->number,
		      e->failed ? " (a tree could not be asked)" : "");
	*e->slot = NULL;
	sp_enum_query_h cb = e->cb;
	void *arg = e->arg;
	struct sp_enum_query_result r = e->out;
	free(e);
	cb(arg, &r);
}

static void advance(struct sp_enum_query *e)
{
	if (e->running)
		return;
	e->running = true;
	while (!e->done && !e->waiting)
		step(e);
	e->running = false;
	if (e->done && !e->waiting)
		finish(e);
}

int sp_enum_query_start(struct sp_resolver *res, const char *e164, const char *const *suffixes,
			size_t nsuffixes, sp_enum_query_h cb, void *arg, sp_dns_trace_h tr,
			void *trace_arg, struct sp_enum_query **slot)
{
	struct sp_enum_query *e = calloc(1, sizeof(*e));
	if (!e)
		return SP_ENOMEM;
	e->res = res;
	e->cb = cb;
	e->arg = arg;
	e->trace = tr;
	e->trace_arg = trace_arg;
	e->slot = slot;
	e->suffixes = suffixes;
	e->nsuffixes = nsuffixes;
	snprintf(e->number, sizeof(e->number), "%s", e164);
	*slot = e;
	advance(e);
	return 0;
}

void sp_enum_query_cancel(struct sp_enum_query **slot)
{
	struct sp_enum_query *e = slot ? *slot : NULL;
	if (!e)
		return;
	sp_dns_query_cancel(&e->q);
	*slot = NULL;
	free(e);
}
