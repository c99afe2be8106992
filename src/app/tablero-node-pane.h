/* tablero-node-pane.h: details of the selected node or connection
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gtk/gtk.h>

#include "live/tablero-live-stack.h"
#include "tablero-stack.h"

G_BEGIN_DECLS

#define TABLERO_TYPE_NODE_PANE (tablero_node_pane_get_type ())

G_DECLARE_FINAL_TYPE (TableroNodePane, tablero_node_pane, TABLERO, NODE_PANE, GtkWidget)

GtkWidget    *tablero_node_pane_new           (void);
void          tablero_node_pane_set_stack     (TableroNodePane *self,
                                               TableroStack    *stack);
/* @nodes, @edges: the selection, arrays of TableroNode / TableroEdge. */
void          tablero_node_pane_set_selection (TableroNodePane *self,
                                               GPtrArray       *nodes,
                                               GPtrArray       *edges);
TableroNode  *tablero_node_pane_get_node      (TableroNodePane *self);
/* Where the history and output of the selected node come from. */
void          tablero_node_pane_set_live      (TableroNodePane  *self,
                                               TableroLiveStack *live);
/* The history plot of a TableroPlotFigure (transfer none). */
GtkWidget    *tablero_node_pane_get_plot      (TableroNodePane *self,
                                               guint            figure);
/* The name of the visible page: "empty", "node", "edge" or "many". */
const char   *tablero_node_pane_get_page      (TableroNodePane *self);

/* (nullable): the last summary of a Monje node's collections ("1
 * collection · 1 document") or a Pajaro node's tracks ("2 tags · 4.1/s"). */
const char   *tablero_node_pane_get_contents_summary (TableroNodePane *self);

G_END_DECLS
