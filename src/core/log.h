/* log.h: leveled log lines on stderr, one write per line, with the Call-ID when there is one. */
#ifndef SP_CORE_LOG_H
#define SP_CORE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

enum sp_log_level {
	SP_LOG_ERR = 0,
	SP_LOG_WARN,
	SP_LOG_NOTICE,
	SP_LOG_INFO,
	SP_LOG_DEBUG,
};

/* The threshold is process-wide and set once by main before threads start
 * (default SP_LOG_NOTICE); reading it is the only shared access. */
void sp_log_set_level(enum sp_log_level level);
bool sp_log_enabled(enum sp_log_level level);
/* Parses "err", "warn", "notice", "info", "debug"; SP_EINVAL otherwise. */
int sp_log_level_parse(const char *name, enum sp_log_level *out);

/* Writes "2026-11-24T19:36:00.123Z LEVEL message\n" (with " [call-id]" after
 * the level when call_id is not empty). Control bytes in the message and the
 * Call-ID are written as '?', so a hostile header cannot forge log lines. */
void sp_log(enum sp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sp_log_cid(enum sp_log_level level, struct sp_str call_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A log line that may repeat under load (a cap reached, a flood) goes
 * through a rate limit: sp_log_ratelimit returns true at most once per
 * interval and counts what it suppressed, which the next line reports. */
struct sp_log_ratelimit {
	uint64_t interval_ms;
	uint64_t last_ms;
	uint64_t suppressed;
	bool started;
};
bool sp_log_ratelimit(struct sp_log_ratelimit *rl, uint64_t now_ms, uint64_t *suppressed);

#endif
