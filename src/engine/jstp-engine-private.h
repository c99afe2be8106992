/* SPDX-License-Identifier: MIT */
/* jstp-engine-private.h: what the network side of libjstp needs from the
 * engine core, and nobody else. */
#pragma once

#include "jstp-engine.h"

G_BEGIN_DECLS

/**
 * JstpOutboundFunc:
 * @hop: the hop removed from @dispatch's host list: where to send it
 * @dispatch: what will be sent, the hop already removed
 * @from: (nullable): where it came from; %NULL for a local emitter
 * @forward_id: hand it back to _jstp_engine_forward_ready()
 *
 * Opens or reuses a connection to @hop, asynchronously, then calls
 * _jstp_engine_forward_ready() exactly once.
 */
typedef void (*JstpOutboundFunc) (JstpEngine     *engine,
                                  const JstpHop  *hop,
                                  JstpDispatch   *dispatch,
                                  JstpConnection *from,
                                  guint64         forward_id,
                                  gpointer        user_data);

void  _jstp_engine_set_outbound_func  (JstpEngine       *self,
                                       JstpOutboundFunc  func,
                                       gpointer          user_data);

/* @connection is where to send the pending forward, or %NULL with @status
 * (502, 503, 403, 506) and a message saying why. */
void  _jstp_engine_forward_ready      (JstpEngine       *self,
                                       guint64           forward_id,
                                       JstpConnection   *connection,
                                       guint             status,
                                       const char       *message);

/* Answers an unparsable-but-addressable dispatch from @connection. */
void  _jstp_engine_reply_error        (JstpEngine       *self,
                                       JstpConnection   *connection,
                                       const char       *transaction_id,
                                       guint             status,
                                       const char       *message);

G_END_DECLS
