/* tablero-canvas.h: the stack canvas, nodes as cards and edges as arrows
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gtk/gtk.h>

#include "tablero-stack.h"

G_BEGIN_DECLS

/* A card is exactly the node's footprint in the model, so the free spots
 * tablero_stack_free_position () finds are free on screen too. */
#define TABLERO_CANVAS_NODE_WIDTH  TABLERO_NODE_WIDTH
#define TABLERO_CANVAS_NODE_HEIGHT TABLERO_NODE_HEIGHT
#define TABLERO_CANVAS_GRID_SIZE   20.0
#define TABLERO_CANVAS_MIN_ZOOM      0.05
#define TABLERO_CANVAS_MAX_ZOOM      4.0

typedef enum {
  TABLERO_CANVAS_ALIGN_LEFT,
  TABLERO_CANVAS_ALIGN_CENTER,
  TABLERO_CANVAS_ALIGN_RIGHT,
  TABLERO_CANVAS_ALIGN_TOP,
  TABLERO_CANVAS_ALIGN_MIDDLE,
  TABLERO_CANVAS_ALIGN_BOTTOM,
} TableroCanvasAlign;

#define TABLERO_TYPE_CANVAS (tablero_canvas_get_type ())

G_DECLARE_FINAL_TYPE (TableroCanvas, tablero_canvas, TABLERO, CANVAS, GtkWidget)

GtkWidget    *tablero_canvas_new                  (void);

TableroStack *tablero_canvas_get_stack            (TableroCanvas      *self);
void          tablero_canvas_set_stack            (TableroCanvas      *self,
                                                   TableroStack       *stack);

gboolean      tablero_canvas_get_snap_to_grid     (TableroCanvas      *self);
void          tablero_canvas_set_snap_to_grid     (TableroCanvas      *self,
                                                   gboolean            snap);

/* View: widget = (canvas - origin) * zoom */
double        tablero_canvas_get_zoom             (TableroCanvas      *self);
void          tablero_canvas_set_zoom             (TableroCanvas      *self,
                                                   double              zoom);
void          tablero_canvas_zoom_at              (TableroCanvas      *self,
                                                   double              factor,
                                                   double              widget_x,
                                                   double              widget_y);
void          tablero_canvas_zoom_to_fit          (TableroCanvas      *self);
void          tablero_canvas_center_on            (TableroCanvas      *self,
                                                   double              x,
                                                   double              y);
void          tablero_canvas_scroll_by            (TableroCanvas      *self,
                                                   double              dx,
                                                   double              dy);
void          tablero_canvas_get_visible_area     (TableroCanvas      *self,
                                                   graphene_rect_t    *area);
void          tablero_canvas_widget_to_canvas     (TableroCanvas      *self,
                                                   double              widget_x,
                                                   double              widget_y,
                                                   double             *x,
                                                   double             *y);
void          tablero_canvas_canvas_to_widget     (TableroCanvas      *self,
                                                   double              x,
                                                   double              y,
                                                   double             *widget_x,
                                                   double             *widget_y);
void          tablero_canvas_get_insertion_point  (TableroCanvas      *self,
                                                   double             *x,
                                                   double             *y);

/* Geometry and hit testing, in canvas units */
void          tablero_canvas_get_node_bounds      (TableroNode        *node,
                                                   graphene_rect_t    *bounds);
gboolean      tablero_canvas_get_content_bounds   (TableroCanvas      *self,
                                                   graphene_rect_t    *bounds);
TableroNode  *tablero_canvas_node_at              (TableroCanvas      *self,
                                                   double              widget_x,
                                                   double              widget_y);
TableroEdge  *tablero_canvas_edge_at              (TableroCanvas      *self,
                                                   double              widget_x,
                                                   double              widget_y);

/* Selection and editing; every change goes through the stack's undo */
GPtrArray    *tablero_canvas_get_selected_nodes   (TableroCanvas      *self);
GPtrArray    *tablero_canvas_get_selected_edges   (TableroCanvas      *self);
void          tablero_canvas_select_node          (TableroCanvas      *self,
                                                   TableroNode        *node,
                                                   gboolean            extend);
void          tablero_canvas_select_all           (TableroCanvas      *self);
void          tablero_canvas_unselect_all         (TableroCanvas      *self);
void          tablero_canvas_select_next          (TableroCanvas      *self,
                                                   gboolean            backwards);
void          tablero_canvas_delete_selection     (TableroCanvas      *self);
void          tablero_canvas_move_selection       (TableroCanvas      *self,
                                                   double              dx,
                                                   double              dy);
void          tablero_canvas_align_selection      (TableroCanvas      *self,
                                                   TableroCanvasAlign  align);
void          tablero_canvas_start_rename         (TableroCanvas      *self,
                                                   TableroNode        *node);
gboolean      tablero_canvas_find                 (TableroCanvas      *self,
                                                   const char         *text,
                                                   gboolean            next);

G_END_DECLS
