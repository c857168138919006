/*
 * common/timeutil.c - milliseconds since the epoch and the ISO 8601 UTC
 * text form.  Civil-date conversion uses Howard Hinnant's days_from_civil
 * / civil_from_days algorithms (exact for the proleptic Gregorian
 * calendar), so there is no dependency on timegm() or the TZ setting.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/timeutil.h"

#define MIN_MS INT64_C(-62135596800000) /* 0001-01-01T00:00:00.000Z */
#define MAX_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t p11kms_time_now_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t p11kms_time_mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = floor_div(y, 400);
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = floor_div(z, 146097);
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int p11kms_time_format_iso8601(int64_t ms, char out[P11KMS_ISO8601_BUF_SIZE])
{
    int64_t days, rem, y;
    unsigned m, d;

    if (out == NULL || ms < MIN_MS || ms > MAX_MS)
        return 0;
    days = floor_div(ms, P11KMS_MS_PER_DAY);
    rem = ms - days * P11KMS_MS_PER_DAY;
    civil_from_days(days, &y, &m, &d);
    return snprintf(out, P11KMS_ISO8601_BUF_SIZE, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", (int)y, m,
                    d, (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
                    (int)(rem % 1000)) == P11KMS_ISO8601_LEN;
}

/* n decimal digits at s, into *v; 0 if any is not a digit. */
static int digits(const char *s, int n, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (unsigned)(s[i] - '0');
    }
    return 1;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dm[m - 1];
}

int p11kms_time_parse_iso8601(const char *s, int64_t *ms)
{
    unsigned y, mo, d, h, mi, se, milli = 0;
    size_t len;

    if (s == NULL || ms == NULL)
        return 0;
    len = strnlen(s, P11KMS_ISO8601_LEN + 1);
    if (len == P11KMS_ISO8601_LEN) {
        if (s[19] != '.' || !digits(s + 20, 3, &milli) || s[23] != 'Z')
            return 0;
    } else if (len != 20 || s[19] != 'Z') {
        return 0;
    }
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
        return 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        se > 59)
        return 0;
    *ms = days_from_civil(y, mo, d) * P11KMS_MS_PER_DAY + (int64_t)h * 3600000 +
          (int64_t)mi * 60000 + (int64_t)se * 1000 + milli;
    return 1;
}

int p11kms_time_add_days(int64_t ms, int64_t days, int64_t *out)
{
    int64_t delta;

    if (out == NULL || __builtin_mul_overflow(days, P11KMS_MS_PER_DAY, &delta) ||
        __builtin_add_overflow(ms, delta, out))
        return 0;
    return 1;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;

    return r < 0 ? r + b : r;
}

int64_t p11kms_time_days_between(int64_t from, int64_t to)
{
    /* floor((to - from) / day) without computing to - from (overflow) */
    return floor_div(to, P11KMS_MS_PER_DAY) - floor_div(from, P11KMS_MS_PER_DAY) -
           (floor_mod(to, P11KMS_MS_PER_DAY) < floor_mod(from, P11KMS_MS_PER_DAY));
}
