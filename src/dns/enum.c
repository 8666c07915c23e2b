/* enum.c: ENUM look-up helpers: the e164.arpa domain of a number, the SIP enumservice test, the RFC 3402 rewrite and the choice among NAPTR records. */
#include "dns/enum.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

#define E164_DIGITS_MAX 15
#define ENUMSERVICE_PART_MAX 32 /* RFC 6116 section 3.4.3: type and subtype are 1*32 chars */
#define NMATCH 10               /* the whole match and \1..\9 */
#define ERE_DUP_MAX 255         /* the largest bound of an interval */
#define ERE_DEPTH_MAX 16        /* nested parentheses */
#define ERE_COST_MAX 1024       /* nodes of glibc's expanded tree, roughly */

int sp_enum_domain(const char *e164, const char *suffix, char *out, size_t size)
{
	size_t nd = 0, slen, need;

	if (!e164 || !suffix || e164[0] != '+')
		return SP_EINVAL;
	while (e164[1 + nd] >= '0' && e164[1 + nd] <= '9' && nd <= E164_DIGITS_MAX)
		nd++;
	if (nd == 0 || nd > E164_DIGITS_MAX || e164[1 + nd] != '\0')
		return SP_EINVAL;
	/* A configured "e164.arpa." means the same zone as "e164.arpa": names
	 * here carry no trailing dot. */
	slen = strlen(suffix);
	if (slen && suffix[slen - 1] == '.')
		slen--;
	if (suffix[0] == '.')
		return SP_EINVAL;
	need = nd * 2 + slen - (slen ? 0 : 1) + 1;
	if (need > size)
		return SP_E2BIG;
	for (size_t i = 0; i < nd; i++) {
		out[2 * i] = e164[nd - i];
		out[2 * i + 1] = '.';
	}
	memcpy(out + 2 * nd - (slen ? 0 : 1), suffix, slen);
	out[need - 1] = '\0';
	return 0;
}

/* One enumservice of the field, p[0..n): "type" or "type:subtype...", each
 * part 1..32 of ALPHA / DIGIT / "-". Returns -1 when malformed, 1 when the
 * type or one of its subtypes is "sip", else 0. */
static int enumservice_sip(const char *p, size_t n)
{
	int sip = 0;
	size_t i = 0;

	for (;;) {
		size_t s = i;
		while (i < n && p[i] != ':') {
			char c = p[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-'))
				return -1;
			i++;
		}
		if (i == s || i - s > ENUMSERVICE_PART_MAX)
			return -1;
		if (i - s == 3 && strncasecmp(p + s, "sip", 3) == 0)
			sip = 1;
		if (i == n)
			return sip;
		i++; /* the ':' */
	}
}

/* "sips" is not an enumservice of its own (RFC 3764 registers "sip"
 * only; a sips: URI comes out of the "sip" one), so "E2U+sips" is not a
 * SIP record: only an exact "sip" type or subtype counts. */
bool sp_enum_service_sip(const char *services)
{
	const char *tok[SP_DNS_NAPTR_SERVICES_MAX];
	size_t len[SP_DNS_NAPTR_SERVICES_MAX], k = 0, first, last;
	const char *p = services;
	bool sip = false;

	if (!services || strlen(services) >= SP_DNS_NAPTR_SERVICES_MAX)
		return false;
	for (;;) {
		const char *e = strchr(p, '+');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		tok[k] = p;
		len[k++] = n;
		if (!e)
			break;
		p = e + 1;
	}
	if (k < 2)
		return false;
	/* RFC 3761/6116: "E2U+a+b"; RFC 2916, obsolete but still met: "sip+E2U". */
	if (len[0] == 3 && strncasecmp(tok[0], "E2U", 3) == 0) {
		first = 1;
		last = k;
	} else if (len[k - 1] == 3 && strncasecmp(tok[k - 1], "E2U", 3) == 0) {
		first = 0;
		last = k - 1;
	} else {
		return false;
	}
	for (size_t i = first; i < last; i++) {
		int r = enumservice_sip(tok[i], len[i]);
		if (r < 0)
			return false;
		if (r)
			sip = true;
	}
	return sip;
}

/* Characters that have a meaning in an ERE: an escaped delimiter that is
 * one of them must stay escaped to remain a literal. */
static bool ere_special(char c)
{
	return c && strchr(".[]()*+?{}|^$\\", c) != NULL;
}

/* How far one scan of a bracket expression, from just after its '[', goes:
 * the index just past its ']', or 0 when it never ends. A ']' first (after
 * an optional '^') is a literal, and "[:", "[=", "[." open classes that end
 * with ":]", "=]", ".]". */
static size_t bracket_end(const char *s, size_t i)
{
	if (s[i] == '^')
		i++;
	if (s[i] == ']')
		i++;
	for (; s[i]; i++) {
		if (s[i] == ']')
			return i + 1;
		if (s[i] == '[' && (s[i + 1] == ':' || s[i + 1] == '=' || s[i + 1] == '.')) {
			char t = s[i + 1];
			for (i += 2; s[i] && !(s[i] == t && s[i + 1] == ']'); i++)
				;
			if (!s[i])
				return 0;
			i++;
		}
	}
	return 0;
}

/* An interval "{m}", "{m,}" or "{m,n}" at s + i (just after the '{'):
 * its copy count for the cost below, and the index past its '}'; 0 when
 * malformed. */
static size_t interval(const char *s, size_t *i)
{
	unsigned m = 0, n = 0;
	size_t j = *i, d = 0;
	bool comma = false, upper = false;

	for (; s[j] >= '0' && s[j] <= '9'; j++, d++)
		if ((m = m * 10 + (unsigned)(s[j] - '0')) > ERE_DUP_MAX)
			return 0;
	if (!d)
		return 0;
	if (s[j] == ',') {
		comma = true;
		for (j++; s[j] >= '0' && s[j] <= '9'; j++, upper = true)
			if ((n = n * 10 + (unsigned)(s[j] - '0')) > ERE_DUP_MAX)
				return 0;
	}
	if (s[j] != '}' || (upper && n < m))
		return 0;
	*i = j + 1;
	if (!comma)
		return m ? m : 1;
	return upper ? (n ? n : 1) : m + 1;
}

/* glibc compiles an ERE into a tree in which "x+" is "xx*" and "x{m,n}"
 * is n copies of x, so nested repetitions grow the tree (and regcomp's
 * time and memory) exponentially: "(a)++++..." or "((a{99}){99}){99}"
 * take minutes and gigabytes from a 255-octet field. This walk estimates
 * that tree's size the same way and refuses the ERE past ERE_COST_MAX.
 * It also refuses what POSIX leaves undefined and no ENUM record needs: a
 * repetition with nothing to repeat or right after another, deep nesting,
 * and unbalanced parentheses or brackets. */
static int ere_check(const char *s)
{
	struct {
		size_t alts, branch, last;
	} st[ERE_DEPTH_MAX + 1], *f = st;
	bool rep = false; /* the previous token was a repetition */

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; s[i];) {
		char c = s[i++];
		size_t k;

		if (c == '*' || c == '+' || c == '?' || c == '{') {
			if (!f->last || rep)
				return SP_EINVAL;
			k = c == '+' ? 2 : 1;
			if (c == '{' && !(k = interval(s, &i)))
				return SP_EINVAL;
			f->last = f->last * k + 1;
			rep = true;
		} else {
			rep = false;
			f->branch += f->last;
			f->last = 0;
			if (c == '(') {
				if (f == &st[ERE_DEPTH_MAX])
					return SP_EINVAL;
				f++;
				memset(f, 0, sizeof(*f));
				continue;
			} else if (c == ')') {
				if (f == st)
					return SP_EINVAL;
				k = f->alts + f->branch + 1;
				f--;
				f->last = k;
			} else if (c == '|') {
				f->alts += f->branch + 1;
				f->branch = 0;
			} else if (c == '[') {
				if (!(i = bracket_end(s, i)))
					return SP_EINVAL;
				f->last = 1;
			} else if (c == '\\') {
				if (!s[i++])
					return SP_EINVAL;
				f->last = 1;
			} else {
				f->last = 1;
			}
		}
		/* Every count stays below the cap, so none can overflow. */
		if (f->alts + f->branch + f->last > ERE_COST_MAX)
			return SP_EINVAL;
	}
	return f == st ? 0 : SP_EINVAL;
}

/* Output with a hard cap: crossing it is an error, never a truncation. */
struct obuf {
	char *p;
	size_t n, cap;
	bool over;
};

static void put(struct obuf *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->n) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

/* The substitution expression is split without a copy of the repl: its
 * escapes are resolved while the result is written. The ERE is copied so
 * that an escaped delimiter can be turned back into the plain character.
 * Back-references inside the ERE are refused: they are not POSIX ERE, and
 * glibc's backtracking implementation of them can take exponential time on
 * a record an attacker wrote. */
/* Compiled expressions, per thread: the NAPTR records of one provider's
 * numbers share a handful of expressions, and compiling one cost about
 * two thirds of a fully cached routing decision (bench_dns_lookup). */
#define RE_CACHE 32
struct re_entry {
	bool used;
	int cflags;
	char ere[SP_DNS_NAPTR_REGEXP_MAX];
	regex_t re;
};
static _Thread_local struct re_entry re_cache[RE_CACHE];
static _Thread_local unsigned re_next;

static const regex_t *compiled(const char *ere, int cflags)
{
	for (unsigned i = 0; i < RE_CACHE; i++)
		if (re_cache[i].used && re_cache[i].cflags == cflags &&
		    strcmp(re_cache[i].ere, ere) == 0)
			return &re_cache[i].re;
	if (ere_check(ere))
		return NULL;
	struct re_entry *e = &re_cache[re_next];
	if (e->used) {
		regfree(&e->re);
		e->used = false;
	}
	if (regcomp(&e->re, ere, cflags) != 0)
		return NULL;
	re_next = (re_next + 1) % RE_CACHE;
	e->used = true;
	e->cflags = cflags;
	snprintf(e->ere, sizeof(e->ere), "%s", ere);
	return &e->re;
}

int sp_enum_rewrite(const char *regexp, const char *aus, char *out, size_t size)
{
	char ere[SP_DNS_NAPTR_REGEXP_MAX], res[SP_ENUM_URI_MAX + 1];
	regmatch_t m[NMATCH];
	struct obuf o;
	const regex_t *re;
	size_t i, n = 0, rs, re_end;
	int cflags = REG_EXTENDED, err;
	char delim;

	if (!regexp || !aus || size == 0)
		return !regexp || !aus ? SP_EINVAL : SP_E2BIG;
	if (strnlen(regexp, SP_DNS_NAPTR_REGEXP_MAX) >= SP_DNS_NAPTR_REGEXP_MAX)
		return SP_EINVAL;
	delim = regexp[0];
	if (delim <= 0x20 || delim >= 0x7f || (delim >= '0' && delim <= '9') || delim == '\\' ||
	    delim == 'i')
		return SP_EINVAL;

	for (i = 1; regexp[i] && regexp[i] != delim; i++) {
		char c = regexp[i];
		if (c == '\\') {
			c = regexp[++i];
			if (!c || (c >= '1' && c <= '9'))
				return SP_EINVAL;
			if (c != delim || ere_special(c))
				ere[n++] = '\\';
		}
		ere[n++] = c;
	}
	if (regexp[i] != delim || n == 0)
		return SP_EINVAL;
	ere[n] = '\0';

	rs = ++i;
	for (; regexp[i] && regexp[i] != delim; i++)
		if (regexp[i] == '\\' && !regexp[++i])
			return SP_EINVAL;
	if (regexp[i] != delim)
		return SP_EINVAL;
	re_end = i++;
	if (regexp[i] == 'i') {
		cflags |= REG_ICASE;
		i++;
	}
	if (regexp[i])
		return SP_EINVAL;

	if (!(re = compiled(ere, cflags)))
		return SP_EINVAL;
	err = regexec(re, aus, NMATCH, m, 0);
	if (err) {
		err = err == REG_NOMATCH ? SP_ENOENT : SP_EINVAL;
		goto out;
	}

	/* Built aside, so that out is left alone unless all of it fits. */
	o = (struct obuf){ res, 0, size - 1 < SP_ENUM_URI_MAX ? size - 1 : SP_ENUM_URI_MAX, false };
	put(&o, aus, (size_t)m[0].rm_so);
	for (i = rs; i < re_end; i++) {
		char c = regexp[i];
		if (c != '\\') {
			put(&o, &c, 1);
			continue;
		}
		c = regexp[++i];
		if (c >= '1' && c <= '9') {
			size_t g = (size_t)(c - '0');
			if (g > re->re_nsub) {
				err = SP_EINVAL;
				goto out;
			}
			/* A group that took no part in the match gives nothing. */
			if (m[g].rm_so >= 0)
				put(&o, aus + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
		} else {
			/* "\\", "\<delim>", and any other escaped character: the
			 * character itself (RFC 3402 defines only the first two;
			 * dropping the backslash is what sed does with the rest). */
			put(&o, &c, 1);
		}
	}
	put(&o, aus + m[0].rm_eo, strlen(aus + m[0].rm_eo));
	if (o.over) {
		err = SP_E2BIG;
		goto out;
	}
	memcpy(out, res, o.n);
	out[o.n] = '\0';
	err = 0;
out:
	return err;
}

enum naptr_flags { FL_NONTERMINAL, FL_URI, FL_OTHER };

/* Flags are case-insensitive single characters (RFC 3403 section 4.1);
 * ENUM knows only "u" and the empty field. */
static enum naptr_flags flags_kind(const char *f)
{
	if (!*f)
		return FL_NONTERMINAL;
	for (; *f; f++)
		if (*f != 'u' && *f != 'U')
			return FL_OTHER;
	return FL_URI;
}

static bool sip_uri(const char *s)
{
	return (strncasecmp(s, "sip:", 4) == 0 && s[4]) || (strncasecmp(s, "sips:", 5) == 0 && s[5]);
}

/* What one NAPTR record gives for aus: 1 and c filled when usable, 0 when
 * not, -1 when the record is broken (its regexp fails, or it has both a
 * regexp and a replacement, which RFC 3403 section 4.1 forbids). */
static int naptr_choice(const struct sp_dns_rr *rr, const char *aus, struct sp_enum_choice *c)
{
	const char *rx = rr->u.naptr.regexp, *repl = rr->u.naptr.replacement;
	enum naptr_flags f = flags_kind(rr->u.naptr.flags);
	int err;

	if (f == FL_OTHER)
		return 0;
	if (f == FL_URI && !sp_enum_service_sip(rr->u.naptr.services))
		return 0;
	if (*rx && *repl)
		return -1;
	c->order = rr->u.naptr.order;
	c->preference = rr->u.naptr.preference;
	if (f == FL_NONTERMINAL && *repl) {
		c->kind = SP_ENUM_NEXT;
		/* The replacement is a name of at most 253 characters. */
		memcpy(c->value, repl, strlen(repl) + 1);
		return 1;
	}
	if (!*rx)
		return 0;
	err = sp_enum_rewrite(rx, aus, c->value, sizeof(c->value));
	if (err == SP_ENOENT)
		return 0;
	if (err)
		return -1;
	if (f == FL_URI) {
		c->kind = SP_ENUM_URI;
		return sip_uri(c->value) ? 1 : 0;
	}
	c->kind = SP_ENUM_NEXT;
	return c->value[0] ? 1 : 0;
}

/* The NAPTR records are visited by order, then preference (a stable
 * insertion sort of at most SP_DNS_MAX_RR indices); the first order group
 * that yields a usable record is the answer, and later groups are not even
 * evaluated, as RFC 3403 section 4.1 says a client must stop there. */
size_t sp_enum_choices(const struct sp_dns_answer *a, const char *aus,
		       struct sp_enum_choice *out, size_t max, size_t *bad)
{
	size_t idx[SP_DNS_MAX_RR], k = 0, n = 0, nbad = 0;
	struct sp_enum_choice c;

	for (size_t i = 0; i < a->n && i < SP_DNS_MAX_RR; i++) {
		if (a->rr[i].type != SP_DNS_NAPTR)
			continue;
		size_t j = k++;
		const struct sp_dns_rr *r = &a->rr[i];
		while (j > 0) {
			const struct sp_dns_rr *p = &a->rr[idx[j - 1]];
			if (p->u.naptr.order < r->u.naptr.order ||
			    (p->u.naptr.order == r->u.naptr.order &&
			     p->u.naptr.preference <= r->u.naptr.preference))
				break;
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}

	for (size_t g = 0; g < k;) {
		uint16_t order = a->rr[idx[g]].u.naptr.order;
		size_t usable = 0;
		for (; g < k && a->rr[idx[g]].u.naptr.order == order; g++) {
			int r = naptr_choice(&a->rr[idx[g]], aus, &c);
			if (r < 0)
				nbad++;
			if (r <= 0)
				continue;
			usable++;
			if (n < max)
				out[n++] = c;
		}
		if (usable)
			break;
	}
	if (bad)
		*bad = nbad;
	return n;
}
