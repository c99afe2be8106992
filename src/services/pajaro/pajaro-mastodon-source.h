/* SPDX-License-Identifier: MIT */
/* pajaro-mastodon-source.h: posts from a Mastodon server's streaming API.
 *
 * A hashtag track reads GET /api/v1/streaming/hashtag?tag=TAG; keyword
 * tracks and the public timeline share one GET /api/v1/streaming/public,
 * whose statuses are matched against the keywords here. Each is a stream
 * of server-sent events: `event: update` with a Status as `data:`,
 * `event: delete` with a status id, and `:thump` comment lines as
 * heartbeats. A status's HTML content becomes plain text; links are the
 * anchors that are neither mentions nor hashtags, plus the preview card.
 * A boost is delivered as the status it boosts.
 *
 * Requests carry the access token, when there is one, as
 * `Authorization: Bearer`. Each stream reconnects by itself, with
 * exponential backoff and jitter.
 *
 * Status JSON: {"name": "mastodon", "url", "state", "retry_at", "error"
 * (the worst of the streams: a stream backing off wins over one
 * connecting, which wins over streaming; "idle" without streams),
 * "streams": {TAG or "public timeline": {... as #PajaroStream}}, "ignored":
 * statuses of the public timeline that matched no keyword}.
 */
#pragma once

#include "jstp-json.h"
#include "pajaro-source.h"

G_BEGIN_DECLS

#define PAJARO_TYPE_MASTODON_SOURCE (pajaro_mastodon_source_get_type ())

G_DECLARE_FINAL_TYPE (PajaroMastodonSource, pajaro_mastodon_source, PAJARO, MASTODON_SOURCE,
                      GObject)

/**
 * pajaro_mastodon_source_new:
 * @base_url: the server (or its streaming host), such as https://mastodon.social
 * @access_token: (nullable): kept in protected memory
 *
 * Returns: (transfer full) (nullable): a source, or %NULL with @error set
 *   (G_IO_ERROR_INVALID_ARGUMENT) when @base_url is not an http(s) URL
 */
PajaroMastodonSource *pajaro_mastodon_source_new (const char  *base_url,
                                                  const char  *access_token,
                                                  GError     **error);

/* Tests shorten the backoff delays with this (1.0: the real ones). */
void        pajaro_mastodon_source_set_backoff_scale (PajaroMastodonSource *self,
                                                      double                scale);

/**
 * pajaro_mastodon_source_parse_status:
 * @json: (array length=length): a Status, the data of an update event
 *
 * Returns: (transfer full) (nullable): the post, without tags, or %NULL
 *   with @error set when it is not a status
 */
PajaroPost *pajaro_mastodon_source_parse_status (const char            *json,
                                                 gsize                  length,
                                                 const JstpJsonLimits  *limits,
                                                 GError               **error);

/* Plain text of a status's HTML @content; anchors' targets that are
 * neither mentions nor hashtags are added to @links. Exposed for tests. */
char       *pajaro_mastodon_source_html_to_text  (const char            *content,
                                                  GPtrArray             *links);

G_END_DECLS
