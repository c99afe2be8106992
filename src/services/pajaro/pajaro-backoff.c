/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "pajaro-backoff.h"

#define SECOND 1000
#define MINUTE (60 * SECOND)

void
pajaro_backoff_init (PajaroBackoff       *self,
                     PajaroBackoffPolicy  policy)
{
  g_return_if_fail (self != NULL);

  self->policy = policy;
  self->scale = 1.0;
  self->attempts = 0;
  self->last = PAJARO_FAILURE_NETWORK;
}

void
pajaro_backoff_reset (PajaroBackoff *self)
{
  g_return_if_fail (self != NULL);

  self->attempts = 0;
}

/* base * 2^(attempt - 1), capped, without overflowing on long outages. */
static guint64
exponential (guint64 base,
             guint64 cap,
             guint   attempt)
{
  guint64 delay = base;

  for (guint i = 1; i < attempt && delay < cap; i++)
    delay *= 2;
  return MIN (delay, cap);
}

static guint64
policy_delay (PajaroBackoff *self,
              PajaroFailure  failure,
              guint          attempt)
{
  guint64 delay;

  if (self->policy == PAJARO_BACKOFF_TWITTER)
    {
      switch (failure)
        {
        case PAJARO_FAILURE_NETWORK:
          return MIN ((guint64) attempt * 250, 16 * SECOND);
        case PAJARO_FAILURE_HTTP:
          return exponential (5 * SECOND, 320 * SECOND, attempt);
        case PAJARO_FAILURE_RATE_LIMIT:
          return exponential (MINUTE, 16 * MINUTE, attempt);
        default:
          g_assert_not_reached ();
        }
    }

  switch (failure)
    {
    case PAJARO_FAILURE_NETWORK:
      delay = exponential (SECOND, MINUTE, attempt);
      break;
    case PAJARO_FAILURE_HTTP:
      delay = exponential (5 * SECOND, 5 * MINUTE, attempt);
      break;
    case PAJARO_FAILURE_RATE_LIMIT:
      delay = exponential (MINUTE, 16 * MINUTE, attempt);
      break;
    default:
      g_assert_not_reached ();
    }
  /* Not a secret: GLib's generator is enough to spread clients out. */
  return delay / 2 +
         (guint64) g_random_int_range (0, (gint32) MIN (delay / 2, G_MAXINT32 - 1) + 1);
}

guint64
pajaro_backoff_next (PajaroBackoff *self,
                     PajaroFailure  failure,
                     gint64         hint_ms)
{
  guint64 delay;

  g_return_val_if_fail (self != NULL, 0);

  if (self->attempts > 0 && self->last != failure)
    self->attempts = 0;
  self->last = failure;
  if (self->attempts < G_MAXUINT)
    self->attempts++;

  delay = (guint64) (policy_delay (self, failure, self->attempts) * self->scale);
  if (hint_ms >= 0)
    delay = MAX (delay, (guint64) MIN (hint_ms, PAJARO_BACKOFF_MAX_HINT_MS));
  return delay;
}

static gint64
clamp_hint (gint64 delay_ms)
{
  return CLAMP (delay_ms, 0, PAJARO_BACKOFF_MAX_HINT_MS);
}

static gint64
parse_retry_after (const char *value,
                   gint64      now_ms)
{
  g_autoptr(GDateTime) date = NULL;
  guint64 seconds;

  if (g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT32, &seconds, NULL))
    return clamp_hint ((gint64) seconds * SECOND);
  date = soup_date_time_new_from_http_string (value);
  if (date == NULL)
    return -1;
  return clamp_hint (g_date_time_to_unix (date) * SECOND - now_ms);
}

/* Seconds since the epoch (Twitter) or an ISO 8601 time (Mastodon). */
static gint64
parse_reset (const char *value,
             gint64      now_ms)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) date = NULL;
  guint64 seconds;

  if (g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT64 / SECOND, &seconds, NULL))
    return clamp_hint ((gint64) seconds * SECOND - now_ms);
  date = g_date_time_new_from_iso8601 (value, utc);
  if (date == NULL)
    return -1;
  return clamp_hint (g_date_time_to_unix (date) * SECOND +
                     g_date_time_get_microsecond (date) / 1000 - now_ms);
}

gint64
pajaro_backoff_parse_hint (SoupMessageHeaders *headers,
                           gint64              now_ms)
{
  static const char * const resets[] = { "x-rate-limit-reset", "x-ratelimit-reset" };
  const char *value;
  gint64 hint = -1;

  g_return_val_if_fail (headers != NULL, -1);

  value = soup_message_headers_get_one (headers, "Retry-After");
  if (value)
    hint = MAX (hint, parse_retry_after (value, now_ms));
  for (guint i = 0; i < G_N_ELEMENTS (resets); i++)
    {
      value = soup_message_headers_get_one (headers, resets[i]);
      if (value)
        hint = MAX (hint, parse_reset (value, now_ms));
    }
  return hint;
}
