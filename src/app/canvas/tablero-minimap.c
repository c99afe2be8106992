/* tablero-minimap.c: an overview of the whole stack that recentres the canvas
 *
 * SPDX-License-Identifier: MIT
 *
 * Draws every node as a small block coloured by its level, and the part of
 * the stack the canvas shows as a frame. A click or a drag moves the canvas
 * there. It redraws only when the canvas says its layout or view changed.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tablero-minimap.h"

#define WIDTH  200
#define HEIGHT 130
#define INSET    8.0

struct _TableroMinimap
{
  GtkWidget      parent_instance;

  TableroCanvas *canvas;
  gulong         layout_changed_id;
  gulong         view_changed_id;
  gulong         selection_changed_id;

  /* canvas → minimap: m = (c - world.origin) * scale + offset */
  graphene_rect_t world;
  double          scale;
  double          offset_x;
  double          offset_y;
  gboolean        dragging;

  GdkRGBA         node_color;
  GdkRGBA         accent;
  GdkRGBA         warning;
  GdkRGBA         error;
  GdkRGBA         frame_fill;
};

G_DEFINE_FINAL_TYPE (TableroMinimap, tablero_minimap, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_CANVAS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
update_mapping (TableroMinimap *self)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  graphene_rect_t content, visible;

  self->scale = 0;
  if (self->canvas == NULL || width <= 2 * INSET || height <= 2 * INSET)
    return;

  tablero_canvas_get_visible_area (self->canvas, &visible);
  if (tablero_canvas_get_content_bounds (self->canvas, &content))
    graphene_rect_union (&content, &visible, &self->world);
  else
    self->world = visible;

  if (self->world.size.width <= 0 || self->world.size.height <= 0)
    return;

  self->scale = MIN ((width - 2 * INSET) / self->world.size.width,
                     (height - 2 * INSET) / self->world.size.height);
  self->offset_x = (width - self->world.size.width * self->scale) / 2;
  self->offset_y = (height - self->world.size.height * self->scale) / 2;
}

void
tablero_minimap_to_canvas (TableroMinimap *self,
                           double          x,
                           double          y,
                           double         *canvas_x,
                           double         *canvas_y)
{
  g_return_if_fail (TABLERO_IS_MINIMAP (self));

  if (self->scale <= 0)
    update_mapping (self);
  if (self->scale <= 0)
    {
      *canvas_x = *canvas_y = 0;
      return;
    }
  *canvas_x = self->world.origin.x + (x - self->offset_x) / self->scale;
  *canvas_y = self->world.origin.y + (y - self->offset_y) / self->scale;
}

static void
tablero_minimap_snapshot (GtkWidget   *widget,
                          GtkSnapshot *snapshot)
{
  TableroMinimap *self = TABLERO_MINIMAP (widget);
  TableroStack *stack;
  GListModel *nodes;
  graphene_rect_t visible, frame;
  GskRoundedRect outline;
  const float widths[4] = { 1.5, 1.5, 1.5, 1.5 };

  if (self->canvas == NULL || (stack = tablero_canvas_get_stack (self->canvas)) == NULL)
    return;

  /* While dragging keep the mapping still, or the map would slide under
   * the pointer as the frame moves. */
  if (!self->dragging || self->scale <= 0)
    update_mapping (self);
  if (self->scale <= 0)
    return;

  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (widget),
                                                         gtk_widget_get_height (widget)));

  nodes = tablero_stack_get_nodes (stack);
  for (guint i = 0, n = g_list_model_get_n_items (nodes); i < n; i++)
    {
      g_autoptr (TableroNode) node = g_list_model_get_item (nodes, i);
      graphene_rect_t r;
      const GdkRGBA *color = &self->node_color;

      tablero_canvas_get_node_bounds (node, &r);
      r.origin.x = (r.origin.x - self->world.origin.x) * self->scale + self->offset_x;
      r.origin.y = (r.origin.y - self->world.origin.y) * self->scale + self->offset_y;
      r.size.width = MAX (2, r.size.width * self->scale);
      r.size.height = MAX (2, r.size.height * self->scale);

      if (tablero_node_get_selected (node))
        color = &self->accent;
      else if (tablero_node_get_level (node) == TABLERO_LEVEL_CRITICAL)
        color = &self->error;
      else if (tablero_node_get_level (node) == TABLERO_LEVEL_BUSY)
        color = &self->warning;
      gtk_snapshot_append_color (snapshot, color, &r);
    }

  tablero_canvas_get_visible_area (self->canvas, &visible);
  frame = GRAPHENE_RECT_INIT (
    (visible.origin.x - self->world.origin.x) * self->scale + self->offset_x,
    (visible.origin.y - self->world.origin.y) * self->scale + self->offset_y,
    visible.size.width * self->scale,
    visible.size.height * self->scale);
  gtk_snapshot_append_color (snapshot, &self->frame_fill, &frame);
  gsk_rounded_rect_init_from_rect (&outline, &frame, 2);
  gtk_snapshot_append_border (snapshot, &outline, widths,
                              (GdkRGBA[4]) { self->accent, self->accent,
                                             self->accent, self->accent });

  gtk_snapshot_pop (snapshot);
}

static void
recentre (TableroMinimap *self,
          double          x,
          double          y)
{
  double cx, cy;

  if (self->canvas == NULL || self->scale <= 0)
    return;
  tablero_minimap_to_canvas (self, x, y, &cx, &cy);
  tablero_canvas_center_on (self->canvas, cx, cy);
}

static void
drag_begin (GtkGestureDrag *gesture,
            double          x,
            double          y,
            TableroMinimap *self)
{
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  update_mapping (self);
  self->dragging = TRUE;
  recentre (self, x, y);
}

static void
drag_update (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             TableroMinimap *self)
{
  double x, y;

  gtk_gesture_drag_get_start_point (gesture, &x, &y);
  recentre (self, x + dx, y + dy);
}

static void
drag_end (GtkGestureDrag *gesture,
          double          dx,
          double          dy,
          TableroMinimap *self)
{
  self->dragging = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
update_visibility (TableroMinimap *self)
{
  TableroStack *stack = self->canvas ? tablero_canvas_get_stack (self->canvas) : NULL;
  gboolean has_nodes = stack != NULL &&
                       g_list_model_get_n_items (tablero_stack_get_nodes (stack)) > 0;
  gboolean all_in_view = FALSE;
  graphene_rect_t content, visible;

  /* An empty map is noise over the empty canvas's hint, and a map of a
   * stack that is wholly in view adds nothing but covers cards. */
  if (has_nodes && tablero_canvas_get_content_bounds (self->canvas, &content))
    {
      tablero_canvas_get_visible_area (self->canvas, &visible);
      all_in_view = visible.size.width > 0 && graphene_rect_contains_rect (&visible, &content);
    }
  gtk_widget_set_child_visible (GTK_WIDGET (self), has_nodes && !all_in_view);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_canvas_changed (TableroMinimap *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
load_colors (TableroMinimap *self)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));

  if (!gtk_style_context_lookup_color (context, "window_fg_color", &self->node_color))
    gdk_rgba_parse (&self->node_color, "rgba(0,0,0,0.8)");
  if (!gtk_style_context_lookup_color (context, "accent_color", &self->accent))
    gdk_rgba_parse (&self->accent, "#1c71d8");
  if (!gtk_style_context_lookup_color (context, "warning_color", &self->warning))
    gdk_rgba_parse (&self->warning, "#9c6e03");
  if (!gtk_style_context_lookup_color (context, "error_color", &self->error))
    gdk_rgba_parse (&self->error, "#c01c28");
  G_GNUC_END_IGNORE_DEPRECATIONS

  self->node_color.alpha *= 0.4;
  self->frame_fill = self->accent;
  self->frame_fill.alpha *= 0.12;
}

static void
tablero_minimap_css_changed (GtkWidget         *widget,
                             GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (tablero_minimap_parent_class)->css_changed (widget, change);
  load_colors (TABLERO_MINIMAP (widget));
  gtk_widget_queue_draw (widget);
}

static void
tablero_minimap_measure (GtkWidget      *widget,
                         GtkOrientation  orientation,
                         int             for_size,
                         int            *minimum,
                         int            *natural,
                         int            *minimum_baseline,
                         int            *natural_baseline)
{
  *minimum = *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? WIDTH : HEIGHT;
}

TableroCanvas *
tablero_minimap_get_canvas (TableroMinimap *self)
{
  g_return_val_if_fail (TABLERO_IS_MINIMAP (self), NULL);

  return self->canvas;
}

void
tablero_minimap_set_canvas (TableroMinimap *self,
                            TableroCanvas  *canvas)
{
  g_return_if_fail (TABLERO_IS_MINIMAP (self));
  g_return_if_fail (canvas == NULL || TABLERO_IS_CANVAS (canvas));

  if (self->canvas == canvas)
    return;

  if (self->canvas != NULL)
    {
      g_clear_signal_handler (&self->layout_changed_id, self->canvas);
      g_clear_signal_handler (&self->view_changed_id, self->canvas);
      g_clear_signal_handler (&self->selection_changed_id, self->canvas);
      g_clear_object (&self->canvas);
    }

  if (canvas != NULL)
    {
      self->canvas = g_object_ref (canvas);
      self->layout_changed_id = g_signal_connect_swapped (canvas, "layout-changed",
                                                          G_CALLBACK (update_visibility), self);
      self->view_changed_id = g_signal_connect_swapped (canvas, "view-changed",
                                                        G_CALLBACK (update_visibility), self);
      self->selection_changed_id = g_signal_connect_swapped (canvas, "selection-changed",
                                                             G_CALLBACK (on_canvas_changed), self);
    }

  update_visibility (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CANVAS]);
}

GtkWidget *
tablero_minimap_new (TableroCanvas *canvas)
{
  return g_object_new (TABLERO_TYPE_MINIMAP, "canvas", canvas, NULL);
}

static void
tablero_minimap_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  TableroMinimap *self = TABLERO_MINIMAP (object);

  switch (prop_id)
    {
    case PROP_CANVAS:
      g_value_set_object (value, self->canvas);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_minimap_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  TableroMinimap *self = TABLERO_MINIMAP (object);

  switch (prop_id)
    {
    case PROP_CANVAS:
      tablero_minimap_set_canvas (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_minimap_dispose (GObject *object)
{
  tablero_minimap_set_canvas (TABLERO_MINIMAP (object), NULL);

  G_OBJECT_CLASS (tablero_minimap_parent_class)->dispose (object);
}

static void
tablero_minimap_class_init (TableroMinimapClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = tablero_minimap_get_property;
  object_class->set_property = tablero_minimap_set_property;
  object_class->dispose = tablero_minimap_dispose;

  widget_class->snapshot = tablero_minimap_snapshot;
  widget_class->measure = tablero_minimap_measure;
  widget_class->css_changed = tablero_minimap_css_changed;

  properties[PROP_CANVAS] =
    g_param_spec_object ("canvas", NULL, NULL, TABLERO_TYPE_CANVAS,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "minimap");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
tablero_minimap_init (TableroMinimap *self)
{
  GtkGesture *gesture;

  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (drag_begin), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (drag_update), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), _("Click or drag to move the view"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Stack overview"),
                                  -1);
  load_colors (self);
}
