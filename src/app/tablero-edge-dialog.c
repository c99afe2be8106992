/* tablero-edge-dialog.c: asks which endpoint a new connection subscribes to
 *
 * SPDX-License-Identifier: MIT
 *
 * The defaults, method "*" and resource "...", subscribe to everything the
 * publisher dispatches.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tablero-edge-dialog.h"

struct _TableroEdgeDialog
{
  AdwMessageDialog parent_instance;

  TableroNode     *source;
  TableroNode     *target;

  AdwComboRow     *method_row;
  AdwEntryRow     *resource_row;
};

G_DEFINE_FINAL_TYPE (TableroEdgeDialog, tablero_edge_dialog, ADW_TYPE_MESSAGE_DIALOG)

TableroNode *
tablero_edge_dialog_get_source (TableroEdgeDialog *self)
{
  g_return_val_if_fail (TABLERO_IS_EDGE_DIALOG (self), NULL);

  return self->source;
}

TableroNode *
tablero_edge_dialog_get_target (TableroEdgeDialog *self)
{
  g_return_val_if_fail (TABLERO_IS_EDGE_DIALOG (self), NULL);

  return self->target;
}

/* Not a bound template child: GTK 4.8 releases bound non-widget template
 * objects twice when the dialog is destroyed. */
static GtkStringList *
methods (TableroEdgeDialog *self)
{
  return GTK_STRING_LIST (adw_combo_row_get_model (self->method_row));
}

const char *
tablero_edge_dialog_get_method (TableroEdgeDialog *self)
{
  guint selected;

  g_return_val_if_fail (TABLERO_IS_EDGE_DIALOG (self), NULL);

  selected = adw_combo_row_get_selected (self->method_row);
  if (selected == GTK_INVALID_LIST_POSITION)
    return "*";
  return gtk_string_list_get_string (methods (self), selected);
}

void
tablero_edge_dialog_set_method (TableroEdgeDialog *self,
                                const char        *method)
{
  g_return_if_fail (TABLERO_IS_EDGE_DIALOG (self));

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (methods (self))); i++)
    if (g_strcmp0 (gtk_string_list_get_string (methods (self), i), method) == 0)
      adw_combo_row_set_selected (self->method_row, i);
}

char **
tablero_edge_dialog_dup_resource (TableroEdgeDialog *self)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (TABLERO_IS_EDGE_DIALOG (self), NULL);

  parts = g_strsplit (gtk_editable_get_text (GTK_EDITABLE (self->resource_row)), "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_strstrip (parts[i]);
      if (*parts[i] != '\0')
        g_strv_builder_add (builder, parts[i]);
    }
  return g_strv_builder_end (builder);
}

void
tablero_edge_dialog_set_resource (TableroEdgeDialog *self,
                                  const char        *resource)
{
  g_return_if_fail (TABLERO_IS_EDGE_DIALOG (self));

  gtk_editable_set_text (GTK_EDITABLE (self->resource_row), resource ? resource : "");
}

static void
tablero_edge_dialog_dispose (GObject *object)
{
  TableroEdgeDialog *self = TABLERO_EDGE_DIALOG (object);

  g_clear_object (&self->source);
  g_clear_object (&self->target);
  gtk_widget_dispose_template (GTK_WIDGET (self), TABLERO_TYPE_EDGE_DIALOG);

  G_OBJECT_CLASS (tablero_edge_dialog_parent_class)->dispose (object);
}

static void
tablero_edge_dialog_class_init (TableroEdgeDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tablero_edge_dialog_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tablero/Tablero/tablero-edge-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, TableroEdgeDialog, method_row);
  gtk_widget_class_bind_template_child (widget_class, TableroEdgeDialog, resource_row);
}

static void
tablero_edge_dialog_init (TableroEdgeDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
tablero_edge_dialog_new (GtkWindow   *parent,
                         TableroNode *source,
                         TableroNode *target)
{
  TableroEdgeDialog *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (TABLERO_IS_NODE (source), NULL);
  g_return_val_if_fail (TABLERO_IS_NODE (target), NULL);

  self = g_object_new (TABLERO_TYPE_EDGE_DIALOG,
                       "transient-for", parent,
                       "modal", TRUE,
                       NULL);
  self->source = g_object_ref (source);
  self->target = g_object_ref (target);
  /* TRANSLATORS: the first name subscribes to an endpoint of the second */
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (self),
                                  _("“%s” will receive the dispatches of “%s” that match "
                                    "this endpoint. “...” matches any rest of a resource."),
                                  tablero_node_get_name (target), tablero_node_get_name (source));
  return GTK_WIDGET (self);
}
