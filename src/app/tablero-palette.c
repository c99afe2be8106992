/* tablero-palette.c: the kinds of node that can be added to a stack
 *
 * SPDX-License-Identifier: MIT
 *
 * Each row can be dragged onto the canvas (the drag carries the kind's
 * name as a string) or activated with a click or Enter, which emits
 * "node-activated" so the window adds the node at a free spot.
 */
#include "config.h"

#include <adwaita.h>

#include "tablero-palette.h"

struct _TableroPalette
{
  GtkWidget   parent_instance;

  GtkListBox *list;
  GtkWidget  *engine_row;
  GtkWidget  *monje_row;
  GtkWidget  *pajaro_row;
};

G_DEFINE_FINAL_TYPE (TableroPalette, tablero_palette, GTK_TYPE_WIDGET)

enum {
  NODE_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static TableroNodeKind
row_kind (TableroPalette *self,
          GtkWidget      *row)
{
  if (row == self->monje_row)
    return TABLERO_NODE_KIND_MONJE;
  if (row == self->pajaro_row)
    return TABLERO_NODE_KIND_PAJARO;
  return TABLERO_NODE_KIND_ENGINE;
}

GtkWidget *
tablero_palette_get_row (TableroPalette  *self,
                         TableroNodeKind  kind)
{
  g_return_val_if_fail (TABLERO_IS_PALETTE (self), NULL);

  switch (kind)
    {
    case TABLERO_NODE_KIND_MONJE:
      return self->monje_row;
    case TABLERO_NODE_KIND_PAJARO:
      return self->pajaro_row;
    case TABLERO_NODE_KIND_ENGINE:
    default:
      return self->engine_row;
    }
}

static void
on_row_activated (TableroPalette *self,
                  GtkListBoxRow  *row)
{
  g_signal_emit (self, signals[NODE_ACTIVATED], 0, (int) row_kind (self, GTK_WIDGET (row)));
}

static GdkContentProvider *
on_drag_prepare (GtkDragSource  *source,
                 double          x,
                 double          y,
                 TableroPalette *self)
{
  GtkWidget *row = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (source));

  return gdk_content_provider_new_typed (G_TYPE_STRING,
                                         tablero_node_kind_to_string (row_kind (self, row)));
}

static void
on_drag_begin (GtkDragSource *source,
               GdkDrag       *drag,
               TableroPalette *self)
{
  GtkWidget *row = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (source));
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (row);

  gtk_drag_source_set_icon (source, paintable,
                            gtk_widget_get_width (row) / 2, gtk_widget_get_height (row) / 2);
}

static void
tablero_palette_dispose (GObject *object)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);
  gtk_widget_dispose_template (GTK_WIDGET (object), TABLERO_TYPE_PALETTE);

  G_OBJECT_CLASS (tablero_palette_parent_class)->dispose (object);
}

static void
tablero_palette_class_init (TableroPaletteClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tablero_palette_dispose;

  /**
   * TableroPalette::node-activated:
   * @kind: the #TableroNodeKind of the activated row
   */
  signals[NODE_ACTIVATED] =
    g_signal_new ("node-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tablero/Tablero/tablero-palette.ui");
  gtk_widget_class_bind_template_child (widget_class, TableroPalette, list);
  gtk_widget_class_bind_template_child (widget_class, TableroPalette, engine_row);
  gtk_widget_class_bind_template_child (widget_class, TableroPalette, monje_row);
  gtk_widget_class_bind_template_child (widget_class, TableroPalette, pajaro_row);
  gtk_widget_class_bind_template_callback (widget_class, on_row_activated);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "palette");
}

static void
tablero_palette_init (TableroPalette *self)
{
  GtkWidget *rows[3];

  gtk_widget_init_template (GTK_WIDGET (self));

  rows[0] = self->engine_row;
  rows[1] = self->monje_row;
  rows[2] = self->pajaro_row;
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      GtkDragSource *source = gtk_drag_source_new ();

      gtk_drag_source_set_actions (source, GDK_ACTION_COPY);
      g_signal_connect (source, "prepare", G_CALLBACK (on_drag_prepare), self);
      g_signal_connect (source, "drag-begin", G_CALLBACK (on_drag_begin), self);
      gtk_widget_add_controller (rows[i], GTK_EVENT_CONTROLLER (source));
    }
}

GtkWidget *
tablero_palette_new (void)
{
  return g_object_new (TABLERO_TYPE_PALETTE, NULL);
}
