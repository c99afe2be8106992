/* SPDX-License-Identifier: MIT */
/* pajaro-stream.h: one endless HTTP GET that keeps itself connected.
 *
 * A streaming API answers a GET with a body that never ends. A stream
 * sends the request with libsoup on the main context, hands each line of
 * the body to its owner, and when anything goes wrong (refused, reset, an
 * HTTP error, a 429, the server ending the body, or silence longer than
 * the stall timeout) connects again after the delay its #PajaroBackoff
 * policy and the server's rate-limit headers ask for. Its state, the time
 * of the next attempt and the last error are there for status reports.
 */
#pragma once

#include <libsoup/soup.h>

#include "pajaro-backoff.h"

G_BEGIN_DECLS

typedef enum {
  PAJARO_STREAM_STOPPED,
  PAJARO_STREAM_CONNECTING,
  PAJARO_STREAM_STREAMING,
  PAJARO_STREAM_BACKING_OFF,
} PajaroStreamState;

#define PAJARO_TYPE_STREAM (pajaro_stream_get_type ())

G_DECLARE_FINAL_TYPE (PajaroStream, pajaro_stream, PAJARO, STREAM, GObject)

/**
 * PajaroStreamHandlers:
 * @prepare: (nullable): adds headers (authorization, Accept) to each
 *   request before it is sent
 * @connected: (nullable): a connection was answered with success and its
 *   body starts; per-connection parsing state starts again here
 * @line: one line of the body (see #PajaroLineFunc); may stop the stream
 *   or call pajaro_stream_fail()
 */
typedef struct {
  void (*prepare)   (PajaroStream *stream,
                     SoupMessage  *message,
                     gpointer      user_data);
  void (*connected) (PajaroStream *stream,
                     gpointer      user_data);
  void (*line)      (PajaroStream *stream,
                     const char   *line,
                     gsize         length,
                     gboolean      oversize,
                     gpointer      user_data);
} PajaroStreamHandlers;

/* Default limits; each is a property. */
#define PAJARO_STREAM_DEFAULT_MAX_LINE       (512 * 1024)
#define PAJARO_STREAM_DEFAULT_STALL_TIMEOUT  (90 * 1000)

PajaroStream     *pajaro_stream_new              (SoupSession                *session,
                                                  const char                 *uri,
                                                  PajaroBackoffPolicy         policy);
/* @handlers is copied; @user_data must outlive the stream's activity. */
void              pajaro_stream_set_handlers     (PajaroStream               *self,
                                                  const PajaroStreamHandlers *handlers,
                                                  gpointer                    user_data);

const char       *pajaro_stream_get_uri          (PajaroStream               *self);
/* Longest line accepted, bytes; longer lines reach the handler as oversize. */
gsize             pajaro_stream_get_max_line     (PajaroStream               *self);
void              pajaro_stream_set_max_line     (PajaroStream               *self,
                                                  gsize                       max_line);
/* Milliseconds without a line (keep-alives count) before reconnecting. */
guint             pajaro_stream_get_stall_timeout (PajaroStream              *self);
void              pajaro_stream_set_stall_timeout (PajaroStream              *self,
                                                  guint                       timeout_ms);
/* Multiplies the policy's delays; tests shorten them. */
void              pajaro_stream_set_backoff_scale (PajaroStream              *self,
                                                  double                      scale);

/* Connects unless running already. */
void              pajaro_stream_start            (PajaroStream               *self);
/* Closes the connection and cancels any retry. */
void              pajaro_stream_stop             (PajaroStream               *self);
/* Ends the current connection as failed, as if the network had failed;
 * for errors the server reports inside the body. */
void              pajaro_stream_fail             (PajaroStream               *self,
                                                  PajaroFailure               failure,
                                                  const char                 *message);

PajaroStreamState pajaro_stream_get_state        (PajaroStream               *self);
/* "stopped", "connecting", "streaming" or "backing-off". */
const char       *pajaro_stream_state_to_string  (PajaroStreamState           state);
/* Why the last attempt failed; %NULL while streaming. */
const char       *pajaro_stream_get_error        (PajaroStream               *self);
/* When the next attempt is due, ms since the Unix epoch; 0 unless backing off. */
gint64            pajaro_stream_get_retry_at     (PajaroStream               *self);
/* Failures that led to connecting again. */
guint64           pajaro_stream_get_reconnects   (PajaroStream               *self);

/**
 * pajaro_stream_append_status_json:
 *
 * Appends {"state", "since", "retry_at", "error", "last_error",
 * "reconnects", "connections", "bytes"}: times in ms since the epoch (null
 * when not applicable), "since" when the current state began, "error" the
 * failure the stream is recovering from (null while streaming),
 * "last_error" the latest failure ever, "connections" the successful
 * connections so far and "bytes" the bytes received over them.
 */
void              pajaro_stream_append_status_json (PajaroStream             *self,
                                                  GString                    *out);

G_END_DECLS
