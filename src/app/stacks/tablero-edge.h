/* SPDX-License-Identifier: MIT */
/* tablero-edge.h: a subscription drawn as an arrow between two nodes.
 * The target (the arrow's head) subscribes to an endpoint of the source:
 * @method plus the resource pattern @resource. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TABLERO_TYPE_EDGE (tablero_edge_get_type ())
G_DECLARE_FINAL_TYPE (TableroEdge, tablero_edge, TABLERO, EDGE, GObject)

/* @method NULL means "*"; @resource NULL means an empty pattern. */
TableroEdge        *tablero_edge_new             (const char         *id,
                                                  const char         *source_id,
                                                  const char         *target_id,
                                                  const char         *method,
                                                  const char * const *resource);

const char         *tablero_edge_get_id          (TableroEdge        *self);
const char         *tablero_edge_get_source_id   (TableroEdge        *self);
const char         *tablero_edge_get_target_id   (TableroEdge        *self);

const char         *tablero_edge_get_method      (TableroEdge        *self);
void                tablero_edge_set_method      (TableroEdge        *self,
                                                  const char         *method);
/* Never NULL; an empty pattern is an empty vector. */
const char * const *tablero_edge_get_resource    (TableroEdge        *self);
void                tablero_edge_set_resource    (TableroEdge        *self,
                                                  const char * const *resource);

/* Live: dispatches per second along the edge (not saved). */
double              tablero_edge_get_rate        (TableroEdge        *self);
void                tablero_edge_set_rate        (TableroEdge        *self,
                                                  double              rate);

gboolean            tablero_edge_get_selected    (TableroEdge        *self);
void                tablero_edge_set_selected    (TableroEdge        *self,
                                                  gboolean            selected);

G_END_DECLS
