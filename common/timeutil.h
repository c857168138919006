/*
 * common/timeutil.h - wall-clock time in milliseconds and its one text
 * form, ISO 8601 UTC with milliseconds: "2026-11-27T23:55:38.123Z"
 * (CloudTrail's eventTime, KMS's CreationDate and friends).
 *
 * Conversion is pure arithmetic (proleptic Gregorian calendar), no
 * timegm/TZ dependency, so results never depend on the host's time zone.
 * The wall clock honours libfaketime (tests move time with it).
 */
#ifndef P11KMS_COMMON_TIMEUTIL_H
#define P11KMS_COMMON_TIMEUTIL_H

#include <stdint.h>

#define P11KMS_ISO8601_LEN      24 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
#define P11KMS_ISO8601_BUF_SIZE 25 /* with the NUL */
#define P11KMS_MS_PER_DAY       INT64_C(86400000)

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t p11kms_time_now_ms(void);

/* Milliseconds from CLOCK_MONOTONIC, for timeouts and measurements. */
int64_t p11kms_time_mono_ms(void);

/*
 * Format ms since the epoch (years 0001..9999; negative values are before
 * 1970) as "YYYY-MM-DDTHH:MM:SS.mmmZ".  1 ok, 0 out of range.
 */
int p11kms_time_format_iso8601(int64_t ms, char out[P11KMS_ISO8601_BUF_SIZE]);

/*
 * Parse exactly "YYYY-MM-DDTHH:MM:SS.mmmZ" or "YYYY-MM-DDTHH:MM:SSZ"
 * (NUL-terminated, nothing else accepted: no offsets, no lowercase, no
 * leap second, fields range-checked including the day of the month).
 */
int p11kms_time_parse_iso8601(const char *s, int64_t *ms);

/* *out = ms + days * P11KMS_MS_PER_DAY; 0 on overflow. */
int p11kms_time_add_days(int64_t ms, int64_t days, int64_t *out);

/*
 * Whole days elapsed from `from` to `to` (floor division; negative if to
 * is earlier).
 */
int64_t p11kms_time_days_between(int64_t from, int64_t to);

#endif /* P11KMS_COMMON_TIMEUTIL_H */
