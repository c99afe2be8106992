/* SPDX-License-Identifier: MIT */
/* jstp-ws-connection.h: JSTP over WebSocket, one dispatch per text message.
 *
 * libsoup 3.2 caps messages at 128 KiB unless told otherwise, has no pong
 * timeout and does not report queued outgoing bytes: the frame limit is
 * set explicitly, a peer that sends nothing (not even a pong) for too long
 * is closed, and queued bytes are estimated from what the kernel says the
 * peer has acknowledged. */
#pragma once

#include <libsoup/soup.h>

#include "jstp-connection.h"
#include "jstp-network.h"

G_BEGIN_DECLS

#define JSTP_TYPE_WS_CONNECTION (jstp_ws_connection_get_type ())

G_DECLARE_FINAL_TYPE (JstpWsConnection, jstp_ws_connection, JSTP, WS_CONNECTION, JstpConnection)

/* @socket: (nullable): the connection's socket, for the queue estimate;
 * without it, queued bytes read as 0. */
JstpWsConnection *jstp_ws_connection_new          (SoupWebsocketConnection *connection,
                                                   GSocket                 *socket,
                                                   const char              *peer_address,
                                                   gboolean                 loopback,
                                                   gboolean                 inbound,
                                                   const JstpNetworkLimits *limits);
void              jstp_ws_connection_check_timers (JstpWsConnection        *self,
                                                   gint64                   now_us);

G_END_DECLS
