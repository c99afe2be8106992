/* SPDX-License-Identifier: MIT */
/* tablero-live-stack.h: the open stack, running.
 *
 * Keeps one TableroNodeLink per node of the stack, created and stopped as
 * nodes come and go, and makes every edge a real bridge: the engine at the
 * arrow's head is asked (POST ["jstp","bridges"]) to subscribe to the
 * edge's endpoint on the source engine, and the bridge is deleted with the
 * edge. Edge rates come from the target's status reports, node samples go
 * to the store's metrics history in batches. */
#pragma once

#include "jstp-network.h"
#include "tablero-node-link.h"
#include "tablero-stack-store.h"
#include "tablero-stack.h"

G_BEGIN_DECLS

#define TABLERO_TYPE_LIVE_STACK (tablero_live_stack_get_type ())
G_DECLARE_FINAL_TYPE (TableroLiveStack, tablero_live_stack, TABLERO, LIVE_STACK, GObject)

/* @store: (nullable): where samples are kept */
TableroLiveStack *tablero_live_stack_new         (JstpNetwork       *network,
                                                  TableroStackStore *store);
/* Stops everything of the stack shown before. */
void              tablero_live_stack_set_stack   (TableroLiveStack  *self,
                                                  TableroStack      *stack);
TableroStack     *tablero_live_stack_get_stack   (TableroLiveStack  *self);
/* (transfer none) (nullable) */
TableroNodeLink  *tablero_live_stack_get_link    (TableroLiveStack  *self,
                                                  TableroNode       *node);
/* The id of the edge's bridge on its target engine; 0 while there is none. */
guint64           tablero_live_stack_get_bridge_id (TableroLiveStack *self,
                                                  TableroEdge       *edge);

/* Sends @dispatch to the engine of @node, once its port is known, with
 * the stack's engine; FALSE (and @destroy called at once) before that. */
gboolean          tablero_live_stack_send        (TableroLiveStack  *self,
                                                  TableroNode       *node,
                                                  JstpDispatch      *dispatch,
                                                  JstpAnswerFunc    callback,
                                                  gpointer          data,
                                                  GDestroyNotify    destroy);

G_END_DECLS
