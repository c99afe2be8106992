/* SPDX-License-Identifier: MIT */
/* jstp-network.h: an engine's network side (spec sections 1, 5, 6 and 7).
 *
 * Listens on TCP (newline-delimited JSON) and WebSocket, connects out to
 * the hosts dispatches are forwarded to (one pooled connection per
 * destination), re-sends outbound BINDs after reconnecting, and runs the
 * engine's bridges. Everything happens on the thread-default main context
 * of the thread that created it.
 */
#pragma once

#include <gio/gio.h>

#include "jstp-engine.h"

G_BEGIN_DECLS

/* Each limit is configurable; defaults from security.md section 3.3. */
typedef struct {
  gsize max_frame;              /* bytes per TCP line or WS message; 1 MiB */
  guint max_connections;        /* inbound, per listener; 1 024 */
  guint max_connections_per_ip; /* inbound; 32 (loopback exempt) */
  gsize queue_soft;             /* bytes queued for a slow reader; 2 MiB ... */
  guint queue_soft_seconds;     /* ... for this long closes it; 30 s */
  gsize queue_hard;             /* closes at once; 8 MiB */
  guint first_dispatch_timeout; /* seconds to the first complete dispatch; 10 */
  guint line_timeout;           /* seconds to finish one line; 30 */
  guint idle_timeout;           /* seconds with nothing received; 300 */
  guint ws_ping_interval;       /* seconds; 30 */
  guint ws_pong_timeout;        /* seconds without any frame from a WS peer; 75 */
  guint malformed_budget;       /* malformed dispatches per minute before closing; 20 */
  guint connect_timeout;        /* seconds for an outbound connection; 5 */
  guint reconnect_min_ms;       /* backoff start; 1 000 */
  guint reconnect_max_ms;       /* backoff cap; 60 000 */
} JstpNetworkLimits;

#define JSTP_TYPE_NETWORK (jstp_network_get_type ())

G_DECLARE_FINAL_TYPE (JstpNetwork, jstp_network, JSTP, NETWORK, GObject)

void          jstp_network_limits_init      (JstpNetworkLimits   *limits);

/* Makes @engine a network peer; the network keeps a reference to it. */
JstpNetwork  *jstp_network_new              (JstpEngine          *engine);
JstpEngine   *jstp_network_get_engine       (JstpNetwork         *self);
/* Change before listening or connecting. */
JstpNetworkLimits *jstp_network_get_limits  (JstpNetwork         *self);

/**
 * jstp_network_listen:
 * @label: "tcp" or "ws"
 * @address: an IP address or a host name ("localhost", "0.0.0.0", "::")
 * @port: 0 picks a free port; read it back with jstp_network_get_port()
 */
gboolean      jstp_network_listen           (JstpNetwork         *self,
                                             const char          *label,
                                             const char          *address,
                                             guint16              port,
                                             GError             **error);
/* The port the first listener of @label is bound to; 0 when none. */
guint16       jstp_network_get_port         (JstpNetwork         *self,
                                             const char          *label);

/**
 * jstp_network_set_gateway_allowlist:
 * @destinations: (nullable) (array zero-terminated=1): "address:port"
 *   entries (`*` allowed as the port) that dispatches arriving from the
 *   network may be forwarded to; %NULL or empty allows none
 *
 * Forwarding for network peers also needs the engine's gateway-remote.
 * Local emitters are not restricted by the list.
 */
void          jstp_network_set_gateway_allowlist (JstpNetwork    *self,
                                             const char * const  *destinations);

/* Opens (or reuses) the pooled outbound connection to a host. */
void          jstp_network_connect_async    (JstpNetwork         *self,
                                             const char          *address,
                                             guint16              port,
                                             const char          *label,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
JstpConnection *jstp_network_connect_finish (JstpNetwork         *self,
                                             GAsyncResult        *result,
                                             GError             **error);

/**
 * jstp_network_add_bridge:
 * @endpoint: what to subscribe to on the remote engine
 *
 * Subscribes this engine to @endpoint on a remote engine; what arrives is
 * processed as this engine's own dispatches. The bridge reconnects and
 * re-binds by itself until removed.
 * Returns: the bridge id
 */
guint64       jstp_network_add_bridge       (JstpNetwork         *self,
                                             const char          *address,
                                             guint16              port,
                                             const char          *label,
                                             JstpPattern         *endpoint);
gboolean      jstp_network_remove_bridge    (JstpNetwork         *self,
                                             guint64              bridge_id);
/* The bridges as a JSON array, as GET ["jstp","bridges"] answers. */
char         *jstp_network_dup_bridges_json (JstpNetwork         *self);

/* Queued outgoing bytes over every connection. */
gsize         jstp_network_get_queued_bytes (JstpNetwork         *self);

/* Stops listening and closes every connection. */
void          jstp_network_close            (JstpNetwork         *self);

G_END_DECLS
