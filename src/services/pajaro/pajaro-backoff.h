/* SPDX-License-Identifier: MIT */
/* pajaro-backoff.h: how long to wait before connecting again.
 *
 * Each network says how a client must back off, and a client that does
 * not is locked out, so the delays follow their documents:
 *
 * Twitter (filtered stream):
 *   network errors   linear, 250 ms more each attempt, at most 16 s
 *   HTTP errors      exponential from 5 s, at most 320 s
 *   429              exponential from 1 min, at most 16 min
 * Mastodon (streaming API): exponential with jitter (a random delay
 *   between half and all of the step, so that many clients dropped at once
 *   do not come back at once):
 *   network errors   from 1 s, at most 60 s
 *   HTTP errors      from 5 s, at most 5 min
 *   429              from 1 min, at most 16 min
 *
 * A rate-limit answer may say when the limit resets (Retry-After,
 * x-rate-limit-reset, X-RateLimit-Reset): the delay is then at least that.
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef enum {
  PAJARO_FAILURE_NETWORK,      /* refused, reset, stalled, or the stream ended */
  PAJARO_FAILURE_HTTP,         /* an HTTP error status other than 429 */
  PAJARO_FAILURE_RATE_LIMIT,   /* 429 */
} PajaroFailure;

typedef enum {
  PAJARO_BACKOFF_TWITTER,
  PAJARO_BACKOFF_MASTODON,
} PajaroBackoffPolicy;

/* libsoup 3.2 has no name for it. */
#define PAJARO_HTTP_TOO_MANY_REQUESTS 429

/* A reset time further than this is not believed. */
#define PAJARO_BACKOFF_MAX_HINT_MS (60 * 60 * 1000)

typedef struct {
  PajaroBackoffPolicy policy;
  double scale;           /* multiplies the policy's delays (not hints); 1.0 */
  guint attempts;         /* consecutive failures of the kind below */
  PajaroFailure last;
} PajaroBackoff;

void     pajaro_backoff_init        (PajaroBackoff       *self,
                                     PajaroBackoffPolicy  policy);
/* After a success: the next failure starts from the first step. */
void     pajaro_backoff_reset       (PajaroBackoff       *self);

/**
 * pajaro_backoff_next:
 * @hint_ms: the server's own wait in ms (see pajaro_backoff_parse_hint()),
 *   or a negative number for none
 *
 * Counts one failure of @failure and returns the ms to wait. A failure of
 * another kind than the last starts that kind's steps from the first.
 */
guint64  pajaro_backoff_next        (PajaroBackoff       *self,
                                     PajaroFailure        failure,
                                     gint64               hint_ms);

/**
 * pajaro_backoff_parse_hint:
 * @headers: a response's headers
 * @now_ms: the wall-clock time, ms since the Unix epoch
 *
 * Reads `Retry-After` (seconds or an HTTP date), `x-rate-limit-reset`
 * (Twitter: seconds since the epoch) and `X-RateLimit-Reset` (Mastodon: an
 * ISO 8601 time) and returns the longest wait they ask for, in ms from
 * @now_ms, capped at %PAJARO_BACKOFF_MAX_HINT_MS; -1 when none is there or
 * none can be read.
 */
gint64   pajaro_backoff_parse_hint  (SoupMessageHeaders  *headers,
                                     gint64               now_ms);

G_END_DECLS
