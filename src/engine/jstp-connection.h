/* SPDX-License-Identifier: MIT */
/* jstp-connection.h: one link between this engine and a peer.
 *
 * The engine sees every transport through this class: it writes dispatches
 * with jstp_connection_send() and learns of the end with ::closed.
 * Transports subclass it (TCP, WebSocket) and hand each received frame to
 * jstp_connection_deliver(). */
#pragma once

#include <gio/gio.h>

#include "jstp-dispatch.h"

G_BEGIN_DECLS

#define JSTP_TYPE_CONNECTION (jstp_connection_get_type ())

G_DECLARE_DERIVABLE_TYPE (JstpConnection, jstp_connection, JSTP, CONNECTION, GObject)

typedef struct _JstpEngine JstpEngine;

struct _JstpConnectionClass
{
  GObjectClass parent_class;

  /* Queues one compact dispatch (no newline) for writing; never blocks. */
  void   (*send_text)        (JstpConnection *self,
                              const char     *text,
                              gsize           length);
  /* Starts closing; ::closed follows, possibly later. */
  void   (*close)            (JstpConnection *self);
  /* Bytes accepted by send_text() and not yet written to the socket. */
  gsize  (*get_queued_bytes) (JstpConnection *self);

  gpointer padding[8];
};

/* The engine this connection feeds; set by jstp_engine_add_connection(). */
JstpEngine  *jstp_connection_get_engine        (JstpConnection *self);
void         jstp_connection_set_engine        (JstpConnection *self,
                                                JstpEngine     *engine);

/* "tcp", "ws", or "local" for in-process test links. */
const char  *jstp_connection_get_transport     (JstpConnection *self);
/* The peer's address as text ("127.0.0.1:41234", "[::1]:80"). */
const char  *jstp_connection_get_peer_address  (JstpConnection *self);
/* TRUE when the peer connected to us; FALSE for outbound links. */
gboolean     jstp_connection_get_inbound       (JstpConnection *self);
/* TRUE when the peer is on a loopback address. */
gboolean     jstp_connection_get_is_loopback   (JstpConnection *self);
gboolean     jstp_connection_is_closed         (JstpConnection *self);

/* Serialises @dispatch (with @triggering_id in its token when given) and
 * queues it. Does nothing on a closed connection. */
void         jstp_connection_send              (JstpConnection *self,
                                                JstpDispatch   *dispatch,
                                                const char     *triggering_id);
/* Appends @dispatch as it goes on the wire (what jstp_connection_send()
 * writes), so that one text can be sent to many connections. */
void         jstp_connection_write_wire        (GString        *out,
                                                JstpDispatch   *dispatch,
                                                const char     *triggering_id);
void         jstp_connection_send_text         (JstpConnection *self,
                                                const char     *text,
                                                gsize           length);
void         jstp_connection_close             (JstpConnection *self);
gsize        jstp_connection_get_queued_bytes  (JstpConnection *self);

guint64      jstp_connection_get_dispatches_in  (JstpConnection *self);
guint64      jstp_connection_get_dispatches_out (JstpConnection *self);

/* The status transactions waiting on this connection get when it closes:
 * 502, or 503 once the peer showed it does not speak JSTP. */
guint        jstp_connection_get_close_status  (JstpConnection *self);
void         jstp_connection_set_close_status  (JstpConnection *self,
                                                guint           status);

/* For subclasses: one received frame, handed to the engine; FALSE when
 * the engine found it malformed. */
gboolean     jstp_connection_deliver           (JstpConnection *self,
                                                const char     *text,
                                                gsize           length);
/* For subclasses: the link is gone. Emits ::closed once. */
void         jstp_connection_notify_closed     (JstpConnection *self);

G_END_DECLS
