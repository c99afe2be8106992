/* SPDX-License-Identifier: MIT */
/* tablero-plot.c: a small history plot drawn in snapshot. */
#include "config.h"

#include <glib/gi18n.h>

#include "tablero-plot.h"

#define PLOT_HEIGHT  64
#define GAP_MS       5000   /* a longer silence breaks the line */
#define MIN_SPAN_MS  60000

struct _TableroPlot
{
  GtkWidget          parent_instance;

  TableroPlotFigure  figure;
  char              *title;
  GArray            *samples;
  gint64             span_ms;
  gint64             hover_time;
  gint64             end_time;     /* right edge of the last frame */
  gint64             shown_span;   /* its width in ms */
};

G_DEFINE_FINAL_TYPE (TableroPlot, tablero_plot, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_HOVER_TIME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static double
value_of (TableroPlot                *self,
          const TableroMetricsSample *sample)
{
  switch (self->figure)
    {
    case TABLERO_PLOT_CPU:
      return sample->cpu;
    case TABLERO_PLOT_MEMORY:
      return sample->memory;
    case TABLERO_PLOT_DISK:
      return sample->disk;
    case TABLERO_PLOT_NETWORK:
      return sample->network;
    case TABLERO_PLOT_SATURATION:
    default:
      return sample->saturation;
    }
}

static const TableroMetricsSample *
sample_at (TableroPlot *self,
           gint64       time_ms)
{
  const TableroMetricsSample *best = NULL;
  gint64 best_distance = GAP_MS;

  if (self->samples == NULL)
    return NULL;
  for (guint i = 0; i < self->samples->len; i++)
    {
      const TableroMetricsSample *s = &g_array_index (self->samples, TableroMetricsSample, i);
      gint64 distance = ABS (s->time_ms - time_ms);

      if (distance <= best_distance)
        {
          best = s;
          best_distance = distance;
        }
    }
  return best;
}

static void
draw_text (TableroPlot *self,
           GtkSnapshot *snapshot,
           const char  *text,
           float        x,
           float        y,
           gboolean     align_right,
           GdkRGBA     *color)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (align_right ? x - w : x, y));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
  g_object_unref (layout);
}

static void
tablero_plot_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  TableroPlot *self = TABLERO_PLOT (widget);
  float width = gtk_widget_get_width (widget);
  float height = gtk_widget_get_height (widget);
  float top = 20, bottom = height - 2;
  float plot_h = bottom - top;
  GdkRGBA fg, accent, grid, fill;
  cairo_t *cr;
  gint64 start, span;
  gboolean drawing = FALSE;
  gint64 last_time = 0;
  char value_text[32] = "–";
  double last = tablero_plot_get_last_value (self);

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (widget), "accent_color",
                                       &accent))
    accent = (GdkRGBA) { 0.21, 0.52, 0.89, 1 };
  G_GNUC_END_IGNORE_DEPRECATIONS
  if (self->figure == TABLERO_PLOT_SATURATION)
    accent = (GdkRGBA) { 0.90, 0.38, 0.0, 1 };
  grid = fg;
  grid.alpha = 0.12;
  fill = accent;
  fill.alpha = 0.25;

  self->end_time = g_get_real_time () / 1000;
  if (self->samples != NULL && self->samples->len > 0)
    self->end_time = MAX (self->end_time,
                          g_array_index (self->samples, TableroMetricsSample,
                                         self->samples->len - 1).time_ms);
  /* Short histories fill the width, down to a minute. */
  span = self->span_ms;
  if (self->samples != NULL && self->samples->len > 0)
    span = CLAMP (self->end_time - g_array_index (self->samples, TableroMetricsSample, 0).time_ms,
                  MIN_SPAN_MS, self->span_ms);
  self->shown_span = span;
  start = self->end_time - span;

  /* Title and the current value */
  if (last >= 0)
    g_snprintf (value_text, sizeof value_text, _("%d%%"), (int) (last * 100 + 0.5));
  {
    GdkRGBA dim = fg;
    dim.alpha = 0.7;
    draw_text (self, snapshot, self->title, 0, 0, FALSE, &dim);
    draw_text (self, snapshot, value_text, width, 0, TRUE, &fg);
  }

  /* Frame and grid at 25 % steps */
  for (int i = 0; i <= 4; i++)
    gtk_snapshot_append_color (snapshot, &grid,
                               &GRAPHENE_RECT_INIT (0, top + plot_h * i / 4.0f - 0.5f, width, 1));

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, top, width, plot_h));
  cairo_set_line_width (cr, 1.5);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  if (self->samples != NULL)
    {
      float first_x = 0, prev_x = 0;

      for (guint i = 0; i <= self->samples->len; i++)
        {
          const TableroMetricsSample *s = i < self->samples->len
                                          ? &g_array_index (self->samples, TableroMetricsSample, i)
                                          : NULL;
          float x, y;

          /* Close the current run at a gap or at the end. */
          if (drawing && (s == NULL || s->time_ms - last_time > GAP_MS))
            {
              cairo_path_t *line = cairo_copy_path (cr);

              gdk_cairo_set_source_rgba (cr, &accent);
              cairo_stroke (cr);
              cairo_append_path (cr, line);
              cairo_line_to (cr, prev_x, bottom);
              cairo_line_to (cr, first_x, bottom);
              cairo_close_path (cr);
              gdk_cairo_set_source_rgba (cr, &fill);
              cairo_fill (cr);
              cairo_path_destroy (line);
              drawing = FALSE;
            }
          if (s == NULL)
            break;
          if (s->time_ms < start)
            continue;
          x = (s->time_ms - start) * width / (double) span;
          y = bottom - CLAMP (value_of (self, s), 0, 1) * plot_h;
          if (!drawing)
            {
              cairo_move_to (cr, x, y);
              first_x = x;
              drawing = TRUE;
            }
          else
            cairo_line_to (cr, x, y);
          prev_x = x;
          last_time = s->time_ms;
        }
    }

  /* Hover: a vertical line and the value there */
  if (self->hover_time >= start && self->hover_time <= self->end_time)
    {
      float x = (self->hover_time - start) * width / (double) span;
      const TableroMetricsSample *s = sample_at (self, self->hover_time);

      gdk_cairo_set_source_rgba (cr, &fg);
      cairo_set_line_width (cr, 1);
      cairo_move_to (cr, x + 0.5, top);
      cairo_line_to (cr, x + 0.5, bottom);
      cairo_stroke (cr);
      if (s != NULL)
        {
          float y = bottom - CLAMP (value_of (self, s), 0, 1) * plot_h;
          char text[32];
          PangoLayout *layout;
          int w, h;

          cairo_arc (cr, x, y, 3, 0, 2 * G_PI);
          gdk_cairo_set_source_rgba (cr, &accent);
          cairo_fill (cr);
          g_snprintf (text, sizeof text, _("%d%%"), (int) (value_of (self, s) * 100 + 0.5));
          layout = gtk_widget_create_pango_layout (widget, text);
          pango_layout_get_pixel_size (layout, &w, &h);
          x = x + 6 + w > width ? x - 6 - w : x + 6;
          cairo_move_to (cr, x, top + 2);
          gdk_cairo_set_source_rgba (cr, &fg);
          pango_cairo_show_layout (cr, layout);
          g_object_unref (layout);
        }
    }
  cairo_destroy (cr);
}

static void
tablero_plot_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    *minimum = *natural = 120;
  else
    *minimum = *natural = PLOT_HEIGHT;
}

static void
on_motion (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           TableroPlot              *self)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self));
  gint64 end = self->end_time ? self->end_time : g_get_real_time () / 1000;
  gint64 span = self->shown_span ? self->shown_span : self->span_ms;

  if (width <= 0)
    return;
  tablero_plot_set_hover_time (self, end - span + (gint64) (x / width * span));
}

static void
on_leave (GtkEventControllerMotion *controller,
          TableroPlot              *self)
{
  tablero_plot_set_hover_time (self, 0);
}

void
tablero_plot_set_samples (TableroPlot *self,
                          GArray      *samples)
{
  g_return_if_fail (TABLERO_IS_PLOT (self));

  if (samples != NULL)
    g_array_ref (samples);
  g_clear_pointer (&self->samples, g_array_unref);
  self->samples = samples;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gint64
tablero_plot_get_hover_time (TableroPlot *self)
{
  g_return_val_if_fail (TABLERO_IS_PLOT (self), 0);
  return self->hover_time;
}

void
tablero_plot_set_hover_time (TableroPlot *self,
                             gint64       time_ms)
{
  g_return_if_fail (TABLERO_IS_PLOT (self));

  if (self->hover_time == time_ms)
    return;
  self->hover_time = time_ms;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HOVER_TIME]);
}

double
tablero_plot_get_last_value (TableroPlot *self)
{
  g_return_val_if_fail (TABLERO_IS_PLOT (self), -1);

  if (self->samples == NULL || self->samples->len == 0)
    return -1;
  return value_of (self, &g_array_index (self->samples, TableroMetricsSample,
                                         self->samples->len - 1));
}

static void
tablero_plot_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  TableroPlot *self = TABLERO_PLOT (object);

  switch (prop_id)
    {
    case PROP_HOVER_TIME:
      g_value_set_int64 (value, self->hover_time);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_plot_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  TableroPlot *self = TABLERO_PLOT (object);

  switch (prop_id)
    {
    case PROP_HOVER_TIME:
      tablero_plot_set_hover_time (self, g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_plot_finalize (GObject *object)
{
  TableroPlot *self = TABLERO_PLOT (object);

  g_clear_pointer (&self->samples, g_array_unref);
  g_free (self->title);

  G_OBJECT_CLASS (tablero_plot_parent_class)->finalize (object);
}

static void
tablero_plot_class_init (TableroPlotClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = tablero_plot_get_property;
  object_class->set_property = tablero_plot_set_property;
  object_class->finalize = tablero_plot_finalize;
  widget_class->snapshot = tablero_plot_snapshot;
  widget_class->measure = tablero_plot_measure;

  properties[PROP_HOVER_TIME] =
    g_param_spec_int64 ("hover-time", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "plot");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
tablero_plot_init (TableroPlot *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();

  self->span_ms = TABLERO_PLOT_DEFAULT_SPAN_MS;
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
}

GtkWidget *
tablero_plot_new (TableroPlotFigure  figure,
                  const char        *title)
{
  TableroPlot *self = g_object_new (TABLERO_TYPE_PLOT, NULL);

  self->figure = figure;
  self->title = g_strdup (title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
  return GTK_WIDGET (self);
}
