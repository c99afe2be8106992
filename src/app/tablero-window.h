/* tablero-window.h: the main window, one stack at a time
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <adwaita.h>

#include "canvas/tablero-canvas.h"
#include "live/tablero-live-stack.h"
#include "tablero-application.h"
#include "tablero-node-pane.h"
#include "tablero-stack-store.h"

G_BEGIN_DECLS

#define TABLERO_TYPE_WINDOW (tablero_window_get_type ())

G_DECLARE_FINAL_TYPE (TableroWindow, tablero_window, TABLERO, WINDOW, AdwApplicationWindow)

/* @store: NULL for the application's */
TableroWindow     *tablero_window_new            (TableroApplication *application,
                                                  TableroStackStore  *store);
TableroCanvas     *tablero_window_get_canvas     (TableroWindow      *self);
TableroNodePane   *tablero_window_get_node_pane  (TableroWindow      *self);
GtkWidget         *tablero_window_get_palette    (TableroWindow      *self);
TableroStackStore *tablero_window_get_store      (TableroWindow      *self);
TableroStack      *tablero_window_get_stack      (TableroWindow      *self);

/* Shows @stack, saving the one shown before. */
void               tablero_window_set_stack      (TableroWindow      *self,
                                                  TableroStack       *stack);
void               tablero_window_new_stack      (TableroWindow      *self);
/* Shows a new demo stack of three local nodes, saved at once. */
void               tablero_window_new_demo_stack (TableroWindow      *self);
/* What runs the stack's engines (transfer none; NULL outside a
 * TableroApplication). */
TableroLiveStack  *tablero_window_get_live       (TableroWindow      *self);
/* The hosts overview of the header bar (transfer none). */
GtkWidget         *tablero_window_get_overview   (TableroWindow      *self);
/* Loads @name from the store, in the background. */
void               tablero_window_open_stack     (TableroWindow      *self,
                                                  const char         *name);
/* Adds a node of @kind at the free spot nearest to (x, y), selects it and
 * returns it (transfer none). */
TableroNode       *tablero_window_add_node       (TableroWindow      *self,
                                                  TableroNodeKind     kind,
                                                  double              x,
                                                  double              y);
/* What Export… and Import… do once a file is chosen; in the background. */
void               tablero_window_export_file    (TableroWindow      *self,
                                                  GFile              *file);
void               tablero_window_import_file    (TableroWindow      *self,
                                                  GFile              *file);
/* Saves now instead of after the autosave delay. */
void               tablero_window_save           (TableroWindow      *self);
/* TRUE while a load or a save is running. */
gboolean           tablero_window_is_busy        (TableroWindow      *self);

G_END_DECLS
