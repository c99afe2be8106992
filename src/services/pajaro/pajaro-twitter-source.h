/* SPDX-License-Identifier: MIT */
/* pajaro-twitter-source.h: posts from the Twitter/X API v2 filtered stream.
 *
 * Each track is a rule of the app (the bearer token's): `#TAG` for a
 * hashtag, the words (quoted when several) for a keyword, with the rule's
 * tag set to TAG. Rules are managed through POST /2/tweets/search/stream/rules
 * ({"add": [...]} and {"delete": {"ids": [...]}}) after reading the current
 * ones with GET; changes are serialized, and a failed change is retried
 * with the HTTP or 429 backoff. Rules whose tag Pajaro never tracked are
 * left alone.
 *
 * One connection, GET /2/tweets/search/stream with the author, entities
 * and media expansions, serves every rule: chunked JSON lines, with a
 * blank line as keep-alive every 20 s (30 s of silence reconnects). A
 * tweet goes to the tracked tags of its matching rules, by rule tag or by
 * rule value. The public timeline is not something this API offers.
 *
 * Status JSON: {"name": "twitter", "url", "state", "retry_at", "error"
 * (the stream's, as in #PajaroStream), "stream": {...}, "rules": {"state":
 * "synced"|"syncing"|"backing-off", "retry_at", "error", "count"},
 * "ignored": tweets that matched no tracked tag}.
 */
#pragma once

#include "jstp-json.h"
#include "pajaro-source.h"

G_BEGIN_DECLS

#define PAJARO_TWITTER_DEFAULT_URL "https://api.twitter.com"

#define PAJARO_TYPE_TWITTER_SOURCE (pajaro_twitter_source_get_type ())

G_DECLARE_FINAL_TYPE (PajaroTwitterSource, pajaro_twitter_source, PAJARO, TWITTER_SOURCE, GObject)

/**
 * pajaro_twitter_source_new:
 * @base_url: where the API is, such as %PAJARO_TWITTER_DEFAULT_URL
 * @bearer_token: the app's bearer token; kept in protected memory
 *
 * Returns: (transfer full) (nullable): a source, or %NULL with @error set
 *   (G_IO_ERROR_INVALID_ARGUMENT) when @base_url is not an http(s) URL
 */
PajaroTwitterSource *pajaro_twitter_source_new (const char   *base_url,
                                                const char   *bearer_token,
                                                GError      **error);

/* Tests shorten the backoff delays with this (1.0: the API's own). */
void     pajaro_twitter_source_set_backoff_scale (PajaroTwitterSource *self,
                                                  double               scale);

/**
 * pajaro_twitter_source_parse_line:
 * @line: (array length=length): one line of the stream, not blank
 * @limits: (nullable): the scanner's limits
 * @rule_ids: (out) (transfer full) (optional): the ids of the matching rules
 * @server_error: (out) (transfer full) (optional): for a line that only
 *   reports errors (an operational disconnect), their text
 *
 * Reads a tweet and its expansions. The post's tags are the matching rules'
 * tags as the stream wrote them.
 * Returns: (transfer full) (nullable): the post; %NULL for an error line
 *   (with @server_error set) or, with @error set, a malformed one
 */
PajaroPost *pajaro_twitter_source_parse_line (const char            *line,
                                              gsize                  length,
                                              const JstpJsonLimits  *limits,
                                              GStrv                 *rule_ids,
                                              char                 **server_error,
                                              GError               **error);

G_END_DECLS
