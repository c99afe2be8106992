/* bench-canvas.c: frame times of the stack canvas with live status
 *
 * SPDX-License-Identifier: MIT
 *
 * Puts N nodes (500 by default) and about as many edges on a TableroCanvas
 * in a 1280x800 window, then changes every node's five live figures, its
 * level now and then, and every edge's rate on each frame, the way a busy
 * stack reporting at frame rate would. Two views are measured: zoomed to
 * fit (all nodes visible, as blocks) and 100 % (full cards, culled).
 *
 * Printed per view, as median / p99 / max in milliseconds:
 *   frame work   from the tick that changes the model to the end of the
 *                frame's paint: notify handlers, layout, snapshot, render
 *   model update the part of it spent setting the figures (the model's
 *                and the canvas's notify handlers)
 *   snapshot     the canvas's snapshot alone, rebuilt N times after a change
 *   interval     time between painted frames (16.7 ms = 60 fps)
 *
 * Needs a display:  xvfb-run -a ./bench-canvas [--nodes 500] [--frames 600]
 * Not a test: it asserts nothing about timings.
 */
#include "config.h"

#include <adwaita.h>
#include <stdlib.h>

#include "canvas/tablero-canvas.h"

static int n_nodes = 500;
static int n_frames = 600;

typedef struct
{
  TableroStack  *stack;
  TableroCanvas *canvas;
  GPtrArray     *nodes;
  GPtrArray     *edges;
  GArray        *work;        /* double ms */
  GArray        *intervals;   /* double ms */
  GArray        *updates;     /* double ms */
  gint64         tick_start;
  gint64         last_paint;
  int            frame;
  int            frames_wanted;
  GRand         *rand;
  GMainLoop     *loop;
} Bench;

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
report (const char *what,
        GArray     *values)
{
  double median, p99, max;

  if (values->len == 0)
    {
      g_print ("  %-12s no samples\n", what);
      return;
    }
  g_array_sort (values, compare_doubles);
  median = g_array_index (values, double, values->len / 2);
  p99 = g_array_index (values, double, MIN (values->len - 1, (guint) (values->len * 0.99)));
  max = g_array_index (values, double, values->len - 1);
  g_print ("  %-12s median %6.2f ms   p99 %6.2f ms   max %6.2f ms   (%u frames)\n",
           what, median, p99, max, values->len);
}

/* New live figures for every node and edge: what a stack reporting on
 * every frame would do. */
static void
update_status (Bench *b)
{
  for (guint i = 0; i < b->nodes->len; i++)
    {
      TableroNode *node = g_ptr_array_index (b->nodes, i);
      double saturation = g_rand_double (b->rand);

      tablero_node_set_metrics (node, g_rand_double (b->rand), g_rand_double (b->rand),
                                g_rand_double (b->rand), g_rand_double (b->rand), saturation);
      if (g_rand_int_range (b->rand, 0, 30) == 0)
        tablero_node_set_level (node, saturation > 0.9 ? TABLERO_LEVEL_CRITICAL
                                      : saturation > 0.7 ? TABLERO_LEVEL_BUSY : TABLERO_LEVEL_OK);
    }
  for (guint i = 0; i < b->edges->len; i++)
    tablero_edge_set_rate (g_ptr_array_index (b->edges, i), g_rand_double_range (b->rand, 0, 50));
}

static gboolean
on_tick (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       data)
{
  Bench *b = data;

  if (b->frame >= b->frames_wanted)
    return G_SOURCE_REMOVE;

  b->tick_start = g_get_monotonic_time ();
  update_status (b);
  if (b->frame >= 10)
    {
      double ms = (g_get_monotonic_time () - b->tick_start) / 1000.0;
      g_array_append_val (b->updates, ms);
    }
  return G_SOURCE_CONTINUE;
}

static void
on_after_paint (GdkFrameClock *clock,
                Bench         *b)
{
  gint64 now = g_get_monotonic_time ();

  if (b->tick_start == 0 || b->frame >= b->frames_wanted)
    return;

  /* The first frames warm caches (glyphs, shaders): skip them. */
  if (b->frame >= 10)
    {
      double work = (now - b->tick_start) / 1000.0;
      g_array_append_val (b->work, work);
      if (b->last_paint != 0)
        {
          double interval = (now - b->last_paint) / 1000.0;
          g_array_append_val (b->intervals, interval);
        }
    }
  b->last_paint = now;
  b->tick_start = 0;
  b->frame++;
  if (b->frame >= b->frames_wanted)
    g_main_loop_quit (b->loop);
}

static void
measure_snapshot (Bench *b,
                  int    count)
{
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
  GtkWidgetClass *klass = GTK_WIDGET_GET_CLASS (b->canvas);

  for (int i = 0; i < count; i++)
    {
      GtkSnapshot *snapshot;
      GskRenderNode *node;
      gint64 start;
      double ms;

      update_status (b);
      start = g_get_monotonic_time ();
      snapshot = gtk_snapshot_new ();
      klass->snapshot (GTK_WIDGET (b->canvas), snapshot);
      node = gtk_snapshot_free_to_node (snapshot);
      ms = (g_get_monotonic_time () - start) / 1000.0;
      if (node != NULL)
        gsk_render_node_unref (node);
      if (i >= 5)
        g_array_append_val (times, ms);
    }
  report ("snapshot", times);
}

static void
run_view (Bench      *b,
          const char *name)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (b->canvas));
  gulong handler;
  guint tick;

  g_array_set_size (b->work, 0);
  g_array_set_size (b->intervals, 0);
  g_array_set_size (b->updates, 0);
  b->frame = 0;
  b->frames_wanted = n_frames;
  b->last_paint = b->tick_start = 0;

  handler = g_signal_connect_after (clock, "after-paint", G_CALLBACK (on_after_paint), b);
  tick = gtk_widget_add_tick_callback (GTK_WIDGET (b->canvas), on_tick, b, NULL);
  g_main_loop_run (b->loop);
  gtk_widget_remove_tick_callback (GTK_WIDGET (b->canvas), tick);
  g_signal_handler_disconnect (clock, handler);

  g_print ("%s (zoom %.2f):\n", name, tablero_canvas_get_zoom (b->canvas));
  report ("frame work", b->work);
  report ("model update", b->updates);
  measure_snapshot (b, MIN (n_frames, 200));
  report ("interval", b->intervals);
}

static gboolean
wait_for_map (gpointer data)
{
  return !gtk_widget_get_mapped (data) || gtk_widget_get_width (data) == 0;
}

int
main (int   argc,
      char *argv[])
{
  Bench b = { 0 };
  GtkWidget *window;
  GOptionEntry entries[] = {
    { "nodes", 'n', 0, G_OPTION_ARG_INT, &n_nodes, "Number of nodes (500)", "N" },
    { "frames", 'f', 0, G_OPTION_ARG_INT, &n_frames, "Frames measured per view (600)", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- canvas frame times");
  g_autoptr (GError) error = NULL;
  GskRenderer *renderer;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_print ("bench-canvas: no display, skipped (run under xvfb-run -a)\n");
      return 0;
    }

  gtk_init ();
  adw_init ();

  b.rand = g_rand_new_with_seed (42);
  b.nodes = g_ptr_array_new ();
  b.edges = g_ptr_array_new ();
  b.work = g_array_new (FALSE, FALSE, sizeof (double));
  b.intervals = g_array_new (FALSE, FALSE, sizeof (double));
  b.updates = g_array_new (FALSE, FALSE, sizeof (double));
  b.loop = g_main_loop_new (NULL, FALSE);
  b.stack = tablero_stack_new ("Bench");

  /* A grid of nodes, each subscribed to its left neighbour. */
  for (int i = 0; i < n_nodes; i++)
    {
      g_autofree char *id = g_strdup_printf ("n%d", i);
      g_autofree char *name = g_strdup_printf ("Engine %03d", i);
      g_autoptr (TableroNode) node = tablero_node_new (id, i % 3, name);

      tablero_node_set_position (node, (i % 25) * 220.0, (i / 25) * 160.0);
      tablero_node_set_port (node, 7000 + i);
      tablero_node_set_state (node, TABLERO_NODE_STATE_UP);
      tablero_stack_add_node (b.stack, node);
      g_ptr_array_add (b.nodes, node);

      if (i % 25 != 0)
        {
          g_autofree char *eid = g_strdup_printf ("e%d", i);
          g_autofree char *source = g_strdup_printf ("n%d", i - 1);
          const char *resource[] = { "...", NULL };
          g_autoptr (TableroEdge) edge = tablero_edge_new (eid, source, id, "*", resource);

          tablero_stack_add_edge (b.stack, edge);
          g_ptr_array_add (b.edges, edge);
        }
    }

  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  b.canvas = TABLERO_CANVAS (tablero_canvas_new ());
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (b.canvas));
  tablero_canvas_set_stack (b.canvas, b.stack);
  gtk_window_present (GTK_WINDOW (window));
  while (wait_for_map (b.canvas))
    g_main_context_iteration (NULL, TRUE);

  renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  g_print ("bench-canvas: %d nodes, %u edges, %d frames per view, renderer %s\n",
           n_nodes, b.edges->len, n_frames, renderer ? G_OBJECT_TYPE_NAME (renderer) : "?");

  tablero_canvas_zoom_to_fit (b.canvas);
  run_view (&b, "zoomed to fit");

  tablero_canvas_set_zoom (b.canvas, 1.0);
  tablero_canvas_center_on (b.canvas, 12 * 220.0, (n_nodes / 50) * 160.0);
  run_view (&b, "100 %");

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&b.stack);
  g_ptr_array_unref (b.nodes);
  g_ptr_array_unref (b.edges);
  g_array_unref (b.work);
  g_array_unref (b.intervals);
  g_array_unref (b.updates);
  g_main_loop_unref (b.loop);
  g_rand_free (b.rand);
  return 0;
}
