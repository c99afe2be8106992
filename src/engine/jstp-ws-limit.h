/* SPDX-License-Identifier: MIT */
/* jstp-ws-limit.h: the bound on a WebSocket message received in fragments.
 *
 * libsoup 3.2 checks max-incoming-payload-size frame by frame only, so a
 * message sent as many small continuation frames grows without bound
 * (libsoup 3.7 added max-total-message-size). It hands every frame to the
 * connection's extensions before keeping it: this extension, given to
 * server connections at creation and never negotiated on the wire, refuses
 * the frame that takes a message past the limit, and libsoup then closes
 * with 1009. */
#pragma once

#include <libsoup/soup.h>

#include "jstp-network.h"

G_BEGIN_DECLS

#define JSTP_TYPE_WS_LIMIT (jstp_ws_limit_get_type ())

G_DECLARE_FINAL_TYPE (JstpWsLimit, jstp_ws_limit, JSTP, WS_LIMIT, SoupWebsocketExtension)

/* @limits: max_frame bounds a whole message; read at every frame, and must
 * outlive the extension (the network's limits do). */
SoupWebsocketExtension *jstp_ws_limit_new (const JstpNetworkLimits *limits);

G_END_DECLS
