/* SPDX-License-Identifier: MIT */
/* tablero-overview.h: every host of the stack with its figures side by side. */
#pragma once

#include <gtk/gtk.h>

#include "tablero-stack.h"

G_BEGIN_DECLS

#define TABLERO_TYPE_OVERVIEW (tablero_overview_get_type ())
G_DECLARE_FINAL_TYPE (TableroOverview, tablero_overview, TABLERO, OVERVIEW, GtkWidget)

GtkWidget *tablero_overview_new       (void);
void       tablero_overview_set_stack (TableroOverview *self,
                                       TableroStack    *stack);
/* Rows shown now (one per node). */
guint      tablero_overview_get_n_rows (TableroOverview *self);

G_END_DECLS
