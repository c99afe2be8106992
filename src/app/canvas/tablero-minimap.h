/* tablero-minimap.h: an overview of the whole stack that recentres the canvas
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gtk/gtk.h>

#include "tablero-canvas.h"

G_BEGIN_DECLS

#define TABLERO_TYPE_MINIMAP (tablero_minimap_get_type ())

G_DECLARE_FINAL_TYPE (TableroMinimap, tablero_minimap, TABLERO, MINIMAP, GtkWidget)

GtkWidget     *tablero_minimap_new        (TableroCanvas  *canvas);
TableroCanvas *tablero_minimap_get_canvas (TableroMinimap *self);
void           tablero_minimap_set_canvas (TableroMinimap *self,
                                           TableroCanvas  *canvas);
/* Minimap coordinates to canvas coordinates, as last drawn. */
void           tablero_minimap_to_canvas  (TableroMinimap *self,
                                           double          x,
                                           double          y,
                                           double         *canvas_x,
                                           double         *canvas_y);

G_END_DECLS
