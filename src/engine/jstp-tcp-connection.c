/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "jstp-tcp-connection.h"

#define READ_CHUNK (64 * 1024)

struct _JstpTcpConnection
{
  JstpConnection parent_instance;

  GSocketConnection *connection;
  GSocket *socket;
  const JstpNetworkLimits *limits;

  GSource *read_source;
  GByteArray *in;            /* bytes of the line being assembled */
  gsize scanned;             /* bytes of @in already known to hold no newline */

  GByteArray *out;           /* bytes waiting for the socket */
  gsize out_offset;
  GSource *write_source;     /* waits for the socket to take more */
  GSource *flush_source;     /* coalesces many small writes into one */

  gint64 created_us;
  gint64 last_read_us;
  gint64 line_started_us;    /* 0: no partial line */
  gint64 over_soft_since_us; /* 0: queue under the soft limit */
  gboolean got_dispatch;
  gboolean saw_first_byte;
  guint malformed_in_window;
  gint64 malformed_window_us;
  gboolean closing;
};

G_DEFINE_FINAL_TYPE (JstpTcpConnection, jstp_tcp_connection, JSTP_TYPE_CONNECTION)

static void shut (JstpTcpConnection *self, const char *why);

static gsize
queued (JstpTcpConnection *self)
{
  return self->out->len - self->out_offset;
}

static gboolean
flush (JstpTcpConnection *self)
{
  while (queued (self) > 0)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (self->socket, (const char *) self->out->data + self->out_offset,
                                queued (self), NULL, &error);

      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return FALSE;
          shut (self, error->message);
          return TRUE;
        }
      self->out_offset += n;
    }
  g_byte_array_set_size (self->out, 0);
  self->out_offset = 0;
  return TRUE;
}

static gboolean
on_writable (GSocket      *socket,
             GIOCondition  condition,
             gpointer      data)
{
  JstpTcpConnection *self = data;

  if (!flush (self))
    return G_SOURCE_CONTINUE;
  g_clear_pointer (&self->write_source, g_source_unref);
  if (queued (self) < self->limits->queue_soft)
    self->over_soft_since_us = 0;
  return G_SOURCE_REMOVE;
}

static void
wait_writable (JstpTcpConnection *self)
{
  if (self->write_source || self->closing)
    return;
  self->write_source = g_socket_create_source (self->socket, G_IO_OUT, NULL);
  g_source_set_callback (self->write_source, G_SOURCE_FUNC (on_writable), self, NULL);
  g_source_set_static_name (self->write_source, "[jstp] tcp write");
  g_source_attach (self->write_source, g_main_context_get_thread_default ());
}

static gboolean
on_flush (gpointer data)
{
  JstpTcpConnection *self = data;

  g_clear_pointer (&self->flush_source, g_source_unref);
  if (self->write_source == NULL && !flush (self))
    wait_writable (self);
  return G_SOURCE_REMOVE;
}

static void
jstp_tcp_connection_send_text (JstpConnection *connection,
                               const char     *text,
                               gsize           length)
{
  JstpTcpConnection *self = JSTP_TCP_CONNECTION (connection);
  gsize pending;

  if (self->closing)
    return;

  /* Compact the buffer once most of it has been written. */
  if (self->out_offset > 0 && self->out_offset >= self->out->len / 2)
    {
      g_byte_array_remove_range (self->out, 0, self->out_offset);
      self->out_offset = 0;
    }
  g_byte_array_append (self->out, (const guint8 *) text, length);
  g_byte_array_append (self->out, (const guint8 *) "\n", 1);

  pending = queued (self);
  if (pending > self->limits->queue_hard)
    {
      /* A slow reader never holds more than this: it is closed, and the
       * others are not delayed by it. */
      shut (self, "slow consumer: send queue over the hard limit");
      return;
    }
  if (pending > self->limits->queue_soft && self->over_soft_since_us == 0)
    self->over_soft_since_us = g_get_monotonic_time ();

  if (self->flush_source == NULL && self->write_source == NULL)
    {
      self->flush_source = g_idle_source_new ();
      g_source_set_priority (self->flush_source, G_PRIORITY_DEFAULT);
      g_source_set_callback (self->flush_source, on_flush, self, NULL);
      g_source_set_static_name (self->flush_source, "[jstp] tcp flush");
      g_source_attach (self->flush_source, g_main_context_get_thread_default ());
    }
}

static gsize
jstp_tcp_connection_get_queued_bytes (JstpConnection *connection)
{
  return queued (JSTP_TCP_CONNECTION (connection));
}

static void
clear_sources (JstpTcpConnection *self)
{
  if (self->read_source)
    g_source_destroy (self->read_source);
  g_clear_pointer (&self->read_source, g_source_unref);
  if (self->write_source)
    g_source_destroy (self->write_source);
  g_clear_pointer (&self->write_source, g_source_unref);
  if (self->flush_source)
    g_source_destroy (self->flush_source);
  g_clear_pointer (&self->flush_source, g_source_unref);
}

static void
shut (JstpTcpConnection *self,
      const char        *why)
{
  if (self->closing)
    return;
  self->closing = TRUE;
  g_debug ("closing tcp connection %s: %s",
           jstp_connection_get_peer_address (JSTP_CONNECTION (self)), why);
  clear_sources (self);
  g_socket_close (self->socket, NULL);
  jstp_connection_notify_closed (JSTP_CONNECTION (self));
}

static void
jstp_tcp_connection_close (JstpConnection *connection)
{
  JstpTcpConnection *self = JSTP_TCP_CONNECTION (connection);

  /* What was queued goes out first, as far as the socket takes it now. */
  if (!self->closing && queued (self) > 0)
    flush (self);
  shut (self, "closed locally");
}

static gboolean
only_whitespace (const guint8 *p,
                 gsize         length)
{
  for (gsize i = 0; i < length; i++)
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
      return FALSE;
  return TRUE;
}

static void
count_malformed (JstpTcpConnection *self,
                 gint64             now)
{
  if (now - self->malformed_window_us > 60 * G_USEC_PER_SEC)
    {
      self->malformed_window_us = now;
      self->malformed_in_window = 0;
    }
  if (++self->malformed_in_window > self->limits->malformed_budget)
    shut (self, "too many malformed dispatches");
}

/* Splits @in into lines and hands each complete one to the engine. */
static void
process_lines (JstpTcpConnection *self)
{
  gsize start = 0;
  gint64 now = g_get_monotonic_time ();

  while (!self->closing)
    {
      guint8 *nl = memchr (self->in->data + MAX (start, self->scanned), '\n',
                           self->in->len - MAX (start, self->scanned));
      gsize end, length;

      if (nl == NULL)
        break;
      end = nl - self->in->data;
      length = end - start;
      /* \r\n endings are accepted: CR is JSON whitespace. */
      if (!only_whitespace (self->in->data + start, length))
        {
          if (!self->saw_first_byte && !jstp_connection_get_inbound (JSTP_CONNECTION (self)) &&
              self->in->data[start] != '{')
            {
              /* An outbound peer answering something else (an HTTP
               * server, say) does not speak JSTP. */
              jstp_connection_set_close_status (JSTP_CONNECTION (self), 503);
              shut (self, "the peer does not speak JSTP");
              return;
            }
          self->saw_first_byte = TRUE;
          self->got_dispatch = TRUE;
          if (!jstp_connection_deliver (JSTP_CONNECTION (self),
                                        (const char *) self->in->data + start, length))
            count_malformed (self, now);
        }
      start = end + 1;
    }
  if (self->closing)
    return;

  if (start > 0)
    g_byte_array_remove_range (self->in, 0, start);
  self->scanned = self->in->len;
  self->line_started_us = self->in->len > 0 ? (self->line_started_us ? self->line_started_us : now) : 0;

  if (self->in->len > self->limits->max_frame)
    shut (self, "a line is longer than the frame limit");
}

static gboolean
on_readable (GSocket      *socket,
             GIOCondition  condition,
             gpointer      data)
{
  JstpTcpConnection *self = data;
  /* Delivering may close the connection and drop the engine's reference;
   * this one keeps it alive until the callback is done with it. */
  G_GNUC_UNUSED g_autoptr(JstpTcpConnection) keep = g_object_ref (self);
  guint8 chunk[READ_CHUNK];
  g_autoptr(GError) error = NULL;
  gssize n;

  n = g_socket_receive (self->socket, (char *) chunk, sizeof chunk, NULL, &error);
  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      shut (self, error->message);
      return G_SOURCE_REMOVE;
    }
  if (n == 0)
    {
      /* A half dispatch before the end is discarded (A8); answers to
       * what did arrive go out first, as far as the socket takes them. */
      flush (self);
      shut (self, "the peer closed the connection");
      return G_SOURCE_REMOVE;
    }

  self->last_read_us = g_get_monotonic_time ();
  g_byte_array_append (self->in, chunk, n);
  process_lines (self);
  return self->closing ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

void
jstp_tcp_connection_check_timers (JstpTcpConnection *self,
                                  gint64             now)
{
  const JstpNetworkLimits *limits = self->limits;

  g_return_if_fail (JSTP_IS_TCP_CONNECTION (self));

  if (self->closing)
    return;
  if (jstp_connection_get_inbound (JSTP_CONNECTION (self)) && !self->got_dispatch &&
      now - self->created_us > (gint64) limits->first_dispatch_timeout * G_USEC_PER_SEC)
    shut (self, "no dispatch in time after connecting");
  else if (self->line_started_us &&
           now - self->line_started_us > (gint64) limits->line_timeout * G_USEC_PER_SEC)
    shut (self, "a line took too long to arrive");
  else if (now - self->last_read_us > (gint64) limits->idle_timeout * G_USEC_PER_SEC)
    shut (self, "idle for too long");
  else if (self->over_soft_since_us &&
           now - self->over_soft_since_us > (gint64) limits->queue_soft_seconds * G_USEC_PER_SEC)
    {
      if (queued (self) > limits->queue_soft)
        shut (self, "slow consumer: send queue over the soft limit for too long");
      else
        self->over_soft_since_us = 0;
    }
}

void
jstp_tcp_connection_start (JstpTcpConnection *self)
{
  g_return_if_fail (JSTP_IS_TCP_CONNECTION (self));
  g_return_if_fail (self->read_source == NULL);

  self->read_source = g_socket_create_source (self->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (self->read_source, G_SOURCE_FUNC (on_readable), self, NULL);
  g_source_set_static_name (self->read_source, "[jstp] tcp read");
  g_source_attach (self->read_source, g_main_context_get_thread_default ());
}

static void
jstp_tcp_connection_dispose (GObject *object)
{
  JstpTcpConnection *self = JSTP_TCP_CONNECTION (object);

  clear_sources (self);
  G_OBJECT_CLASS (jstp_tcp_connection_parent_class)->dispose (object);
}

static void
jstp_tcp_connection_finalize (GObject *object)
{
  JstpTcpConnection *self = JSTP_TCP_CONNECTION (object);

  if (!self->closing)
    g_socket_close (self->socket, NULL);
  g_clear_object (&self->connection);
  g_byte_array_unref (self->in);
  g_byte_array_unref (self->out);

  G_OBJECT_CLASS (jstp_tcp_connection_parent_class)->finalize (object);
}

static void
jstp_tcp_connection_class_init (JstpTcpConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  JstpConnectionClass *connection_class = JSTP_CONNECTION_CLASS (klass);

  object_class->dispose = jstp_tcp_connection_dispose;
  object_class->finalize = jstp_tcp_connection_finalize;
  connection_class->send_text = jstp_tcp_connection_send_text;
  connection_class->close = jstp_tcp_connection_close;
  connection_class->get_queued_bytes = jstp_tcp_connection_get_queued_bytes;
}

static void
jstp_tcp_connection_init (JstpTcpConnection *self)
{
  /* Empty until used: an idle connection should cost little memory. */
  self->in = g_byte_array_new ();
  self->out = g_byte_array_new ();
  self->created_us = self->last_read_us = g_get_monotonic_time ();
}

static char *
describe_address (GSocketAddress *address,
                  gboolean       *loopback)
{
  GInetAddress *inet;
  g_autofree char *host = NULL;

  *loopback = FALSE;
  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("unknown");
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  *loopback = g_inet_address_get_is_loopback (inet);
  host = g_inet_address_to_string (inet);
  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", host,
                            g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
  return g_strdup_printf ("%s:%u", host,
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
}

JstpTcpConnection *
jstp_tcp_connection_new (GSocketConnection       *connection,
                         gboolean                 inbound,
                         const JstpNetworkLimits *limits)
{
  JstpTcpConnection *self;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autofree char *peer = NULL;
  gboolean loopback = FALSE;
  GSocket *socket;
  int fd, one = 1, user_timeout_ms = 60000;

  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (connection), NULL);
  g_return_val_if_fail (limits != NULL, NULL);

  remote = g_socket_connection_get_remote_address (connection, NULL);
  if (remote)
    peer = describe_address (remote, &loopback);

  self = g_object_new (JSTP_TYPE_TCP_CONNECTION,
                       "transport", "tcp",
                       "peer-address", peer ? peer : "unknown",
                       "inbound", inbound,
                       "loopback", loopback,
                       NULL);
  self->connection = g_object_ref (connection);
  self->limits = limits;
  socket = g_socket_connection_get_socket (connection);
  self->socket = socket;
  g_socket_set_blocking (socket, FALSE);
  /* GSocketClient hands its connect timeout on to the socket, where it
   * would close any link quiet for that long; our own timers judge idleness. */
  g_socket_set_timeout (socket, 0);

  /* Small dispatches must not wait for Nagle; half-open peers are found
   * by keepalive probes and the kernel's user timeout. */
  fd = g_socket_get_fd (socket);
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  g_socket_set_keepalive (socket, TRUE);
  setsockopt (fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
  return self;
}
