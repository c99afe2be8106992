/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <libsoup/soup.h>

#include "jstp-engine-private.h"
#include "jstp-json.h"
#include "jstp-network.h"
#include "jstp-tcp-connection.h"
#include "jstp-web.h"
#include "jstp-ws-connection.h"
#include "jstp-ws-limit.h"

/* Someone waiting for a destination's connection. */
typedef struct {
  guint64 forward_id;   /* 0 when @task is set */
  GTask *task;
} Waiter;

/* One remote engine this engine connects to, with what it holds there. */
typedef struct {
  JstpNetwork *network;
  char *key;
  char *address;
  guint16 port;
  char *label;

  JstpConnection *connection;
  gboolean connecting;
  GArray *waiters;             /* Waiter */
  GPtrArray *binds;            /* JstpPattern: re-sent after reconnecting */
  guint backoff_ms;
  guint reconnect_id;
  gint64 connected_at_us;
  char *last_error;
} Destination;

typedef struct {
  guint64 id;
  Destination *destination;
  JstpPattern *endpoint;
} Bridge;

/* The listening sockets of one transport. GSocketService and libsoup's
 * own listener are not used: on EMFILE the first retries at once, with a
 * warning each time, and the second stops accepting for good. */
typedef struct {
  JstpNetwork *network;
  GSocketListener *listener;
  gboolean ws;
  gboolean accepting;
  guint retry_id;
  guint backoff_ms;
} Acceptor;

#define ACCEPT_BACKOFF_MIN_MS 50
#define ACCEPT_BACKOFF_MAX_MS 1000

struct _JstpNetwork
{
  GObject parent_instance;

  JstpEngine *engine;
  JstpNetworkLimits limits;

  Acceptor tcp_acceptor;
  guint16 tcp_port;
  Acceptor ws_acceptor;
  SoupServer *ws_server;           /* HTTP and the upgrade, on our sockets */
  guint16 ws_port;
  GPtrArray *listen_addresses;   /* GInetAddress, what we listen on */

  GHashTable *inbound_per_ip;    /* ip string -> count */
  guint inbound_tcp;
  guint inbound_ws;

  GHashTable *destinations;      /* key -> Destination */
  GSocketClient *client;
  SoupSession *session;
  GCancellable *cancellable;

  char **allowlist;
  GHashTable *bridges;           /* &id -> Bridge */
  guint64 next_bridge_id;
  guint64 bindings[3];

  guint sweep_id;
  gboolean closed;
};

G_DEFINE_FINAL_TYPE (JstpNetwork, jstp_network, G_TYPE_OBJECT)

void
jstp_network_limits_init (JstpNetworkLimits *limits)
{
  g_return_if_fail (limits != NULL);

  limits->max_frame = 1024 * 1024;
  limits->max_connections = 1024;
  limits->max_connections_per_ip = 32;
  limits->queue_soft = 2 * 1024 * 1024;
  limits->queue_soft_seconds = 30;
  limits->queue_hard = 8 * 1024 * 1024;
  limits->first_dispatch_timeout = 10;
  limits->line_timeout = 30;
  limits->idle_timeout = 300;
  limits->ws_ping_interval = 30;
  limits->ws_pong_timeout = 75;
  limits->malformed_budget = 20;
  limits->connect_timeout = 5;
  limits->reconnect_min_ms = 1000;
  limits->reconnect_max_ms = 60000;
}

/* ---- inbound ----------------------------------------------------------- */

static char *
ip_of (const char *peer_address)
{
  const char *colon = strrchr (peer_address, ':');

  return colon ? g_strndup (peer_address, colon - peer_address) : g_strdup (peer_address);
}

typedef struct {
  JstpNetwork *network;
  char *ip;
  gboolean ws;
} InboundInfo;

static void
inbound_closed_cb (JstpConnection *connection,
                   InboundInfo    *info)
{
  JstpNetwork *self = info->network;
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (self->inbound_per_ip, info->ip));

  if (count <= 1)
    g_hash_table_remove (self->inbound_per_ip, info->ip);
  else
    g_hash_table_insert (self->inbound_per_ip, g_strdup (info->ip), GUINT_TO_POINTER (count - 1));
  if (info->ws)
    self->inbound_ws--;
  else
    self->inbound_tcp--;
  g_signal_handlers_disconnect_by_data (connection, info);
}

static void
inbound_info_free (gpointer data, GClosure *closure)
{
  InboundInfo *info = data;

  g_free (info->ip);
  g_free (info);
}

/* Admits a new inbound connection, or says why not. */
static const char *
admit (JstpNetwork *self,
       const char  *peer_address,
       gboolean     loopback,
       gboolean     ws)
{
  g_autofree char *ip = ip_of (peer_address);
  guint per_ip = GPOINTER_TO_UINT (g_hash_table_lookup (self->inbound_per_ip, ip));

  if (self->closed)
    return "the engine is stopping";
  if ((ws ? self->inbound_ws : self->inbound_tcp) >= self->limits.max_connections)
    return "too many connections";
  if (!loopback && per_ip >= self->limits.max_connections_per_ip)
    return "too many connections from this address";
  return NULL;
}

static void
track_inbound (JstpNetwork    *self,
               JstpConnection *connection,
               gboolean        ws)
{
  InboundInfo *info = g_new0 (InboundInfo, 1);
  guint count;

  info->network = self;
  info->ip = ip_of (jstp_connection_get_peer_address (connection));
  info->ws = ws;
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->inbound_per_ip, info->ip));
  g_hash_table_insert (self->inbound_per_ip, g_strdup (info->ip), GUINT_TO_POINTER (count + 1));
  if (ws)
    self->inbound_ws++;
  else
    self->inbound_tcp++;
  g_signal_connect_data (connection, "closed", G_CALLBACK (inbound_closed_cb), info,
                         inbound_info_free, 0);
}

static void
incoming_tcp (JstpNetwork       *self,
              GSocketConnection *socket_connection)
{
  g_autoptr(JstpTcpConnection) connection =
    jstp_tcp_connection_new (socket_connection, TRUE, &self->limits);
  const char *refusal = admit (self, jstp_connection_get_peer_address (JSTP_CONNECTION (connection)),
                               jstp_connection_get_is_loopback (JSTP_CONNECTION (connection)),
                               FALSE);

  if (refusal)
    {
      g_debug ("refused tcp connection from %s: %s",
               jstp_connection_get_peer_address (JSTP_CONNECTION (connection)), refusal);
      g_io_stream_close (G_IO_STREAM (socket_connection), NULL, NULL);
      return;
    }
  track_inbound (self, JSTP_CONNECTION (connection), FALSE);
  jstp_engine_add_connection (self->engine, JSTP_CONNECTION (connection));
  jstp_tcp_connection_start (connection);
}

static void
on_websocket (JstpNetwork             *self,
              SoupServerMessage       *msg,
              SoupWebsocketConnection *ws,
              GSocket                 *socket)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  g_autofree char *peer = NULL;
  gboolean loopback = FALSE;
  g_autoptr(JstpWsConnection) connection = NULL;
  const char *refusal;

  if (G_IS_INET_SOCKET_ADDRESS (remote))
    {
      GInetAddress *inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));
      g_autofree char *host = g_inet_address_to_string (inet);
      guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote));

      loopback = g_inet_address_get_is_loopback (inet);
      peer = g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6
             ? g_strdup_printf ("[%s]:%u", host, port) : g_strdup_printf ("%s:%u", host, port);
    }
  else
    peer = g_strdup ("unknown");

  refusal = admit (self, peer, loopback, TRUE);
  if (refusal)
    {
      g_debug ("refused ws connection from %s: %s", peer, refusal);
      soup_websocket_connection_close (ws, 1013 /* try again later */, refusal);
      return;
    }

  connection = jstp_ws_connection_new (ws, socket, peer, loopback, TRUE, &self->limits);
  track_inbound (self, JSTP_CONNECTION (connection), TRUE);
  jstp_engine_add_connection (self->engine, JSTP_CONNECTION (connection));
}

/* The handshake is done here rather than by
 * soup_server_add_websocket_handler(), so that server connections get the
 * bound on fragmented messages (jstp-ws-limit.h) and no permessage-deflate,
 * whose frames could inflate far past any limit. */
static void
on_upgraded (SoupServerMessage *msg,
             gpointer           data)
{
  JstpNetwork *self = data;
  GUri *uri = soup_server_message_get_uri (msg);
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(GIOStream) base = NULL;
  GSocket *socket = NULL;
  const char *origin;

  g_signal_handlers_disconnect_by_func (msg, on_upgraded, data);
  g_object_ref (msg);
  stream = soup_server_message_steal_connection (msg);
  origin = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Origin");
  ws = soup_websocket_connection_new (stream, uri, SOUP_WEBSOCKET_CONNECTION_SERVER, origin, NULL,
                                      g_list_prepend (NULL, jstp_ws_limit_new (&self->limits)));
  /* libsoup wraps the connection the acceptor gave it in a stream of its
   * own; the socket underneath is what the queue estimate reads. */
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (stream), "base-iostream"))
    g_object_get (stream, "base-iostream", &base, NULL);
  if (G_IS_SOCKET_CONNECTION (base))
    socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (base));
  on_websocket (self, msg, ws, socket);
  g_object_unref (msg);
}

static void
incoming_ws (JstpNetwork       *self,
             GSocketConnection *socket_connection)
{
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (socket_connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (socket_connection, NULL);
  g_autoptr(GError) error = NULL;

  /* HTTP, then the upgrade (on_upgrade_request), are libsoup's. */
  if (local == NULL || remote == NULL ||
      !soup_server_accept_iostream (self->ws_server, G_IO_STREAM (socket_connection), local, remote,
                                    &error))
    {
      g_debug ("dropped a ws connection: %s", error ? error->message : "no address");
      g_io_stream_close (G_IO_STREAM (socket_connection), NULL, NULL);
    }
}

static void acceptor_next (Acceptor *acceptor);

static gboolean
acceptor_retry_cb (gpointer data)
{
  Acceptor *acceptor = data;

  acceptor->retry_id = 0;
  acceptor_next (acceptor);
  return G_SOURCE_REMOVE;
}

static void
on_accepted (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(JstpNetwork) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection =
    g_socket_listener_accept_finish (G_SOCKET_LISTENER (source), result, NULL, &error);
  Acceptor *acceptor;

  if (self->closed)
    return;
  acceptor = G_SOCKET_LISTENER (source) == self->ws_acceptor.listener ? &self->ws_acceptor
                                                                      : &self->tcp_acceptor;
  acceptor->accepting = FALSE;
  if (connection == NULL)
    {
      /* Out of descriptors, most likely: the connection waits in the
       * backlog, and accepting again at once would spin on it. */
      g_debug ("accepting a %s connection failed (%s); trying again in %u ms",
               acceptor->ws ? "ws" : "tcp", error->message, acceptor->backoff_ms);
      acceptor->retry_id = g_timeout_add (acceptor->backoff_ms, acceptor_retry_cb, acceptor);
      acceptor->backoff_ms = MIN (acceptor->backoff_ms * 2, ACCEPT_BACKOFF_MAX_MS);
      return;
    }
  acceptor->backoff_ms = ACCEPT_BACKOFF_MIN_MS;
  if (acceptor->ws)
    incoming_ws (self, connection);
  else
    incoming_tcp (self, connection);
  acceptor_next (acceptor);
}

static void
acceptor_next (Acceptor *acceptor)
{
  JstpNetwork *self = acceptor->network;

  if (acceptor->accepting || acceptor->retry_id || self->closed)
    return;
  acceptor->accepting = TRUE;
  g_socket_listener_accept_async (acceptor->listener, self->cancellable, on_accepted,
                                  g_object_ref (self));
}

/* Listens on @address for @acceptor; the port it got in @port. */
static gboolean
acceptor_listen (Acceptor        *acceptor,
                 GSocketAddress  *address,
                 guint16         *port,
                 GError         **error)
{
  g_autoptr(GSocketAddress) effective = NULL;

  if (acceptor->listener == NULL)
    {
      acceptor->listener = g_socket_listener_new ();
      /* GLib's default backlog of 10 drops the SYN of the 12th of a burst
       * of connections, which then waits a second to try again. */
      g_socket_listener_set_backlog (acceptor->listener, SOMAXCONN);
    }
  if (!g_socket_listener_add_address (acceptor->listener, address, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, &effective, error))
    return FALSE;
  if (*port == 0)
    *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  acceptor_next (acceptor);
  return TRUE;
}

/* An early handler: upgrades never reach the plain handler. */
static void
on_upgrade_request (SoupServer        *server,
                    SoupServerMessage *msg,
                    const char        *path,
                    GHashTable        *query,
                    gpointer           data)
{
  if (!soup_message_headers_header_contains (soup_server_message_get_request_headers (msg),
                                             "Upgrade", "websocket"))
    return;
  /* On a bad handshake this sets the error status itself. */
  if (soup_websocket_server_process_handshake (msg, NULL, NULL, NULL, NULL))
    g_signal_connect (msg, "wrote-informational", G_CALLBACK (on_upgraded), data);
}

static GInetAddress *
resolve_listen_address (const char  *address,
                        GError     **error)
{
  GInetAddress *inet;
  GList *found;

  if (address == NULL || *address == '\0' || g_str_equal (address, "*"))
    return g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
  inet = g_inet_address_new_from_string (address);
  if (inet)
    return inet;
  if (g_str_equal (address, "localhost"))
    return g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  /* Names are resolved once, when listening starts. */
  found = g_resolver_lookup_by_name (g_resolver_get_default (), address, NULL, error);
  if (found == NULL)
    return NULL;
  inet = g_object_ref (found->data);
  g_resolver_free_addresses (found);
  return inet;
}

gboolean
jstp_network_listen (JstpNetwork  *self,
                     const char   *label,
                     const char   *address,
                     guint16       port,
                     GError      **error)
{
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;

  g_return_val_if_fail (JSTP_IS_NETWORK (self), FALSE);
  g_return_val_if_fail (label != NULL, FALSE);

  inet = resolve_listen_address (address, error);
  if (inet == NULL)
    return FALSE;
  socket_address = g_inet_socket_address_new (inet, port);

  if (g_str_equal (label, "tcp"))
    {
      if (!acceptor_listen (&self->tcp_acceptor, socket_address, &self->tcp_port, error))
        return FALSE;
    }
  else if (g_str_equal (label, "ws"))
    {
      if (self->ws_server == NULL)
        {
          self->ws_server = soup_server_new ("server-header", "jstp ", NULL);
          /* Upgrades are taken by the early handler; the plain one,
           * jstp_web_handle(), serves the browser client. */
          soup_server_add_handler (self->ws_server, NULL, jstp_web_handle, NULL, NULL);
          soup_server_add_early_handler (self->ws_server, NULL, on_upgrade_request, self, NULL);
        }
      if (!acceptor_listen (&self->ws_acceptor, socket_address, &self->ws_port, error))
        return FALSE;
    }
  else
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_UNRECOGNIZED_TRANSPORT,
                   "unknown transport \"%s\" (tcp and ws are known)", label);
      return FALSE;
    }

  g_ptr_array_add (self->listen_addresses, g_object_ref (inet));
  return TRUE;
}

guint16
jstp_network_get_port (JstpNetwork *self,
                       const char  *label)
{
  g_return_val_if_fail (JSTP_IS_NETWORK (self), 0);

  if (g_strcmp0 (label, "tcp") == 0)
    return self->tcp_port;
  if (g_strcmp0 (label, "ws") == 0)
    return self->ws_port;
  return 0;
}

/* ---- outbound ---------------------------------------------------------- */

static void destination_connect (Destination *dest);

static void
destination_free (gpointer data)
{
  Destination *dest = data;

  if (dest->reconnect_id)
    g_source_remove (dest->reconnect_id);
  if (dest->connection)
    g_signal_handlers_disconnect_by_data (dest->connection, dest);
  g_clear_object (&dest->connection);
  g_array_unref (dest->waiters);
  g_ptr_array_unref (dest->binds);
  g_free (dest->key);
  g_free (dest->address);
  g_free (dest->label);
  g_free (dest->last_error);
  g_free (dest);
}

static char *
destination_key (const char *label,
                 const char *address,
                 guint16     port)
{
  return g_strdup_printf ("%s://%s|%u", label, address, port);
}

static Destination *
destination_get (JstpNetwork *self,
                 const char  *address,
                 guint16      port,
                 const char  *label)
{
  g_autofree char *key = destination_key (label, address, port);
  Destination *dest = g_hash_table_lookup (self->destinations, key);

  if (dest)
    return dest;
  dest = g_new0 (Destination, 1);
  dest->network = self;
  dest->key = g_steal_pointer (&key);
  dest->address = g_strdup (address);
  dest->port = port;
  dest->label = g_strdup (label);
  dest->waiters = g_array_new (FALSE, TRUE, sizeof (Waiter));
  dest->binds = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_pattern_unref);
  dest->backoff_ms = self->limits.reconnect_min_ms;
  g_hash_table_insert (self->destinations, dest->key, dest);
  return dest;
}

static void
send_subscription (JstpConnection *connection,
                   JstpMethod      method,
                   JstpPattern    *pattern)
{
  g_autoptr(JstpDispatch) d = jstp_dispatch_new_subscription (method, pattern);

  /* No transaction id: section 9, a missing acknowledgement means
   * "unknown", so none is asked for. The reference engine drops a dispatch
   * with no token at all, so an empty one is sent. */
  jstp_connection_send (connection, d, NULL);
}

static void
schedule_reconnect (Destination *dest);

static void
destination_closed_cb (JstpConnection *connection,
                       Destination    *dest)
{
  JstpNetwork *self = dest->network;

  g_signal_handlers_disconnect_by_data (connection, dest);
  g_clear_object (&dest->connection);
  /* Stable connections start the next backoff from the bottom again. */
  if (g_get_monotonic_time () - dest->connected_at_us > 30 * G_USEC_PER_SEC)
    dest->backoff_ms = self->limits.reconnect_min_ms;
  if (dest->binds->len > 0 && !self->closed)
    schedule_reconnect (dest);
}

static void
destination_ready (Destination    *dest,
                   JstpConnection *connection,
                   guint           status,
                   const char     *message)
{
  JstpNetwork *self = dest->network;
  g_autoptr(GArray) waiters = dest->waiters;

  dest->connecting = FALSE;
  dest->waiters = g_array_new (FALSE, TRUE, sizeof (Waiter));

  if (connection)
    {
      dest->connection = g_object_ref (connection);
      dest->connected_at_us = g_get_monotonic_time ();
      g_clear_pointer (&dest->last_error, g_free);
      g_signal_connect (connection, "closed", G_CALLBACK (destination_closed_cb), dest);
      /* Outbound subscriptions live again after a reconnection. */
      for (guint i = 0; i < dest->binds->len; i++)
        send_subscription (connection, JSTP_METHOD_BIND, g_ptr_array_index (dest->binds, i));
    }
  else
    {
      g_free (dest->last_error);
      dest->last_error = g_strdup (message);
    }

  for (guint i = 0; i < waiters->len; i++)
    {
      Waiter *w = &g_array_index (waiters, Waiter, i);

      if (w->task)
        {
          if (connection)
            g_task_return_pointer (w->task, g_object_ref (connection), g_object_unref);
          else
            g_task_return_new_error (w->task, JSTP_ERROR, status, "%s", message);
          g_object_unref (w->task);
        }
      else
        _jstp_engine_forward_ready (self->engine, w->forward_id, connection, status, message);
    }

  if (connection == NULL && dest->binds->len > 0 && !self->closed)
    schedule_reconnect (dest);
}

static gboolean
reconnect_cb (gpointer data)
{
  Destination *dest = data;

  dest->reconnect_id = 0;
  if (dest->connection == NULL && !dest->connecting)
    destination_connect (dest);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (Destination *dest)
{
  JstpNetwork *self = dest->network;
  guint delay;
  double jitter;

  if (dest->reconnect_id || dest->connecting || dest->connection)
    return;
  /* Exponential, capped, with ±20 % jitter so that many clients of one
   * engine do not come back in step. */
  jitter = 0.8 + 0.4 * g_random_double ();
  delay = (guint) (dest->backoff_ms * jitter);
  dest->backoff_ms = MIN (dest->backoff_ms * 2, self->limits.reconnect_max_ms);
  g_debug ("reconnecting to %s in %u ms", dest->key, delay);
  dest->reconnect_id = g_timeout_add (delay, reconnect_cb, dest);
}

static void
add_outbound (JstpNetwork    *self,
              Destination    *dest,
              JstpConnection *connection)
{
  jstp_engine_add_connection (self->engine, connection);
  destination_ready (dest, connection, 0, NULL);
}

static void
tcp_connected_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  char *key = data;
  JstpNetwork *self;
  Destination *dest;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) socket_connection =
    g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  g_autoptr(JstpTcpConnection) connection = NULL;

  self = g_object_get_data (source, "jstp-network");
  dest = self ? g_hash_table_lookup (self->destinations, key) : NULL;
  g_free (key);
  if (dest == NULL)
    return;

  if (socket_connection == NULL)
    {
      g_autofree char *message = g_strdup_printf ("cannot reach %s:%u: %s", dest->address,
                                                  dest->port, error->message);
      destination_ready (dest, NULL, JSTP_STATUS_UNREACHABLE, message);
      return;
    }

  connection = jstp_tcp_connection_new (socket_connection, FALSE, &self->limits);
  add_outbound (self, dest, JSTP_CONNECTION (connection));
  jstp_tcp_connection_start (connection);
}

static void
ws_connected_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  char *key = data;
  JstpNetwork *self = g_object_get_data (source, "jstp-network");
  Destination *dest = self ? g_hash_table_lookup (self->destinations, key) : NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) ws =
    soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  g_autoptr(JstpWsConnection) connection = NULL;
  g_autofree char *peer = NULL;

  g_free (key);
  if (dest == NULL)
    return;

  if (ws == NULL)
    {
      g_autofree char *message = g_strdup_printf ("cannot reach ws://%s:%u: %s", dest->address,
                                                  dest->port, error->message);
      /* A peer that answered HTTP but not the upgrade is there, but does
       * not speak JSTP over WebSocket. */
      destination_ready (dest, NULL,
                         error->domain == SOUP_WEBSOCKET_ERROR ? JSTP_STATUS_INVALID_REMOTE_HOST
                                                               : JSTP_STATUS_UNREACHABLE,
                         message);
      return;
    }

  peer = strchr (dest->address, ':') ? g_strdup_printf ("[%s]:%u", dest->address, dest->port)
                                     : g_strdup_printf ("%s:%u", dest->address, dest->port);
  connection = jstp_ws_connection_new (ws, NULL, peer, FALSE, FALSE, &self->limits);
  add_outbound (self, dest, JSTP_CONNECTION (connection));
}

static void
destination_connect (Destination *dest)
{
  JstpNetwork *self = dest->network;

  if (dest->connecting || dest->connection)
    return;
  dest->connecting = TRUE;

  if (g_str_equal (dest->label, "tcp"))
    {
      g_autoptr(GSocketConnectable) connectable = g_network_address_new (dest->address, dest->port);

      g_socket_client_connect_async (self->client, connectable, self->cancellable,
                                     tcp_connected_cb, g_strdup (dest->key));
    }
  else
    {
      g_autofree char *uri = strchr (dest->address, ':')
                             ? g_strdup_printf ("ws://[%s]:%u/", dest->address, dest->port)
                             : g_strdup_printf ("ws://%s:%u/", dest->address, dest->port);
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);

      if (msg == NULL)
        {
          destination_ready (dest, NULL, JSTP_STATUS_BAD_DISPATCH, "not a valid host address");
          return;
        }
      soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                            self->cancellable, ws_connected_cb,
                                            g_strdup (dest->key));
    }
}

static void
destination_wait (Destination *dest,
                  Waiter       waiter)
{
  if (dest->connection && !jstp_connection_is_closed (dest->connection))
    {
      if (waiter.task)
        {
          g_task_return_pointer (waiter.task, g_object_ref (dest->connection), g_object_unref);
          g_object_unref (waiter.task);
        }
      else
        _jstp_engine_forward_ready (dest->network->engine, waiter.forward_id, dest->connection,
                                    0, NULL);
      return;
    }
  g_array_append_val (dest->waiters, waiter);
  if (dest->reconnect_id)
    {
      /* Someone needs it now: skip the rest of the backoff. */
      g_source_remove (dest->reconnect_id);
      dest->reconnect_id = 0;
    }
  destination_connect (dest);
}

static gboolean
address_is_local_listener (JstpNetwork *self,
                           const char  *address,
                           guint16      port)
{
  g_autoptr(GInetAddress) inet = NULL;

  if (port != self->tcp_port && port != self->ws_port)
    return FALSE;
  if (g_ascii_strcasecmp (address, "localhost") == 0)
    return TRUE;
  inet = g_inet_address_new_from_string (address);
  if (inet == NULL)
    return FALSE;
  if (g_inet_address_get_is_loopback (inet) || g_inet_address_get_is_any (inet))
    return TRUE;
  for (guint i = 0; i < self->listen_addresses->len; i++)
    if (g_inet_address_equal (inet, g_ptr_array_index (self->listen_addresses, i)) ||
        g_inet_address_get_is_any (g_ptr_array_index (self->listen_addresses, i)))
      return TRUE;
  return FALSE;
}

static gboolean
allowed_destination (JstpNetwork *self,
                     const char  *address,
                     guint16      port)
{
  g_autofree char *exact = NULL;
  g_autofree char *any = NULL;

  if (self->allowlist == NULL)
    return FALSE;
  exact = g_strdup_printf ("%s:%u", address, port);
  any = g_strdup_printf ("%s:*", address);
  return g_strv_contains ((const char * const *) self->allowlist, exact) ||
         g_strv_contains ((const char * const *) self->allowlist, any);
}

static void
remember_subscription (Destination  *dest,
                       JstpDispatch *dispatch)
{
  JstpMethod method = jstp_dispatch_get_method (dispatch);
  JstpPattern *endpoint;

  if (method != JSTP_METHOD_BIND && method != JSTP_METHOD_RELEASE)
    return;
  endpoint = jstp_dispatch_get_endpoint (dispatch);
  for (guint i = 0; i < dest->binds->len; i++)
    if (jstp_pattern_equal (g_ptr_array_index (dest->binds, i), endpoint))
      {
        if (method == JSTP_METHOD_RELEASE)
          g_ptr_array_remove_index (dest->binds, i);
        return;
      }
  if (method == JSTP_METHOD_BIND)
    g_ptr_array_add (dest->binds, jstp_pattern_ref (endpoint));
}

static void
outbound_func (JstpEngine     *engine,
               const JstpHop  *hop,
               JstpDispatch   *dispatch,
               JstpConnection *from,
               guint64         forward_id,
               gpointer        data)
{
  JstpNetwork *self = data;
  Destination *dest;
  Waiter waiter = { forward_id, NULL };

  if (self->closed)
    {
      _jstp_engine_forward_ready (engine, forward_id, NULL, JSTP_STATUS_UNREACHABLE,
                                  "the engine is stopping");
      return;
    }
  if (from != NULL)
    {
      /* The open-relay risk: network peers reach only listed destinations,
       * and never this engine's own listeners. */
      if (address_is_local_listener (self, hop->address, hop->port))
        {
          _jstp_engine_forward_ready (engine, forward_id, NULL, JSTP_STATUS_BAD_DISPATCH,
                                      "the gateway does not forward to its own listeners");
          return;
        }
      if (!allowed_destination (self, hop->address, hop->port))
        {
          _jstp_engine_forward_ready (engine, forward_id, NULL, JSTP_STATUS_FORBIDDEN,
                                      "the gateway does not forward to that destination");
          return;
        }
    }

  dest = destination_get (self, hop->address, hop->port, hop->label);
  remember_subscription (dest, dispatch);
  destination_wait (dest, waiter);
}

void
jstp_network_connect_async (JstpNetwork         *self,
                            const char          *address,
                            guint16              port,
                            const char          *label,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Waiter waiter = { 0, NULL };

  g_return_if_fail (JSTP_IS_NETWORK (self));
  g_return_if_fail (address != NULL && label != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, jstp_network_connect_async);

  if (!g_str_equal (label, "tcp") && !g_str_equal (label, "ws"))
    {
      g_task_return_new_error (task, JSTP_ERROR, JSTP_STATUS_UNRECOGNIZED_TRANSPORT,
                               "unknown transport \"%s\" (tcp and ws are known)", label);
      return;
    }
  waiter.task = g_steal_pointer (&task);
  destination_wait (destination_get (self, address, port, label), waiter);
}

JstpConnection *
jstp_network_connect_finish (JstpNetwork   *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
jstp_network_set_gateway_allowlist (JstpNetwork        *self,
                                    const char * const *destinations)
{
  g_return_if_fail (JSTP_IS_NETWORK (self));

  g_strfreev (self->allowlist);
  self->allowlist = g_strdupv ((char **) destinations);
}

/* ---- bridges ----------------------------------------------------------- */

guint64
jstp_network_add_bridge (JstpNetwork *self,
                         const char  *address,
                         guint16      port,
                         const char  *label,
                         JstpPattern *endpoint)
{
  Bridge *bridge;
  Destination *dest;

  g_return_val_if_fail (JSTP_IS_NETWORK (self), 0);
  g_return_val_if_fail (address != NULL && label != NULL && endpoint != NULL, 0);

  dest = destination_get (self, address, port, label);
  bridge = g_new0 (Bridge, 1);
  bridge->id = ++self->next_bridge_id;
  bridge->destination = dest;
  bridge->endpoint = jstp_pattern_ref (endpoint);
  g_hash_table_insert (self->bridges, &bridge->id, bridge);

  g_ptr_array_add (dest->binds, jstp_pattern_ref (endpoint));
  if (dest->connection)
    send_subscription (dest->connection, JSTP_METHOD_BIND, endpoint);
  else if (!dest->connecting && dest->reconnect_id == 0)
    destination_connect (dest);
  return bridge->id;
}

gboolean
jstp_network_remove_bridge (JstpNetwork *self,
                            guint64      bridge_id)
{
  Bridge *bridge;
  Destination *dest;

  g_return_val_if_fail (JSTP_IS_NETWORK (self), FALSE);

  bridge = g_hash_table_lookup (self->bridges, &bridge_id);
  if (bridge == NULL)
    return FALSE;
  dest = bridge->destination;
  for (guint i = 0; i < dest->binds->len; i++)
    if (g_ptr_array_index (dest->binds, i) == bridge->endpoint ||
        jstp_pattern_equal (g_ptr_array_index (dest->binds, i), bridge->endpoint))
      {
        g_ptr_array_remove_index (dest->binds, i);
        break;
      }
  if (dest->connection)
    send_subscription (dest->connection, JSTP_METHOD_RELEASE, bridge->endpoint);
  if (dest->binds->len == 0 && dest->reconnect_id)
    {
      g_source_remove (dest->reconnect_id);
      dest->reconnect_id = 0;
    }
  g_hash_table_remove (self->bridges, &bridge_id);
  return TRUE;
}

static void
bridge_free (gpointer data)
{
  Bridge *bridge = data;

  jstp_pattern_unref (bridge->endpoint);
  g_free (bridge);
}

static void
append_pattern (GString     *out,
                JstpPattern *pattern)
{
  g_string_append (out, "{\"method\":");
  jstp_json_append_string (out, jstp_pattern_get_method (pattern), -1);
  g_string_append (out, ",\"resource\":[");
  for (guint i = 0; i < jstp_pattern_get_n_elements (pattern); i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      jstp_json_append_string (out, jstp_pattern_get_element (pattern, i), -1);
    }
  g_string_append (out, "]}");
}

static gint
compare_ids (gconstpointer a,
             gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

char *
jstp_network_dup_bridges_json (JstpNetwork *self)
{
  GString *out = g_string_new ("[");
  g_autoptr(GList) ids = NULL;

  g_return_val_if_fail (JSTP_IS_NETWORK (self), NULL);

  ids = g_list_sort (g_hash_table_get_keys (self->bridges), compare_ids);
  for (GList *l = ids; l; l = l->next)
    {
      Bridge *bridge = g_hash_table_lookup (self->bridges, l->data);
      Destination *dest = bridge->destination;
      const char *state = dest->connection ? "up" : dest->connecting ? "connecting"
                          : dest->reconnect_id ? "reconnecting" : "down";

      if (l != ids)
        g_string_append_c (out, ',');
      g_string_append_printf (out, "{\"id\":%" G_GUINT64_FORMAT ",\"host\":", bridge->id);
      jstp_json_append_string (out, dest->address, -1);
      g_string_append_printf (out, ",\"port\":%u,\"transport\":", dest->port);
      jstp_json_append_string (out, dest->label, -1);
      g_string_append (out, ",\"endpoint\":");
      append_pattern (out, bridge->endpoint);
      g_string_append (out, ",\"state\":");
      jstp_json_append_string (out, state, -1);
      /* What arrived from that engine over the bridge's link, counted
       * since the link came up; bridges to one engine share the link. */
      g_string_append_printf (out, ",\"received\":%" G_GUINT64_FORMAT,
                              dest->connection
                              ? jstp_connection_get_dispatches_in (dest->connection) : 0);
      if (dest->last_error && dest->connection == NULL)
        {
          g_string_append (out, ",\"error\":");
          jstp_json_append_string (out, dest->last_error, -1);
        }
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

/* Managing bridges is allowed from this machine only, until the security
 * extension can authorise by key. */
static gboolean
authorised (JstpNetwork  *self,
            JstpDispatch *dispatch)
{
  JstpConnection *from = jstp_engine_get_current_connection (self->engine);

  if (from == NULL || jstp_connection_get_is_loopback (from))
    return TRUE;
  jstp_engine_answer (self->engine, dispatch, JSTP_STATUS_FORBIDDEN,
                      "{\"message\":\"bridges are managed from loopback only\"}");
  return FALSE;
}

static void
bridges_get_cb (JstpEngine         *engine,
                JstpDispatch       *dispatch,
                const JstpCaptures *captures,
                gpointer            data)
{
  JstpNetwork *self = data;
  g_autofree char *json = NULL;

  if (!authorised (self, dispatch))
    return;
  json = jstp_network_dup_bridges_json (self);
  jstp_engine_answer (engine, dispatch, JSTP_STATUS_OK, json);
}

static void
answer_error (JstpEngine   *engine,
              JstpDispatch *dispatch,
              guint         status,
              const char   *message)
{
  g_autoptr(GString) body = g_string_new ("{\"message\":");

  jstp_json_append_string (body, message, -1);
  g_string_append_c (body, '}');
  jstp_engine_answer (engine, dispatch, status, body->str);
}

static void
bridges_post_cb (JstpEngine         *engine,
                 JstpDispatch       *dispatch,
                 const JstpCaptures *captures,
                 gpointer            data)
{
  JstpNetwork *self = data;
  g_autoptr(JsonNode) body = NULL;
  JsonObject *object, *endpoint;
  JsonArray *resource;
  const char *host, *transport, *method;
  gint64 port;
  g_autoptr(GPtrArray) elements = g_ptr_array_new ();
  g_autoptr(JstpPattern) pattern = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *answer = NULL;
  guint64 id;

  if (!authorised (self, dispatch))
    return;

  body = jstp_dispatch_dup_body (dispatch);
  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
    {
      answer_error (engine, dispatch, JSTP_STATUS_BAD_DISPATCH,
                    "body: expected {\"host\", \"port\", \"transport\", \"endpoint\"}");
      return;
    }
  object = json_node_get_object (body);
  host = json_object_has_member (object, "host") &&
         JSON_NODE_HOLDS_VALUE (json_object_get_member (object, "host")) &&
         json_node_get_value_type (json_object_get_member (object, "host")) == G_TYPE_STRING
         ? json_object_get_string_member (object, "host") : NULL;
  transport = json_object_has_member (object, "transport") &&
              JSON_NODE_HOLDS_VALUE (json_object_get_member (object, "transport")) &&
              json_node_get_value_type (json_object_get_member (object, "transport")) == G_TYPE_STRING
              ? json_object_get_string_member (object, "transport") : "tcp";
  port = json_object_has_member (object, "port") &&
         JSON_NODE_HOLDS_VALUE (json_object_get_member (object, "port")) &&
         json_node_get_value_type (json_object_get_member (object, "port")) == G_TYPE_INT64
         ? json_object_get_int_member (object, "port") : -1;
  if (host == NULL || *host == '\0')
    {
      answer_error (engine, dispatch, JSTP_STATUS_BAD_DISPATCH, "body.host: expected a host name");
      return;
    }
  if (port < 1 || port > 65535)
    {
      answer_error (engine, dispatch, JSTP_STATUS_BAD_DISPATCH, "body.port: expected 1 to 65535");
      return;
    }
  if (!g_str_equal (transport, "tcp") && !g_str_equal (transport, "ws"))
    {
      answer_error (engine, dispatch, JSTP_STATUS_UNRECOGNIZED_TRANSPORT,
                    "body.transport: expected \"tcp\" or \"ws\"");
      return;
    }
  if (!json_object_has_member (object, "endpoint") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "endpoint")))
    {
      answer_error (engine, dispatch, JSTP_STATUS_BAD_DISPATCH,
                    "body.endpoint: expected {\"method\", \"resource\"}");
      return;
    }
  endpoint = json_object_get_object_member (object, "endpoint");
  method = json_object_has_member (endpoint, "method") &&
           JSON_NODE_HOLDS_VALUE (json_object_get_member (endpoint, "method")) &&
           json_node_get_value_type (json_object_get_member (endpoint, "method")) == G_TYPE_STRING
           ? json_object_get_string_member (endpoint, "method") : NULL;
  resource = json_object_has_member (endpoint, "resource") &&
             JSON_NODE_HOLDS_ARRAY (json_object_get_member (endpoint, "resource"))
             ? json_object_get_array_member (endpoint, "resource") : NULL;
  if (method == NULL || resource == NULL)
    {
      answer_error (engine, dispatch, JSTP_STATUS_BAD_DISPATCH,
                    "body.endpoint: expected {\"method\", \"resource\"}");
      return;
    }
  for (guint i = 0; i < json_array_get_length (resource); i++)
    {
      JsonNode *element = json_array_get_element (resource, i);

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
        {
          answer_error (engine, dispatch, JSTP_STATUS_BAD_DISPATCH,
                        "body.endpoint.resource: expected strings");
          return;
        }
      g_ptr_array_add (elements, (gpointer) json_node_get_string (element));
    }
  pattern = jstp_pattern_new (method, (const char * const *) elements->pdata, elements->len,
                              jstp_engine_get_mode (engine), &error);
  if (pattern == NULL)
    {
      answer_error (engine, dispatch, error->code, error->message);
      return;
    }

  id = jstp_network_add_bridge (self, host, port, transport, pattern);
  answer = g_strdup_printf ("{\"id\":%" G_GUINT64_FORMAT "}", id);
  jstp_engine_answer (engine, dispatch, JSTP_STATUS_OK, answer);
}

static void
bridges_delete_cb (JstpEngine         *engine,
                   JstpDispatch       *dispatch,
                   const JstpCaptures *captures,
                   gpointer            data)
{
  JstpNetwork *self = data;
  const JstpElement *id_element = jstp_captures_lookup (captures, "id");
  g_autofree char *text = NULL;
  guint64 id;

  if (!authorised (self, dispatch))
    return;
  text = g_strndup (id_element->text, id_element->length);
  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT64, &id, NULL) ||
      !jstp_network_remove_bridge (self, id))
    {
      answer_error (engine, dispatch, JSTP_STATUS_NOT_FOUND, "no bridge has that id");
      return;
    }
  jstp_engine_answer (engine, dispatch, JSTP_STATUS_OK, NULL);
}

/* ---- timers ------------------------------------------------------------ */

static gboolean
sweep_cb (gpointer data)
{
  JstpNetwork *self = data;
  g_autoptr(GPtrArray) connections = jstp_engine_list_connections (self->engine);
  gint64 now = g_get_monotonic_time ();

  for (guint i = 0; i < connections->len; i++)
    {
      JstpConnection *connection = g_ptr_array_index (connections, i);

      if (JSTP_IS_TCP_CONNECTION (connection))
        jstp_tcp_connection_check_timers (JSTP_TCP_CONNECTION (connection), now);
      else if (JSTP_IS_WS_CONNECTION (connection))
        jstp_ws_connection_check_timers (JSTP_WS_CONNECTION (connection), now);
    }
  return G_SOURCE_CONTINUE;
}

gsize
jstp_network_get_queued_bytes (JstpNetwork *self)
{
  g_autoptr(GPtrArray) connections = NULL;
  gsize total = 0;

  g_return_val_if_fail (JSTP_IS_NETWORK (self), 0);

  connections = jstp_engine_list_connections (self->engine);
  for (guint i = 0; i < connections->len; i++)
    total += jstp_connection_get_queued_bytes (g_ptr_array_index (connections, i));
  return total;
}

/* ---- GObject ----------------------------------------------------------- */

void
jstp_network_close (JstpNetwork *self)
{
  g_autoptr(GPtrArray) connections = NULL;

  g_return_if_fail (JSTP_IS_NETWORK (self));

  if (self->closed)
    return;
  self->closed = TRUE;

  g_cancellable_cancel (self->cancellable);
  for (guint i = 0; i < 2; i++)
    {
      Acceptor *acceptor = i ? &self->ws_acceptor : &self->tcp_acceptor;

      g_clear_handle_id (&acceptor->retry_id, g_source_remove);
      if (acceptor->listener)
        g_socket_listener_close (acceptor->listener);
    }
  if (self->ws_server)
    soup_server_disconnect (self->ws_server);
  g_clear_handle_id (&self->sweep_id, g_source_remove);

  connections = jstp_engine_list_connections (self->engine);
  for (guint i = 0; i < connections->len; i++)
    jstp_connection_close (g_ptr_array_index (connections, i));
  _jstp_engine_set_outbound_func (self->engine, NULL, NULL);
}

JstpNetworkLimits *
jstp_network_get_limits (JstpNetwork *self)
{
  g_return_val_if_fail (JSTP_IS_NETWORK (self), NULL);
  return &self->limits;
}

JstpEngine *
jstp_network_get_engine (JstpNetwork *self)
{
  g_return_val_if_fail (JSTP_IS_NETWORK (self), NULL);
  return self->engine;
}

static void
jstp_network_dispose (GObject *object)
{
  JstpNetwork *self = JSTP_NETWORK (object);

  if (self->engine)
    {
      jstp_network_close (self);
      for (guint i = 0; i < G_N_ELEMENTS (self->bindings); i++)
        if (self->bindings[i])
          jstp_engine_release (self->engine, self->bindings[i]);
    }
  g_hash_table_remove_all (self->bridges);
  g_hash_table_remove_all (self->destinations);
  g_clear_object (&self->tcp_acceptor.listener);
  g_clear_object (&self->ws_acceptor.listener);
  g_clear_object (&self->ws_server);
  /* Connections still being made outlive us (their tasks hold the client
   * and the session): their callbacks must find no network. */
  if (self->client)
    g_object_set_data (G_OBJECT (self->client), "jstp-network", NULL);
  if (self->session)
    g_object_set_data (G_OBJECT (self->session), "jstp-network", NULL);
  g_clear_object (&self->client);
  g_clear_object (&self->session);
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (jstp_network_parent_class)->dispose (object);
}

static void
jstp_network_finalize (GObject *object)
{
  JstpNetwork *self = JSTP_NETWORK (object);

  g_hash_table_unref (self->bridges);
  g_hash_table_unref (self->destinations);
  g_hash_table_unref (self->inbound_per_ip);
  g_ptr_array_unref (self->listen_addresses);
  g_strfreev (self->allowlist);
  g_object_unref (self->cancellable);

  G_OBJECT_CLASS (jstp_network_parent_class)->finalize (object);
}

static void
jstp_network_class_init (JstpNetworkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = jstp_network_dispose;
  object_class->finalize = jstp_network_finalize;
}

static void
jstp_network_init (JstpNetwork *self)
{
  jstp_network_limits_init (&self->limits);
  self->listen_addresses = g_ptr_array_new_with_free_func (g_object_unref);
  self->inbound_per_ip = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->destinations = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, destination_free);
  self->bridges = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, bridge_free);
  self->cancellable = g_cancellable_new ();
  self->tcp_acceptor.network = self;
  self->tcp_acceptor.backoff_ms = ACCEPT_BACKOFF_MIN_MS;
  self->ws_acceptor.network = self;
  self->ws_acceptor.ws = TRUE;
  self->ws_acceptor.backoff_ms = ACCEPT_BACKOFF_MIN_MS;
}

JstpNetwork *
jstp_network_new (JstpEngine *engine)
{
  JstpNetwork *self;

  g_return_val_if_fail (JSTP_IS_ENGINE (engine), NULL);

  self = g_object_new (JSTP_TYPE_NETWORK, NULL);
  self->engine = g_object_ref (engine);

  self->client = g_socket_client_new ();
  g_socket_client_set_timeout (self->client, self->limits.connect_timeout);
  g_object_set_data (G_OBJECT (self->client), "jstp-network", self);
  self->session = soup_session_new_with_options ("timeout", self->limits.connect_timeout,
                                                 "idle-timeout", 0, NULL);
  /* No permessage-deflate from servers either: nothing bounds inflation. */
  soup_session_remove_feature_by_type (self->session, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  g_object_set_data (G_OBJECT (self->session), "jstp-network", self);

  _jstp_engine_set_outbound_func (engine, outbound_func, self);
  self->sweep_id = g_timeout_add_seconds (1, sweep_cb, self);

  self->bindings[0] = jstp_engine_bind (engine, "GET", (const char *[]) { "jstp", "bridges", NULL },
                                        bridges_get_cb, self, NULL, NULL);
  self->bindings[1] = jstp_engine_bind (engine, "POST", (const char *[]) { "jstp", "bridges", NULL },
                                        bridges_post_cb, self, NULL, NULL);
  self->bindings[2] = jstp_engine_bind (engine, "DELETE",
                                        (const char *[]) { "jstp", "bridges", ":id", NULL },
                                        bridges_delete_cb, self, NULL, NULL);
  return self;
}
