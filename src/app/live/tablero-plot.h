/* SPDX-License-Identifier: MIT */
/* tablero-plot.h: one figure of a node over the last minutes.
 *
 * Draws the samples it is given (TableroMetricsSample, oldest first) as a
 * filled line, 0 to 100 %, with the newest at the right edge. Hovering sets
 * #TableroPlot:hover-time, which plots bound together share, so that one
 * vertical line and value shows on all of them. */
#pragma once

#include <gtk/gtk.h>

#include "tablero-stack-store.h"

G_BEGIN_DECLS

typedef enum {
  TABLERO_PLOT_CPU,
  TABLERO_PLOT_MEMORY,
  TABLERO_PLOT_DISK,
  TABLERO_PLOT_NETWORK,
  TABLERO_PLOT_SATURATION,
} TableroPlotFigure;

#define TABLERO_PLOT_DEFAULT_SPAN_MS (10 * 60 * 1000)

#define TABLERO_TYPE_PLOT (tablero_plot_get_type ())
G_DECLARE_FINAL_TYPE (TableroPlot, tablero_plot, TABLERO, PLOT, GtkWidget)

GtkWidget  *tablero_plot_new            (TableroPlotFigure  figure,
                                         const char        *title);
/* @samples: (nullable): kept by reference; call queue_draw when it grows. */
void        tablero_plot_set_samples    (TableroPlot       *self,
                                         GArray            *samples);
/* Time (ms since the epoch) under the pointer, 0 when none. */
gint64      tablero_plot_get_hover_time (TableroPlot       *self);
void        tablero_plot_set_hover_time (TableroPlot       *self,
                                         gint64             time_ms);
/* The value drawn at the right edge (the newest sample), or -1. */
double      tablero_plot_get_last_value (TableroPlot       *self);

G_END_DECLS
