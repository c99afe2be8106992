/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <netinet/in.h>
#include <linux/tcp.h>  /* its tcp_info has tcpi_bytes_acked; glibc's does not */
#include <sys/socket.h>

#include "jstp-ws-connection.h"

struct _JstpWsConnection
{
  JstpConnection parent_instance;

  SoupWebsocketConnection *ws;
  const JstpNetworkLimits *limits;
  int fd;
  guint64 bytes_handed;        /* to libsoup, framing included */
  guint64 acked_at_start;      /* the handshake's bytes, acknowledged already */
  gint64 created_us;
  gint64 last_heard_us;
  gint64 over_soft_since_us;
  gboolean got_dispatch;
  guint malformed_in_window;
  gint64 malformed_window_us;
  gboolean closing;
};

G_DEFINE_FINAL_TYPE (JstpWsConnection, jstp_ws_connection, JSTP_TYPE_CONNECTION)

static guint64
bytes_acked (JstpWsConnection *self)
{
  struct tcp_info info;
  socklen_t length = sizeof info;

  if (self->fd < 0)
    return self->bytes_handed + self->acked_at_start;
  if (getsockopt (self->fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0)
    return 0;
  return info.tcpi_bytes_acked;
}

/* The framing libsoup adds to one unfragmented text message (RFC 6455
 * 5.2): the queue estimate must match it exactly, or it drifts with
 * every message until a healthy peer looks like a slow one. */
static gsize
frame_overhead (JstpWsConnection *self,
                gsize             length)
{
  gsize header = length < 126 ? 2 : length <= G_MAXUINT16 ? 4 : 10;

  if (soup_websocket_connection_get_connection_type (self->ws) ==
      SOUP_WEBSOCKET_CONNECTION_CLIENT)
    header += 4;   /* the mask */
  return header;
}

static gsize
jstp_ws_connection_get_queued_bytes (JstpConnection *connection)
{
  JstpWsConnection *self = JSTP_WS_CONNECTION (connection);
  guint64 acked = bytes_acked (self);
  guint64 delivered = acked > self->acked_at_start ? acked - self->acked_at_start : 0;

  return self->bytes_handed > delivered ? self->bytes_handed - delivered : 0;
}

static void
shut (JstpWsConnection *self,
      gushort           code,
      const char       *why)
{
  if (self->closing)
    return;
  self->closing = TRUE;
  g_debug ("closing ws connection %s: %s",
           jstp_connection_get_peer_address (JSTP_CONNECTION (self)), why);
  if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->ws, code, why);
  /* Wait for nobody: the engine forgets the connection now; libsoup
   * finishes the closing handshake on its own. */
  jstp_connection_notify_closed (JSTP_CONNECTION (self));
}

static void
jstp_ws_connection_send_text (JstpConnection *connection,
                              const char     *text,
                              gsize           length)
{
  JstpWsConnection *self = JSTP_WS_CONNECTION (connection);
  gsize pending;

  if (self->closing || soup_websocket_connection_get_state (self->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return;

  pending = jstp_ws_connection_get_queued_bytes (connection);
  if (pending + length > self->limits->queue_hard)
    {
      shut (self, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
            "slow consumer: send queue over the hard limit");
      return;
    }
  if (pending > self->limits->queue_soft && self->over_soft_since_us == 0)
    self->over_soft_since_us = g_get_monotonic_time ();

  self->bytes_handed += length + frame_overhead (self, length);
  /* The text is a dispatch we wrote; send_text copies it. */
  soup_websocket_connection_send_text (self->ws, text);
}

static void
jstp_ws_connection_close (JstpConnection *connection)
{
  shut (JSTP_WS_CONNECTION (connection), SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "closed locally");
}

static void
on_message (SoupWebsocketConnection *ws,
            SoupWebsocketDataType    type,
            GBytes                  *message,
            gpointer                 data)
{
  JstpWsConnection *self = data;
  G_GNUC_UNUSED g_autoptr(JstpWsConnection) keep = g_object_ref (self);
  gsize length;
  const char *text;
  gint64 now = g_get_monotonic_time ();

  self->last_heard_us = now;
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      shut (self, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA, "binary messages are not JSTP");
      return;
    }

  text = g_bytes_get_data (message, &length);
  /* libsoup already closed with 1007 on invalid UTF-8 and with 1009 over
   * max-incoming-payload-size; the scanner checks the rest. */
  self->got_dispatch = TRUE;
  if (!jstp_connection_deliver (JSTP_CONNECTION (self), text, length))
    {
      if (now - self->malformed_window_us > 60 * G_USEC_PER_SEC)
        {
          self->malformed_window_us = now;
          self->malformed_in_window = 0;
        }
      if (++self->malformed_in_window > self->limits->malformed_budget)
        shut (self, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "too many malformed dispatches");
    }
}

static void
on_pong (SoupWebsocketConnection *ws,
         GBytes                  *message,
         gpointer                 data)
{
  JstpWsConnection *self = data;

  self->last_heard_us = g_get_monotonic_time ();
}

static void
on_closed (SoupWebsocketConnection *ws,
           gpointer                 data)
{
  JstpWsConnection *self = data;

  self->closing = TRUE;
  jstp_connection_notify_closed (JSTP_CONNECTION (self));
}

static void
on_error (SoupWebsocketConnection *ws,
          GError                  *error,
          gpointer                 data)
{
  g_debug ("ws connection %s: %s",
           jstp_connection_get_peer_address (JSTP_CONNECTION (data)), error->message);
  if (!g_error_matches (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_CLOSE_TOO_BIG))
    return;
  /* A frame over max-incoming-payload-size makes libsoup 3.2 drop the
   * connection without a close frame once this signal returns: say why
   * first (RFC 6455 7.4.1, 1009). A message over the limit in fragments
   * (jstp-ws-limit.h) leaves libsoup reading on for a closing handshake
   * that could not end, buffering all the while: stop reading. */
  if (soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "message too big");
  if (JSTP_WS_CONNECTION (data)->fd >= 0)
    shutdown (JSTP_WS_CONNECTION (data)->fd, SHUT_RD);
}

void
jstp_ws_connection_check_timers (JstpWsConnection *self,
                                 gint64            now)
{
  const JstpNetworkLimits *limits = self->limits;

  g_return_if_fail (JSTP_IS_WS_CONNECTION (self));

  if (self->closing)
    return;
  if (jstp_connection_get_inbound (JSTP_CONNECTION (self)) && !self->got_dispatch &&
      now - self->created_us > (gint64) limits->first_dispatch_timeout * G_USEC_PER_SEC)
    shut (self, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "no dispatch in time after connecting");
  else if (now - self->last_heard_us > (gint64) limits->ws_pong_timeout * G_USEC_PER_SEC &&
           now - self->last_heard_us > (gint64) limits->ws_ping_interval * G_USEC_PER_SEC)
    shut (self, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "the peer stopped answering pings");
  else if (self->over_soft_since_us &&
           now - self->over_soft_since_us > (gint64) limits->queue_soft_seconds * G_USEC_PER_SEC)
    {
      if (jstp_ws_connection_get_queued_bytes (JSTP_CONNECTION (self)) > limits->queue_soft)
        shut (self, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
              "slow consumer: send queue over the soft limit for too long");
      else
        self->over_soft_since_us = 0;
    }
}

static void
jstp_ws_connection_dispose (GObject *object)
{
  JstpWsConnection *self = JSTP_WS_CONNECTION (object);

  if (self->ws)
    {
      g_signal_handlers_disconnect_by_data (self->ws, self);
      if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    }
  g_clear_object (&self->ws);
  G_OBJECT_CLASS (jstp_ws_connection_parent_class)->dispose (object);
}

static void
jstp_ws_connection_class_init (JstpWsConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  JstpConnectionClass *connection_class = JSTP_CONNECTION_CLASS (klass);

  object_class->dispose = jstp_ws_connection_dispose;
  connection_class->send_text = jstp_ws_connection_send_text;
  connection_class->close = jstp_ws_connection_close;
  connection_class->get_queued_bytes = jstp_ws_connection_get_queued_bytes;
}

static void
jstp_ws_connection_init (JstpWsConnection *self)
{
  self->fd = -1;
  self->created_us = self->last_heard_us = g_get_monotonic_time ();
}

JstpWsConnection *
jstp_ws_connection_new (SoupWebsocketConnection *ws,
                        GSocket                 *socket,
                        const char              *peer_address,
                        gboolean                 loopback,
                        gboolean                 inbound,
                        const JstpNetworkLimits *limits)
{
  JstpWsConnection *self;
  GIOStream *stream;

  g_return_val_if_fail (SOUP_IS_WEBSOCKET_CONNECTION (ws), NULL);

  self = g_object_new (JSTP_TYPE_WS_CONNECTION,
                       "transport", "ws",
                       "peer-address", peer_address,
                       "inbound", inbound,
                       "loopback", loopback,
                       NULL);
  self->ws = g_object_ref (ws);
  self->limits = limits;

  soup_websocket_connection_set_max_incoming_payload_size (ws, limits->max_frame);
  soup_websocket_connection_set_keepalive_interval (ws, limits->ws_ping_interval);

  stream = soup_websocket_connection_get_io_stream (ws);
  if (socket == NULL && G_IS_SOCKET_CONNECTION (stream))
    socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream));
  if (socket)
    {
      int one = 1;

      self->fd = g_socket_get_fd (socket);
      setsockopt (self->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      self->acked_at_start = bytes_acked (self);
    }

  g_signal_connect (ws, "message", G_CALLBACK (on_message), self);
  g_signal_connect (ws, "pong", G_CALLBACK (on_pong), self);
  g_signal_connect (ws, "closed", G_CALLBACK (on_closed), self);
  g_signal_connect (ws, "error", G_CALLBACK (on_error), self);
  return self;
}
