/* SPDX-License-Identifier: MIT */
/* tablero-node.h: one engine placed on the canvas of a stack.
 *
 * Layout properties (id, name, kind, x, y, address, port, transport, local)
 * are saved with the stack. Live properties (state, cpu, memory, disk,
 * network, saturation, level) and selected are runtime only.
 *
 * Setting a property directly does not make an undo step: for undoable edits
 * go through TableroStack (tablero_stack_move_node (), ...). */
#pragma once

#include <glib-object.h>

#include "tablero-enums.h"

G_BEGIN_DECLS

/* Footprint of a node on the canvas, centred on (x, y), in canvas units.
 * tablero_stack_free_position () keeps this box plus TABLERO_NODE_GAP clear. */
#define TABLERO_NODE_WIDTH   160.0
#define TABLERO_NODE_HEIGHT   96.0
#define TABLERO_NODE_GAP      24.0

#define TABLERO_TYPE_NODE (tablero_node_get_type ())
G_DECLARE_FINAL_TYPE (TableroNode, tablero_node, TABLERO, NODE, GObject)

TableroNode      *tablero_node_new               (const char      *id,
                                                  TableroNodeKind  kind,
                                                  const char      *name);

const char       *tablero_node_get_id            (TableroNode     *self);

const char       *tablero_node_get_name          (TableroNode     *self);
void              tablero_node_set_name          (TableroNode     *self,
                                                  const char      *name);
TableroNodeKind   tablero_node_get_kind          (TableroNode     *self);
void              tablero_node_set_kind          (TableroNode     *self,
                                                  TableroNodeKind  kind);

double            tablero_node_get_x             (TableroNode     *self);
double            tablero_node_get_y             (TableroNode     *self);
void              tablero_node_set_position      (TableroNode     *self,
                                                  double           x,
                                                  double           y);

const char       *tablero_node_get_address       (TableroNode     *self);
void              tablero_node_set_address       (TableroNode     *self,
                                                  const char      *address);
guint             tablero_node_get_port          (TableroNode     *self);
void              tablero_node_set_port          (TableroNode     *self,
                                                  guint            port);
/* "tcp" (default) or "ws". */
const char       *tablero_node_get_transport     (TableroNode     *self);
void              tablero_node_set_transport     (TableroNode     *self,
                                                  const char      *transport);
/* TRUE when Tablero starts a jstpd child process for this node. */
gboolean          tablero_node_get_local         (TableroNode     *self);
void              tablero_node_set_local         (TableroNode     *self,
                                                  gboolean         local);

TableroNodeState  tablero_node_get_state         (TableroNode     *self);
void              tablero_node_set_state         (TableroNode     *self,
                                                  TableroNodeState state);

/* Live figures, each clamped to 0..1. */
double            tablero_node_get_cpu           (TableroNode     *self);
void              tablero_node_set_cpu           (TableroNode     *self,
                                                  double           cpu);
double            tablero_node_get_memory        (TableroNode     *self);
void              tablero_node_set_memory        (TableroNode     *self,
                                                  double           memory);
double            tablero_node_get_disk          (TableroNode     *self);
void              tablero_node_set_disk          (TableroNode     *self,
                                                  double           disk);
double            tablero_node_get_network       (TableroNode     *self);
void              tablero_node_set_network       (TableroNode     *self,
                                                  double           network);
double            tablero_node_get_saturation    (TableroNode     *self);
void              tablero_node_set_saturation    (TableroNode     *self,
                                                  double           saturation);
/* Sets all five live figures with one batch of notifications. */
void              tablero_node_set_metrics       (TableroNode     *self,
                                                  double           cpu,
                                                  double           memory,
                                                  double           disk,
                                                  double           network,
                                                  double           saturation);

TableroLevel      tablero_node_get_level         (TableroNode     *self);
void              tablero_node_set_level         (TableroNode     *self,
                                                  TableroLevel     level);

gboolean          tablero_node_get_selected      (TableroNode     *self);
void              tablero_node_set_selected      (TableroNode     *self,
                                                  gboolean         selected);

G_END_DECLS
