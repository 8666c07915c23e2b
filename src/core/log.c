/* log.c: formats one line into a stack buffer and writes it with a single write(2). */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"

static enum sp_log_level threshold = SP_LOG_NOTICE;

static const char *const names[] = { "err", "warn", "notice", "info", "debug" };

void sp_log_set_level(enum sp_log_level level)
{
	threshold = level;
}

bool sp_log_enabled(enum sp_log_level level)
{
	return level <= threshold;
}

int sp_log_level_parse(const char *name, enum sp_log_level *out)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum sp_log_level)i;
			return 0;
		}
	}
	return SP_EINVAL;
}

/* Replaces control bytes in line[from..len) so one call writes one line. */
static void sanitize(char *line, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f)
			line[i] = '?';
	}
}

static void vlog(enum sp_log_level level, struct sp_str cid, const char *fmt, va_list ap)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n, start;
	int r;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03dZ %s ", (int)(tv.tv_usec / 1000),
		     names[level]);
	n += (size_t)r;
	start = n;
	if (cid.len) {
		size_t take = cid.len > 128 ? 128 : cid.len;
		r = snprintf(line + n, sizeof(line) - n, "[%.*s] ", (int)take, cid.p);
		n += (size_t)r;
	}
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (r < 0)
		r = 0;
	n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	sanitize(line, start, n);
	line[n++] = '\n';
	/* One write per line: lines from several threads do not interleave. */
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

void sp_log(enum sp_log_level level, const char *fmt, ...)
{
	va_list ap;
	if (!sp_log_enabled(level))
		return;
	va_start(ap, fmt);
	vlog(level, SP_STR_NULL, fmt, ap);
	va_end(ap);
}

void sp_log_cid(enum sp_log_level level, struct sp_str call_id, const char *fmt, ...)
{
	va_list ap;
	if (!sp_log_enabled(level))
		return;
	va_start(ap, fmt);
	vlog(level, call_id, fmt, ap);
	va_end(ap);
}

bool sp_log_ratelimit(struct sp_log_ratelimit *rl, uint64_t now_ms, uint64_t *suppressed)
{
	if (rl->started && now_ms - rl->last_ms < rl->interval_ms) {
		rl->suppressed++;
		return false;
	}
	rl->started = true;
	rl->last_ms = now_ms;
	if (suppressed)
		*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
