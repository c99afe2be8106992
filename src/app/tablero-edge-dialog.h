/* tablero-edge-dialog.h: asks which endpoint a new connection subscribes to
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <adwaita.h>

#include "tablero-node.h"

G_BEGIN_DECLS

#define TABLERO_TYPE_EDGE_DIALOG (tablero_edge_dialog_get_type ())

G_DECLARE_FINAL_TYPE (TableroEdgeDialog, tablero_edge_dialog,
                      TABLERO, EDGE_DIALOG, AdwMessageDialog)

/* Responses: "cancel" and "connect". */
GtkWidget   *tablero_edge_dialog_new          (GtkWindow         *parent,
                                               TableroNode       *source,
                                               TableroNode       *target);
TableroNode *tablero_edge_dialog_get_source   (TableroEdgeDialog *self);
TableroNode *tablero_edge_dialog_get_target   (TableroEdgeDialog *self);
/* "*" or a method name. */
const char  *tablero_edge_dialog_get_method   (TableroEdgeDialog *self);
void         tablero_edge_dialog_set_method   (TableroEdgeDialog *self,
                                               const char        *method);
/* The resource pattern as typed, split at "/". Transfer full. */
char       **tablero_edge_dialog_dup_resource (TableroEdgeDialog *self);
void         tablero_edge_dialog_set_resource (TableroEdgeDialog *self,
                                               const char        *resource);

G_END_DECLS
