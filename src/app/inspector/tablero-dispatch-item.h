/* tablero-dispatch-item.h: one row of the inspector
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib-object.h>

#include "jstp-dispatch.h"
#include "jstp-security.h"

G_BEGIN_DECLS

/* Where a dispatch was seen going. */
typedef enum {
  TABLERO_DIRECTION_LOCAL,     /* emitted by this process */
  TABLERO_DIRECTION_IN,        /* received from a connection */
  TABLERO_DIRECTION_OUT,       /* written to a connection */
} TableroDirection;

#define TABLERO_TYPE_DISPATCH_ITEM (tablero_dispatch_item_get_type ())

G_DECLARE_FINAL_TYPE (TableroDispatchItem, tablero_dispatch_item, TABLERO, DISPATCH_ITEM, GObject)

/* @time_us: wall-clock microseconds; @peer: (nullable) address:port. */
TableroDispatchItem *tablero_dispatch_item_new         (JstpDispatch        *dispatch,
                                                        TableroDirection     direction,
                                                        const char          *peer,
                                                        gint64               time_us,
                                                        JstpSecurityFlags    security);
JstpDispatch        *tablero_dispatch_item_get_dispatch (TableroDispatchItem *self);
TableroDirection     tablero_dispatch_item_get_direction (TableroDispatchItem *self);
/* (nullable) */
const char          *tablero_dispatch_item_get_peer    (TableroDispatchItem *self);
gint64               tablero_dispatch_item_get_time    (TableroDispatchItem *self);
JstpSecurityFlags    tablero_dispatch_item_get_security (TableroDispatchItem *self);
/* The compact text, made on first use (search, export). */
const char          *tablero_dispatch_item_get_text    (TableroDispatchItem *self);

/* An ANSWER's status; for a request, the status of its first answer once
 * one arrived; 0 otherwise. */
guint                tablero_dispatch_item_get_status  (TableroDispatchItem *self);
/* Microseconds from a request to its first answer; -1 while unknown. */
gint64               tablero_dispatch_item_get_latency (TableroDispatchItem *self);
/* Records the first answer to this request ("status" and "latency" notify). */
void                 tablero_dispatch_item_set_answer  (TableroDispatchItem *self,
                                                        guint                status,
                                                        gint64               latency_us);

G_END_DECLS
