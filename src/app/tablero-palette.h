/* tablero-palette.h: the kinds of node that can be added to a stack
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gtk/gtk.h>

#include "tablero-enums.h"

G_BEGIN_DECLS

#define TABLERO_TYPE_PALETTE (tablero_palette_get_type ())

G_DECLARE_FINAL_TYPE (TableroPalette, tablero_palette, TABLERO, PALETTE, GtkWidget)

GtkWidget *tablero_palette_new     (void);
/* The row of @kind, for tests and keyboard focus. */
GtkWidget *tablero_palette_get_row (TableroPalette  *self,
                                    TableroNodeKind  kind);

G_END_DECLS
