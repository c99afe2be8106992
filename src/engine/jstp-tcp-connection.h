/* SPDX-License-Identifier: MIT */
/* jstp-tcp-connection.h: JSTP over TCP, one compact dispatch per line.
 *
 * Framing is done here rather than with GDataInputStream, whose line
 * reader grows without bound: a line longer than the frame limit closes
 * the connection as soon as the limit is passed. */
#pragma once

#include <gio/gio.h>

#include "jstp-connection.h"
#include "jstp-network.h"

G_BEGIN_DECLS

#define JSTP_TYPE_TCP_CONNECTION (jstp_tcp_connection_get_type ())

G_DECLARE_FINAL_TYPE (JstpTcpConnection, jstp_tcp_connection, JSTP, TCP_CONNECTION, JstpConnection)

/* @limits must outlive the connection (it belongs to the JstpNetwork). */
JstpTcpConnection *jstp_tcp_connection_new          (GSocketConnection       *connection,
                                                     gboolean                 inbound,
                                                     const JstpNetworkLimits *limits);
/* Starts reading; call once the engine knows the connection. */
void               jstp_tcp_connection_start        (JstpTcpConnection       *self);
/* Applies the time limits; the network calls it about once a second. */
void               jstp_tcp_connection_check_timers (JstpTcpConnection       *self,
                                                     gint64                   now_us);

G_END_DECLS
